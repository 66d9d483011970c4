//! An optional cost model: virtual time for the kernel's and the executor's own work.
//!
//! By default code takes no virtual time ([`CostModel::none`]), so conformance traces stay
//! exact. With a model ([`crate::Sim::cost_model`]), each kernel operation, context switch, ISR
//! entry and exit, and Embassy task poll holds the CPU for the table's number of CPU cycles,
//! converted to the simulator's cycle counter ([`crate::Sim::cycles_per_sec`]) at the table's
//! [`cpu_hz`](CostModel::cpu_hz), with the remainder carried so that no fraction is lost.
//!
//! A charge is spent as `k_busy_wait` spends time: the charged thread (or ISR) holds the CPU
//! meanwhile ([`crate::cpu`] counts it), timeouts and interrupts that fall due during it run at
//! their time and may preempt the thread, and the run stays deterministic.
//!
//! # Where each entry is charged
//!
//! * [`kernel_call`](CostModel::kernel_call): at the entry of each scheduling kernel call
//!   (`k_sem_give`/`take`, `k_mutex_lock`/`unlock`, `k_sleep`, `k_usleep`, `k_yield`,
//!   `k_thread_suspend`/`resume`, `k_poll`, `k_poll_signal_raise`/`check`,
//!   `k_work_submit_to_queue`), on the caller. Reading the clock, `irq_lock`/`irq_unlock`
//!   (inline instructions on a Cortex-M) and object initialisation are free.
//! * [`pend`](CostModel::pend) (a call that blocks its caller on a wait queue) and
//!   [`wake`](CostModel::wake) (a waiter readied by a give, an unlock, a timeout...): owed by
//!   the blocked or woken thread and paid when it next runs, with the switch to it.
//! * [`context_switch`](CostModel::context_switch): paid by the thread switched to, as soon as
//!   it runs (also at its first start). A switch to the idle thread is free (idle's time is
//!   what is left over).
//! * [`isr_entry`](CostModel::isr_entry) / [`isr_exit`](CostModel::isr_exit): at the start and
//!   the end of each ISR (system clock ISRs for timeouts and `k_timer`s, device interrupts),
//!   charged to ISR time.
//! * [`executor_poll`](CostModel::executor_poll): at each Embassy task poll, on the executor's
//!   thread. It goes through embassy-executor's tracing hooks, so only with this crate's
//!   `embassy-trace` feature; without it polls are free.

/// Cycles charged per operation ([`crate::Sim::cost_model`]).
///
/// All entries are CPU cycles at [`cpu_hz`](Self::cpu_hz). Replace any of them with struct
/// update syntax: `CostModel { context_switch: 80, ..CostModel::cortex_m3() }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostModel {
    /// The CPU clock the entries are counted in, in Hz.
    pub cpu_hz: u32,
    /// Each scheduling kernel call (its fast path: entry, spin lock, checks, exit).
    pub kernel_call: u32,
    /// Extra for a call that blocks its caller on a wait queue (`z_pend_curr`).
    pub pend: u32,
    /// Extra for readying a waiting thread (`z_unpend_first_thread` + `z_ready_thread`).
    pub wake: u32,
    /// A switch from one thread to another (`arch_swap` + PendSV).
    pub context_switch: u32,
    /// Entering an ISR (exception entry and Zephyr's ISR wrapper).
    pub isr_entry: u32,
    /// Leaving an ISR (`z_arm_int_exit`, exception return).
    pub isr_exit: u32,
    /// One Embassy task poll and its wake, executor overhead only (the task's own code is
    /// free). Needs the `embassy-trace` feature.
    pub executor_poll: u32,
}

impl Default for CostModel {
    fn default() -> Self {
        Self::none()
    }
}

impl CostModel {
    /// No costs: code takes no virtual time (the default; conformance traces are exact).
    pub const fn none() -> Self {
        CostModel {
            cpu_hz: 1_000_000,
            kernel_call: 0,
            pend: 0,
            wake: 0,
            context_switch: 0,
            isr_entry: 0,
            isr_exit: 0,
            executor_poll: 0,
        }
    }

