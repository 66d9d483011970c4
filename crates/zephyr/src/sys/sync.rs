//! Kernel synchronisation objects, thinly wrapped: [`Semaphore`], [`Mutex`], [`Condvar`]; and
//! their upstream-style `static` forms for `kobj_define!` ([`StaticSemaphore`], [`StaticMutex`],
//! [`StaticCondvar`]).
//!
//! Each type holds its kernel object in a [`KObj`], statically initialised by a `const fn`
//! (`Z_SEM_INITIALIZER` and friends, what `K_SEM_DEFINE` expands to), so the usual home of one
//! is a `static`:
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::sys::sync::Semaphore;
//! use zephyr::time::{Duration, Forever};
//!
//! static READY: Semaphore = Semaphore::new(0, 1);
//!
//! // In an interrupt handler or another thread:
//! READY.give();
//! // In the waiting thread:
//! READY.take(Forever).unwrap();
//! assert!(READY.take(Duration::from_millis(5)).is_err()); // Error::EAGAIN after 5 ms
//! ```
//!
//! A kernel object must stay where the kernel first saw it: one in a local variable works until
//! it moves, and a use after a move panics (see [`KObj`]) rather than corrupting the kernel.
//! Moving needs ownership, and a thread blocked on an object borrows it, so an object can never
//! move or be dropped while a thread waits on it.
//!
//! All three are `Send` and `Sync` (through [`KObj`]): the kernel serialises every operation on
//! them, and Rust code only hands it their address.
//!
//! The mutex is the raw kernel mutex (recursive, with priority inheritance, unlocked by its
//! owner); [`crate::sync::Mutex`] is the data-owning one to use in Rust code.

use core::ffi::c_uint;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use zephyr_sys::{
    k_condvar, k_condvar_broadcast, k_condvar_signal, k_condvar_wait, k_mutex, k_mutex_lock,
    k_mutex_unlock, k_sem, k_sem_count_get, k_sem_give, k_sem_reset, k_sem_take, K_FOREVER,
};

use crate::error::{to_result_void, Error, Result};
use crate::object::KObj;
use crate::thread::{assert_may_block, assert_thread_context};
use crate::time::Timeout;

pub use zephyr_sys::K_SEM_MAX_LIMIT;

/// A counting semaphore (`k_sem`).
///
/// The count goes from 0 up to a limit; [`give`](Self::give) beyond the limit is dropped (so a
/// limit of 1 makes a binary semaphore, a signal that does not pile up). [`give`](Self::give),
/// [`count`](Self::count), [`reset`](Self::reset) and a [`take`](Self::take) with
/// [`NoWait`](crate::time::NoWait) may be called from interrupt handlers.
pub struct Semaphore {
    item: KObj<k_sem>,
    /// How many `take_async` futures exist: a give locks the scheduler only when one might be
    /// notified (see `crate::work::futures::without_yield`).
    pub(crate) async_waiters: AtomicU32,
}

impl Semaphore {
    /// A semaphore with count `initial` and maximum `limit` (`K_SEM_DEFINE`); usable in a
    /// `static`.
    ///
    /// # Panics
    /// If `limit` is 0 or `initial > limit` (what `k_sem_init` rejects). In a `static` that is a
    /// compile-time error; [`Semaphore::try_new`] returns it as an error instead.
    ///
    /// ```compile_fail
    /// # use zephyr_sim as _;
    /// static BAD: zephyr::sys::sync::Semaphore = zephyr::sys::sync::Semaphore::new(2, 1);
    /// # fn main() { BAD.give() }
    /// ```
    pub const fn new(initial: u32, limit: u32) -> Semaphore {
        match Semaphore::try_new(initial, limit) {
            Ok(s) => s,
            Err(_) => {
                panic!("Semaphore::new: limit must be non-zero and at least the initial count")
            }
        }
    }

    /// A semaphore with count `initial` and maximum `limit`, checked as `k_sem_init` checks.
    ///
    /// # Errors
    /// [`Error::EINVAL`] if `limit` is 0 or `initial > limit`.
    pub const fn try_new(initial: u32, limit: u32) -> Result<Semaphore> {
        if limit == 0 || initial > limit {
            return Err(Error::EINVAL);
        }
        Ok(Semaphore {
            item: KObj::sem(initial as c_uint, limit as c_uint),
            async_waiters: AtomicU32::new(0),
        })
    }

