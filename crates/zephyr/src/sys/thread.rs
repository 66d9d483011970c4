//! Upstream zephyr-lang-rust's `sys::thread` layer: the stack handle that `kobj_define!`'s
//! `ThreadStack<N>` statics hand out from `init_once(())`, which `StaticThread::init_once` and
//! `work::WorkQueueBuilder::start` take.

use zephyr_sys::k_thread_stack_t;

/// A thread stack claimed for good by one user: what `init_once(())` on a `kobj_define!`
/// `ThreadStack<N>` static returns (upstream's `zephyr::sys::thread::ThreadStack`).
///
/// It is only a handle (base and size); the memory is the `static`'s, so it never moves.
#[derive(Debug)]
pub struct ThreadStack {
    base: *mut k_thread_stack_t,
    size: usize,
}

// SAFETY: the handle names 'static stack memory that only its one holder uses; moving the
// handle between threads moves that right with it.
unsafe impl Send for ThreadStack {}

impl ThreadStack {
    /// A handle to stack memory at `base`, `size` bytes (`K_THREAD_STACK_SIZEOF`).
    ///
    /// # Safety
    /// `base` is a 'static thread stack of `size` usable bytes that nothing else uses, now or
    /// later (the handle is its one claim).
    #[allow(dead_code)] // used by kobj_define! (in progress)
    pub(crate) unsafe fn from_raw(base: *mut k_thread_stack_t, size: usize) -> Self {
        ThreadStack { base, size }
    }

    /// The stack memory, for `k_thread_create` or `k_work_queue_start`.
    pub fn base(&self) -> *mut k_thread_stack_t {
        self.base
    }

    /// The stack size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }
}
