//! `InterruptExecutor`: Embassy tasks polled in a Zephyr interrupt handler, above every thread.
//!
//! The rules are on [`InterruptExecutor`].

use core::cell::UnsafeCell;
use core::ffi::{c_uint, c_void};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use embassy_executor::{raw, SendSpawner};
use zephyr_sys::{irq_connect_dynamic, irq_enable, zr_IRQ_PRIO_LOWEST, zr_irq_pend};

/// The low bit of a pender context that names an interrupt line (`(irq << 1) | 1`): thread
/// executors' contexts are pointers to aligned `Signal`s, whose low bit is 0.
const IRQ_TAG: usize = 1;

/// The pender's context for an executor on line `irq`.
fn context_of(irq: c_uint) -> *mut () {
    (((irq as usize) << 1) | IRQ_TAG) as *mut ()
}

/// If `context` names an interrupt line, pends it and returns true (the `__pender` calls this
/// first). The pend itself is out of line, to keep the pender small (see `Signal::pend`).
#[inline(always)]
pub(super) fn pend_if_irq(context: *mut ()) -> bool {
    let c = context as usize;
    if c & IRQ_TAG == 0 {
        return false;
    }
    pend_line((c >> 1) as c_uint);
    true
}

/// Sets an interrupt executor's line pending.
#[inline(never)]
fn pend_line(irq: c_uint) {
    // SAFETY: the line was connected and enabled by `InterruptExecutor::start` (or by the
    // application, for `start_connected`) before the raw executor, the only holder of this
    // context, could be handed a task; pending a line is allowed from threads and ISRs.
    unsafe { zr_irq_pend(irq) };
}

const NEW: u8 = 0;
const STARTING: u8 = 1;
const STARTED: u8 = 2;

/// An Embassy executor whose tasks run in a Zephyr interrupt handler: they preempt every
/// thread, and every thread executor, as soon as they are woken.
///
/// ```no_run
/// use zephyr::embassy::InterruptExecutor;
///
/// #[embassy_executor::task]
/// async fn control_loop() { /* await timers and signals; never block */ }
///
/// static URGENT: InterruptExecutor = InterruptExecutor::new();
///
/// fn start() {
///     // A line no device uses, at IRQ_CONNECT priority 2 (needs CONFIG_DYNAMIC_INTERRUPTS).
///     let spawner = URGENT.start(30, 2);
///     spawner.spawn(control_loop().unwrap());
/// }
/// ```
///
/// Spawn onto it from threads, ISRs and other executors with the [`SendSpawner`] that
/// [`start`](Self::start) returns (or [`spawner`](Self::spawner)).
///
/// # How it runs
///
/// The executor owns one interrupt line. Its pender sets the line pending
/// ([`zr_irq_pend`](zephyr_sys::zr_irq_pend): `NVIC_SetPendingIRQ` on Cortex-M,
/// `posix_sw_set_pending_IRQ` on native_posix, the simulated interrupt controller on the
/// simulator); the line's handler polls the executor. So a task it wakes runs:
///
/// * from a thread (any priority, cooperative ones included): before the waking call returns,
///   since an interrupt preempts every thread;
/// * from an ISR less urgent than the line, or from the system clock ISR (the time driver's
///   alarm): when that ISR returns (Cortex-M tail-chains to the pending line);
/// * from an ISR more urgent than the line: the line preempts it and runs at once;
/// * from one of its own tasks: after the current poll, when the handler runs again (a pended
///   line that is active runs once more after it returns).
///
/// Critical sections (`irq_lock`) hold it off: they mask every interrupt line.
///
/// # What its tasks may do
///
/// Tasks run in ISR context, so they must never block: no `k_sem_take` with a timeout other
/// than `K_NO_WAIT`, no `k_sleep`, no blocking `zephyr::sync` call, no
/// [`Executor::run`](super::Executor::run). Awaiting is the way to wait: embassy-time timers,
/// embassy-sync channels and signals, and everything else that only takes a waker. On the simulator a
/// blocking call from a task is a panic that ends the run naming the call and the interrupt;
/// on real Zephyr it is an assertion failure (with `CONFIG_ASSERT`) or undefined behaviour.
/// Long computations in its tasks delay every thread, and every less urgent interrupt.
///
/// # Priorities
///
/// `priority` is Zephyr's `IRQ_CONNECT` priority: 0 is the most urgent, up to
/// `IRQ_PRIO_LOWEST` (6 on a Cortex-M3 with 3 priority bits and on the simulator, 255 on
/// native_posix; `zephyr_sys::zr_IRQ_PRIO_LOWEST`). Zephyr's system clock (SysTick)
/// has priority 0, so an executor at priority 1 or below is interrupted by the clock, and one
/// at 0 tail-chains after it. Several interrupt executors on lines of different priorities nest
/// like the lines.
pub struct InterruptExecutor {
    state: AtomicU8,
    irq: AtomicU32,
    polls: AtomicU32,
    raw: UnsafeCell<MaybeUninit<raw::Executor>>,
}

