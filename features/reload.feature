Feature: Reload a pool's model
  A reload loads the new model on every replica and switches the pool at once. If any replica
  cannot load it, the pool keeps serving the old model and the reload answers `RELOAD_FAILED`.

  Background:
    Given the control plane key is "operator-key"
    And a sim pool "default" with 1 replica of 1 slot
    And the engine of pool "default" takes 20 ms per token
    And a model file "v2.bin" containing "model weights v2"

  @ORCH-2102 @ORCH-3035 @ORCH-3051
  Scenario: A reload switches the pool; a task dispatched before it finishes on the old model
    Given task "before" is running with max_tokens 20 on pool "default"
    When the operator reloads pool "default" with the model:
      | name   | sim-v2      |
      | file   | v2.bin      |
      | sha256 | of the file |
    Then the response status is 200
    And the response field "model" is "sim-v2"
    And the response field "model_digest" is the digest of the model file "v2.bin"
    And the stream of task "before" ends with an end event
    And the end event of task "before" reports "model" as "sim-small"
    When I enqueue task "after" with:
      | pool       | default |
      | model      | sim-v2  |
      | max_tokens | 2       |
    Then the response status is 202
    And the end event of task "after" reports "model" as "sim-v2"
    When the operator lists the replica sets
    Then the replica set of pool "default" reports "model" as "sim-v2"
    And the replica set of pool "default" reports "model_digest" as the digest of the model file "v2.bin"

  @ORCH-2102 @ORCH-3036 @ORCH-3050 @ORCH-2006
  Scenario: A reload with a wrong checksum fails and the old model keeps serving
    Given task "during" is running with max_tokens 20 on pool "default"
    When the operator reloads pool "default" with the model:
      | name   | sim-v3                                                           |
      | file   | v2.bin                                                           |
      | sha256 | 0000000000000000000000000000000000000000000000000000000000000000 |
    Then the response status is 409
    And the response is an error with code "RELOAD_FAILED"
    And the error message mentions "expected"
    And the error message mentions "0000000000000000000000000000000000000000000000000000000000000000"
    And the error message mentions the digest of the model file "v2.bin"
    And the stream of task "during" ends with an end event
    And the end event of task "during" reports "model" as "sim-small"
    When the operator reads the health of pool "default"
    Then the response field "model" is "sim-small"
    When I enqueue task "after" with:
      | pool       | default   |
      | model      | sim-small |
      | max_tokens | 2         |
    Then the response status is 202
    And the stream of task "after" ends with an end event

  @ORCH-2102 @ORCH-3052 @ORCH-3036
  Scenario: A reload from a missing file fails naming the path
    When the operator reloads pool "default" with the model:
      | name | sim-v3                  |
      | path | /nonexistent/model.bin |
    Then the response status is 409
    And the response is an error with code "RELOAD_FAILED"
    And the error message mentions "/nonexistent/model.bin"
    When the operator reads the health of pool "default"
    Then the response field "model" is "sim-small"

  @ORCH-3037
  Scenario: A successful reload ends a drain
    When the operator drains pool "default" with a deadline of 60000 ms
    And I enqueue task "refused" on pool "default" with max_tokens 1
    Then the response status is 503
    When the operator reloads pool "default" with the model "sim-v2"
    Then the response status is 200
    When the operator reads the health of pool "default"
    Then the response field "draining" is false
    When I enqueue task "admitted" on pool "default" with max_tokens 1
    Then the response status is 202
    And the stream of task "admitted" ends with an end event

  @ORCH-2006
  Scenario: Reloading an unknown pool gets 404
    When the operator reloads pool "nope" with the model "sim-v2"
    Then the response status is 404
    And the response is an error with code "NOT_FOUND"
