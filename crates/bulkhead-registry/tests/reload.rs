//! Reloading: live changes, new and removed compartments, changes that need a restart.
#![cfg(feature = "semaphore")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bulkhead_core::{NoopObserver, RejectReason};
use bulkhead_registry::{Change, ProblemKind};
use bulkhead_semaphore::SemaphoreBulkhead;
use support::{builder, Probe, ProbePlugin, TempDir};

fn rows(changes: &[Change]) -> Vec<(String, String, String, String)> {
    changes
        .iter()
        .map(|c| {
            (
                c.compartment.clone(),
                c.key.clone(),
                c.from.clone(),
                c.to.clone(),
            )
        })
        .collect()
}

fn row(compartment: &str, key: &str, from: &str, to: &str) -> (String, String, String, String) {
    (compartment.into(), key.into(), from.into(), to.into())
}

#[tokio::test]
async fn reload_applies_new_limits_to_running_compartments() {
    let dir = TempDir::new("reload-live");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  orders:\n    kind: semaphore\n    max_concurrent: 2\n",
    );
    let registry = builder(&[&path], &[]).build().unwrap();
    let orders = registry.get::<SemaphoreBulkhead>("orders").unwrap();
    let held = orders.try_acquire_owned().unwrap();

    dir.write(
        "bulkhead.yaml",
        "compartments:\n  orders:\n    kind: semaphore\n    max_concurrent: 5\n    max_wait: 1s\n",
    );
    let report = registry.reload().unwrap();
    assert_eq!(
        rows(&report.applied),
        [
            row("orders", "max_concurrent", "2", "5"),
            row("orders", "max_wait", "\"0s\"", "\"1s\""),
        ]
    );
    assert!(report.added.is_empty() && report.removed.is_empty() && !report.needs_restart());
    assert_eq!(
        orders.stats().target_capacity,
        5,
        "the same handle sees the new limit"
    );
    assert_eq!(orders.config().max_wait, Duration::from_secs(1));
    assert_eq!(
        orders.stats().in_use,
        1,
        "the call in flight keeps its slot"
    );
    drop(held);

    let again = registry.reload().unwrap();
    assert!(again.is_empty(), "{again}");
    assert_eq!(again.to_string(), "no changes");
}

#[test]
fn reload_builds_new_compartments_and_closes_removed_ones() {
    let dir = TempDir::new("reload-add-remove");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.old]\nkind = \"semaphore\"\n[compartments.kept]\nkind = \"semaphore\"\n",
    );
    let built = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&built);
    let registry = builder(&[&path], &[])
        .observer_factory(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
            Arc::new(NoopObserver)
        })
        .build()
        .unwrap();
    let old = registry.get::<SemaphoreBulkhead>("old").unwrap();
    let in_flight = old.try_acquire_owned().unwrap();

    dir.write(
        "bulkhead.toml",
        "[compartments.new]\nkind = \"semaphore\"\n[compartments.kept]\nkind = \"semaphore\"\n",
    );
    let report = registry.reload().unwrap();
    assert_eq!(report.added, ["new"]);
    assert_eq!(report.removed, ["old"]);
    assert_eq!(registry.names(), ["kept", "new"]);
    assert_eq!(
        built.load(Ordering::Relaxed),
        3,
        "the new compartment got its observer"
    );

    assert!(old.is_closed());
    assert_eq!(
        old.try_acquire().unwrap_err().reason(),
        RejectReason::Closed,
        "handles taken before the reload see the compartment refuse new work"
    );
    assert_eq!(old.stats().in_use, 1, "admitted work is not cut off");
    drop(in_flight);
    assert_eq!(old.stats().in_use, 0);
    assert!(!registry
        .get::<SemaphoreBulkhead>("kept")
        .unwrap()
        .is_closed());
}

#[test]
fn a_kind_change_is_reported_as_needing_a_restart_and_not_applied() {
    let dir = TempDir::new("reload-kind");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  jobs:\n    kind: semaphore\n    max_concurrent: 4\n",
    );
    let registry = builder(&[&path], &[])
        .plugin(ProbePlugin::default())
        .build()
        .unwrap();
    dir.write(
        "bulkhead.yaml",
        "compartments:\n  jobs:\n    kind: probe\n    size: 9\n",
    );
    let report = registry.reload().unwrap();
    assert_eq!(
        rows(&report.restart_required),
        [row("jobs", "kind", "\"semaphore\"", "\"probe\"")]
    );
    assert!(report.needs_restart());
    assert!(report.applied.is_empty());
    let jobs = registry.get::<SemaphoreBulkhead>("jobs").unwrap();
    assert_eq!(
        jobs.stats().target_capacity,
        4,
        "the running compartment is untouched"
    );
    assert!(!jobs.is_closed());
    assert!(report
        .to_string()
        .contains("needs a restart: compartment `jobs`: `kind`"));
}

