@fault-injection
Feature: The plugin retries on its own
  Every --retry-interval the plugin runs a sweep, with nobody calling its control API: it retries
  the group of every pod whose group could not be created (stopping at the first capacity error),
  then the containers whose tasks it could not all move. A pod that was Failed for lack of RMIDs
  therefore gets its group, and its containers, at the first sweep after capacity came back.

  Scenario: Capacity freed: the Failed pod recovers within one sweep interval, with no operator action
    Given the plugin sweeps every 1 second
    And the plugin is running
    And no monitoring group can be created for lack of RMIDs
    And pod "web" is running with container "app"
    And pod "web" eventually reports group Failed with 0 of 1 containers reconciled
    When RMIDs are freed
    Then pod "web" reports group Exists with 1 of 1 containers reconciled within one sweep interval
    And the group of pod "web" holds exactly the tasks of its containers
