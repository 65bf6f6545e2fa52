//! The metrics reference documents every name the code defines, and no other.

use bulkhead_core::names;

fn metrics_page() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/metrics.md");
    std::fs::read_to_string(path).expect("docs/metrics.md is readable")
}

/// Backticked words of the page that look like metric or attribute names.
fn documented(page: &str, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = page
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.starts_with(prefix))
        .filter(|w| {
            w.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
        })
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn every_metric_constant_is_documented_and_every_documented_metric_exists() {
    let page = metrics_page();
    let mut defined: Vec<String> = names::ALL_METRICS.iter().map(|s| s.to_string()).collect();
    defined.sort();
    assert_eq!(documented(&page, "bulkhead_"), defined);
}

#[test]
fn every_span_attribute_constant_is_documented_and_every_documented_one_exists() {
    let page = metrics_page();
    let mut defined: Vec<String> = names::ALL_ATTRIBUTES
        .iter()
        .map(|s| s.to_string())
        .collect();
    defined.sort();
    assert_eq!(documented(&page, "bulkhead."), defined);
}

#[test]
fn label_names_are_documented() {
    let page = metrics_page();
    for label in [
        names::LABEL_BULKHEAD,
        names::LABEL_KIND,
        names::LABEL_REASON,
        names::LABEL_OUTCOME,
    ] {
        assert!(
            page.contains(&format!("`{label}`")),
            "label `{label}` is not documented"
        );
    }
}
