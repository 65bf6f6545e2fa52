//! Running each call of a service on a runtime compartment.

use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use bulkhead_core::{Admission, AdmitFuture, Rejected};
use bulkhead_runtime::{ExecuteError, RuntimeBulkhead, RuntimeHandle, RuntimePermit};
use tower_layer::Layer;
use tower_service::Service;

/// Runs each call of the layered services on a [`RuntimeBulkhead`]: the future the
/// inner service returns is spawned on the compartment's runtime and the caller's
/// response future awaits it.
///
/// CPU-heavy handlers then run on the compartment's own threads and cannot starve the
/// server's runtime; at most `queue_capacity` calls are admitted at once, the rest wait
/// for a slot up to `max_wait` or are refused. Dropping the response future (a client
/// gone, a timeout layer above) aborts the call on the compartment and frees its slot.
///
/// The inner service's `call` itself runs on the caller, only the future it returns
/// runs on the compartment: a service that does heavy work before returning its future
/// should move that work into the future.
///
/// ```
/// use bulkhead_runtime::{RuntimeBulkhead, RuntimeConfig};
/// use bulkhead_tower::RuntimeLayer;
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let thumbnails = RuntimeBulkhead::new("thumbnails", RuntimeConfig::default().worker_threads(1))?;
/// let service = ServiceBuilder::new()
///     .layer(RuntimeLayer::new(thumbnails.clone()))
///     .service(service_fn(|size: u32| async move {
///         // CPU-heavy work, on the compartment's thread.
///         let on = std::thread::current().name().map(str::to_owned);
///         Ok::<_, std::io::Error>((size * size, on))
///     }));
///
/// let (pixels, on) = service.oneshot(8).await?;
/// assert_eq!((pixels, on.as_deref()), (64, Some("thumbnails")));
/// assert_eq!(thumbnails.stats().completed, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RuntimeLayer {
    compartment: RuntimeBulkhead,
}

impl RuntimeLayer {
    /// A layer running calls on `compartment`.
    pub fn new(compartment: RuntimeBulkhead) -> Self {
        RuntimeLayer { compartment }
    }

    /// The compartment calls run on.
    pub fn compartment(&self) -> &RuntimeBulkhead {
        &self.compartment
    }
}

impl<S> Layer<S> for RuntimeLayer {
    type Service = RuntimeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RuntimeService::new(inner, self.compartment.clone())
    }
}

/// A service whose calls run on a [`RuntimeBulkhead`].
///
/// Built by [`RuntimeLayer`] or [`RuntimeService::new`]. As with
/// [`Bulkhead`](crate::Bulkhead), admission happens in `call`, never in `poll_ready`,
/// which only forwards the inner service's readiness.
///
/// Errors are [`ExecuteError`]: [`Rejected`](ExecuteError::Rejected) when the
/// compartment refused the call (the inner service is not called),
/// [`Backend`](ExecuteError::Backend) with the inner service's error (counted as
/// [`Outcome::Error`](crate::Outcome::Error)), [`Panicked`](ExecuteError::Panicked)
/// when the call panicked on the compartment (the service keeps serving), and
/// [`ShutDown`](ExecuteError::ShutDown) when the compartment's runtime was stopped
/// under it.
#[derive(Clone, Debug)]
pub struct RuntimeService<S> {
    inner: S,
    compartment: RuntimeBulkhead,
}

impl<S> RuntimeService<S> {
    /// Wraps `inner` so that its calls run on `compartment`.
    pub fn new(inner: S, compartment: RuntimeBulkhead) -> Self {
        RuntimeService { inner, compartment }
    }

    /// The compartment calls run on.
    pub fn compartment(&self) -> &RuntimeBulkhead {
        &self.compartment
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for RuntimeService<S>
where
    S: Service<Req> + Clone,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = ExecuteError<S::Error>;
    type Future = RuntimeResponseFuture<S, Req>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(ExecuteError::Backend)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let mut admit = self.compartment.admit();
        if !admit.is_ready() {
            // The inner service was made ready for this request: take it along and
            // leave a clone, which will be made ready before the next call.
            let clone = self.inner.clone();
            let inner = mem::replace(&mut self.inner, clone);
            return RuntimeResponseFuture {
                state: State::Waiting {
                    admit,
                    call: Some((inner, request, self.compartment.clone())),
                },
            };
        }
        // An admission that is already decided does not look at the context.
        let mut cx = Context::from_waker(Waker::noop());
        let state = match Pin::new(&mut admit).poll(&mut cx) {
            Poll::Ready(Ok(permit)) => {
                let future = self.inner.call(request);
                State::Running(self.compartment.spawn_admitted_result(permit, future))
            }
            Poll::Ready(Err(rejected)) => State::Rejected(Some(rejected)),
            Poll::Pending => unreachable!("a ready admission is never pending"),
        };
        RuntimeResponseFuture { state }
    }
}

