//! The runtime compartment.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bulkhead_core::{
    names, Admission, AdmitFuture, Compartment, CompartmentInfo, ConfigError, Rejected,
    SharedObserver, Stats,
};
use bulkhead_semaphore::{OwnedSemaphorePermit, SemaphoreBulkhead};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{oneshot, watch};
use tokio_metrics::TaskMonitor;

use crate::config::thread_name_problem;
use crate::stats::Sampler;
use crate::task::{always_ok, by_result, BlockingSlot, Classify, InFlight, RuntimePermit, Task};
use crate::{BuildError, ExecuteError, RuntimeConfig, RuntimeHandle, RuntimeStats};

/// The kind name of runtime compartments.
pub const KIND: &str = "runtime";

/// After a shutdown's deadline, how long it waits at least for the runtime's threads to
/// stop.
pub const MIN_STOP_WAIT: Duration = Duration::from_millis(100);

/// A compartment that owns a dedicated multi-thread tokio runtime, for CPU-heavy or
/// untrusted work.
///
/// Work submitted to it runs on the compartment's own worker threads, so however long
/// it spins it cannot starve the caller's runtime or another compartment. At most
/// `queue_capacity` tasks are admitted at once (queued inside the runtime or running);
/// beyond that, submissions wait for a slot up to `max_wait` or are refused with a
/// [`Rejected`], exactly as a [`SemaphoreBulkhead`] refuses callers (it is one,
/// reporting the kind `"runtime"`): [`Compartment::stats`] and the observer's events
/// count tasks the way the semaphore counts calls.
///
/// - [`execute`](Self::execute) / [`execute_blocking`](Self::execute_blocking) run work
///   and await its output from any executor; [`spawn`](Self::spawn) /
///   [`spawn_blocking`](Self::spawn_blocking) return a [`RuntimeHandle`].
/// - A panic comes back as [`ExecuteError::Panicked`] to that caller only; the
///   compartment keeps serving.
/// - Dropping the caller's future or handle aborts the task and frees its slot;
///   [`RuntimeHandle::detach`] lets it run.
/// - [`close`](Self::close) refuses new work; [`shutdown`](Self::shutdown) drains, then
///   stops the runtime and its threads. Building and dropping a compartment is safe in
///   async code: the runtime is never dropped in a way that blocks.
/// - [`runtime_stats`](Self::runtime_stats) samples tokio-metrics figures (busy ratio,
///   global queue depth, scheduling delay, poll durations).
///
/// Handles are cheap to clone and share one compartment. When the last one is dropped
/// without a `shutdown`, the runtime is stopped in the background: tasks still in
/// flight are dropped at their next `.await` and their callers get
/// [`ExecuteError::ShutDown`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bulkhead_runtime::{RuntimeBulkhead, RuntimeConfig};
///
/// let cpu = RuntimeBulkhead::new("cpu", RuntimeConfig::default().worker_threads(1))?;
/// let on = cpu.execute(async { std::thread::current().name().map(str::to_owned) }).await?;
/// assert_eq!(on.as_deref(), Some("cpu"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RuntimeBulkhead {
    inner: Arc<Inner>,
}

struct Inner {
    /// Queue slots: admission, stats and events.
    slots: SemaphoreBulkhead,
    handle: Handle,
    /// Taken by whoever stops the runtime: a shutdown, or the last handle's drop.
    runtime: Arc<Mutex<Option<Runtime>>>,
    in_flight: Arc<InFlight>,
    /// Live threads of the runtime, counted by its start and stop hooks.
    threads: Arc<AtomicUsize>,
    tasks: TaskMonitor,
    on_demand: Mutex<Sampler>,
    latest: Arc<watch::Sender<Option<RuntimeStats>>>,
    /// As given: `thread_name` stays `None` when it defaults to the compartment name.
    config: RuntimeConfig,
    thread_name: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.slots.close();
        if let Some(runtime) = lock(&self.runtime).take() {
            // Never blocks, so it is safe in async code and on the runtime's own threads.
            runtime.shutdown_background();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Builds a [`RuntimeBulkhead`] with an observer or other options.
///
/// ```
/// use std::sync::Arc;
/// use bulkhead_runtime::{Compartment, NoopObserver, RuntimeBulkhead};
///
/// let reports = RuntimeBulkhead::builder("reports")
///     .worker_threads(1)
///     .queue_capacity(8)
///     .observer(Arc::new(NoopObserver))
///     .build()
///     .unwrap();
/// assert_eq!((reports.kind(), reports.stats().target_capacity), ("runtime", 8));
/// ```
#[derive(Clone)]
pub struct RuntimeBuilder {
    name: Arc<str>,
    config: RuntimeConfig,
    observer: Option<SharedObserver>,
}

impl RuntimeBuilder {
    /// Replaces the whole configuration.
    pub fn config(mut self, config: RuntimeConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets `worker_threads`.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.config.worker_threads = n;
        self
    }

    /// Sets `queue_capacity`.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.config.queue_capacity = n;
        self
    }

    /// Sets `max_wait`.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.config.max_wait = wait;
        self
    }

