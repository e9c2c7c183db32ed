Feature: Pod churn
  Pods come and go quickly on a busy node. Every pod created and removed must be reported with its
  group and then as removed, in that order, without dropped events; afterwards no group and no
  plugin state is left for any of them.

  Scenario: 50 pods are created and removed in a loop
    Given the plugin is running
    When 50 pods with container "app" are started and removed, 10 at a time
    Then every churned pod was reported with its group, 1 of 1 containers reconciled, then removed
    And no churned pod has a group left or is still known to the plugin
    And the plugin dropped no events
