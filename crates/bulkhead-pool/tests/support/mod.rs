//! What the PostgreSQL tests share: the server's address from the environment, a
//! loopback proxy that can cut connections, and servers that refuse or never answer.

#![allow(dead_code)] // each test binary uses its own share

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The URL of the server under test.
pub const URL_ENV: &str = "BULKHEAD_TEST_PG_URL";
/// When `1`, a missing server fails the tests instead of skipping them.
pub const REQUIRE_ENV: &str = "BULKHEAD_REQUIRE_PG";

/// The server's URL, or `None` after saying loudly that the test is skipped.
///
/// Panics when `BULKHEAD_REQUIRE_PG=1` and no URL is set, so CI cannot pass without a
/// server.
pub fn pg_url(test: &str) -> Option<String> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let require = std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1");
            assert!(
                !require,
                "{REQUIRE_ENV}=1 but {URL_ENV} is not set: run `cargo xtask ci`, which starts \
                 a throwaway PostgreSQL, or point {URL_ENV} at a server"
            );
            // Straight to stderr, past the test harness's capture: a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test}: no PostgreSQL. Set {URL_ENV}=postgres://... or run \
                 `cargo xtask ci` (it starts a throwaway cluster). ***\n"
            );
            None
        }
    }
}

/// Skips the test (loudly) unless a server is configured; yields its URL.
#[macro_export]
macro_rules! require_pg {
    ($test:expr) => {
        match support::pg_url($test) {
            Some(url) => url,
            None => return,
        }
    };
}

/// The server's address, user, password and database, from its URL.
pub struct Server {
    pub addr: SocketAddr,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dbname: Option<String>,
}

pub fn server(url: &str) -> Server {
    let config: tokio_postgres::Config = url.parse().expect("a valid PostgreSQL URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        other => panic!("the tests need a TCP server, got {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = if host == "localhost" {
        "127.0.0.1".to_owned()
    } else {
        host
    };
    Server {
        addr: format!("{host}:{port}").parse().expect("an IP address"),
        user: config.get_user().map(str::to_owned),
        password: config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        dbname: config.get_dbname().map(str::to_owned),
    }
}

/// A table name no other test (or concurrent run) uses.
pub fn table(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "bulkhead_{}_{}_{}_{}",
        env!("CARGO_CRATE_NAME"),
        name,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A loopback TCP proxy in front of the server whose connections can be cut at once,
/// as a server restart or a network failure would.
pub struct Proxy {
    pub addr: SocketAddr,
    cut: watch::Sender<u64>,
    open: Arc<AtomicUsize>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = watch::channel(0u64);
        let open = Arc::new(AtomicUsize::new(0));
        let (cuts, counter) = (cut.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut cut = cuts.subscribe();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                    counter.fetch_sub(1, Ordering::SeqCst);
                    // Both sockets are dropped here: each side sees its peer go away.
                });
            }
        });
        Proxy { addr, cut, open }
    }

    /// Cuts every connection open now; new ones go through as before.
    pub fn cut_all(&self) {
        self.cut.send_modify(|generation| *generation += 1);
    }

    /// Connections through the proxy right now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// An error and its sources, joined with ": ", as an error reporter prints them.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A server that accepts connections and never says a word.
pub async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// Waits until `done` holds, checking every 10 ms, for at most `limit`.
pub async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}
