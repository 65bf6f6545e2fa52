//! The observer: a span per guarded call, and the per-call histograms.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bulkhead_core::names::*;
use bulkhead_core::{
    Admitted, Compartment, CompartmentInfo, Finished, Observer, Outcome, Rejected, SharedObserver,
};
use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::SdkTracer;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::instruments::{self, Compartments, Observables};

thread_local! {
    static RECORDED_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records `error`'s message for the span of the guarded call that is finishing on
/// this thread, as its `bulkhead.error` attribute.
///
/// Call it inside the guarded work, just before the work returns its error: the
/// compartment reports the end of the call on the same thread, in the same poll, and
/// the span takes the message. Without it, `bulkhead.error` says only `error`,
/// `panic` or `cancelled`. A message recorded for a call that then succeeds is
/// discarded.
///
/// ```
/// # fn check() -> Result<(), std::io::Error> { Ok(()) }
/// let work = async {
///     check().map_err(|e| {
///         bulkhead_otlp::record_error(&e);
///         e
///     })
/// };
/// # drop(work);
/// ```
pub fn record_error(error: &dyn fmt::Display) {
    RECORDED_ERROR.with(|slot| *slot.borrow_mut() = Some(error.to_string()));
}

fn take_recorded_error() -> Option<String> {
    RECORDED_ERROR.with(|slot| slot.borrow_mut().take())
}

/// Records every guarded call of the compartments it is attached to as an
/// OpenTelemetry span, and their figures as OpenTelemetry instruments.
///
/// **Spans.** One span named `bulkhead.call` per call, a child of the caller's current
/// span: the `tracing` span entered when the call ends (through
/// `tracing-opentelemetry`), or the active OpenTelemetry context. An admitted call's
/// span runs from the start of its wait to the release of its slot and is recorded at
/// release; a refused call's span covers its wait and has an error status. Attributes:
/// `bulkhead.name`, `bulkhead.type`, `bulkhead.wait_ms`, `bulkhead.duration_ms`,
/// `bulkhead.result` (`success`, `error`, `rejected`), `bulkhead.error` (see
/// [`record_error`]), `bulkhead.rejection_reason`. Sampling is the tracer provider's:
/// a span sampled out costs its sampling decision and nothing else.
///
/// **Instruments.** The metrics of `bulkhead-metrics` under the same names: the two
/// duration histograms, recorded per call, and observable gauges and counters that
/// read the [`Stats`](bulkhead_core::Stats) of the compartments passed to
/// [`register`](Self::register) at each collection.
///
/// One observer serves any number of compartments. Cheap to clone.
///
/// ```
/// use bulkhead_otlp::OtelObserver;
/// use bulkhead_semaphore::SemaphoreBulkhead;
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry::trace::TracerProvider as _;
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
///
/// let tracer_provider = SdkTracerProvider::builder().build();
/// let meter_provider = SdkMeterProvider::builder().build();
/// let observer = OtelObserver::new(
///     tracer_provider.tracer("bulkhead"),
///     &meter_provider.meter("bulkhead"),
/// );
///
/// let orders = SemaphoreBulkhead::builder("orders")
///     .observer(observer.shared())
///     .build()?;
/// observer.register(orders.clone());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct OtelObserver {
    inner: Arc<Inner>,
}

struct Inner {
    tracer: SdkTracer,
    wait: Histogram<f64>,
    held: Histogram<f64>,
    compartments: Compartments,
    _observables: Observables,
    pending: PendingWaits,
}

impl OtelObserver {
    /// An observer recording spans with `tracer` and instruments with `meter`.
    pub fn new(tracer: SdkTracer, meter: &Meter) -> Self {
        let compartments = Compartments::default();
        let (wait, held) = instruments::histograms(meter);
        OtelObserver {
            inner: Arc::new(Inner {
                tracer,
                wait,
                held,
                _observables: instruments::observables(meter, &compartments),
                compartments,
                pending: PendingWaits::default(),
            }),
        }
    }

    /// This observer, ready to hand to a compartment builder's `observer`.
    pub fn shared(&self) -> SharedObserver {
        Arc::new(self.clone())
    }

