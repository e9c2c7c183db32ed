Feature: Every thread of a container is moved
  resctrl's `tasks` file works per thread: writing a process id moves only its main thread. The
  plugin must move every thread of every process, or the worker threads stay unmonitored.

  Scenario Outline: A container with <threads> threads has all of them in the pod's group
    Given the plugin is running
    And pod "web" is running
    When container "app" of pod "web" starts with <threads> threads
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers

    Examples:
      | threads |
      | 1       |
      | 8       |

  Scenario: Threads of a container that already runs are all moved at startup
    Given pod "web" is already running with container "app" of 6 threads
    When the plugin starts
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
