Feature: Cancel a task
  A cancel ends a queued or running task at once and for good: no token follows the answer, the
  stream ends with a `CANCELLED` error, and the queue entry or slot is released. Closing the
  event stream's connection cancels the task too.

  Background:
    Given a sim pool "default" with 1 replica of 1 slot
    And the engine of pool "default" takes 20 ms per token

  @ORCH-2003 @ORCH-3025
  Scenario: Cancelling a queued task ends it before it ever runs
    Given task "long" is running on pool "default"
    And an interactive task "waiting" is queued on pool "default"
    When I cancel task "waiting"
    Then the response status is 200
    And the response field "task_id" is the id of task "waiting"
    And the response field "state" is "cancelled"
    And the stream of task "waiting" starts with a started event
    And the stream of task "waiting" ends with the error "CANCELLED"
    And the stream of task "waiting" has 0 token events
    And task "waiting" is in the state "cancelled"

  @ORCH-2003 @ORCH-3025
  Scenario: Cancelling a streaming task stops its tokens and frees its slot
    When I enqueue task "chatty" on pool "default" with max_tokens 200
    And I read 3 tokens from the event stream of task "chatty"
    And I cancel task "chatty"
    Then the response status is 200
    And the response field "state" is "cancelled"
    And the stream of task "chatty" ends with the error "CANCELLED"
    And the stream of task "chatty" has no token event after the cancel answer
    And task "chatty" is in the state "cancelled"
    When I enqueue task "next" on pool "default" with max_tokens 2
    Then the stream of task "next" ends with an end event

  @ORCH-2003
  Scenario: Cancelling twice changes nothing
    Given task "long" is running on pool "default"
    When I cancel task "long"
    And I cancel task "long"
    Then the response status is 200
    And the response field "state" is "cancelled"
    And the stream of task "long" has exactly one terminal event, and it is the last
    And the stream of task "long" ends with the error "CANCELLED"

  @ORCH-2003
  Scenario: Cancelling a finished task answers its final state
    When I enqueue task "done" on pool "default" with max_tokens 2
    And I read the event stream of task "done"
    And I cancel task "done"
    Then the response status is 200
    And the response field "state" is "completed"
    And task "done" is in the state "completed"

  @ORCH-2003 @ORCH-2006
  Scenario: Cancelling an unknown task gets 404
    When I send POST "/v1/tasks/no-such-task/cancel"
    Then the response status is 404
    And the response is an error with code "NOT_FOUND"

  @ORCH-3026 @ORCH-3025
  Scenario: Closing a running task's stream cancels it
    When I enqueue task "chatty" on pool "default" with max_tokens 200
    And I read 2 tokens from the event stream of task "chatty"
    And I disconnect from the event stream of task "chatty"
    Then task "chatty" reaches the state "cancelled" within 5000 ms
    When I enqueue task "next" on pool "default" with max_tokens 2
    Then the stream of task "next" ends with an end event

  @ORCH-3026
  Scenario: Closing a queued task's stream cancels it before it is ever dispatched
    Given the control plane key is "operator-key"
    And task "long" is running on pool "default"
    And an interactive task "waiting" is queued on pool "default"
    When I open the event stream of task "waiting"
    And I read 1 event from the event stream of task "waiting"
    And I disconnect from the event stream of task "waiting"
    Then task "waiting" reaches the state "cancelled" within 5000 ms
    And task "waiting" has produced 0 tokens
    When the operator reads the health of pool "default"
    Then the response field "queue_depth.interactive" is 0
