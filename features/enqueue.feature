Feature: Enqueue a task
  A client posts a task to a pool and is told at once where it stands: its place in the pool's
  dispatch order, a predicted start, and where to read its events. A task can be read back by id.

  Background:
    Given a sim pool "default" with 1 replica of 1 slot
    And the engine of pool "default" takes 20 ms per token

  @ORCH-2001 @ORCH-3011
  Scenario: An admitted task gets 202 with its task id, place, predicted start and stream location
    When I enqueue task "haiku" with:
      | pool       | default                     |
      | prompt     | Write a haiku about queues. |
      | max_tokens | 4                           |
    Then the response status is 202
    And the response body has the fields task_id, pool, priority, queue_position, predicted_start_ms
    And the response field "pool" is "default"
    And the response field "priority" is "interactive"
    And the response field "queue_position" is 0
    And the response field "predicted_start_ms" is 0
    And the response header "Location" is the event stream of task "haiku"

  @ORCH-2001
  Scenario: A batch task keeps its priority class
    When I enqueue a batch task "report" on pool "default" with max_tokens 2
    Then the response status is 202
    And the response field "priority" is "batch"

  @ORCH-2001 @ORCH-3011
  Scenario: Tasks queued behind a running task learn how many tasks go before them
    Given task "long" is running on pool "default"
    When I enqueue task "first" on pool "default" with max_tokens 2
    And I enqueue task "second" on pool "default" with max_tokens 2
    Then task "first" was admitted at queue position 0
    And task "second" was admitted at queue position 1
    And task "second" was predicted to start no earlier than task "first"

  @ORCH-2011
  Scenario: A task can be read while it is queued and after it has finished
    Given task "long" is running on pool "default"
    And an interactive task "waiting" is queued on pool "default"
    When I read task "waiting"
    Then the response status is 200
    And the response body has the fields task_id, pool, priority, state, tokens_out
    And the response field "state" is "queued"
    And the response field "tokens_out" is 0
    When I cancel task "long"
    And I read the event stream of task "waiting"
    And I read task "waiting"
    Then the response status is 200
    And the response field "task_id" is the id of task "waiting"
    And the response field "pool" is "default"
    And the response field "priority" is "interactive"
    And the response field "state" is "completed"
    And the response field "tokens_out" is 5

  @ORCH-2011 @ORCH-2006
  Scenario: An unknown task id gets 404
    When I send GET "/v1/tasks/no-such-task"
    Then the response status is 404
    And the response is an error with code "NOT_FOUND"
