@event-backpressure
Feature: A consumer that lost events resynchronizes
  Each event subscriber has a bounded queue; a consumer that falls behind loses events, and the
  plugin counts them. The consumer then takes a snapshot and is exactly up to date again.

  Scenario: A stalled consumer catches up from the snapshot
    Given the plugin is running with an event queue of 2 events
    And a consumer that does not read its events
    When pod "a" is running with container "app"
    And pod "b" is running with container "app"
    And pod "c" is running with container "app"
    And pods "a", "b" and "c" eventually report group Exists with 1 of 1 containers reconciled
    Then the plugin has dropped some events
    When the consumer resynchronizes from a snapshot
    Then the consumer sees pods "a", "b" and "c" with group Exists and 1 of 1 containers reconciled

  Scenario: After resynchronizing, the consumer follows new events again
    Given the plugin is running with an event queue of 1 event
    And a consumer that does not read its events
    And pod "a" is running with container "app"
    And pod "b" is running with container "app"
    And pods "a" and "b" eventually report group Exists with 1 of 1 containers reconciled
    When the consumer resynchronizes from a snapshot
    And pod "a" is removed
    Then pod "a" is eventually reported removed
    And the consumer eventually sees only pod "b"
