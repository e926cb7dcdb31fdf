Feature: Capabilities and published contracts
  Clients discover the API version, the pools with their engines, models and limits, and can
  fetch the contract documents themselves.

  Background:
    Given a sim pool "chat" with 2 replicas of 8 slots
    And the pool "chat" has the full policy "shed-low-priority"
    And the pool "chat" queues at most 32 interactive and 128 batch tasks
    And the pool "chat" allows at most 512 max_tokens and a context of 2048 tokens
    And a sim pool "batch-jobs" with 1 replica of 4 slots
    And the pool "batch-jobs" serves the model "sim-large"

  @ORCH-2008 @ORCH-3053
  Scenario: Capabilities describe the API version and every pool
    When I read the capabilities
    Then the response status is 200
    And the capabilities report an api_version whose major part is 1
    And the capabilities list the pools "batch-jobs, chat"
    And the capabilities of pool "chat" are:
      | engine                     | "sim"               |
      | model                      | "sim-small"         |
      | ctx_max                    | 2048                |
      | max_tokens_max             | 512                 |
      | full_policy                | "shed-low-priority" |
      | queue_capacity.interactive | 32                  |
      | queue_capacity.batch       | 128                 |
    And the capabilities of pool "batch-jobs" are:
      | engine                     | "sim"       |
      | model                      | "sim-large" |
      | ctx_max                    | 4096        |
      | max_tokens_max             | 1024        |
      | full_policy                | "reject"    |
      | queue_capacity.interactive | 64          |
      | queue_capacity.batch       | 256         |
    And the capabilities of pool "chat" report "engine_version" as the version of orchestratord

  @ORCH-3051 @ORCH-3063
  Scenario: Capabilities report each pool's model digest and engine version
    When I read the capabilities
    Then the capabilities of pool "batch-jobs" report "model_digest" as the digest of the name "sim-large"
    And the capabilities of pool "chat" report "model_digest" as the digest of the name "sim-small"
    And the capabilities of pool "chat" report "engine_version" as the version of orchestratord

  @ORCH-3054
  Scenario Outline: The <document> contract is published byte for byte
    When I send GET "/v1/openapi/<document>"
    Then the response status is 200
    And the response content type starts with "application/yaml"
    And the response body is byte for byte the file "contracts/openapi/<document>"

    Examples:
      | document     |
      | data.yaml    |
      | control.yaml |
      | openai.yaml  |