    /// Reports `compartment`'s stats through the observable instruments from now on.
    ///
    /// A compartment with the name of one already registered replaces it.
    pub fn register<C>(&self, compartment: C)
    where
        C: Compartment + 'static,
    {
        self.register_dyn(Arc::new(compartment))
    }

    /// Like [`register`](Self::register), for a compartment shared as a trait object.
    pub fn register_dyn(&self, compartment: Arc<dyn Compartment>) {
        self.inner.compartments.insert(compartment);
    }

    /// Stops reporting the compartment called `name`. Returns whether it was
    /// registered.
    pub fn unregister(&self, name: &str) -> bool {
        self.inner.compartments.remove(name)
    }

    /// A span of `info`'s call that started at `start`, a child of the caller's
    /// context, with the compartment's attributes when it is recorded.
    fn span(&self, info: &CompartmentInfo, start: SystemTime) -> opentelemetry_sdk::trace::Span {
        use opentelemetry::trace::Span as _;
        let builder = SpanBuilder::from_name(SPAN_NAME)
            .with_kind(SpanKind::Internal)
            .with_start_time(start);
        let mut span = self
            .inner
            .tracer
            .build_with_context(builder, &parent_context());
        if span.is_recording() {
            span.set_attributes([
                KeyValue::new(ATTR_NAME, Value::from(info.name_arc())),
                KeyValue::new(ATTR_TYPE, info.kind()),
            ]);
        }
        span
    }
}

/// The caller's current context: the active OpenTelemetry context when it has a span
/// (tracing-opentelemetry activates it on span entry), else the current `tracing`
/// span's.
fn parent_context() -> Context {
    let cx = Context::current();
    if cx.has_active_span() {
        cx
    } else {
        tracing::Span::current().context()
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn before(now: SystemTime, d: Duration) -> SystemTime {
    now.checked_sub(d).unwrap_or(now)
}

fn name_attr(info: &CompartmentInfo) -> [KeyValue; 1] {
    [KeyValue::new(LABEL_BULKHEAD, Value::from(info.name_arc()))]
}

impl Observer for OtelObserver {
    fn on_admitted(&self, info: &CompartmentInfo, event: &Admitted) {
        self.inner
            .wait
            .record(event.wait.as_secs_f64(), &name_attr(info));
        if !event.wait.is_zero() {
            self.inner.pending.insert(info, event.wait);
        }
    }

    fn on_finished(&self, info: &CompartmentInfo, event: &Finished) {
        use opentelemetry::trace::Span as _;
        self.inner
            .held
            .record(event.held.as_secs_f64(), &name_attr(info));
        let wait = self.inner.pending.take(info);
        let message = take_recorded_error();
        let end = SystemTime::now();
        let mut span = self.span(info, before(end, event.held + wait));
        if span.is_recording() {
            let result = match event.outcome {
                Outcome::Ok => "success",
                Outcome::Error | Outcome::Panic | Outcome::Cancelled => "error",
            };
            span.set_attributes([
                KeyValue::new(ATTR_WAIT_MS, millis(wait)),
                KeyValue::new(ATTR_DURATION_MS, millis(event.held)),
                KeyValue::new(ATTR_RESULT, result),
            ]);
            if event.outcome != Outcome::Ok {
                let error = message.unwrap_or_else(|| event.outcome.as_str().to_owned());
                span.set_attribute(KeyValue::new(ATTR_ERROR, error.clone()));
                span.set_status(Status::error(error));
            }
        }
        span.end_with_timestamp(end);
    }

    fn on_rejected(&self, info: &CompartmentInfo, rejection: &Rejected) {
        use opentelemetry::trace::Span as _;
        let end = SystemTime::now();
        let mut span = self.span(info, before(end, rejection.waited()));
        if span.is_recording() {
            let reason = rejection.reason().as_str();
            span.set_attributes([
                KeyValue::new(ATTR_WAIT_MS, millis(rejection.waited())),
                KeyValue::new(ATTR_RESULT, "rejected"),
                KeyValue::new(ATTR_REJECTION_REASON, reason),
            ]);
            span.set_status(Status::error(rejection.to_string()));
        }
        span.end_with_timestamp(end);
    }
}

impl fmt::Debug for OtelObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelObserver")
            .field("compartments", &self.inner.compartments.names())
            .finish_non_exhaustive()
    }
}

