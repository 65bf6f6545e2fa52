//! Runtime and task figures from tokio-metrics.

use std::time::Duration;

use tokio::runtime::Handle;
use tokio_metrics::{RuntimeIntervals, RuntimeMonitor, TaskIntervals, TaskMonitor};

/// Figures of a compartment's runtime and of the tasks it ran, over one sampling
/// interval.
///
/// Gauges (`workers`, `threads`, `alive_tasks`, `global_queue_depth`) describe the moment
/// of the sample; every other figure covers the interval since the previous sample
/// taken by the same sampler (`elapsed` long): [`runtime_stats`] samples on demand,
/// and the sampler task started by `metrics_interval` keeps its own intervals for
/// [`latest_runtime_stats`]. The figures come from tokio's runtime metrics through
/// [`tokio_metrics::RuntimeMonitor`] and from a [`tokio_metrics::TaskMonitor`] that
/// instruments every task the compartment runs.
///
/// Figures that tokio only offers with `RUSTFLAGS="--cfg tokio_unstable"` are in
/// `unstable` (an `UnstableRuntimeStats`), present only in such builds.
///
/// [`runtime_stats`]: crate::RuntimeBulkhead::runtime_stats
/// [`latest_runtime_stats`]: crate::RuntimeBulkhead::latest_runtime_stats
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RuntimeStats {
    /// Worker threads of the runtime.
    pub workers: usize,
    /// Threads of the runtime alive at the sample: workers plus blocking threads
    /// (blocking threads linger idle for a while after their work).
    pub threads: usize,
    /// Tasks alive in the runtime, as tokio counts them: queued, running or idle. It
    /// includes the sampler task when `metrics_interval` is set.
    pub alive_tasks: usize,
    /// Tasks in the runtime's global queue, waiting for a worker to pick them up.
    /// Work submitted from outside the runtime lands there first, so a deep queue
    /// means the workers cannot keep up.
    pub global_queue_depth: usize,
    /// Length of the interval the other figures cover.
    pub elapsed: Duration,
    /// Time the workers spent busy during the interval, summed over all workers.
    pub busy: Duration,
    /// Busy time of the busiest worker during the interval.
    pub max_worker_busy: Duration,
    /// Busy time of the least busy worker during the interval.
    pub min_worker_busy: Duration,
    /// Times the workers parked (ran out of work and went to sleep) during the
    /// interval, summed over all workers.
    pub parks: u64,
    /// Parks of the worker that parked most during the interval.
    pub max_worker_parks: u64,
    /// Parks of the worker that parked least during the interval.
    pub min_worker_parks: u64,
    /// Figures of the compartment's tasks during the interval.
    pub tasks: TaskStats,
    /// Figures only tokio built with `--cfg tokio_unstable` offers.
    #[cfg(tokio_unstable)]
    #[cfg_attr(docsrs, doc(cfg(tokio_unstable)))]
    pub unstable: UnstableRuntimeStats,
}

impl RuntimeStats {
    /// Share of the workers' time spent busy during the interval, in `0..=1`: `busy`
    /// divided by `elapsed × workers`. Zero for an empty interval.
    ///
    /// (tokio-metrics' own `busy_ratio` is not divided by the number of workers, so it
    /// reaches `workers` when every worker is saturated.)
    pub fn busy_ratio(&self) -> f64 {
        let capacity = self.elapsed.as_secs_f64() * self.workers as f64;
        if capacity <= 0.0 {
            0.0
        } else {
            (self.busy.as_secs_f64() / capacity).clamp(0.0, 1.0)
        }
    }
}

/// Figures of the tasks a compartment ran during one sampling interval, from a
/// [`tokio_metrics::TaskMonitor`].
///
/// Every future submitted with [`spawn`](crate::RuntimeBulkhead::spawn),
/// [`execute`](crate::RuntimeBulkhead::execute) or the tower layer is instrumented;
/// blocking closures are not (they are not polled). A poll is "slow" from 50 µs and a
/// scheduling delay "long" from 50 µs (tokio-metrics' defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskStats {
    /// Tasks submitted.
    pub submitted: u64,
    /// Tasks that ended (completed, panicked or were aborted).
    pub ended: u64,
    /// Tasks polled for the first time.
    pub started: u64,
    /// Time from submission to first poll, summed over `started` tasks: the time new
    /// tasks spent queued inside the runtime before a worker picked them up.
    pub first_poll_delay: Duration,
    /// Times tasks were woken and queued to be polled again.
    pub scheduled: u64,
    /// Time from wake-up to poll, summed over `scheduled` wake-ups: the time woken
    /// tasks waited in the runtime's queues for a worker.
    pub scheduled_delay: Duration,
    /// Wake-ups that waited 50 µs or more for a poll.
    pub long_delays: u64,
    /// Polls of tasks.
    pub polls: u64,
    /// Time spent in polls, summed.
    pub poll_duration: Duration,
    /// Polls that took 50 µs or more: the work a task does between two awaits.
    pub slow_polls: u64,
    /// Time spent in slow polls, summed.
    pub slow_poll_duration: Duration,
    /// Times tasks went idle (waiting for something other than a worker).
    pub idled: u64,
    /// Time tasks spent idle, summed.
    pub idle_duration: Duration,
}

