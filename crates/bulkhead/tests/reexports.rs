//! The facade exposes each part under the path its documentation promises.

#[test]
fn the_core_vocabulary_is_at_the_root() {
    use bulkhead::{names, CallError, Outcome, RejectReason, Rejected};

    let rejected = Rejected::new("orders".into(), RejectReason::Full);
    let error: CallError<std::io::Error> = rejected.clone().into();
    assert_eq!(error.rejected(), Some(&rejected));
    assert_eq!(Outcome::Cancelled.as_str(), "cancelled");
    assert_eq!(names::AVAILABLE_PERMITS, "bulkhead_available_permits");
}

#[cfg(feature = "semaphore")]
#[test]
fn semaphore_compartments_are_at_the_root_and_in_their_module() {
    use bulkhead::{Compartment, SemaphoreBulkhead, SemaphoreConfig};

    let orders = SemaphoreBulkhead::new("orders", SemaphoreConfig::new(3)).unwrap();
    let same: bulkhead::semaphore::SemaphoreBulkhead = orders.clone();
    assert_eq!(same.kind(), bulkhead::semaphore::KIND);
    assert_eq!(orders.stats().target_capacity, 3);
}

#[cfg(all(feature = "semaphore", feature = "tower"))]
#[tokio::test]
async fn the_tower_layer_takes_a_semaphore_compartment() {
    use bulkhead::tower::BulkheadLayer;
    use bulkhead::{SemaphoreBulkhead, SemaphoreConfig};
    use tower::{service_fn, Layer, ServiceExt};

    let orders = SemaphoreBulkhead::new("orders", SemaphoreConfig::new(1)).unwrap();
    let service = BulkheadLayer::new(orders.clone()).layer(service_fn(|n: u8| async move {
        Ok::<_, std::io::Error>(n + 1)
    }));
    assert_eq!(service.oneshot(1).await.unwrap(), 2);
    assert_eq!(orders.stats().completed, 1);
}

#[cfg(all(feature = "semaphore", feature = "serde"))]
#[test]
fn semaphore_configuration_deserializes_with_the_serde_feature() {
    fn deserializable<T: serde::de::DeserializeOwned>() {}
    deserializable::<bulkhead::SemaphoreConfig>();
}
