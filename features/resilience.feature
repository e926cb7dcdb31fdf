Feature: Engine failure and restart
  When a replica's engine fails, its tasks end with a retriable `ENGINE_ERROR`, no task that has
  produced a token is replayed, and the replica comes back after a restart.

  Background:
    Given the control plane key is "operator-key"
    And a sim pool "default" with 1 replica of 2 slots
    And the engine of pool "default" takes 100 ms per token
    And the engine of pool "default" fails after 4 tokens

  @ORCH-3043 @ORCH-3045
  Scenario: Every task running on a failed replica ends with a retriable engine error
    When I enqueue task "first" on pool "default" with max_tokens 50
    And I read 1 token from the event stream of task "first"
    And I enqueue task "second" on pool "default" with max_tokens 50
    And I read the event streams of tasks "first, second" together
    Then the stream of task "first" ends with the error "ENGINE_ERROR"
    And the error event of task "first" is retriable
    And the stream of task "first" has 4 token events
    And the stream of task "second" ends with the error "ENGINE_ERROR"
    And the error event of task "second" is retriable
    And task "first" is in the state "failed"
    And task "second" is in the state "failed"

  @ORCH-3044
  Scenario: A failed replica turns unready and is ready again after its restart
    When I start watching the ready replicas of pool "default"
    And I enqueue task "doomed" on pool "default" with max_tokens 50
    And I read the event stream of task "doomed"
    Then the stream of task "doomed" ends with the error "ENGINE_ERROR"
    And the pool "default" was seen with 0 ready replicas within 2000 ms
    And the pool "default" has 1 ready replica within 5000 ms
    When I enqueue task "short" on pool "default" with max_tokens 2
    Then the stream of task "short" ends with an end event
