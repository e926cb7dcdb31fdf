@ORCH-3030
Feature: Strict configuration
  orchestratord validates its configuration against the configuration schema before it serves,
  rejects unknown fields, and names every violation by its JSON pointer.

  Scenario Outline: An invalid configuration is refused naming <pointer>
    When orchestratord starts with the configuration file "contracts/config-examples/invalid/<file>"
    Then orchestratord refuses to start
    And the refusal names "<pointer>"

    Examples:
      | file               | pointer                              |
      | bad-policy.yaml    | /pools/0/queue/full_policy           |
      | unknown-field.yaml | /pools/0/queue/capacity/interactve   |
      | zero-replicas.yaml | /pools/0/replicas                    |
      | no-pools.yaml      | /pools                               |
      | bad-pool-id.yaml   | /pools/0/id                          |
      | unknown-engine.yaml | /pools/0/engine                     |
      | inline-key.yaml    | /auth/control_keys/0                 |
      | bad-checksum.yaml  | /pools/0/model/sha256                |

  Scenario: Every violation is reported, each with its pointer
    When orchestratord starts with the configuration:
      """
      pools:
        - id: default
          engine:
            kind: sim
          model:
            name: sim-small
          slots: 0
      colour: blue
      """
    Then orchestratord refuses to start
    And the refusal names "/pools/0/slots"
    And the refusal names "/colour"

  Scenario: A valid configuration is served
    When orchestratord starts with the configuration file "contracts/config-examples/valid/minimal.yaml"
    And I send GET "/readyz"
    Then the response status is 200
