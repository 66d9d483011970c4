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
//! Each running ISR's level is kept on a stack ([`Nvic::active`]): its top is the running
//! level, and it names the innermost ISR in a panic report.
//!
//! # Zero-latency interrupts
//!
//! With `CONFIG_ZERO_LATENCY_IRQS` ([`crate::Sim::zero_latency_irqs`]), a line connected with
//! `IRQ_ZERO_LATENCY` runs at hardware priority 0, whatever priority it was given
//! (arch/arm/core/aarch32/irq_manage.c:77-78): above the system clock and every other line, and
//! `irq_lock` (a BASEPRI raise to `_EXC_IRQ_DEFAULT_PRIO`) does not mask it. The other lines
//! move down one hardware level (`_EXC_SVC_PRIO` becomes 1, include/arch/arm/aarch32/exc.h:52),
//! so `IRQ_PRIO_LOWEST` is one less ([`prio_lowest`]). Such an ISR must not use the kernel: it
//! can interrupt the kernel anywhere, even inside a locked section. Here any kernel call from
//! it is a fatal error naming the line. Without the option the flag is ignored.
//!
//! Levels: the running level counts in hardware steps, [`ZLI_LEVEL`] for a zero-latency ISR,
//! then a Zephyr priority `p` at `p + 1` (the system clock, priority 0, at [`CLOCK_LEVEL`]).

use std::ffi::c_void;

use zephyr_sys::{zr_irq_routine_t, CONFIG_NUM_IRQS};

/// Number of lines of the simulated board (`CONFIG_NUM_IRQS`, at most 64: the bits of a `u64`).
pub const NUM_IRQS: u32 = CONFIG_NUM_IRQS;
const _: () = assert!(NUM_IRQS <= 64, "the simulated NVIC keeps its lines' bits in a u64");

/// The running level of thread context: below every priority.
pub const THREAD_LEVEL: u32 = 256;

/// The level of a zero-latency ISR: above every other.
pub const ZLI_LEVEL: u32 = 0;

/// The level of the system clock ISR and the device interrupts (Zephyr priority 0).
pub const CLOCK_LEVEL: u32 = 1;

/// The level of a line of Zephyr priority `priority`.
pub fn level_of(priority: u8) -> u32 {
    u32::from(priority) + 1
}

/// The least urgent priority a line may have (`IRQ_PRIO_LOWEST`, include/arch/arm/aarch32/
/// exc.h: `BIT(NUM_IRQ_PRIO_BITS) - _IRQ_PRIO_OFFSET - 1` with 3 priority bits, an offset of 1,
/// or 2 with zero-latency interrupts).
pub fn prio_lowest(zero_latency_irqs: bool) -> u32 {
    8 - 1 - 1 - u32::from(zero_latency_irqs)
}

const _: () = assert!(
    zephyr_sys::zr_IRQ_PRIO_LOWEST == 6 - zephyr_sys::CONFIG_ZERO_LATENCY_IRQS as u32,
    "zephyr-sys's zr_IRQ_PRIO_LOWEST is the simulated NVIC's"
);

/// One interrupt line.
#[derive(Clone, Copy)]
pub struct Line {
    /// The ISR (`None`: never connected).
    pub routine: zr_irq_routine_t,
    /// Its argument.
    pub parameter: *const c_void,
    /// Its priority (0 is the most urgent).
    pub priority: u8,
    /// Connected as a zero-latency interrupt (module docs).
    pub zero_latency: bool,
}

impl Line {
    /// The level its ISR runs at.
    pub fn level(&self) -> u32 {
        if self.zero_latency {
            ZLI_LEVEL
        } else {
            level_of(self.priority)
        }
    }
}

/// The interrupt controller's state.
pub struct Nvic {
    /// The lines, by number.
    pub lines: Vec<Line>,
    /// Pending bit of each line.
    pub pending: u64,
    /// Enabled bit of each line.
    pub enabled: u64,
    /// The ISRs running, innermost last: level (module docs), and the line (`None` for the
    /// system clock and device interrupts).
    pub active: Vec<(u32, Option<u32>)>,
}

impl Default for Nvic {
    fn default() -> Self {
        Nvic {
            lines: vec![
                Line {
                    routine: None,
                    parameter: std::ptr::null(),
                    priority: 0,
                    zero_latency: false
                };
                NUM_IRQS as usize
            ],
            pending: 0,
            enabled: 0,
            active: Vec::with_capacity(8),
        }
    }
}

impl Nvic {
    /// The CPU's running level: the level of the innermost ISR, [`THREAD_LEVEL`] in a thread.
    #[inline]
    pub fn level(&self) -> u32 {
        self.active.last().map_or(THREAD_LEVEL, |&(l, _)| l)
    }

    /// The line to take next at running level `level`: pending, enabled, strictly more urgent
    /// than `level`, and a zero-latency line if interrupts are `locked`; the most urgent, then
    /// the lowest number.
    #[inline]
    pub fn next(&self, level: u32, locked: bool) -> Option<u32> {
        let mut ready = self.pending & self.enabled;
        let mut best: Option<(u32, u32)> = None;
        while ready != 0 {
            let irq = ready.trailing_zeros();
            ready &= ready - 1;
            let line = &self.lines[irq as usize];
            let l = line.level();
            if l < level && (!locked || line.zero_latency) && best.is_none_or(|(b, _)| l < b) {
                best = Some((l, irq));
            }
        }
        best.map(|(_, irq)| irq)
    }

    /// The innermost running ISR, for a report: `the ISR of irq 5 (priority 2)`, `the
    /// zero-latency ISR of irq 3`, or the system clock or a device interrupt.
    pub fn describe_innermost(&self) -> String {
        match self.active.last() {
            Some(&(ZLI_LEVEL, Some(irq))) => format!("the zero-latency ISR of irq {irq}"),
            Some(&(level, Some(irq))) => {
                format!("the ISR of irq {irq} (priority {})", level - 1)
            }
            _ => "an ISR".to_string(),
        }
    }
}
