//! Simulated device interrupts: run a closure in ISR context at a chosen virtual time.
//!
//! This is how simulated peripherals (and tests) raise interrupts. The closure runs with
//! `k_is_in_isr()` true, may use every ISR-safe kernel call (`k_sem_give`, `k_timer_start`,
//! `k_poll_signal_raise`, ...), and its exit is a reschedule point: a thread it readied that
//! is more urgent than a preemptible interrupted thread runs right after it.

use crate::kernel::with;
use crate::switch::{interrupt_exit, run_due_interrupts};

/// Raises an interrupt `cycles` hardware cycles from now (0: as soon as the CPU can take it).
///
/// From a thread with interrupts unlocked, an interrupt due now runs before this returns.
///
/// # Panics
/// Outside a simulation.
pub fn raise_after_cycles(cycles: u64, isr: impl FnOnce() + 'static) {
    let at = with(|k| k.now.saturating_add(cycles));
    raise_at_cycle(at, isr);
}

/// Raises an interrupt `us` microseconds from now.
pub fn raise_after_us(us: u64, isr: impl FnOnce() + 'static) {
    let cycles = with(|k| (us as u128 * k.cycles_per_sec as u128 / 1_000_000) as u64);
    raise_after_cycles(cycles, isr);
}

/// Raises an interrupt when the cycle counter reaches `cycle` (at once if it has).
///
/// In seeded mode ([`crate::Sim::seed`]) the arrival varies within what the hardware allows:
/// an interrupt for a later cycle arrives anywhere in the tick of that cycle (never before
/// now); one due now, raised from a thread, arrives at one of the thread's next few interrupt
/// points (kernel calls), or as soon as it blocks.
pub fn raise_at_cycle(cycle: u64, isr: impl FnOnce() + 'static) {
    let take_now = with(|k| {
        if let Some(r) = k.random() {
            if cycle <= k.now && k.may_swap() {
                let countdown = (r % 8) as u32;
                if countdown > 0 {
                    k.deferred_irqs.push_back((countdown, Box::new(isr)));
                    return false;
                }
            }
        }
        let cycle = match k.random() {
            Some(r) if cycle > k.now => {
                let tick = k.tick_of(cycle);
                let (start, end) = (k.cycle_of_tick(tick), k.cycle_of_tick(tick + 1));
                (start + r % (end - start).max(1)).max(k.now)
            }
            _ => cycle,
        };
        k.seq += 1;
        let key = (cycle, k.seq);
        k.irqs.insert(key, Box::new(isr));
        cycle <= k.now && k.may_swap()
    });
    if take_now && run_due_interrupts() {
        interrupt_exit();
    }
}

/// Current value of the hardware cycle counter.
pub fn now_cycles() -> u64 {
    with(|k| k.now)
}

/// The least urgent priority `irq_connect_dynamic` accepts in the running simulation
/// (`IRQ_PRIO_LOWEST`): 6 on the simulated board, 5 with zero-latency interrupts
/// ([`crate::Sim::zero_latency_irqs`]), which `zephyr_sys::zr_IRQ_PRIO_LOWEST`, a constant of
/// the board's configuration, does not follow.
///
/// # Panics
/// Outside a simulation.
pub fn prio_lowest() -> u32 {
    crate::kernel::peek(|k| crate::nvic::prio_lowest(k.zero_latency_irqs))
}