    /// Takes the semaphore, waiting up to `timeout` for it (`k_sem_take`).
    ///
    /// # Errors
    /// [`Error::EBUSY`] when unavailable with [`NoWait`](crate::time::NoWait);
    /// [`Error::EAGAIN`] when the timeout expired, or the semaphore was [`reset`](Self::reset)
    /// while waiting.
    ///
    /// # Panics
    /// With a timeout other than `NoWait` in an interrupt handler (it may not block), or if the
    /// semaphore moved since its first use.
    pub fn take<T: Into<Timeout>>(&self, timeout: T) -> Result<()> {
        let timeout: Timeout = timeout.into();
        if !timeout.is_no_wait() {
            assert_may_block("Semaphore::take");
        }
        // SAFETY: `item` is a statically initialised k_sem at a checked, fixed address, and a
        // blocking take only happens in thread context (checked above).
        to_result_void(unsafe { k_sem_take(self.item.get(), timeout.0) })
    }

    /// Gives the semaphore (`k_sem_give`): wakes the most urgent waiter, or counts up unless at
    /// the limit. May be called from an interrupt handler.
    ///
    /// # Panics
    /// If the semaphore moved since its first use.
    pub fn give(&self) {
        let sem = self.item.get();
        // A `take_async` waiter may be notified: the give must not yield inside the call
        // (see `crate::work::futures::without_yield`). Otherwise a plain give.
        if self.async_waiters.load(Ordering::Relaxed) != 0 {
            // SAFETY: a valid k_sem at a fixed address; k_sem_give is ISR-safe.
            crate::work::futures::without_yield(|| unsafe { k_sem_give(sem) })
        } else {
            // SAFETY: as above.
            unsafe { k_sem_give(sem) }
        }
    }

    /// Sets the count to zero (`k_sem_reset`); threads waiting in [`take`](Self::take) return
    /// [`Error::EAGAIN`].
    ///
    /// # Panics
    /// If the semaphore moved since its first use.
    pub fn reset(&self) {
        // SAFETY: a valid k_sem at a fixed address; k_sem_reset is ISR-safe.
        unsafe { k_sem_reset(self.item.get()) }
    }

    /// The current count (`k_sem_count_get`).
    ///
    /// # Panics
    /// If the semaphore moved since its first use.
    pub fn count(&self) -> u32 {
        // SAFETY: a valid k_sem at a fixed address; a plain read.
        unsafe { k_sem_count_get(self.item.get()) }
    }

    /// The current count as a `usize`: upstream zephyr-lang-rust's name for [`count`](Self::count).
    ///
    /// # Panics
    /// If the semaphore moved since its first use.
    pub fn count_get(&self) -> usize {
        self.count() as usize
    }

    /// The kernel object, for raw kernel calls.
    ///
    /// # Panics
    /// If the semaphore moved since its first use.
    pub fn as_raw(&self) -> *mut k_sem {
        self.item.get()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the address: taking it would pin the object where it is now.
        f.debug_struct("Semaphore").finish_non_exhaustive()
    }
}

/// The kernel mutex (`k_mutex`), without data: recursive, with priority inheritance.
///
/// The owner may lock it again (it counts), must unlock it as often, and only the owner may
/// unlock it. Memory safety does not depend on using it right (misuse is an error or a
/// deadlock), but nothing ties it to the data it protects: prefer [`crate::sync::Mutex`].
///
/// A mutex cannot be used from an interrupt handler, not even with `NoWait` (Zephyr asserts;
/// the simulator panics naming the call; this wrapper panics first).
pub struct Mutex {
    item: KObj<k_mutex>,
}

impl Mutex {
    /// An unlocked mutex (`K_MUTEX_DEFINE`); usable in a `static`.
    pub const fn new() -> Mutex {
        Mutex { item: KObj::mutex() }
    }

    /// Locks the mutex, waiting up to `timeout` (`k_mutex_lock`). The owner locking it again
    /// succeeds at once and counts.
    ///
    /// # Errors
    /// [`Error::EBUSY`] when owned by another thread with [`NoWait`](crate::time::NoWait);
    /// [`Error::EAGAIN`] when the timeout expired.
    ///
    /// # Panics
    /// In an interrupt handler, or if the mutex moved since its first use.
    pub fn lock<T: Into<Timeout>>(&self, timeout: T) -> Result<()> {
        let timeout: Timeout = timeout.into();
        assert_thread_context("Mutex::lock");
        // SAFETY: a valid k_mutex at a fixed address, in thread context (checked above).
        to_result_void(unsafe { k_mutex_lock(self.item.get(), timeout.0) })
    }

