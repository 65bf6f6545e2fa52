//! Connection-pool compartments against the bare pools they wrap.
//!
//! - `pool-checkout`: check an object out and give it back, with an in-memory manager
//!   (no I/O), so only the pool and the compartment are measured: ours over deadpool vs
//!   deadpool's `get`, ours over bb8 vs bb8's `get`. Same pool settings on both sides.
//! - `pool-postgres`: `SELECT 1` through a checkout against a real server, ours vs bare
//!   deadpool-postgres and bb8-postgres with the same pool settings. Runs only when
//!   `BULKHEAD_TEST_PG_URL` is set (`cargo xtask bench` starts a throwaway cluster when
//!   the PostgreSQL binaries are installed).
//!
//! Every bench drives one `block_on` per sample around a plain loop on a current-thread
//! runtime, and the two sides of a comparison alternate in blocks. Measured one after
//! the other, bare bb8 took anywhere from 199 to 210 ns in three back-to-back runs while
//! ours held at 238 ns, which moved the ratio between 1.13x and 1.20x; alternating, both
//! see the same machine.
//!
//! The PostgreSQL benches measure the CPU time of that thread (the client, its pool and
//! tokio-postgres' connection task), not wall time: on shared CPUs a loopback round trip
//! swings between about 12 us and 90 us for seconds at a time with the machine's load,
//! which would decide any comparison of two benches run one after the other, while what a
//! pool adds to a query is work on the client's CPU. There the alternation also keeps
//! both sides' connections equally warm, and the client runs on the CPU the cluster
//! `cargo xtask bench` starts is pinned to (see `pin_to_server_cpu`).

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bulkhead_bb8::postgres::PgPool as Bb8PgPool;
use bulkhead_bb8::Bb8Bulkhead;
use bulkhead_benches::{current_thread_runtime, paired_benches, quick, timing};
use bulkhead_deadpool::postgres::{PgPool as DeadpoolPgPool, PgPoolConfig};
use bulkhead_deadpool::{DeadpoolBulkhead, PoolConfig};
use cpu_time::ThreadTime;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use deadpool::managed::{self, Metrics, RecycleResult};
use tokio_postgres::NoTls;

/// Objects in every pool.
const POOL_SIZE: usize = 8;
/// The server of the PostgreSQL group.
const PG_URL_ENV: &str = "BULKHEAD_TEST_PG_URL";
/// The CPU that server runs on, when `cargo xtask bench` started it.
const PG_CPU_ENV: &str = "BULKHEAD_BENCH_PG_CPU";

/// Checkouts per block of the in-memory comparisons: both sides alternate every 256
/// checkouts (about 50 us), so a drift in the machine's load weighs on both alike.
const CHECKOUT_BLOCK: u64 = 256;

/// Round trips per block: reading the thread's CPU clock is a system call, so it is
/// read once per block.
const QUERY_BLOCK: u64 = 8;

/// Hands out numbers; recycling and checking cost nothing.
struct Numbers;

impl managed::Manager for Numbers {
    type Type = u64;
    type Error = Infallible;

    async fn create(&self) -> Result<u64, Infallible> {
        Ok(42)
    }

    async fn recycle(&self, _: &mut u64, _: &Metrics) -> RecycleResult<Infallible> {
        Ok(())
    }
}

impl bb8::ManageConnection for Numbers {
    type Connection = u64;
    type Error = Infallible;

    async fn connect(&self) -> Result<u64, Infallible> {
        Ok(42)
    }

    async fn is_valid(&self, _: &mut u64) -> Result<(), Infallible> {
        Ok(())
    }

    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    let (warm_up, measurement) = timing();
    group.warm_up_time(warm_up).measurement_time(measurement);
    group.sample_size(if quick() { 10 } else { 50 });
}

fn checkout(c: &mut Criterion) {
    let rt = current_thread_runtime();
    let mut group = c.benchmark_group("pool-checkout");
    configure(&mut group);

    let deadpool = || {
        managed::Pool::<Numbers>::builder(Numbers)
            .max_size(POOL_SIZE)
            .build()
            .expect("pool")
    };
    let bare = deadpool();
    let ours =
        DeadpoolBulkhead::new("bench", deadpool(), PoolConfig::default()).expect("valid config");
    paired_benches!(
        group,
        rt,
        Instant,
        CHECKOUT_BLOCK,
        "pool-checkout.deadpool",
        peer "deadpool get+drop" => { drop(black_box(bare.get().await.expect("object"))) },
        ours "ours deadpool get+drop" => { drop(black_box(ours.get().await.expect("object"))) },
    );

    // bb8 starts its reaper on the runtime it is built in.
    let bb8 = || {
        rt.block_on(async {
            bb8::Pool::builder()
                .max_size(POOL_SIZE as u32)
                .build(Numbers)
                .await
                .expect("pool")
        })
    };
    let bare = bb8();
    let ours = Bb8Bulkhead::new("bench", bb8(), PoolConfig::default()).expect("valid config");
    paired_benches!(
        group,
        rt,
        Instant,
        CHECKOUT_BLOCK,
        "pool-checkout.bb8",
        peer "bb8 get+drop" => { drop(black_box(bare.get().await.expect("connection"))) },
        ours "ours bb8 get+drop" => { drop(black_box(ours.get().await.expect("connection"))) },
    );
    group.finish();
}

