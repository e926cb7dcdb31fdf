@ORCH-2009
Feature: Correlation ids
  Every response carries `X-Correlation-Id`: the request's own value when it is well-formed, a
  new UUID v4 otherwise. Error bodies repeat it.

  Background:
    Given a sim pool "default" with 1 replica of 1 slot

  Scenario: A well-formed correlation id is echoed on a success
    When I send GET "/v1/capabilities" with the header "X-Correlation-Id" set to "req-42:a.b_c"
    Then the response status is 200
    And the response header "X-Correlation-Id" is "req-42:a.b_c"

  Scenario: A well-formed correlation id is echoed on an error and repeated in its body
    When I send GET "/v1/tasks/no-such-task" with the header "X-Correlation-Id" set to "trace.7"
    Then the response status is 404
    And the response header "X-Correlation-Id" is "trace.7"
    And the error field "correlation_id" is "trace.7"

  Scenario: A correlation id of 128 characters is echoed
    When I send GET "/v1/capabilities" with an X-Correlation-Id of 128 characters
    Then the response header "X-Correlation-Id" is the one I sent

  Scenario Outline: A malformed correlation id is replaced by a new UUID v4 (<case>)
    When I send GET "/v1/tasks/no-such-task" with the header "X-Correlation-Id" set to "<value>"
    Then the response status is 404
    And the response header "X-Correlation-Id" is a new UUID v4
    And the error's correlation_id is the response header "X-Correlation-Id"

    Examples:
      | case                | value      |
      | a space             | has spaces |
      | a slash             | a/b        |
      | a character outside | a+b        |

  Scenario: A correlation id of 129 characters is replaced by a new UUID v4
    When I send GET "/v1/capabilities" with an X-Correlation-Id of 129 characters
    Then the response header "X-Correlation-Id" is a new UUID v4

  Scenario: Without a correlation id the server makes one, also for an admitted task
    When I enqueue task "A" on pool "default" with max_tokens 1
    Then the response status is 202
    And the response header "X-Correlation-Id" is a new UUID v4