    /// Unlocks the mutex once (`k_mutex_unlock`); the last unlock by the owner releases it.
    ///
    /// # Errors
    /// [`Error::EPERM`] when the caller is not the owner; [`Error::EINVAL`] when it is not
    /// locked.
    ///
    /// # Panics
    /// In an interrupt handler, or if the mutex moved since its first use.
    pub fn unlock(&self) -> Result<()> {
        assert_thread_context("Mutex::unlock");
        // SAFETY: a valid k_mutex at a fixed address, in thread context (checked above).
        to_result_void(unsafe { k_mutex_unlock(self.item.get()) })
    }

    /// The kernel object, for raw kernel calls.
    ///
    /// # Panics
    /// If the mutex moved since its first use.
    pub fn as_raw(&self) -> *mut k_mutex {
        self.item.get()
    }
}

impl Default for Mutex {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Mutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the address: taking it would pin the object where it is now.
        f.debug_struct("sys::Mutex").finish_non_exhaustive()
    }
}

/// A condition variable (`k_condvar`), used with a raw [`Mutex`].
///
/// Nothing checks that the caller holds the mutex it waits with: [`crate::sync::Condvar`]
/// does, through its guard.
pub struct Condvar {
    item: KObj<k_condvar>,
}

impl Condvar {
    /// A condition variable (`K_CONDVAR_DEFINE`); usable in a `static`.
    pub const fn new() -> Condvar {
        Condvar { item: KObj::condvar() }
    }

    /// Unlocks `lock`, waits for a notification, and locks `lock` again (`k_condvar_wait` with
    /// `K_FOREVER`). The caller must hold `lock` (once: the kernel unlocks it one level).
    ///
    /// # Panics
    /// In an interrupt handler, or if either object moved since its first use.
    pub fn wait(&self, lock: &Mutex) {
        assert_thread_context("Condvar::wait");
        // SAFETY: valid objects at fixed addresses, in thread context (checked above). With
        // K_FOREVER the wait only ends by a notification; the mutex is always relocked.
        let _ = unsafe { k_condvar_wait(self.item.get(), lock.item.get(), K_FOREVER) };
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`. `lock` is locked again either way.
    ///
    /// # Errors
    /// [`Error::EAGAIN`] when the timeout expired without a notification.
    ///
    /// # Panics
    /// In an interrupt handler, or if either object moved since its first use.
    pub fn wait_timeout<T: Into<Timeout>>(&self, lock: &Mutex, timeout: T) -> Result<()> {
        let timeout: Timeout = timeout.into();
        assert_thread_context("Condvar::wait_timeout");
        // SAFETY: as in `wait`.
        to_result_void(unsafe { k_condvar_wait(self.item.get(), lock.item.get(), timeout.0) })
    }

    /// Wakes the most urgent waiter, if any (`k_condvar_signal`).
    ///
    /// # Panics
    /// If the condition variable moved since its first use.
    pub fn notify_one(&self) {
        // SAFETY: a valid k_condvar at a fixed address; k_condvar_signal does not block.
        unsafe { k_condvar_signal(self.item.get()) };
    }

    /// Wakes every waiter (`k_condvar_broadcast`).
    ///
    /// # Panics
    /// If the condition variable moved since its first use.
    pub fn notify_all(&self) {
        // SAFETY: a valid k_condvar at a fixed address; k_condvar_broadcast does not block.
        unsafe { k_condvar_broadcast(self.item.get()) };
    }

    /// The kernel object, for raw kernel calls.
    ///
    /// # Panics
    /// If the condition variable moved since its first use.
    pub fn as_raw(&self) -> *mut k_condvar {
        self.item.get()
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the address: taking it would pin the object where it is now.
        f.debug_struct("sys::Condvar").finish_non_exhaustive()
    }
}

/// A semaphore for a `static`, as `kobj_define!` declares `static NAME: StaticSemaphore;`
/// (upstream zephyr-lang-rust's shape): [`init_once`](Self::init_once) returns the
/// [`Semaphore`].
///
/// The kernel object is in the returned [`Semaphore`], not in the `static`: it is returned
/// before the kernel has seen it, so it may move until its first use (into an `Arc`, a `Vec`
/// collected before use, a struct) and must stay put from then on, as any [`Semaphore`] (a
/// use after a move is a panic, see [`KObj`]). The `static` only makes sure there is one per
/// boot.
///
/// ```no_run
/// # use zephyr_sim as _;
/// use zephyr::time::Forever;
///
/// zephyr::kobj_define! {
///     static FORKS: [StaticSemaphore; 5];
/// }
/// let forks: Vec<_> = FORKS.iter().map(|sem| sem.init_once((1, 1)).unwrap()).collect();
/// forks[0].take(Forever).unwrap();
/// forks[0].give();
/// assert!(FORKS[0].init_once((1, 1)).is_none());
/// ```
pub struct StaticSemaphore {
    claimed: AtomicBool,
}

impl StaticSemaphore {
    /// Not yet initialised (what `kobj_define!` puts in the `static`).
    pub const fn new() -> Self {
        StaticSemaphore { claimed: AtomicBool::new(false) }
    }

    /// A semaphore with count `initial` and maximum `limit` (upstream's `(c_uint, c_uint)`;
    /// [`K_SEM_MAX_LIMIT`] for "no limit"): `Some` the first time in a boot, `None` after.
    ///
    /// # Panics
    /// If `limit` is 0 or `initial > limit` (what `k_sem_init` rejects).
    pub fn init_once(&'static self, (initial, limit): (c_uint, c_uint)) -> Option<Semaphore> {
        if !crate::object::claim_once(&self.claimed) {
            return None;
        }
        match Semaphore::try_new(initial, limit) {
            Ok(sem) => Some(sem),
            Err(_) => panic!(
                "StaticSemaphore::init_once: invalid ({initial}, {limit}): the limit must be \
                 non-zero and at least the initial count"
            ),
        }
    }
}

impl Default for StaticSemaphore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StaticSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticSemaphore").finish_non_exhaustive()
    }
}

