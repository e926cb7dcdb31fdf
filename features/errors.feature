Feature: Errors and request validation
  Every 4xx and 5xx answer has the one error envelope. Bodies are read strictly, and a task the
  pool cannot take as asked is refused before it reaches any queue.

  Background:
    Given a sim pool "default" with 1 replica of 1 slot
    And the pool "default" allows at most 8 max_tokens and a context of 10 tokens

  @ORCH-2006 @ORCH-2012
  Scenario Outline: A body the contract does not allow gets 400 naming the field (<case>)
    When I send POST "/v1/tasks" with the body <body>
    Then the response status is 400
    And the response is an error with code "INVALID_REQUEST"
    And the error message mentions "<field>"
    And the error is not retriable
    And the error field "retry_after_ms" is null
    And the error field "policy" is null

    Examples:
      | case            | body                                                                | field       |
      | unknown field   | `{"pool":"default","prompt":"p","max_tokens":1,"bogus":1}`          | bogus       |
      | missing field   | `{"pool":"default","prompt":"p"}`                                   | max_tokens  |
      | wrong type      | `{"pool":"default","prompt":"p","max_tokens":"four"}`               | max_tokens  |
      | below its range | `{"pool":"default","prompt":"p","max_tokens":0}`                    | max_tokens  |
      | above its range | `{"pool":"default","prompt":"p","max_tokens":1,"temperature":3.0}`  | temperature |
      | unknown value   | `{"pool":"default","prompt":"p","max_tokens":1,"priority":"urgent"}` | priority    |
      | null string     | `{"pool":"default","prompt":"p","max_tokens":1,"model":null}`       | model       |
      | null integer    | `{"pool":"default","prompt":"p","max_tokens":1,"seed":null}`        | seed        |
      | above uint64    | `{"pool":"default","prompt":"p","max_tokens":18446744073709551616}` | max_tokens  |

  @ORCH-2006 @ORCH-2012
  Scenario Outline: A body that is not one JSON object gets 400 (<case>)
    When I send POST "/v1/tasks" with the body <body>
    Then the response status is 400
    And the response is an error with code "INVALID_REQUEST"

    Examples:
      | case                | body                                               |
      | not JSON            | `{"pool": "default",`                              |
      | trailing characters | `{"pool":"default","prompt":"p","max_tokens":1} x` |
      | a positional array  | `[null,1,null,"default",null,"p",null,null,null]`  |
      | a string            | `"pool"`                                           |

  @ORCH-2006
  Scenario Outline: A task the pool cannot take as asked gets 422 and enters no queue (<code>)
    Given the engine of pool "default" takes 500 ms per token
    And the pool "default" queues at most 1 interactive and 1 batch task
    And task "long" is running on pool "default"
    When I send POST "/v1/tasks" with the body <body>
    Then the response status is 422
    And the response is an error with code "<code>"
    And the error message mentions "<mention>"
    And the error is not retriable
    When I enqueue task "next" on pool "default" with max_tokens 1
    Then the response status is 202
    And task "next" was admitted at queue position 0

    @ORCH-3008
    Examples: the pool or model does not exist
      | body                                                             | code          | mention |
      | `{"pool":"gpu","prompt":"p","max_tokens":1}`                     | UNKNOWN_POOL  | gpu     |
      | `{"pool":"default","prompt":"p","max_tokens":1,"model":"other"}` | UNKNOWN_MODEL | other   |

    @ORCH-3009
    Examples: the task is too long for the pool
      | body                                                  | code                 | mention |
      | `{"pool":"default","prompt":"p","max_tokens":9}`      | MAX_TOKENS_TOO_LARGE | 8       |
      | `{"pool":"default","prompt":"a b c","max_tokens":8}`  | CONTEXT_TOO_LONG     | 10      |

  @ORCH-3009
  Scenario: A task exactly at the pool's limits is admitted
    When I enqueue task "fits" with:
      | pool       | default |
      | prompt     | a b     |
      | max_tokens | 8       |
    Then the response status is 202

  @ORCH-2013 @ORCH-2006
  Scenario: A body larger than 1 MiB gets 413
    When I send POST "/v1/tasks" with a JSON body of 1048577 bytes
    Then the response status is 413
    And the response is an error with code "PAYLOAD_TOO_LARGE"

  @ORCH-2013
  Scenario: A body of exactly 1 MiB is not refused for its size
    When I send POST "/v1/tasks" with a JSON body of 1048576 bytes
    Then the response status is 202

  @ORCH-2013 @ORCH-2006
  Scenario Outline: A body that is not application/json gets 415 (<content type>)
    When I send POST "/v1/tasks" with the content type "<content type>" and the body `{"pool":"default","prompt":"p","max_tokens":1}`
    Then the response status is 415
    And the response is an error with code "UNSUPPORTED_MEDIA_TYPE"

    Examples:
      | content type                      |
      | text/plain                        |
      | application/x-www-form-urlencoded |
      | application/yaml                  |

  @ORCH-2006 @ORCH-3002
  Scenario: A 5xx answer has the envelope too
    Given a sim pool "broken" with 1 replica of 1 slot
    And the engine of pool "broken" fails every health check
    When I enqueue task "doomed" on pool "broken" with max_tokens 1
    Then the response status is 503
    And the response is an error with code "POOL_UNAVAILABLE"
    And the error is retriable
    And the error field "policy" is null