/// Waits of admitted calls, kept until the call's release so that its span can start
/// where its wait started.
///
/// Only calls that waited are kept (the rest waited zero), keyed by the task (or the
/// thread, outside tokio) and the compartment; a release on the same task and
/// compartment takes the oldest. Bounded: when full, entries older than a minute are
/// dropped, and a call that finds it still full is recorded without its wait.
#[derive(Default)]
struct PendingWaits {
    len: AtomicUsize,
    map: Mutex<WaitMap>,
}

/// Waits (and when they were kept) by caller and compartment.
type WaitMap = HashMap<(Caller, usize), Vec<(Duration, Instant)>>;

/// The most waits kept at once.
const MAX_PENDING: usize = 4096;
/// Waits older than this are dropped when the map is full.
const STALE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Caller {
    Task(tokio::task::Id),
    Thread(std::thread::ThreadId),
}

fn key(info: &CompartmentInfo) -> (Caller, usize) {
    let caller = match tokio::task::try_id() {
        Some(id) => Caller::Task(id),
        None => Caller::Thread(std::thread::current().id()),
    };
    // The name is shared by every handle of a compartment and lives as long as it.
    (caller, info.name().as_ptr() as usize)
}

impl PendingWaits {
    fn lock(&self) -> std::sync::MutexGuard<'_, WaitMap> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(&self, info: &CompartmentInfo, wait: Duration) {
        let key = key(info);
        let now = Instant::now();
        let mut map = self.lock();
        if self.len.load(Ordering::Relaxed) >= MAX_PENDING {
            let mut removed = 0;
            map.retain(|_, waits| {
                let before = waits.len();
                waits.retain(|(_, at)| now.duration_since(*at) < STALE);
                removed += before - waits.len();
                !waits.is_empty()
            });
            self.len.fetch_sub(removed, Ordering::Relaxed);
            if self.len.load(Ordering::Relaxed) >= MAX_PENDING {
                return;
            }
        }
        map.entry(key).or_default().push((wait, now));
        self.len.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    fn take(&self, info: &CompartmentInfo) -> Duration {
        if self.len.load(Ordering::Relaxed) == 0 {
            return Duration::ZERO;
        }
        self.take_slow(info)
    }

    #[cold]
    fn take_slow(&self, info: &CompartmentInfo) -> Duration {
        let key = key(info);
        let mut map = self.lock();
        let Some(waits) = map.get_mut(&key) else {
            return Duration::ZERO;
        };
        let (wait, _) = waits.remove(0);
        if waits.is_empty() {
            map.remove(&key);
        }
        self.len.fetch_sub(1, Ordering::Relaxed);
        wait
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_kept_until_the_release_on_the_same_thread_and_compartment() {
        let pending = PendingWaits::default();
        let a = CompartmentInfo::new("a", "semaphore");
        let b = CompartmentInfo::new("b", "semaphore");
        pending.insert(&a, Duration::from_millis(3));
        pending.insert(&a, Duration::from_millis(5));
        assert_eq!(pending.take(&b), Duration::ZERO);
        assert_eq!(pending.take(&a), Duration::from_millis(3));
        assert_eq!(pending.take(&a), Duration::from_millis(5));
        assert_eq!(pending.take(&a), Duration::ZERO);
        assert_eq!(pending.len(), 0);
    }

    #[test]
    fn pending_waits_stay_bounded_when_releases_never_come() {
        let pending = PendingWaits::default();
        let a = CompartmentInfo::new("a", "semaphore");
        for _ in 0..MAX_PENDING * 3 {
            pending.insert(&a, Duration::from_millis(1));
        }
        assert_eq!(pending.len(), MAX_PENDING);
    }

    #[test]
    fn a_recorded_error_is_taken_once() {
        record_error(&"boom");
        assert_eq!(take_recorded_error().as_deref(), Some("boom"));
        assert_eq!(take_recorded_error(), None);
    }
}
