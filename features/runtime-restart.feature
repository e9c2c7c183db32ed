@runtime-restart
Feature: The runtime restarts while the plugin runs
  containerd can restart (an upgrade, a crash) while its pods keep running. The plugin loses its
  NRI connection, reconnects with backoff, registers again and is synchronized with every pod that
  still runs. It must not create a second group for a pod it already covers, must not emit
  events for pods that did not change, and must cover pods created after the restart as before.

  Scenario: Pods that survive a restart keep their one group and emit nothing
    Given pod "old" is already running with container "app"
    And the plugin is running
    And pod "new" is running with containers "app" and "sidecar"
    And pod "old" eventually reports group Exists with 1 of 1 containers reconciled
    And pod "new" eventually reports group Exists with 2 of 2 containers reconciled
    When the runtime restarts
    Then the plugin is eventually synchronized by the runtime 2 times
    And pods "old" and "new" reported no event since the restart
    And the plugin's state lists exactly pods "old" and "new" with group Exists
    And the group path of pod "old" did not change
    And the group of pod "old" holds exactly the tasks of its containers
    And the group of pod "new" holds exactly the tasks of its containers

  Scenario: Pods and containers after a restart are covered and cleaned up as before
    Given the plugin is running
    And pod "web" is running with containers "app" and "sidecar"
    And pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    When the runtime restarts
    And pod "late" is running with container "app"
    Then pod "late" eventually reports group Exists with 1 of 1 containers reconciled
    And the plugin is eventually synchronized by the runtime 2 times
    When container "sidecar" of pod "web" is removed
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
    When pod "late" is removed
    Then pod "late" is eventually reported removed
    And the group of pod "late" is gone
    And the plugin's state lists exactly pods "web" with group Exists

  Scenario: A pod started before the runtime restarted and removed after it is reported Removed and loses its group
    containerd 1.7 sends no REMOVE_POD_SANDBOX for a pod it recovered after a restart; the plugin
    notices on the last REMOVE_CONTAINER that the pod's sandbox is gone.
    Given the plugin is running
    And pod "old" is running with container "app"
    And pod "keep" is running with container "app"
    And pod "old" eventually reports group Exists with 1 of 1 containers reconciled
    And pod "keep" eventually reports group Exists with 1 of 1 containers reconciled
    When the runtime restarts
    Then the plugin is eventually synchronized by the runtime 2 times
    When pod "old" is removed
    Then pod "old" is eventually reported removed
    And the group of pod "old" is gone
    And the plugin's state lists exactly pods "keep" with group Exists
    And the group of pod "keep" holds exactly the tasks of its containers
