//! The hang diagnostic: a host thread that notices when a simulated thread runs for a long
//! wall-clock time without ever giving up the CPU.
//!
//! No time passes while simulated code runs, so a loop that waits for time or for another
//! thread without a kernel call that blocks (`while k_uptime_ticks() < t {}`) never ends: on
//! `native_sim` too. The simulator cannot interrupt it, but it can say what is going on. The
//! scheduler bumps a counter each time it resumes a thread or virtual time moves (idle or
//! `k_busy_wait`); when the counter
//! stands still for the configured wall-clock interval while a thread runs, the watchdog prints
//! a diagnostic naming that thread to stderr (once per stall).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

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
    done: AtomicBool,
}

impl Watch {
    /// Records progress. Only the simulation's thread writes the counter, so a plain store
    /// suffices (no read-modify-write on the hot path of every switch).
    pub fn bump(&self) {
        self.progress
            .store(self.progress.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }
}

/// A running watchdog; stops when dropped.
pub struct Watchdog {
    watch: Arc<Watch>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching, checking every `interval`.
    pub fn start(watch: Arc<Watch>, interval: Duration) -> Self {
        let w = watch.clone();
        let thread = std::thread::Builder::new()
            .name("zephyr-sim-watchdog".into())
            .spawn(move || {
                let mut last = w.progress.load(Ordering::Relaxed);
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
                        reported = false;
                        continue;
                    }
                    if !reported {
                        reported = true;
                        let name = w
                            .names
                            .lock()
                            .ok()
                            .and_then(|n| n.get(slot as usize).cloned())
                            .unwrap_or_else(|| format!("thread#{slot}"));
                        eprintln!("{}", stall_message(&name, interval));
                        w.stalls.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .expect("cannot start the simulator's watchdog thread");
        Watchdog { watch, thread: Some(thread) }
    }
}

/// The diagnostic for a thread that ran `interval` of wall time without giving up the CPU.
pub fn stall_message(name: &str, interval: Duration) -> String {
    format!(
        "zephyr-sim: thread '{name}' has run for {} ms of wall-clock time without blocking, \
         yielding, or letting virtual time pass. Virtual time does not pass while code runs: \
         a loop that waits for time or for another thread must block (k_sleep, k_sem_take, \
         ...), or spin with k_busy_wait.",
        interval.as_millis()
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
