@pod-metadata
Feature: Pods the filters leave out
  --namespaces, --exclude-namespaces and --pod-label-selector choose the pods the plugin monitors.
  A pod they leave out gets no monitoring group and no events, and is counted on the metrics
  endpoint as unmonitored; the other pods are covered as usual.

  @metrics-endpoint
  Scenario: A pod in an excluded namespace gets no group and no events, and is counted as unmonitored
    Given the plugin monitors every namespace except "batch"
    And the plugin is running
    When pod "job" starts in namespace "batch" with container "task"
    And pod "web" is running with container "app"
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And pod "job" reported no event
    And no monitoring group exists for pod "job"
    And the plugin's state lists exactly pods "web" with group Exists
    And the metrics endpoint counts 1 unmonitored pod

  Scenario: Only pods in the selected namespaces are monitored
    Given the plugin monitors only namespace "shop"
    And the plugin is running
    When pod "cart" starts in namespace "shop" with container "app"
    And pod "web" is running with container "app"
    Then pod "cart" eventually reports group Exists with 1 of 1 containers reconciled
    And pod "web" reported no event
    And no monitoring group exists for pod "web"
    And the plugin's state lists exactly pods "cart" with group Exists

  Scenario: Only pods with the selected label are monitored
    Given the plugin monitors only pods labelled "monitoring=on"
    And the plugin is running
    When pod "watched" labelled "monitoring=on" starts with container "app"
    And pod "other" labelled "monitoring=off" starts with container "app"
    Then pod "watched" eventually reports group Exists with 1 of 1 containers reconciled
    And pod "other" reported no event
    And no monitoring group exists for pod "other"
    And the plugin's state lists exactly pods "watched" with group Exists
