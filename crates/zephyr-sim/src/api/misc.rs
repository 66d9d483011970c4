//! Time, interrupt locking, ISR context and the console.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::io::Write;

use crate::kernel::with;
use crate::switch::{busy_wait, interrupt_exit, run_due_interrupts};

/// Ticks since boot (`k_uptime_ticks`); in a timeout handler, the tick being announced.
#[no_mangle]
pub extern "C-unwind" fn k_uptime_ticks() -> i64 {
    with(|k| k.uptime_ticks())
}

/// Hardware cycle counter, low 32 bits (`k_cycle_get_32`).
#[no_mangle]
pub extern "C-unwind" fn k_cycle_get_32() -> u32 {
    with(|k| k.now as u32)
}

/// Hardware cycle counter (`k_cycle_get_64`).
#[no_mangle]
pub extern "C-unwind" fn k_cycle_get_64() -> u64 {
    with(|k| k.now)
}

/// Hardware cycle counter rate (`sys_clock_hw_cycles_per_sec`).
#[no_mangle]
pub extern "C-unwind" fn sys_clock_hw_cycles_per_sec() -> c_int {
    with(|k| k.cycles_per_sec as c_int)
}

/// Tick rate of the simulated board (simulator extension).
#[no_mangle]
pub extern "C-unwind" fn zsim_sys_clock_ticks_per_sec() -> u32 {
    with(|k| k.ticks_per_sec)
}

/// Spins for `usec_to_wait` microseconds (`k_busy_wait`): virtual time advances, interrupts
/// that fall due run (and may preempt the caller) unless it holds `irq_lock`.
#[no_mangle]
pub extern "C-unwind" fn k_busy_wait(usec_to_wait: u32) {
    let hz = with(|k| k.cycles_per_sec);
    busy_wait(usec_to_wait as u64 * hz as u64 / 1_000_000);
}

/// True in an interrupt service routine (`k_is_in_isr`).
#[no_mangle]
pub extern "C-unwind" fn k_is_in_isr() -> bool {
    with(|k| k.isr_depth > 0)
}

/// Locks interrupts for the calling thread (`irq_lock`); returns the key for [`irq_unlock`]:
/// 0 if interrupts were unlocked, 1 if already locked (as on native_posix).
/// The lock belongs to the thread: while it is blocked others run with interrupts enabled.
#[no_mangle]
pub extern "C-unwind" fn irq_lock() -> c_uint {
    crate::switch::interrupt_point();
    with(|k| {
        let locked = if k.isr_depth > 0 {
            &mut k.isr_irq_lock
        } else {
            let cur = k.current;
            &mut k.threads[cur as usize].irq_lock
        };
        // The key is the previous state, 0 (unlocked) or 1 (locked), as native_posix's
        // `posix_irq_lock` returns it: nesting works because each unlock restores its key.
        let key = (*locked != 0) as c_uint;
        *locked = 1;
        key
    })
}

/// Restores the interrupt lock state `key` (`irq_unlock`). When that unlocks interrupts and
/// one became pending meanwhile (a timeout, a device interrupt, an interrupt line), it runs
/// now and its exit may preempt the caller; otherwise a thread readied while locked waits for
/// the caller's next reschedule point. In an ISR, unlocking lets a pending line more urgent
/// than the ISR nest now.
#[no_mangle]
pub extern "C-unwind" fn irq_unlock(key: c_uint) {
    let (due, line) = with(|k| {
        let locked = (key != 0) as u32;
        if k.isr_depth > 0 {
            k.isr_irq_lock = locked;
            return (false, locked == 0 && crate::switch::line_deliverable(k));
        }
        let cur = k.current;
        k.threads[cur as usize].irq_lock = locked;
        let unlocked = locked == 0;
        (
            unlocked && k.next_event().is_some_and(|t| t <= k.now),
            unlocked && crate::switch::line_deliverable(k),
        )
    });
    if due && run_due_interrupts() {
        interrupt_exit();
    }
    if line {
        crate::api::irq::take_now();
    }
}

/// Whether `irq_unlock(key)` unlocks interrupts (`arch_irq_unlocked`): on the simulator, as
/// on native_posix, a key is the lock state before the `irq_lock` that returned it.
#[no_mangle]
pub extern "C-unwind" fn arch_irq_unlocked(key: c_uint) -> bool {
    key == 0
}

/// Writes `n` bytes to the console (`k_str_out`, what `printk` ends in).
///
/// # Safety
/// `c` must point to `n` readable bytes.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_str_out(c: *mut c_char, n: usize) {
    // SAFETY: the caller guarantees `n` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(c as *const u8, n) };
    let captured = with(|k| match k.console.as_mut() {
        Some(buf) => {
            buf.extend_from_slice(bytes);
            true
        }
        None => false,
    });
    if !captured {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    }
}

/// This simulation's instance of the static identified by `key` (simulator extension behind
/// `zephyr_sys::zsim_boot_static`): zeroed on first use, freed (without destructors) when the
/// simulation ends.
///
/// # Safety
/// `align` must be a power of two.
#[no_mangle]
pub unsafe extern "C-unwind" fn zsim_boot_static_get(
    key: *const c_void,
    size: usize,
    align: usize,
) -> *mut c_void {
    with(|k| {
        if let Some(e) = k.boot_statics.iter().find(|e| e.0 == key as usize) {
            return e.1 as *mut c_void;
        }
        let layout = std::alloc::Layout::from_size_align(size.max(1), align).expect("layout");
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!p.is_null(), "out of memory");
        k.boot_statics.push((key as usize, p, layout));
        p as *mut c_void
    })
}
