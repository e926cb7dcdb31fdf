Feature: Drain a pool
  A drain closes a pool to new tasks and lets its queued and running tasks finish until a
  deadline; whatever is left then ends with `DRAIN_DEADLINE`.

  Background:
    Given the control plane key is "operator-key"
    And a sim pool "default" with 1 replica of 1 slot
    And the engine of pool "default" takes 20 ms per token

  @ORCH-2101 @ORCH-2006
  Scenario: A drained pool refuses new tasks and ends what is left at the deadline
    Given task "long" is running on pool "default"
    And an interactive task "waiting" is queued on pool "default"
    When the operator drains pool "default" with a deadline of 300 ms
    Then the response status is 202
    And the response field "pool_id" is "default"
    And the response field "draining" is true
    And the response field "deadline_ms" is 300
    When I enqueue task "late" on pool "default" with max_tokens 1
    Then the response status is 503
    And the response is an error with code "POOL_DRAINING"
    And the error is retriable
    And the response header "Retry-After" is the error's retry_after_ms in whole seconds, rounded up
    And the stream of task "long" ends with the error "DRAIN_DEADLINE"
    And the stream of task "waiting" ends with the error "DRAIN_DEADLINE"

  @ORCH-2101
  Scenario: Tasks that finish before the deadline complete normally
    When I enqueue task "short" on pool "default" with max_tokens 5
    And the operator drains pool "default" with a deadline of 10000 ms
    Then the response status is 202
    And the stream of task "short" ends with an end event

  @ORCH-2103
  Scenario: Pool health shows the drain
    When the operator drains pool "default" with a deadline of 5000 ms
    And the operator reads the health of pool "default"
    Then the response field "draining" is true
    And the response field "drain_remaining_ms" is between 1 and 5000

  @ORCH-2101 @ORCH-2006
  Scenario Outline: A drain deadline out of range gets 400 (<deadline_ms> ms)
    When the operator drains pool "default" with a deadline of <deadline_ms> ms
    Then the response status is 400
    And the response is an error with code "INVALID_REQUEST"

    Examples:
      | deadline_ms |
      | 0           |
      | 3600001     |

  @ORCH-2006
  Scenario: Draining an unknown pool gets 404
    When the operator drains pool "nope" with a deadline of 1000 ms
    Then the response status is 404
    And the response is an error with code "NOT_FOUND"
