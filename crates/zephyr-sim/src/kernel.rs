//! The kernel's state and its bookkeeping: threads, ready queue, wait queues, timeouts, time.
//!
//! Nothing here switches threads. Every function runs inside [`with`], holding the one
//! `&mut Kernel` of the simulation, and returns a decision ("block", "reschedule") that the
//! thin machinery of [`crate::switch`] carries out after the borrow has ended. User code
//! (expiry functions, ISRs, thread bodies) is never called while the borrow is held.
//!
//! # Thread states
//!
//! ```text
//!             k_thread_create(K_NO_WAIT)            pend_current / sleep_current
//!  (new) ───────────────────────────────► READY ─────────────────────────────► PENDING/SLEEPING
//!    │ k_thread_create(delay)               ▲  ◄───────────────────────────────   │
//!    └──────────► PRESTART ─────────────────┘    wake (give, timeout, k_wakeup)    │
//!                    start (timeout, k_thread_start)                               │
//!  any state ── suspend ──► +SUSPENDED (timeout cancelled) ── resume ──► previous ─┘
//!  any state ── exit / k_thread_abort ──► DEAD
//! ```
//!
//! A thread is ready when none of PENDING, PRESTART, DEAD, SUSPENDED, SLEEPING is set; ready
//! threads, the running one included, are in the ready queue (as on a uniprocessor Zephyr).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::ptr::addr_of_mut;
use std::sync::atomic::{AtomicBool, Ordering};

use zephyr_sys::thread_state::*;
use zephyr_sys::*;

use crate::api::poll::{PollState, Poller};
use crate::api::work::WorkState;
use crate::context::ContextBox;
use crate::readyq::{Link, Linked, ReadyQueue};
use crate::timeline::{Context, Hook, Timeline, What};
use crate::trace::{TraceEvent, TraceRecord};

/// Slot of the idle thread.
pub const IDLE: u32 = 0;
/// Slot of the main thread.
pub const MAIN: u32 = 1;
/// "No thread" in wait-queue links.
pub const NONE: u32 = u32::MAX;

/// A kernel-owned object at a fixed heap address, reached through raw pointers: a wait queue
/// that waiting threads link into, a `k_thread` or `k_work_q` the kernel hands out as an id.
///
/// A `Box` would not do: moving a `Box` (into a `Vec`, an `Option`, a struct) asserts that it
/// is the only way to its object, which under Rust's aliasing rules (Stacked Borrows, checked
/// by miri) invalidates every raw pointer taken from it before. `FixedBox` owns the allocation
/// through a raw pointer instead, so moving it moves only that pointer, and every access goes
/// through [`FixedBox::as_ptr`].
pub struct FixedBox<T>(std::ptr::NonNull<T>);

impl<T> FixedBox<T> {
    /// Moves `value` to the heap, where it stays until the `FixedBox` is dropped.
    pub fn new(value: T) -> Self {
        FixedBox(std::ptr::NonNull::from(Box::leak(Box::new(value))))
    }

    /// The object's address, valid until the `FixedBox` is dropped, for reads and writes.
    pub fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T> Drop for FixedBox<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `new` and is freed only here, once; the
        // kernel stops using the object before it drops its owner.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// States in which a thread is not ready. A dummy thread (`_THREAD_DUMMY`: the sender slot of
/// an asynchronous mailbox message, see `api::mbox`) never runs, so it is never ready either.
const NOT_READY: u8 = _THREAD_PENDING
    | _THREAD_PRESTART
    | _THREAD_DEAD
    | _THREAD_SUSPENDED
    | _THREAD_SLEEPING
    | _THREAD_DUMMY;

/// What a pending thread waits on; each resolves to the object's wait queue.
#[derive(Clone, Copy, Debug)]
pub enum Wait {
    /// `k_sem_take`.
    Sem(*mut k_sem),
    /// `k_mutex_lock`.
    Mutex(*mut k_mutex),
    /// `k_condvar_wait`.
    Condvar(*mut k_condvar),
    /// `k_timer_status_sync`.
    TimerSync(*mut k_timer),
    /// `k_thread_join` on this slot.
    Join(u32),
    /// `k_poll` on `num` events (all pollers share [`PollState::wait_q`], as all share
    /// Zephyr's static `wait_q` in `z_impl_k_poll`).
    Poll {
        /// The caller's events.
        events: *mut k_poll_event,
        /// How many.
        num: c_int,
    },
    /// A work queue's thread waiting for work, on the queue's `notifyq`.
    WorkQueue(*mut k_work_q),
    /// `k_work_flush` on this item, on [`WorkState::sync_q`].
    WorkFlush(*mut k_work),
    /// `k_work_cancel_sync` on this item, on [`WorkState::sync_q`].
    WorkCancel(*mut k_work),
    /// `k_queue_get`.
    QueueGet(*mut k_queue),
    /// `k_msgq_put` on a full queue.
    MsgqPut(*mut k_msgq),
    /// `k_msgq_get` on an empty queue.
    MsgqGet(*mut k_msgq),
    /// A blocking call of the other objects (`k_stack_pop`, `k_mem_slab_alloc`,
    /// `k_heap_alloc`, `k_pipe_put`, `k_pipe_get`): the object's wait queue `q` and the call's
    /// name, for reports.
    Object {
        /// The wait queue.
        q: *mut _wait_q_t,
        /// The blocking call.
        call: &'static str,
        /// The object.
        obj: usize,
    },
}

/// What a timeout does when it expires.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// A thread's timeout: end of a sleep, of a timed wait, or of a start delay.
    Thread(u32),
    /// A `k_timer` expiry.
    Timer(*mut k_timer),
    /// The end of a delayable work item's delay (`work_timeout` in kernel/work.c).
    DelayedWork(*mut k_work_delayable),
    /// The timeout of triggered work (`triggered_work_expiration_handler` in kernel/poll.c).
    PollWork(*mut k_work_poll),
    /// The end of the running thread's time slice (`z_time_slice` in kernel/sched.c; see
    /// [`crate::timeslice`]). Keyed `(tick, 0)`, so it comes first among the timeouts of its
    /// tick, as `sys_clock_announce` calls `z_time_slice` before it expires timeouts.
    Slice,
}

/// One simulated thread.
///
/// Aligned to 256 bytes (it is a little over 160): the thread table is indexed with a shift
/// rather than a multiply, and no thread's fields straddle more cache lines than they must.
/// The `k_sem` round trip of the simulator bench got ~4% faster (best of 10-12 interleaved
/// runs: 53.8 ns against 56.5 ns unaligned).
#[repr(align(256))]
pub struct Thread {
    /// The application's `k_thread` (kernel-owned for main and idle).
    pub obj: *mut k_thread,
    /// Current priority.
    pub prio: i32,
    /// `thread_state` bits.
    pub state: u8,
    /// Key of the pending timeout in [`Kernel::timeouts`].
    pub timeout: Option<(i64, u64)>,
    /// What it pends on.
    pub wait: Option<Wait>,
    /// The wait queue of [`Thread::wait`] while it pends (resolved once, when it pends).
    pub wait_q: *mut _wait_q_t,
    /// Next waiter in the same wait queue.
    pub wq_next: u32,
    /// Previous waiter in the same wait queue.
    pub wq_prev: u32,
    /// Threads waiting in `k_thread_join` for this one (its address must not move).
    pub join_q: FixedBox<_wait_q_t>,
    /// What the blocking call returns when the thread resumes.
    pub swap_retval: c_int,
    /// Data handed over with the wake-up (`base.swap_data`): the item for `k_queue_get`, the
    /// message buffer of a pending `k_msgq_put` / `k_msgq_get`.
    pub swap_data: *mut c_void,
    /// 1 while this thread holds `irq_lock` (the lock belongs to the thread).
    pub irq_lock: u32,
    /// `k_sched_lock` nesting.
    pub sched_lock: u32,
    /// Tick a sleep is due to end (`z_tick_sleep`'s `expected_wakeup_ticks`).
    pub sleep_until: i64,
    /// The thread's execution context (none for idle; dropped when dead).
    pub co: Option<ContextBox>,
    /// Cost-model CPU cycles it owes (a switch to it, a pend, a wake), paid when it next runs
    /// ([`crate::cost`]). (Declared apart from `switched_in`: as neighbours, the two additions
    /// of a switch became one 128-bit vector add, six instructions for three.)
    pub cost_owed: u64,
    /// Virtual time charged to it ([`crate::cpu`]).
    pub cpu_cycles: u64,
    /// How many times the CPU switched to it.
    pub switched_in: u64,
    /// Its deadline, in 32-bit cycles (`base.prio_deadline`, `k_thread_deadline_set`); orders
    /// threads of equal priority when [`Kernel::sched_deadline`] is on.
    pub prio_deadline: u32,
    /// Its place in the ready queue (`base.qnode_dlist`).
    pub rq: Link,
    /// The stack pointer its context saved when it last stopped (or its initial frame's):
    /// a thread that switches straight to this one reads it here, in the table, one load
    /// fewer than through the context's box, on the way to every switch.
    pub sp: usize,
}

impl Linked for Thread {
    #[inline(always)]
    fn link(&self) -> &Link {
        &self.rq
    }
    #[inline(always)]
    fn link_mut(&mut self) -> &mut Link {
        &mut self.rq
    }
}

impl Thread {
    fn new(obj: *mut k_thread, prio: i32) -> Self {
        Thread {
            obj,
            prio,
            state: _THREAD_PRESTART,
            timeout: None,
            wait: None,
            wait_q: std::ptr::null_mut(),
            wq_next: NONE,
            wq_prev: NONE,
            join_q: FixedBox::new(_wait_q_t::EMPTY),
            swap_retval: 0,
            swap_data: std::ptr::null_mut(),
            irq_lock: 0,
            sched_lock: 0,
            sleep_until: 0,
            co: None,
            cpu_cycles: 0,
            switched_in: 0,
            cost_owed: 0,
            prio_deadline: 0,
            rq: Link::UNLINKED,
            sp: 0,
        }
    }

    /// True when the thread can run.
    pub fn is_ready(&self) -> bool {
        self.state & NOT_READY == 0
    }

    /// Sets `bits` (which make the thread not ready) and takes it off the ready queue's books
    /// (`_THREAD_QUEUED`), mirrored into its `k_thread`; returns whether it was queued: the
    /// caller removes it from the ready queue.
    #[inline(always)]
    fn block(&mut self, bits: u8) -> bool {
        let queued = self.state & _THREAD_QUEUED != 0;
        self.state = (self.state | bits) & !_THREAD_QUEUED;
        sync_state(self);
        queued
    }

    /// Clears `bits`; if that makes the thread ready, marks it `_THREAD_QUEUED`. Mirrored into
    /// its `k_thread`; returns whether it became ready: the caller queues it.
    #[inline(always)]
    fn unblock(&mut self, bits: u8) -> bool {
        let state = self.state & !bits;
        let ready = state & (NOT_READY | _THREAD_QUEUED) == 0;
        self.state = if ready { state | _THREAD_QUEUED } else { state };
        sync_state(self);
        ready
    }
}

/// Why the simulation ended.
pub enum End {
    /// `main` returned.
    MainReturned,
    /// Code called [`crate::exit`].
    Exit(i32),
    /// A simulated thread or ISR panicked.
    Panic { context: String, message: String },
    /// A simulated thread (or an ISR on its stack) overflowed its host stack of `stack_size`
    /// bytes: Zephyr's stack guard fault.
    StackOverflow { context: String, stack_size: usize },
    /// The watchdog stopped the run: `thread` ran `stalled` of wall-clock time without giving
    /// up the CPU.
    Stalled { thread: String, stalled: std::time::Duration },
    /// Every thread is blocked for good.
    Deadlock(String),
    /// Every thread waits for an event only an interrupt or a device could bring, none is
    /// pending, and the simulation was told that this is a normal end
    /// ([`crate::Sim::idle_ends_run`]).
    Idle,
    /// Virtual time reached the run's limit ([`crate::Sim::time_limit`]).
    TimeLimit,
}

