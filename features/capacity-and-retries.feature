@fault-injection
Feature: Running out of RMIDs, and caller-driven retries
  Each monitoring group takes an RMID; when they are exhausted the kernel refuses the mkdir with
  ENOSPC. The pod is then reported with group Failed. Here the retries are driven by the caller
  alone (--retry-interval 0: the plugin sweeps only when asked; unattended-retries.feature has the
  plugin's own sweep): a retry while capacity is still exhausted fails with a capacity error and
  emits nothing; once capacity is freed a retry creates the group, and a container retry brings
  the counts up.

  Background:
    Given the plugin sweeps only when the operator asks
    And the plugin is running
    And no monitoring group can be created for lack of RMIDs
    And pod "web" is running with container "app"
    And pod "web" eventually reports group Failed with 0 of 1 containers reconciled

  Scenario: Retrying while RMIDs are still exhausted fails quietly
    When the operator retries group creation for pod "web"
    Then the retry fails with a capacity error saying the RMIDs are exhausted
    And pod "web" reports no further event within 300 ms
    And pod "web" has no group on disk

  Scenario: Capacity freed: the group is created, then the container retry completes the pod
    Given RMIDs are freed
    When the operator retries group creation for pod "web"
    Then the retry succeeds
    And pod "web" eventually reports group Exists with 0 of 1 containers reconciled
    When the operator retries container "app" of pod "web"
    Then that produced exactly one event for pod "web": group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers

  Scenario: Retrying a pod whose group already exists changes nothing
    Given RMIDs are freed
    And the operator retries group creation for pod "web"
    And pod "web" eventually reports group Exists with 0 of 1 containers reconciled
    When the operator retries group creation for pod "web"
    Then the retry succeeds
    And pod "web" reports no further event within 300 ms

  @scripted-pids @fs-audit
  Scenario: One retry sweep stops creating groups at the first capacity error and still reconciles others
    Given RMIDs are freed
    And the tasks of container "app" of pod "ok" exit before they can be moved
    And pod "ok" is running with container "app"
    And pod "ok" eventually reports group Exists with 0 of 1 containers reconciled
    And no monitoring group can be created for lack of RMIDs
    And pod "other" is running with container "app"
    And pod "other" eventually reports group Failed with 0 of 1 containers reconciled
    And the tasks of container "app" of pod "ok" no longer exit
    When the operator runs one retry sweep
    Then the retry sweep attempted exactly 1 group creation
    And pod "ok" eventually reports group Exists with 1 of 1 containers reconciled
    And pods "web" and "other" still report group Failed
