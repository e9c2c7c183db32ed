@metrics-endpoint
Feature: Per-pod monitoring readings on the metrics endpoint
  The daemon serves Prometheus metrics on --http-listen (GET /metrics). Every pod with a
  monitoring group has one series per reading of its group, labelled with the pod's UID, name and
  namespace: its LLC occupancy (a gauge, bytes) and its memory bandwidth (counters of bytes, total
  and local). A removed pod's series go away with it. The mock and containerd worlds read the
  in-memory resctrl's synthetic values (1 MiB of occupancy and 1 MiB/s of bandwidth per task); the
  hardware world reads the kernel's counters of a pod that streams through memory.

  Scenario: A running pod's readings appear with its identity, move, and disappear after it is removed
    Given the plugin is running
    And pod "stream" is running with container "app" that streams through memory
    And pod "stream" eventually reports group Exists with 1 of 1 containers reconciled
    Then the metrics endpoint eventually has these series for pod "stream", labelled with its UID, name and namespace:
      | nri_resctrl_pod_llc_occupancy_bytes   |
      | nri_resctrl_pod_mbm_total_bytes_total |
      | nri_resctrl_pod_mbm_local_bytes_total |
    And the metrics endpoint reports an LLC occupancy above 0 bytes for pod "stream"
    And the memory bandwidth counter of pod "stream" grows between two scrapes
    When pod "stream" is removed
    Then pod "stream" is eventually reported removed
    And the metrics endpoint eventually has no series for pod "stream"
