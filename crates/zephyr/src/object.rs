//! Kernel objects from Rust: fixed addresses, and statics that are per boot.
//!
//! A Zephyr kernel object must not move once the kernel knows it (its wait queue points at
//! itself). [`KObj`] holds one in an `UnsafeCell`, initialised statically (`const`), and checks
//! on every use that it has not moved since the first: a move is a panic naming the object,
//! never a corrupted kernel list.
//!
//! [`BootStatic`] is a `static` whose value belongs to one boot of the system. On real Zephyr
//! that is the `static` itself; on the simulator, where many simulated systems run in one
//! process, each simulation gets its own instance (see `zephyr_sys::zsim_boot_static`). The
//! time driver keeps its state in one.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A kernel object of type `T` at a fixed address, checked on each use.
#[repr(C)]
pub struct KObj<T> {
    value: UnsafeCell<T>,
    addr: AtomicUsize,
}

// SAFETY: the kernel serialises access to its objects; Rust code only passes their address.
unsafe impl<T> Sync for KObj<T> {}
// SAFETY: as above; an object not yet used may move to another thread.
unsafe impl<T> Send for KObj<T> {}

impl<T> KObj<T> {
    /// Wraps a statically initialised object (`Z_SEM_INITIALIZER(..)` and friends).
    pub const fn new(value: T) -> Self {
        Self { value: UnsafeCell::new(value), addr: AtomicUsize::new(0) }
    }

    /// The object's address, for kernel calls.
    ///
    /// # Panics
    /// If the object moved since its first use.
    #[inline]
    pub fn get(&self) -> *mut T {
        let here = self.value.get() as usize;
        let first = self.addr.load(Ordering::Relaxed);
        if first != here {
            if first != 0 {
                moved(core::any::type_name::<T>(), first, here);
            }
            self.addr.store(here, Ordering::Relaxed);
        }
        self.value.get()
    }
}

#[cold]
fn moved(kind: &str, first: usize, here: usize) -> ! {
    panic!(
        "{kind} moved in memory after its first use (from {first:#x} to {here:#x}): kernel \
         objects must stay in place; keep them in a static or pin them"
    )
}

/// A `static` whose value is per boot (per simulation on the simulator).
pub struct BootStatic<T: 'static> {
    value: UnsafeCell<MaybeUninit<T>>,
    init: fn() -> T,
    ready: core::sync::atomic::AtomicBool,
}

// SAFETY: the value is only reached through `get`, whose users synchronise (critical
// sections); `T: Sync` for sharing.
unsafe impl<T: Sync> Sync for BootStatic<T> {}

impl<T: 'static> BootStatic<T> {
    /// A static initialised by `init` on first use (in each boot).
    pub const fn new(init: fn() -> T) -> Self {
        Self {
            value: UnsafeCell::new(MaybeUninit::uninit()),
            init,
            ready: core::sync::atomic::AtomicBool::new(false),
        }
    }

    /// This boot's value.
    ///
    /// `T` must not need dropping to be correct: on the simulator it is freed without running
    /// its destructor when the simulation ends.
    pub fn get(&'static self) -> &'static T {
        let key = self as *const Self as *const c_void;
        // SAFETY: the alignment of a type is a power of two.
        let p = unsafe {
            zephyr_sys::zsim_boot_static(
                key,
                core::mem::size_of::<(bool, T)>(),
                core::mem::align_of::<(bool, T)>(),
            )
        } as *mut (bool, T);
        if p.is_null() {
            self.get_static()
        } else {
            // SAFETY: `p` is this simulation's zeroed storage for a `(bool, T)`; the flag tells
            // whether `T` was written. Simulations are single-CPU: no concurrent first use.
            unsafe {
                if !(*p).0 {
                    core::ptr::addr_of_mut!((*p).1).write((self.init)());
                    (*p).0 = true;
                }
                &(*p).1
            }
        }
    }

    fn get_static(&'static self) -> &'static T {
        if !self.ready.load(Ordering::Acquire) {
            // One boot, and the first use happens before other threads use it (drivers are
            // initialised from one context); a critical section makes the rare race benign.
            let _guard = crate::sys::irq::IrqLock::new();
            if !self.ready.load(Ordering::Relaxed) {
                // SAFETY: not yet initialised, and interrupts are locked.
                unsafe { (*self.value.get()).write((self.init)()) };
                self.ready.store(true, Ordering::Release);
            }
        }
        // SAFETY: initialised above (or earlier), never written again.
        unsafe { (*self.value.get()).assume_init_ref() }
    }
}

/// A flag that is per boot: `fallback` on real Zephyr; on the simulator, this simulation's own
/// flag for `key` (false at first). For lazily initialised objects that live in `static`s, so
/// each simulated boot initialises them again.
pub(crate) fn boot_flag(key: *const (), fallback: &AtomicBool) -> &AtomicBool {
    // SAFETY: the alignment of AtomicBool is 1, a power of two.
    let p = unsafe {
        zephyr_sys::zsim_boot_static(key as *const c_void, 1, core::mem::align_of::<AtomicBool>())
    };
    if p.is_null() {
        fallback
    } else {
        // SAFETY: zeroed per-simulation memory is a valid `false` AtomicBool, alive for the
        // whole simulation (longer than any use of the object it guards).
        unsafe { &*(p as *const AtomicBool) }
    }
}