/// The state of one simulated system.
pub struct Kernel {
    /// Simulation number, unique in the process; stamped into every object registered.
    pub id: u32,
    /// `header_key(0, id)`: [`Kernel::check_object`]'s key for this simulation, the kind to
    /// be or-ed in (kept beside `id`, which never changes).
    header_sim: u64,
    /// Thread table; slots are never reused within a simulation.
    pub threads: Vec<Thread>,
    /// Running thread ([`IDLE`] when none).
    pub current: u32,
    /// Ready threads.
    pub ready: ReadyQueue,
    /// Pending timeouts by (deadline tick, insertion order).
    pub timeouts: BTreeMap<(i64, u64), Target>,
    /// Simulated device interrupts by (cycle, insertion order).
    pub irqs: BTreeMap<(u64, u64), Box<dyn FnOnce()>>,
    /// Insertion counter for timeouts and interrupts.
    pub seq: u64,
    /// Hardware cycle counter: virtual time.
    pub now: u64,
    /// Tick rate of this board.
    pub ticks_per_sec: u32,
    /// Cycle counter rate of this board.
    pub cycles_per_sec: u32,
    /// ISR nesting (0 in thread context).
    pub isr_depth: u32,
    /// 1 while an ISR holds `irq_lock`.
    pub isr_irq_lock: u32,
    /// While timeout handlers run: the tick being announced (what uptime reads).
    pub announce_tick: Option<i64>,
    /// Set when the simulation is over. Boxed: every switch tests it, and a null test is one
    /// compare where the niche of an unboxed `End` costs two more instructions.
    pub ended: Option<Box<End>>,
    /// Whether "idle forever" (no thread waits on another) ends the run normally.
    pub idle_ends_run: bool,
    /// The cycle at which the run ends ([`crate::Sim::time_limit`]).
    pub time_limit: Option<u64>,
    /// Whether the main thread's end ends the run ([`crate::Sim::main_return_ends_run`]).
    pub main_return_ends_run: bool,
    /// Console capture (None: write to stdout).
    pub console: Option<Vec<u8>>,
    /// Event trace, when enabled.
    pub trace: Option<Vec<TraceRecord>>,
    /// The timeline for the Chrome trace file, when one is written ([`crate::Sim::trace_file`]).
    pub timeline: Option<Box<Timeline>>,
    /// Whether [`Kernel::trace`] or [`Kernel::timeline`] records (set with them, before the
    /// run): one test of a byte on the switch path, where the two options cost two.
    pub observed: bool,
    /// Virtual time charged to ISRs ([`crate::cpu`]).
    pub isr_cycles: u64,
    /// How many ISRs ran.
    pub isr_count: u64,
    /// Host stacks of exited threads, for reuse.
    pub stacks: Vec<corosensei::stack::DefaultStack>,
    /// Size of each host stack.
    pub stack_size: usize,
    /// Wall-clock pacing: virtual time never runs ahead of real time.
    pub realtime: Option<std::time::Instant>,
    /// Thread the scheduler last resumed (for the trace).
    pub last_run: u32,
    /// Kernel-owned thread objects of idle and main.
    pub own_objects: Vec<FixedBox<k_thread>>,
    /// Number of thread switches so far.
    pub switches: u64,
    /// Objects numbered so far (timers get numbers for the trace).
    pub objects: u32,
    /// What the hang watchdog sees. Never replaced: the kernel entry caches the address of
    /// its `stop` while the kernel is installed.
    pub watch: std::sync::Arc<crate::watchdog::Watch>,
    /// Seeded exploration (`Sim::seed`): the random state, or None for the default order.
    pub rng: Option<u64>,
    /// Seeded mode: interrupts raised for "now" from a thread, waiting for their turn: each
    /// runs after its count of further interrupt points (see `switch::interrupt_point`).
    pub deferred_irqs: DeferredIrqs,
    /// Per-boot instances of statics (`zsim_boot_static_get`): key, memory, layout.
    pub boot_statics: Vec<(usize, *mut u8, std::alloc::Layout)>,
    /// Work queues' pending items, flush/cancel waiters and the system work queue.
    pub work: WorkState,
    /// Poll events registered on objects, and the wait queue of `k_poll`.
    pub poll: PollState,
    /// The board's devices (see [`crate::devices`]).
    pub devices: crate::devices::Devices,
    /// The cost model ([`crate::Sim::cost_model`]; all zero when off).
    pub cost: crate::cost::CostModel,
    /// True when the cost model charges anything. Set before the kernel is installed
    /// ([`install`] then marks the entry hooks busy; a debug build checks this at every
    /// entry).
    pub cost_on: bool,
    /// The fraction of a simulator cycle the cost model carries over, in units of
    /// 1 / `cost.cpu_hz` cycles.
    pub cost_carry: u64,
    /// The interrupt controller: interrupt lines and the running ISRs' priorities
    /// ([`crate::nvic`]).
    pub nvic: crate::nvic::Nvic,
    /// Whether the board has time slicing (`CONFIG_TIMESLICING`): without it
    /// `k_sched_time_slice_set` does not exist.
    pub timeslicing: bool,
    /// The time slice in ticks (`slice_time` in kernel/sched.c); 0 when slicing is off.
    pub slice_time: i64,
    /// The slice priority (`slice_max_prio` in kernel/sched.c): threads more urgent than it
    /// are never sliced.
    pub slice_prio: i32,
    /// Key of the running thread's slice end in [`Kernel::timeouts`], while one is armed.
    pub slice_key: Option<(i64, u64)>,
    /// `CONFIG_ZERO_LATENCY_IRQS` ([`crate::nvic`]): `IRQ_ZERO_LATENCY` lines run above
    /// `irq_lock`.
    pub zero_latency_irqs: bool,
    /// The tick the running thread's slice really ends at: where its event in
    /// [`Kernel::timeouts`] is, unless [`Kernel::time_slice_timeout_added`] moved the event
    /// later.
    pub slice_end: i64,
    /// The tick of the last announcement (`sys_clock_announce`): the last tick a timeout or a
    /// slice end was due at. `slice_ticks` and `sys_clock_elapsed()` count from it.
    pub last_announce_tick: i64,
    /// What [`Kernel::time_slice_kept_cpu`] last saw while the running thread, holding
    /// `irq_lock`, kept the CPU with a more urgent thread ready. None when that was not the
    /// case.
    pub slice_ready_seen: Option<crate::timeslice::ReadySeen>,
    /// `CONFIG_SCHED_DEADLINE`: threads of equal priority are ordered by deadline
    /// ([`Kernel::prio_cmp`]).
    pub sched_deadline: bool,
}

/// One interrupt deferred by seeded mode: how many more interrupt points it waits, its ISR.
pub type DeferredIrq = (u32, Box<dyn FnOnce()>);

/// Seeded mode's deferred interrupts ([`Kernel::deferred_irqs`]), in arrival order. A queue
/// whose `push_back` also marks the kernel entry's hooks as busy (the entry's gate), so the
/// next kernel call meets its interrupt point; the entry clears the mark once the queue is
/// empty again.
#[derive(Default)]
pub struct DeferredIrqs(std::collections::VecDeque<DeferredIrq>);

impl DeferredIrqs {
    /// Defers an interrupt to the back of the queue.
    pub fn push_back(&mut self, irq: DeferredIrq) {
        entry_hooks_may_work();
        self.0.push_back(irq);
    }

    /// True when no interrupt is deferred.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next interrupt due.
    pub fn front_mut(&mut self) -> Option<&mut DeferredIrq> {
        self.0.front_mut()
    }

    /// Takes the next interrupt due.
    pub fn pop_front(&mut self) -> Option<DeferredIrq> {
        self.0.pop_front()
    }
}

/// Writes a thread's state bits back into its `k_thread` (on every state change; its
/// priority is written where it changes: [`Kernel::set_prio`], [`Kernel::sync_state`]).
#[inline(always)]
fn sync_state(t: &Thread) {
    // SAFETY: thread objects stay valid while their thread lives (k_thread_create's contract);
    // the kernel owns main's and idle's.
    unsafe { (*t.obj).base.thread_state = t.state };
}

/// Writes a thread's state bits and priority back into its `k_thread`.
#[inline(always)]
fn sync_state_prio(t: &Thread) {
    sync_state(t);
    // SAFETY: as in `sync_state`.
    unsafe { (*t.obj).base.prio = t.prio as i8 };
}

/// [`Kernel::queue`] on the kernel's ready queue and thread table, for a caller that holds the
/// table: behind the thread's equals, or with `CONFIG_SCHED_DEADLINE` (`by_deadline`) before
/// the first of them whose deadline is later.
#[inline(always)]
fn queue_in(
    ready: &mut ReadyQueue,
    threads: &mut [Thread],
    by_deadline: bool,
    slot: u32,
    prio: i32,
) {
    if by_deadline {
        queue_by_deadline(ready, threads, slot, prio);
    } else {
        ready.push_back(threads, slot, prio);
    }
}

/// [`queue_in`] with `CONFIG_SCHED_DEADLINE`.
#[cold]
#[inline(never)]
fn queue_by_deadline(ready: &mut ReadyQueue, threads: &mut [Thread], slot: u32, prio: i32) {
    let mine = threads[slot as usize].prio_deadline;
    ready.insert_before(threads, slot, prio, |other| {
        other.prio_deadline.wrapping_sub(mine) as i32 > 0
    });
}

/// An object header's `magic` and `sim` words as the one 64-bit word they occupy
/// ([`z_sim_obj`] is `repr(C)` and starts with them), so that [`Kernel::check_object`] makes
/// one compare of both.
#[inline(always)]
fn header_key(magic: u32, sim: u32) -> u64 {
    if cfg!(target_endian = "little") {
        u64::from(magic) | u64::from(sim) << 32
    } else {
        u64::from(magic) << 32 | u64::from(sim)
    }
}

/// Which of two threads, given as `(prio, prio_deadline)`, is more urgent
/// (`z_sched_prio_cmp`, kernel/sched.c): positive if `a`, negative if `b`, 0 if neither.
/// Priority first; with `CONFIG_SCHED_DEADLINE` (`deadline`), equal priorities by deadline,
/// the sooner first (compared as a 32-bit difference, so deadlines within half the counter's
/// range of each other order correctly across its wrap).
#[inline(always)]
fn prio_cmp(a: (i32, u32), b: (i32, u32), deadline: bool) -> i32 {
    if a.0 != b.0 {
        return b.0 - a.0;
    }
    if deadline && a.1 != b.1 {
        return b.1.wrapping_sub(a.1) as i32;
    }
    0
}

/// Inserts thread `slot`, of priority `prio` and deadline `prio_deadline`, into wait queue
/// `q` before the first waiter it is more urgent than (`z_priq_dumb_add` through
/// `z_sched_prio_cmp`, see [`prio_cmp`]): priority order, then deadline order with
/// `CONFIG_SCHED_DEADLINE` (`deadline`), FIFO among equals. Returns the thread's new
/// `(wq_prev, wq_next)`, for the caller to store (it holds the thread already).
///
/// # Safety
/// `q` must be a valid wait queue whose links are slots of `threads`.
#[inline(always)]
unsafe fn waitq_insert(
    threads: &mut [Thread],
    q: *mut _wait_q_t,
    slot: u32,
    (prio, prio_deadline): (i32, u32),
    deadline: bool,
) -> (u32, u32) {
    // SAFETY: the caller's contract.
    unsafe {
        let mut after = (*q).tail;
        while after != NONE {
            let other = &threads[after as usize];
            if prio_cmp((prio, prio_deadline), (other.prio, other.prio_deadline), deadline) <= 0 {
                break;
            }
            after = other.wq_prev;
        }
        let before = if after == NONE { (*q).head } else { threads[after as usize].wq_next };
        if after == NONE {
            (*q).head = slot;
        } else {
            threads[after as usize].wq_next = slot;
        }
        if before == NONE {
            (*q).tail = slot;
        } else {
            threads[before as usize].wq_prev = slot;
        }
        (after, before)
    }
}

/// Takes a waiter off wait queue `q`, between its neighbours `prev` and `next`.
///
/// # Safety
/// As [`waitq_insert`].
#[inline(always)]
unsafe fn waitq_unlink(threads: &mut [Thread], q: *mut _wait_q_t, prev: u32, next: u32) {
    // SAFETY: the caller's contract.
    unsafe {
        if prev == NONE {
            (*q).head = next;
        } else {
            threads[prev as usize].wq_next = next;
        }
        if next == NONE {
            (*q).tail = prev;
        } else {
            threads[next as usize].wq_prev = prev;
        }
    }
}

/// The simulations running now, on any host thread (by id): a static kernel object last used
/// by one of them must not be adopted by another.
static LIVE: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn live_simulations() -> std::sync::MutexGuard<'static, Vec<u32>> {
    // A panic while the lock is held cannot leave the list inconsistent (push/retain).
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Kernel {
    fn drop(&mut self) {
        let id = self.id;
        live_simulations().retain(|&s| s != id);
        for &(_, p, layout) in &self.boot_statics {
            // SAFETY: allocated in `zsim_boot_static_get` with this layout; the simulation is
            // over, so nothing uses it any more.
            unsafe { std::alloc::dealloc(p, layout) };
        }
    }
}

/// `Current::gate` bit: a [`with`] borrow is live.
const BORROWED: u32 = 1;
/// `Current::gate` bit: no kernel is installed (no simulation runs on this host thread, or a
/// zero-latency ISR hid it).
const NO_KERNEL: u32 = 2;
/// `Current::gate` bit: the entry hooks of a kernel call ([`Kernel::entry_hooks`]) may have
/// work. Set whenever they might (at install, when an interrupt is deferred); cleared by an
/// [`enter`] that finds them idle. Only [`enter`] looks at it.
const ENTRY_HOOKS: u32 = 4;

