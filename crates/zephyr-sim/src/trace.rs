//! The event trace: thread switches, interrupts and timeouts, stamped with virtual time.
//!
//! Enabled with [`crate::Sim::trace`]; the records come back in [`crate::Outcome::trace`].
//! Two runs of the same program give the same trace (the simulator is deterministic), so
//! tests can assert on it line by line.

use std::fmt;

/// Something the kernel did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// The CPU went from one thread to another (slot numbers; 0 is idle, 1 is main).
    Switch {
        /// Thread that ran before.
        from: u32,
        /// Thread that runs now.
        to: u32,
    },
    /// A thread was created.
    Create {
        /// Its slot.
        thread: u32,
    },
    /// A thread ended.
    Exit {
        /// Its slot.
        thread: u32,
    },
    /// A thread's timeout expired (end of a sleep, timed wait or start delay), in the system
    /// clock ISR.
    Timeout {
        /// Its slot.
        thread: u32,
    },
    /// A `k_timer` expired, in the system clock ISR.
    TimerExpiry {
        /// The timer's number: timers are numbered in `k_timer_init` order from 1.
        timer: u32,
    },
    /// A simulated device interrupt ran.
    Irq,
    /// The ISR of an interrupt line ([`zephyr_sys::irq_connect_dynamic`]) begins.
    IrqEnter {
        /// The line.
        irq: u32,
    },
    /// That ISR ends.
    IrqExit {
        /// The line.
        irq: u32,
    },
    /// A simulated device did something visible on its pins or bus (an output changed, a
    /// byte went out on a UART, an I2C transfer ended).
    Device {
        /// The device's node label.
        device: String,
        /// What happened, in a few words (`"pin 13 -> 1"`, `"tx 0x41"`).
        what: String,
    },
}

/// One trace entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRecord {
    /// Hardware cycle counter when it happened.
    pub cycles: u64,
    /// Kernel tick when it happened (`k_uptime_ticks`).
    pub tick: i64,
    /// What happened.
    pub event: TraceEvent,
}

/// A trace with the thread names needed to print it.
pub struct Trace<'a> {
    pub(crate) records: &'a [TraceRecord],
    pub(crate) names: &'a [String],
}

impl Trace<'_> {
    fn name(&self, slot: u32) -> &str {
        self.names.get(slot as usize).map(String::as_str).unwrap_or("?")
    }
}

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in self.records {
            write!(f, "T={} c={} ", r.tick, r.cycles)?;
            match &r.event {
                &TraceEvent::Switch { from, to } => {
                    writeln!(f, "switch {} -> {}", self.name(from), self.name(to))?
                }
                &TraceEvent::Create { thread } => writeln!(f, "create {}", self.name(thread))?,
                &TraceEvent::Exit { thread } => writeln!(f, "exit {}", self.name(thread))?,
                &TraceEvent::Timeout { thread } => writeln!(f, "timeout {}", self.name(thread))?,
                TraceEvent::TimerExpiry { timer } => writeln!(f, "timer-expiry #{timer}")?,
                TraceEvent::Irq => writeln!(f, "irq")?,
                TraceEvent::IrqEnter { irq } => writeln!(f, "irq {irq} enter")?,
                TraceEvent::IrqExit { irq } => writeln!(f, "irq {irq} exit")?,
                TraceEvent::Device { device, what } => writeln!(f, "{device}: {what}")?,
            }
        }
        Ok(())
    }
}

/// Names an Embassy task in the trace file ([`crate::Sim::trace_file`]): embassy-executor's
/// tracing hooks identify a task only by a number (`SpawnToken::id`), so its track shows
/// `task N` (in spawn order) unless named here. Call it before or after spawning, on a
/// simulated thread; outside a simulation, or when no trace file is written, it does nothing.
pub fn name_task(task_id: u32, name: &str) {
    if !crate::kernel::running() {
        return;
    }
    crate::kernel::with(|k| {
        if let Some(timeline) = k.timeline.as_mut() {
            timeline.name_task(task_id, name);
        }
    });
}
