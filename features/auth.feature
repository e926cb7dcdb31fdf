Feature: Control-plane and data-plane keys
  The control plane never runs unauthenticated; the data plane needs a key only when the
  configuration lists data-plane keys. Keys are configured by reference and never shown.

  @ORCH-3038 @ORCH-2006
  Scenario Outline: <method> <path> needs the control key
    Given the control plane key is "operator-key"
    And a sim pool "default" with 1 replica of 1 slot
    When I present no credentials
    And I send <method> "<path>" with the body <body>
    Then the response status is 401
    And the response is an error with code "UNAUTHENTICATED"
    And the response header "WWW-Authenticate" is "Bearer"
    When I present the Authorization header "Basic b3BlcmF0b3Ita2V5"
    And I send <method> "<path>" with the body <body>
    Then the response status is 401
    And the response is an error with code "UNAUTHENTICATED"
    When I present the bearer key "wrong-key"
    And I send <method> "<path>" with the body <body>
    Then the response status is 403
    And the response is an error with code "FORBIDDEN"
    When I present the bearer key "operator-key"
    And I send <method> "<path>" with the body <body>
    Then the response status is <status>

    Examples:
      | method | path                      | body                        | status |
      | GET    | /metrics                  | ``                          | 200    |
      | GET    | /v1/replicasets           | ``                          | 200    |
      | GET    | /v1/pools/default/health  | ``                          | 200    |
      | POST   | /v1/pools/default/drain   | `{"deadline_ms":60000}`     | 202    |
      | POST   | /v1/pools/default/reload  | `{"model":{"name":"sim-2"}}` | 200    |

  @ORCH-3038 @ORCH-2105
  Scenario: The probes need no key
    Given the control plane key is "operator-key"
    And a sim pool "default" with 1 replica of 1 slot
    When I present no credentials
    And I send GET "/livez"
    Then the response status is 200
    When I send GET "/readyz"
    Then the response status is 200

  @ORCH-3039
  Scenario Outline: Without a configured control key, <path> always answers 401
    Given no control plane key is configured
    And a sim pool "default" with 1 replica of 1 slot
    When I present the bearer key "anything"
    And I send <method> "<path>" with the body <body>
    Then the response status is 401
    And the response is an error with code "UNAUTHENTICATED"
    When I present no credentials
    And I send <method> "<path>" with the body <body>
    Then the response status is 401

    Examples:
      | method | path                     | body                         |
      | GET    | /metrics                 | ``                           |
      | GET    | /v1/replicasets          | ``                           |
      | GET    | /v1/pools/default/health | ``                           |
      | POST   | /v1/pools/default/drain  | `{"deadline_ms":60000}`      |
      | POST   | /v1/pools/default/reload | `{"model":{"name":"sim-2"}}` |

  @ORCH-3039
  Scenario: Without a configured control key the probes still answer
    Given no control plane key is configured
    And a sim pool "default" with 1 replica of 1 slot
    When I send GET "/livez"
    Then the response status is 200
    When I send GET "/readyz"
    Then the response status is 200

  @ORCH-3040 @ORCH-2006
  Scenario Outline: With data-plane keys, <method> <path> needs one of them
    Given a sim pool "default" with 1 replica of 1 slot
    And the data plane key is "client-key"
    When I present no credentials
    And I send <method> "<path>" with the body <body>
    Then the response status is 401
    And the response is an error with code "UNAUTHENTICATED"
    And the response header "WWW-Authenticate" is "Bearer"
    When I present the bearer key "wrong-key"
    And I send <method> "<path>" with the body <body>
    Then the response status is 403
    And the response is an error with code "FORBIDDEN"
    When I present the bearer key "client-key"
    And I send <method> "<path>" with the body <body>
    Then the response status is <status>

    Examples:
      | method | path                    | body                                             | status |
      | POST   | /v1/tasks               | `{"pool":"default","prompt":"p","max_tokens":1}` | 202    |
      | GET    | /v1/capabilities        | ``                                               | 200    |
      | GET    | /v1/sessions/none       | ``                                               | 404    |
      | GET    | /v1/openapi/data.yaml   | ``                                               | 200    |

  @ORCH-3040
  Scenario: Without data-plane keys the data plane is open
    Given the control plane key is "operator-key"
    And a sim pool "default" with 1 replica of 1 slot
    When I present no credentials
    And I enqueue task "open" on pool "default" with max_tokens 1
    Then the response status is 202
    And the stream of task "open" ends with an end event

  @ORCH-3041
  Scenario: Neither the configured key nor the presented one shows in an answer
    Given the control plane key is "operator-key"
    And a sim pool "default" with 1 replica of 1 slot
    When I present the bearer key "wrong-key"
    And I send GET "/metrics"
    Then the response status is 403
    And the response body does not contain "wrong-key"
    And the response body does not contain "operator-key"
    When I present no credentials
    And I send GET "/v1/replicasets"
    Then the response status is 401
    And the response body does not contain "operator-key"

  @ORCH-3042
  Scenario: A key file that cannot be read stops start-up, naming the path
    Given a sim pool "default" with 1 replica of 1 slot
    And the data plane key is referenced by the file "/nonexistent/orchd-data-key"
    When orchestratord starts
    Then orchestratord refuses to start
    And the refusal names "/nonexistent/orchd-data-key"

  @ORCH-3042
  Scenario: An unset key variable stops start-up, naming the variable
    Given a sim pool "default" with 1 replica of 1 slot
    And the control plane key is referenced by the environment variable "ORCHD_BDD_SURELY_UNSET_KEY"
    When orchestratord starts
    Then orchestratord refuses to start
    And the refusal names "ORCHD_BDD_SURELY_UNSET_KEY"