    /// Sets `max_waiting`.
    pub fn max_waiting(mut self, n: usize) -> Self {
        self.config.max_waiting = n;
        self
    }

    /// Sets `thread_name`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.config.thread_name = Some(name.into());
        self
    }

    /// Sets `metrics_interval`.
    pub fn metrics_interval(mut self, interval: Option<Duration>) -> Self {
        self.config.metrics_interval = interval;
        self
    }

    /// Attaches an observer that receives every event of the compartment.
    pub fn observer(mut self, observer: SharedObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Validates the configuration, starts the runtime and builds the compartment.
    ///
    /// Safe to call from async code.
    pub fn build(self) -> Result<RuntimeBulkhead, BuildError> {
        let name = self.name;
        let in_compartment = |e: ConfigError| BuildError::Config(e.in_compartment(&*name));
        let config = self.config;
        config.validate().map_err(in_compartment)?;
        let thread_name = match &config.thread_name {
            Some(thread_name) => thread_name.clone(),
            None => {
                if let Some(problem) = thread_name_problem(&name) {
                    let message = format!("defaults to the compartment name, which {problem}");
                    return Err(in_compartment(ConfigError::new("thread_name", message)));
                }
                name.to_string()
            }
        };

        let mut slots = SemaphoreBulkhead::builder(Arc::clone(&name))
            .kind(KIND)
            .config(config.slots());
        if let Some(observer) = self.observer {
            slots = slots.observer(observer);
        }
        let slots = slots.build().map_err(in_compartment)?;

        let threads = Arc::new(AtomicUsize::new(0));
        let (started, stopped) = (Arc::clone(&threads), Arc::clone(&threads));
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if config.enable_io {
            builder.enable_io();
        }
        let runtime = builder
            .worker_threads(config.worker_threads)
            .max_blocking_threads(config.max_blocking_threads)
            .thread_name(thread_name.clone())
            .thread_stack_size(config.thread_stack_size)
            .on_thread_start(move || {
                started.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                stopped.fetch_sub(1, Ordering::SeqCst);
            })
            .enable_time()
            .build()
            .map_err(|error| BuildError::Runtime {
                compartment: name.to_string(),
                error,
            })?;
        let handle = runtime.handle().clone();
        let tasks = TaskMonitor::new();
        let latest = Arc::new(watch::channel(None).0);
        if let Some(interval) = config.metrics_interval {
            handle.spawn(sample_every(
                interval,
                handle.clone(),
                tasks.clone(),
                Arc::clone(&threads),
                Arc::clone(&latest),
            ));
        }
        Ok(RuntimeBulkhead {
            inner: Arc::new(Inner {
                slots,
                on_demand: Mutex::new(Sampler::new(&handle, &tasks)),
                handle,
                runtime: Arc::new(Mutex::new(Some(runtime))),
                in_flight: Arc::default(),
                threads,
                tasks,
                latest,
                config,
                thread_name,
            }),
        })
    }
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("name", &&*self.name)
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// The sampler task: records the runtime's figures every `interval`.
async fn sample_every(
    interval: Duration,
    handle: Handle,
    tasks: TaskMonitor,
    threads: Arc<AtomicUsize>,
    latest: Arc<watch::Sender<Option<RuntimeStats>>>,
) {
    let mut sampler = Sampler::new(&handle, &tasks);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let stats = sampler.sample(threads.load(Ordering::SeqCst));
        latest.send_replace(Some(stats));
    }
}

