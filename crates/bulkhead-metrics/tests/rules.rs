//! The alert rules and the dashboard's queries, checked by promtool.

mod support;

use std::collections::BTreeSet;
use std::fs;

use bulkhead_core::names;
use serde_json::Value;
use support::{assert_success, docs_dir, promtool, run_promtool};

fn dashboard() -> Value {
    let path = docs_dir().join("grafana/bulkhead-dashboard.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every PromQL expression of the dashboard's panels.
fn dashboard_queries() -> Vec<String> {
    let dashboard = dashboard();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            queries.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    queries
}

/// The metric names an expression uses (`bulkhead_` words, histogram suffixes off).
fn metric_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("bulkhead_"))
        .map(|w| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| w.strip_suffix(s))
                .unwrap_or(w)
                .to_owned()
        })
        .collect()
}

#[test]
fn the_alert_rules_pass_promtool_check_rules() {
    let Some(_) = promtool() else { return };
    let dir = docs_dir().join("prometheus");
    let output = run_promtool(&["check", "rules", "alerts.yml"], None, Some(&dir));
    assert_success("promtool check rules alerts.yml", &output);
}

#[test]
fn the_alerts_fire_as_their_unit_test_expects() {
    let Some(_) = promtool() else { return };
    let dir = docs_dir().join("prometheus");
    let output = run_promtool(&["test", "rules", "alerts_test.yml"], None, Some(&dir));
    assert_success("promtool test rules alerts_test.yml", &output);
}

#[test]
fn the_alerts_use_the_health_monitors_default_thresholds() {
    let rules = fs::read_to_string(docs_dir().join("prometheus/alerts.yml")).unwrap();
    let defaults = bulkhead_metrics::HealthConfig::default();
    assert!(rules.contains(&format!("> {}", defaults.utilization_threshold)));
    assert!(rules.contains(&format!("> {}", defaults.rejection_rate_threshold)));
}

#[test]
fn every_dashboard_query_passes_promtool_check_rules() {
    let Some(_) = promtool() else { return };
    // Grafana's variables become what they select: every compartment.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, query) in dashboard_queries().iter().enumerate() {
        let expr = query
            .replace("$__rate_interval", "5m")
            .replace("$bulkhead", ".*");
        assert!(!expr.contains('$'), "unknown variable in {query}");
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: '{}'\n",
            expr.replace('\'', "''")
        ));
    }
    let dir = std::env::temp_dir().join(format!("bulkhead-dashboard-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dashboard-rules.yml");
    fs::write(&file, &rules).unwrap();
    let output = run_promtool(&["check", "rules", file.to_str().unwrap()], None, None);
    let _ = fs::remove_dir_all(&dir);
    assert_success(&format!("promtool check rules on\n{rules}"), &output);
}

#[test]
fn the_dashboard_queries_only_metrics_that_exist_and_filters_by_bulkhead() {
    let mut used = BTreeSet::new();
    for query in dashboard_queries() {
        assert!(
            query.contains(r#"{bulkhead=~"$bulkhead"}"#),
            "query does not follow the `bulkhead` variable: {query}"
        );
        for name in metric_names(&query) {
            assert!(
                names::ALL_METRICS.contains(&name.as_str()),
                "the dashboard queries `{name}`, which no exporter publishes"
            );
            used.insert(name);
        }
    }
    // The guide's four panels, queue depth, runtime busy ratio and pool usage.
    for name in [
        names::UTILIZATION,
        names::REJECTIONS_TOTAL,
        names::ACTIVE_TASKS,
        names::WAIT_DURATION_SECONDS,
        names::WAITING,
        names::RUNTIME_BUSY_RATIO,
        names::POOL_SIZE,
        names::POOL_IDLE,
    ] {
        assert!(used.contains(name), "no panel shows `{name}`");
    }
    let variables = dashboard()["templating"]["list"].clone();
    assert!(
        variables
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "bulkhead" && v["type"] == "query"),
        "the dashboard has no `bulkhead` variable"
    );
}
