//! Simulator layouts of the work queue, polling and queue objects (see [`super`]).

use core::ffi::{c_char, c_int, c_uint, c_void};

use super::{_timeout, _wait_q_t, k_thread, z_sim_obj};
use crate::k_work_handler_t;

/// `z_sim_obj::magic` of a `k_work_q`.
pub const Z_SIM_WORK_Q: u32 = 0x574b_5155; // "WKQU"
/// `z_sim_obj::magic` of a `k_work` (and the `k_work` inside delayable and triggered work).
pub const Z_SIM_WORK: u32 = 0x574f_524b; // "WORK"
/// `z_sim_obj::magic` of a `k_poll_signal`.
pub const Z_SIM_POLL_SIGNAL: u32 = 0x5053_4947; // "PSIG"
/// `z_sim_obj::magic` of a `k_queue`.
pub const Z_SIM_QUEUE: u32 = 0x5155_4555; // "QUEU"
/// `z_sim_obj::magic` of a `k_msgq`.
pub const Z_SIM_MSGQ: u32 = 0x4d53_4751; // "MSGQ"

/// Work item flag bits (`k_work_busy_get`).
pub mod work_flags {
    /// The handler is running.
    pub const K_WORK_RUNNING: c_int = 1 << 0;
    /// Being cancelled.
    pub const K_WORK_CANCELING: c_int = 1 << 1;
    /// Queued.
    pub const K_WORK_QUEUED: c_int = 1 << 2;
    /// Delayable work waiting for its delay.
    pub const K_WORK_DELAYED: c_int = 1 << 3;
    /// A flush waits for it.
    pub const K_WORK_FLUSHING: c_int = 1 << 4;
    /// The item is the `work` of a `k_work_delayable` (a kind bit, not a busy bit).
    pub const K_WORK_DELAYABLE: c_int = 1 << 8;
    /// The busy bits `k_work_busy_get` reports (`K_WORK_MASK`).
    pub const K_WORK_MASK: c_int =
        K_WORK_DELAYED | K_WORK_QUEUED | K_WORK_RUNNING | K_WORK_CANCELING | K_WORK_FLUSHING;
    use core::ffi::c_int;
}

/// Work queue flag bits (`k_work_q::flags`, `K_WORK_QUEUE_*` in `kernel.h`).
pub mod work_queue_flags {
    /// `k_work_queue_start` has run.
    pub const K_WORK_QUEUE_STARTED: u32 = 1 << 0;
    /// A handler is running.
    pub const K_WORK_QUEUE_BUSY: u32 = 1 << 1;
    /// The thread does not yield between work items (`k_work_queue_config::no_yield`).
    pub const K_WORK_QUEUE_NO_YIELD: u32 = 1 << 8;
}

/// A work item (`struct k_work`).
#[repr(C)]
#[derive(Debug)]
pub struct k_work {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Run by the work queue's thread.
    pub handler: k_work_handler_t,
    /// The queue it was last submitted to.
    pub queue: *mut k_work_q,
    /// `K_WORK_*` state bits.
    pub flags: u32,
}

impl k_work {
    /// A work item not yet initialised (`k_work_init` it).
    pub const fn new() -> Self {
        Self { _sim: z_sim_obj::UNINIT, handler: None, queue: core::ptr::null_mut(), flags: 0 }
    }
}

impl Default for k_work {
    fn default() -> Self {
        Self::new()
    }
}

/// Work submitted after a delay (`struct k_work_delayable`).
#[repr(C)]
#[derive(Debug)]
pub struct k_work_delayable {
    /// The work item (its handler gets a pointer to this field).
    pub work: k_work,
    /// The pending delay.
    pub timeout: _timeout,
    /// The queue to submit to when the delay ends.
    pub queue: *mut k_work_q,
}

impl k_work_delayable {
    /// Delayable work not yet initialised (`k_work_init_delayable` it).
    pub const fn new() -> Self {
        Self { work: k_work::new(), timeout: _timeout::INACTIVE, queue: core::ptr::null_mut() }
    }
}

impl Default for k_work_delayable {
    fn default() -> Self {
        Self::new()
    }
}

/// The delayable work containing `work` (`k_work_delayable_from_work`).
///
/// # Safety
/// `work` must be the `work` field of a `k_work_delayable`.
pub unsafe fn k_work_delayable_from_work(work: *mut k_work) -> *mut k_work_delayable {
    // `work` is the first field of the repr(C) struct.
    work as *mut k_work_delayable
}

/// Synchronisation state for `k_work_cancel_sync` / `k_work_flush` (`struct k_work_sync`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct k_work_sync {
    _unused: u32,
}

