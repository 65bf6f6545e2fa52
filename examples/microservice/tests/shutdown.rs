//! Graceful shutdown on a real socket: requests in flight finish, new connections are
//! refused.

mod support;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bulkhead_example_microservice::{serve, Mode, Options, Service};
use support::start_with;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// One `GET` on its own connection: the status code and the body.
async fn raw_get(addr: SocketAddr, path: &str) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await?;
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an HTTP answer: {raw:?}"),
        )
    };
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, body.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_completes_when_shutdown_is_triggered() {
    let options =
        Options::new(Mode::Bulkhead).latency(Service::Payment, Duration::from_millis(400));
    let (service, router) = start_with(options, &[]).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router, async {
        let _ = stopped.await;
    }));

    let in_flight = tokio::spawn(raw_get(addr, "/api/payments/42"));
    let payments = service.compartment(Service::Payment).clone();
    tokio::time::timeout(Duration::from_secs(10), async {
        while payments.stats().in_use == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the payment call reaches its compartment");

    stop.send(()).unwrap();
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the request in flight is answered")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"approved""#), "{body}");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops once the request is answered")
        .unwrap()
        .unwrap();

    let stats = payments.stats();
    assert_eq!((stats.completed, stats.cancelled), (1, 0));
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed after shutdown"
    );
}