#[test]
fn settings_a_kind_cannot_change_live_are_reported_as_needing_a_restart() {
    let dir = TempDir::new("reload-partial");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.p]\nkind = \"probe\"\nsize = 2\nfixed = 1\n",
    );
    let registry = builder(&[&path], &[])
        .plugin(ProbePlugin::default())
        .build()
        .unwrap();
    dir.write(
        "bulkhead.toml",
        "[compartments.p]\nkind = \"probe\"\nsize = 3\nfixed = 2\n",
    );
    let report = registry.reload().unwrap();
    assert_eq!(rows(&report.applied), [row("p", "size", "2", "3")]);
    assert_eq!(
        rows(&report.restart_required),
        [row("p", "fixed", "1", "2")]
    );
    assert_eq!(
        registry
            .get::<Probe>("p")
            .unwrap()
            .size
            .load(Ordering::Relaxed),
        3
    );
    assert_eq!(
        registry.settings("p").unwrap(),
        [
            ("every".to_owned(), "\"1s\"".to_owned()),
            ("fail_build".to_owned(), "false".to_owned()),
            ("fixed".to_owned(), "1".to_owned()),
            ("size".to_owned(), "3".to_owned()),
        ],
        "the registry keeps what is in force"
    );
    // Still pending on the next reload: it is not forgotten.
    let again = registry.reload().unwrap();
    assert_eq!(rows(&again.restart_required), [row("p", "fixed", "1", "2")]);
    assert!(again.applied.is_empty());
}

#[test]
fn an_invalid_reload_changes_nothing() {
    let dir = TempDir::new("reload-invalid");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  a:\n    kind: semaphore\n    max_concurrent: 2\n",
    );
    let plugin = ProbePlugin::default();
    let registry = builder(&[&path], &[])
        .plugin(plugin.clone())
        .build()
        .unwrap();
    dir.write(
        "bulkhead.yaml",
        "compartments:\n  a:\n    kind: semaphore\n    max_concurrent: 0\n  b:\n    kind: probe\n",
    );
    let error = registry.reload().unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    assert_eq!(error.problems()[0].compartment(), Some("a"));
    assert_eq!(registry.names(), ["a"]);
    assert_eq!(
        plugin.counts.built.load(Ordering::Relaxed),
        0,
        "`b` was not built"
    );
    let a = registry.get::<SemaphoreBulkhead>("a").unwrap();
    assert_eq!(a.stats().target_capacity, 2);

    // A compartment that fails to build also leaves everything as it was.
    dir.write(
        "bulkhead.yaml",
        "compartments:\n  a:\n    kind: semaphore\n    max_concurrent: 9\n  b:\n    kind: probe\n  c:\n    kind: probe\n    fail_build: true\n",
    );
    let error = registry.reload().unwrap_err();
    assert_eq!(error.problems()[0].kind(), ProblemKind::Build);
    assert_eq!(registry.names(), ["a"]);
    assert_eq!(a.stats().target_capacity, 2);
    assert_eq!(plugin.counts.built.load(Ordering::Relaxed), 1);
    assert_eq!(
        plugin.counts.closed.load(Ordering::Relaxed),
        1,
        "`b` was closed again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_under_load_drops_no_calls() {
    const CALLERS: usize = 64;
    const CALLS: usize = 50;
    const RELOADS: usize = 40;

    let dir = TempDir::new("reload-load");
    let config = |limit: usize| {
        format!(
            "compartments:\n  orders:\n    kind: semaphore\n    max_concurrent: {limit}\n    max_wait: 30s\n    max_waiting: 4096\n"
        )
    };
    let path = dir.write("bulkhead.yaml", &config(8));
    let registry = builder(&[&path], &[]).build().unwrap();
    let orders = registry.get::<SemaphoreBulkhead>("orders").unwrap();

    // Callers keep calling until every reload is done, so that reloads happen under load.
    let done = Arc::new(AtomicUsize::new(0));
    let reloading = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut callers = Vec::new();
    for caller in 0..CALLERS {
        let orders = Arc::clone(&orders);
        let done = Arc::clone(&done);
        let reloading = Arc::clone(&reloading);
        callers.push(tokio::spawn(async move {
            let mut call = 0;
            while call < CALLS || reloading.load(Ordering::Relaxed) {
                let result = orders
                    .execute(async {
                        if (caller + call) % 3 == 0 {
                            tokio::time::sleep(Duration::from_micros(200)).await;
                        } else {
                            tokio::task::yield_now().await;
                        }
                    })
                    .await;
                result.expect("no call is refused while limits change");
                done.fetch_add(1, Ordering::Relaxed);
                call += 1;
            }
        }));
    }

    let limits = [1, 16, 3, 64, 2, 8];
    let reloader = {
        let registry = registry.clone();
        let reloading = Arc::clone(&reloading);
        let done = Arc::clone(&done);
        let dir_path = dir.path().to_owned();
        tokio::spawn(async move {
            let mut applied = 0;
            for i in 0..RELOADS {
                let limit = limits[i % limits.len()];
                let tmp = dir_path.join(".next.yaml");
                std::fs::write(&tmp, config(limit)).unwrap();
                std::fs::rename(&tmp, dir_path.join("bulkhead.yaml")).unwrap();
                let report = registry.reload().unwrap();
                applied += report.applied.len();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            reloading.store(false, Ordering::Relaxed);
            (applied, done.load(Ordering::Relaxed))
        })
    };

    for caller in callers {
        caller.await.unwrap();
    }
    let (applied, done_while_reloading) = reloader.await.unwrap();
    assert!(
        applied >= RELOADS - 1,
        "every reload changed the limit ({applied})"
    );
    let done = done.load(Ordering::Relaxed);
    assert!(done >= CALLERS * CALLS);
    assert!(
        done_while_reloading > 0,
        "calls ran while the limits changed"
    );
    let stats = orders.stats();
    assert_eq!(stats.admitted, done as u64);
    assert_eq!(stats.completed, done as u64);
    assert_eq!(stats.rejected.total(), 0);
    assert_eq!((stats.in_use, stats.waiting), (0, 0));
    assert_eq!(stats.target_capacity, limits[(RELOADS - 1) % limits.len()]);
}
