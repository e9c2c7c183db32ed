@scripted-pids
Feature: Untrustworthy task lists
  The PID source reads cgroup files that can report 0 for a task in another PID namespace.
  Writing 0 to a resctrl `tasks` file would move the plugin's own thread, so 0 is never written:
  the plugin distrusts such a task list and leaves that container partial, while the pod's other
  containers are reconciled as usual.

  @fs-audit
  Scenario: A PID source that answers 0 never makes the plugin write 0
    Given the plugin is running
    And pod "web" is running
    And the PID source answers 0 besides the real tasks of container "app" of pod "web"
    When container "app" of pod "web" starts
    And container "sidecar" of pod "web" starts
    Then pod "web" eventually reports group Exists with 1 of 2 containers reconciled
    And no task id 0 was ever written to a group
