//! Interrupt lines (include/irq.h): `irq_connect_dynamic`, `irq_enable`, `irq_disable`,
//! `irq_is_enabled`, and the extension `zr_irq_pend` (the simulator's `zsim_irq_pend`). The
//! controller and its rules are in `crate::nvic`.

use std::ffi::{c_int, c_uint, c_void};

use zephyr_sys::{zr_irq_routine_t, IRQ_ZERO_LATENCY};

use crate::kernel::{peek, with};
use crate::nvic::{prio_lowest, NUM_IRQS};
use crate::switch::{interrupt_exit, line_deliverable, run_pending_lines};

/// Panics unless `irq` is a line of the board: Zephyr __ASSERTs it where it indexes its tables
/// (arch/common/sw_isr_common.c `z_get_sw_isr_table_idx`: "IRQ %d out of bounds").
fn check_line(call: &str, irq: c_uint) {
    assert!(
        irq < NUM_IRQS,
        "{call}: irq {irq} out of range: the board has CONFIG_NUM_IRQS = {NUM_IRQS} lines"
    );
}

/// Connects `routine(parameter)` to line `irq` at `priority` (`irq_connect_dynamic`,
/// include/irq.h; on Cortex-M arch/arm/core/aarch32/irq_manage.c `arch_irq_connect_dynamic`:
/// `z_isr_install` then `z_arm_irq_priority_set`). Returns `irq`. Replaces the routine of a
/// connected line; the line's enabled and pending bits are kept. With zero-latency
/// interrupts on the board, `IRQ_ZERO_LATENCY` in `flags` connects a zero-latency line, whose
/// `priority` is ignored (irq_manage.c:77-78); without them the flag is ignored.
///
/// # Panics
/// What Zephyr __ASSERTs: `irq` out of range; `priority` above `IRQ_PRIO_LOWEST`
/// (`zephyr_sys::zr_IRQ_PRIO_LOWEST`; irq_manage.c `z_arm_irq_priority_set`: "invalid
/// priority"); the line enabled (arch/common/sw_isr_common.c `z_isr_install`: "IRQ %d is
/// enabled"). And a null routine.
#[no_mangle]
pub extern "C-unwind" fn irq_connect_dynamic(
    irq: c_uint,
    priority: c_uint,
    routine: zr_irq_routine_t,
    parameter: *const c_void,
    flags: u32,
) -> c_int {
    check_line("irq_connect_dynamic", irq);
    let zli_board = peek(|k| k.zero_latency_irqs);
    let zero_latency = zli_board && flags & IRQ_ZERO_LATENCY != 0;
    let lowest = prio_lowest(zli_board);
    assert!(
        zero_latency || priority <= lowest,
        "irq_connect_dynamic: invalid priority {priority} for irq {irq}: priorities go from 0 \
         (most urgent) to IRQ_PRIO_LOWEST = {lowest}"
    );
    assert!(routine.is_some(), "irq_connect_dynamic: null routine for irq {irq}");
    let enabled = peek(|k| k.nvic.enabled & (1u64 << irq) != 0);
    assert!(
        !enabled,
        "irq_connect_dynamic: irq {irq} is enabled: disable it before connecting another \
         routine (z_isr_install asserts this)"
    );
    with(|k| {
        let line = &mut k.nvic.lines[irq as usize];
        line.routine = routine;
        line.parameter = parameter;
        line.priority = if zero_latency { 0 } else { priority as u8 };
        line.zero_latency = zero_latency;
    });
    irq as c_int
}

/// Enables line `irq` (`irq_enable`, `arch_irq_enable`: NVIC_EnableIRQ). If it is pending and
/// deliverable, its ISR runs now, and from a thread its exit may preempt the caller.
///
/// # Panics
/// `irq` out of range, or never connected: its vector would be `z_irq_spurious`
/// (arch/common/isr_tables.c), a fatal error (arch/arm/core/aarch32/irq_manage.c).
#[no_mangle]
pub extern "C-unwind" fn irq_enable(irq: c_uint) {
    check_line("irq_enable", irq);
    let connected = peek(|k| k.nvic.lines[irq as usize].routine.is_some());
    assert!(
        connected,
        "irq_enable: irq {irq} has no ISR connected (irq_connect_dynamic): on Zephyr it would \
         run z_irq_spurious, a fatal error"
    );
    let run = with(|k| {
        k.nvic.enabled |= 1u64 << irq;
        line_deliverable(k)
    });
    if run {
        take_now();
    }
}

/// Disables line `irq` (`irq_disable`): a request stays pending until it is enabled.
#[no_mangle]
pub extern "C-unwind" fn irq_disable(irq: c_uint) {
    check_line("irq_disable", irq);
    with(|k| k.nvic.enabled &= !(1u64 << irq));
}

/// 1 if line `irq` is enabled, else 0 (`irq_is_enabled`).
#[no_mangle]
pub extern "C-unwind" fn irq_is_enabled(irq: c_uint) -> c_int {
    check_line("irq_is_enabled", irq);
    with(|k| (k.nvic.enabled >> irq) as c_int & 1)
}

/// Sets line `irq` pending (`zephyr_sys::zr_irq_pend`, as NVIC_SetPendingIRQ): its ISR runs
/// before this returns if deliverable (`crate::nvic`), else when it becomes so.
#[no_mangle]
pub extern "C-unwind" fn zsim_irq_pend(irq: c_uint) {
    check_line("zr_irq_pend", irq);
    let run = with(|k| {
        k.nvic.pending |= 1u64 << irq;
        line_deliverable(k)
    });
    if run {
        take_now();
    }
}

/// Takes the deliverable lines now; from a thread, their exit is a reschedule point.
pub(crate) fn take_now() {
    let in_thread = peek(|k| k.isr_depth == 0);
    if run_pending_lines() && in_thread {
        interrupt_exit();
    }
}
