Feature: Isolation from hung engines
  Admission never waits on an engine, and a hung engine in one pool does not slow down another
  pool or the control plane. The engines of pool "stuck" stop generating after one token and
  stop answering health checks after the first, so any answer that waited on them would never
  come (every request of the suite gives up after 10 s).

  Background:
    Given the control plane key is "operator-key"
    And a sim pool "stuck" with 2 replicas of 1 slot
    And the engine of pool "stuck" hangs after 1 token
    And the engine of pool "stuck" never answers a health check after the first 1
    And the pool "stuck" queues at most 1 interactive and 1 batch task
    And a sim pool "fast" with 1 replica of 2 slots
    And task "hung 1" is running on pool "stuck"
    And task "hung 2" is running on pool "stuck"

  @ORCH-3047 @ORCH-2006
  Scenario: Admission answers while every engine of the pool is hung
    When I enqueue task "admitted" on pool "stuck" with max_tokens 5
    Then the response status is 202
    When I enqueue task "refused" on pool "stuck" with max_tokens 5
    Then the response status is 429
    And the response is an error with code "QUEUE_FULL"
    When I enqueue task "wrong model" with:
      | pool       | stuck |
      | model      | other |
      | max_tokens | 5     |
    Then the response status is 422
    When the operator drains pool "stuck" with a deadline of 60000 ms
    And I enqueue task "too late" on pool "stuck" with max_tokens 5
    Then the response status is 503
    And the response is an error with code "POOL_DRAINING"

  @ORCH-3046
  Scenario: A hung engine does not delay another pool or the control plane
    When I enqueue task "quick" on pool "fast" with max_tokens 5
    Then the response status is 202
    And the stream of task "quick" ends with an end event
    When the operator reads the health of pool "fast"
    Then the response status is 200
    When the operator reads the health of pool "stuck"
    Then the response status is 200
    And the response field "tasks_running" is 2
    When the operator lists the replica sets
    Then the response status is 200
    When the operator drains pool "fast" with a deadline of 60000 ms
    Then the response status is 202