/// A kernel mutex for a `static`, as `kobj_define!` declares `static NAME: StaticMutex;`:
/// [`init_once(())`](Self::init_once) returns the [`Mutex`], for instance to build a
/// [`crate::sync::Mutex`] with `new_from`.
///
/// As for [`StaticSemaphore`], the kernel object is in the returned value, which may move until
/// its first use.
///
/// ```no_run
/// # use zephyr_sim as _;
/// use zephyr::sync::Mutex;
///
/// zephyr::kobj_define! {
///     static STATS_LOCK: StaticMutex;
/// }
/// let stats = Mutex::new_from([0u32; 4], STATS_LOCK.init_once(()).unwrap());
/// stats.lock().unwrap()[0] += 1;
/// ```
pub struct StaticMutex {
    claimed: AtomicBool,
}

impl StaticMutex {
    /// Not yet initialised (what `kobj_define!` puts in the `static`).
    pub const fn new() -> Self {
        StaticMutex { claimed: AtomicBool::new(false) }
    }

    /// An unlocked mutex: `Some` the first time in a boot, `None` after.
    pub fn init_once(&'static self, _args: ()) -> Option<Mutex> {
        crate::object::claim_once(&self.claimed).then(Mutex::new)
    }
}

impl Default for StaticMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StaticMutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticMutex").finish_non_exhaustive()
    }
}

/// A condition variable for a `static`, as `kobj_define!` declares `static NAME:
/// StaticCondvar;`: [`init_once(())`](Self::init_once) returns the [`Condvar`].
///
/// As for [`StaticSemaphore`], the kernel object is in the returned value, which may move until
/// its first use.
///
/// ```no_run
/// # use zephyr_sim as _;
/// zephyr::kobj_define! {
///     static READY: StaticCondvar;
/// }
/// let ready = zephyr::sync::Condvar::new_from(READY.init_once(()).unwrap());
/// ready.notify_all();
/// ```
pub struct StaticCondvar {
    claimed: AtomicBool,
}

impl StaticCondvar {
    /// Not yet initialised (what `kobj_define!` puts in the `static`).
    pub const fn new() -> Self {
        StaticCondvar { claimed: AtomicBool::new(false) }
    }

    /// A condition variable: `Some` the first time in a boot, `None` after.
    pub fn init_once(&'static self, _args: ()) -> Option<Condvar> {
        crate::object::claim_once(&self.claimed).then(Condvar::new)
    }
}

impl Default for StaticCondvar {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StaticCondvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCondvar").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    //! What needs no kernel (the rest runs on simulated boards: `tests/safe_api_sync.rs`).

    use super::*;

    /// `Semaphore::new` checks its arguments as `k_sem_init` does (`try_new` returns the error).
    #[test]
    #[should_panic(expected = "limit must be non-zero")]
    fn semaphore_new_panics_on_invalid_arguments() {
        assert_eq!(Semaphore::try_new(4, 3).err(), Some(Error::EINVAL));
        let _ = Semaphore::new(4, 3);
    }
}