/// How a [`shutdown`](RuntimeBulkhead::shutdown) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Every admitted task ended before the deadline.
    pub drained: bool,
    /// Tasks still in flight at the deadline. Async tasks among them were dropped when
    /// the runtime stopped (at their next `.await`), their slots freed as cancelled and
    /// their callers told [`ExecuteError::ShutDown`]; blocking closures that had
    /// started run on, detached.
    pub unfinished: usize,
    /// Threads of the runtime still alive when `shutdown` returned: workers stuck in a
    /// task that never yields, or blocking closures still running. They end when their
    /// work does.
    pub threads_left: usize,
    /// How long the shutdown took.
    pub elapsed: Duration,
}

impl RuntimeBulkhead {
    /// Builds a compartment called `name`, refusing an invalid configuration, and
    /// starts its runtime. Safe to call from async code.
    pub fn new(name: impl Into<Arc<str>>, config: RuntimeConfig) -> Result<Self, BuildError> {
        Self::builder(name).config(config).build()
    }

    /// Starts building a compartment called `name` with the default configuration.
    pub fn builder(name: impl Into<Arc<str>>) -> RuntimeBuilder {
        RuntimeBuilder {
            name: name.into(),
            config: RuntimeConfig::default(),
            observer: None,
        }
    }

    /// The compartment's name.
    pub fn name(&self) -> &str {
        self.inner.slots.name()
    }

    /// The name of every thread of the runtime: `thread_name`, or the compartment's
    /// name.
    pub fn thread_name(&self) -> &str {
        &self.inner.thread_name
    }

    /// The configuration in force: as built, with the queue settings as last
    /// [`reconfigure`](Self::reconfigure)d.
    pub fn config(&self) -> RuntimeConfig {
        let slots = self.inner.slots.config();
        RuntimeConfig {
            queue_capacity: slots.max_concurrent,
            max_wait: slots.max_wait,
            max_waiting: slots.max_waiting,
            retry_after: slots.retry_after,
            ..self.inner.config.clone()
        }
    }

