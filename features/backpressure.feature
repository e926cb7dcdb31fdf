Feature: Backpressure when a queue is full
  A pool's queues are bounded. What happens to a task that arrives for a full queue is decided by
  the pool's full policy, and a refusal always comes at once, with a retry hint.

  Background:
    Given a sim pool "default" with 1 replica of 1 slot
    And the engine of pool "default" takes 20 ms per token

  @ORCH-2007 @ORCH-3005 @ORCH-3048 @ORCH-2006
  Scenario Outline: A full queue under <policy> refuses the arriving task with 429 and a retry hint
    Given the pool "default" has the full policy "<policy>"
    And the pool "default" queues at most 1 interactive and 1 batch task
    And task "long" is running on pool "default"
    And an interactive task "waiting" is queued on pool "default"
    When I enqueue task "arriving" on pool "default" with max_tokens 5
    Then the response status is 429
    And the response is an error with code "QUEUE_FULL"
    And the error is retriable
    And the error field "policy" is "<policy>"
    And the error's retry_after_ms is between 1 and 60000
    And the response header "X-Backoff-Ms" equals the error's retry_after_ms
    And the response header "Retry-After" is the error's retry_after_ms in whole seconds, rounded up
    And task "waiting" is in the state "queued"

    Examples:
      | policy            |
      | reject            |
      | shed-low-priority |

  @ORCH-3005
  Scenario: Under drop-lru the task that waited longest is evicted and the arriving task admitted
    Given the pool "default" has the full policy "drop-lru"
    And the pool "default" queues at most 2 interactive and 2 batch tasks
    And task "long" is running on pool "default"
    And an interactive task "oldest" is queued on pool "default"
    And an interactive task "newer" is queued on pool "default"
    When I enqueue task "arriving" on pool "default" with max_tokens 5
    Then the response status is 202
    And the stream of task "oldest" ends with the error "QUEUE_EVICTED"
    And the stream of task "oldest" has 0 token events
    And task "oldest" is in the state "dropped"
    And task "newer" is in the state "queued"
    And task "arriving" is in the state "queued"

  @ORCH-3005
  Scenario: Under shed-low-priority, interactive pressure sheds the most recently queued batch task
    Given the pool "default" has the full policy "shed-low-priority"
    And the pool "default" queues at most 2 interactive and 4 batch tasks
    And task "long" is running on pool "default"
    And a batch task "older batch" is queued on pool "default"
    And a batch task "newer batch" is queued on pool "default"
    When I enqueue task "urgent" on pool "default" with max_tokens 5
    Then the response status is 202
    And the stream of task "newer batch" ends with the error "SHED_LOW_PRIORITY"
    And task "older batch" is in the state "queued"
    And task "urgent" is in the state "queued"

  @ORCH-3004
  Scenario: Each priority class has its own bounded queue
    Given the pool "default" queues at most 1 interactive and 2 batch tasks
    And task "long" is running on pool "default"
    And an interactive task "interactive" is queued on pool "default"
    When I enqueue a batch task "first batch" on pool "default" with max_tokens 5
    Then the response status is 202
    When I enqueue a batch task "second batch" on pool "default" with max_tokens 5
    Then the response status is 202
    When I enqueue a batch task "third batch" on pool "default" with max_tokens 5
    Then the response status is 429
    And the response is an error with code "QUEUE_FULL"
