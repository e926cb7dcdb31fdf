Feature: Health, readiness and replica sets
  Operators see each pool's health and replicas; probes tell an orchestrator whether the process
  is alive and ready.

  Background:
    Given the control plane key is "operator-key"

  @ORCH-2105
  Scenario: Liveness and readiness answer without credentials
    Given a sim pool "default" with 1 replica of 1 slot
    When I send GET "/livez"
    Then the response status is 200
    And the response body is the JSON `{"status":"live"}`
    When I send GET "/readyz"
    Then the response status is 200
    And the response body is the JSON `{"status":"ready"}`

  @ORCH-2105 @ORCH-3002 @ORCH-3015 @ORCH-2006
  Scenario: A pool without a ready replica makes the process unready and refuses its tasks
    Given a sim pool "good" with 1 replica of 1 slot
    And a sim pool "broken" with 2 replicas of 1 slot
    And the engine of pool "broken" fails every health check
    When I send GET "/readyz"
    Then the response status is 503
    And the response is an error with code "POOL_UNAVAILABLE"
    And the error message mentions "broken"
    And the error message does not mention "good"
    When I enqueue task "doomed" on pool "broken" with max_tokens 1
    Then the response status is 503
    And the response is an error with code "POOL_UNAVAILABLE"
    And the error is retriable
    When I enqueue task "fine" on pool "good" with max_tokens 1
    Then the response status is 202
    When the operator reads the health of pool "broken"
    Then the response field "ready" is false
    And the response field "replicas_ready" is 0

  @ORCH-2103
  Scenario: Pool health reports the pool's state
    Given a sim pool "default" with 2 replicas of 1 slot
    And the engine of pool "default" takes 20 ms per token
    And task "a" is running on pool "default"
    And task "b" is running on pool "default"
    And a batch task "c" is queued on pool "default"
    When the operator reads the health of pool "default"
    Then the response status is 200
    And the response body has the fields pool_id, live, ready, draining, drain_remaining_ms, replicas_ready, replicas_total, queue_depth, tasks_running, model, engine_version
    And the response field "pool_id" is "default"
    And the response field "live" is true
    And the response field "ready" is true
    And the response field "draining" is false
    And the response field "drain_remaining_ms" is null
    And the response field "replicas_ready" is 2
    And the response field "replicas_total" is 2
    And the response field "queue_depth.interactive" is 0
    And the response field "queue_depth.batch" is 1
    And the response field "tasks_running" is 2
    And the response field "model" is "sim-small"
    And the response field "engine_version" is the version of orchestratord

  @ORCH-2103 @ORCH-2006
  Scenario: The health of an unknown pool gets 404
    Given a sim pool "default" with 1 replica of 1 slot
    When the operator reads the health of pool "nope"
    Then the response status is 404
    And the response is an error with code "NOT_FOUND"

  @ORCH-2104 @ORCH-3051 @ORCH-3063
  Scenario: Replica sets list every pool, sorted by pool id, with its replicas
    Given a sim pool "zeta" with 1 replica of 2 slots
    And a sim pool "alpha" with 2 replicas of 3 slots
    And the pool "alpha" serves the model "sim-large"
    When the operator lists the replica sets
    Then the response status is 200
    And the replica sets list the pools "alpha, zeta" in that order
    And the replica set of pool "alpha" reports "engine" as "sim"
    And the replica set of pool "alpha" reports "model" as "sim-large"
    And the replica set of pool "alpha" reports "model_digest" as the digest of the name "sim-large"
    And the replica set of pool "alpha" reports "engine_version" as the version of orchestratord
    And the replica set of pool "alpha" has the replicas "alpha-0, alpha-1"
    And the replica "alpha-0" of pool "alpha" has 0 of 3 slots busy
    And the replica "alpha-1" of pool "alpha" is ready
    And the replica set of pool "zeta" has the replicas "zeta-0"