/// A work queue (`struct k_work_q`) and its thread.
#[repr(C)]
#[derive(Debug)]
pub struct k_work_q {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// The thread that runs the handlers.
    pub thread: k_thread,
    /// Where the queue's thread waits for work (as in Zephyr).
    pub notifyq: _wait_q_t,
    /// `K_WORK_QUEUE_*` state bits, see [`work_queue_flags`].
    pub flags: u32,
}

impl k_work_q {
    /// A work queue not yet initialised.
    pub const fn new() -> Self {
        Self {
            _sim: z_sim_obj::UNINIT,
            thread: k_thread::new(),
            notifyq: _wait_q_t::EMPTY,
            flags: 0,
        }
    }
}

impl Default for k_work_q {
    fn default() -> Self {
        Self::new()
    }
}

/// Work queue start options (`struct k_work_queue_config`).
#[repr(C)]
#[derive(Debug)]
pub struct k_work_queue_config {
    /// Name of the queue's thread, or null.
    pub name: *const c_char,
    /// Do not yield between work items.
    pub no_yield: bool,
}

/// Poll event types (`K_POLL_TYPE_*`).
pub const K_POLL_TYPE_IGNORE: u32 = 0;
/// A `k_poll_signal` raised.
pub const K_POLL_TYPE_SIGNAL: u32 = 1 << 0;
/// A `k_sem` with a count above zero.
pub const K_POLL_TYPE_SEM_AVAILABLE: u32 = 1 << 1;
/// A `k_queue` (or `k_fifo`) not empty.
pub const K_POLL_TYPE_DATA_AVAILABLE: u32 = 1 << 2;
/// A `k_fifo` not empty (same as [`K_POLL_TYPE_DATA_AVAILABLE`]).
pub const K_POLL_TYPE_FIFO_DATA_AVAILABLE: u32 = K_POLL_TYPE_DATA_AVAILABLE;
/// A `k_msgq` not empty.
pub const K_POLL_TYPE_MSGQ_DATA_AVAILABLE: u32 = 1 << 3;

/// Poll event states (`K_POLL_STATE_*`).
pub const K_POLL_STATE_NOT_READY: u32 = 0;
/// The signal was raised.
pub const K_POLL_STATE_SIGNALED: u32 = 1 << 0;
/// The semaphore is available.
pub const K_POLL_STATE_SEM_AVAILABLE: u32 = 1 << 1;
/// The queue has data.
pub const K_POLL_STATE_DATA_AVAILABLE: u32 = 1 << 2;
/// The FIFO has data.
pub const K_POLL_STATE_FIFO_DATA_AVAILABLE: u32 = K_POLL_STATE_DATA_AVAILABLE;
/// The wait was cancelled (`k_queue_cancel_wait`).
pub const K_POLL_STATE_CANCELLED: u32 = 1 << 3;
/// The message queue has data.
pub const K_POLL_STATE_MSGQ_DATA_AVAILABLE: u32 = 1 << 4;

/// The only poll mode (`K_POLL_MODE_NOTIFY_ONLY`).
pub const K_POLL_MODE_NOTIFY_ONLY: c_int = 0;

/// One condition for `k_poll` / `k_work_poll` (`struct k_poll_event`).
#[repr(C)]
#[derive(Debug)]
pub struct k_poll_event {
    /// `K_POLL_TYPE_*`.
    pub type_: u32,
    /// `K_POLL_STATE_*`, set when the event is ready.
    pub state: u32,
    /// `K_POLL_MODE_NOTIFY_ONLY`.
    pub mode: c_int,
    /// Application tag.
    pub tag: u32,
    /// The object polled: a `k_poll_signal`, `k_sem`, `k_queue` or `k_msgq`.
    pub obj: *mut c_void,
}

impl k_poll_event {
    /// An event that polls `obj` for `type_` (`K_POLL_EVENT_INITIALIZER`).
    pub const fn new(type_: u32, obj: *mut c_void) -> Self {
        Self { type_, state: K_POLL_STATE_NOT_READY, mode: K_POLL_MODE_NOTIFY_ONLY, tag: 0, obj }
    }
}

/// A poll signal (`struct k_poll_signal`).
#[repr(C)]
#[derive(Debug)]
pub struct k_poll_signal {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Nonzero once raised, until reset.
    pub signaled: c_uint,
    /// The value given to `k_poll_signal_raise`.
    pub result: c_int,
}

impl k_poll_signal {
    /// A signal not yet initialised (`k_poll_signal_init` it).
    pub const fn new() -> Self {
        Self { _sim: z_sim_obj::UNINIT, signaled: 0, result: 0 }
    }
}

