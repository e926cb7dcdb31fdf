//! The metrics exposition (`GET /metrics`) against the metric contract
//! `contracts/metrics/metrics.yaml`.

use std::collections::{BTreeMap, BTreeSet};

use cucumber::then;
use openmetrics_parser::openmetrics::parse_openmetrics;
use openmetrics_parser::{OpenMetricsType, OpenMetricsValue};
use serde::Deserialize;

use super::world::Orch;

#[derive(Deserialize)]
struct Contract {
    label_budgets: BTreeMap<String, usize>,
    metrics: Vec<ContractMetric>,
}

#[derive(Deserialize)]
struct ContractMetric {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    labels: Vec<String>,
}

fn contract() -> Contract {
    let path = ::steps::workspace_root().join("contracts/metrics/metrics.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value: serde_json::Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("metrics.yaml: {e}"));
    serde_json::from_value(value).unwrap_or_else(|e| panic!("metrics.yaml: {e}"))
}

type Exposition = openmetrics_parser::MetricsExposition<OpenMetricsType, OpenMetricsValue>;

fn exposition(w: &Orch) -> Exposition {
    let text = w.answer().text();
    parse_openmetrics(&text).unwrap_or_else(|e| panic!("not OpenMetrics text ({e:?}):\n{text}"))
}

/// Counters are exposed as families named without `_total`, their samples with it.
fn family_name(metric: &str) -> &str {
    metric.strip_suffix("_total").unwrap_or(metric)
}

fn type_name(kind: &OpenMetricsType) -> &'static str {
    match kind {
        OpenMetricsType::Counter => "counter",
        OpenMetricsType::Gauge => "gauge",
        OpenMetricsType::Histogram => "histogram",
        _ => "other",
    }
}

/// `"pool=default,priority=interactive"` → pairs.
fn labels(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("a label is `name=value`: {pair}"));
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

fn sample<'e>(
    exposition: &'e Exposition,
    metric: &str,
    wanted: &[(String, String)],
) -> &'e OpenMetricsValue {
    let family = exposition
        .families
        .get(family_name(metric))
        .unwrap_or_else(|| panic!("no metric {metric}"));
    family
        .iter_samples()
        .find(|s| {
            s.get_labelset().is_ok_and(|set| {
                wanted
                    .iter()
                    .all(|(n, v)| set.get_label_value(n) == Some(v.as_str()))
            })
        })
        .map(|s| &s.value)
        .unwrap_or_else(|| panic!("no sample of {metric} with {wanted:?}"))
}

#[then(expr = "the metrics are exactly those of the contract, with their types and label names")]
fn exactly_the_contract(w: &mut Orch) {
    let exposition = exposition(w);
    let contract = contract();
    let mut expected = BTreeSet::new();
    for metric in &contract.metrics {
        let name = family_name(&metric.name);
        expected.insert(name.to_owned());
        let family = exposition
            .families
            .get(name)
            .unwrap_or_else(|| panic!("{} is not exposed", metric.name));
        assert_eq!(
            type_name(&family.family_type),
            metric.kind,
            "{}",
            metric.name
        );
        let got: BTreeSet<&str> = family
            .get_label_names()
            .iter()
            .map(String::as_str)
            .filter(|l| *l != "le")
            .collect();
        let wanted: BTreeSet<&str> = metric.labels.iter().map(String::as_str).collect();
        assert_eq!(got, wanted, "labels of {}", metric.name);
    }
    let exposed: BTreeSet<String> = exposition.families.keys().cloned().collect();
    assert_eq!(exposed, expected, "the exposed metrics and the contract's");
}

#[then(expr = "no metric label takes more values than its budget in the contract")]
fn label_budgets(w: &mut Orch) {
    let exposition = exposition(w);
    let contract = contract();
    for (name, family) in &exposition.families {
        for label in family.get_label_names() {
            let Some(budget) = contract.label_budgets.get(label) else {
                continue;
            };
            let values: BTreeSet<String> = family
                .iter_samples()
                .filter_map(|s| {
                    let set = s.get_labelset().ok()?;
                    set.get_label_value(label).map(str::to_owned)
                })
                .collect();
            assert!(
                values.len() <= *budget,
                "{name}: label {label} has {} values, budget {budget}",
                values.len()
            );
        }
    }
}

#[then(expr = "the metric {string} with labels {string} is {float}")]
fn metric_value(w: &mut Orch, metric: String, wanted: String, expected: f64) {
    let exposition = exposition(w);
    let value = match sample(&exposition, &metric, &labels(&wanted)) {
        OpenMetricsValue::Counter(c) => c.value.as_f64(),
        OpenMetricsValue::Gauge(g) => g.as_f64(),
        other => panic!("{metric} is not a counter or gauge: {other:?}"),
    };
    assert!(
        (value - expected).abs() < 1e-9,
        "{metric}{{{wanted}}} is {value}"
    );
}

#[then(expr = "the histogram {string} with labels {string} has observed {int} value(s)")]
fn histogram_count(w: &mut Orch, metric: String, wanted: String, count: u64) {
    let exposition = exposition(w);
    let OpenMetricsValue::Histogram(histogram) = sample(&exposition, &metric, &labels(&wanted))
    else {
        panic!("{metric} is not a histogram")
    };
    assert_eq!(histogram.count, Some(count), "{metric}{{{wanted}}}");
}
