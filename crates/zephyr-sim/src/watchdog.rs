//! The hang watchdog: a host thread that notices when a simulated thread runs for a long
//! wall-clock time without ever giving up the CPU, reports it, and ends the run if it lasts.
//!
//! No time passes while simulated code runs, so a loop that waits for time or for another
//! thread without a kernel call that blocks (`while k_uptime_ticks() < t {}`) never ends: on
//! `native_sim` too. The scheduler bumps a counter each time it resumes a thread or virtual
//! time moves (idle or `k_busy_wait`); the watchdog samples it every interval.
//!
//! ```text
//!   PROGRESSING ── stood still one interval ──► REPORTED ── stood still the limit ──► STOPPING
//!        ▲          (report to stderr, once)        │        (Watch::stop = thread)
//!        └────── counter moved, or idle runs ───────┘
//!
//!   STOPPING ── the thread's next kernel call (kernel::with unwinds it) ──► SimError::Stalled
//!   STOPPING ── no kernel call one interval later (SIGURG redirects it) ──► SimError::Stalled
//! ```
//!
//! *Report*: a diagnostic naming the thread goes to stderr, once per stall (counted in
//! [`crate::Outcome::stalls`]). *Stop*: when the stall outlasts [`crate::Sim::stall_limit`],
//! the watchdog sets [`Watch::stop`] to the stalled thread (and raises the host thread's stop
//! flag, which every kernel entry tests). A thread that still makes kernel
//! calls (`k_sem_take(K_NO_WAIT)`, `k_uptime_ticks()`) is unwound to the scheduler at the next
//! one, as [`crate::exit`] unwinds (its destructors run). A loop without any kernel call is
//! interrupted one interval later: the watchdog signals the simulation's host thread, whose
//! handler makes the running thread stop and the scheduler run (see [`crate::signals`]; Linux
//! x86_64 and aarch64 only). Either way [`crate::Sim::run`] returns
//! [`crate::SimError::Stalled`] naming the thread.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::signals::Interrupter;

/// State shared between the simulation and its watchdog.
#[derive(Default)]
pub struct Watch {
    /// Bumped at every thread resume and time step.
    pub progress: AtomicU64,
    /// Slot of the running thread (0: idle).
    pub running: AtomicU32,
    /// Thread names by slot, updated when threads are created or named.
    pub names: Mutex<Vec<String>>,
    /// Diagnostics printed so far.
    pub stalls: AtomicU32,
    /// Set by the watchdog to the slot of a thread whose stall outlasted the limit (0: no stop
    /// requested; the idle thread never stalls): the kernel ends the run at the next kernel
    /// call, or the scheduler at its next turn.
    pub stop: AtomicU32,
    /// How long that stall had lasted, in milliseconds of wall-clock time.
    pub stalled_ms: AtomicU64,
    done: AtomicBool,
}

impl Watch {
    /// Records progress. Only the simulation's thread writes the counter, so a plain store
    /// suffices (no read-modify-write on the hot path of every switch).
    pub fn bump(&self) {
        self.progress
            .store(self.progress.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    /// The slot of the thread the watchdog asked to stop, if it did (one relaxed load: this is
    /// read at every switch; a kernel entry reads the host thread's stop flag, which the
    /// watchdog raises after it stores this, `crate::kernel::StopFlag`).
    pub fn stop_requested(&self) -> Option<u32> {
        match self.stop.load(Ordering::Relaxed) {
            0 => None,
            slot => Some(slot),
        }
    }

    /// How long the stall that made the watchdog stop the run had lasted.
    pub fn stalled_for(&self) -> Duration {
        Duration::from_millis(self.stalled_ms.load(Ordering::Relaxed))
    }
}

/// A running watchdog; stops when dropped.
pub struct Watchdog {
    watch: Arc<Watch>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching the simulation that runs on the calling host thread, checking every
    /// `interval`; a stall is reported once it lasted `interval` and stopped once it lasted
    /// `limit` (never with `None`).
    ///
    /// The returned value must be dropped on the calling host thread before that thread exits
    /// ([`crate::Sim::run`] drops it before it returns): the watchdog may signal that thread.
    pub fn start(watch: Arc<Watch>, interval: Duration, limit: Option<Duration>) -> Self {
        let w = watch.clone();
        let host = (Interrupter::current(), crate::kernel::StopFlag::current());
        let thread = std::thread::Builder::new()
            .name("zephyr-sim-watchdog".into())
            .spawn(move || watch_loop(&w, interval, limit, &host.0, &host.1))
            .expect("cannot start the simulator's watchdog thread");
        Watchdog { watch, thread: Some(thread) }
    }
}

fn watch_loop(
    w: &Watch,
    interval: Duration,
    limit: Option<Duration>,
    host: &Interrupter,
    flag: &crate::kernel::StopFlag,
) {
    let mut last = w.progress.load(Ordering::Relaxed);
    let mut since = Instant::now();
    let mut reported = false;
    loop {
        std::thread::park_timeout(interval);
        if w.done.load(Ordering::Acquire) {
            return;
        }
        let now = w.progress.load(Ordering::Relaxed);
        let slot = w.running.load(Ordering::Relaxed);
        if now != last || slot == 0 {
            last = now;
            since = Instant::now();
            reported = false;
            continue;
        }
        let stalled = since.elapsed();
        if stalled < interval {
            continue; // an early wake-up of park_timeout
        }
        if !reported {
            reported = true;
            eprintln!("zephyr-sim: {}", stall_report(&thread_name(w, slot), stalled));
            w.stalls.fetch_add(1, Ordering::Relaxed);
        }
        if limit.is_some_and(|limit| stalled >= limit) {
            if w.stop_requested().is_none() {
                w.stalled_ms.store(stalled.as_millis() as u64, Ordering::Relaxed);
                w.stop.store(slot, Ordering::Release);
                // SAFETY: the host thread is alive: this watchdog is joined before
                // `Sim::run` returns on it (`Watchdog::start`'s contract).
                unsafe { flag.raise() };
            } else {
                // A whole interval after the stop request the thread has not reached a kernel
                // call: it spins in its own code. Interrupt it (again each interval, should
                // the signal find it inside a kernel call).
                host.interrupt();
            }
        }
    }
}

/// The name of thread `slot`, as last registered. `try_lock`: a simulated thread abandoned by
/// a fault while holding the lock must not hang the watchdog (and the run's end, which joins
/// it).
fn thread_name(w: &Watch, slot: u32) -> String {
    w.names
        .try_lock()
        .ok()
        .and_then(|n| n.get(slot as usize).cloned())
        .unwrap_or_else(|| format!("thread#{slot}"))
}

/// The diagnostic for a thread named `name` that ran `stalled` of wall time without giving up
/// the CPU.
pub fn stall_report(name: &str, stalled: Duration) -> String {
    format!(
        "thread '{name}' has run for {} ms of wall-clock time without blocking, yielding, or \
         letting virtual time pass. Virtual time does not pass while code runs: a loop that \
         waits for time or for another thread must block (k_sleep, k_sem_take, ...), or spin \
         with k_busy_wait.",
        stalled.as_millis()
    )
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.watch.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