fn postgres(c: &mut Criterion) {
    let Some(url) = std::env::var(PG_URL_ENV).ok().filter(|u| !u.is_empty()) else {
        eprintln!(
            "pool-postgres: skipped, {PG_URL_ENV} is not set (`cargo xtask bench` starts a \
             throwaway cluster when the PostgreSQL binaries are installed)"
        );
        return;
    };
    pin_to_server_cpu();
    // tokio-postgres needs the runtime's I/O driver.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("current-thread runtime");
    let mut group = c.benchmark_group("pool-postgres");
    configure(&mut group);

    // The same settings on every side: `POOL_SIZE` connections, fast recycling (no
    // check query), a 5 s timeout on opening a connection.
    let timeout = Duration::from_secs(5);
    let config = PgPoolConfig::new(&url)
        .max_size(POOL_SIZE)
        .connect_timeout(timeout);
    let pg_config: tokio_postgres::Config = url.parse().expect("a valid PostgreSQL URL");

    let bare = deadpool_postgres::Pool::builder(deadpool_postgres::Manager::from_config(
        pg_config.clone(),
        NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    ))
    .max_size(POOL_SIZE)
    .runtime(deadpool::Runtime::Tokio1)
    .create_timeout(Some(timeout))
    .recycle_timeout(Some(timeout))
    .build()
    .expect("pool");
    let ours = DeadpoolPgPool::postgres("bench", &config, None).expect("valid config");
    paired_benches!(
        group,
        rt,
        ThreadTime,
        QUERY_BLOCK,
        "pool-postgres.deadpool",
        peer "deadpool-postgres SELECT 1" => {
            select_1(&bare.get().await.expect("connection")).await
        },
        ours "ours deadpool SELECT 1" => {
            select_1(&ours.get().await.expect("connection")).await
        },
    );

    let (bare, ours) = rt.block_on(async {
        let bare = bb8::Pool::builder()
            .max_size(POOL_SIZE as u32)
            .connection_timeout(timeout)
            .test_on_check_out(false)
            .build_unchecked(bb8_postgres::PostgresConnectionManager::new(
                pg_config, NoTls,
            ));
        let config = bulkhead_bb8::postgres::PgPoolConfig::new(&url)
            .max_size(POOL_SIZE)
            .connect_timeout(timeout);
        (bare, Bb8PgPool::postgres("bench", &config, None))
    });
    let ours = ours.expect("valid config");
    paired_benches!(
        group,
        rt,
        ThreadTime,
        QUERY_BLOCK,
        "pool-postgres.bb8",
        peer "bb8-postgres SELECT 1" => { select_1(&bare.get().await.expect("connection")).await },
        ours "ours bb8 SELECT 1" => { select_1(&ours.get().await.expect("connection")).await },
    );
    group.finish();
}

/// Moves this thread (the client: runtime, pools and connection tasks) to the CPU the
/// throwaway cluster runs on, `BULKHEAD_BENCH_PG_CPU` (set by `cargo xtask bench`). The
/// client's CPU time per query depends on where the server's processes run: on the
/// development machine about 10 us beside them and 25 us on the other CPU, a placement
/// the scheduler changes for seconds at a time and not alike for two pools.
fn pin_to_server_cpu() {
    let Some(cpu) = std::env::var(PG_CPU_ENV).ok() else {
        eprintln!(
            "pool-postgres: {PG_CPU_ENV} is not set, the client is not pinned: figures may \
             switch between two levels with the scheduler's placement"
        );
        return;
    };
    let id = cpu
        .parse()
        .unwrap_or_else(|_| panic!("{PG_CPU_ENV}={cpu:?} is not a CPU number"));
    assert!(
        core_affinity::set_for_current(core_affinity::CoreId { id }),
        "cannot pin the client to CPU {id} ({PG_CPU_ENV})"
    );
}

/// One round trip.
async fn select_1(client: &tokio_postgres::Client) {
    black_box(client.simple_query("SELECT 1").await.expect("query"));
}

criterion_group!(benches, checkout, postgres);
criterion_main!(benches);
