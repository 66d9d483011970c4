//! CPU accounting: how the simulated CPU's virtual time was spent, per thread, in ISRs and idle.
//!
//! The simulator's counterpart of Zephyr's thread runtime statistics
//! (`CONFIG_THREAD_RUNTIME_STATS`, `k_thread_runtime_stats_get`; in Zephyr 2.7 kernel/thread.c
//! charges the cycles between `z_thread_mark_switched_in` and `z_thread_mark_switched_out` to
//! the thread's `execution_cycles`).
//!
//! # What is measured
//!
//! Code takes no virtual time: virtual time moves only when the kernel moves it, and each
//! advance is charged to whatever holds the CPU at that moment:
//!
//! * to a **thread** while it spins in `k_busy_wait` (the only way a thread makes time pass
//!   while it runs, short of a cost model);
//! * to **ISRs** while an ISR spins in `k_busy_wait` (Zephyr 2.7 charges ISR time to the
//!   interrupted thread; here it is counted apart);
//! * to **idle** when every thread waits and time jumps to the next timeout or interrupt.
//!
//! So the per-thread times, the ISR time and the idle time add up to the run's virtual time
//! exactly. A thread that only computes and waits shows zero running time; what the numbers
//! show is how much of the run the CPU was free: an executor that parks its thread when its
//! tasks wait leaves that time to idle. An executor that polls without parking never blocks,
//! so virtual time would never advance at all (the watchdog reports such a thread); a model of
//! one spins in `k_busy_wait` for each turn of its loop, as the CPU would, and then gets all
//! the time while idle gets none.
//!
//! Counting costs one addition per advance of virtual time and one per thread switch; it is
//! always on.

use std::fmt;

/// How the CPU's virtual time was spent over a run ([`crate::Outcome::cpu`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuStats {
    /// The cycle counter's rate, to convert cycles to time.
    pub cycles_per_sec: u32,
    /// The run's length: the cycle counter at the end.
    pub total_cycles: u64,
    /// Cycles charged to ISRs (an ISR spinning in `k_busy_wait`).
    pub isr_cycles: u64,
    /// How many ISRs ran (system clock ISRs for timeouts and `k_timer` expiries, device
    /// interrupts).
    pub isr_count: u64,
    /// Every thread of the run by slot (0 is idle, 1 is main), dead ones included.
    pub threads: Vec<ThreadCpu>,
}

/// One thread's share of the CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadCpu {
    /// The thread's name (or `thread#<slot>`).
    pub name: String,
    /// Cycles charged to it: time it held the CPU while virtual time advanced (for idle, the
    /// time every other thread waited).
    pub cycles: u64,
    /// How many times the CPU switched to it.
    pub switched_in: u64,
}

impl CpuStats {
    /// Cycles the idle thread had: virtual time during which every thread waited.
    pub fn idle_cycles(&self) -> u64 {
        self.threads.first().map_or(0, |idle| idle.cycles)
    }

    /// The thread named `name`, if any.
    pub fn thread(&self, name: &str) -> Option<&ThreadCpu> {
        self.threads.iter().find(|t| t.name == name)
    }

    /// `cycles` as a share of the run, in per mille (0 for an empty run).
    pub fn per_mille(&self, cycles: u64) -> u64 {
        if self.total_cycles == 0 {
            0
        } else {
            (cycles as u128 * 1000 / self.total_cycles as u128) as u64
        }
    }

    fn micros(&self, cycles: u64) -> u64 {
        (cycles as u128 * 1_000_000 / self.cycles_per_sec as u128) as u64
    }
}

/// A table, one line per thread that ran (idle first, always), then the ISRs: virtual time in
/// milliseconds with microseconds, and the share of the run.
impl fmt::Display for CpuStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |us: u64| format!("{}.{:03}", us / 1000, us % 1000);
        let share = |pm: u64| format!("{}.{}%", pm / 10, pm % 10);
        let width = self.threads.iter().map(|t| t.name.len()).max().unwrap_or(0).max(6);
        writeln!(
            f,
            "CPU over {} ms of virtual time (time a thread held the CPU while time advanced):",
            ms(self.micros(self.total_cycles))
        )?;
        writeln!(f, "  {:<width$} {:>12} {:>7} {:>9}", "thread", "ms", "share", "switches")?;
        for (slot, t) in self.threads.iter().enumerate() {
            if slot != 0 && t.switched_in == 0 && t.cycles == 0 {
                continue;
            }
            writeln!(
                f,
                "  {:<width$} {:>12} {:>7} {:>9}",
                t.name,
                ms(self.micros(t.cycles)),
                share(self.per_mille(t.cycles)),
                t.switched_in
            )?;
        }
        writeln!(
            f,
            "  {:<width$} {:>12} {:>7} {:>9}",
            "(ISRs)",
            ms(self.micros(self.isr_cycles)),
            share(self.per_mille(self.isr_cycles)),
            format!("{} ISRs", self.isr_count)
        )
    }
}
