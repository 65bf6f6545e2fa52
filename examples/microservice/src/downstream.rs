//! The simulated downstreams: a user directory, an order store and a payment
//! provider, each answering after a configurable latency, and faults injected on
//! demand.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

/// The longest latency a fault may set: one hour.
pub const MAX_FAULT_LATENCY: Duration = Duration::from_secs(3600);

/// One of the three downstreams the service calls, each behind its own route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// The user directory, behind `GET /api/users/{id}`.
    User,
    /// The order store, behind `GET` and `POST /api/orders/{id}`.
    Order,
    /// The payment provider, behind `GET /api/payments/{id}`.
    Payment,
}

impl Service {
    /// Every service, in route order.
    pub const ALL: [Service; 3] = [Service::User, Service::Order, Service::Payment];

    /// `user`, `order` or `payment`: the name used by `/admin/faults`.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::User => "user",
            Service::Order => "order",
            Service::Payment => "payment",
        }
    }

    /// The route template of the service's API, such as `/api/users/{id}`.
    pub fn route(self) -> &'static str {
        match self {
            Service::User => "/api/users/{id}",
            Service::Order => "/api/orders/{id}",
            Service::Payment => "/api/payments/{id}",
        }
    }

    /// How long the simulated downstream takes when no fault is set: user 50 ms,
    /// order 80 ms, payment 120 ms.
    pub fn default_latency(self) -> Duration {
        Duration::from_millis(match self {
            Service::User => 50,
            Service::Order => 80,
            Service::Payment => 120,
        })
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`Service::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownService(pub String);

impl fmt::Display for UnknownService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown service `{}`; expected one of `user`, `order`, `payment`",
            self.0
        )
    }
}

impl std::error::Error for UnknownService {}

impl FromStr for Service {
    type Err = UnknownService;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|service| service.as_str() == s)
            .ok_or_else(|| UnknownService(s.to_owned()))
    }
}

/// A fault injected into one downstream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fault {
    /// How long each call takes while the fault is set, replacing the normal latency;
    /// `None` keeps it.
    #[serde(rename = "latency_ms", serialize_with = "millis")]
    pub latency: Option<Duration>,
    /// Share of calls that fail, in `0..=1`.
    pub error_rate: f64,
}

fn millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        None => s.serialize_none(),
    }
}

/// A downstream call failed (the fault's error rate drew it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownstreamError {
    /// The service that failed.
    pub service: Service,
}

impl fmt::Display for DownstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} service failed (injected fault)", self.service)
    }
}

impl std::error::Error for DownstreamError {}

#[derive(Debug, Clone, Copy)]
struct State {
    latency: Duration,
    fault: Option<Fault>,
}

/// The three simulated downstreams. Cheap to clone: clones share the latencies and
/// faults.
///
/// A call sleeps for the service's latency (the fault's, when one is set) on the tokio
/// timer, then fails with the fault's error rate. Nothing else is shared between the
/// services: a slow payment provider slows payment calls only, so whatever slows the
/// other routes is the service's own doing (a shared pool filled with hanging calls).
#[derive(Debug, Clone)]
pub struct Downstreams {
    states: Arc<[Mutex<State>; 3]>,
}

impl Default for Downstreams {
    fn default() -> Self {
        Downstreams::new(Service::ALL.map(Service::default_latency))
    }
}

impl Downstreams {
    /// Downstreams answering after `latencies`, in the order of [`Service::ALL`].
    pub fn new(latencies: [Duration; 3]) -> Self {
        Downstreams {
            states: Arc::new(latencies.map(|latency| {
                Mutex::new(State {
                    latency,
                    fault: None,
                })
            })),
        }
    }

    fn state(&self, service: Service) -> State {
        *self.states[service.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How long a call to `service` takes now.
    pub fn latency(&self, service: Service) -> Duration {
        let state = self.state(service);
        state.fault.and_then(|f| f.latency).unwrap_or(state.latency)
    }

    /// Calls `service`: waits its latency, then fails with its fault's error rate.
    /// Returns the time the call took.
    pub async fn call(&self, service: Service) -> Result<Duration, DownstreamError> {
        let state = self.state(service);
        let latency = state.fault.and_then(|f| f.latency).unwrap_or(state.latency);
        tokio::time::sleep(latency).await;
        let error_rate = state.fault.map_or(0.0, |f| f.error_rate);
        if error_rate > 0.0 && rand::random::<f64>() < error_rate {
            return Err(DownstreamError { service });
        }
        Ok(latency)
    }

    /// Sets `service`'s fault, replacing any earlier one.
    pub fn set_fault(&self, service: Service, fault: Fault) {
        self.states[service.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fault = Some(fault);
    }

    /// Clears every fault; returns how many were set.
    pub fn clear_faults(&self) -> usize {
        self.states
            .iter()
            .filter_map(|state| {
                state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .fault
                    .take()
            })
            .count()
    }

    /// The faults set now, in the order of [`Service::ALL`].
    pub fn faults(&self) -> Vec<(Service, Fault)> {
        Service::ALL
            .into_iter()
            .filter_map(|service| self.state(service).fault.map(|fault| (service, fault)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse_from_their_names_and_nothing_else() {
        for service in Service::ALL {
            assert_eq!(service.as_str().parse(), Ok(service));
        }
        let error = "billing".parse::<Service>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown service `billing`; expected one of `user`, `order`, `payment`"
        );
        assert!("User".parse::<Service>().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_fault_changes_only_its_own_service_until_cleared() {
        let downstreams = Downstreams::default();
        downstreams.set_fault(
            Service::Payment,
            Fault {
                latency: Some(Duration::from_secs(5)),
                error_rate: 0.0,
            },
        );
        let start = tokio::time::Instant::now();
        assert_eq!(
            downstreams.call(Service::User).await,
            Ok(Duration::from_millis(50))
        );
        assert_eq!(start.elapsed(), Duration::from_millis(50));
        assert_eq!(
            downstreams.call(Service::Payment).await,
            Ok(Duration::from_secs(5))
        );
        assert_eq!(start.elapsed(), Duration::from_millis(5050));

        downstreams.set_fault(
            Service::Order,
            Fault {
                latency: None,
                error_rate: 1.0,
            },
        );
        assert_eq!(
            downstreams.call(Service::Order).await,
            Err(DownstreamError {
                service: Service::Order
            })
        );
        assert_eq!(
            downstreams.latency(Service::Order),
            Duration::from_millis(80)
        );
        assert_eq!(downstreams.clear_faults(), 2);
        assert!(downstreams.faults().is_empty());
        assert_eq!(
            downstreams.latency(Service::Payment),
            Duration::from_millis(120)
        );
        assert!(downstreams.call(Service::Order).await.is_ok());
    }
}
