Feature: Pods created after the plugin started
  A new pod arrives as RUN_POD_SANDBOX, then its containers as START_CONTAINER. The pod's group is
  created with the sandbox; each container's tasks are moved into it as the container starts.

  Scenario: A new pod gets a group, then its container's tasks
    Given the plugin is running
    When pod "web" starts
    Then pod "web" eventually reports group Exists with 0 of 0 containers reconciled
    And the group of pod "web" exists on disk
    When container "app" of pod "web" starts
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers

  Scenario: Two new pods get two different groups
    Given the plugin is running
    When pod "web" is running with container "app"
    And pod "db" is running with container "postgres"
    Then pods "web" and "db" eventually report group Exists with 1 of 1 containers reconciled
    And pods "web" and "db" have different groups