    /// Zephyr 2.7.0 on a Cortex-M3 (`qemu_cortex_m3`, an LM3S6965 clocked at 12 MHz,
    /// `CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC`), calibrated on the instruction counts the README's
    /// "Cost on a Cortex-M3" table gives (`scripts/zephyr-test.sh`, `samples/bench`, qemu with
    /// `-icount shift=0`, which counts one instruction per virtual nanosecond: these are
    /// instruction counts, not times).
    ///
    /// **Clock and cycles**: the entries assume one cycle per instruction at 12 MHz. That is an
    /// approximation: a Cortex-M3 takes 2 cycles for most loads and stores, 2–4 for a taken
    /// branch, and 12 cycles of hardware stacking on exception entry that qemu does not count
    /// as instructions; real figures are higher, and flash wait states raise them further.
    /// Set [`cpu_hz`](Self::cpu_hz) to your part's clock.
    ///
    /// **Derivation** (per round trip of `samples/bench`, `k_sem` ping-pong between two
    /// threads; `C` kernel call, `P` pend, `W` wake, `S` switch):
    ///
    /// * `thread` (partner more urgent), 454 instructions: main gives ping (wakes the partner:
    ///   `W`, switch `S`); the partner gives pong (nobody waits), takes ping (blocks: `P`,
    ///   switch `S`); main takes pong (available). So `4C + 2S + P + W = 454`.
    /// * `thread-same-prio`, 654: each give wakes a waiter without switching, each take
    ///   blocks. So `4C + 2S + 2P + 2W = 654`.
    /// * Hence `P + W = 200` and `4C + 2S = 254` (measured). The splits are estimates: `P`
    ///   and `W` are taken equal, **100 each**; `S = 63` (PendSV's save and restore of
    ///   r4–r11 and the ready-queue cache, plus `arch_swap`, about 60 instructions in
    ///   Zephyr 2.7's `swap_helper.S` and `swap.c`), which leaves **`C = 32`**
    ///   (`4 × 32 + 2 × 63 = 254`).
    /// * `executor_poll` **65**: the README's profile attributes ~130 instructions per round
    ///   trip to embassy-executor's poll and wake, two polls per round trip (`noop`, 401
    ///   instructions, is that plus embassy-sync's channel futures, user code the model does
    ///   not charge).
    /// * `isr_entry` **40**, `isr_exit` **20**: not measured; estimates from Zephyr 2.7's
    ///   `_isr_wrapper` and `z_arm_int_exit` (plus the sys_clock driver's announce for
    ///   timeouts, which the entry stands for).
    ///
    /// `thread-task` (850) and `cs` (524) are not used in the fit: most of their difference
    /// from the others is Rust code (channels, critical sections, wakers) that the model
    /// leaves free. A test checks that the table gives exactly 454 and 654 per round trip.
    pub const fn cortex_m3() -> Self {
        CostModel {
            cpu_hz: 12_000_000,
            kernel_call: 32,
            pend: 100,
            wake: 100,
            context_switch: 63,
            isr_entry: 40,
            isr_exit: 20,
            executor_poll: 65,
        }
    }

    /// True when every entry is zero (the model is off).
    pub const fn is_none(&self) -> bool {
        self.kernel_call == 0
            && self.pend == 0
            && self.wake == 0
            && self.context_switch == 0
            && self.isr_entry == 0
            && self.isr_exit == 0
            && self.executor_poll == 0
    }
}

/// Charges a kernel call's entry to the caller (a thread, or an ISR).
#[inline]
pub(crate) fn kernel_call() {
    let cycles = crate::kernel::with(|k| {
        let c = u64::from(k.cost.kernel_call);
        k.cost_cycles(c)
    });
    if cycles > 0 {
        crate::switch::busy_wait(cycles);
    }
}

/// Charges one Embassy task poll to the executor's thread.
#[cfg(feature = "embassy-trace")]
pub(crate) fn executor_poll() {
    let cycles = crate::kernel::with(|k| {
        let c = u64::from(k.cost.executor_poll);
        k.cost_cycles(c)
    });
    if cycles > 0 {
        crate::switch::busy_wait(cycles);
    }
}
