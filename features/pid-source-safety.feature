@scripted-pids
Feature: Untrustworthy task lists
  The PID source reads cgroup files that can report 0 for a task in another PID namespace.
  Writing 0 to a resctrl `tasks` file would move the plugin's own thread, so 0 is never written.

  @fs-audit
  Scenario: A PID source that answers 0 never makes the plugin write 0
    Given the plugin is running
    And pod "web" is running
    And the PID source answers 0 besides the real tasks of container "app" of pod "web"
    When container "app" of pod "web" starts
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And no task id 0 was ever written to a group
    And the group of pod "web" holds exactly the tasks of its containers