/// This host thread's running simulation and the state of its kernel entry, in one
/// thread-local: a kernel call's entry tests one thread-local word (every condition that
/// needs more than a plain borrow folded into it), then the watchdog's stop flag, one
/// thread-local byte.
struct Current {
    /// The installed kernel (null when no simulation runs on this host thread).
    kernel: Cell<*mut Kernel>,
    /// Why a kernel call cannot take the fast entry, as bits ([`BORROWED`], [`NO_KERNEL`],
    /// [`ENTRY_HOOKS`]); 0 when it can. Kept up to date where each condition changes:
    /// [`install`], [`hide_from_zli`], the borrow itself, [`DeferredIrqs::push_back`].
    gate: Cell<u32>,
    /// Raised by the installed kernel's watchdog, from its own host thread ([`StopFlag`]),
    /// after it set the kernel's `watch.stop`: the entry reads this byte of its own
    /// thread-local rather than the kernel's `Arc`. Not part of `gate`: this host thread
    /// rewrites `gate` with plain stores, which could overwrite a bit set by another thread.
    /// Lowered by [`install`].
    stop: AtomicBool,
    /// The line of the zero-latency ISR running, which hid the kernel ([`hide_from_zli`]).
    zli: Cell<Option<u32>>,
}

thread_local! {
    static CURRENT: Current =
        const {
            Current {
                kernel: Cell::new(std::ptr::null_mut()),
                gate: Cell::new(NO_KERNEL),
                stop: AtomicBool::new(false),
                zli: Cell::new(None),
            }
        };
}

/// Installs `k` as this host thread's running simulation; returns the previous one.
///
/// `k` is null or a kernel that stays alive, in place, until it is uninstalled (what every
/// [`with`] relies on).
pub fn install(k: *mut Kernel) -> *mut Kernel {
    CURRENT.with(|c| {
        let borrowed = c.gate.get() & BORROWED;
        // A stop raised for the previous kernel (its watchdog is joined before the next
        // simulation is installed) is not this one's.
        c.stop.store(false, Ordering::Relaxed);
        // A new kernel: the next `enter` looks at its entry hooks (the cost model is set
        // before the kernel is installed).
        c.gate.set(borrowed | if k.is_null() { NO_KERNEL } else { ENTRY_HOOKS });
        c.kernel.replace(k)
    })
}

/// The stop flag of a host thread that runs simulations, for the watchdog of its simulation to
/// raise from its own host thread ([`StopFlag::raise`]).
pub struct StopFlag(*const AtomicBool);

// SAFETY: the flag is an atomic, written from any thread; `raise`'s contract keeps the pointer
// in the lifetime of the thread-local it points into.
unsafe impl Send for StopFlag {}

impl StopFlag {
    /// The calling host thread's flag.
    pub fn current() -> Self {
        StopFlag(CURRENT.with(|c| &c.stop as *const AtomicBool))
    }

    /// Tells the host thread's next kernel entry to look at its kernel's `watch.stop`, stored
    /// before this call (this store releases it).
    ///
    /// # Safety
    /// The host thread the flag was taken on is alive (its thread-locals are): the watchdog,
    /// which calls this, is joined before [`crate::Sim::run`] returns on that thread.
    pub unsafe fn raise(&self) {
        // SAFETY: the pointer is into a thread-local of a live thread (the caller's duty).
        unsafe { (*self.0).store(true, Ordering::Release) };
    }
}

/// True while a simulation runs on this host thread.
pub fn running() -> bool {
    CURRENT.with(|c| !c.kernel.get().is_null())
}

#[cold]
#[inline(never)]
fn outside_simulation() -> ! {
    if let Some(irq) = CURRENT.with(|c| c.zli.get()) {
        panic!(
            "kernel call from the zero-latency ISR of irq {irq}: a zero-latency interrupt runs \
             even inside the kernel's irq_lock sections, so its ISR must not use the kernel \
             (Zephyr's IRQ_ZERO_LATENCY, include/arch/arm/aarch32/irq.h:88-93)"
        )
    }
    panic!("Zephyr kernel call outside a simulation: run the code inside zephyr_sim::Sim::run")
}

/// Hides the kernel while the zero-latency ISR of line `irq` runs ([`crate::nvic`]): a kernel
/// call from it then panics, saying so. The kernel comes back when the guard drops (the ISR
/// returned or panicked).
pub fn hide_from_zli(irq: u32) -> impl Drop {
    struct Shown(*mut Kernel);
    impl Drop for Shown {
        fn drop(&mut self) {
            CURRENT.with(|c| {
                c.kernel.set(self.0);
                let gate = c.gate.get() & !NO_KERNEL;
                c.gate.set(if self.0.is_null() { gate | NO_KERNEL } else { gate });
                c.zli.set(None);
            });
        }
    }
    CURRENT.with(|c| {
        c.zli.set(Some(irq));
        c.gate.set(c.gate.get() | NO_KERNEL);
        Shown(c.kernel.replace(std::ptr::null_mut()))
    })
}

/// Marks the kernel entry's hooks as possibly busy ([`ENTRY_HOOKS`]): the next [`enter`]
/// takes the slow path, which runs them.
fn entry_hooks_may_work() {
    CURRENT.with(|c| c.gate.set(c.gate.get() | ENTRY_HOOKS));
}

#[cold]
#[inline(never)]
fn reentrant_borrow() -> ! {
    panic!("simulator bug: re-entrant kernel borrow")
}

/// A kernel entry whose gate refuses a borrow: none is installed, or one is live.
#[cold]
#[inline(never)]
fn refused(gate: u32) -> ! {
    if gate & NO_KERNEL != 0 {
        outside_simulation();
    }
    reentrant_borrow()
}

/// Clears the borrow flag when a [`with`] borrow ends, returning or unwinding.
struct Release<'a>(&'a Cell<u32>);

impl Drop for Release<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        let open = self.0.get() & !BORROWED;
        // A store of the whole word. Left to itself, LLVM turns `set(get() & !BORROWED)` into
        // a one-byte `and` on memory, and the next kernel entry's four-byte load of the gate
        // cannot be forwarded from that narrower store still in flight: it waits for it to
        // reach the cache: a `k_sched_lock` + `k_sched_unlock` pair in a loop took 35 ns
        // instead of 7 on this project's 2-core VM.
        // SAFETY: the cell's own pointer, valid and aligned; no reference into the cell is
        // live (a `Cell` hands out none).
        unsafe { self.0.as_ptr().write_volatile(open) };
    }
}

/// Runs `f` with the running simulation's kernel.
///
/// # Panics
/// With no simulation running on this host thread (a kernel call outside [`crate::Sim::run`]),
/// or when called re-entrantly (a kernel bug).
#[inline]
pub fn with<R>(f: impl FnOnce(&mut Kernel) -> R) -> R {
    CURRENT.with(|c| borrow(c, f))
}

/// The entry of a kernel call that may block or switch ([`crate::switch::kernel_call_entry`]:
/// the cost model's charge for the call and seeded mode's interrupt point, when either is
/// active), then [`with`]. While neither is (the gate's [`ENTRY_HOOKS`] bit is clear), that
/// costs a test of the bit.
#[inline]
pub fn enter<R>(f: impl FnOnce(&mut Kernel) -> R) -> R {
    CURRENT.with(|c| {
        // One test for the hooks and the refusals (`entry_hooks` reports those).
        if c.gate.get() & (ENTRY_HOOKS | NO_KERNEL | BORROWED) != 0 {
            entry_hooks(c);
        }
        lend(c, f)
    })
}

/// [`enter`] with the entry hooks possibly busy (or a borrow refused): runs them if they have
/// work ([`crate::switch::kernel_call_entry`]), else clears their bit.
#[cold]
#[inline(never)]
fn entry_hooks(c: &Current) {
    let gate = c.gate.get();
    if gate & (NO_KERNEL | BORROWED) != 0 {
        refused(gate);
    }
    if peek(|k| k.entry_hooks()) {
        // May run interrupts and switch threads; this thread's gate is as before when it
        // returns (no borrow is live, the same kernel is installed).
        crate::switch::kernel_call_entry();
    } else {
        c.gate.set(gate & !ENTRY_HOOKS);
    }
}

#[inline(always)]
fn borrow<R>(c: &Current, f: impl FnOnce(&mut Kernel) -> R) -> R {
    let gate = c.gate.get();
    if gate & (NO_KERNEL | BORROWED) != 0 {
        refused(gate);
    }
    lend(c, f)
}

/// [`borrow`] once the gate was found open (a kernel installed, no borrow live).
#[inline(always)]
fn lend<R>(c: &Current, f: impl FnOnce(&mut Kernel) -> R) -> R {
    let gate = c.gate.get();
    debug_assert!(gate & (NO_KERNEL | BORROWED) == 0, "the kernel entry lent a closed gate");
    c.gate.set(gate | BORROWED);
    let _release = Release(&c.gate);
    if c.stop.load(Ordering::Relaxed) {
        stop_at_kernel_entry();
    }
    // SAFETY: `k` was installed by `Sim::run`, which keeps the kernel alive until it
    // uninstalls it, and only this host thread sees it (the gate's NO_KERNEL bit is clear, so
    // it is not null). The borrow flag guarantees this is the only live reference: every
    // path that calls user code or switches context does so outside `with`.
    let k = unsafe { &mut *c.kernel.get() };
    #[cfg(debug_assertions)]
    check_gate(c, k);
    f(k)
}

/// Debug builds: the gate and the stop flag agree with the kernel at every entry (the cost
/// model is set before install; deferred interrupts mark the gate when queued; the watchdog
/// sets `watch.stop` before it raises the flag).
#[cfg(debug_assertions)]
fn check_gate(c: &Current, k: &Kernel) {
    assert!(
        !c.stop.load(Ordering::Acquire) || k.watch.stop_requested().is_some(),
        "the stop flag is raised but the kernel's watchdog asked for no stop"
    );
    assert!(
        c.gate.get() & ENTRY_HOOKS != 0 || !k.entry_hooks(),
        "the kernel entry's hooks have work but the gate does not say so"
    );
}

/// The watchdog asked to stop the run (a thread stalled, `crate::watchdog`): on a simulated
/// thread's stack, unwind it to the scheduler, which ends the run naming the stalled thread
/// (as [`crate::exit`] unwinds). Not on the scheduler's own stack, and not while already
/// unwinding (a destructor's kernel call): those carry on, and the scheduler ends the run.
#[cold]
#[inline(never)]
fn stop_at_kernel_entry() {
    // The flag's store released the stop request the scheduler reads.
    std::sync::atomic::fence(Ordering::Acquire);
    if crate::signals::on_thread_stack() && !std::thread::panicking() {
        crate::switch::unwind_to_scheduler(crate::switch::Unwind::Stall);
    }
}

/// True while this host thread holds the kernel borrow (inside [`with`]): a kernel call is
/// under way. Read by the watchdog's signal handler (a thread-local `Cell<u32>`, so
/// async-signal-safe).
#[cfg_attr(not(zsim_signals), allow(dead_code, reason = "no signal handler on this host"))]
pub fn in_kernel() -> bool {
    CURRENT.with(|c| c.gate.get() & BORROWED != 0)
}

/// Forgets the kernel borrow of a thread that was abandoned inside a kernel call (its stack
/// overflowed there, `crate::signals`): its frames never run again, so the borrow is dead.
/// The kernel's state may be half-updated; the caller only ends the simulation.
pub fn release_abandoned_borrow() {
    CURRENT.with(|c| c.gate.set(c.gate.get() & !BORROWED));
}

/// Reads the running simulation's kernel, cheaper than [`with`] for hot read-only checks.
///
/// # Panics
/// With no simulation running, or inside a [`with`] borrow.
#[inline(always)]
pub fn peek<R>(f: impl FnOnce(&Kernel) -> R) -> R {
    let k = CURRENT.with(|c| {
        debug_assert!(c.gate.get() & BORROWED == 0, "simulator bug: peek inside a kernel borrow");
        c.kernel.get()
    });
    if k.is_null() {
        outside_simulation();
    }
    // SAFETY: as in `with`; no `&mut Kernel` is live (no borrow is held), and `f` cannot
    // start one (it gets a shared reference and runs no user code).
    f(unsafe { &*k })
}

