Feature: Dispatch order, placement and slots
  Queued tasks are dispatched interactive first, FIFO within a class, without starving batch
  work, to the least-loaded ready replica, never beyond a replica's slots.

  Background:
    Given a sim pool "default" with 1 replica of 1 slot
    And the engine of pool "default" takes 30 ms per token

  @ORCH-3004 @ORCH-3006
  Scenario: Interactive tasks go first, and each class is served in admission order
    Given task "long" is running on pool "default"
    And a batch task "batch 1" is queued on pool "default"
    And an interactive task "interactive 1" is queued on pool "default"
    And a batch task "batch 2" is queued on pool "default"
    And an interactive task "interactive 2" is queued on pool "default"
    When I start reading the event streams of tasks "batch 1, interactive 1, batch 2, interactive 2"
    And I cancel task "long"
    And I finish reading the event streams of tasks "batch 1, interactive 1, batch 2, interactive 2"
    Then the tasks "interactive 1, interactive 2, batch 1, batch 2" produced their first tokens in that order

  @ORCH-3007
  Scenario: A waiting batch task is dispatched after batch_every interactive dispatches
    Given the pool "default" dispatches a waiting batch task after every 2 interactive dispatches
    And task "long" is running on pool "default"
    And a batch task "batch" is queued on pool "default"
    And an interactive task "i1" is queued on pool "default"
    And an interactive task "i2" is queued on pool "default"
    And an interactive task "i3" is queued on pool "default"
    When I start reading the event streams of tasks "batch, i1, i2, i3"
    And I cancel task "long"
    And I finish reading the event streams of tasks "batch, i1, i2, i3"
    Then the tasks "i1, i2, batch, i3" produced their first tokens in that order

  @ORCH-3011
  Scenario: Queue positions follow the dispatch order, not the arrival order
    Given task "long" is running on pool "default"
    And a batch task "batch" is queued on pool "default"
    When I enqueue task "interactive" on pool "default" with max_tokens 5
    Then task "batch" was admitted at queue position 0
    And task "interactive" was admitted at queue position 0

  @ORCH-3012
  Scenario: Tasks go to the ready replica with the most free slots, the lowest id breaking ties
    Given a sim pool "wide" with 2 replicas of 2 slots
    And the engine of pool "wide" takes 30 ms per token
    When I enqueue task "t1" on pool "wide" with max_tokens 40
    And task "t1" has reached the state "running"
    And I enqueue task "t2" on pool "wide" with max_tokens 40
    And task "t2" has reached the state "running"
    And I enqueue task "t3" on pool "wide" with max_tokens 40
    And task "t3" has reached the state "running"
    And I read the event streams of tasks "t1, t2, t3" together
    Then the end event of task "t1" reports "replica_id" as "wide-0"
    And the end event of task "t2" reports "replica_id" as "wide-1"
    And the end event of task "t3" reports "replica_id" as "wide-0"

  @ORCH-3020 @ORCH-3021
  Scenario: A replica never runs more tasks than its slots, and a freed slot is used at once
    Given the control plane key is "operator-key"
    And a sim pool "pair" with 1 replica of 2 slots
    And the engine of pool "pair" takes 30 ms per token
    And task "a" is running on pool "pair"
    And task "b" is running on pool "pair"
    And an interactive task "c" is queued on pool "pair"
    When the operator reads the health of pool "pair"
    Then the response field "tasks_running" is 2
    And the response field "queue_depth.interactive" is 1
    When the operator lists the replica sets
    Then the replica "pair-0" of pool "pair" has 2 of 2 slots busy
    When I cancel task "a"
    Then task "c" reaches the state "running" within 5000 ms
    When the operator reads the health of pool "pair"
    Then the response field "tasks_running" is 2
    And the response field "queue_depth.interactive" is 0

  @ORCH-3010 @ORCH-2006
  Scenario: A deadline that cannot be met is refused at admission
    Given task "long" is running on pool "default"
    When I enqueue task "hurried" with:
      | pool        | default |
      | max_tokens  | 5       |
      | deadline_ms | 1       |
    Then the response status is 422
    And the response is an error with code "DEADLINE_INFEASIBLE"

  @ORCH-3010
  Scenario: A task still queued when its deadline passes expires
    Given task "long" is running on pool "default"
    When I enqueue task "patient" with:
      | pool        | default |
      | max_tokens  | 5       |
      | deadline_ms | 1500    |
    Then the response status is 202
    And the stream of task "patient" ends with the error "DEADLINE_EXCEEDED"
    And the stream of task "patient" has 0 token events
    And task "patient" is in the state "expired"
