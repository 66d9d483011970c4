//! Async waits on kernel objects that work under every executor: `Semaphore::take_async`,
//! [`PollSignal`], [`MsgQueue`].
//!
//! Each waits with [`PollWait`]: triggered work on the system
//! work queue wakes the waiting task when the kernel object's poll event fires, so it does not
//! matter who makes the object ready (Rust or C code, a thread or an ISR) nor which executor
//! polls the task (`zephyr::embassy::Executor`, `kio`, ...). Timeouts are absolute deadlines
//! taken when the call starts: a timeout of N ticks ends N + 1 ticks after the current tick,
//! exactly as the blocking call's would. Dropping a waiting future unregisters it.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::future::Future;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll};

use zephyr_sys::*;

use crate::error::{Error, Result};
use crate::object::KObj;
use crate::sys::sync::Semaphore;
use crate::time::Timeout;
use crate::work::futures::{without_yield, PollResult, PollWait};

/// The future of [`Semaphore::take_async`].
pub struct TakeAsync<'a> {
    sem: &'a Semaphore,
    wait: PollWait,
}

impl Semaphore {
    /// Takes the semaphore, waiting asynchronously up to `timeout`: `Ok` once taken,
    /// `Err(EBUSY)` if unavailable with `NoWait`, `Err(EAGAIN)` when the timeout expires.
    ///
    /// Works under any executor, and whoever gives (Rust or C, thread or ISR) wakes it.
    /// Waiters are served in the order they started waiting.
    pub fn take_async(&self, timeout: impl Into<Timeout>) -> TakeAsync<'_> {
        let sem = self.as_raw();
        let wait = PollWait::new(K_POLL_TYPE_SEM_AVAILABLE, sem as *mut c_void, timeout);
        // SAFETY: the semaphore outlives the future (borrowed by it).
        let wait = unsafe { wait.hand_on(sem_hand_on, sem as *const c_void) };
        self.async_waiters.fetch_add(1, Ordering::Relaxed);
        TakeAsync { sem: self, wait }
    }
}

impl Drop for TakeAsync<'_> {
    fn drop(&mut self) {
        self.sem.async_waiters.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Future for TakeAsync<'_> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        // SAFETY: `wait` is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        let sem = this.sem.as_raw();
        loop {
            // SAFETY: a valid semaphore; K_NO_WAIT never blocks (ISR-safe too).
            if unsafe { k_sem_take(sem, K_NO_WAIT) } == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.wait.is_no_wait() {
                return Poll::Ready(Err(Error::EBUSY));
            }
            if this.wait.expired() {
                return Poll::Ready(Err(Error::EAGAIN));
            }
            // SAFETY: as above.
            match unsafe { Pin::new_unchecked(&mut this.wait) }.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(PollResult::Ready) => continue,
                Poll::Ready(PollResult::TimedOut) => {
                    // SAFETY: as above. A give at the deadline tick still counts.
                    let r = unsafe { k_sem_take(sem, K_NO_WAIT) };
                    return Poll::Ready(if r == 0 { Ok(()) } else { Err(Error::EAGAIN) });
                }
            }
        }
    }
}

/// A waiter was told the semaphore at `sem` is available but goes away without taking it.
/// The kernel told no one else: take and give it back, which notifies the next waiter
/// (`kernel/sem.c`: a give with no thread pending signals the first poller).
///
/// # Safety
/// `sem` must be a valid semaphore.
unsafe fn sem_hand_on(sem: *const c_void) {
    let sem = sem as *mut k_sem;
    // SAFETY: the caller's contract; neither call blocks.
    unsafe {
        if k_sem_take(sem, K_NO_WAIT) == 0 {
            without_yield(|| k_sem_give(sem));
        }
    }
}

/// A poll signal (`k_poll_signal`): raised with a result, seen by waiters until reset.
pub struct PollSignal {
    signal: KObj<k_poll_signal>,
}

impl Default for PollSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl PollSignal {
    /// A signal, not raised.
    pub const fn new() -> Self {
        Self { signal: KObj::poll_signal() }
    }

