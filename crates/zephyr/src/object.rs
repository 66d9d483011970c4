//! Kernel objects from Rust: fixed addresses, and statics that are per boot.
//!
//! A Zephyr kernel object must not move once the kernel knows it (its wait queue points at
//! itself). [`KObj`] holds one in an `UnsafeCell`, defined statically (`const`, so it can live
//! in a `static`), initialises it at its first use where the kernel needs a `k_*_init` call,
//! and checks on every use that it has not moved since the first: a move is a panic naming the
//! object, never a corrupted kernel list.
//!
//! [`BootStatic`] is a `static` whose value belongs to one boot of the system. On real Zephyr
//! that is the `static` itself; on the simulator, where many simulated systems run in one
//! process, each simulation gets its own instance (see `zephyr_sys::zsim_boot_static`). The
//! time driver keeps its state in one.

use core::cell::UnsafeCell;
use core::ffi::{c_uint, c_void};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use zephyr_sys::{
    k_condvar, k_condvar_init, k_mutex, k_mutex_init, k_poll_signal, k_poll_signal_init, k_sem,
    k_sem_init, k_timer, k_timer_expiry_t, k_timer_init, k_timer_stop_t, k_work, k_work_delayable,
    k_work_handler_t, k_work_init, k_work_init_delayable, Z_CONDVAR_INITIALIZER,
    Z_MUTEX_INITIALIZER, Z_POLL_SIGNAL_INITIALIZER, Z_SEM_INITIALIZER, Z_TIMER_INITIALIZER,
};

/// How a kernel object in a [`KObj`] gets its `k_*_init` call.
///
/// Zephyr defines objects statically with `K_SEM_DEFINE` and friends, whose initialisers have no
/// `const` form in Rust on real Zephyr (they point into the object itself, or at kernel-private
/// functions; `zephyr_sys::STATIC_OBJECTS_NEED_INIT`). So a `KObj` made by one of the typed
/// constructors ([`KObj::sem`], ...) is initialised by the kernel call at its first use, once,
/// under `irq_lock`; on the simulator the `const` initialiser already did it.
#[derive(Clone, Copy)]
enum StaticInit {
    /// Its owner initialises it with explicit calls (threads, queues, message queues).
    Explicit,
    /// `k_sem_init(initial, limit)`.
    Sem(c_uint, c_uint),
    /// `k_mutex_init`.
    Mutex,
    /// `k_condvar_init`.
    Condvar,
    /// `k_timer_init(expiry, stop)`.
    Timer(k_timer_expiry_t, k_timer_stop_t),
    /// `k_poll_signal_init`.
    PollSignal,
    /// `k_work_init(handler)`: needed on every kernel (work items have no static form).
    Work(k_work_handler_t),
    /// `k_work_init_delayable(handler)`: likewise.
    Delayable(k_work_handler_t),
}

impl StaticInit {
    /// Whether the first use must make the init call on this kernel.
    const fn needed(self) -> bool {
        match self {
            StaticInit::Explicit => false,
            StaticInit::Work(_) | StaticInit::Delayable(_) => true,
            _ => zephyr_sys::STATIC_OBJECTS_NEED_INIT,
        }
    }

    /// Makes the init call on the object at `p`.
    ///
    /// # Safety
    /// `p` points to the (not yet initialised) object of the kind this variant names, at its
    /// final address, and no other context uses it during the call.
    unsafe fn run(self, p: *mut c_void) {
        // SAFETY: caller contract: `p` is an object of the kind named, at its final address.
        unsafe {
            match self {
                StaticInit::Explicit => {}
                StaticInit::Sem(initial, limit) => {
                    // The constructor checked what k_sem_init checks.
                    let _ = k_sem_init(p.cast(), initial, limit);
                }
                StaticInit::Mutex => {
                    k_mutex_init(p.cast());
                }
                StaticInit::Condvar => {
                    k_condvar_init(p.cast());
                }
                StaticInit::Timer(expiry, stop) => k_timer_init(p.cast(), expiry, stop),
                StaticInit::PollSignal => k_poll_signal_init(p.cast()),
                StaticInit::Work(handler) => k_work_init(p.cast(), handler),
                StaticInit::Delayable(handler) => k_work_init_delayable(p.cast(), handler),
            }
        }
    }
}

