Feature: Containers exit, crash, restart and stop, as they do on every node
  A pod's count is its containers that are created or running. A container leaves the count when it
  stops (the runtime's StopContainer, or a Synchronize that lists it STOPPED) and is forgotten when
  it is removed. The kubelet keeps an exited container (it is not removed) and starts a replacement
  with the same name; init containers and `kubectl debug` sessions finish and stay exited. The
  counts must be the same whether or not the runtime resynchronized the plugin in between.

  Background:
    Given the plugin is running

  Scenario: A container that crashes and is restarted by the kubelet keeps the pod's group and count
    Given pod "web" is running with container "app"
    And pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When container "app" of pod "web" crashes
    Then pod "web" eventually reports group Exists with 0 of 0 containers reconciled
    When the kubelet restarts container "app" of pod "web"
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group path of pod "web" did not change
    And the group of pod "web" holds exactly the tasks of its containers
    And the plugin's state shows pod "web" with 1 of 1 containers reconciled

  Scenario: A container that crashes twice is counted once
    Given pod "web" is running with containers "app" and "sidecar"
    And pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    When container "app" of pod "web" crashes
    And the kubelet restarts container "app" of pod "web"
    And container "app" of pod "web" crashes
    And the kubelet restarts container "app" of pod "web"
    Then pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
    And the plugin's state shows pod "web" with 2 of 2 containers reconciled

  Scenario: A pod whose init container completed counts only its app container
    When pod "web" starts with init container "setup" that completes, then container "app"
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
    And the plugin's state shows pod "web" with 1 of 1 containers reconciled

  Scenario: An ephemeral debug container whose session ended leaves the count
    Given pod "web" is running with container "app"
    And pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When an ephemeral container "debugger" is added to pod "web"
    Then pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    When the debug session of ephemeral container "debugger" in pod "web" ends
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
    And the plugin's state shows pod "web" with 1 of 1 containers reconciled

  @runtime-restart
  Scenario: A container stopped but not removed keeps the counts across a runtime restart
    Given pod "web" is running with containers "app" and "sidecar"
    And pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    When container "sidecar" of pod "web" is stopped
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When the runtime restarts
    Then the plugin is eventually synchronized by the runtime 2 times
    And pods "web" reported no event since the restart
    And the plugin's state shows pod "web" with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers

  Scenario: A stopped container that is then removed changes nothing more
    Given pod "web" is running with containers "app" and "sidecar"
    And pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    When container "sidecar" of pod "web" is stopped
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When container "sidecar" of pod "web" is removed
    Then pod "web" reports no further event within 300 ms
    And the plugin's state shows pod "web" with 1 of 1 containers reconciled
