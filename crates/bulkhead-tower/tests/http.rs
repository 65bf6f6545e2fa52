//! Rejections as HTTP responses, through `HttpBulkheadLayer` and an axum router.
#![cfg(feature = "http")]

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::routing::get;
use axum::Router;
use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
use bulkhead_tower::{rejection_response, HttpBulkheadLayer, RejectReason, Rejected};
use http::{Request, Response, StatusCode};
use tokio::sync::Notify;
use tower::{service_fn, Layer, ServiceExt};

fn compartment(name: &str, config: SemaphoreConfig) -> SemaphoreBulkhead {
    SemaphoreBulkhead::new(name, config).expect("valid config")
}

async fn hello(_: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("hello".to_owned()))
}

#[tokio::test]
async fn a_refused_http_request_gets_503_with_retry_after_and_bulkhead_headers() {
    let reports = compartment(
        "reports",
        SemaphoreConfig::new(1).retry_after(Some(Duration::from_millis(2500))),
    );
    let service = HttpBulkheadLayer::new(reports.clone()).layer(service_fn(hello));

    let _held = reports.try_acquire().unwrap();
    let response = service.oneshot(Request::new(String::new())).await.unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let headers = response.headers();
    assert_eq!(headers["retry-after"], "3");
    assert_eq!(headers["x-bulkhead"], "reports");
    assert_eq!(headers["x-bulkhead-reason"], "full");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        response.body(),
        "bulkhead `reports` rejected the call: no free slot\n"
    );
}

#[tokio::test]
async fn an_admitted_http_request_gets_the_inner_response() {
    let reports = compartment("reports", SemaphoreConfig::new(1));
    let service = HttpBulkheadLayer::new(reports.clone()).layer(service_fn(hello));

    let response = service.oneshot(Request::new(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "hello");
    assert!(response.headers().get("x-bulkhead").is_none());
    assert_eq!(reports.stats().completed, 1);
}

#[tokio::test]
async fn a_closed_compartment_answers_503_without_retry_after() {
    let reports = compartment(
        "reports",
        SemaphoreConfig::new(1).retry_after(Some(Duration::from_secs(5))),
    );
    let service = HttpBulkheadLayer::new(reports.clone()).layer(service_fn(hello));

    reports.close();
    let response = service.oneshot(Request::new(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("retry-after").is_none());
    assert_eq!(response.headers()["x-bulkhead-reason"], "closed");
}

#[tokio::test(start_paused = true)]
async fn a_request_that_waited_too_long_answers_503_with_reason_timeout() {
    let reports = compartment(
        "reports",
        SemaphoreConfig::new(1)
            .max_wait(Duration::from_millis(20))
            .retry_after(Some(Duration::from_millis(1))),
    );
    let service = HttpBulkheadLayer::new(reports.clone()).layer(service_fn(hello));

    let _held = reports.try_acquire().unwrap();
    let response = service.oneshot(Request::new(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["x-bulkhead-reason"], "timeout");
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test]
async fn inner_http_errors_pass_through_unchanged() {
    let reports = compartment("reports", SemaphoreConfig::new(1));
    let service =
        HttpBulkheadLayer::new(reports.clone()).layer(service_fn(|_: Request<String>| async {
            Err::<Response<String>, _>(io::Error::other("upstream gone"))
        }));

    let error: io::Error = service
        .oneshot(Request::new(String::new()))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "upstream gone");
    assert_eq!(reports.stats().failed, 1);
}

#[test]
fn compartment_names_that_are_not_header_safe_are_percent_encoded() {
    let rejected = Rejected::new(Arc::from("r\u{e9}ports\n"), RejectReason::QueueFull);
    let response = rejection_response::<String>(&rejected);
    assert_eq!(response.headers()["x-bulkhead"], "r%C3%A9ports%0A");
    assert_eq!(response.headers()["x-bulkhead-reason"], "queue_full");
    assert!(response.headers().get("retry-after").is_none());
}

fn get_request(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

async fn body_text(response: Response<Body>) -> String {
    let bytes = to_bytes(response.into_body(), 64 * 1024).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn an_axum_router_answers_503_while_its_compartment_is_full() {
    let catalog = compartment("catalog", SemaphoreConfig::new(4));
    let reports = compartment(
        "reports",
        SemaphoreConfig::new(1).retry_after(Some(Duration::from_secs(1))),
    );
    let app = Router::new()
        .route(
            "/catalog",
            get(|| async { "catalog" }).layer(HttpBulkheadLayer::new(catalog.clone())),
        )
        .route(
            "/reports",
            get(|| async { "report" }).layer(HttpBulkheadLayer::new(reports.clone())),
        );

    let held = reports.try_acquire().unwrap();
    let refused = app.clone().oneshot(get_request("/reports")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["x-bulkhead"], "reports");
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(body_text(refused).await.contains("`reports`"));

    // The other compartment is not affected.
    let fast = app.clone().oneshot(get_request("/catalog")).await.unwrap();
    assert_eq!(fast.status(), StatusCode::OK);
    assert_eq!(body_text(fast).await, "catalog");

    drop(held);
    let served = app.oneshot(get_request("/reports")).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(body_text(served).await, "report");
    assert_eq!(reports.stats().rejected.full, 1);
    assert_eq!(catalog.stats().completed, 1);
}

#[tokio::test]
async fn an_axum_handler_holds_its_slot_until_it_answers() {
    let reports = compartment("reports", SemaphoreConfig::new(1));
    let release = Arc::new(Notify::new());
    let app = Router::new().route(
        "/reports",
        get({
            let release = release.clone();
            move || async move {
                release.notified().await;
                "report"
            }
        })
        .layer(HttpBulkheadLayer::new(reports.clone())),
    );

    let first = tokio::spawn(app.clone().oneshot(get_request("/reports")));
    while reports.stats().in_use == 0 {
        tokio::task::yield_now().await;
    }
    let second = app.clone().oneshot(get_request("/reports")).await.unwrap();
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);

    release.notify_one();
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(reports.stats().in_use, 0);
}
