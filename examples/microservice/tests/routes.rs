//! The service's routes through its router, on tokio's paused clock: latencies are
//! exact and nothing sleeps for real.

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use bulkhead_example_microservice::{Mode, Service};
use serde_json::{json, Value};
use support::{get, send, start, until};

const HANG: &str = r#"{"service":"payment","latency_ms":30000,"error_rate":0.0}"#;

#[tokio::test(start_paused = true)]
async fn each_api_route_answers_from_its_own_compartment_after_its_downstream() {
    let (service, router) = start(Mode::Bulkhead, &[]).await;
    for (path, name, compartment, ms) in [
        ("/api/users/7", "user", "user-api", 50),
        ("/api/orders/7", "order", "order-api", 80),
        ("/api/payments/7", "payment", "payment-api", 120),
    ] {
        let reply = get(&router, path).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert_eq!(reply.took, Duration::from_millis(ms), "{path}");
        let body = reply.json();
        assert_eq!(body["id"], 7);
        assert_eq!(body["service"], name);
        assert_eq!(body["compartment"], compartment);
        assert_eq!(body["downstream_ms"], ms);
    }
    assert_eq!(get(&router, "/api/users/7").await.json()["name"], "user-7");
    assert_eq!(
        get(&router, "/api/orders/7").await.json()["database"],
        Value::Null
    );
    let placed = send(&router, Method::POST, "/api/orders/8", None).await;
    assert_eq!(placed.status, StatusCode::OK, "{placed:?}");
    assert_eq!(placed.json()["compartment"], "order-api");
    assert_eq!(
        get(&router, "/api/payments/7").await.json()["status"],
        "approved"
    );

    for (service_kind, admitted) in [
        (Service::User, 2),
        (Service::Order, 3),
        (Service::Payment, 2),
    ] {
        let stats = service.compartment(service_kind).stats();
        assert_eq!(
            (stats.admitted, stats.completed),
            (admitted, admitted),
            "{service_kind}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_malformed_id_is_refused_before_any_compartment() {
    let (service, router) = start(Mode::Bulkhead, &[]).await;
    let reply = get(&router, "/api/users/seven").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert_eq!(
        get(&router, "/api/nothing/1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(service.compartment(Service::User).stats().attempts(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_payment_provider_fails_payments_fast_and_leaves_users_and_orders_alone() {
    let (service, router) = start(
        Mode::Bulkhead,
        &[("BULKHEAD_COMPARTMENTS__PAYMENT_API__MAX_CONCURRENT", "2")],
    )
    .await;
    let set = send(&router, Method::POST, "/admin/faults", Some(HANG)).await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(
        set.json(),
        json!({"faults": [{"service": "payment", "latency_ms": 30000, "error_rate": 0.0}]})
    );

    // Two payments hang in the provider and take both payment slots.
    let hanging: Vec<_> = (0..2)
        .map(|i| {
            let router = router.clone();
            tokio::spawn(async move { get(&router, &format!("/api/payments/{i}")).await })
        })
        .collect();
    let payments = service.compartment(Service::Payment).clone();
    until(|| payments.stats().in_use == 2).await;

    // The next payment waits its 200 ms for a slot, then is refused with Retry-After.
    let refused = get(&router, "/api/payments/3").await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{refused:?}"
    );
    assert_eq!(refused.took, Duration::from_millis(200));
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.header("x-bulkhead"), Some("payment-api"));
    assert_eq!(refused.header("x-bulkhead-reason"), Some("timeout"));
    assert!(refused.text.contains("`payment-api`"), "{refused:?}");

    // Users and orders answer in their usual time, from their own slots.
    let user = get(&router, "/api/users/1").await;
    assert_eq!(
        (user.status, user.took),
        (StatusCode::OK, Duration::from_millis(50))
    );
    let order = get(&router, "/api/orders/1").await;
    assert_eq!(
        (order.status, order.took),
        (StatusCode::OK, Duration::from_millis(80))
    );

    // Clearing the faults brings payments back to normal for new calls.
    let cleared = send(&router, Method::DELETE, "/admin/faults", None).await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(cleared.json(), json!({"faults": [], "cleared": 1}));
    for call in hanging {
        call.abort();
    }
    until(|| payments.stats().in_use == 0).await;
    let paid = get(&router, "/api/payments/4").await;
    assert_eq!(
        (paid.status, paid.took),
        (StatusCode::OK, Duration::from_millis(120))
    );
    let stats = payments.stats();
    assert_eq!(stats.rejected.timeout, 1);
    assert_eq!(
        stats.cancelled, 2,
        "the hanging calls were dropped with their requests"
    );
}

#[tokio::test(start_paused = true)]
async fn without_isolation_a_hanging_payment_provider_starves_users_too() {
    let (service, router) = start(
        Mode::Shared,
        &[("BULKHEAD_COMPARTMENTS__SHARED__MAX_CONCURRENT", "3")],
    )
    .await;
    assert_eq!(
        send(&router, Method::POST, "/admin/faults", Some(HANG))
            .await
            .status,
        StatusCode::OK
    );
    let hanging: Vec<_> = (0..3)
        .map(|i| {
            let router = router.clone();
            tokio::spawn(async move { get(&router, &format!("/api/payments/{i}")).await })
        })
        .collect();
    let shared = service.compartment(Service::User).clone();
    until(|| shared.stats().in_use == 3).await;

    let user = get(&router, "/api/users/1").await;
    assert_eq!(user.status, StatusCode::SERVICE_UNAVAILABLE, "{user:?}");
    assert_eq!(user.header("x-bulkhead"), Some("shared"));
    assert_eq!(user.took, Duration::from_millis(200));
    for call in hanging {
        call.abort();
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_downstream_answers_502_and_counts_as_a_failed_call() {
    let (service, router) = start(Mode::Bulkhead, &[]).await;
    let body = r#"{"service":"order","error_rate":1.0}"#;
    assert_eq!(
        send(&router, Method::POST, "/admin/faults", Some(body))
            .await
            .status,
        StatusCode::OK
    );
    let failed = get(&router, "/api/orders/5").await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{failed:?}");
    assert_eq!(failed.json()["service"], "order");
    assert_eq!(
        failed.took,
        Duration::from_millis(80),
        "the fault keeps the latency"
    );
    assert_eq!(get(&router, "/api/users/5").await.status, StatusCode::OK);
    let stats = service.compartment(Service::Order).stats();
    assert_eq!((stats.failed, stats.completed), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn delete_clears_every_fault() {
    let (_service, router) = start(Mode::Bulkhead, &[]).await;
    for body in [HANG, r#"{"service":"user","latency_ms":1000}"#] {
        assert_eq!(
            send(&router, Method::POST, "/admin/faults", Some(body))
                .await
                .status,
            StatusCode::OK
        );
    }
    let listed = get(&router, "/admin/faults").await.json();
    assert_eq!(listed["faults"].as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(
        get(&router, "/api/users/1").await.took,
        Duration::from_secs(1)
    );

    let cleared = send(&router, Method::DELETE, "/admin/faults", None)
        .await
        .json();
    assert_eq!(cleared["cleared"], 2);
    assert_eq!(
        get(&router, "/admin/faults").await.json(),
        json!({"faults": []})
    );
    assert_eq!(
        get(&router, "/api/users/1").await.took,
        Duration::from_millis(50)
    );
    assert_eq!(
        get(&router, "/api/payments/1").await.took,
        Duration::from_millis(120)
    );
}

#[tokio::test(start_paused = true)]
async fn fault_bodies_are_validated_and_the_answer_names_the_field() {
    let (_service, router) = start(Mode::Bulkhead, &[]).await;
    for (body, status, names) in [
        (r#"{"service":"billing","latency_ms":10}"#, 422, "service"),
        (
            r#"{"service":"payment","error_rate":1.5}"#,
            422,
            "error_rate",
        ),
        (
            r#"{"service":"payment","error_rate":-0.1}"#,
            422,
            "error_rate",
        ),
        (
            r#"{"service":"payment","latency_ms":3600001}"#,
            422,
            "latency_ms",
        ),
        (r#"{"service":"payment"}"#, 422, "latency_ms"),
        (
            r#"{"service":"payment","latency_ms":5,"colour":"red"}"#,
            422,
            "colour",
        ),
        (r#"{"latency_ms":5}"#, 422, "service"),
        (
            r#"{"service":"payment","latency_ms":"slow"}"#,
            422,
            "latency_ms",
        ),
        (r#"{"service":"payment""#, 400, ""),
    ] {
        let reply = send(&router, Method::POST, "/admin/faults", Some(body)).await;
        assert_eq!(reply.status.as_u16(), status, "{body}: {reply:?}");
        let answer = reply.json();
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(names),
            "{body}: `{error}` should name `{names}`"
        );
        if status == 422 && answer.get("field").is_some() {
            assert_eq!(answer["field"], names, "{body}");
        }
    }
    let no_type = send(&router, Method::POST, "/admin/faults", None).await;
    assert_eq!(
        no_type.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{no_type:?}"
    );
    assert_eq!(
        get(&router, "/admin/faults").await.json(),
        json!({"faults": []})
    );
}

#[tokio::test(start_paused = true)]
async fn metrics_expose_the_bulkhead_series_of_every_compartment() {
    let (service, router) = start(
        Mode::Bulkhead,
        &[("BULKHEAD_COMPARTMENTS__PAYMENT_API__MAX_CONCURRENT", "1")],
    )
    .await;
    assert_eq!(get(&router, "/api/users/1").await.status, StatusCode::OK);
    send(&router, Method::POST, "/admin/faults", Some(HANG)).await;
    let router_for_hang = router.clone();
    let hanging = tokio::spawn(async move { get(&router_for_hang, "/api/payments/1").await });
    let payments = service.compartment(Service::Payment).clone();
    until(|| payments.stats().in_use == 1).await;
    let refused = get(&router, "/api/payments/2").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);

    let page = get(&router, "/metrics").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    for series in [
        r#"bulkhead_calls_total{bulkhead="user-api",outcome="ok"} 1"#,
        r#"bulkhead_available_permits{bulkhead="order-api"} 40"#,
        r#"bulkhead_active_tasks{bulkhead="payment-api"} 1"#,
        r#"bulkhead_rejections_total{bulkhead="payment-api",reason="timeout"} 1"#,
        r#"bulkhead_wait_duration_seconds_bucket{bulkhead="user-api",le="+Inf"} 1"#,
        r#"bulkhead_call_duration_seconds_count{bulkhead="user-api"} 1"#,
        "# TYPE bulkhead_utilization gauge",
    ] {
        assert!(
            page.text.contains(series),
            "missing `{series}` in:\n{}",
            page.text
        );
    }
    hanging.abort();
}

#[tokio::test(start_paused = true)]
async fn bulkheads_lists_every_compartment_and_the_route_it_guards() {
    let (_service, router) = start(Mode::Bulkhead, &[]).await;
    get(&router, "/api/orders/1").await;
    let body = get(&router, "/bulkheads").await.json();
    assert_eq!(body["mode"], "bulkhead");
    assert_eq!(
        body["routes"],
        json!({
            "/api/users/{id}": "user-api",
            "/api/orders/{id}": "order-api",
            "/api/payments/{id}": "payment-api",
        })
    );
    let compartments = body["compartments"].as_array().unwrap();
    let summary: Vec<(&str, &str, u64, u64)> = compartments
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["kind"].as_str().unwrap(),
                c["capacity"].as_u64().unwrap(),
                c["admitted"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("order-api", "semaphore", 40, 1),
            ("payment-api", "semaphore", 20, 0),
            ("user-api", "semaphore", 40, 0),
        ]
    );
    assert_eq!(compartments[0]["completed"], 1);
    assert_eq!(compartments[0]["rejected"]["total"], 0);
    assert_eq!(compartments[0]["max_waiting"], 256);

    let (_shared, router) = start(Mode::Shared, &[]).await;
    let body = get(&router, "/bulkheads").await.json();
    assert_eq!(body["mode"], "shared");
    assert!(body["routes"]
        .as_object()
        .unwrap()
        .values()
        .all(|c| c == "shared"));
    assert_eq!(body["compartments"].as_array().unwrap().len(), 1);
    assert_eq!(body["compartments"][0]["capacity"], 100);
}

#[tokio::test(start_paused = true)]
async fn health_reports_each_compartment_and_answers_503_when_one_is_saturated() {
    let (service, router) = start(
        Mode::Bulkhead,
        &[("BULKHEAD_COMPARTMENTS__PAYMENT_API__MAX_CONCURRENT", "1")],
    )
    .await;
    let first = get(&router, "/health").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.json()["intervals"], 0);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let healthy = get(&router, "/health").await;
    assert_eq!(healthy.status, StatusCode::OK, "{healthy:?}");
    let body = healthy.json();
    assert_eq!(
        (body["mode"].clone(), body["status"].clone()),
        (json!("bulkhead"), json!("healthy"))
    );
    let names: Vec<&str> = body["compartments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["order-api", "payment-api", "user-api"]);

    // One payment hangs in the only slot, the next is refused: half the payment
    // callers of this interval were turned away.
    send(&router, Method::POST, "/admin/faults", Some(HANG)).await;
    let router_for_hang = router.clone();
    let hanging = tokio::spawn(async move { get(&router_for_hang, "/api/payments/1").await });
    let payments = service.compartment(Service::Payment).clone();
    until(|| payments.stats().in_use == 1).await;
    assert_eq!(
        get(&router, "/api/payments/2").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    get(&router, "/api/users/2").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let saturated = get(&router, "/health").await;
    assert_eq!(
        saturated.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{saturated:?}"
    );
    let body = saturated.json();
    assert_eq!(body["status"], "saturated");
    let of = |name: &str| {
        body["compartments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(of("payment-api")["status"], "saturated");
    assert_eq!(of("payment-api")["rejection_rate"], 0.5);
    assert_eq!(of("user-api")["status"], "healthy");
    assert_eq!(of("user-api")["admitted"], 1);
    hanging.abort();
}

#[tokio::test(start_paused = true)]
async fn both_shipped_configurations_have_the_same_total_size_and_wait() {
    let (bulkhead, _) = start(Mode::Bulkhead, &[]).await;
    let (shared, _) = start(Mode::Shared, &[]).await;
    let total = |app: &bulkhead_example_microservice::App| -> usize {
        app.compartments()
            .iter()
            .map(|c| c.stats().target_capacity)
            .sum()
    };
    assert_eq!(total(&bulkhead), 100);
    assert_eq!(total(&shared), 100);
    let sizes = Service::ALL.map(|s| bulkhead.compartment(s).config().max_concurrent);
    assert_eq!(sizes, [40, 40, 20], "the guide's 40/40/20 split");
    for app in [&bulkhead, &shared] {
        for s in Service::ALL {
            let config = app.compartment(s).config();
            assert_eq!(
                config.max_wait,
                Duration::from_millis(200),
                "{s} in {:?}",
                app.mode()
            );
            assert_eq!(config.retry_after, Some(Duration::from_secs(1)));
        }
    }
}
