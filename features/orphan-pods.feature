@runtime-restart @removal-orders
Feature: Pods removed behind the plugin's back are removed by its sweep
  containerd sends no STOP_POD_SANDBOX or REMOVE_POD_SANDBOX for a sandbox it recovered after a
  restart, and nothing at all for a container that had already exited before it. The plugin
  notices such a pod on its last REMOVE_CONTAINER when the sandbox is gone by then (the kubelet
  stops the sandbox first), but when no REMOVE_CONTAINER comes after the sandbox is gone nothing
  tells it. Its sweep does: every interval it removes each pod whose every sandbox is gone (pause
  process and cgroup) and that has no live container, deletes its group and reports it Removed,
  whatever removal order came before.

  Background:
    Given the plugin sweeps every 1 second
    And the plugin is running

  Scenario: A pod whose only container completed before the restart, removed in the kubelet's order
    Given pod "job" is running with container "task"
    And pod "job" eventually reports group Exists with 1 of 1 containers reconciled
    And container "task" of pod "job" completes
    And pod "job" eventually reports group Exists with 0 of 0 containers reconciled
    When the runtime restarts
    And pod "job" is removed in the kubelet's order
    Then pod "job" is reported removed within one sweep interval
    And the group of pod "job" is gone

  Scenario: A pod removed by hand with crictl, its containers first and then its sandbox
    Given pod "web" is running with containers "app" and "sidecar"
    And pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    When the runtime restarts
    And the operator removes pod "web" with crictl, its containers first
    Then pod "web" is reported removed within one sweep interval
    And the group of pod "web" is gone

  Scenario: A pod that never had a container, next to one that still runs without any
    Given pod "empty" is running
    And pod "idle" is running
    And pods "empty" and "idle" eventually report group Exists with 0 of 0 containers reconciled
    When the runtime restarts
    And pod "empty" is removed in the kubelet's order
    Then pod "empty" is reported removed within one sweep interval
    And the group of pod "empty" is gone
    And the plugin's state lists exactly pods "idle" with group Exists
