@metrics-endpoint
Feature: Readiness and liveness probes
  GET /healthz answers 200 while the daemon serves. GET /readyz answers 200 once the daemon is
  connected to the runtime's NRI socket, was synchronized by the runtime and found resctrl usable;
  until then 503, with the reason in the body (what a kubelet's readiness probe shows in events).

  Scenario: Ready once the runtime synchronized the plugin
    Given the plugin is running
    Then the readiness probe eventually answers 200
    And the health probe answers 200

  @late-runtime
  Scenario: Not ready while the runtime is not there, ready once it synchronized the plugin
    Given the plugin is started while the runtime is down
    Then the readiness probe answers 503 saying "not connected to the runtime's NRI socket"
    And the health probe answers 200
    When the runtime comes up
    Then the readiness probe eventually answers 200

  @mount-control
  Scenario: Not ready while resctrl is not usable
    Given resctrl is not mounted yet
    When the plugin starts with auto-mount off
    Then the readiness probe answers 503 saying "resctrl unusable"
    And the health probe answers 200
    And the plugin logged the error "failed to ensure resctrl is mounted"
