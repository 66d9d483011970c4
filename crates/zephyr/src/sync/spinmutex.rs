//! A data-owning lock that interrupt handlers may take: [`SpinMutex`], interrupts locked while
//! it is held.
//!
//! The type's documentation holds the model and its rules (this module is private; the types
//! are re-exported from [`crate::sync`]).

use core::cell::UnsafeCell;
use core::convert::Infallible;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The result of [`SpinMutex::lock`]: never an error, kept for the `std`-shaped
/// `.lock().unwrap()` (as upstream).
pub type SpinLockResult<Guard> = core::result::Result<Guard, Infallible>;

/// The result of [`SpinMutex::try_lock`].
pub type SpinTryLockResult<Guard> = core::result::Result<Guard, SpinTryLockError>;

/// Why [`SpinMutex::try_lock`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpinTryLockError {
    /// The lock is held (by the caller, or by a context that blocked while holding it).
    WouldBlock,
}

impl fmt::Display for SpinTryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("try_lock failed because the operation would block")
    }
}

impl core::error::Error for SpinTryLockError {}

/// How many [`SpinMutexGuard`]s are alive: per simulation on the simulator, a plain static on
/// a real kernel. Only changed with interrupts locked (inside the guard's critical section), so
/// plain loads and stores suffice (no read-modify-write: targets without CAS build too).
#[cfg(zephyr_sim)]
static HELD: crate::object::BootStatic<AtomicUsize> =
    crate::object::BootStatic::new(|| AtomicUsize::new(0));
#[cfg(not(zephyr_sim))]
static HELD: AtomicUsize = AtomicUsize::new(0);

#[inline(always)]
fn held() -> &'static AtomicUsize {
    #[cfg(zephyr_sim)]
    {
        HELD.get()
    }
    #[cfg(not(zephyr_sim))]
    {
        &HELD
    }
}

/// Panics if a [`SpinMutex`] is held: `call` is about to block. With interrupts locked by a
/// spin mutex, nothing else runs unless its holder blocks, so a held one means the caller
/// holds it, or a thread that blocked earlier while holding it did; either breaks the rule.
#[track_caller]
#[cfg_attr(feature = "no-kio", allow(dead_code))]
pub(crate) fn assert_none_held(call: &'static str) {
    if held().load(Ordering::Relaxed) != 0 {
        panic!(
            "{call}: blocking while a SpinMutex is held (by this thread, or by a thread that \
             blocked while holding it): release the guard before blocking"
        );
    }
}

/// A mutual exclusion lock that owns its data and may be taken from interrupt handlers: while
/// its guard lives, interrupts are locked.
///
/// [`Mutex`](super::Mutex) blocks on a kernel mutex, which an interrupt handler may not touch.
/// A [`SpinMutex`] instead holds a critical section (this crate's: `irq_lock`) for as long as
/// its guard lives, so on one CPU nothing else runs, thread or ISR, and the data needs no
/// further protection. That makes it the lock for data shared between threads and ISRs, and
/// for short critical regions; the cost is interrupt latency for as long as it is held.
///
/// ```text
///            lock / try_lock: irq_lock, mark locked
///   Unlocked ──────────────────────────────────────► Locked (guard alive, interrupts off)
///      ▲                                                 │
///      └──────── guard dropped: mark unlocked, irq_unlock┘
/// ```
///
/// ```no_run
/// # use zephyr_sim as _;
/// use zephyr::sync::SpinMutex;
///
/// static EVENTS: SpinMutex<u32> = SpinMutex::new(0);
///
/// // In an interrupt handler, or a thread:
/// *EVENTS.lock().unwrap() += 1;
/// // Elsewhere:
/// let seen = *EVENTS.lock().unwrap();
/// ```
///
/// # Rules
/// * **Never block while holding it** (no `recv`, `take` with a timeout, `sleep`, ...). The
///   interrupt lock belongs to the thread: a thread that blocks lets others run with interrupts
///   enabled while the mutex is still marked locked, and the next context that locks it would
///   spin forever on one CPU. Here that next `lock` panics instead (see [`SpinMutex::lock`]),
///   and this crate's channels check it before they block.
/// * **Drop guards in the reverse order of locking** (as `irq_lock` keys nest): dropping an
///   outer guard first would enable interrupts while the inner one is held.
/// * **One CPU.** As this crate's critical section, it relies on `irq_lock` excluding every
///   other context; SMP Zephyr would need a real spinlock.
/// * A thread readied while the lock is held (a `give` inside it) runs at the next reschedule
///   point after the unlock, as after Zephyr's own `k_spin_unlock` (this crate's critical
///   section makes the unlock that point when it woke an Embassy executor).
pub struct SpinMutex<T: ?Sized> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a guard, and at most one guard exists at a time
// (`locked`, set and cleared with interrupts locked); handing `&mut T` to whichever context
// holds it needs `T: Send`.
unsafe impl<T: ?Sized + Send> Sync for SpinMutex<T> {}
// SAFETY: moving the mutex moves the `T` to another context.
unsafe impl<T: ?Sized + Send> Send for SpinMutex<T> {}

