Feature: Metrics
  `GET /metrics` exposes exactly the metric contract, in the OpenMetrics text format, so that
  service levels can be computed from it alone.

  Background:
    Given the control plane key is "operator-key"
    And a sim pool "default" with 1 replica of 1 slot

  @ORCH-3028
  Scenario: The exposition is exactly the metric contract
    Given a sim pool "second" with 2 replicas of 1 slot
    And task "done" has completed on pool "default"
    When the operator scrapes the metrics
    Then the response status is 200
    And the response content type starts with "application/openmetrics-text"
    And the metrics are exactly those of the contract, with their types and label names
    And no metric label takes more values than its budget in the contract
    And the metric "orchd_tasks_enqueued_total" with labels "pool=default,priority=interactive" is 1
    And the metric "orchd_tasks_finished_total" with labels "pool=default,outcome=completed" is 1
    And the metric "orchd_slots_capacity" with labels "pool=second,replica=second-1" is 1

  @ORCH-3049
  Scenario: Every finished task is observed in the queue-wait and time-to-first-token histograms
    Given task "one" has completed on pool "default"
    And task "two" has completed on pool "default"
    When the operator scrapes the metrics
    Then the histogram "orchd_queue_wait_seconds" with labels "pool=default,priority=interactive" has observed 2 values
    And the histogram "orchd_time_to_first_token_seconds" with labels "pool=default" has observed 2 values