/// A kernel object of type `T` at a fixed address, checked on each use, and initialised at its
/// first use where the kernel needs that (see [`KObj::sem`] and the other typed constructors).
#[repr(C)]
pub struct KObj<T> {
    value: UnsafeCell<T>,
    addr: AtomicUsize,
    init: StaticInit,
}

// SAFETY: the kernel serialises access to its objects; Rust code only passes their address.
unsafe impl<T> Sync for KObj<T> {}
// SAFETY: as above; an object not yet used may move to another thread.
unsafe impl<T> Send for KObj<T> {}

impl<T> KObj<T> {
    /// Wraps an object that its owner initialises with explicit kernel calls (a thread, a work
    /// queue, a message queue), before or at its first use.
    pub const fn new(value: T) -> Self {
        Self::with(value, StaticInit::Explicit)
    }

    const fn with(value: T, init: StaticInit) -> Self {
        Self { value: UnsafeCell::new(value), addr: AtomicUsize::new(0), init }
    }

    /// The object's address, for kernel calls. The first call initialises the object if it is
    /// one of the statically defined kinds and the kernel needs that.
    ///
    /// # Panics
    /// If the object moved since its first use.
    #[inline]
    pub fn get(&self) -> *mut T {
        let here = self.value.get() as usize;
        let first = self.addr.load(Ordering::Acquire);
        if first != here {
            self.first_use(first, here);
        }
        self.value.get()
    }

    #[cold]
    fn first_use(&self, first: usize, here: usize) {
        if first != 0 {
            moved(core::any::type_name::<T>(), first, here);
        }
        if self.init.needed() {
            // Two contexts may race to the first use: the lock lets one of them initialise.
            let _lock = crate::sys::irq::IrqLock::new();
            if self.addr.load(Ordering::Relaxed) == 0 {
                // SAFETY: the object is of the kind `init` names (the typed constructors pair
                // them), at its final address (a move after this panics), never used before,
                // and interrupts are locked.
                unsafe { self.init.run(here as *mut c_void) };
                self.addr.store(here, Ordering::Release);
            }
        } else {
            self.addr.store(here, Ordering::Release);
        }
    }
}

impl KObj<k_sem> {
    /// A semaphore defined statically (`K_SEM_DEFINE`). The caller checked the arguments as
    /// `k_sem_init` does.
    pub const fn sem(initial: c_uint, limit: c_uint) -> Self {
        Self::with(Z_SEM_INITIALIZER(initial, limit), StaticInit::Sem(initial, limit))
    }
}

impl KObj<k_mutex> {
    /// A mutex defined statically (`K_MUTEX_DEFINE`).
    pub const fn mutex() -> Self {
        Self::with(Z_MUTEX_INITIALIZER(), StaticInit::Mutex)
    }
}

impl KObj<k_condvar> {
    /// A condition variable defined statically (`K_CONDVAR_DEFINE`).
    pub const fn condvar() -> Self {
        Self::with(Z_CONDVAR_INITIALIZER(), StaticInit::Condvar)
    }
}

impl KObj<k_timer> {
    /// A timer defined statically (`K_TIMER_DEFINE`).
    pub const fn timer(expiry: k_timer_expiry_t, stop: k_timer_stop_t) -> Self {
        Self::with(Z_TIMER_INITIALIZER(expiry, stop), StaticInit::Timer(expiry, stop))
    }
}

impl KObj<k_poll_signal> {
    /// A poll signal defined statically (`K_POLL_SIGNAL_INITIALIZER`).
    pub const fn poll_signal() -> Self {
        Self::with(Z_POLL_SIGNAL_INITIALIZER(), StaticInit::PollSignal)
    }
}

