@late-runtime
Feature: The plugin starts before the runtime
  On a node the plugin often starts before containerd (boot, a containerd upgrade). It must wait
  for the runtime's socket, retrying with backoff and saying where it waits, without a stack trace
  for that expected condition, and register as soon as the runtime is up.

  Scenario: The plugin waits for the runtime, then covers the pods that were already running
    Given pod "early" is already running with container "app"
    And the plugin is started while the runtime is down
    Then the plugin logged that it waits for the runtime
    When the runtime comes up
    Then the plugin is eventually synchronized by the runtime 1 times
    And pod "early" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "early" holds exactly the tasks of its containers
    When pod "web" is running with container "app"
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
