//! What the service tests share: an app built from the shipped configuration files
//! with overrides, and requests sent through the router.

#![allow(dead_code)] // each test binary uses its own share

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use bulkhead::metrics::HealthConfig;
use bulkhead::registry::{Environment, Sources};
use bulkhead_example_microservice::{app, App, Mode, Options};
use serde_json::Value;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The app of `mode` from its shipped file, with `overrides` as the only `BULKHEAD_*`
/// variables, a health interval of one second, and its router.
pub async fn start(mode: Mode, overrides: &[(&str, &str)]) -> (App, Router) {
    start_with(Options::new(mode), overrides).await
}

/// Like [`start`], from `options`.
pub async fn start_with(options: Options, overrides: &[(&str, &str)]) -> (App, Router) {
    let mode = options.mode;
    let sources = Sources::new()
        .file(mode.config_file())
        .environment(Environment::from_vars(overrides.iter().copied()));
    let options = options.sources(sources).health(
        HealthConfig::default()
            .interval(Duration::from_secs(1))
            .samples_per_interval(1),
    );
    let service = App::build(options).await.expect("the app starts");
    let router = app(&service);
    (service, router)
}

/// An answer, with how long it took on the tokio clock.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub took: Duration,
}

impl Reply {
    /// The body as JSON; panics (showing the reply) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through `router`.
pub async fn send(router: &Router, method: Method, path: &str, body: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    let start = Instant::now();
    let response = router.clone().oneshot(request).await.unwrap();
    let took = start.elapsed();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
        took,
    }
}

/// `GET path`.
pub async fn get(router: &Router, path: &str) -> Reply {
    send(router, Method::GET, path, None).await
}

/// Yields until `done` holds; panics after a million yields.
pub async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..1_000_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the condition never held");
}
