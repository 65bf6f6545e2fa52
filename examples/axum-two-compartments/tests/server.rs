//! The demo app served on a real socket, driven by real HTTP/1.1 requests.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bulkhead::SemaphoreConfig;
use bulkhead_example_axum::{app, serve, Compartments};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// How long the requests that fill `reports` take; the checks in between take
/// milliseconds.
const SLOW_MS: u64 = 3000;

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// One `GET` on its own connection, read to the end.
fn get_blocking(addr: SocketAddr, path: &str) -> io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;

    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {raw:?}"));
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect::<HashMap<_, _>>();
    if headers
        .get("transfer-encoding")
        .is_some_and(|te| te == "chunked")
    {
        return Err(bad("chunked bodies are not expected from this app"));
    }
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || get_blocking(addr, &path))
        .await
        .expect("client thread")
        .unwrap_or_else(|e| panic!("GET failed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturated_reports_answer_503_while_the_catalog_keeps_answering_200() {
    let compartments = Compartments::with_configs(
        SemaphoreConfig::new(16),
        SemaphoreConfig::new(4).retry_after(Some(Duration::from_secs(1))),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app(&compartments), async {
        let _ = stopped.await;
    }));

    // Fill every slot of `reports` with slow requests.
    let slow_path = format!("/slow?ms={SLOW_MS}");
    let slow: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn({
                let path = slow_path.clone();
                async move { get(addr, &path).await }
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(10), async {
        while compartments.reports.stats().in_use < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("four slow requests take every slot of reports");

    // More report requests, all at once: refused without reaching the handler.
    let refused: Vec<_> = (0..8)
        .map(|_| tokio::spawn(async move { get(addr, "/slow?ms=1").await }))
        .collect();
    for reply in refused {
        let reply = reply.await.unwrap();
        assert_eq!(reply.status, 503, "{reply:?}");
        assert_eq!(reply.header("x-bulkhead"), Some("reports"));
        assert_eq!(reply.header("x-bulkhead-reason"), Some("full"));
        assert_eq!(reply.header("retry-after"), Some("1"));
        assert!(reply.body.contains("`reports`"), "{reply:?}");
    }

    // The catalog has its own slots: it keeps answering, concurrently too.
    let fast: Vec<_> = (0..8)
        .map(|_| tokio::spawn(async move { get(addr, "/fast").await }))
        .collect();
    for reply in fast {
        let reply = reply.await.unwrap();
        assert_eq!(reply.status, 200, "{reply:?}");
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["compartment"], "catalog");
    }

    // The stats route shows both compartments as they are now.
    let reply = get(addr, "/bulkheads").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let stats: Value = serde_json::from_str(&reply.body).unwrap();
    let by_name = |name: &str| {
        stats
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {stats}"))
            .clone()
    };
    let reports = by_name("reports");
    assert_eq!(reports["kind"], "semaphore");
    assert_eq!(reports["in_use"], 4);
    assert_eq!(reports["available"], 0);
    assert_eq!(reports["rejected"]["full"], 8);
    let catalog = by_name("catalog");
    assert_eq!(catalog["completed"], 8);
    assert_eq!(catalog["rejected"]["total"], 0);

    // Graceful shutdown: the server stops once the slow reports in flight are done,
    // and they are answered, not cut off.
    stop.send(()).unwrap();
    for reply in slow {
        let reply = reply.await.unwrap();
        assert_eq!(reply.status, 200, "{reply:?}");
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["took_ms"], SLOW_MS);
    }
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops after shutdown")
        .unwrap()
        .unwrap();
    let stats = compartments.reports.stats();
    assert_eq!(
        (stats.in_use, stats.completed, stats.rejected.full),
        (0, 4, 8)
    );
    assert!(
        TcpStream::connect(addr).is_err(),
        "the listener is closed after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_delay_is_a_client_error_and_not_a_compartment_failure() {
    let compartments = Compartments::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app(&compartments), async {
        let _ = stopped.await;
    }));

    let reply = get(addr, "/slow?ms=soon").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    let reply = get(addr, "/slow?ms=0").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // Both requests were admitted: the handler (and its query parsing) runs in a slot.
    let stats = compartments.reports.stats();
    assert_eq!((stats.admitted, stats.completed, stats.in_use), (2, 2, 0));

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
