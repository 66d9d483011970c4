//! The kernel's own round trips, the baselines of the `thread`, `thread-same-prio` and `irq`
//! scenarios: the C of `baseline.c` with the `c-baseline` feature (on a board), else its Rust
//! port below, step for step, over the raw kernel API (on the simulator, which compiles no C).

use core::ffi::{c_int, c_uint};

#[cfg(feature = "c-baseline")]
extern "C" {
    /// `uint32_t bench_c_thread(int partner_prio, uint32_t round_trips)` in `baseline.c`.
    fn bench_c_thread(partner_prio: c_int, round_trips: u32) -> u32;
    /// `uint32_t bench_c_irq(unsigned int irq, unsigned int priority, uint32_t round_trips)` in
    /// `baseline.c`.
    fn bench_c_irq(irq: c_uint, priority: c_uint, round_trips: u32) -> u32;
}

/// Ping-pongs `round_trips` times over two `k_sem`s between the calling thread and a partner
/// thread at `partner_priority` (after one warm-up round trip); returns the cycles
/// (`k_cycle_get_32`) they took. This build: the C of `baseline.c`.
///
/// Not re-entrant (one partner thread, one pair of semaphores); call it from a thread.
#[cfg(feature = "c-baseline")]
pub(crate) fn thread_round_trips(partner_priority: i32, round_trips: u32) -> u32 {
    // SAFETY: the function of baseline.c, which the application links with this feature; called
    // from a thread, never twice at once (the caller's contract).
    unsafe { bench_c_thread(partner_priority as c_int, round_trips) }
}

/// Ping-pongs `round_trips` times over two `k_sem`s between the calling thread and a partner
/// thread at `partner_priority` (after one warm-up round trip); returns the cycles
/// (`k_cycle_get_32`) they took. This build: the Rust port of `baseline.c`.
///
/// Not re-entrant (one partner thread, one pair of semaphores); call it from a thread.
#[cfg(not(feature = "c-baseline"))]
pub(crate) fn thread_round_trips(partner_priority: i32, round_trips: u32) -> u32 {
    port::bench_c_thread(partner_priority as c_int, round_trips)
}

/// Pends interrupt line `irq` (connected at `priority` to an ISR that gives a `k_sem`) and
/// takes that semaphore, `round_trips` times (after one warm-up round trip); returns the cycles
/// (`k_cycle_get_32`) they took, or 0 if the line could not be connected. This build: the C of
/// `baseline.c`.
///
/// Call it once, from a thread: the line stays connected and enabled.
#[cfg(feature = "c-baseline")]
pub(crate) fn irq_round_trips(irq: u32, priority: u32, round_trips: u32) -> u32 {
    // SAFETY: the function of baseline.c, which the application links with this feature; called
    // once, from a thread, on a line no device uses (the caller's contract).
    unsafe { bench_c_irq(irq as c_uint, priority as c_uint, round_trips) }
}

/// Pends interrupt line `irq` (connected at `priority` to an ISR that gives a `k_sem`) and
/// takes that semaphore, `round_trips` times (after one warm-up round trip); returns the cycles
/// (`k_cycle_get_32`) they took, or 0 if the line could not be connected. This build: the Rust
/// port of `baseline.c`.
///
/// Call it once, from a thread: the line stays connected and enabled.
#[cfg(not(feature = "c-baseline"))]
pub(crate) fn irq_round_trips(irq: u32, priority: u32, round_trips: u32) -> u32 {
    port::bench_c_irq(irq as c_uint, priority as c_uint, round_trips)
}

/// `baseline.c` in Rust, with the same names, statics and steps.
#[cfg(not(feature = "c-baseline"))]
mod port {
    use core::cell::UnsafeCell;
    use core::ffi::{c_int, c_uint, c_void};
    use core::mem::MaybeUninit;
    use core::ptr;

    use zephyr::raw::{
        irq_connect_dynamic, irq_enable, k_cycle_get_32, k_sem, k_sem_give, k_sem_init, k_sem_take,
        k_thread, k_thread_create, k_thread_join, z_thread_stack, zr_irq_pend, K_FOREVER,
        K_NO_WAIT,
    };

    const PARTNER_STACK_SIZE: usize = 1024;

