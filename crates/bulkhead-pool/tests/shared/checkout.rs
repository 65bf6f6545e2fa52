//! The checkout behaviour every pool adapter shares, written once and run against each
//! adapter with an in-memory manager.
//!
//! `checkout_tests!()` expands to the tests. The including file provides, from its
//! adapter: `PoolConfig`, `CallError`, `Compartment`, `CompartmentInfo`, `Observer`,
//! `Admitted`, `Finished`, `Outcome`, `Permit`, `RejectReason`, `Rejected` and `KIND`;
//! a manager whose objects are `Conn { id, .. }` numbered from 1; `type Bulkhead` (the
//! compartment over that manager); `pool(max_size)`, a pool of that manager;
//! `compartment(max_size, config)`, a compartment called `things` over a new pool; and
//! `CLOSE_DROPS_CONNECTIONS`, whether closing the compartment closes its pool.

/// The tests, to be expanded once in each adapter's test file.
macro_rules! checkout_tests {
    () => {
        fn rejection<T: std::fmt::Debug, E: std::fmt::Debug>(
            result: Result<T, CallError<E>>,
        ) -> Rejected {
            match result {
                Err(CallError::Rejected(r)) => r,
                other => panic!("expected a rejection, got {other:?}"),
            }
        }

        /// Records every event as a line.
        #[derive(Default)]
        struct Recorder(std::sync::Mutex<Vec<String>>);

        impl Recorder {
            fn lines(&self) -> Vec<String> {
                self.0.lock().unwrap().clone()
            }
            /// The outcomes of the `Finished` events, in order.
            fn outcomes(&self) -> Vec<String> {
                self.lines()
                    .iter()
                    .filter_map(|l| l.strip_prefix("finished "))
                    .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
                    .collect()
            }
            fn push(&self, line: String) {
                self.0.lock().unwrap().push(line);
            }
        }

        impl Observer for Recorder {
            fn on_admitted(&self, info: &CompartmentInfo, _event: &Admitted) {
                self.push(format!("admitted {}", info.kind()));
            }
            fn on_rejected(&self, _info: &CompartmentInfo, rejection: &Rejected) {
                self.push(format!("rejected {}", rejection.reason().as_str()));
            }
            fn on_finished(&self, _info: &CompartmentInfo, event: &Finished) {
                let held = if event.held >= Duration::from_millis(20) {
                    "long"
                } else {
                    "short"
                };
                self.push(format!("finished {} {held}", event.outcome));
            }
        }

        #[tokio::test]
        async fn a_free_slot_is_checked_out_at_once_and_the_object_goes_back_on_drop() {
            let things = compartment(2, PoolConfig::default());
            assert_eq!(Compartment::kind(&things), KIND);
            assert_eq!(Compartment::name(&things), "things");

            let a = things.get().await.unwrap();
            assert_eq!((a.id, a.compartment()), (1, "things"));
            let stats = things.stats();
            assert_eq!((stats.capacity, stats.in_use, stats.admitted), (2, 1, 1));
            let status = things.status();
            assert_eq!((status.max_size, status.size, status.idle), (2, 1, 0));

            drop(a);
            let again = things.try_get().await.unwrap();
            assert_eq!(again.id, 1, "the same object is handed out again");
            drop(again);
            let stats = things.stats();
            assert_eq!((stats.in_use, stats.admitted, stats.completed), (0, 2, 2));
            assert_eq!((things.status().size, things.status().idle), (1, 1));
        }

        #[tokio::test]
        async fn a_full_compartment_that_may_not_wait_refuses_with_full() {
            let things = compartment(1, PoolConfig::default().max_wait(Duration::ZERO));
            let _held = things.get().await.unwrap();

            let refused = rejection(things.get().await);
            assert_eq!(refused.reason(), RejectReason::Full);
            assert_eq!(refused.compartment(), "things");
            // try_get never waits, whatever max_wait says.
            let waits = compartment(1, PoolConfig::default());
            let _held = waits.get().await.unwrap();
            assert_eq!(
                rejection(waits.try_get().await).reason(),
                RejectReason::Full
            );
            assert_eq!(things.stats().rejected.full, 1);
        }

        #[tokio::test(start_paused = true)]
        async fn a_checkout_that_waits_too_long_times_out_naming_the_compartment() {
            let max_wait = Duration::from_millis(250);
            let things = compartment(1, PoolConfig::default().max_wait(max_wait));
            let _held = things.get().await.unwrap();

            let start = tokio::time::Instant::now();
            let refused = rejection(things.get().await);
            let RejectReason::Timeout { waited } = refused.reason() else {
                panic!("expected a timeout, got {refused:?}");
            };
            assert_eq!(waited, max_wait);
            assert_eq!(start.elapsed(), max_wait);
            assert_eq!(refused.compartment(), "things");
            assert_eq!(
                refused.to_string(),
                "bulkhead `things` rejected the call: timed out after waiting 250ms"
            );
            assert_eq!(things.stats().rejected.timeout, 1);
        }

        #[tokio::test(start_paused = true)]
        async fn a_waiting_checkout_gets_the_object_given_back_and_the_queue_is_bounded() {
            let things = compartment(1, PoolConfig::default().max_waiting(1));
            let held = things.get().await.unwrap();

            let waiter = tokio::spawn({
                let things = things.clone();
                async move { things.get().await.map(|c| c.id) }
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(things.stats().waiting, 1);
            assert_eq!(
                rejection(things.get().await).reason(),
                RejectReason::QueueFull
            );

            drop(held);
            assert_eq!(waiter.await.unwrap().unwrap(), 1);
            let stats = things.stats();
            assert_eq!((stats.waiting, stats.in_use, stats.completed), (0, 0, 2));
            assert_eq!(things.status().size, 1, "no second object was created");
        }

        #[tokio::test]
        async fn every_event_is_emitted_once_and_finished_carries_the_hold_time() {
            let recorder = std::sync::Arc::new(Recorder::default());
            let things = Bulkhead::builder("things")
                .max_wait(Duration::ZERO)
                .observer(recorder.clone())
                .build(pool(1))
                .unwrap();

            let held = things.get().await.unwrap();
            let _ = things.get().await.unwrap_err();
            tokio::time::sleep(Duration::from_millis(30)).await;
            drop(held);
            let quick = things.get().await.unwrap();
            drop(quick);

            let admitted = format!("admitted {KIND}");
            assert_eq!(
                recorder.lines(),
                [
                    admitted.as_str(),
                    "rejected full",
                    "finished ok long",
                    admitted.as_str(),
                    "finished ok short"
                ]
            );
        }

        #[tokio::test]
        async fn recorded_outcomes_and_panics_are_counted() {
            let recorder = std::sync::Arc::new(Recorder::default());
            let things = Bulkhead::builder("things")
                .observer(recorder.clone())
                .build(pool(2))
                .unwrap();

            let mut failed = things.get().await.unwrap();
            failed.record(&Err::<(), _>("query failed"));
            drop(failed);
            let mut ok = things.get().await.unwrap();
            ok.record(&Ok::<_, ()>(1));
            drop(ok);
            let mut cancelled = things.get().await.unwrap();
            cancelled.set_outcome(Outcome::Cancelled);
            drop(cancelled);

            let panicking = things.clone();
            let join = tokio::spawn(async move {
                let _conn = panicking.get().await.unwrap();
                panic!("work panicked while holding a connection");
            });
            assert!(join.await.unwrap_err().is_panic());

            let stats = things.stats();
            assert_eq!(
                (
                    stats.completed,
                    stats.failed,
                    stats.cancelled,
                    stats.panicked
                ),
                (1, 1, 1, 1)
            );
            assert_eq!(stats.in_use, 0);
            assert_eq!(stats.admitted, stats.finished());
            assert_eq!(recorder.outcomes(), ["error", "ok", "cancelled", "panic"]);
            assert_eq!(
                things.status().idle,
                1,
                "the object came back after the panic"
            );
        }

        #[tokio::test(start_paused = true)]
        async fn a_checkout_cancelled_while_waiting_frees_its_place() {
            let things = compartment(
                1,
                PoolConfig::default()
                    .max_wait(Duration::from_secs(10))
                    .max_waiting(1),
            );
            let held = things.get().await.unwrap();

            let gave_up = tokio::time::timeout(Duration::from_millis(50), things.get()).await;
            assert!(gave_up.is_err(), "the checkout was still waiting");
            let stats = things.stats();
            assert_eq!((stats.waiting, stats.abandoned), (0, 1));

            // Its place in the queue is free again, and the slot goes to the next waiter.
            let next = tokio::spawn({
                let things = things.clone();
                async move { things.get().await.map(|c| c.id) }
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(things.stats().waiting, 1);
            drop(held);
            assert_eq!(next.await.unwrap().unwrap(), 1);
            let stats = things.stats();
            assert_eq!((stats.in_use, stats.waiting), (0, 0));
            assert_eq!(stats.attempts(), stats.admitted + stats.abandoned);
        }

        #[tokio::test(start_paused = true)]
        async fn a_checkout_takes_its_slot_when_first_polled_and_owned_ones_wait_in_turn() {
            let things = compartment(1, PoolConfig::default().max_wait(Duration::from_secs(1)));
            let created = (
                things.get(),
                things.get_owned(),
                things.try_get(),
                things.try_get_owned(),
            );
            let stats = things.stats();
            assert_eq!(
                (stats.in_use, stats.attempts()),
                (0, 0),
                "nothing polled yet"
            );
            drop(created);
            assert_eq!(things.stats().attempts(), 0);

            let held = things.get().await.unwrap();
            let waiter = tokio::spawn({
                let things = things.clone();
                async move { things.get_owned().await.map(|c| c.id) }
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(things.stats().waiting, 1);
            drop(held);
            assert_eq!(waiter.await.unwrap().unwrap(), 1);
            let stats = things.stats();
            assert_eq!((stats.admitted, stats.in_use, stats.waiting), (2, 0, 0));
        }

        #[tokio::test(start_paused = true)]
        async fn close_refuses_new_and_waiting_checkouts() {
            let things = compartment(1, PoolConfig::default().max_wait(Duration::from_secs(5)));
            let held = things.get_owned().await.unwrap();
            let waiter = tokio::spawn({
                let things = things.clone();
                async move { things.get().await.map(|c| c.id) }
            });
            tokio::time::sleep(Duration::from_millis(10)).await;

            things.close();
            assert!(Compartment::is_closed(&things));
            match waiter.await.unwrap() {
                Err(CallError::Rejected(r)) => assert_eq!(r.reason(), RejectReason::Closed),
                other => panic!("expected Closed, got {other:?}"),
            }
            assert_eq!(rejection(things.get().await).reason(), RejectReason::Closed);
            drop(held);
            assert_eq!(things.stats().in_use, 0);
            let kept = if CLOSE_DROPS_CONNECTIONS { 0 } else { 1 };
            assert_eq!(
                things.status().size,
                kept,
                "a closed pool drops the object as it comes back; one that cannot close keeps it"
            );
        }

        #[tokio::test]
        async fn an_invalid_config_is_refused_with_the_compartment_named() {
            let error = Bulkhead::new(
                "things",
                pool(2),
                PoolConfig::default().max_wait(Duration::from_secs(7200)),
            )
            .unwrap_err();
            assert_eq!(error.compartment(), Some("things"));
            assert_eq!(
                error.to_string(),
                "compartment `things`: `max_wait` must be at most 3600s (got 7200s)"
            );
        }

        #[tokio::test]
        async fn the_pool_reports_its_size_and_idle_connections_as_figures() {
            let things = compartment(2, PoolConfig::default());
            let held = things.get().await.unwrap();
            drop(things.get().await.unwrap());
            let mut figures = Vec::new();
            Compartment::report_figures(&things, &mut |name, value| figures.push((name, value)));
            assert_eq!(
                figures,
                [("bulkhead_pool_size", 2.0), ("bulkhead_pool_idle", 1.0)]
            );
            drop(held);
            figures.clear();
            Compartment::report_figures(&things, &mut |name, value| figures.push((name, value)));
            assert_eq!(
                figures,
                [("bulkhead_pool_size", 2.0), ("bulkhead_pool_idle", 2.0)]
            );
        }

        #[tokio::test]
        async fn reconfigure_changes_the_waiting_rules() {
            let things = compartment(1, PoolConfig::default());
            let _held = things.get().await.unwrap();
            things
                .reconfigure(&PoolConfig::default().max_wait(Duration::ZERO))
                .unwrap();
            assert_eq!(things.config().max_wait, Duration::ZERO);
            assert_eq!(rejection(things.get().await).reason(), RejectReason::Full);
        }

        #[tokio::test]
        async fn owned_checkouts_move_into_tasks_and_serve_as_permits() {
            fn mark_failed<P: Permit>(permit: &mut P) {
                permit.set_outcome(Outcome::Error);
            }
            let things = compartment(1, PoolConfig::default().max_wait(Duration::ZERO));
            let mut owned = things.get_owned().await.unwrap();
            mark_failed(&mut owned);
            assert_eq!(
                rejection(things.try_get_owned().await).reason(),
                RejectReason::Full
            );
            let task = tokio::spawn(async move { owned.id });
            assert_eq!(task.await.unwrap(), 1);
            let stats = things.stats();
            assert_eq!((stats.failed, stats.in_use, stats.rejected.full), (1, 0, 1));
            assert_eq!(things.try_get_owned().await.unwrap().id, 1);
        }
    };
}
