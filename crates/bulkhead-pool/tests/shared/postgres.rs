//! The PostgreSQL behaviour every pool adapter shares, written once and run against
//! each adapter's `postgres` module and a real server (`BULKHEAD_TEST_PG_URL`; without
//! it these tests skip, loudly, unless `BULKHEAD_REQUIRE_PG=1`).
//!
//! `postgres_tests!()` expands to the tests. The including file provides, from its
//! adapter: `DatabaseBulkhead`, `PgConnect`, `PgError`, `PgPool`, `PgPoolConfig`,
//! `PostgresConfig`, `RejectReason`, `Rejected` and `SqlState`; the shared `support`
//! module; and `broken_connections_were_closed(status, failures)`, which checks what
//! the pool's status says after each of `failures` broken connections failed a query.

/// The tests, to be expanded once in each adapter's test file.
macro_rules! postgres_tests {
    () => {
        /// Where to connect to reach the server through `addr` (a proxy) as the same user.
        fn via(url: &str, addr: std::net::SocketAddr) -> PgConnect {
            let server = support::server(url);
            PgConnect {
                user: server.user,
                password: server.password,
                dbname: server.dbname,
                ..PgConnect::host(addr.ip().to_string(), addr.port())
            }
        }

        fn rejected(error: &PgError) -> &Rejected {
            error
                .rejected()
                .unwrap_or_else(|| panic!("expected a rejection, got {error:?}"))
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn queries_run_through_the_read_and_the_write_pool() {
            let url = require_pg!("queries_run_through_the_read_and_the_write_pool");
            let mut config = PostgresConfig::new(&url).sizes(2, 2);
            config.read.read_only = true;
            config.read.statement_timeout = Some(Duration::from_secs(3));
            let db = DatabaseBulkhead::new("db", &config).unwrap();
            let table = support::table("queries");

            let mut writer = db.write().await.unwrap();
            writer
                .batch_execute(&format!(
                    "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (n int)"
                ))
                .await
                .unwrap();
            let inserted = writer
                .execute(
                    &format!("INSERT INTO {table} VALUES ($1), ($2), ($3)"),
                    &[&1i32, &2i32, &3i32],
                )
                .await;
            writer.record(&inserted);
            assert_eq!(inserted.unwrap(), 3);
            drop(writer);

            let mut reader = db.read().await.unwrap();
            let row = reader
                .query_one(&format!("SELECT sum(n)::bigint FROM {table}"), &[])
                .await
                .unwrap();
            assert_eq!(row.get::<_, i64>(0), 6);
            let setting = |row: tokio_postgres::Row| row.get::<_, String>(0);
            assert_eq!(
                setting(
                    reader
                        .query_one("SHOW statement_timeout", &[])
                        .await
                        .unwrap()
                ),
                "3s"
            );
            assert_eq!(
                setting(
                    reader
                        .query_one("SHOW default_transaction_read_only", &[])
                        .await
                        .unwrap()
                ),
                "on"
            );
            assert_eq!(
                setting(
                    reader
                        .query_one("SHOW application_name", &[])
                        .await
                        .unwrap()
                ),
                "db.read"
            );
            // The read pool's connections refuse writes.
            let refused = reader
                .execute(&format!("INSERT INTO {table} VALUES (4)"), &[])
                .await;
            reader.record(&refused);
            assert_eq!(
                refused.unwrap_err().code(),
                Some(&SqlState::READ_ONLY_SQL_TRANSACTION)
            );
            drop(reader);

            let writer = db.write().await.unwrap();
            writer
                .batch_execute(&format!("DROP TABLE {table}"))
                .await
                .unwrap();
            drop(writer);

            let (reads, writes) = (db.read_pool().stats(), db.write_pool().stats());
            assert_eq!((reads.admitted, reads.failed, reads.in_use), (1, 1, 0));
            assert_eq!(
                (writes.admitted, writes.completed, writes.in_use),
                (2, 2, 0)
            );
            assert_eq!(
                db.write_pool().status().size,
                1,
                "one connection served both writes"
            );
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_read_pool_exhausted_by_slow_queries_leaves_writes_prompt() {
            let url = require_pg!("a_read_pool_exhausted_by_slow_queries_leaves_writes_prompt");
            let mut config = PostgresConfig::new(&url).sizes(2, 2);
            config.read.max_wait = Duration::from_millis(200);
            let db = DatabaseBulkhead::new("split", &config).unwrap();
            // The same load on one shared pool, for contrast.
            let shared = PgPoolConfig::new(&url)
                .max_size(2)
                .max_wait(Duration::from_millis(200));
            let shared = PgPool::postgres("shared", &shared, None).unwrap();
            let table = support::table("isolation");
            db.write()
                .await
                .unwrap()
                .batch_execute(&format!(
                    "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (n int)"
                ))
                .await
                .unwrap();

            // Slow reports take every read connection, and every connection of the shared pool.
            let slow = Duration::from_secs(2);
            let mut reports = Vec::new();
            for _ in 0..2 {
                let db = db.clone();
                reports.push(tokio::spawn(async move {
                    let reader = db.read().await.unwrap();
                    reader.simple_query("SELECT pg_sleep(2)").await.map(|_| ())
                }));
                let shared = shared.clone();
                reports.push(tokio::spawn(async move {
                    let conn = shared.get().await.unwrap();
                    conn.simple_query("SELECT pg_sleep(2)").await.map(|_| ())
                }));
            }
            let started = Instant::now();
            assert!(
                support::eventually(Duration::from_secs(5), || {
                    db.read_pool().stats().in_use == 2 && shared.stats().in_use == 2
                })
                .await,
                "the slow queries took their connections"
            );

            // Further reads are refused once their wait runs out...
            let error = db.read().await.unwrap_err();
            assert!(matches!(
                rejected(&error).reason(),
                RejectReason::Timeout { .. }
            ));
            assert_eq!(rejected(&error).compartment(), "split.read");

            // ...while writes keep completing promptly.
            for n in 0..10 {
                let start = Instant::now();
                let writer = db.write().await.unwrap();
                writer
                    .execute(&format!("INSERT INTO {table} VALUES ($1)"), &[&n])
                    .await
                    .unwrap();
                drop(writer);
                let took = start.elapsed();
                assert!(took < Duration::from_millis(500), "write {n} took {took:?}");
            }
            assert!(
                started.elapsed() < slow,
                "the writes finished while the reports still ran"
            );
            assert_eq!(db.read_pool().stats().in_use, 2);

            // Without the split, a write waits behind the reports and gives up.
            let write_on_shared = shared.get().await.unwrap_err();
            assert!(matches!(
                rejected(&write_on_shared).reason(),
                RejectReason::Timeout { .. }
            ));

            for report in reports {
                report.await.unwrap().unwrap();
            }
            let writer = db.write().await.unwrap();
            let row = writer
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .unwrap();
            assert_eq!(row.get::<_, i64>(0), 10);
            writer
                .batch_execute(&format!("DROP TABLE {table}"))
                .await
                .unwrap();
            drop(writer);
            assert_eq!(db.read_pool().stats().rejected.timeout, 1);
            assert_eq!(db.write_pool().stats().rejected.total(), 0);
            assert!(db.read().await.is_ok(), "reads work again");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_checkout_that_waits_too_long_times_out_naming_the_compartment_within_its_bound()
        {
            let url =
                require_pg!("a_checkout_that_waits_too_long_times_out_naming_the_compartment");
            let max_wait = Duration::from_millis(300);
            let config = PgPoolConfig::new(&url).max_size(1).max_wait(max_wait);
            let orders = PgPool::postgres("orders", &config, None).unwrap();
            let held = orders.get().await.unwrap();

            let start = Instant::now();
            let error = orders.get().await.unwrap_err();
            let took = start.elapsed();
            let RejectReason::Timeout { waited } = rejected(&error).reason() else {
                panic!("expected a timeout, got {error:?}");
            };
            assert!(waited >= max_wait, "waited {waited:?}");
            assert!(
                took >= max_wait && took < max_wait + Duration::from_millis(500),
                "gave up after {took:?}"
            );
            assert_eq!(rejected(&error).compartment(), "orders");
            assert!(error
                .to_string()
                .starts_with("bulkhead `orders` rejected the call: timed out"));
            drop(held);
            assert!(orders.get().await.is_ok());
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn connections_cut_mid_test_are_replaced_and_no_slot_leaks() {
            let url = require_pg!("connections_cut_mid_test_are_replaced_and_no_slot_leaks");
            let proxy = support::Proxy::start(support::server(&url).addr).await;
            let config = PgPoolConfig {
                connection: via(&url, proxy.addr),
                max_size: 3,
                max_wait: Duration::from_secs(5),
                ..PgPoolConfig::default()
            };
            let db = PgPool::postgres("cut", &config, None).unwrap();
            let pid = |row: tokio_postgres::Row| row.get::<_, i32>(0);

            // Three connections open, one of them busy with a long query.
            let mut before = Vec::new();
            let conns = [
                db.get_owned().await.unwrap(),
                db.get_owned().await.unwrap(),
                db.get_owned().await.unwrap(),
            ];
            for conn in &conns {
                before.push(pid(conn
                    .query_one("SELECT pg_backend_pid()", &[])
                    .await
                    .unwrap()));
            }
            let [busy, a, b] = conns;
            drop((a, b));
            let running = tokio::spawn(async move {
                let mut busy = busy;
                let result = busy.simple_query("SELECT pg_sleep(10)").await;
                busy.record(&result);
                result
            });
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(proxy.open(), 3);

            // The network fails under all of them.
            let cut = Instant::now();
            proxy.cut_all();
            let error = running.await.unwrap().unwrap_err();
            assert!(error.is_closed(), "the running query saw the cut: {error}");
            assert!(cut.elapsed() < Duration::from_secs(2));

            // Every checkout still gets a connection; a broken one fails at most its next query,
            // then is dropped; after that every query works, on new connections.
            let mut failures = 0;
            let mut after = Vec::new();
            for _ in 0..12 {
                let mut conn = db.get().await.expect("checkouts keep working");
                let result = conn.query_one("SELECT pg_backend_pid()", &[]).await;
                conn.record(&result);
                match result {
                    Ok(row) => after.push(pid(row)),
                    Err(e) => {
                        assert!(e.is_closed(), "{e}");
                        failures += 1;
                    }
                }
            }
            assert!(failures <= 3, "{failures} queries failed");
            assert!(after.len() >= 9);
            assert!(
                after.iter().all(|pid| !before.contains(pid)),
                "only new connections are used: {before:?} then {after:?}"
            );

            let stats = db.stats();
            assert_eq!(stats.in_use, 0, "no slot leaked: {stats:?}");
            assert_eq!(stats.admitted, stats.finished());
            assert_eq!(stats.failed, 1 + failures as u64);
            let status = db.status();
            assert!(status.size <= 3, "{status:?}");
            broken_connections_were_closed(&status, failures);
            // All three slots can be taken at once again.
            let again = [
                db.try_get().await.unwrap(),
                db.try_get().await.unwrap(),
                db.try_get().await.unwrap(),
            ];
            for conn in &again {
                conn.simple_query("SELECT 1").await.unwrap();
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_checkout_cancelled_while_waiting_frees_its_place() {
            let url = require_pg!("a_checkout_cancelled_while_waiting_frees_its_place");
            let config = PgPoolConfig {
                max_size: 1,
                max_wait: Duration::from_secs(10),
                max_waiting: 1,
                ..PgPoolConfig::new(&url)
            };
            let db = PgPool::postgres("cancel", &config, None).unwrap();
            let held = db.get().await.unwrap();

            let gave_up = tokio::time::timeout(Duration::from_millis(200), db.get()).await;
            assert!(gave_up.is_err(), "the checkout was waiting");
            let stats = db.stats();
            assert_eq!((stats.waiting, stats.abandoned), (0, 1));

            // The place in the (one-place) queue is free: the next checkout waits there and
            // gets the connection as soon as it comes back.
            let next = tokio::spawn({
                let db = db.clone();
                async move {
                    let conn = db.get().await.unwrap();
                    conn.simple_query("SELECT 1").await.map(|_| ())
                }
            });
            assert!(support::eventually(Duration::from_secs(2), || db.stats().waiting == 1).await);
            let start = Instant::now();
            drop(held);
            next.await.unwrap().unwrap();
            assert!(start.elapsed() < Duration::from_secs(1));
            let stats = db.stats();
            assert_eq!((stats.in_use, stats.waiting, stats.admitted), (0, 0, 2));
            assert_eq!(db.status().size, 1);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn the_statement_timeout_cancels_long_queries_and_the_connection_stays_usable() {
            let url = require_pg!("the_statement_timeout_cancels_long_queries");
            let config = PgPoolConfig::new(&url)
                .max_size(1)
                .statement_timeout(Some(Duration::from_millis(300)));
            let db = PgPool::postgres("reports", &config, None).unwrap();

            let mut conn = db.get().await.unwrap();
            let start = Instant::now();
            let result = conn.simple_query("SELECT pg_sleep(5)").await;
            conn.record(&result);
            assert!(start.elapsed() < Duration::from_secs(2));
            assert_eq!(result.unwrap_err().code(), Some(&SqlState::QUERY_CANCELED));
            assert!(conn.simple_query("SELECT 1").await.is_ok());
            drop(conn);
            assert_eq!(db.stats().failed, 1);
            assert_eq!(db.status().size, 1, "the connection went back to the pool");
        }
    };
}
