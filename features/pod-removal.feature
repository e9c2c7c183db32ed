Feature: Pod removal
  When a pod is removed the plugin reports it Removed and deletes its group, whether the pod
  existed before the plugin registered or was created afterwards.

  Scenario Outline: A removed pod loses its group (<origin>)
    Given pod "web" with container "app" <origin>
    And pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When pod "web" is removed
    Then pod "web" is eventually reported removed
    And the group of pod "web" is gone

    Examples:
      | origin                                 |
      | was running before the plugin started  |
      | was started after the plugin started   |

  Scenario: Pods from before and after registration are both cleaned up
    Given pod "old" is already running with container "app"
    And the plugin is running
    And pod "new" is running with container "app"
    And pods "old" and "new" eventually report group Exists with 1 of 1 containers reconciled
    When pod "old" is removed
    And pod "new" is removed
    Then pods "old" and "new" are eventually reported removed
    And the groups of pods "old" and "new" are gone
