Feature: Cleanup of stale groups on start
  A plugin that restarts finds the groups its previous run left behind. With cleanup on start it
  removes exactly the groups carrying its prefix at the resctrl root and in the root `mon_groups`,
  never anything with another prefix and never inside a control group's own `mon_groups`. Cleanup
  emits no pod events; it logs its counters.

  Scenario: Only our stale groups at the root and in the root mon_groups are removed
    Given the resctrl filesystem already holds these groups:
      | group  | where             | owner  |
      | stale1 | root              | plugin |
      | ctl    | root              | other  |
      | stale2 | mon_groups        | plugin |
      | theirs | mon_groups        | other  |
      | deep   | mon_groups of ctl | plugin |
    When the plugin starts with cleanup on start
    Then the groups "stale1" and "stale2" are gone
    And the groups "ctl", "theirs" and "deep" are still there
    And the plugin logged a cleanup that removed 2 groups and left 2 foreign groups alone
    And no pod event was emitted

  Scenario: Without cleanup on start nothing is removed
    Given the resctrl filesystem already holds these groups:
      | group  | where      | owner  |
      | stale1 | root       | plugin |
      | stale2 | mon_groups | plugin |
    When the plugin starts without cleanup on start
    Then the groups "stale1" and "stale2" are still there
    And no pod event was emitted

  Scenario: Cleanup does not touch the groups of pods that already run
    Given the resctrl filesystem already holds these groups:
      | group  | where      | owner  |
      | stale1 | mon_groups | plugin |
    And pod "web" is already running with container "app"
    When the plugin starts with cleanup on start
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group "stale1" is gone
    And the group of pod "web" exists on disk

  @mount-control
  Scenario: An unmounted resctrl is mounted when auto-mount is on
    Given resctrl is not mounted yet
    And pod "web" is already running with container "app"
    When the plugin starts with auto-mount on
    Then resctrl is mounted
    And pod "web" eventually reports group Exists with 1 of 1 containers reconciled

  @mount-control
  Scenario: With auto-mount off, an unmounted resctrl leaves pods without a group
    Given resctrl is not mounted yet
    And pod "web" is already running with container "app"
    When the plugin starts with auto-mount off
    Then resctrl is not mounted
    And pod "web" eventually reports group Failed with 0 of 1 containers reconciled
    And the plugin logged the error "failed to ensure resctrl is mounted"
    And the plugin logged the error "failed to create group"
