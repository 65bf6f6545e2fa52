//! The file watcher reloads the registry when its file changes.
#![cfg(all(feature = "watch", feature = "semaphore"))]

mod support;

use std::sync::mpsc;
use std::time::Duration;

use bulkhead_registry::WatchError;
use bulkhead_semaphore::SemaphoreBulkhead;
use support::{builder, TempDir};

#[test]
fn a_changed_file_is_reloaded_by_the_watcher() {
    let dir = TempDir::new("watch");
    let config = |limit: u32| {
        format!("compartments:\n  orders:\n    kind: semaphore\n    max_concurrent: {limit}\n")
    };
    let path = dir.write("bulkhead.yaml", &config(2));
    let registry = builder(&[&path], &[]).build().unwrap();
    let (reports, reloads) = mpsc::channel();
    let watch = registry
        .watch(move |outcome| {
            let _ = reports.send(outcome.map(|r| r.to_string()).map_err(|e| e.to_string()));
        })
        .unwrap();
    assert_eq!(watch.files(), std::slice::from_ref(&path));

    // Some file systems report events only after a short delay: retry the write.
    let orders = registry.get::<SemaphoreBulkhead>("orders").unwrap();
    let mut outcome = None;
    for attempt in 0..10u32 {
        dir.write("bulkhead.yaml", &config(10 + attempt));
        if let Ok(report) = reloads.recv_timeout(Duration::from_secs(2)) {
            outcome = Some(report);
            break;
        }
    }
    let report = outcome.expect("the watcher reloaded the registry").unwrap();
    assert!(report.contains("`max_concurrent` 2 -> 1"), "{report}");
    assert!(orders.stats().target_capacity >= 10);

    // A broken save is reported and changes nothing.
    let before = orders.stats().target_capacity;
    dir.write("bulkhead.yaml", "compartments:\n  orders: [\n");
    let error = loop {
        match reloads
            .recv_timeout(Duration::from_secs(10))
            .expect("a reload")
        {
            Err(error) => break error,
            Ok(_) => continue,
        }
    };
    assert!(error.contains("is not valid YAML"), "{error}");
    assert_eq!(orders.stats().target_capacity, before);

    watch.stop();
}

#[test]
fn watching_needs_a_file() {
    let registry = builder::<&str>(&[], &[]).build().unwrap();
    assert!(matches!(registry.watch(|_| {}), Err(WatchError::NoFiles)));
}