fn mean(total: Duration, count: u64) -> Duration {
    match u32::try_from(count) {
        Ok(0) => Duration::ZERO,
        Ok(n) => total / n,
        Err(_) => Duration::from_secs_f64(total.as_secs_f64() / count as f64),
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl TaskStats {
    /// Mean time a new task waited inside the runtime before its first poll.
    pub fn mean_first_poll_delay(&self) -> Duration {
        mean(self.first_poll_delay, self.started)
    }

    /// Mean time a woken task waited for its next poll.
    pub fn mean_scheduled_delay(&self) -> Duration {
        mean(self.scheduled_delay, self.scheduled)
    }

    /// Mean time a task waited inside the runtime for a worker, first polls and
    /// wake-ups together: the compartment's scheduling delay.
    pub fn mean_scheduling_delay(&self) -> Duration {
        mean(
            self.first_poll_delay + self.scheduled_delay,
            self.started + self.scheduled,
        )
    }

    /// Mean duration of a poll.
    pub fn mean_poll_duration(&self) -> Duration {
        mean(self.poll_duration, self.polls)
    }

    /// Share of polls that were slow, in `0..=1`.
    pub fn slow_poll_ratio(&self) -> f64 {
        ratio(self.slow_polls, self.polls)
    }

    /// Share of wake-ups that waited long for a poll, in `0..=1`.
    pub fn long_delay_ratio(&self) -> f64 {
        ratio(self.long_delays, self.scheduled)
    }
}

/// Runtime figures that need tokio built with `RUSTFLAGS="--cfg tokio_unstable"`, over
/// the same interval as the [`RuntimeStats`] that holds them (depths and thread counts
/// are gauges).
#[cfg(tokio_unstable)]
#[cfg_attr(docsrs, doc(cfg(tokio_unstable)))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnstableRuntimeStats {
    /// Task polls by the workers.
    pub polls: u64,
    /// Mean poll duration (tokio's moving average, weighted by polls per worker).
    pub mean_poll_duration: Duration,
    /// Tasks scheduled from outside the runtime (the global queue's arrivals).
    pub remote_schedules: u64,
    /// Tasks scheduled by a worker onto its own queue.
    pub local_schedules: u64,
    /// Tasks workers stole from each other.
    pub steals: u64,
    /// Times a worker's local queue overflowed into the global queue.
    pub overflows: u64,
    /// Times a worker woke up and found nothing to do.
    pub noops: u64,
    /// Times tasks were forced to yield by tokio's cooperative budget.
    pub budget_forced_yields: u64,
    /// Tasks in the workers' local queues at the sample, summed.
    pub local_queue_depth: usize,
    /// Blocking work waiting for a blocking thread at the sample.
    pub blocking_queue_depth: usize,
    /// Blocking threads at the sample.
    pub blocking_threads: usize,
    /// Idle blocking threads at the sample.
    pub idle_blocking_threads: usize,
}

/// One consumer's view of the runtime and task monitors: each sample covers the time
/// since this sampler's previous one.
pub(crate) struct Sampler {
    runtime: RuntimeIntervals,
    tasks: TaskIntervals,
}

impl Sampler {
    pub(crate) fn new(handle: &Handle, tasks: &TaskMonitor) -> Self {
        let mut tasks = tasks.intervals();
        // The first interval of a task monitor covers everything since the monitor was
        // made: take it now so that this sampler's intervals start together.
        let _ = tasks.next();
        Sampler {
            runtime: RuntimeMonitor::new(handle).intervals(),
            tasks,
        }
    }

    pub(crate) fn sample(&mut self, threads: usize) -> RuntimeStats {
        let r = self.runtime.next().unwrap_or_default();
        let t = self.tasks.next().unwrap_or_default();
        // tokio-metrics starts its minimums at a sentinel; without workers they stay.
        let (min_worker_busy, min_worker_parks) = if r.workers_count == 0 {
            (Duration::ZERO, 0)
        } else {
            (r.min_busy_duration, r.min_park_count)
        };
        RuntimeStats {
            workers: r.workers_count,
            threads,
            alive_tasks: r.live_tasks_count,
            global_queue_depth: r.global_queue_depth,
            elapsed: r.elapsed,
            busy: r.total_busy_duration,
            max_worker_busy: r.max_busy_duration,
            min_worker_busy,
            parks: r.total_park_count,
            max_worker_parks: r.max_park_count,
            min_worker_parks,
            tasks: TaskStats {
                submitted: t.instrumented_count,
                ended: t.dropped_count,
                started: t.first_poll_count,
                first_poll_delay: t.total_first_poll_delay,
                scheduled: t.total_scheduled_count,
                scheduled_delay: t.total_scheduled_duration,
                long_delays: t.total_long_delay_count,
                polls: t.total_poll_count,
                poll_duration: t.total_poll_duration,
                slow_polls: t.total_slow_poll_count,
                slow_poll_duration: t.total_slow_poll_duration,
                idled: t.total_idled_count,
                idle_duration: t.total_idle_duration,
            },
            #[cfg(tokio_unstable)]
            unstable: UnstableRuntimeStats {
                polls: r.total_polls_count,
                mean_poll_duration: r.mean_poll_duration,
                remote_schedules: r.num_remote_schedules,
                local_schedules: r.total_local_schedule_count,
                steals: r.total_steal_count,
                overflows: r.total_overflow_count,
                noops: r.total_noop_count,
                budget_forced_yields: r.budget_forced_yield_count,
                local_queue_depth: r.total_local_queue_depth,
                blocking_queue_depth: r.blocking_queue_depth,
                blocking_threads: r.blocking_threads_count,
                idle_blocking_threads: r.idle_blocking_threads_count,
            },
        }
    }
}
