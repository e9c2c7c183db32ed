@chosen-pod-uids
Feature: Hostile pod UIDs
  A pod UID comes from outside the plugin. Whatever it contains, the pod's group is a single
  directory directly inside the root `mon_groups`, and nothing outside the resctrl root is touched.

  Scenario Outline: A pod with UID <uid> stays inside the resctrl root
    Given the plugin is running
    When pod "evil" starts with UID "<uid>"
    Then pod "evil" eventually reports group Exists with 0 of 0 containers reconciled
    And the group of pod "evil" is a direct child of the root mon_groups

    Examples:
      | uid                                  |
      | ../../../../tmp/escape               |
      | a/b/c                                |
      | ..                                   |
      |                                      |
      | mon_groups                           |
      | ${HOME}; rm -rf /                    |
      | 0123456789012345678901234567890123456789012345678901234567890123456789 |

  @fs-audit
  Scenario: Nothing outside the resctrl root is ever touched
    Given the plugin is running
    When pod "evil" starts with UID "../../../../etc/passwd"
    And pod "evil" eventually reports group Exists with 0 of 0 containers reconciled
    Then nothing outside the resctrl root was touched

  Scenario: UIDs that differ only in unsafe characters get different groups
    Given the plugin is running
    When pod "one" starts with UID "a.b"
    And pod "two" starts with UID "ab"
    Then pods "one" and "two" eventually report group Exists with 0 of 0 containers reconciled
    And pods "one" and "two" have different groups