impl<T> SpinMutex<T> {
    /// An unlocked mutex holding `t`; usable in a `static`.
    pub const fn new(t: T) -> SpinMutex<T> {
        SpinMutex { locked: AtomicBool::new(false), data: UnsafeCell::new(t) }
    }

    /// The data, out of the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> SpinMutex<T> {
    /// Locks interrupts and takes the mutex; the guard releases both when dropped. Callable
    /// from threads and interrupt handlers. Cost: one critical section, two flag writes.
    ///
    /// # Panics
    /// If the mutex is already locked. On one CPU with interrupts locked, the holder can only
    /// be the caller itself (a second `lock` while its guard lives) or a thread that blocked
    /// while holding it: waiting would never end, where Zephyr's `k_spin_lock` would spin
    /// forever (or assert, with `CONFIG_SPIN_VALIDATE`).
    pub fn lock(&self) -> SpinLockResult<SpinMutexGuard<'_, T>> {
        match self.try_lock() {
            Ok(guard) => Ok(guard),
            Err(SpinTryLockError::WouldBlock) => panic!(
                "SpinMutex::lock: already locked, by the caller (a second lock while its guard \
                 lives) or by a thread that blocked while holding it; on one CPU it would never \
                 be released"
            ),
        }
    }

    /// Takes the mutex if it is free, without waiting. Callable from threads and interrupt
    /// handlers.
    ///
    /// # Errors
    /// [`SpinTryLockError::WouldBlock`] if it is held (see [`lock`](Self::lock) for by whom).
    pub fn try_lock(&self) -> SpinTryLockResult<SpinMutexGuard<'_, T>> {
        // SAFETY: released exactly once: below if the mutex is taken, else by the guard's drop.
        let state = unsafe { critical_section::acquire() };
        // Interrupts are locked and there is one CPU: nothing runs between the load and the
        // store (plain accesses, so targets without compare-and-swap build too).
        if self.locked.load(Ordering::Acquire) {
            // SAFETY: the state of the acquire above, released once.
            unsafe { critical_section::release(state) };
            return Err(SpinTryLockError::WouldBlock);
        }
        self.locked.store(true, Ordering::Relaxed);
        let held = held();
        held.store(held.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        Ok(SpinMutexGuard { lock: self, state, _not_send: PhantomData })
    }

    /// The data, through a unique borrow (no locking needed: nobody else can hold a guard).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for SpinMutex<T> {
    fn default() -> Self {
        SpinMutex::new(T::default())
    }
}

impl<T> From<T> for SpinMutex<T> {
    fn from(t: T) -> Self {
        SpinMutex::new(t)
    }
}

impl<T: ?Sized> fmt::Debug for SpinMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The data is not shown: reading it would lock interrupts inside a formatter.
        f.debug_struct("SpinMutex")
            .field("locked", &self.locked.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Access to the data of a locked [`SpinMutex`]; unlocks it, and interrupts, when dropped.
///
/// Not `Send`: the critical section belongs to the context that took it.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct SpinMutexGuard<'a, T: ?Sized + 'a> {
    lock: &'a SpinMutex<T>,
    state: critical_section::RestoreState,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only gives `&T`, which is fine to share when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for SpinMutexGuard<'_, T> {}

impl<T: ?Sized> Deref for SpinMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the mutex is held, by this guard only.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes the borrow unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for SpinMutexGuard<'_, T> {
    fn drop(&mut self) {
        // Still inside the critical section: plain accesses cannot race.
        let held = held();
        held.store(held.load(Ordering::Relaxed).saturating_sub(1), Ordering::Relaxed);
        self.lock.locked.store(false, Ordering::Release);
        // SAFETY: the state of the acquire in `try_lock` that made this guard, released once.
        unsafe { critical_section::release(self.state) };
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for SpinMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for SpinMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
