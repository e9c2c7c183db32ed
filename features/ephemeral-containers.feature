Feature: Ephemeral containers added with kubectl debug
  `kubectl debug` adds an ephemeral container to a pod that is already running. The runtime starts
  it like any other container of the pod, so its tasks must join the pod's existing group.

  Scenario: A debug container in a running pod is covered
    Given pod "web" is already running with container "app"
    And the plugin is running
    When an ephemeral container "debugger" is added to pod "web"
    Then pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
    And the group path of pod "web" did not change

  Scenario: A debug container in a pod created after the plugin started is covered
    Given the plugin is running
    And pod "web" is running with container "app"
    When an ephemeral container "debugger" is added to pod "web"
    Then pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