/// The response future of [`RuntimeService`].
///
/// Awaits the call running on the compartment. Dropping it aborts that call (its slot
/// is freed when the task is dropped, counted as cancelled) or gives up its place in
/// the wait queue.
#[must_use = "futures do nothing unless polled"]
pub struct RuntimeResponseFuture<S, Req>
where
    S: Service<Req>,
{
    state: State<S, Req>,
}

enum State<S, Req>
where
    S: Service<Req>,
{
    // Waiting for a slot, with the ready service, the request and the compartment.
    Waiting {
        admit: AdmitFuture<RuntimePermit>,
        call: Option<(S, Req, RuntimeBulkhead)>,
    },
    // Running on the compartment.
    Running(RuntimeHandle<Result<S::Response, S::Error>>),
    // Refused without waiting.
    Rejected(Option<Rejected>),
}

// Every variant is `Unpin`: the admission future and the handle are, and the service
// and request are only moved, never pinned.
impl<S: Service<Req>, Req> Unpin for RuntimeResponseFuture<S, Req> {}

impl<S, Req> Future for RuntimeResponseFuture<S, Req>
where
    S: Service<Req>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Output = Result<S::Response, ExecuteError<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let state = &mut self.get_mut().state;
        loop {
            match state {
                State::Running(handle) => {
                    return Poll::Ready(match ready!(Pin::new(handle).poll(cx)) {
                        Ok(Ok(response)) => Ok(response),
                        Ok(Err(e)) => Err(ExecuteError::Backend(e)),
                        Err(e) => Err(e.map_backend(|never| match never {})),
                    });
                }
                State::Waiting { admit, call } => {
                    let admitted = ready!(Pin::new(admit).poll(cx));
                    let (mut service, request, compartment) = call
                        .take()
                        .expect("RuntimeResponseFuture polled after completion");
                    let permit = admitted.map_err(ExecuteError::Rejected)?;
                    let future = service.call(request);
                    *state = State::Running(compartment.spawn_admitted_result(permit, future));
                }
                State::Rejected(rejected) => {
                    let rejected = rejected
                        .take()
                        .expect("RuntimeResponseFuture polled after completion");
                    return Poll::Ready(Err(ExecuteError::Rejected(rejected)));
                }
            }
        }
    }
}

