//! Synchronisation in the shape of `std::sync` and upstream zephyr-lang-rust's `zephyr::sync`:
//! a data-owning [`Mutex`] and a [`Condvar`] on kernel mutexes, a [`SpinMutex`] that ISRs may
//! take, [`channel`]s on kernel queues, and [`Arc`], [`Weak`] and [`atomic`].
//!
//! | item | on | from ISRs |
//! | --- | --- | --- |
//! | [`Mutex`], [`Condvar`] | `k_mutex`, `k_condvar` | no |
//! | [`SpinMutex`] | a critical section (`irq_lock`) while held | yes |
//! | [`channel::unbounded`], [`channel::bounded`] | `k_queue` (+ a free list of slots) | the calls that do not wait |
//! | [`Arc`], [`Weak`] | `alloc::sync` | yes |
//! | [`atomic`] | `core::sync::atomic` | yes |
//!
//! [`channel`], [`Arc`] and [`Weak`] need a global allocator, and are left out with the
//! `no-kio` feature (the feature that declares a program without one).
//!
//! [`Mutex<T>`] owns its data and hands out access only through a [`MutexGuard`], which unlocks
//! the kernel mutex when dropped. It is built on [`sys::sync::Mutex`](crate::sys::sync::Mutex)
//! and [`sys::sync::Condvar`](crate::sys::sync::Condvar), and, like them, lives in a `static`
//! (its constructor is `const`), so nothing is allocated:
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::sync::{Condvar, Mutex};
//!
//! static QUEUE: Mutex<[u8; 4]> = Mutex::new([0; 4]);
//! static CHANGED: Condvar = Condvar::new();
//!
//! // Producer:
//! QUEUE.lock().unwrap()[0] = 1;
//! CHANGED.notify_one();
//! // Consumer:
//! let guard = CHANGED.wait_while(QUEUE.lock().unwrap(), |q| q[0] == 0).unwrap();
//! assert_eq!(guard[0], 1);
//! ```
//!
//! # Differences from `std::sync`
//! * **No poisoning.** A panic on Zephyr is a fatal error, so [`LockResult`] never holds an
//!   error (`.unwrap()` is free); it exists so code written for `std` compiles.
//! * **Re-locking is caught.** The kernel mutex is recursive: a second `lock` by the owner
//!   would succeed and hand out a second guard, two `&mut T` to the same data (upstream
//!   zephyr-lang-rust allows exactly that). Here [`Mutex::lock`] panics instead,
//!   [`Mutex::try_lock`] fails with [`TryLockError::WouldBlock`], and [`Mutex::lock_timeout`]
//!   returns [`Error::EDEADLK`].
//! * **Guards are not `Send`**: only the owning thread may unlock a kernel mutex.
//! * **Priority inheritance**: a thread waiting for the lock lends its priority to the owner.
//! * **Threads only.** A kernel mutex cannot be used from an interrupt handler, not even
//!   `try_lock` (Zephyr asserts, the simulator panics naming the call, and this crate panics
//!   first). Share data with ISRs through a [`SpinMutex`], a critical section or a semaphore.

#[cfg(not(feature = "no-kio"))]
extern crate alloc;

#[cfg(not(feature = "no-kio"))]
pub use alloc::sync::{Arc, Weak};

#[cfg(not(feature = "no-kio"))]
pub mod channel;

mod spinmutex;

pub use spinmutex::{
    SpinLockResult, SpinMutex, SpinMutexGuard, SpinTryLockError, SpinTryLockResult,
};

pub mod atomic {
    //! The atomic types, re-exported from `core::sync::atomic`.
    //!
    //! Upstream zephyr-lang-rust re-exports `portable-atomic` here, which emulates what the
    //! target lacks (compare-and-swap on ARMv6-M or RISC-V without the A extension, 64-bit
    //! atomics on 32-bit targets) with critical sections. These are `core`'s: a type or method
    //! the target has no instruction for is missing (for example `AtomicU64` on Cortex-M, or
    //! `fetch_add` on ARMv6-M), a compile error rather than a silent critical section. This
    //! crate needs compare-and-swap itself (ARMv7-M, ARMv8-M Mainline, RISC-V with A).

    pub use core::sync::atomic::*;
}

use core::cell::UnsafeCell;
use core::convert::Infallible;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::error::{Error, Result};
use crate::sys::sync as sys;
use crate::time::{Forever, NoWait, Timeout};

/// The result of [`Mutex::lock`] and [`Condvar::wait`]: never an error (no poisoning), kept for
/// `std`-shaped code (`.lock().unwrap()`).
pub type LockResult<Guard> = core::result::Result<Guard, Infallible>;

/// The result of [`Mutex::try_lock`].
pub type TryLockResult<Guard> = core::result::Result<Guard, TryLockError>;

/// Why [`Mutex::try_lock`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryLockError {
    /// The lock is held, by another thread or by this one.
    WouldBlock,
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("try_lock failed because the operation would block")
    }
}

impl core::error::Error for TryLockError {}

