@fault-injection @rmid-limbo
Feature: Freed RMIDs wait in limbo before they can be used again
  Removing a monitoring group does not free its RMID at once: the RMID waits in "limbo" until its
  cache occupancy drains below info/L3_MON/max_threshold_occupancy. While no RMID is free, the
  kernel refuses a monitoring-group mkdir with EBUSY if any RMID is in limbo, and with ENOSPC only
  if none is. The plugin treats EBUSY as capacity that frees itself: the pod is Failed with that
  reason, a retry reports a capacity error ("busy, retry later") and emits nothing, a retry sweep
  stops there, and once the limbo drained the retries complete the pod. The retries here are the
  operator's alone (--retry-interval 0), so each step's effect is that retry's.

  Background:
    Given the plugin sweeps only when the operator asks
    And the plugin is running
    And no monitoring group can be created for lack of RMIDs
    And pod "web" is running with container "app"
    And pod "web" eventually reports group Failed with 0 of 1 containers reconciled

  Scenario: RMIDs freed but still in limbo: the retry reports busy capacity and emits nothing
    Given RMIDs are freed but still in limbo
    When the operator retries group creation for pod "web"
    Then the retry fails with a capacity error saying the RMIDs are in limbo
    And pod "web" reports no further event within 300 ms
    And pod "web" has no group on disk

  Scenario: Once the limbo drained, the retry creates the group and the container retry completes the pod
    Given RMIDs are freed but still in limbo
    And the operator retries group creation for pod "web"
    And the retry fails with a capacity error saying the RMIDs are in limbo
    When the freed RMIDs have drained from limbo
    And the operator retries group creation for pod "web"
    Then the retry succeeds
    And pod "web" eventually reports group Exists with 0 of 1 containers reconciled
    When the operator retries container "app" of pod "web"
    Then that produced exactly one event for pod "web": group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers

  @fs-audit
  Scenario: A retry sweep stops at RMIDs in limbo as it does at exhaustion
    Given pod "other" is running with container "app"
    And pod "other" eventually reports group Failed with 0 of 1 containers reconciled
    And RMIDs are freed but still in limbo
    When the operator runs one retry sweep
    Then the retry sweep attempted exactly 1 group creation
    And pods "web" and "other" still report group Failed

  Scenario: A pod that starts while the only free RMIDs are in limbo is Failed for that reason
    Given RMIDs are freed but still in limbo
    When pod "late" is running with container "app"
    Then pod "late" eventually reports group Failed with 0 of 1 containers reconciled
    And the plugin reported that pod "late" waits for RMIDs in limbo