impl<S, Req> fmt::Debug for RuntimeResponseFuture<S, Req>
where
    S: Service<Req>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Waiting { .. } => "waiting",
            State::Running(_) => "running",
            State::Rejected(_) => "rejected",
        };
        f.debug_struct("RuntimeResponseFuture")
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bulkhead_runtime::{Compartment, RejectReason, RuntimeConfig};
    use futures::poll;
    use tokio::sync::{mpsc, Semaphore};
    use tower::{service_fn, Layer, ServiceExt};

    use super::*;

    fn compartment(name: &str, capacity: usize, max_wait: Duration) -> RuntimeBulkhead {
        let config = RuntimeConfig::default()
            .worker_threads(1)
            .queue_capacity(capacity)
            .max_wait(max_wait);
        RuntimeBulkhead::new(name, config).expect("valid config")
    }

    fn thread_name() -> Option<String> {
        std::thread::current().name().map(str::to_owned)
    }

    async fn within<F: Future>(future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .expect("resolved within ten seconds")
    }

    /// A service whose calls wait for `gate` to open, then answer with the thread they
    /// ran on.
    fn gated(
        gate: Arc<Semaphore>,
    ) -> impl Service<u32, Response = Option<String>, Error = &'static str, Future: Send> + Clone
    {
        service_fn(move |_: u32| {
            let gate = Arc::clone(&gate);
            async move {
                drop(gate.acquire().await.map_err(|_| "closed")?);
                Ok(thread_name())
            }
        })
    }

    #[tokio::test]
    async fn calls_run_on_the_compartment_threads() {
        let cpu = compartment("tower-cpu", 4, Duration::ZERO);
        let gate = Arc::new(Semaphore::new(1));
        let service = RuntimeLayer::new(cpu.clone()).layer(gated(gate));
        let on = within(service.oneshot(1)).await.expect("served");
        assert_eq!(on.as_deref(), Some("tower-cpu"));
        assert_ne!(on, thread_name());
        let stats = cpu.stats();
        assert_eq!((stats.admitted, stats.completed, stats.in_use), (1, 1, 0));
        assert_eq!(cpu.kind(), "runtime");
    }

    #[tokio::test]
    async fn a_full_compartment_refuses_without_calling_the_service() {
        let cpu = compartment("tower-full", 1, Duration::ZERO);
        let gate = Arc::new(Semaphore::new(0));
        let (called_tx, mut called) = mpsc::unbounded_channel();
        let service = RuntimeLayer::new(cpu.clone()).layer(service_fn(move |n: u32| {
            let gate = Arc::clone(&gate);
            let _ = called_tx.send(n);
            async move {
                drop(gate.acquire().await);
                Ok::<_, &str>(n)
            }
        }));
        let mut first = Box::pin(service.clone().oneshot(1));
        assert!(poll!(&mut first).is_pending());
        let err = within(service.clone().oneshot(2)).await.unwrap_err();
        assert_eq!(err.rejected().map(|r| r.reason()), Some(RejectReason::Full));
        assert_eq!(called.recv().await, Some(1));
        assert!(
            called.try_recv().is_err(),
            "the refused call never reached the service"
        );
        drop(first);
        within(cpu.idle()).await;
        let stats = cpu.stats();
        assert_eq!((stats.rejected.full, stats.cancelled), (1, 1));
    }

    #[tokio::test]
    async fn dropping_the_response_future_aborts_the_call_and_frees_its_slot() {
        let cpu = compartment("tower-drop", 1, Duration::ZERO);
        let (started_tx, mut started) = mpsc::unbounded_channel();
        let service = RuntimeLayer::new(cpu.clone()).layer(service_fn(move |_: ()| {
            let started_tx = started_tx.clone();
            async move {
                let _ = started_tx.send(());
                std::future::pending::<()>().await;
                Ok::<_, &str>(())
            }
        }));
        let mut call = Box::pin(service.clone().oneshot(()));
        assert!(poll!(&mut call).is_pending());
        within(started.recv()).await.expect("the call started");
        drop(call);
        within(cpu.idle()).await;
        let stats = cpu.stats();
        assert_eq!((stats.cancelled, stats.in_use), (1, 0));
    }

    #[tokio::test]
    async fn a_service_error_comes_back_as_backend_and_counts_as_failed() {
        let cpu = compartment("tower-error", 2, Duration::ZERO);
        let service = RuntimeLayer::new(cpu.clone())
            .layer(service_fn(|n: u32| async move { Err::<u32, _>(n * 10) }));
        let err = within(service.oneshot(4)).await.unwrap_err();
        assert_eq!(err, ExecuteError::Backend(40));
        assert_eq!(cpu.stats().failed, 1);
    }

    #[tokio::test]
    async fn a_panicking_call_comes_back_as_panicked_and_the_service_keeps_serving() {
        let cpu = compartment("tower-panic", 2, Duration::ZERO);
        let service = RuntimeLayer::new(cpu.clone()).layer(service_fn(|n: u32| async move {
            assert!(n != 13, "unlucky {n}");
            Ok::<_, &str>(n)
        }));
        let err = within(service.clone().oneshot(13)).await.unwrap_err();
        assert_eq!(err.panic_message(), Some("unlucky 13"));
        assert_eq!(within(service.oneshot(12)).await, Ok(12));
        let stats = cpu.stats();
        assert_eq!((stats.panicked, stats.completed), (1, 1));
    }

    #[tokio::test]
    async fn a_waiting_request_is_called_once_a_slot_frees() {
        let cpu = compartment("tower-wait", 1, Duration::from_secs(60));
        let gate = Arc::new(Semaphore::new(0));
        let service = RuntimeLayer::new(cpu.clone()).layer(gated(Arc::clone(&gate)));
        let mut first = Box::pin(service.clone().oneshot(1));
        assert!(poll!(&mut first).is_pending());
        let mut second = Box::pin(service.clone().oneshot(2));
        assert!(poll!(&mut second).is_pending());
        assert_eq!(cpu.stats().waiting, 1);
        gate.add_permits(2);
        assert_eq!(
            within(first).await.expect("served").as_deref(),
            Some("tower-wait")
        );
        assert_eq!(
            within(second).await.expect("served").as_deref(),
            Some("tower-wait")
        );
        let stats = cpu.stats();
        assert_eq!((stats.admitted, stats.completed, stats.in_use), (2, 2, 0));
    }

    #[tokio::test]
    async fn a_stopped_runtime_answers_shut_down() {
        let cpu = compartment("tower-stop", 2, Duration::ZERO);
        let service = RuntimeLayer::new(cpu.clone()).layer(service_fn(|_: ()| async {
            std::future::pending::<()>().await;
            Ok::<_, &str>(())
        }));
        let mut call = Box::pin(service.clone().oneshot(()));
        assert!(poll!(&mut call).is_pending());
        let report = within(cpu.shutdown(Duration::from_millis(20))).await;
        assert_eq!(report.unfinished, 1, "{report:?}");
        assert_eq!(within(call).await, Err(ExecuteError::ShutDown));
        let refused = within(service.oneshot(())).await.unwrap_err();
        assert_eq!(
            refused.rejected().map(|r| r.reason()),
            Some(RejectReason::Closed)
        );
    }
}
