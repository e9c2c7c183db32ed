Feature: Startup synchronization with pods that already run
  When the plugin registers, the runtime tells it about every pod and container that already runs.
  Each pod gets its own resctrl monitoring group, every container's tasks are moved into it, and
  the pod's events count its containers: first 0 of 0, then up to all of them reconciled.

  Scenario: A running pod gets a group and its containers are reconciled
    Given pod "web" is already running with containers "app" and "sidecar"
    When the plugin starts
    Then pod "web" first reports group Exists with 0 of 0 containers reconciled
    And pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers

  Scenario: Every pod that already runs is covered
    Given these pods are already running:
      | pod | containers        |
      | web | app, sidecar      |
      | db  | postgres          |
      | job | main, log, metric |
    When the plugin starts
    Then every pod eventually reports group Exists with all its containers reconciled
    And the group of every pod holds exactly the tasks of its containers

  Scenario: A runtime state larger than one NRI message is synchronized completely
    A busy node's state passes ttrpc's 4 MiB message limit (kubectl's last-applied annotations
    alone can do that): runtimes from NRI v0.8 on split the Synchronize into chunks with `more`,
    which the plugin must acknowledge one by one; older ones send one big message.
    Given 150 pods are already running, each with container "app" and a 16 KiB annotation
    When the plugin starts
    Then every pod eventually reports group Exists with all its containers reconciled

  Scenario: Counts only ever grow during startup
    Given pod "web" is already running with containers "a", "b", "c" and "d"
    When the plugin starts
    Then pod "web" eventually reports group Exists with 4 of 4 containers reconciled
    And the reconciled count of pod "web" never decreased

  @fault-injection
  Scenario: A pod whose group cannot be created is reported as failed
    Given pod "web" is already running with container "app"
    And no monitoring group can be created for lack of RMIDs
    When the plugin starts
    Then pod "web" first reports group Failed with 0 of 0 containers reconciled
    And pod "web" eventually reports group Failed with 0 of 1 containers reconciled
    And pod "web" has no group on disk