    /// Applies a whole configuration to the running compartment, as far as a running
    /// runtime allows: the queue settings (`queue_capacity`, `max_wait`, `max_waiting`,
    /// `retry_after`) change at once, without blocking and without cancelling anything
    /// (a smaller queue retires busy slots as their tasks end). Returns the keys that
    /// differ but only take effect in a new compartment (`worker_threads`,
    /// `max_blocking_threads`, `thread_name`, `thread_stack_size`, `enable_io`,
    /// `metrics_interval`), empty when there are none. Nothing changes when the
    /// configuration is invalid.
    ///
    /// ```
    /// use bulkhead_runtime::{RuntimeBulkhead, RuntimeConfig};
    ///
    /// let cpu = RuntimeBulkhead::new("cpu", RuntimeConfig::default()).unwrap();
    /// let wider = RuntimeConfig::default().queue_capacity(64).worker_threads(4);
    /// assert_eq!(cpu.reconfigure(&wider).unwrap(), ["worker_threads"]);
    /// assert_eq!(cpu.stats().target_capacity, 64);
    /// ```
    pub fn reconfigure(&self, config: &RuntimeConfig) -> Result<Vec<&'static str>, ConfigError> {
        config
            .validate()
            .map_err(|e| e.in_compartment(self.name()))?;
        self.inner.slots.reconfigure(&config.slots())?;
        let now = &self.inner.config;
        let thread_name = config.thread_name.as_deref().unwrap_or(self.name());
        let thread_name_differs = thread_name != self.thread_name();
        let restart = [
            (
                "worker_threads",
                config.worker_threads != now.worker_threads,
            ),
            (
                "max_blocking_threads",
                config.max_blocking_threads != now.max_blocking_threads,
            ),
            ("thread_name", thread_name_differs),
            (
                "thread_stack_size",
                config.thread_stack_size != now.thread_stack_size,
            ),
            ("enable_io", config.enable_io != now.enable_io),
            (
                "metrics_interval",
                config.metrics_interval != now.metrics_interval,
            ),
        ];
        Ok(restart
            .into_iter()
            .filter_map(|(key, differs)| differs.then_some(key))
            .collect())
    }

    /// Starts `future` on the compartment if a queue slot is free now; never waits.
    ///
    /// Fails with [`RejectReason::Full`](bulkhead_core::RejectReason::Full) when the
    /// queue is full (whatever `max_wait` says) and
    /// [`RejectReason::Closed`](bulkhead_core::RejectReason::Closed) after
    /// [`close`](Self::close).
    pub fn try_spawn<F>(&self, future: F) -> Result<RuntimeHandle<F::Output>, Rejected>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let slot = self.inner.slots.try_acquire_owned()?;
        Ok(self.start(slot, future, always_ok))
    }

    /// Starts `future` on the compartment, waiting for a queue slot as configured.
    ///
    /// A free slot is taken at once. Otherwise: with `max_wait` zero, fails with
    /// [`RejectReason::Full`](bulkhead_core::RejectReason::Full); with `max_waiting`
    /// submissions already waiting, with
    /// [`RejectReason::QueueFull`](bulkhead_core::RejectReason::QueueFull); else waits
    /// in FIFO order and fails with
    /// [`RejectReason::Timeout`](bulkhead_core::RejectReason::Timeout) after
    /// `max_wait`. Waiting uses the caller's tokio timer.
    ///
    /// The task is running (or queued inside the runtime) when this resolves; the
    /// returned handle aborts it when dropped.
    pub async fn spawn<F>(&self, future: F) -> Result<RuntimeHandle<F::Output>, Rejected>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let slot = self.inner.slots.acquire_owned().await?;
        Ok(self.start(slot, future, always_ok))
    }

    /// Runs the synchronous `f` on the runtime's blocking threads, waiting for a queue
    /// slot as [`spawn`](Self::spawn) does.
    ///
    /// At most `max_blocking_threads` closures run at once; admitted ones beyond that
    /// wait inside the runtime, holding their slot. A closure that has started cannot
    /// be aborted: dropping the handle then only detaches it.
    pub async fn spawn_blocking<F, T>(&self, f: F) -> Result<RuntimeHandle<T>, Rejected>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = self.inner.slots.acquire_owned().await?;
        let slot = BlockingSlot::new(slot, self.inner.in_flight.enter());
        let join = self.inner.handle.spawn_blocking(move || slot.run(f));
        Ok(RuntimeHandle::new(join))
    }

    /// Runs `future` on the compartment and awaits its output, waiting for a queue
    /// slot as [`spawn`](Self::spawn) does.
    ///
    /// Dropping the returned future aborts the task and frees its slot (counted as
    /// [`Outcome::Cancelled`](bulkhead_core::Outcome::Cancelled)). A panic comes back as
    /// [`ExecuteError::Panicked`]. Awaiting works from any executor; only a wait for a
    /// slot needs tokio's timer.
    pub async fn execute<F>(&self, future: F) -> Result<F::Output, ExecuteError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn(future).await?.await
    }

    /// Runs fallible `future` on the compartment, keeping its error beside rejections
    /// and panics: an `Err` comes back as [`ExecuteError::Backend`] and is counted as
    /// [`Outcome::Error`](bulkhead_core::Outcome::Error).
    pub async fn execute_result<F, T, E>(&self, future: F) -> Result<T, ExecuteError<E>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let slot = self.inner.slots.acquire_owned().await?;
        flatten(self.start(slot, future, by_result).await)
    }

    /// Runs the synchronous `f` on the runtime's blocking threads and awaits its
    /// output; see [`spawn_blocking`](Self::spawn_blocking).
    pub async fn execute_blocking<F, T>(&self, f: F) -> Result<T, ExecuteError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_blocking(f).await?.await
    }

    /// Starts `future` in a slot already taken through [`Admission`] (`try_admit` or
    /// `admit`); the task owns the slot from now on.
    ///
    /// For integrations that admit first and decide what to run after, such as the
    /// tower layer. The permit must come from this compartment.
    pub fn spawn_admitted<F>(&self, permit: RuntimePermit, future: F) -> RuntimeHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        debug_assert_eq!(permit.compartment(), self.name());
        self.start(permit.slot, future, always_ok)
    }

    /// Like [`spawn_admitted`](Self::spawn_admitted) for fallible work: an `Err`
    /// output is counted as [`Outcome::Error`](bulkhead_core::Outcome::Error).
    pub fn spawn_admitted_result<F, T, E>(
        &self,
        permit: RuntimePermit,
        future: F,
    ) -> RuntimeHandle<Result<T, E>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        debug_assert_eq!(permit.compartment(), self.name());
        self.start(permit.slot, future, by_result)
    }

    #[inline]
    fn start<F>(
        &self,
        slot: OwnedSemaphorePermit,
        future: F,
        classify: Classify<F::Output>,
    ) -> RuntimeHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let inner = &*self.inner;
        let task = Task::new(future, slot, classify, inner.in_flight.enter());
        RuntimeHandle::new(inner.handle.spawn(inner.tasks.instrument(task)))
    }

    /// Resolves at a moment when no admitted work is in flight (queued, running, or a
    /// blocking closure), every slot given back.
    pub async fn idle(&self) {
        self.inner.in_flight.idle().await
    }

    /// Refuses new work and wakes submissions waiting for a slot with
    /// [`RejectReason::Closed`](bulkhead_core::RejectReason::Closed). Work already
    /// admitted runs to completion; the runtime keeps running until
    /// [`shutdown`](Self::shutdown) or the last handle is dropped.
    pub fn close(&self) {
        self.inner.slots.close();
    }

    /// Whether [`close`](Self::close) (or [`shutdown`](Self::shutdown)) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.slots.is_closed()
    }

    /// Closes the compartment, waits up to `deadline` for admitted work to end, then
    /// stops the runtime and waits for its threads to exit.
    ///
    /// Work still in flight at the deadline is not waited for: async tasks are dropped
    /// at their next `.await` (slots freed as cancelled, callers told
    /// [`ExecuteError::ShutDown`]); blocking closures run on, detached. The threads get
    /// what is left of `deadline`, at least [`MIN_STOP_WAIT`], to exit; a worker stuck
    /// in a task that never yields, or a blocking closure still running, keeps its
    /// thread, and the report counts it in
    /// [`threads_left`](ShutdownReport::threads_left). So `shutdown` returns within
    /// about `deadline + MIN_STOP_WAIT`, whatever the tasks do.
    ///
    /// The waiting happens on a plain thread, so the returned future can be awaited
    /// from any executor, and dropping it does not stop the shutdown. Calling it again
    /// waits for the remaining work again and reports; the runtime is stopped once.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let started = Instant::now();
        self.close();
        let in_flight = Arc::clone(&self.inner.in_flight);
        let threads = Arc::clone(&self.inner.threads);
        let runtime = Arc::clone(&self.inner.runtime);
        let (done, report) = oneshot::channel();
        let stop = move || {
            let drained = in_flight.wait_idle_blocking(deadline);
            let unfinished = in_flight.count();
            if let Some(runtime) = lock(&runtime).take() {
                let left = deadline.saturating_sub(started.elapsed());
                runtime.shutdown_timeout(left.max(MIN_STOP_WAIT));
            }
            let _ = done.send(ShutdownReport {
                drained,
                unfinished,
                threads_left: threads.load(Ordering::SeqCst),
                elapsed: started.elapsed(),
            });
        };
        let spawned = std::thread::Builder::new()
            .name("bulkhead-stop".into())
            .spawn(stop);
        if spawned.is_err() {
            // No thread to wait on: stop without waiting.
            let unfinished = self.inner.in_flight.count();
            if let Some(runtime) = lock(&self.inner.runtime).take() {
                runtime.shutdown_background();
            }
            return ShutdownReport {
                drained: unfinished == 0,
                unfinished,
                threads_left: self.inner.threads.load(Ordering::SeqCst),
                elapsed: started.elapsed(),
            };
        }
        report.await.unwrap_or(ShutdownReport {
            drained: false,
            unfinished: self.inner.in_flight.count(),
            threads_left: self.inner.threads.load(Ordering::SeqCst),
            elapsed: started.elapsed(),
        })
    }

    /// Samples the runtime and task figures now, over the interval since the previous
    /// call (or since the compartment was built).
    pub fn runtime_stats(&self) -> RuntimeStats {
        let threads = self.inner.threads.load(Ordering::SeqCst);
        lock(&self.inner.on_demand).sample(threads)
    }

    /// The figures the sampler task recorded last, every `metrics_interval`; `None`
    /// without a `metrics_interval` or before its first sample.
    pub fn latest_runtime_stats(&self) -> Option<RuntimeStats> {
        self.inner.latest.borrow().clone()
    }

    /// A receiver that sees each sample the sampler task records (see
    /// [`latest_runtime_stats`](Self::latest_runtime_stats)).
    pub fn watch_runtime_stats(&self) -> watch::Receiver<Option<RuntimeStats>> {
        self.inner.latest.subscribe()
    }

    /// Reports the runtime kind's own metrics by name:
    /// [`RUNTIME_BUSY_RATIO`](bulkhead_core::names::RUNTIME_BUSY_RATIO) and
    /// [`RUNTIME_QUEUE_DEPTH`](bulkhead_core::names::RUNTIME_QUEUE_DEPTH), from the
    /// sampler's latest figures when `metrics_interval` is set, else from a sample taken
    /// now (covering the time since the previous one).
    ///
    /// Also [`Compartment::report_figures`], through which telemetry reads them.
    ///
    /// ```
    /// use bulkhead_runtime::{names, RuntimeBulkhead, RuntimeConfig};
    ///
    /// let cpu = RuntimeBulkhead::new("cpu", RuntimeConfig::default()).unwrap();
    /// let mut seen = Vec::new();
    /// cpu.report_figures(&mut |name, value| seen.push((name, value)));
    /// assert_eq!(seen[0].0, names::RUNTIME_BUSY_RATIO);
    /// assert_eq!(seen[1], (names::RUNTIME_QUEUE_DEPTH, 0.0));
    /// ```
    pub fn report_figures(&self, report: &mut dyn FnMut(&'static str, f64)) {
        let stats = self
            .latest_runtime_stats()
            .unwrap_or_else(|| self.runtime_stats());
        report(names::RUNTIME_BUSY_RATIO, stats.busy_ratio());
        report(names::RUNTIME_QUEUE_DEPTH, stats.global_queue_depth as f64);
    }

    /// The tokio-metrics monitor that instruments every task of the compartment, for
    /// tokio-metrics' own reporters.
    pub fn task_monitor(&self) -> &TaskMonitor {
        &self.inner.tasks
    }

    /// The compartment's tokio runtime handle, for runtime-level tools (a
    /// `tokio_metrics::RuntimeMonitor`, tokio-console).
    ///
    /// Work spawned through it bypasses the compartment: no queue slot, no stats, no
    /// task monitor, no drain on shutdown.
    pub fn tokio_handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// A snapshot of the queue slots: capacity, tasks in flight, submissions waiting,
    /// and counters.
    pub fn stats(&self) -> Stats {
        self.inner.slots.stats()
    }
}