    /// The kernel object, for raw calls (C code may raise it).
    pub fn as_raw(&self) -> *mut k_poll_signal {
        self.signal.get()
    }

    /// Raises the signal with `result` (`k_poll_signal_raise`). ISR-safe. Not counted: a
    /// second raise before a reset only replaces the result.
    pub fn raise(&self, result: i32) {
        // Not yielding inside the call: see `crate::work::futures::without_yield`.
        // SAFETY: a valid signal.
        without_yield(|| unsafe { k_poll_signal_raise(self.as_raw(), result) });
    }

    /// Clears the signal (`k_poll_signal_reset`).
    pub fn reset(&self) {
        // SAFETY: a valid signal.
        unsafe { k_poll_signal_reset(self.as_raw()) };
    }

    /// The result if raised (`k_poll_signal_check`).
    pub fn check(&self) -> Option<i32> {
        let (mut signaled, mut result) = (0, 0);
        // SAFETY: a valid signal and out-pointers.
        unsafe { k_poll_signal_check(self.as_raw(), &mut signaled, &mut result) };
        (signaled != 0).then_some(result)
    }

    /// Waits asynchronously until the signal is raised (or already is), up to `timeout`;
    /// returns its result, leaving it raised. `Err(EAGAIN)` on timeout.
    ///
    /// Every waiter sees a raise. The kernel notifies only the first poller of a signal
    /// (`kernel/poll.c`), so a waiter it notified raises the signal again with the same
    /// result when it returns, or when it is dropped before, which notifies the next one.
    /// Works under any executor, raised from anywhere.
    pub async fn wait_async(&self, timeout: impl Into<Timeout>) -> Result<i32> {
        let sig = self.as_raw() as *mut c_void;
        let wait = PollWait::new(K_POLL_TYPE_SIGNAL, sig, timeout);
        // SAFETY: the signal outlives the future (borrowed by it).
        let mut wait = core::pin::pin!(unsafe { wait.hand_on(signal_hand_on, sig) });
        loop {
            if let Some(result) = self.check() {
                return Ok(result);
            }
            if wait.expired() {
                return Err(Error::EAGAIN);
            }
            if wait.as_mut().await == PollResult::TimedOut {
                return self.check().ok_or(Error::EAGAIN);
            }
            // Notified: the next waiter must hear of this raise too.
            // SAFETY: a valid signal.
            unsafe { signal_hand_on(self.as_raw() as *const c_void) };
        }
    }
}

/// Raises the signal at `sig` again with its result if it is still raised, which notifies
/// the next poller. Atomic, so a reset in between is not undone.
///
/// # Safety
/// `sig` must be a valid poll signal.
unsafe fn signal_hand_on(sig: *const c_void) {
    let sig = sig as *mut k_poll_signal;
    critical_section::with(|_| {
        let (mut signaled, mut result) = (0, 0);
        // SAFETY: the caller's contract.
        unsafe {
            k_poll_signal_check(sig, &mut signaled, &mut result);
            if signaled != 0 {
                without_yield(|| k_poll_signal_raise(sig, result));
                // The raise may have readied a work queue thread: inside this critical section
                // it cannot switch yet, its end can (with this crate's critical section).
                #[cfg(feature = "critical-section-impl")]
                if !k_is_in_isr() {
                    crate::critical::note_wake();
                }
            }
        }
    });
}

/// A message queue of up to `N` values of `T`, copied in and out (`k_msgq`).
///
/// C code and ISRs may `k_msgq_put` into [`as_raw`](Self::as_raw); [`get_async`](Self::get_async)
/// is woken by any put. [`put_async`](Self::put_async) is woken by gets through this type: the
/// kernel has no poll event for free space, so a get by C code does not wake it (it then waits
/// until the next get through this type, or its timeout).
///
/// A put notifies one async getter (the kernel's rule). One that goes away without taking the
/// message (dropped by a `select`, a timeout, ...) raises the queue's hand-on signal, which
/// notifies the next; so does a getter that was woken and finds more messages queued after its
/// own. No message waits while an async getter sleeps.
pub struct MsgQueue<T: Copy + Send, const N: usize> {
    msgq: KObj<k_msgq>,
    buffer: UnsafeCell<[MaybeUninit<T>; N]>,
    space: PollSignal,
    hand_on: PollSignal,
    ready: AtomicBool,
}