// SAFETY: the raw executor is written once, by the `start` that wins the NEW -> STARTING
// exchange, before STARTED is published with Release; afterwards it is only polled from the
// line's handler (never re-entrantly: a line does not preempt itself) and spawned onto through
// `SendSpawner`s, which embassy-executor allows from any context.
unsafe impl Sync for InterruptExecutor {}

impl Default for InterruptExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl InterruptExecutor {
    /// A new executor, started by [`start`](Self::start).
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(NEW),
            irq: AtomicU32::new(0),
            polls: AtomicU32::new(0),
            raw: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Connects the handler to interrupt line `irq` at `priority` (`irq_connect_dynamic`,
    /// which needs `CONFIG_DYNAMIC_INTERRUPTS=y` on real Zephyr), enables the line, and
    /// returns a spawner for the executor.
    ///
    /// Pick a line no device uses. The executor is then the line's only user.
    ///
    /// # Panics
    /// If the executor was started already; if `priority` is above `IRQ_PRIO_LOWEST`; if the
    /// kernel refuses the line.
    pub fn start(&'static self, irq: u32, priority: u32) -> SendSpawner {
        if priority > zr_IRQ_PRIO_LOWEST {
            panic!(
                "InterruptExecutor::start: priority {priority} is out of range (IRQ_CONNECT \
                 priorities are 0, the most urgent, to {zr_IRQ_PRIO_LOWEST})"
            );
        }
        self.init(irq);
        let parameter = self as *const Self as *const c_void;
        // SAFETY: `handler` only reads `parameter` as `&'static InterruptExecutor`, which
        // `self` is; the raw executor is initialised (by `init`) before the line is enabled.
        let vector = unsafe { irq_connect_dynamic(irq, priority, Some(handler), parameter, 0) };
        if vector < 0 {
            panic!("InterruptExecutor::start: irq_connect_dynamic({irq}) failed: {vector}");
        }
        self.state.store(STARTED, Ordering::Release);
        // SAFETY: the line is connected to `handler` just above.
        unsafe { irq_enable(irq) };
        self.spawner()
    }

    /// Starts the executor on a line the application connected itself (with `IRQ_CONNECT` in
    /// C, at a priority of its choice), whose handler calls [`on_interrupt`](Self::on_interrupt).
    /// The application enables the line. Returns a spawner for the executor.
    ///
    /// # Panics
    /// If the executor was started already.
    pub fn start_connected(&'static self, irq: u32) -> SendSpawner {
        self.init(irq);
        self.state.store(STARTED, Ordering::Release);
        self.spawner()
    }

    /// Creates the raw executor for line `irq`, once.
    fn init(&'static self, irq: u32) {
        if self.state.compare_exchange(NEW, STARTING, Ordering::Acquire, Ordering::Acquire).is_err()
        {
            panic!(
                "InterruptExecutor::start: this executor was started already (on irq {})",
                self.irq.load(Ordering::Relaxed)
            );
        }
        self.irq.store(irq, Ordering::Relaxed);
        // SAFETY: the exchange above makes this the only writer, and nobody reads the raw
        // executor before STARTED is stored.
        unsafe { (*self.raw.get()).write(raw::Executor::new(context_of(irq))) };
    }

    /// The raw executor, if started.
    fn raw(&self) -> Option<&raw::Executor> {
        if self.state.load(Ordering::Acquire) != STARTED {
            return None;
        }
        // SAFETY: STARTED is stored (Release) only after the raw executor was written.
        Some(unsafe { (*self.raw.get()).assume_init_ref() })
    }

    /// A spawner for the executor, usable from any thread, ISR or executor.
    ///
    /// # Panics
    /// If the executor is not started.
    pub fn spawner(&'static self) -> SendSpawner {
        match self.raw() {
            Some(raw) => raw.spawner().make_send(),
            None => panic!("InterruptExecutor::spawner: the executor is not started"),
        }
    }

    /// The interrupt line the executor runs on, once started.
    pub fn irq(&self) -> Option<u32> {
        self.raw().map(|_| self.irq.load(Ordering::Relaxed))
    }

    /// How many times the handler has polled the executor, wrapping at `u32::MAX` (for tests
    /// and diagnostics).
    pub fn poll_count(&self) -> u32 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Polls the executor's ready tasks: the body of the line's handler. Does nothing before
    /// the executor is started.
    ///
    /// # Safety
    /// Call it only from the handler of the executor's own line (for
    /// [`start_connected`](Self::start_connected); [`start`](Self::start) connects its own),
    /// so that it never runs re-entrantly or concurrently with itself.
    pub unsafe fn on_interrupt(&'static self) {
        let Some(raw) = self.raw() else { return };
        // Only the handler writes the count, and it does not nest with itself.
        self.polls.store(self.polls.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        // SAFETY: the caller guarantees this is the line's handler, which does not preempt
        // itself: polls never overlap.
        unsafe { raw.poll() };
    }
}

/// The handler `start` connects: `parameter` is the executor.
unsafe extern "C-unwind" fn handler(parameter: *const c_void) {
    // SAFETY: `start` passed a `&'static InterruptExecutor` as the parameter.
    let executor = unsafe { &*(parameter as *const InterruptExecutor) };
    // SAFETY: this is the handler of the executor's own line.
    unsafe { executor.on_interrupt() };
}
