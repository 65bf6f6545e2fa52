//! Looking compartments up, by type and for stats; observers on everything built.
#![cfg(feature = "semaphore")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bulkhead_core::{Admitted, CompartmentInfo, Finished, Observer};
use bulkhead_registry::{LookupError, Registry};
use bulkhead_semaphore::SemaphoreBulkhead;
use support::{builder, Probe, ProbePlugin, TempDir};

fn two_kinds(dir: &TempDir) -> std::path::PathBuf {
    dir.write(
        "bulkhead.toml",
        r#"
[compartments.orders]
kind = "semaphore"
max_concurrent = 3

[compartments.reports]
kind = "probe"
size = 7
"#,
    )
}

#[tokio::test]
async fn a_compartment_is_looked_up_with_its_concrete_type() {
    let dir = TempDir::new("get");
    let registry = builder(&[two_kinds(&dir)], &[])
        .plugin(ProbePlugin::default())
        .build()
        .unwrap();
    let orders = registry.get::<SemaphoreBulkhead>("orders").unwrap();
    assert_eq!(orders.execute(async { 42 }).await.unwrap(), 42);
    assert_eq!(orders.stats().target_capacity, 3);
    let reports = registry.get::<Probe>("reports").unwrap();
    assert_eq!(reports.size.load(Ordering::Relaxed), 7);

    // The same compartment every time.
    let again = registry.get::<SemaphoreBulkhead>("orders").unwrap();
    let _held = again.try_acquire().unwrap();
    assert_eq!(orders.stats().in_use, 1);
}

#[test]
fn looking_up_an_unknown_name_lists_the_known_ones() {
    let dir = TempDir::new("unknown-name");
    let registry = builder(&[two_kinds(&dir)], &[])
        .plugin(ProbePlugin::default())
        .build()
        .unwrap();
    let error = registry.get::<SemaphoreBulkhead>("payments").unwrap_err();
    assert_eq!(
        error,
        LookupError::NotFound {
            name: "payments".to_owned(),
            known: vec!["orders".to_owned(), "reports".to_owned()],
        }
    );
    assert_eq!(
        error.to_string(),
        "no compartment named `payments`; known: `orders`, `reports`"
    );
    assert!(registry.compartment("payments").is_err());
}

#[test]
fn looking_up_with_the_wrong_type_names_both_types() {
    let dir = TempDir::new("wrong-type");
    let registry = builder(&[two_kinds(&dir)], &[])
        .plugin(ProbePlugin::default())
        .build()
        .unwrap();
    let error = registry.get::<SemaphoreBulkhead>("reports").unwrap_err();
    let LookupError::WrongType { kind, .. } = &error else {
        panic!("expected a wrong type, got {error:?}");
    };
    assert_eq!(*kind, "probe");
    let text = error.to_string();
    assert!(text.starts_with("compartment `reports` is a `"), "{text}");
    assert!(
        text.contains("Probe` (kind `probe`), not a `bulkhead_semaphore"),
        "{text}"
    );
}

#[test]
fn all_compartments_are_listed_for_stats() {
    let dir = TempDir::new("all");
    let registry = builder(&[two_kinds(&dir)], &[])
        .plugin(ProbePlugin::default())
        .build()
        .unwrap();
    let compartments = registry.compartments();
    let rows: Vec<(String, &str, usize)> = compartments
        .iter()
        .map(|c| (c.name().to_owned(), c.kind(), c.stats().capacity))
        .collect();
    assert_eq!(
        rows,
        [
            ("orders".to_owned(), "semaphore", 3),
            ("reports".to_owned(), "probe", 7)
        ]
    );
    assert_eq!(
        registry.compartment("reports").unwrap().info(),
        &CompartmentInfo::new("reports", "probe")
    );
    let kinds = registry.kinds();
    assert!(
        kinds.contains(&"probe") && kinds.contains(&"semaphore"),
        "{kinds:?}"
    );
    assert_eq!(registry.len(), 2);
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
}

impl Observer for Recorder {
    fn on_admitted(&self, info: &CompartmentInfo, _: &Admitted) {
        self.events
            .lock()
            .unwrap()
            .push(format!("admitted {}", info.name()));
    }
    fn on_finished(&self, info: &CompartmentInfo, event: &Finished) {
        self.events
            .lock()
            .unwrap()
            .push(format!("finished {} {}", info.name(), event.outcome));
    }
    fn on_closed(&self, info: &CompartmentInfo) {
        self.events
            .lock()
            .unwrap()
            .push(format!("closed {}", info.name()));
    }
}

#[tokio::test]
async fn observer_factories_are_attached_to_every_compartment_built() {
    let dir = TempDir::new("observers");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  a:\n    kind: semaphore\n  b:\n    kind: semaphore\n",
    );
    let recorder = Arc::new(Recorder::default());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let (r, seen) = (Arc::clone(&recorder), Arc::clone(&asked));
    let second = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&second);
    let registry = builder(&[&path], &[])
        .observer_factory(move |info| {
            seen.lock().unwrap().push(format!("{info:?}"));
            r.clone()
        })
        .observer_factory(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
            Arc::new(bulkhead_core::NoopObserver)
        })
        .build()
        .unwrap();
    assert_eq!(*asked.lock().unwrap(), ["semaphore(a)", "semaphore(b)"]);
    assert_eq!(second.load(Ordering::Relaxed), 2);

    registry
        .get::<SemaphoreBulkhead>("b")
        .unwrap()
        .execute(async {})
        .await
        .unwrap();
    registry.close();
    assert_eq!(
        *recorder.events.lock().unwrap(),
        ["admitted b", "finished b ok", "closed a", "closed b"]
    );
}

#[test]
fn registries_are_cheap_clones_of_one_set_of_compartments() {
    let dir = TempDir::new("clone");
    let registry = builder(&[two_kinds(&dir)], &[])
        .plugin(ProbePlugin::default())
        .build()
        .unwrap();
    let clone = registry.clone();
    let _held = registry
        .get::<SemaphoreBulkhead>("orders")
        .unwrap()
        .try_acquire_owned()
        .unwrap();
    assert_eq!(clone.compartment("orders").unwrap().stats().in_use, 1);
    assert_eq!(
        format!("{clone:?}"),
        r#"{"orders": "semaphore", "reports": "probe"}"#
    );
    let _ = Registry::builder();
}