// SAFETY: the buffer is only accessed by the kernel (copies in and out under its lock); `T`
// is `Send`, so values may cross threads.
unsafe impl<T: Copy + Send, const N: usize> Sync for MsgQueue<T, N> {}

impl<T: Copy + Send, const N: usize> Default for MsgQueue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Send, const N: usize> MsgQueue<T, N> {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            msgq: KObj::new(k_msgq::new()),
            buffer: UnsafeCell::new([const { MaybeUninit::uninit() }; N]),
            space: PollSignal::new(),
            hand_on: PollSignal::new(),
            ready: AtomicBool::new(false),
        }
    }

    /// The kernel object (initialised on first use), for raw calls.
    pub fn as_raw(&self) -> *mut k_msgq {
        // Per boot: a static queue used by several simulations is initialised in each.
        let ready = crate::object::boot_flag(self as *const Self as *const (), &self.ready);
        if !ready.load(Ordering::Acquire) {
            critical_section::with(|_| {
                if !ready.load(Ordering::Relaxed) {
                    // SAFETY: first use; the buffer holds N messages of size_of::<T>() and
                    // lives as long as the queue (which must not move: KObj checks).
                    unsafe {
                        k_msgq_init(
                            self.msgq.get(),
                            self.buffer.get() as *mut core::ffi::c_char,
                            core::mem::size_of::<T>(),
                            N as u32,
                        )
                    };
                    ready.store(true, Ordering::Release);
                }
            });
        }
        self.msgq.get()
    }

    /// Copies `value` in, waiting up to `timeout` for space (`k_msgq_put`).
    ///
    /// # Errors
    /// `ENOMSG` when full with `NoWait`; `EAGAIN` on timeout.
    pub fn put(&self, value: T, timeout: impl Into<Timeout>) -> Result<()> {
        let timeout = timeout.into();
        let data = &value as *const T as *const c_void;
        // A put that stores the message notifies an async getter: not yielding inside the call
        // (see `crate::work::futures::without_yield`). A put that must wait for space blocks
        // without the scheduler lock, and one that then succeeds notifies no poller (a get
        // moves a waiting writer's message in directly, kernel/msg_q.c).
        // SAFETY: a valid queue; the kernel copies size_of::<T>() bytes from `data`.
        let r = without_yield(|| unsafe { k_msgq_put(self.as_raw(), data, K_NO_WAIT) });
        if r != -ENOMSG || timeout.is_no_wait() {
            return crate::error::to_result_void(r);
        }
        // SAFETY: as above.
        crate::error::to_result_void(unsafe { k_msgq_put(self.as_raw(), data, timeout.0) })
    }

    /// Copies a value out, waiting up to `timeout` (`k_msgq_get`).
    ///
    /// # Errors
    /// `ENOMSG` when empty with `NoWait`; `EAGAIN` on timeout.
    pub fn get(&self, timeout: impl Into<Timeout>) -> Result<T> {
        let mut out = MaybeUninit::<T>::uninit();
        // SAFETY: a valid queue; the kernel writes size_of::<T>() bytes of a `T` put earlier.
        let r =
            unsafe { k_msgq_get(self.as_raw(), out.as_mut_ptr() as *mut c_void, timeout.into().0) };
        crate::error::to_result_void(r)?;
        self.space.raise(0);
        // SAFETY: the get succeeded, so `out` holds a `T` (T: Copy, no drop concerns).
        Ok(unsafe { out.assume_init() })
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        // SAFETY: a valid queue.
        unsafe { k_msgq_num_used_get(self.as_raw()) as usize }
    }

    /// True when no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies a value out, waiting asynchronously up to `timeout`; woken by any put (Rust, C,
    /// thread or ISR). `Err(EAGAIN)` on timeout.
    pub async fn get_async(&self, timeout: impl Into<Timeout>) -> Result<T> {
        let raw = self.as_raw();
        let wait = PollWait::new(K_POLL_TYPE_MSGQ_DATA_AVAILABLE, raw as *mut c_void, timeout)
            .or(K_POLL_TYPE_SIGNAL, self.hand_on.as_raw() as *mut c_void);
        // SAFETY: the queue outlives the future (borrowed by it); it is `Sync`.
        let mut wait = core::pin::pin!(unsafe {
            wait.hand_on(msgq_hand_on::<T, N>, self as *const Self as *const c_void)
        });
        let mut woken = false;
        loop {
            // Cleared before looking: a hand-on raised after this either notifies this
            // waiter or is seen when it arms, so none is lost, and an old one cannot make
            // every later wait return at once.
            self.hand_on.reset();
            match self.get(crate::time::NoWait) {
                Ok(v) => {
                    if woken && !self.is_empty() {
                        // Woken for one message, more are queued: the put that notified the
                        // next waiter may have been spent on this one (or on a registration
                        // the kernel had not cleared yet): wake the next.
                        self.hand_on.raise(0);
                    }
                    return Ok(v);
                }
                Err(e) if e != Error::ENOMSG => return Err(e),
                Err(_) => {}
            }
            if wait.expired() {
                return Err(Error::EAGAIN);
            }
            if wait.as_mut().await == PollResult::TimedOut {
                return self.get(crate::time::NoWait).map_err(|_| Error::EAGAIN);
            }
            woken = true;
        }
    }

    /// Copies `value` in, waiting asynchronously up to `timeout` for space; woken by gets
    /// through this type (see the type's docs). `Err(EAGAIN)` on timeout.
    pub async fn put_async(&self, value: T, timeout: impl Into<Timeout>) -> Result<()> {
        let wait = PollWait::new(K_POLL_TYPE_SIGNAL, self.space.as_raw() as *mut c_void, timeout);
        // SAFETY: the queue outlives the future (borrowed by it); it is `Sync`.
        let mut wait = core::pin::pin!(unsafe {
            wait.hand_on(space_hand_on::<T, N>, self as *const Self as *const c_void)
        });
        loop {
            match self.put(value, crate::time::NoWait) {
                Ok(()) => return Ok(()),
                Err(e) if e != Error::ENOMSG => return Err(e),
                Err(_) => {}
            }
            // Full: clear the space signal, then look again (a get may have come in between).
            self.space.reset();
            if self.put(value, crate::time::NoWait).is_ok() {
                return Ok(());
            }
            if wait.expired() {
                return Err(Error::EAGAIN);
            }
            if wait.as_mut().await == PollResult::TimedOut {
                return self.put(value, crate::time::NoWait).map_err(|_| Error::EAGAIN);
            }
        }
    }
}

/// An async getter of the queue at `q` was notified but goes away without a message: if one
/// is queued, raise the hand-on signal, which notifies the next getter.
///
/// # Safety
/// `q` must point to a live `MsgQueue<T, N>`.
unsafe fn msgq_hand_on<T: Copy + Send, const N: usize>(q: *const c_void) {
    // SAFETY: the caller's contract.
    let q = unsafe { &*(q as *const MsgQueue<T, N>) };
    if !q.is_empty() {
        q.hand_on.raise(0);
    }
}

/// An async putter of the queue at `q` was told of free space but goes away without using
/// it: if there is space, raise the space signal again, which notifies the next putter.
///
/// # Safety
/// `q` must point to a live `MsgQueue<T, N>`.
unsafe fn space_hand_on<T: Copy + Send, const N: usize>(q: *const c_void) {
    // SAFETY: the caller's contract.
    let q = unsafe { &*(q as *const MsgQueue<T, N>) };
    if q.len() < N {
        q.space.raise(0);
    }
}
