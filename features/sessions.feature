Feature: Sessions and budgets
  Tasks naming the same `session_id` share a session with turn and token budgets. A session can be
  read and deleted; it expires after its time to live.

  Background:
    Given a sim pool "default" with 1 replica of 2 slots
    And the setting "sessions.max_turns" is 2
    And the setting "sessions.max_tokens" is 40

  @ORCH-2004 @ORCH-3022
  Scenario: The first task of a session creates it, and the session can be read
    When I enqueue task "first" with:
      | pool       | default |
      | prompt     | one two |
      | max_tokens | 10      |
      | session_id | chat-1  |
    And I read the event stream of task "first"
    And I read the session "chat-1"
    Then the response status is 200
    And the response body has the fields session_id, turns_used, turns_max, tokens_used, tokens_max, ttl_remaining_ms
    And the response field "session_id" is "chat-1"
    And the response field "turns_used" is 1
    And the response field "turns_max" is 2
    And the response field "tokens_used" is 12
    And the response field "tokens_max" is 40
    And the response field "ttl_remaining_ms" is between 1 and 600000

  @ORCH-2004 @ORCH-2006
  Scenario: An unknown session gets 404
    When I read the session "never-seen"
    Then the response status is 404
    And the response is an error with code "NOT_FOUND"

  @ORCH-2004 @ORCH-3022
  Scenario: A session expires after its time to live
    Given the setting "sessions.ttl_ms" is 1000
    When I enqueue task "first" with:
      | pool       | default |
      | max_tokens | 1       |
      | session_id | brief   |
    And I read the session "brief"
    Then the response status is 200
    And the session "brief" is gone within 5000 ms

  @ORCH-2005 @ORCH-3024
  Scenario: Deleting a session forgets it and its budgets
    When I enqueue task "first" with:
      | pool       | default |
      | max_tokens | 10      |
      | session_id | chat-2  |
    And I delete the session "chat-2"
    Then the response status is 204
    And the response body is empty
    When I read the session "chat-2"
    Then the response status is 404
    When I enqueue task "again" with:
      | pool       | default |
      | prompt     | one two |
      | max_tokens | 10      |
      | session_id | chat-2  |
    Then the response status is 202
    And the response header "X-Budget-Turns-Remaining" is "1"
    And the response header "X-Budget-Tokens-Remaining" is "28"

  @ORCH-2005 @ORCH-2006
  Scenario: Deleting an unknown session gets 404
    When I delete the session "never-seen"
    Then the response status is 404
    And the response is an error with code "NOT_FOUND"

  @ORCH-3023 @ORCH-3024
  Scenario: A task that would exceed a session budget is refused
    When I enqueue task "first" with:
      | pool       | default |
      | prompt     | one two |
      | max_tokens | 10      |
      | session_id | chat-3  |
    Then the response status is 202
    And the response header "X-Budget-Turns-Remaining" is "1"
    And the response header "X-Budget-Tokens-Remaining" is "28"
    When I enqueue task "too big" with:
      | pool       | default |
      | prompt     | p       |
      | max_tokens | 30      |
      | session_id | chat-3  |
    Then the response status is 422
    And the response is an error with code "SESSION_BUDGET_EXHAUSTED"
    When I enqueue task "second" with:
      | pool       | default |
      | prompt     | one two |
      | max_tokens | 10      |
      | session_id | chat-3  |
    Then the response status is 202
    And the response header "X-Budget-Turns-Remaining" is "0"
    When I enqueue task "third" with:
      | pool       | default |
      | prompt     | p       |
      | max_tokens | 1       |
      | session_id | chat-3  |
    Then the response status is 422
    And the response is an error with code "SESSION_BUDGET_EXHAUSTED"