    /// A kernel object in a `static`: zero bytes until its `k_*_init` or `k_thread_create`, as
    /// C's `static struct k_sem ping;` in `.bss`.
    struct KernelStatic<T>(UnsafeCell<MaybeUninit<T>>);

    // SAFETY: Rust code never reads or writes the object; only the kernel does, through the raw
    // pointer, under its own locking.
    unsafe impl<T> Sync for KernelStatic<T> {}

    impl<T> KernelStatic<T> {
        const fn zeroed() -> Self {
            Self(UnsafeCell::new(MaybeUninit::zeroed()))
        }

        fn get(&self) -> *mut T {
            self.0.get().cast()
        }
    }

    /// `K_THREAD_STACK_DEFINE(partner_stack, PARTNER_STACK_SIZE)`.
    static PARTNER_STACK: z_thread_stack<PARTNER_STACK_SIZE> = z_thread_stack::new();
    static PARTNER_THREAD: KernelStatic<k_thread> = KernelStatic::zeroed();
    static PING: KernelStatic<k_sem> = KernelStatic::zeroed();
    static PONG: KernelStatic<k_sem> = KernelStatic::zeroed();

    unsafe extern "C-unwind" fn partner(p1: *mut c_void, _p2: *mut c_void, _p3: *mut c_void) {
        let round_trips = p1 as usize as u32;
        for _ in 0..round_trips {
            // SAFETY: `bench_c_thread` initialised both semaphores before it created this
            // thread, and they never move (statics); a blocking take on a thread.
            unsafe {
                k_sem_take(PING.get(), K_FOREVER);
                k_sem_give(PONG.get());
            }
        }
    }

    /// See [`super::thread_round_trips`].
    pub(super) fn bench_c_thread(partner_prio: c_int, round_trips: u32) -> u32 {
        // SAFETY: called from a thread, never twice at once (the caller's contract): the
        // semaphores are (re-)initialised while no thread waits on them, and the partner
        // thread object is created only when no thread runs on it (the previous call joined
        // it). All objects are statics, so they never move; the partner's stack is its own.
        unsafe {
            k_sem_init(PING.get(), 0, 1);
            k_sem_init(PONG.get(), 0, 1);
            k_thread_create(
                PARTNER_THREAD.get(),
                PARTNER_STACK.as_ptr(),
                PARTNER_STACK.size(),
                Some(partner),
                (round_trips + 1) as usize as *mut c_void,
                ptr::null_mut(),
                ptr::null_mut(),
                partner_prio,
                0,
                K_NO_WAIT,
            );

            k_sem_give(PING.get());
            k_sem_take(PONG.get(), K_FOREVER);

            let start = k_cycle_get_32();
            for _ in 0..round_trips {
                k_sem_give(PING.get());
                k_sem_take(PONG.get(), K_FOREVER);
            }
            let end = k_cycle_get_32();

            k_thread_join(PARTNER_THREAD.get(), K_FOREVER);
            end.wrapping_sub(start)
        }
    }

    static IRQ_SEM: KernelStatic<k_sem> = KernelStatic::zeroed();

    unsafe extern "C-unwind" fn irq_isr(_parameter: *const c_void) {
        // SAFETY: `bench_c_irq` initialised the semaphore before it connected this ISR, and it
        // never moves (a static); giving is allowed from an ISR.
        unsafe { k_sem_give(IRQ_SEM.get()) };
    }

    /// See [`super::irq_round_trips`].
    pub(super) fn bench_c_irq(irq: c_uint, priority: c_uint, round_trips: u32) -> u32 {
        // SAFETY: called once, from a thread, on a line no device uses (the caller's contract):
        // the semaphore is initialised before the line is connected, and the ISR is the line's
        // only routine; the semaphore is a static, so it never moves.
        unsafe {
            k_sem_init(IRQ_SEM.get(), 0, 1);
            if irq_connect_dynamic(irq, priority, Some(irq_isr), ptr::null(), 0) < 0 {
                return 0;
            }
            irq_enable(irq);

            zr_irq_pend(irq);
            k_sem_take(IRQ_SEM.get(), K_FOREVER);

            let start = k_cycle_get_32();
            for _ in 0..round_trips {
                zr_irq_pend(irq);
                k_sem_take(IRQ_SEM.get(), K_FOREVER);
            }
            let end = k_cycle_get_32();

            end.wrapping_sub(start)
        }
    }
}