impl Kernel {
    /// A kernel with only the idle and main threads (main not started).
    pub fn new(id: u32, ticks_per_sec: u32, cycles_per_sec: u32, main_prio: i32) -> Self {
        live_simulations().push(id);
        let mut k = Kernel {
            id,
            header_sim: header_key(0, id),
            threads: Vec::new(),
            current: IDLE,
            ready: ReadyQueue::default(),
            timeouts: BTreeMap::new(),
            irqs: BTreeMap::new(),
            seq: 0,
            now: 0,
            ticks_per_sec,
            cycles_per_sec,
            isr_depth: 0,
            isr_irq_lock: 0,
            announce_tick: None,
            ended: None,
            idle_ends_run: false,
            time_limit: None,
            main_return_ends_run: true,
            console: None,
            trace: None,
            timeline: None,
            observed: false,
            isr_cycles: 0,
            isr_count: 0,
            stacks: Vec::new(),
            stack_size: 256 * 1024,
            realtime: None,
            last_run: IDLE,
            own_objects: Vec::new(),
            switches: 0,
            objects: 0,
            watch: Default::default(),
            boot_statics: Vec::new(),
            work: WorkState::default(),
            poll: PollState::default(),
            devices: Default::default(),
            rng: None,
            deferred_irqs: DeferredIrqs::default(),
            cost: crate::cost::CostModel::none(),
            cost_on: false,
            cost_carry: 0,
            nvic: Default::default(),
            timeslicing: false,
            slice_time: 0,
            slice_prio: 0,
            slice_key: None,
            slice_ready_seen: None,
            slice_end: 0,
            last_announce_tick: 0,
            sched_deadline: CONFIG_SCHED_DEADLINE,
            zero_latency_irqs: CONFIG_ZERO_LATENCY_IRQS,
        };
        for (name, prio) in [("idle", K_IDLE_PRIO), ("main", main_prio)] {
            let obj = FixedBox::new(k_thread::new());
            let ptr = obj.as_ptr();
            k.own_objects.push(obj);
            let slot = k.register_thread(ptr, prio);
            k.set_name(slot, name.as_bytes());
        }
        k
    }

    // ---------------------------------------------------------------- time

    /// The tick the cycle counter is in.
    pub fn tick_of(&self, cycles: u64) -> i64 {
        (cycles as u128 * self.ticks_per_sec as u128 / self.cycles_per_sec as u128) as i64
    }

    /// The first cycle of tick `t` (`u64::MAX` past the cycle counter's range).
    pub fn cycle_of_tick(&self, t: i64) -> u64 {
        let c =
            (t.max(0) as u128 * self.cycles_per_sec as u128).div_ceil(self.ticks_per_sec as u128);
        c.min(u64::MAX as u128) as u64
    }

    /// The last tick a timeout may end at: half the 64-bit cycle counter's range (tens of
    /// thousands of years at 1 MHz). A deadline beyond it cannot be represented, and means
    /// "never", as `K_FOREVER` does.
    pub fn horizon_tick(&self) -> i64 {
        let ticks =
            (u64::MAX / 2) as u128 * self.ticks_per_sec as u128 / self.cycles_per_sec as u128;
        ticks.min(i64::MAX as u128 / 2) as i64
    }

    /// `k_uptime_ticks`: the current tick; in a timeout handler, the tick being announced.
    pub fn uptime_ticks(&self) -> i64 {
        self.announce_tick.unwrap_or_else(|| self.tick_of(self.now))
    }

    /// Absolute deadline of a timeout given now (`z_add_timeout`): a relative timeout of N
    /// ticks ends N + 1 ticks after the current tick; an absolute one at its tick, or at the
    /// next tick if that has passed. None for `K_FOREVER`, and for a deadline past
    /// [`horizon_tick`](Self::horizon_tick), which cannot be represented and so means never
    /// (Zephyr's own arithmetic would overflow there).
    #[inline]
    pub fn deadline(&self, timeout: k_timeout_t) -> Option<i64> {
        if timeout == K_FOREVER {
            return None;
        }
        let now = self.uptime_ticks();
        let abs = Z_TICK_ABS(timeout.ticks);
        let deadline = if abs >= 0 {
            Some(abs.max(now + 1))
        } else {
            now.checked_add(timeout.ticks.max(0)).and_then(|d| d.checked_add(1))
        };
        deadline.filter(|&d| d <= self.horizon_tick())
    }

    /// Adds a timeout at an absolute deadline; returns its key.
    pub fn add_timeout(&mut self, deadline: i64, target: Target) -> (i64, u64) {
        self.seq += 1;
        let key = (deadline, self.seq);
        self.timeouts.insert(key, target);
        if self.slice_time != 0 {
            self.time_slice_timeout_added(key);
        }
        key
    }

    /// The next pseudo-random number of the seeded mode (xorshift64*), or None when not seeded.
    pub fn random(&mut self) -> Option<u64> {
        let x = self.rng.as_mut()?;
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        Some(x.wrapping_mul(0x2545_f491_4f6c_dd1d))
    }

    /// Moves every deferred interrupt to the interrupt queue, due now (when the thread that
    /// would have met them blocks: the CPU takes them at once).
    pub fn release_deferred_irqs(&mut self) {
        while let Some((_, isr)) = self.deferred_irqs.pop_front() {
            self.seq += 1;
            self.irqs.insert((self.now, self.seq), isr);
        }
    }