fn flatten<T, E>(joined: Result<Result<T, E>, ExecuteError>) -> Result<T, ExecuteError<E>> {
    match joined {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(ExecuteError::Backend(e)),
        Err(e) => Err(e.map_backend(|never| match never {})),
    }
}

impl fmt::Debug for RuntimeBulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBulkhead")
            .field("name", &self.name())
            .field("config", &self.config())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Compartment for RuntimeBulkhead {
    fn info(&self) -> &CompartmentInfo {
        Compartment::info(&self.inner.slots)
    }

    fn stats(&self) -> Stats {
        self.inner.slots.stats()
    }

    fn close(&self) {
        RuntimeBulkhead::close(self)
    }

    fn is_closed(&self) -> bool {
        RuntimeBulkhead::is_closed(self)
    }

    fn report_figures(&self, report: &mut dyn FnMut(&'static str, f64)) {
        RuntimeBulkhead::report_figures(self, report)
    }
}

/// Admission hands out queue slots; start work in one with
/// [`spawn_admitted`](RuntimeBulkhead::spawn_admitted).
///
/// A generic `bulkhead_tower::BulkheadLayer` over a runtime compartment only counts
/// slots and runs the service on the caller's runtime; `bulkhead_tower::RuntimeLayer`
/// (feature `runtime`) runs each call on the compartment.
impl Admission for RuntimeBulkhead {
    type Permit = RuntimePermit;

    #[inline]
    fn try_admit(&self) -> Result<RuntimePermit, Rejected> {
        let slot = self.inner.slots.try_acquire_owned()?;
        Ok(RuntimePermit { slot })
    }

    #[inline]
    fn admit(&self) -> AdmitFuture<RuntimePermit> {
        let mut admit = Admission::admit(&self.inner.slots);
        if admit.is_ready() {
            // A decided admission does not look at the context.
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(decided) = Pin::new(&mut admit).poll(&mut cx) {
                return AdmitFuture::ready(decided.map(|slot| RuntimePermit { slot }));
            }
        }
        AdmitFuture::waiting(async move { admit.await.map(|slot| RuntimePermit { slot }) })
    }
}
