@rdt-classes
Feature: Pods whose tasks run in RDT classes
  RDT allocation (containerd's RDT classes, or an allocation plugin) puts a container's tasks into
  a control group, a "class", directly under the resctrl root, e.g. /sys/fs/resctrl/gold. The
  kernel refuses to move such a task into a monitoring group under the root. With
  --follow-rdt-classes the plugin monitors each task inside its class: the pod gets a group
  <class>/mon_groups/<prefix><pod uid> for every class its tasks live in, and reports the group in
  the class of its first container. A class removed while the pod runs: its tasks go back to the
  pod's root group at the next sweep. Startup cleanup then also removes the plugin's stale groups
  inside classes. Without the flag (the default) a container whose tasks live in a class stays
  Partial, the plugin's state says why, and nothing is created inside the class.

  Scenario: A pod that starts in a class is monitored inside that class
    Given RDT class "gold" exists
    And the plugin follows RDT classes
    And the plugin is running
    When pod "web" starts with container "app" in RDT class "gold"
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" is a monitoring group of RDT class "gold"
    And the group of pod "web" holds exactly the tasks of its containers
    And the plugin's state lists groups of pod "web" in the root and in RDT class "gold"

  Scenario: A pod already running in a class when the plugin starts is monitored inside it
    Given RDT class "gold" exists
    And pod "web" is already running with container "app"
    And container "app" of pod "web" runs in RDT class "gold"
    And the plugin follows RDT classes
    When the plugin starts
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" is a monitoring group of RDT class "gold"
    And the group of pod "web" holds exactly the tasks of its containers

  Scenario: A pod split over a class and the root has a group in each, each holding its own tasks
    Given RDT class "gold" exists
    And the plugin follows RDT classes
    And the plugin is running
    When pod "web" starts with container "app" in RDT class "gold"
    And container "side" of pod "web" starts
    Then pod "web" eventually reports group Exists with 2 of 2 containers reconciled
    And the group of pod "web" is a monitoring group of RDT class "gold"
    And the plugin's state lists groups of pod "web" in the root and in RDT class "gold"
    And the group of pod "web" in RDT class "gold" holds exactly the tasks of container "app"
    And the group of pod "web" in the root holds exactly the tasks of container "side"

  Scenario: A class removed under a running pod: within one sweep its tasks are in the pod's root group
    Given RDT class "gold" exists
    And the plugin follows RDT classes
    And the plugin sweeps every 1 second
    And the plugin is running
    And pod "web" starts with container "app" in RDT class "gold"
    And pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    When RDT class "gold" is removed
    Then pod "web" reports group Exists with 1 of 1 containers reconciled within one sweep interval
    And the group of pod "web" is a direct child of the root mon_groups
    And the group of pod "web" holds exactly the tasks of its containers
    And the plugin's state lists only the root group of pod "web"
    And the plugin logged no error

  Scenario Outline: Startup cleanup removes our stale group inside a class only when the plugin follows classes (<setting>)
    Given RDT class "gold" exists
    And RDT class "gold" already holds these monitoring groups:
      | group  | owner  |
      | stale  | plugin |
      | theirs | other  |
    And the plugin <setting> RDT classes
    When the plugin starts with cleanup on start
    Then the group "stale" <stale group>
    And the group "theirs" is still there
    And no pod event was emitted

    Examples:
      | setting         | stale group    |
      | follows         | is gone        |
      | does not follow | is still there |

  Scenario: Without the flag, containers running in a class are Partial and the state says why
    Given RDT class "gold" exists
    And the plugin is running
    When pod "web" starts with containers "app" and "side" in RDT class "gold"
    Then pod "web" eventually reports group Exists with 0 of 2 containers reconciled
    And the plugin's state shows containers "app" and "side" of pod "web" Partial, with a reason naming RDT class "gold" and --follow-rdt-classes
    And the group of pod "web" is a direct child of the root mon_groups
    And RDT class "gold" holds no monitoring group
    And the plugin warned exactly once that a pod has tasks in an RDT class
