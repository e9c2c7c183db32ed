Feature: Containers that arrive after their pod was synchronized
  A pod can be synchronized while some of its containers do not exist yet (they were still being
  created, or are added later with `kubectl debug`). The plugin reconciles each late container into
  the pod's existing group and the counts catch up.

  Scenario Outline: A pod synchronized with a subset of its containers catches up (<how>)
    Given pod "web" is already running with container "app"
    And the plugin is running
    And pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When <how> "late" joins pod "web"
    Then pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
    And the group path of pod "web" did not change

    Examples:
      | how                      |
      | a regular container      |
      | an ephemeral container   |

  Scenario: Several late containers, one at a time
    Given pod "web" is already running with container "app"
    And the plugin is running
    When container "worker" of pod "web" starts
    And container "cache" of pod "web" starts
    And an ephemeral container "debugger" is added to pod "web"
    Then pod "web" eventually reports group Exists with 4 of 4 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
