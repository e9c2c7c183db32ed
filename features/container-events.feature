Feature: Container events and event deduplication
  A pod's event is emitted only when something a consumer can observe changed: its group, or one of
  its counters. The counters change when a container is first counted and when it becomes
  reconciled, never because the same state was seen again.

  Background:
    Given the plugin is running
    And pod "web" is running
    And pod "web" eventually reports group Exists with 0 of 0 containers reconciled

  Scenario: A container that converges is counted once, then nothing more is emitted
    When container "app" of pod "web" starts
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And pod "web" reports no further event within 300 ms
    And pod "web" never reported 1 of 1 containers reconciled twice

  Scenario: Retrying a reconciled container emits nothing
    Given container "app" of pod "web" starts
    And pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When the operator retries container "app" of pod "web"
    Then the retry succeeds
    And pod "web" reports no further event within 300 ms

  @scripted-runtime
  Scenario: The runtime repeating a start changes nothing
    Given container "app" of pod "web" starts
    And pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When the runtime reports container "app" of pod "web" started again
    And the runtime reports pod "web" started again
    Then pod "web" reports no further event within 300 ms
    And pod "web" never reported 1 of 1 containers reconciled twice

  @scripted-pids
  Scenario: A container whose tasks never settle stays partial without repeated events
    Given the tasks of container "app" of pod "web" exit before they can be moved
    When container "app" of pod "web" starts
    Then pod "web" eventually reports group Exists with 0 of 1 containers reconciled
    And pod "web" reports no further event within 300 ms
    When the operator retries container "app" of pod "web"
    Then the retry succeeds
    And pod "web" reports no further event within 300 ms

  Scenario: Removing a container lowers the counts
    Given container "app" of pod "web" starts
    And container "sidecar" of pod "web" starts
    And pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    When container "sidecar" of pod "web" is removed
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