/// A statically initialised poll signal (`K_POLL_SIGNAL_INITIALIZER`).
pub const fn Z_POLL_SIGNAL_INITIALIZER() -> k_poll_signal {
    k_poll_signal { _sim: z_sim_obj::statically(Z_SIM_POLL_SIGNAL), signaled: 0, result: 0 }
}

impl Default for k_poll_signal {
    fn default() -> Self {
        Self::new()
    }
}

/// Poller modes (`z_poller::mode`): not waiting.
pub const Z_POLLER_MODE_NONE: u8 = 0;
/// Poller mode: a thread in `k_poll`.
pub const Z_POLLER_MODE_POLL: u8 = 1;
/// Poller mode: triggered work waiting for its events.
pub const Z_POLLER_MODE_TRIGGERED: u8 = 2;

/// The state of whoever polls a set of events (`struct z_poller`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct z_poller {
    /// True while no event has fired yet.
    pub is_polling: bool,
    /// One of the `Z_POLLER_MODE_*` values.
    pub mode: u8,
}

/// Triggered work: submitted when one of its poll events is ready (`struct k_work_poll`).
#[repr(C)]
#[derive(Debug)]
pub struct k_work_poll {
    /// The work item (its handler gets a pointer to this field).
    pub work: k_work,
    /// The queue it goes to when triggered; null when it is not submitted, or once its handler
    /// has started.
    pub workq: *mut k_work_q,
    /// Whether it still waits for its events.
    pub poller: z_poller,
    /// The events it waits on.
    pub events: *mut k_poll_event,
    /// How many.
    pub num_events: c_int,
    /// The handler given to `k_work_poll_init`.
    pub real_handler: k_work_handler_t,
    /// The timeout, while waiting.
    pub timeout: _timeout,
    /// 0 when an event triggered it, `-EAGAIN` on timeout.
    pub poll_result: c_int,
}

impl k_work_poll {
    /// Triggered work not yet initialised (`k_work_poll_init` it).
    pub const fn new() -> Self {
        Self {
            work: k_work::new(),
            workq: core::ptr::null_mut(),
            poller: z_poller { is_polling: false, mode: Z_POLLER_MODE_NONE },
            events: core::ptr::null_mut(),
            num_events: 0,
            real_handler: None,
            timeout: _timeout::INACTIVE,
            poll_result: 0,
        }
    }
}

impl Default for k_work_poll {
    fn default() -> Self {
        Self::new()
    }
}

/// A queue of data items (`struct k_queue`); `k_fifo` is the same object.
///
/// Each item's first word is reserved for the kernel's link, as in Zephyr.
#[repr(C)]
#[derive(Debug)]
pub struct k_queue {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// First item (its first word links to the next), or null.
    pub head: *mut c_void,
    /// Last item, or null.
    pub tail: *mut c_void,
    /// Threads waiting in `k_queue_get`.
    pub wait_q: _wait_q_t,
}

impl k_queue {
    /// A queue not yet initialised (`k_queue_init` it).
    pub const fn new() -> Self {
        Self {
            _sim: z_sim_obj::UNINIT,
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
            wait_q: _wait_q_t::EMPTY,
        }
    }
}

impl Default for k_queue {
    fn default() -> Self {
        Self::new()
    }
}

/// A message queue of fixed-size messages copied in and out (`struct k_msgq`).
#[repr(C)]
#[derive(Debug)]
pub struct k_msgq {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Threads waiting to put or get.
    pub wait_q: _wait_q_t,
    /// Bytes per message.
    pub msg_size: usize,
    /// Capacity, in messages.
    pub max_msgs: u32,
    /// Ring buffer start.
    pub buffer_start: *mut c_char,
    /// Ring buffer end.
    pub buffer_end: *mut c_char,
    /// Next message to get.
    pub read_ptr: *mut c_char,
    /// Next free slot.
    pub write_ptr: *mut c_char,
    /// Messages queued.
    pub used_msgs: u32,
}

impl k_msgq {
    /// A message queue not yet initialised (`k_msgq_init` it).
    pub const fn new() -> Self {
        Self {
            _sim: z_sim_obj::UNINIT,
            wait_q: _wait_q_t::EMPTY,
            msg_size: 0,
            max_msgs: 0,
            buffer_start: core::ptr::null_mut(),
            buffer_end: core::ptr::null_mut(),
            read_ptr: core::ptr::null_mut(),
            write_ptr: core::ptr::null_mut(),
            used_msgs: 0,
        }
    }
}

impl Default for k_msgq {
    fn default() -> Self {
        Self::new()
    }
}
