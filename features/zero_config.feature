@ORCH-3031
Feature: Zero-config start
  Started without a configuration file, orchestratord serves one pool `default` on one `sim`
  replica with 4 slots, and its data plane is open.

  Scenario: The defaults serve one sim pool with one replica of 4 slots
    Given orchestratord starts without a configuration file, with "operator-key" in ORCHESTRATORD_API_KEY
    When the operator lists the replica sets
    Then the response status is 200
    And the replica sets list the pools "default" in that order
    And the replica set of pool "default" reports "engine" as "sim"
    And the replica set of pool "default" has the replicas "default-0"
    And the replica "default-0" of pool "default" has 0 of 4 slots busy

  Scenario: The data plane needs no key
    Given orchestratord starts without a configuration file
    When I present no credentials
    And I enqueue task "open" on pool "default" with max_tokens 3
    Then the response status is 202
    And the stream of task "open" ends with an end event

  Scenario: The defaults are ready at once
    Given orchestratord starts without a configuration file
    When I send GET "/readyz"
    Then the response status is 200
