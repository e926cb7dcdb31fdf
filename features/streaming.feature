Feature: Stream a task's events
  A task's events arrive as Server-Sent Events: `started` first, then tokens and progress, then
  exactly one terminal `end` or `error` event, after which the server closes the stream.

  Background:
    Given a sim pool "default" with 1 replica of 1 slot

  @ORCH-2002
  Scenario: The stream is framed event by event and ends with exactly one terminal event
    When I enqueue task "A" with:
      | pool       | default |
      | max_tokens | 20      |
      | seed       | 1       |
    And I read the event stream of task "A"
    Then the event stream of task "A" was answered with 200 and the content type "text/event-stream"
    And every event of the stream of task "A" is one event line, one data line with a JSON object, and a blank line
    And the stream of task "A" uses no event but started, token, metrics, end, error
    And the stream of task "A" starts with a started event
    And the stream of task "A" has 20 token events
    And the stream of task "A" has exactly one terminal event, and it is the last
    And the stream of task "A" ends with an end event
    And the server closed the stream of task "A" after its terminal event

  @ORCH-2002 @ORCH-3043
  Scenario: A task whose engine fails ends with one retriable error event
    Given the engine of pool "default" fails after 3 tokens
    When I enqueue task "A" on pool "default" with max_tokens 10
    And I read the event stream of task "A"
    Then the stream of task "A" starts with a started event
    And the stream of task "A" has 3 token events
    And the stream of task "A" has exactly one terminal event, and it is the last
    And the stream of task "A" ends with the error "ENGINE_ERROR"
    And the error event of task "A" is retriable
    And the server closed the stream of task "A" after its terminal event

  @ORCH-3029
  Scenario: The end event reports the task's timings, seed, model and replica
    When I enqueue task "A" with:
      | pool       | default |
      | max_tokens | 5       |
      | seed       | 7       |
    And I read the event stream of task "A"
    Then the end event of task "A" has the fields tokens_in, tokens_out, finish_reason, queue_wait_ms, ttft_ms, decode_ms, seed, model, replica_id
    And the end event of task "A" reports "tokens_out" as 5
    And the end event of task "A" reports "finish_reason" as "length"
    And the end event of task "A" reports "seed" as 7
    And the end event of task "A" reports "model" as "sim-small"
    And the end event of task "A" reports "replica_id" as "default-0"

  @ORCH-2010
  Scenario: A queued task's open stream gets keep-alive comments
    Given the setting "sse.keepalive_ms" is 50
    And the engine of pool "default" takes 20 ms per token
    And task "long" is running on pool "default"
    And an interactive task "waiting" is queued on pool "default"
    When I open the event stream of task "waiting"
    And I listen to the event stream of task "waiting" for 600 ms
    Then the stream of task "waiting" received at least 3 keep-alive comments before its first token
    And task "waiting" is in the state "queued"

  @ORCH-2014 @ORCH-2006
  Scenario: A second reader of an open stream gets 409
    Given the engine of pool "default" takes 20 ms per token
    And task "long" is running on pool "default"
    When I open the event stream of task "long"
    And I open the event stream of task "long" again
    Then the response status is 409
    And the response is an error with code "STREAM_CONFLICT"

  @ORCH-2014 @ORCH-2006
  Scenario: An unknown route gets 404
    When I send GET "/v1/no/such/route"
    Then the response status is 404
    And the response is an error with code "NOT_FOUND"

  @ORCH-2014 @ORCH-2006
  Scenario: A known route with a wrong method gets 405 and an Allow header
    When I send DELETE "/v1/capabilities"
    Then the response status is 405
    And the response is an error with code "METHOD_NOT_ALLOWED"
    And the response header "Allow" lists "GET"