impl KObj<k_work> {
    /// A work item running `handler`, initialised (`k_work_init`) at its first use.
    pub const fn work(handler: k_work_handler_t) -> Self {
        Self::with(k_work::new(), StaticInit::Work(handler))
    }
}

impl KObj<k_work_delayable> {
    /// Delayable work running `handler`, initialised (`k_work_init_delayable`) at its first use.
    pub const fn delayable(handler: k_work_handler_t) -> Self {
        Self::with(k_work_delayable::new(), StaticInit::Delayable(handler))
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

/// Claims a once-per-boot flag (per simulation on the simulator): true the first time in this
/// boot. What `init_once` on the `kobj_define!` statics uses.
pub(crate) fn claim_once(flag: &'static AtomicBool) -> bool {
    !boot_flag(flag as *const AtomicBool as *const (), flag).swap(true, Ordering::AcqRel)
}

/// Declares kernel objects in `static`s, in upstream zephyr-lang-rust's syntax (the Rust
/// counterpart of `K_SEM_DEFINE`, `K_THREAD_STACK_DEFINE`, ...).
///
/// Each declaration is `static NAME: KIND;` or `static NAME: [KIND; COUNT];`, with optional
/// attributes (doc comments) and visibility (`pub static`). Each static has
/// `init_once(args) -> Option<_>`, `Some` the first time in a boot (per simulation on the
/// simulator) and `None` after:
///
/// | `KIND` | `init_once` takes | and returns |
/// | --- | --- | --- |
/// | `StaticSemaphore` | `(initial, limit)` | [`sys::sync::Semaphore`] |
/// | `StaticMutex` | `()` | [`sys::sync::Mutex`] |
/// | `StaticCondvar` | `()` | [`sys::sync::Condvar`] |
/// | `ThreadStack<SIZE>` | `()` | a [`sys::thread::ThreadStack`] handle |
/// | `StaticThread` | a `sys::thread::ThreadStack` | a [`sys::thread::Thread`] to spawn |
///
/// [`sys::sync::Semaphore`]: crate::sys::sync::Semaphore
/// [`sys::sync::Mutex`]: crate::sys::sync::Mutex
/// [`sys::sync::Condvar`]: crate::sys::sync::Condvar
/// [`sys::thread::ThreadStack`]: crate::sys::thread::ThreadStack
/// [`sys::thread::Thread`]: crate::sys::thread::Thread
///
/// `SIZE` is an identifier, a literal or a `{ block }`; stacks are rounded up with
/// [`stack_len`](crate::thread::stack_len). A `ThreadStack<SIZE>` static is a
/// [`thread::ThreadStack`](crate::thread::ThreadStack), which [`crate::thread::Thread`] can use
/// too. Semaphores, mutexes and condition variables are returned by value, not yet used: they
/// may move until their first use and must stay put after (see
/// [`StaticSemaphore`](crate::sys::sync::StaticSemaphore)); threads and stacks stay in their
/// `static`.
///
/// ```no_run
/// # use zephyr_sim as _;
/// use static_cell::StaticCell;
/// use zephyr::sys::sync::Semaphore;
/// use zephyr::time::Forever;
///
/// const STACK_SIZE: usize = 2048;
///
/// zephyr::kobj_define! {
///     /// Signals the worker.
///     pub static GO: StaticSemaphore;
///     static WORKER: StaticThread;
///     static WORKER_STACK: ThreadStack<STACK_SIZE>;
///     static POOL_STACKS: [ThreadStack<{ STACK_SIZE / 2 }>; 3];
/// }
///
/// // The semaphore moves into its final place before its first use.
/// static GO_SEMAPHORE: StaticCell<Semaphore> = StaticCell::new();
/// let go: &'static Semaphore = GO_SEMAPHORE.init(GO.init_once((0, 1)).unwrap());
/// let mut worker = WORKER.init_once(WORKER_STACK.init_once(()).unwrap()).unwrap();
/// worker.set_priority(3);
/// worker.spawn(move || {
///     go.take(Forever).unwrap();
///     zephyr::printkln!("going");
/// });
/// go.give();
/// ```
#[macro_export]
macro_rules! kobj_define {
    () => {};
    ($(#[$attr:meta])* $v:vis static $name:ident: $kind:ident<$size:tt>; $($rest:tt)*) => {
        $crate::_kobj_rule!([$(#[$attr])*] [$v] $name $kind<$size>);
        $crate::kobj_define!($($rest)*);
    };
    ($(#[$attr:meta])* $v:vis static $name:ident: $kind:tt; $($rest:tt)*) => {
        $crate::_kobj_rule!([$(#[$attr])*] [$v] $name $kind);
        $crate::kobj_define!($($rest)*);
    };
}

/// One declaration of [`kobj_define!`].
#[doc(hidden)]
#[macro_export]
macro_rules! _kobj_rule {
    ([$($attr:tt)*] [$v:vis] $name:ident StaticSemaphore) => {
        $($attr)* $v static $name: $crate::sys::sync::StaticSemaphore =
            $crate::sys::sync::StaticSemaphore::new();
    };
    ([$($attr:tt)*] [$v:vis] $name:ident [StaticSemaphore; $count:expr]) => {
        $($attr)* $v static $name: [$crate::sys::sync::StaticSemaphore; $count] =
            [const { $crate::sys::sync::StaticSemaphore::new() }; $count];
    };
    ([$($attr:tt)*] [$v:vis] $name:ident StaticMutex) => {
        $($attr)* $v static $name: $crate::sys::sync::StaticMutex =
            $crate::sys::sync::StaticMutex::new();
    };
    ([$($attr:tt)*] [$v:vis] $name:ident [StaticMutex; $count:expr]) => {
        $($attr)* $v static $name: [$crate::sys::sync::StaticMutex; $count] =
            [const { $crate::sys::sync::StaticMutex::new() }; $count];
    };
    ([$($attr:tt)*] [$v:vis] $name:ident StaticCondvar) => {
        $($attr)* $v static $name: $crate::sys::sync::StaticCondvar =
            $crate::sys::sync::StaticCondvar::new();
    };
    ([$($attr:tt)*] [$v:vis] $name:ident [StaticCondvar; $count:expr]) => {
        $($attr)* $v static $name: [$crate::sys::sync::StaticCondvar; $count] =
            [const { $crate::sys::sync::StaticCondvar::new() }; $count];
    };
    ([$($attr:tt)*] [$v:vis] $name:ident StaticThread) => {
        $($attr)* $v static $name: $crate::sys::thread::StaticThread =
            $crate::sys::thread::StaticThread::new();
    };
    ([$($attr:tt)*] [$v:vis] $name:ident [StaticThread; $count:expr]) => {
        $($attr)* $v static $name: [$crate::sys::thread::StaticThread; $count] =
            [const { $crate::sys::thread::StaticThread::new() }; $count];
    };
    ([$($attr:tt)*] [$v:vis] $name:ident ThreadStack<$size:tt>) => {
        $($attr)* $v static $name:
            $crate::thread::ThreadStack<{ $crate::thread::stack_len($size) }> =
            $crate::thread::ThreadStack::new();
    };
    ([$($attr:tt)*] [$v:vis] $name:ident [ThreadStack<$size:tt>; $count:expr]) => {
        $($attr)* $v static $name:
            [$crate::thread::ThreadStack<{ $crate::thread::stack_len($size) }>; $count] =
            [const { $crate::thread::ThreadStack::new() }; $count];
    };
    ([$($attr:tt)*] [$v:vis] $name:ident $($other:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "kobj_define!: unsupported kind `", ::core::stringify!($($other)*), "` for `",
            ::core::stringify!($name), "` (supported: StaticSemaphore, StaticMutex, \
             StaticCondvar, StaticThread, ThreadStack<SIZE>, and arrays [KIND; COUNT] of them)"
        ));
    };
}
