@ORCH-3001
Feature: One process serves many pools
  One orchestratord serves every pool of its configuration, each pool with its own model on
  every one of its replicas.

  Background:
    Given the control plane key is "operator-key"
    And a sim pool "chat" with 2 replicas of 1 slot
    And the pool "chat" serves the model "sim-small"
    And a sim pool "batch-jobs" with 1 replica of 2 slots
    And the pool "batch-jobs" serves the model "sim-large"

  Scenario: Tasks of each pool run on that pool's replicas and model
    When I enqueue task "chat task" on pool "chat" with max_tokens 3
    And I enqueue task "batch task" on pool "batch-jobs" with max_tokens 3
    Then the stream of task "chat task" ends with an end event
    And the end event of task "chat task" reports "model" as "sim-small"
    And the end event of task "chat task" ran on a replica of pool "chat"
    And the stream of task "batch task" ends with an end event
    And the end event of task "batch task" reports "model" as "sim-large"
    And the end event of task "batch task" ran on a replica of pool "batch-jobs"

  Scenario: Every replica of a pool serves the pool's one model
    When the operator lists the replica sets
    Then the replica sets list the pools "batch-jobs, chat" in that order
    And the replica set of pool "chat" has the replicas "chat-0, chat-1"
    And the replica set of pool "chat" reports "model" as "sim-small"
    And the replica "chat-0" of pool "chat" is ready
    And the replica "chat-1" of pool "chat" is ready
    And the replica set of pool "batch-jobs" reports "model" as "sim-large"
    And the replica "batch-jobs-0" of pool "batch-jobs" is ready