    /// Time of the next event (timeout or device interrupt), in cycles.
    pub fn next_event(&self) -> Option<u64> {
        let t = self.timeouts.keys().next().map(|&(tick, _)| self.cycle_of_tick(tick));
        let i = self.irqs.keys().next().map(|&(c, _)| c);
        match (t, i) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances virtual time to `cycles` (never back), charging the time to what holds the CPU:
    /// an ISR, or the current thread (idle when none runs). See [`crate::cpu`].
    pub fn advance_to(&mut self, cycles: u64) {
        if cycles > self.now {
            let elapsed = cycles - self.now;
            if self.isr_depth > 0 {
                self.isr_cycles += elapsed;
            } else {
                self.threads[self.current as usize].cpu_cycles += elapsed;
            }
            self.now = cycles;
        }
    }

    /// Converts `cpu` cost-model CPU cycles to simulator cycles, carrying the remainder so
    /// that a sum of charges converts exactly ([`crate::cost`]).
    pub fn cost_cycles(&mut self, cpu: u64) -> u64 {
        if cpu == 0 {
            return 0;
        }
        self.cost_carry += cpu * u64::from(self.cycles_per_sec);
        let hz = u64::from(self.cost.cpu_hz);
        let cycles = self.cost_carry / hz;
        self.cost_carry %= hz;
        cycles
    }

    /// Takes what the current thread owes the cost model, in simulator cycles (0 when off).
    /// Out of line: called only with the cost model on, on the return of every blocking call
    /// (kept small there, where the switch is inlined).
    #[cold]
    #[inline(never)]
    pub fn take_cost_owed(&mut self) -> u64 {
        let owed = std::mem::take(&mut self.threads[self.current as usize].cost_owed);
        self.cost_cycles(owed)
    }

    /// Where the running code is, for the timeline: an ISR or the current thread.
    pub fn context(&self) -> Context {
        if self.isr_depth > 0 {
            Context::Isr
        } else {
            Context::Thread(self.current)
        }
    }

    /// Records a trace event, when tracing (the text trace, the timeline, or both). Costs a
    /// test when not tracing (the switch path calls it).
    #[inline(always)]
    pub fn record(&mut self, event: TraceEvent) {
        if self.tracing() {
            self.record_traced(event);
        }
    }

    /// Whether trace events are recorded (the text trace, the timeline, or both): a hot path
    /// tests this before it builds an event, so it builds and drops none when not tracing.
    #[inline(always)]
    pub fn tracing(&self) -> bool {
        debug_assert_eq!(
            self.observed,
            self.trace.is_some() || self.timeline.is_some(),
            "Kernel::observed is set with the trace and the timeline"
        );
        self.observed
    }

    #[cold]
    #[inline(never)]
    fn record_traced(&mut self, event: TraceEvent) {
        if let Some(timeline) = self.timeline.as_mut() {
            let context =
                if self.isr_depth > 0 { Context::Isr } else { Context::Thread(self.current) };
            timeline.push(self.now, context, What::Event(event.clone()));
        }
        if let Some(trace) = self.trace.as_mut() {
            let tick = self.announce_tick.unwrap_or_else(|| {
                (self.now as u128 * self.ticks_per_sec as u128 / self.cycles_per_sec as u128) as i64
            });
            trace.push(TraceRecord { cycles: self.now, tick, event });
        }
    }

    /// Records a timeline mark (not part of the text trace), when recording one.
    #[inline(always)]
    pub fn mark(&mut self, what: What) {
        if self.timeline.is_some() {
            let (now, context) = (self.now, self.context());
            if let Some(timeline) = self.timeline.as_mut() {
                timeline.push(now, context, what);
            }
        }
    }

    /// Records an Embassy executor hook, when recording a timeline; `executor_id` and
    /// `task_id` are the ids the hooks pass, numbered here in order of first appearance.
    #[cfg_attr(
        not(feature = "embassy-trace"),
        allow(dead_code, reason = "called by the Embassy hooks, with the embassy-trace feature")
    )]
    pub fn record_embassy(&mut self, hook: Hook, executor_id: u32, task_id: Option<u32>) {
        let (now, context) = (self.now, self.context());
        if let Some(timeline) = self.timeline.as_mut() {
            let polling = matches!(hook, Hook::PollStart | Hook::ExecBegin | Hook::Idle);
            let executor = timeline.executor(executor_id, context, polling);
            let task = task_id.map_or(0, |id| timeline.task(id));
            timeline.push(now, context, What::Embassy { hook, executor, task });
        }
    }

    // ------------------------------------------------------------- threads

    /// Adds a thread for `obj` at `prio`, in the PRESTART state; returns its slot.
    pub fn register_thread(&mut self, obj: *mut k_thread, prio: i32) -> u32 {
        let slot = self.threads.len() as u32;
        self.threads.push(Thread::new(obj, prio));
        // SAFETY: `obj` is a live k_thread the caller handed to the kernel (k_thread_create's
        // contract) or one the kernel owns.
        unsafe {
            (*obj)._sim = z_sim_obj {
                magic: Z_SIM_THREAD,
                sim: self.id,
                id: slot,
                flags: 0,
                addr: obj as usize,
            };
            (*obj).base.prio = prio as i8;
            (*obj).name = [0; CONFIG_THREAD_MAX_NAME_LEN];
        }
        self.sync_state(slot);
        self.publish_name(slot);
        slot
    }

    /// Sets a thread's name (truncated to fit with its NUL).
    pub fn set_name(&mut self, slot: u32, name: &[u8]) {
        let obj = self.threads[slot as usize].obj;
        let n = name.len().min(CONFIG_THREAD_MAX_NAME_LEN - 1);
        // SAFETY: thread objects stay valid while their thread lives (k_thread_create's
        // contract); the kernel owns main's and idle's.
        unsafe {
            (*obj).name = [0; CONFIG_THREAD_MAX_NAME_LEN];
            for (d, s) in (*obj).name.iter_mut().zip(&name[..n]) {
                *d = *s as _;
            }
        }
        self.publish_name(slot);
    }

    /// Tells the watchdog a thread's current name.
    fn publish_name(&self, slot: u32) {
        let name = self.name(slot);
        if let Ok(mut names) = self.watch.names.lock() {
            if names.len() <= slot as usize {
                names.resize(slot as usize + 1, String::new());
            }
            names[slot as usize] = name;
        }
    }

    /// A thread's name, or its address when it has none.
    pub fn name(&self, slot: u32) -> String {
        let t = &self.threads[slot as usize];
        // SAFETY: as in `set_name`; for dead threads the object may be reused, but reading a
        // byte array of a live `k_thread` is harmless.
        let raw = unsafe { (*t.obj).name };
        let bytes: Vec<u8> = raw.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        if bytes.is_empty() {
            format!("thread#{slot}")
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    /// Writes the state bits and priority back into the thread's `k_thread`.
    #[inline(always)]
    pub fn sync_state(&mut self, slot: u32) {
        sync_state_prio(&self.threads[slot as usize]);
    }

    /// The slot of a `k_thread`, checking that it is a thread of this simulation.
    ///
    /// # Panics
    /// If `obj` is null, was never created, belongs to another simulation or has moved.
    pub fn slot_of(&self, obj: *const k_thread, call: &str) -> u32 {
        assert!(!obj.is_null(), "{call}: the thread id is NULL");
        // SAFETY: the caller passed a thread id, which Zephyr requires to be a valid k_thread.
        let h = unsafe { &(*obj)._sim };
        if h.magic != Z_SIM_THREAD {
            panic!("{call}: {:#x} is not a thread created by k_thread_create", obj as usize);
        }
        if h.sim != self.id {
            panic!("{call}: thread {:#x} belongs to another simulation", obj as usize);
        }
        if h.addr != obj as usize {
            panic!(
                "{call}: k_thread at {:#x} was created at {:#x}: kernel objects must not move",
                obj as usize, h.addr
            );
        }
        h.id
    }

    /// Makes a ready thread runnable: queues it behind its equals (`z_priq_dumb_add`: before
    /// the first thread it is more urgent than, so with deadlines, by deadline).
    #[inline(always)]
    fn enqueue(&mut self, slot: u32) {
        let t = &mut self.threads[slot as usize];
        debug_assert!(t.state & _THREAD_QUEUED == 0);
        t.state |= _THREAD_QUEUED;
        sync_state(t);
        let prio = t.prio;
        self.queue(slot, prio);
    }

    /// The ready-queue half of [`Self::enqueue`], for a thread already marked
    /// `_THREAD_QUEUED` at priority `prio`.
    #[inline(always)]
    fn queue(&mut self, slot: u32, prio: i32) {
        queue_in(&mut self.ready, &mut self.threads, self.sched_deadline, slot, prio);
    }

    /// Moves a ready thread behind the others of its priority (`k_yield`).
    pub fn requeue(&mut self, slot: u32) {
        self.dequeue(slot);
        if self.threads[slot as usize].is_ready() {
            self.enqueue(slot);
        }
    }

    /// Queues a ready thread again at its place among its equals (after its deadline changed);
    /// does nothing to a thread not in the ready queue.
    pub fn requeue_if_queued(&mut self, slot: u32) {
        if self.threads[slot as usize].state & _THREAD_QUEUED != 0 {
            self.dequeue(slot);
            self.enqueue(slot);
        }
    }

    /// Takes a thread out of the ready queue, if it is there.
    #[inline]
    fn dequeue(&mut self, slot: u32) {
        let t = &mut self.threads[slot as usize];
        if t.state & _THREAD_QUEUED != 0 {
            t.state &= !_THREAD_QUEUED;
            self.ready.remove(&mut self.threads, slot);
            self.sync_state(slot);
        }
    }

    /// Clears `bits` and queues the thread if that made it ready (`z_ready_thread`).
    #[inline(always)]
    pub fn clear_state(&mut self, slot: u32, bits: u8) {
        let t = &mut self.threads[slot as usize];
        let prio = t.prio;
        if t.unblock(bits) {
            self.queue(slot, prio);
            self.mark_ready(slot);
        }
    }

    /// The timeline's mark for a thread made ready by another context, when recording one.
    #[inline(always)]
    fn mark_ready(&mut self, slot: u32) {
        if self.timeline.is_some() && self.context() != Context::Thread(slot) {
            self.mark(What::Ready(slot));
        }
    }

    /// Sets `bits` (which make the thread not ready) and dequeues it.
    #[inline(always)]
    pub fn set_state(&mut self, slot: u32, bits: u8) {
        if self.threads[slot as usize].block(bits) {
            self.ready.remove(&mut self.threads, slot);
        }
    }

    /// Cancels a thread's pending timeout, if any; returns whether there was one.
    #[inline(always)]
    pub fn abort_thread_timeout(&mut self, slot: u32) -> bool {
        match self.threads[slot as usize].timeout.take() {
            Some(key) => {
                self.timeouts.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Arms a thread's timeout for `timeout` (nothing for `K_FOREVER`).
    #[inline(always)]
    pub fn add_thread_timeout(&mut self, slot: u32, timeout: k_timeout_t) {
        if let Some(deadline) = self.deadline(timeout) {
            let key = self.add_timeout(deadline, Target::Thread(slot));
            self.threads[slot as usize].timeout = Some(key);
        }
    }

    /// Changes a thread's priority, requeueing it if ready (`z_set_prio`).
    pub fn set_prio(&mut self, slot: u32, prio: i32) {
        let queued = self.threads[slot as usize].state & _THREAD_QUEUED != 0;
        if queued {
            self.dequeue(slot);
        }
        self.threads[slot as usize].prio = prio;
        if queued {
            self.enqueue(slot);
        }
        self.sync_state(slot);
    }

    // -------------------------------------------------------- time slicing

    /// `k_sched_time_slice_set(ms, prio)` (kernel/sched.c:368-382): the new slice size and
    /// priority, and a fresh slice for the running thread.
    pub fn set_time_slice(&mut self, ms: u32, prio: i32) {
        self.slice_time = crate::timeslice::slice_ticks(ms, self.ticks_per_sec);
        self.slice_prio = prio;
        self.cancel_time_slice();
        self.reset_time_slice();
    }

    /// Starts a new slice for the running thread (`z_reset_time_slice`, kernel/sched.c:356-366):
    /// it ends `slice_time` ticks after the current tick, an event in [`Kernel::timeouts`]
    /// (Zephyr programs the timer for it with `z_set_timeout_expiry`). None for the idle
    /// thread, which is never sliced (Zephyr arms it, and the announcement drops it).
    pub fn reset_time_slice(&mut self) {
        if self.slice_time == 0 {
            return;
        }
        self.cancel_time_slice();
        if self.current == IDLE {
            return;
        }
        let end = self.uptime_ticks().saturating_add(self.slice_time);
        self.slice_end = end;
        let key = (end, 0);
        self.timeouts.insert(key, Target::Slice);
        self.slice_key = Some(key);
    }

    /// Drops the running thread's slice (`slice_ticks = 0`).
    pub fn cancel_time_slice(&mut self) {
        if let Some(key) = self.slice_key.take() {
            self.timeouts.remove(&key);
        }
    }

    /// Whether the running thread may be sliced now (`sliceable`, kernel/sched.c:384-390).
    pub fn current_sliceable(&self) -> bool {
        let t = &self.threads[self.current as usize];
        crate::timeslice::sliceable(
            t.prio,
            t.sched_lock,
            t.is_ready(),
            self.current == IDLE,
            self.slice_prio,
        )
    }

    /// The running thread's slice ran out, at its tick's announcement (`z_time_slice`,
    /// kernel/sched.c:413-422): a sliceable thread goes behind the ready threads of its
    /// priority (`move_thread_to_end_of_prio_q`) and starts a new slice; the interrupt's exit
    /// then switches to the thread now first. Another keeps running without a slice.
    pub fn time_slice_expired(&mut self) {
        self.slice_key = None;
        if self.current_sliceable() {
            let cur = self.current;
            self.requeue(cur);
            self.reset_time_slice();
        }
    }

    /// A kernel call of the running thread ended without a switch (cold: called only with
    /// slicing on, by [`crate::switch::reschedule`] and [`crate::switch::wake_end`]).
    ///
    /// Zephyr restarts the running thread's slice in `update_cache` (kernel/sched.c:447-457)
    /// whenever the thread it picks to run next is not `_current` and may preempt it
    /// (`should_preempt`, sched.c:126-161), before any switch. Usually the switch follows at
    /// once and restarts the slice again (`do_swap`, kernel/include/kswap.h:108-111), but a
    /// thread holding `irq_lock` keeps the CPU until its next reschedule point
    /// (`z_reschedule` switches only with interrupts unlocked), and its restarted slice is
    /// what ends first: the more urgent thread runs at that slice's end, the next timer
    /// interrupt, unless something else reschedules before.
    ///
    /// `update_cache` runs when the call readied a thread (`ready_thread`, sched.c:503-507),
    /// made one unready (`unready_thread`, sched.c:610-616; `k_thread_suspend`, sched.c:555),
    /// changed a priority (sched.c:782) or ended a thread (sched.c:1509). The simulator sees
    /// that as a change in the ready threads or their priorities since the last such call
    /// ended in the same state (same thread, no switch between): a call that changed none
    /// (a give to a semaphore nobody waits on) restarts nothing, as in Zephyr.
    #[cold]
    #[inline(never)]
    pub fn time_slice_kept_cpu(&mut self, preempt_ok: bool) {
        let cur = self.current;
        let held = self.isr_depth == 0
            && cur != IDLE
            && self.threads[cur as usize].irq_lock != 0
            && self.threads[cur as usize].is_ready()
            && self.need_swap(preempt_ok);
        if !held {
            self.slice_ready_seen = None;
            return;
        }
        let ready: Vec<(u32, i32)> = (0..self.threads.len() as u32)
            .filter(|&t| t != IDLE && self.threads[t as usize].is_ready())
            .map(|t| (t, self.threads[t as usize].prio))
            .collect();
        let seen = crate::timeslice::ReadySeen { switches: self.switches, thread: cur, ready };
        if self.slice_ready_seen.as_ref() != Some(&seen) {
            self.slice_ready_seen = Some(seen);
            self.reset_time_slice();
        }
    }

    /// A timeout was added at `key` (cold: called only with slicing on, by
    /// [`Kernel::add_timeout`]): the timer may now be programmed past the slice's end.
    ///
    /// When a new timeout becomes the first (strictly sooner than every other, as
    /// `z_add_timeout` inserts it behind those of its tick), `z_add_timeout` reprograms the
    /// timer (kernel/timeout.c:122-137) for `next_timeout()` (timeout.c:67-80), which compares
    /// the timeout's ticks from now (`dticks - elapsed()`) with the slice's ticks left since
    /// the last announcement (`slice_ticks`): two frames, `elapsed()` ticks apart. It takes
    /// the slice only if `slice_ticks` is smaller, and then leaves the timer alone; it leaves
    /// it alone too when the two are equal; otherwise it programs the timeout's tick. When
    /// ticks passed since the last announcement, that tick can be past the slice's end: no
    /// interrupt comes there, and the slice runs out at the timeout's announcement, late
    /// (`z_time_slice` rotates when the announced ticks reach `slice_ticks`,
    /// kernel/sched.c:413-417). Any later programming that comes before the slice's end puts
    /// it back there (an announcement before it reprograms the timer in one frame,
    /// timeout.c:260-267); a new slice is programmed right (`z_reset_time_slice`).
    ///
    /// A timeout added inside the system clock's announcement changes nothing: `elapsed()` is
    /// 0 there and the announcement's end programs the timer (timeout.c:267).
    #[cold]
    #[inline(never)]
    pub fn time_slice_timeout_added(&mut self, key: (i64, u64)) {
        let Some(slice_key) = self.slice_key else { return };
        if self.announce_tick.is_some() {
            return;
        }
        let first = self.timeouts.keys().find(|&&k| k != slice_key);
        if first != Some(&key) {
            return;
        }
        let now = self.uptime_ticks();
        // `slice_ticks`, counted from the last announcement; the timeout's ticks from now.
        let slice_ticks = self.slice_end - self.last_announce_tick;
        let timeout_ticks = key.0 - now;
        if slice_ticks <= timeout_ticks {
            return;
        }
        let programmed = key.0;
        let new_key = (programmed.max(self.slice_end), 0);
        if new_key != slice_key {
            self.timeouts.remove(&slice_key);
            self.timeouts.insert(new_key, Target::Slice);
            self.slice_key = Some(new_key);
        }
    }

    /// A tick announcement other than the slice's end (`sys_clock_announce` calls
    /// `z_time_slice` first, kernel/timeout.c:237): a running thread that is not sliceable now
    /// (it made itself cooperative, locked the scheduler) loses its slice until the next
    /// switch (kernel/sched.c:420-422).
    pub fn time_slice_announce(&mut self) {
        if self.slice_key.is_some() && !self.current_sliceable() {
            self.cancel_time_slice();
        }
    }

    /// Whether the running thread should give the CPU to another (`update_cache` +
    /// `need_swap`): always if it cannot run; otherwise if a more urgent (or, after a yield,
    /// an equal) thread leads the ready queue, unless the running thread is cooperative or
    /// has locked the scheduler and `preempt_ok` is false.
    #[inline]
    pub fn need_swap(&self, preempt_ok: bool) -> bool {
        let best = self.ready.best();
        if self.current == IDLE {
            return best.is_some();
        }
        // The common answer first, without looking at the thread: it leads the ready queue
        // (only ready threads are queued).
        if best == Some(self.current) {
            return false;
        }
        let cur = &self.threads[self.current as usize];
        if !cur.is_ready() {
            return true;
        }
        match best {
            None => false,
            Some(_) => preempt_ok || (cur.prio >= 0 && cur.sched_lock == 0),
        }
    }

    /// Whether a kernel call's entry has work (`switch::kernel_call_entry`): the cost model
    /// charges calls, or seeded mode deferred an interrupt to a later interrupt point.
    #[inline(always)]
    pub fn entry_hooks(&self) -> bool {
        self.cost_on || !self.deferred_irqs.is_empty()
    }

    /// True when the caller may switch threads now: thread context, interrupts not locked.
    #[inline]
    pub fn may_swap(&self) -> bool {
        self.isr_depth == 0
            && self.current != IDLE
            && self.threads[self.current as usize].irq_lock == 0
    }

    /// Starts a PRESTART thread (`z_sched_start`).
    pub fn start_thread(&mut self, slot: u32) {
        if self.threads[slot as usize].state & _THREAD_PRESTART != 0 {
            self.abort_thread_timeout(slot);
            self.clear_state(slot, _THREAD_PRESTART);
        }
    }

    /// Marks a thread dead, removing it from every queue and waking its joiners.
    pub fn mark_dead(&mut self, slot: u32) {
        self.abort_thread_timeout(slot);
        if self.threads[slot as usize].state & _THREAD_PENDING != 0 {
            self.unpend(slot);
        }
        self.dequeue(slot);
        self.threads[slot as usize].state = _THREAD_DEAD;
        self.sync_state(slot);
        let join_q = self.threads[slot as usize].join_q.as_ptr();
        while let Some(j) = self.unpend_first(join_q) {
            self.threads[j as usize].swap_retval = 0;
        }
        self.record(TraceEvent::Exit { thread: slot });
        if slot == MAIN && self.main_return_ends_run && self.ended.is_none() {
            self.ended = Some(Box::new(End::MainReturned));
        }
    }

    // --------------------------------------------------------- wait queues

    /// The wait queue behind a [`Wait`].
    #[inline]
    pub fn wait_q(&mut self, w: Wait) -> *mut _wait_q_t {
        // SAFETY: objects a thread pends on stay valid while it pends (the caller's contract
        // for every blocking call); join queues are boxed in the thread table.
        unsafe {
            match w {
                Wait::Sem(p) => addr_of_mut!((*p).wait_q),
                Wait::Mutex(p) => addr_of_mut!((*p).wait_q),
                Wait::Condvar(p) => addr_of_mut!((*p).wait_q),
                Wait::TimerSync(p) => addr_of_mut!((*p).wait_q),
                Wait::Join(slot) => self.threads[slot as usize].join_q.as_ptr(),
                Wait::Poll { .. } => self.poll.wait_q.as_ptr(),
                Wait::WorkQueue(q) => addr_of_mut!((*q).notifyq),
                Wait::WorkFlush(_) | Wait::WorkCancel(_) => self.work.sync_q.as_ptr(),
                Wait::QueueGet(p) => addr_of_mut!((*p).wait_q),
                Wait::MsgqPut(p) | Wait::MsgqGet(p) => addr_of_mut!((*p).wait_q),
                Wait::Object { q, .. } => q,
            }
        }
    }

    /// Blocks the running thread on `w` until woken or `timeout` (`z_pend_curr`, minus the
    /// switch). The thread's result is `-EAGAIN` unless a waker sets another.
    #[inline(always)]
    pub fn pend_current(&mut self, w: Wait, timeout: k_timeout_t) {
        let q = self.wait_q(w);
        self.pend_on(self.current, w, q, timeout);
    }

    /// Blocks thread `slot` on `w` until woken or `timeout` (see [`Self::pend_current`]).
    #[inline(always)]
    pub fn pend_thread(&mut self, slot: u32, w: Wait, timeout: k_timeout_t) {
        let q = self.wait_q(w);
        self.pend_on(slot, w, q, timeout);
    }

    /// [`Self::pend_thread`] on `q`, the wait queue of `w`.
    #[inline(always)]
    fn pend_on(&mut self, slot: u32, w: Wait, q: *mut _wait_q_t, timeout: k_timeout_t) {
        let (deadline, pend) = (self.sched_deadline, u64::from(self.cost.pend));
        let threads = &mut self.threads[..];
        // One look at the thread for the wait and its new state: `set_state(slot,
        // _THREAD_PENDING)` without indexing the table again.
        let me = &threads[slot as usize];
        let urgency = (me.prio, me.prio_deadline);
        // SAFETY: `q` is a valid wait queue (see `wait_q`); its links are slots of this kernel.
        let (prev, next) = unsafe { waitq_insert(threads, q, slot, urgency, deadline) };
        let t = &mut threads[slot as usize];
        t.wq_prev = prev;
        t.wq_next = next;
        t.wait = Some(w);
        t.wait_q = q;
        t.swap_retval = -EAGAIN;
        t.cost_owed += pend;
        if t.block(_THREAD_PENDING) {
            self.ready.remove(threads, slot);
        }
        self.add_thread_timeout(slot, timeout);
    }

    /// Removes a pending thread from its wait queue and timeout, and readies it (unless
    /// suspended). Its blocking call returns its `swap_retval`.
    #[inline(never)]
    pub fn unpend(&mut self, slot: u32) {
        self.unpend_inline(slot, None);
    }

    /// [`Self::unpend`], inlined into the wake-ups of [`Self::unpend_first`].
    #[inline(always)]
    fn unpend_inline(&mut self, slot: u32, retval: Option<c_int>) {
        // One look at the thread for what leaves with the wait and its new state (on every
        // wake-up): `clear_state(slot, _THREAD_PENDING)` without indexing the table again.
        let wake = u64::from(self.cost.wake);
        let threads = &mut self.threads[..];
        let t = &mut threads[slot as usize];
        t.cost_owed += wake;
        if let Some(r) = retval {
            t.swap_retval = r;
        }
        // What leaves with the wait: the queue links, and a poller's events (read only for a
        // poller, the rare case).
        let waiting = t.wait.is_some();
        let poll = match t.wait {
            Some(Wait::Poll { events, num }) => Some((events, num)),
            _ => None,
        };
        t.wait = None;
        let (prev, next, q) = (t.wq_prev, t.wq_next, t.wait_q);
        t.wq_prev = NONE;
        t.wq_next = NONE;
        // (Only a test here: a wait with a timeout, the rarer case, takes it below.)
        let timed = t.timeout.is_some();
        let ready = t.unblock(_THREAD_PENDING);
        let prio = t.prio;
        if waiting {
            // SAFETY: `q` is the wait queue the thread pends on (set with `wait`), valid while
            // it pends; its links are slots of this kernel.
            unsafe { waitq_unlink(threads, q, prev, next) };
        }
        // Queued with the table already in hand (its index of `slot` checked above); nothing
        // below looks at the ready queue or the timeline.
        if ready {
            queue_in(&mut self.ready, threads, self.sched_deadline, slot, prio);
            self.mark_ready(slot);
        }
        if timed {
            self.cancel_timeout_of(slot);
        }
        if let Some((events, num)) = poll {
            // A poller registered on several objects leaves all of them as soon as it stops
            // waiting (an event fired, it timed out, or it was aborted).
            crate::api::poll::unregister_all(self, events, num, Poller::Thread(slot));
        }
    }

    /// Removes the pending timeout of thread `slot` (it has one).
    #[inline(never)]
    fn cancel_timeout_of(&mut self, slot: u32) {
        if let Some(key) = self.threads[slot as usize].timeout.take() {
            self.timeouts.remove(&key);
        }
    }

    /// Wakes the first (most urgent, longest waiting) thread of a wait queue, if any
    /// (`z_unpend_first_thread` + `z_ready_thread`).
    #[inline]
    pub fn unpend_first(&mut self, q: *mut _wait_q_t) -> Option<u32> {
        let head = self.waiting_head(q)?;
        self.unpend_inline(head, None);
        Some(head)
    }

    /// [`Self::unpend_first`], and the woken thread's blocking call returns `retval` (set in
    /// the same look at the thread).
    #[inline]
    pub fn unpend_first_returning(&mut self, q: *mut _wait_q_t, retval: c_int) -> Option<u32> {
        let head = self.waiting_head(q)?;
        self.unpend_inline(head, Some(retval));
        Some(head)
    }

    /// The first waiter of wait queue `q`, about to be woken: one test of the slot against
    /// the thread table serves as the bounds check and the test for an empty queue (`NONE` is
    /// never a slot).
    #[inline(always)]
    fn waiting_head(&self, q: *mut _wait_q_t) -> Option<u32> {
        // SAFETY: `q` is a valid wait queue (see `wait_q`).
        let head = unsafe { (*q).head };
        if head as usize >= self.threads.len() {
            if head != NONE {
                bad_waiter(head);
            }
            return None;
        }
        Some(head)
    }

    /// The first waiter of a wait queue.
    pub fn waitq_head(&self, q: *const _wait_q_t) -> Option<u32> {
        // SAFETY: `q` is a valid wait queue (see `wait_q`).
        let head = unsafe { (*q).head };
        (head != NONE).then_some(head)
    }

    // ------------------------------------------------------ object checks

    /// Checks the header `h` of the kernel object `obj` before use, registering statically
    /// initialised objects at first use.
    ///
    /// # Panics
    /// If the object was never initialised, is of another kind, belongs to another
    /// simulation, or moved after it was initialised.
    #[inline]
    pub fn check_object<T>(&mut self, h: *mut z_sim_obj, obj: *mut T, kind: u32, call: &str) {
        let addr = obj as usize;
        // The common case, an object of this simulation used where it was initialised: three
        // compares (simulation ids start at 1, so an unregistered static, `sim == 0`, takes
        // the slow path).
        // SAFETY: the caller passed a pointer Zephyr requires to be a valid object of `kind`;
        // the header is plain data, valid for any bit pattern.
        let (magic, sim, at) = unsafe { ((*h).magic, (*h).sim, (*h).addr) };
        // `magic == kind && sim == self.id` as one compare of the two adjacent words (LLVM
        // reads them as one 64-bit word; the key is the constant kind or-ed into the id's).
        if header_key(magic, sim) == header_key(kind, 0) | self.header_sim && at == addr {
            return;
        }
        self.check_object_slow(h, obj.cast(), kind, call);
    }

    /// [`Self::check_object`] for an object that is not (yet) a registered one of this
    /// simulation at its address: registers it or panics.
    #[cold]
    #[inline(never)]
    fn check_object_slow(&mut self, h: *mut z_sim_obj, obj: *mut c_void, kind: u32, call: &str) {
        let addr = obj as usize;
        // SAFETY: as in `check_object`.
        let h = unsafe { &mut *h };
        let kind_name = kind_name(kind);
        if h.magic != kind {
            if h.magic == 0 {
                panic!(
                    "{call}: {kind_name} at {addr:#x} was never initialised ({})",
                    init_hint(kind)
                );
            }
            match known_kind(h.magic) {
                Some(other) => {
                    panic!("{call}: object at {addr:#x} is a {other}, not a {kind_name}")
                }
                None => panic!(
                    "{call}: {addr:#x} is not an initialised {kind_name} (memory corrupted, or \
                     never initialised)"
                ),
            }
        }
        if h.sim == 0 {
            // Statically initialised, first use: register it here.
            h.sim = self.id;
            h.addr = addr;
            h.flags = STATIC;
            return;
        }
        if h.sim != self.id {
            if h.flags & STATIC != 0 {
                if live_simulations().contains(&h.sim) {
                    panic!(
                        "{call}: the static {kind_name} at {addr:#x} is in use by another \
                         simulation running at the same time (on another host thread): a static \
                         kernel object belongs to one simulation at a time; give each \
                         simulation its own (a per-test static, or a leaked Box)"
                    );
                }
                // A static object first used by an earlier simulation that has ended: adopt it,
                // as a reboot would (its waiters belonged to the other simulation).
                h.sim = self.id;
                h.addr = addr;
                // SAFETY: `obj` is the object and its magic says it is a `kind`.
                unsafe { reset_wait_q(kind, obj.cast()) };
                return;
            }
            panic!(
                "{call}: {kind_name} at {addr:#x} was initialised by another simulation \
                 (kernel objects must not be shared between simulations)"
            );
        }
        if h.addr != addr {
            panic!(
                "{call}: {kind_name} at {addr:#x} was initialised at {:#x}: kernel objects must \
                 not move in memory after initialisation",
                h.addr
            );
        }
    }

    /// Initialises a kernel object's header (`k_*_init`).
    ///
    /// # Panics
    /// If the object is initialised in this simulation and threads still wait on it.
    pub fn init_object(&mut self, h: *mut z_sim_obj, q: *mut _wait_q_t, addr: usize, kind: u32) {
        // SAFETY: as in `check_object`; `q` is the object's wait queue.
        unsafe {
            let h = &mut *h;
            if h.magic == kind && h.sim == self.id && h.addr == addr && (*q).head != NONE {
                panic!(
                    "{}: {} at {addr:#x} re-initialised while threads wait on it",
                    init_name(kind),
                    kind_name(kind)
                );
            }
            if h.magic == kind && h.sim == self.id && self.poll.is_polled(addr) {
                panic!(
                    "{}: {} at {addr:#x} re-initialised while k_poll events are registered on it",
                    init_name(kind),
                    kind_name(kind)
                );
            }
            self.objects += 1;
            *h = z_sim_obj { magic: kind, sim: self.id, id: self.objects, flags: 0, addr };
            *q = _wait_q_t::EMPTY;
        }
    }
}

/// A wait queue links to a slot the thread table does not have (a kernel bug).
#[cold]
#[inline(never)]
fn bad_waiter(slot: u32) -> ! {
    panic!("simulator bug: a wait queue links to thread slot {slot}, which does not exist")
}

/// `z_sim_obj::flags`: statically initialised object.
const STATIC: u32 = 1;

fn known_kind(magic: u32) -> Option<&'static str> {
    match magic {
        Z_SIM_THREAD | Z_SIM_SEM | Z_SIM_MUTEX | Z_SIM_CONDVAR | Z_SIM_TIMER | Z_SIM_WORK_Q
        | Z_SIM_WORK | Z_SIM_POLL_SIGNAL | Z_SIM_QUEUE | Z_SIM_MSGQ | Z_SIM_STACK
        | Z_SIM_MEM_SLAB | Z_SIM_HEAP | Z_SIM_PIPE | Z_SIM_MBOX => Some(kind_name(magic)),
        _ => None,
    }
}

fn kind_name(kind: u32) -> &'static str {
    match kind {
        Z_SIM_THREAD => "k_thread",
        Z_SIM_SEM => "k_sem",
        Z_SIM_MUTEX => "k_mutex",
        Z_SIM_CONDVAR => "k_condvar",
        Z_SIM_TIMER => "k_timer",
        Z_SIM_WORK_Q => "k_work_q",
        Z_SIM_WORK => "k_work",
        Z_SIM_POLL_SIGNAL => "k_poll_signal",
        Z_SIM_QUEUE => "k_queue",
        Z_SIM_MSGQ => "k_msgq",
        Z_SIM_STACK => "k_stack",
        Z_SIM_MEM_SLAB => "k_mem_slab",
        Z_SIM_HEAP => "k_heap",
        Z_SIM_PIPE => "k_pipe",
        Z_SIM_MBOX => "k_mbox",
        _ => "kernel object",
    }
}

/// The call that initialises an object of `kind`.
fn init_name(kind: u32) -> &'static str {
    match kind {
        Z_SIM_WORK_Q => "k_work_queue_init",
        Z_SIM_WORK => "k_work_init",
        Z_SIM_POLL_SIGNAL => "k_poll_signal_init",
        Z_SIM_QUEUE => "k_queue_init",
        Z_SIM_MSGQ => "k_msgq_init",
        Z_SIM_SEM => "k_sem_init",
        Z_SIM_MUTEX => "k_mutex_init",
        Z_SIM_CONDVAR => "k_condvar_init",
        Z_SIM_TIMER => "k_timer_init",
        Z_SIM_STACK => "k_stack_init",
        Z_SIM_MEM_SLAB => "k_mem_slab_init",
        Z_SIM_HEAP => "k_heap_init",
        Z_SIM_PIPE => "k_pipe_init",
        Z_SIM_MBOX => "k_mbox_init",
        _ => "k_object_init",
    }
}

/// How to initialise an object of `kind`, for the "never initialised" report.
fn init_hint(kind: u32) -> String {
    match kind {
        Z_SIM_SEM | Z_SIM_MUTEX | Z_SIM_CONDVAR | Z_SIM_TIMER | Z_SIM_MSGQ | Z_SIM_STACK
        | Z_SIM_MEM_SLAB | Z_SIM_HEAP | Z_SIM_PIPE | Z_SIM_MBOX => {
            format!("call {} first, or use its static initializer", init_name(kind))
        }
        Z_SIM_WORK => "call k_work_init, k_work_init_delayable or k_work_poll_init first".into(),
        Z_SIM_QUEUE => {
            "call k_queue_init (k_fifo_init, k_lifo_init) first, or use its static initializer"
                .into()
        }
        _ => format!("call {} first", init_name(kind)),
    }
}

/// Empties the wait queue of the object `obj` of `kind`.
///
/// # Safety
/// `obj` must be a valid object of `kind`.
unsafe fn reset_wait_q(kind: u32, obj: *mut c_void) {
    // SAFETY: caller's contract.
    unsafe {
        match kind {
            Z_SIM_SEM => (*obj.cast::<k_sem>()).wait_q = _wait_q_t::EMPTY,
            Z_SIM_MUTEX => {
                let m = obj.cast::<k_mutex>();
                (*m).wait_q = _wait_q_t::EMPTY;
                (*m).owner = std::ptr::null_mut();
                (*m).lock_count = 0;
            }
            Z_SIM_CONDVAR => (*obj.cast::<k_condvar>()).wait_q = _wait_q_t::EMPTY,
            Z_SIM_TIMER => {
                let t = obj.cast::<k_timer>();
                (*t).wait_q = _wait_q_t::EMPTY;
                (*t).timeout = _timeout::INACTIVE;
            }
            // Back to its static initial state (`K_POLL_SIGNAL_INITIALIZER`).
            Z_SIM_POLL_SIGNAL => (*obj.cast::<k_poll_signal>()).signaled = 0,
            // The rest as Zephyr's boot leaves statically defined objects: empty.
            Z_SIM_QUEUE => {
                let q = obj.cast::<k_queue>();
                (*q).wait_q = _wait_q_t::EMPTY;
                (*q).head = std::ptr::null_mut();
                (*q).tail = std::ptr::null_mut();
            }
            Z_SIM_MSGQ => {
                let q = obj.cast::<k_msgq>();
                (*q).wait_q = _wait_q_t::EMPTY;
                (*q).used_msgs = 0;
                (*q).read_ptr = (*q).buffer_start;
                (*q).write_ptr = (*q).buffer_start;
            }
            Z_SIM_STACK => {
                let st = obj.cast::<k_stack>();
                (*st).wait_q = _wait_q_t::EMPTY;
                (*st).next = (*st).base;
            }
            Z_SIM_MEM_SLAB => {
                let sl = obj.cast::<k_mem_slab>();
                (*sl).wait_q = _wait_q_t::EMPTY;
                (*sl).zsim_unbuilt = true;
            }
            Z_SIM_HEAP => {
                let h = obj.cast::<k_heap>();
                (*h).wait_q = _wait_q_t::EMPTY;
                (*h).zsim_unbuilt = true;
            }
            Z_SIM_MBOX => {
                let m = obj.cast::<k_mbox>();
                (*m).tx_msg_queue = _wait_q_t::EMPTY;
                (*m).rx_msg_queue = _wait_q_t::EMPTY;
                (*m).zsim_sync_q = _wait_q_t::EMPTY;
            }
            Z_SIM_PIPE => {
                let p = obj.cast::<k_pipe>();
                (*p).wait_q.readers = _wait_q_t::EMPTY;
                (*p).wait_q.writers = _wait_q_t::EMPTY;
                (*p).bytes_used = 0;
                (*p).read_index = 0;
                (*p).write_index = 0;
            }
            _ => {}
        }
    }
}

/// " (work queue 'name')" for the queue a work item was last submitted to.
fn on_queue(k: &Kernel, w: *mut k_work) -> String {
    // SAFETY: the item is valid while a thread waits on it (k_work_flush's contract); a
    // started queue's thread object is registered in this simulation.
    unsafe {
        let q = (*w).queue;
        if q.is_null() || (*q).flags & work_queue_flags::K_WORK_QUEUE_STARTED == 0 {
            return String::new();
        }
        format!(" (work queue '{}')", k.name((*q).thread._sim.id))
    }
}

/// Describes what a blocked thread waits on, for deadlock reports.
/// Whether the thread in `slot` waits on another thread: for a mutex a thread owns, to join a
/// thread, or for a work item to finish on a work queue's thread. When every thread is blocked
/// and one of these waits exists, the threads wait on each other (a deadlock); when none does,
/// every thread waits for an event (a give, a message, a signal) that an interrupt or a device
/// could still bring: the system is idle, as firmware often ends.
pub fn waits_on_thread(k: &Kernel, slot: u32) -> bool {
    match k.threads[slot as usize].wait {
        // SAFETY: the object is valid while the thread pends on it.
        Some(Wait::Mutex(p)) => !unsafe { (*p).owner }.is_null(),
        Some(Wait::Join(_)) | Some(Wait::WorkFlush(_)) | Some(Wait::WorkCancel(_)) => true,
        _ => false,
    }
}

pub fn describe_wait(k: &Kernel, slot: u32) -> String {
    let t = &k.threads[slot as usize];
    let until = match t.timeout {
        Some((tick, _)) => format!(" until tick {tick}"),
        None => " forever".to_string(),
    };
    let mut s = match t.wait {
        Some(Wait::Sem(p)) => format!("pending in k_sem_take on k_sem@{:#x}{until}", p as usize),
        Some(Wait::Mutex(p)) => {
            // SAFETY: the object is valid while the thread pends on it.
            let owner = unsafe { (*p).owner };
            let owner = if owner.is_null() {
                "nobody".to_string()
            } else {
                // SAFETY: as above; the owner is a thread object of this simulation.
                let h = unsafe { &(*owner)._sim };
                k.name(h.id)
            };
            format!("pending in k_mutex_lock on k_mutex@{:#x} (owner {owner}){until}", p as usize)
        }
        Some(Wait::Condvar(p)) => {
            format!("pending in k_condvar_wait on k_condvar@{:#x}{until}", p as usize)
        }
        Some(Wait::TimerSync(p)) => {
            format!("pending in k_timer_status_sync on k_timer@{:#x}{until}", p as usize)
        }
        Some(Wait::Join(j)) => format!("pending in k_thread_join on {}{until}", k.name(j)),
        Some(Wait::Poll { num, .. }) => {
            let events = if num == 1 { "event" } else { "events" };
            format!("pending in k_poll on {num} {events}{until}")
        }
        Some(Wait::WorkQueue(_)) => format!("work queue '{}' waiting for work", k.name(slot)),
        Some(Wait::WorkFlush(w)) => {
            format!("pending in k_work_flush on k_work@{:#x}{}{until}", w as usize, on_queue(k, w))
        }
        Some(Wait::WorkCancel(w)) => format!(
            "pending in k_work_cancel_sync on k_work@{:#x}{}{until}",
            w as usize,
            on_queue(k, w)
        ),
        Some(Wait::QueueGet(p)) => {
            format!("pending in k_queue_get on k_queue@{:#x}{until}", p as usize)
        }
        Some(Wait::MsgqPut(p)) => {
            format!("pending in k_msgq_put on k_msgq@{:#x} (full){until}", p as usize)
        }
        Some(Wait::MsgqGet(p)) => {
            format!("pending in k_msgq_get on k_msgq@{:#x} (empty){until}", p as usize)
        }
        Some(Wait::Object { call, obj, .. }) => format!("pending in {call} on {obj:#x}{until}"),
        None if t.state & _THREAD_SLEEPING != 0 => format!("sleeping{until}"),
        None if t.state & _THREAD_PRESTART != 0 => format!("not started{until}"),
        None if t.state & _THREAD_SUSPENDED != 0 => "suspended".to_string(),
        None if t.is_ready() => "ready".to_string(),
        None => format!("state {:#04x}", t.state),
    };
    if t.state & _THREAD_SUSPENDED != 0 && t.wait.is_some() {
        s.push_str(", and suspended");
    }
    s
}

/// Test support: a booted board on which no thread ever runs.
///
/// Simulated threads run on host stacks switched with assembly (`crate::context`), which
/// miri cannot run. The rest of the kernel runs under miri on a board
/// that never starts one: its bookkeeping called directly, with "threads" that are only
/// registered (they wait, wake and die, but never run), and the API called from ISR context,
/// where no kernel call switches threads.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::atomic::{AtomicU32, Ordering};

    use zephyr_sys::k_thread;

    use super::{install, with, FixedBox, Kernel};

    /// Simulation numbers for unit tests, apart from those `Sim::run` hands out.
    static NEXT_ID: AtomicU32 = AtomicU32::new(1 << 31);

    /// A kernel as `Sim::run` boots it (10 kHz tick, 1 MHz cycle counter, main at priority 0),
    /// before main starts.
    pub(crate) fn kernel() -> Kernel {
        Kernel::new(NEXT_ID.fetch_add(1, Ordering::Relaxed), 10_000, 1_000_000, 0)
    }

    /// Installs a fresh [`kernel`] on this host thread and runs `f` in ISR context; uninstalls
    /// and drops the kernel afterwards, also when `f` panics.
    pub(crate) fn in_isr<R>(f: impl FnOnce() -> R) -> R {
        struct Installed(*mut Kernel);
        impl Drop for Installed {
            fn drop(&mut self) {
                install(std::ptr::null_mut());
                // SAFETY: made by `Box::into_raw` below and no longer installed: this is the
                // last use of the kernel.
                drop(unsafe { Box::from_raw(self.0) });
            }
        }
        let k = Box::into_raw(Box::new(kernel()));
        assert!(install(k).is_null(), "a simulation already runs on this host thread");
        let _installed = Installed(k);
        with(|k| k.isr_depth = 1);
        f()
    }

    /// Registers a thread on `obj` at `prio` and makes it ready; it never runs.
    pub(crate) fn thread(k: &mut Kernel, obj: &FixedBox<k_thread>, prio: i32) -> u32 {
        let slot = k.register_thread(obj.as_ptr(), prio);
        k.start_thread(slot);
        slot
    }

    /// The waiters of the wait queue `q`, head first (checked against the backward links).
    pub(crate) fn waiters(k: &Kernel, q: *const zephyr_sys::_wait_q_t) -> Vec<u32> {
        let mut forward = Vec::new();
        let mut t = k.waitq_head(q).unwrap_or(super::NONE);
        while t != super::NONE {
            forward.push(t);
            t = k.threads[t as usize].wq_next;
        }
        let mut backward = Vec::new();
        // SAFETY: the caller passes a live wait queue of this kernel.
        let mut t = unsafe { (*q).tail };
        while t != super::NONE {
            backward.push(t);
            t = k.threads[t as usize].wq_prev;
        }
        backward.reverse();
        assert_eq!(forward, backward, "the wait queue's forward and backward links disagree");
        forward
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::ptr::addr_of_mut;

    use super::testing::{in_isr, kernel, thread, waiters};
    use super::*;

    /// The message of a panic caught from `f`.
    fn panic_message(f: impl FnOnce()) -> String {
        let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("no panic");
        crate::switch::panic_message(&*payload)
    }

    /// Threads on their own `k_thread`s, none started.
    fn thread_objects(n: usize) -> Vec<FixedBox<k_thread>> {
        (0..n).map(|_| FixedBox::new(k_thread::new())).collect()
    }

    /// A semaphore's wait queue.
    fn sem_q(sem: &FixedBox<k_sem>) -> *mut _wait_q_t {
        // SAFETY: a field of a live semaphore; no reference is made.
        unsafe { addr_of_mut!((*sem.as_ptr()).wait_q) }
    }

    /// `check_object` as the API calls it, on a semaphore.
    fn check_sem(k: &mut Kernel, sem: *mut k_sem) {
        // SAFETY: a field of a live semaphore; no reference is made.
        k.check_object(unsafe { addr_of_mut!((*sem)._sim) }, sem, Z_SIM_SEM, "k_sem_give");
    }

    /// Boot registers idle and main on kernel-owned `k_thread`s, neither started (`Sim::run`
    /// starts main). The kernel writes those objects through the pointers it keeps after their
    /// owners moved into its table: when the owners were `Box`es, that was the Stacked Borrows
    /// violation miri reported.
    #[test]
    fn boot_registers_idle_and_main_not_started() {
        let mut k = kernel();
        assert_eq!(k.threads.len(), 2);
        assert_eq!([k.name(IDLE), k.name(MAIN)], ["idle", "main"]);
        for (slot, prio) in [(IDLE, K_IDLE_PRIO), (MAIN, 0)] {
            let obj = k.own_objects[slot as usize].as_ptr();
            assert_eq!(k.threads[slot as usize].obj, obj);
            assert_eq!(k.slot_of(obj, "test"), slot);
            // SAFETY: the kernel owns the object; no reference to it is live.
            let (p, state) = unsafe { ((*obj).base.prio, (*obj).base.thread_state) };
            assert_eq!((p as i32, state), (prio, _THREAD_PRESTART));
        }
        assert_eq!(k.ready.best(), None);
        k.start_thread(IDLE);
        k.start_thread(MAIN);
        assert_eq!(k.ready.iter(&k.threads).collect::<Vec<_>>(), [MAIN, IDLE]);
        // SAFETY: as above.
        let state = unsafe { (*k.own_objects[MAIN as usize].as_ptr()).base.thread_state };
        assert_eq!(state, _THREAD_QUEUED, "the state is written back into the k_thread");
    }

    /// A wait queue keeps priority order, FIFO among equals (`z_pend_curr` inserts before the
    /// first waiter of lower priority); a waker takes the head (`z_unpend_first_thread`); a
    /// waiter leaving from the middle (timeout, abort) relinks its neighbours. Waiting threads
    /// are out of the ready queue, woken ones back in.
    #[test]
    fn wait_queue_orders_by_priority_then_arrival() {
        let mut k = kernel();
        let sem = FixedBox::new(Z_SEM_INITIALIZER(0, 1));
        check_sem(&mut k, sem.as_ptr());
        let objs = thread_objects(4);
        let t: Vec<u32> =
            objs.iter().zip([5, 3, 5, -1]).map(|(o, p)| thread(&mut k, o, p)).collect();
        for &slot in &t {
            k.pend_thread(slot, Wait::Sem(sem.as_ptr()), K_FOREVER);
        }
        let q = sem_q(&sem);
        assert_eq!(waiters(&k, q), [t[3], t[1], t[0], t[2]]);
        assert_eq!(k.ready.best(), None, "waiting threads are not ready");

        k.unpend(t[1]);
        assert_eq!(waiters(&k, q), [t[3], t[0], t[2]]);
        assert_eq!(k.ready.best(), Some(t[1]));
        assert_eq!(k.threads[t[1] as usize].swap_retval, -EAGAIN, "unless a waker sets another");

        assert_eq!(k.unpend_first(q), Some(t[3]));
        assert_eq!(k.unpend_first(q), Some(t[0]));
        assert_eq!(waiters(&k, q), [t[2]]);
        assert_eq!(k.unpend_first(q), Some(t[2]));
        assert_eq!(k.unpend_first(q), None);
        assert_eq!(k.ready.iter(&k.threads).collect::<Vec<_>>(), [t[3], t[1], t[0], t[2]]);
    }

    /// A relative timeout of N ticks ends N + 1 ticks after the current tick; an absolute one
    /// at its tick, or at the next tick if that has passed; `K_FOREVER` and deadlines past the
    /// horizon never (`z_add_timeout`, kernel/timeout.c). Timeouts fire in deadline order, and a
    /// thread woken before its timeout leaves the timeout queue.
    #[test]
    fn timeouts_round_as_zephyr_and_leave_with_the_wait() {
        let mut k = kernel();
        k.now = 1_234; // in tick 12 at 10 kHz with a 1 MHz cycle counter
        assert_eq!(k.uptime_ticks(), 12);
        assert_eq!(k.deadline(K_NO_WAIT), Some(13));
        assert_eq!(k.deadline(K_TICKS(10)), Some(23));
        assert_eq!(k.deadline(K_TIMEOUT_ABS_TICKS(100)), Some(100));
        assert_eq!(k.deadline(K_TIMEOUT_ABS_TICKS(5)), Some(13));
        assert_eq!(k.deadline(K_FOREVER), None);
        assert_eq!(k.deadline(K_TICKS(k.horizon_tick())), None);
        assert_eq!(k.deadline(K_TICKS(i64::MAX)), None);
        assert_eq!(k.cycle_of_tick(23), 2_300);

        let objs = thread_objects(2);
        let (a, b) = (thread(&mut k, &objs[0], 0), thread(&mut k, &objs[1], 0));
        k.pend_thread(a, Wait::Join(MAIN), K_TICKS(10));
        k.pend_thread(b, Wait::Join(MAIN), K_TICKS(5));
        let order: Vec<(i64, u32)> = k
            .timeouts
            .iter()
            .map(|(&(tick, _), target)| match target {
                Target::Thread(slot) => (tick, *slot),
                other => panic!("unexpected timeout {other:?}"),
            })
            .collect();
        assert_eq!(order, [(18, b), (23, a)]);
        assert_eq!(k.next_event(), Some(1_800));

        k.unpend(b);
        assert_eq!((k.threads[b as usize].timeout, k.next_event()), (None, Some(2_300)));
        k.unpend(a);
        assert_eq!(k.next_event(), None);
    }

    /// A thread that dies wakes every thread joining it, whose joins return 0
    /// (`z_thread_abort`: `unpend_all(&thread->join_queue)`). The join queue is reached through
    /// a pointer kept across the wakes: the second Stacked Borrows violation of boxed queues.
    #[test]
    fn death_wakes_every_joiner() {
        let mut k = kernel();
        let objs = thread_objects(3);
        let target = thread(&mut k, &objs[0], 5);
        let (a, b) = (thread(&mut k, &objs[1], 2), thread(&mut k, &objs[2], 2));
        k.pend_thread(a, Wait::Join(target), K_FOREVER);
        k.pend_thread(b, Wait::Join(target), K_TICKS(100));
        assert_eq!(waiters(&k, k.threads[target as usize].join_q.as_ptr()), [a, b]);

        k.mark_dead(target);
        assert_eq!(k.threads[target as usize].state, _THREAD_DEAD);
        assert_eq!(waiters(&k, k.threads[target as usize].join_q.as_ptr()), []);
        assert_eq!(k.ready.iter(&k.threads).collect::<Vec<_>>(), [a, b]);
        assert_eq!([a, b].map(|t| k.threads[t as usize].swap_retval), [0, 0]);
        assert!(k.timeouts.is_empty());
    }

    /// Priority changes requeue a ready thread at its new level, behind its new equals
    /// (`z_set_prio`); a waiting thread keeps its place in the wait queue.
    #[test]
    fn priority_changes_requeue_ready_threads() {
        let mut k = kernel();
        let objs = thread_objects(3);
        let t: Vec<u32> = objs.iter().zip([4, 4, 6]).map(|(o, p)| thread(&mut k, o, p)).collect();
        k.set_prio(t[2], 4);
        assert_eq!(k.ready.iter(&k.threads).collect::<Vec<_>>(), [t[0], t[1], t[2]]);
        k.set_prio(t[0], 5);
        assert_eq!(k.ready.iter(&k.threads).collect::<Vec<_>>(), [t[1], t[2], t[0]]);
        k.requeue(t[1]);
        assert_eq!(k.ready.best(), Some(t[2]), "k_yield: behind its equals");
        // SAFETY: the test owns the object; no reference to it is live.
        assert_eq!(unsafe { (*objs[0].as_ptr()).base.prio }, 5, "written back");
    }

    /// A statically initialised object registers with the simulation at its first use.
    #[test]
    fn a_static_object_registers_at_first_use() {
        let mut k = kernel();
        let sem = FixedBox::new(Z_SEM_INITIALIZER(0, 1));
        check_sem(&mut k, sem.as_ptr());
        // SAFETY: a live semaphore; no other reference to it.
        let h = unsafe { &(*sem.as_ptr())._sim };
        assert_eq!((h.sim, h.addr, h.flags), (k.id, sem.as_ptr() as usize, STATIC));
    }

    /// An object used before its `k_*_init`, or moved after it, is a panic naming the call.
    #[test]
    fn objects_never_initialised_or_moved_are_reported() {
        let mut k = kernel();
        let uninit = FixedBox::new(k_sem::new());
        let msg = panic_message(|| check_sem(&mut k, uninit.as_ptr()));
        assert!(msg.starts_with("k_sem_give: k_sem at 0x"), "{msg}");
        assert!(
            msg.ends_with(
                "was never initialised (call k_sem_init first, or use its static initializer)"
            ),
            "{msg}"
        );

        let sem = FixedBox::new(Z_SEM_INITIALIZER(0, 1));
        check_sem(&mut k, sem.as_ptr());
        // SAFETY: a bitwise copy of a live semaphore, as moving it would make.
        let moved = FixedBox::new(unsafe { std::ptr::read(sem.as_ptr()) });
        let msg = panic_message(|| check_sem(&mut k, moved.as_ptr()));
        assert!(
            msg.contains("kernel objects must not move in memory after initialisation"),
            "{msg}"
        );
    }

    /// A static object belongs to one simulation at a time: while the one that used it runs,
    /// another using it is a panic naming it; once that one ended, the next adopts it with an
    /// empty wait queue, as a reboot would.
    #[test]
    fn a_static_object_passes_to_the_next_simulation() {
        let sem = FixedBox::new(Z_SEM_INITIALIZER(0, 1));
        let objs = thread_objects(1);
        let mut first = kernel();
        check_sem(&mut first, sem.as_ptr());
        let t = thread(&mut first, &objs[0], 0);
        first.pend_thread(t, Wait::Sem(sem.as_ptr()), K_FOREVER);

        let mut second = kernel();
        let msg = panic_message(|| check_sem(&mut second, sem.as_ptr()));
        assert!(msg.contains("is in use by another simulation running at the same time"), "{msg}");

        drop(first);
        check_sem(&mut second, sem.as_ptr());
        // SAFETY: a live semaphore; no other reference to it.
        let (owner, head) = unsafe { ((*sem.as_ptr())._sim.sim, (*sem.as_ptr()).wait_q.head) };
        assert_eq!((owner, head), (second.id, NONE));
    }

    /// `with` lends the installed kernel to one borrower at a time: a nested borrow is reported
    /// as a simulator bug, and a borrow ends when its body panics. Outside a simulation a
    /// kernel call is a panic saying so.
    #[test]
    fn the_kernel_is_lent_once_at_a_time() {
        in_isr(|| {
            let msg = panic_message(|| with(|_| with(|_| ())));
            assert_eq!(msg, "simulator bug: re-entrant kernel borrow");
            assert_eq!(with(|k| k.isr_depth), 1, "the outer borrow ended with the panic");
            assert_eq!(peek(|k| k.threads.len()), 2);
        });
        let msg = panic_message(|| with(|_| ()));
        assert!(msg.starts_with("Zephyr kernel call outside a simulation"), "{msg}");
    }
}
