@scripted-runtime
Feature: Unusual runtime orderings
  The runtime may chunk its Synchronize request and, in races, report a container before its pod.
  The plugin must end up in the same state as with a tidy sequence of events.

  Scenario: A chunked synchronize keeps the groups created by earlier chunks
    Given these pods are already running:
      | pod | containers |
      | a   | app        |
      | b   | app        |
      | c   | app        |
    When the plugin starts with cleanup on start and the runtime synchronizes 1 pod per chunk
    Then every pod eventually reports group Exists with all its containers reconciled
    And the groups of pods "a", "b" and "c" exist on disk

  Scenario: A container seen before its pod is counted once the pod appears
    Given the plugin is running
    When container "app" of pod "web" starts before the runtime reported the pod
    And pod "web" starts
    Then pod "web" eventually reports group Exists with 1 of 1 containers reconciled
    And the group of pod "web" holds exactly the tasks of its containers
