Feature: Containers that exit while the plugin is being synchronized
  When the plugin registers, the runtime sends its state in Synchronize. A container whose process
  exits at that moment may be listed RUNNING (its exit not processed yet) or STOPPED; either way
  the runtime reports the stop, and the pod must end up counting only its live containers.

  Scenario: A container of a pre-existing pod exits while the plugin starts
    Given pod "web" is already running with containers "app" and "job"
    When the plugin starts while container "job" of pod "web" exits
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
    And the plugin's state shows pod "web" with 1 of 1 containers reconciled
