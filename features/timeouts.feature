Feature: Timeouts
  Tasks that nobody claims, that stall, or that run too long are ended by the server.

  Background:
    Given a sim pool "default" with 1 replica of 1 slot

  @ORCH-3019
  Scenario: A task whose stream is never opened is cancelled after stream_open_ms
    Given the setting "timeouts.stream_open_ms" is 200
    And the engine of pool "default" takes 20 ms per token
    When I enqueue task "unclaimed" on pool "default" with max_tokens 500
    Then task "unclaimed" reaches the state "cancelled" within 5000 ms
    And the stream of task "unclaimed" ends with the error "CANCELLED"

  @ORCH-3019
  Scenario: A task whose stream is opened in time is not cancelled
    Given the setting "timeouts.stream_open_ms" is 1000
    And the engine of pool "default" takes 100 ms per token
    When I enqueue task "claimed" on pool "default" with max_tokens 20
    And I open the event stream of task "claimed"
    Then the stream of task "claimed" ends with an end event
    And the stream of task "claimed" has 20 token events

  @ORCH-3018
  Scenario: A task that receives no token for token_idle_ms ends with TIMEOUT_IDLE
    Given the setting "timeouts.token_idle_ms" is 200
    And the engine of pool "default" hangs after 2 tokens
    When I enqueue task "stalled" on pool "default" with max_tokens 10
    Then the stream of task "stalled" ends with the error "TIMEOUT_IDLE"
    And the stream of task "stalled" has 2 token events
    When I enqueue task "next" on pool "default" with max_tokens 2
    Then the stream of task "next" ends with an end event

  @ORCH-3017
  Scenario: A task still running after task_wall_ms ends with TIMEOUT_WALL and frees its slot
    Given the setting "timeouts.task_wall_ms" is 300
    And the engine of pool "default" takes 20 ms per token
    When I enqueue task "endless" on pool "default" with max_tokens 500
    Then the stream of task "endless" ends with the error "TIMEOUT_WALL"
    When I enqueue task "next" on pool "default" with max_tokens 2
    Then the stream of task "next" ends with an end event
