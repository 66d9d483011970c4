//! The simulated interrupt controller: interrupt lines with priorities, as a Cortex-M NVIC.
//!
//! The simulated board has `CONFIG_NUM_IRQS` lines. Each has a routine and parameter
//! (`irq_connect_dynamic`), a priority from 0 (most urgent) to
//! [`zr_IRQ_PRIO_LOWEST`](zephyr_sys::zr_IRQ_PRIO_LOWEST), and enabled, pending and active
//! bits, as the NVIC has them (Zephyr 2.7 arch/arm/core/aarch32/irq_manage.c programs them).
//!
//! # How a line's ISR comes to run
//!
//! ```text
//!            zr_irq_pend                 deliverable (see below)              routine returns
//!   idle ----------------> pending ------------------------------> active ------------------> idle
//!                           ^  | irq_disable: stays pending          |  zr_irq_pend while active:
//!                           |  v irq_enable: deliverable again       |  pending again, runs once
//!                           +----------------------------------------+  more after the exit
//! ```
//!
//! A pending, enabled line is *deliverable* when its priority is strictly more urgent than the
//! CPU's running level, the priority of the innermost active ISR (a thread runs below every
//! priority), and interrupts are not locked (`irq_lock` in the thread or ISR that runs). It is
//! then taken at once where the request or the change happened (`zr_irq_pend`, `irq_enable`,
//! `irq_unlock`, time advancing in `k_busy_wait` for the system clock), and at each ISR exit
//! the CPU takes the next deliverable line before returning (tail-chaining): the most urgent
//! first, the lower line number among equals (the NVIC's order by exception number).
//!
//! The system clock ISR (timeouts, `k_timer` expiries) and the closure-based device interrupts
//! of [`crate::irq`] run at priority 0, the priority of SysTick at `_IRQ_PRIO_OFFSET`
//! (drivers/timer/cortex_m_systick.c): they nest into an ISR of priority 1 or less urgent while
//! it spins in `k_busy_wait`, and a line of priority 0 waits for them. Among equal priorities
//! the clock goes first (SysTick is exception 15, lines start at 16).
//!
//! Each running ISR's priority is kept on a stack ([`Nvic::active`]): its top is the running
//! level, and it names the innermost ISR in a panic report.

use std::ffi::c_void;

use zephyr_sys::{zr_irq_routine_t, CONFIG_NUM_IRQS};

/// Number of lines of the simulated board (`CONFIG_NUM_IRQS`, at most 64: the bits of a `u64`).
pub const NUM_IRQS: u32 = CONFIG_NUM_IRQS;
const _: () = assert!(NUM_IRQS <= 64, "the simulated NVIC keeps its lines' bits in a u64");

/// The running level of thread context: below every priority.
pub const THREAD_LEVEL: u32 = 256;

/// One interrupt line.
#[derive(Clone, Copy)]
pub struct Line {
    /// The ISR (`None`: never connected).
    pub routine: zr_irq_routine_t,
    /// Its argument.
    pub parameter: *const c_void,
    /// Its priority (0 is the most urgent).
    pub priority: u8,
}

/// The interrupt controller's state.
pub struct Nvic {
    /// The lines, by number.
    pub lines: Vec<Line>,
    /// Pending bit of each line.
    pub pending: u64,
    /// Enabled bit of each line.
    pub enabled: u64,
    /// The ISRs running, innermost last: priority, and the line (`None` for the system clock
    /// and device interrupts).
    pub active: Vec<(u8, Option<u32>)>,
}

impl Default for Nvic {
    fn default() -> Self {
        Nvic {
            lines: vec![
                Line { routine: None, parameter: std::ptr::null(), priority: 0 };
                NUM_IRQS as usize
            ],
            pending: 0,
            enabled: 0,
            active: Vec::with_capacity(8),
        }
    }
}

impl Nvic {
    /// The CPU's running level: the priority of the innermost ISR, [`THREAD_LEVEL`] in a thread.
    #[inline]
    pub fn level(&self) -> u32 {
        self.active.last().map_or(THREAD_LEVEL, |&(p, _)| u32::from(p))
    }

    /// The line to take next at running level `level`: pending, enabled, strictly more urgent
    /// than `level`; the most urgent, then the lowest number.
    #[inline]
    pub fn next(&self, level: u32) -> Option<u32> {
        let mut ready = self.pending & self.enabled;
        let mut best: Option<(u32, u32)> = None;
        while ready != 0 {
            let irq = ready.trailing_zeros();
            ready &= ready - 1;
            let prio = u32::from(self.lines[irq as usize].priority);
            if prio < level && best.is_none_or(|(p, _)| prio < p) {
                best = Some((prio, irq));
            }
        }
        best.map(|(_, irq)| irq)
    }

    /// The innermost running ISR, for a report: `the ISR of irq 5 (priority 2)`, or the
    /// system clock or a device interrupt.
    pub fn describe_innermost(&self) -> String {
        match self.active.last() {
            Some(&(prio, Some(irq))) => format!("the ISR of irq {irq} (priority {prio})"),
            _ => "an ISR".to_string(),
        }
    }
}