/// A mutual exclusion lock that owns the data it protects, on a kernel mutex.
///
/// See the [module documentation](self) for how it differs from `std::sync::Mutex`.
pub struct Mutex<T: ?Sized> {
    inner: sys::Mutex,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out `&mut T` to one thread at a time (the kernel mutex excludes the
// others, and re-locking by the owner is refused), so sharing it only needs `T: Send`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the `T` (and an unused kernel object) to another thread.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `t`; usable in a `static`.
    pub const fn new(t: T) -> Mutex<T> {
        Mutex::new_from(t, sys::Mutex::new())
    }

    /// An unlocked mutex holding `t`, on the given kernel mutex (the upstream constructor).
    pub const fn new_from(t: T, raw_mutex: sys::Mutex) -> Mutex<T> {
        Mutex { inner: raw_mutex, data: UnsafeCell::new(t) }
    }

    /// The data, out of the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting as long as it takes; the guard unlocks it when dropped.
    ///
    /// # Panics
    /// If this thread already holds the lock (it would deadlock with `std`; with the recursive
    /// kernel mutex it would alias the data), in an interrupt handler, or if the mutex moved
    /// since its first use.
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        match self.acquire(Forever.into()) {
            Ok(guard) => Ok(guard),
            Err(Error::EDEADLK) => panic!("Mutex::lock: this thread already holds the lock"),
            Err(e) => panic!("Mutex::lock: k_mutex_lock with K_FOREVER failed: {e}"),
        }
    }

    /// Locks the mutex if that needs no waiting.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`] if another thread, or this one, holds the lock.
    ///
    /// # Panics
    /// In an interrupt handler, or if the mutex moved since its first use.
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        self.acquire(NoWait.into()).map_err(|_| TryLockError::WouldBlock)
    }

    /// Locks the mutex, waiting up to `timeout`.
    ///
    /// # Errors
    /// [`Error::EAGAIN`] when the timeout expired; [`Error::EBUSY`] when held elsewhere with
    /// [`NoWait`]; [`Error::EDEADLK`] when this thread already holds the lock.
    ///
    /// # Panics
    /// In an interrupt handler, or if the mutex moved since its first use.
    pub fn lock_timeout<D: Into<Timeout>>(&self, timeout: D) -> Result<MutexGuard<'_, T>> {
        self.acquire(timeout.into())
    }

    /// The data, through a unique borrow (no locking needed: nobody else can hold a guard).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn acquire(&self, timeout: Timeout) -> Result<MutexGuard<'_, T>> {
        self.inner.lock(timeout)?;
        // SAFETY: this thread owns the kernel mutex now, and only the owner changes
        // `lock_count`, so the read cannot race.
        let depth = unsafe { zephyr_sys::zr_k_mutex_lock_count(self.inner.as_raw()) };
        if depth > 1 {
            // Already ours: a guard exists. Undo this level and refuse.
            let undone = self.inner.unlock();
            debug_assert!(undone.is_ok());
            return Err(Error::EDEADLK);
        }
        Ok(MutexGuard { lock: self, _not_send: PhantomData })
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(t: T) -> Self {
        Mutex::new(t)
    }
}

impl<T: ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The data is not shown: reading it would need the lock (and a thread context).
        f.debug_struct("Mutex").finish_non_exhaustive()
    }
}

/// Access to the data of a locked [`Mutex`]; unlocks it when dropped.
///
/// Not `Send`: a kernel mutex is unlocked by the thread that locked it.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    lock: &'a Mutex<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only gives `&T`, which is fine to share when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves this thread holds the lock, exactly once.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes the borrow unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // Cannot fail: this thread owns the mutex (guards do not leave their thread).
        let unlocked = self.lock.inner.unlock();
        debug_assert!(unlocked.is_ok(), "MutexGuard: unlock failed: {unlocked:?}");
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Whether [`Condvar::wait_timeout`] returned because the time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait ended by timeout rather than a notification.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A condition variable for [`Mutex`] (`k_condvar`): block until another thread notifies.
///
/// As with any condition variable, a wake-up does not prove the condition holds: check it in a
/// loop, or use [`wait_while`](Self::wait_while). Threads only (see the module docs).
pub struct Condvar {
    inner: sys::Condvar,
}

impl Condvar {
    /// A condition variable; usable in a `static`.
    pub const fn new() -> Condvar {
        Condvar { inner: sys::Condvar::new() }
    }

    /// A condition variable on the given kernel object (the upstream constructor).
    pub const fn new_from(raw_condvar: sys::Condvar) -> Condvar {
        Condvar { inner: raw_condvar }
    }

    /// Unlocks the guard's mutex, waits for a notification, and locks it again.
    ///
    /// # Panics
    /// In an interrupt handler, or if an object moved since its first use.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        // The guard holds the mutex exactly once (re-locking is refused), so the kernel's
        // single unlock releases it; it relocks before returning, and the guard stays valid.
        self.inner.wait(&guard.lock.inner);
        Ok(guard)
    }

    /// Like [`wait`](Self::wait), giving up after `timeout` (a [`Duration`] or an absolute
    /// [`Instant`]); the mutex is locked again either way.
    ///
    /// [`Duration`]: crate::time::Duration
    /// [`Instant`]: crate::time::Instant
    ///
    /// # Panics
    /// In an interrupt handler, or if an object moved since its first use.
    pub fn wait_timeout<'a, T: ?Sized, D: Into<Timeout>>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: D,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let r = self.inner.wait_timeout(&guard.lock.inner, timeout);
        Ok((guard, WaitTimeoutResult(r.is_err())))
    }

    /// Waits while `condition` holds for the data, checking it before each wait.
    ///
    /// # Panics
    /// As [`wait`](Self::wait).
    pub fn wait_while<'a, T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>> {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Wakes the most urgent waiting thread, if any.
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every waiting thread.
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    //! What needs no kernel (the rest runs on simulated boards: `tests/safe_api_sync.rs`).

    use super::*;

    /// Owned access needs no lock.
    #[test]
    fn mutex_get_mut_and_into_inner() {
        let mut m = Mutex::new(5);
        *m.get_mut() += 1;
        assert_eq!(m.into_inner(), 6);
    }
}
