//! Rejections as gRPC answers, through `GrpcBulkheadLayer` and `tonic_status`.
#![cfg(feature = "grpc")]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
use bulkhead_tower::{grpc_rejection_response, GrpcBulkheadLayer, RejectReason, Rejected};
use http::{Request, Response, StatusCode};
use tower::{service_fn, Layer, ServiceExt};

async fn unary(_: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("payload".to_owned()))
}

#[tokio::test]
async fn a_refused_grpc_call_gets_status_resource_exhausted_with_a_pushback_hint() {
    let payments = SemaphoreBulkhead::new(
        "payments",
        SemaphoreConfig::new(1).retry_after(Some(Duration::from_millis(1500))),
    )
    .unwrap();
    let service = GrpcBulkheadLayer::new(payments.clone()).layer(service_fn(unary));

    let _held = payments.try_acquire().unwrap();
    let response = service.oneshot(Request::new(String::new())).await.unwrap();

    assert_eq!(
        response.status(),
        StatusCode::OK,
        "gRPC errors travel in trailers"
    );
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(headers["grpc-status"], "8");
    assert_eq!(
        headers["grpc-message"],
        "bulkhead `payments` rejected the call: no free slot"
    );
    assert_eq!(headers["grpc-retry-pushback-ms"], "1500");
    assert_eq!(headers["x-bulkhead"], "payments");
    assert_eq!(headers["x-bulkhead-reason"], "full");
    assert!(response.body().is_empty());
}

#[tokio::test]
async fn an_admitted_grpc_call_gets_the_inner_response() {
    let payments = SemaphoreBulkhead::new("payments", SemaphoreConfig::new(1)).unwrap();
    let service = GrpcBulkheadLayer::new(payments.clone()).layer(service_fn(unary));

    let response = service.oneshot(Request::new(String::new())).await.unwrap();
    assert_eq!(response.body(), "payload");
    assert!(response.headers().get("grpc-status").is_none());
}

#[test]
fn grpc_messages_are_percent_encoded_as_the_grpc_spec_says() {
    let rejected = Rejected::new(Arc::from("zahlungen-\u{fc} 100%"), RejectReason::Closed)
        .with_retry_after(Some(Duration::from_secs(1)));
    let response = grpc_rejection_response::<()>(&rejected);
    assert_eq!(
        response.headers()["grpc-message"],
        "bulkhead `zahlungen-%C3%BC 100%25` rejected the call: compartment is closed"
    );
    assert!(
        response.headers().get("grpc-retry-pushback-ms").is_none(),
        "a closed compartment does not reopen"
    );
}

#[cfg(feature = "tonic")]
mod tonic_status {
    use super::*;
    use bulkhead_tower::tonic_status;

    #[test]
    fn a_rejection_becomes_a_tonic_status_resource_exhausted() {
        let rejected = Rejected::new(Arc::from("payments"), RejectReason::QueueFull)
            .with_retry_after(Some(Duration::from_millis(20)));
        let status = tonic_status(&rejected);
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(status.message(), rejected.to_string());
        let metadata = status.metadata();
        assert_eq!(metadata.get("grpc-retry-pushback-ms").unwrap(), "20");
        assert_eq!(metadata.get("x-bulkhead").unwrap(), "payments");
        assert_eq!(metadata.get("x-bulkhead-reason").unwrap(), "queue_full");
    }

    #[test]
    fn tonic_reads_the_grpc_rejection_response_back_as_the_same_status() {
        let rejected = Rejected::new(Arc::from("r\u{e9}ports 50%"), RejectReason::Full);
        let response = grpc_rejection_response::<()>(&rejected);
        let status = tonic::Status::from_header_map(response.headers()).expect("a status");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(status.message(), rejected.to_string());
    }
}
