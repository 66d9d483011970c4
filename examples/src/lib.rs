//! The simulator's demo: a Zephyr program that tells what the kernel does, in virtual time.
//!
//! [`demo_main`] is the `main` of a small Zephyr application written against the raw C API of
//! `zephyr-sys` only (`k_thread_create`, `k_sem_give`, `k_timer_start`, `printk!`, ...). The
//! `sim-demo` binary boots it on the simulated kernel (`cargo run -p examples --bin sim-demo`);
//! `tests/sim_demo.rs` boots it with the console captured and compares the story with a golden
//! file. It shows, in three sections and one thread that runs through them:
//!
//! 1. **Preemption**: a producer hands items to a more urgent consumer over a `k_sem`; the
//!    consumer runs *inside* the producer's `k_sem_give`, which returns only when the consumer
//!    blocks again.
//! 2. **ISR context**: a periodic `k_timer` whose expiry function runs in ISR context
//!    (`k_is_in_isr()` is true there) and gives a semaphore that wakes a thread.
//! 3. **Priority inheritance**: a `k_mutex` held by a low-priority thread is wanted by an urgent
//!    one; the owner runs at the waiter's priority until it unlocks, so a middle-priority thread
//!    cannot get in between.
//!
//! Through all three, **an idle-time worker**: a background thread at the lowest application
//! priority, which gets the CPU only while every other thread waits.
//!
//! # Reading the timestamps
//!
//! Each line starts with the virtual time read from the cycle counter (`k_cycle_get_64`, 1 MHz:
//! microsecond resolution). The board ticks at 10 kHz, so 0.1 ms is one tick. No time passes
//! while code runs; only `k_busy_wait` (simulated work) and waiting move the clock. As on
//! Zephyr 2.7, a timeout of N ticks ends N + 1 ticks after the current tick (it may never end
//! early), so `k_msleep(100)` at 0 ms wakes at 100.1 ms; a `k_timer` period of N ticks expires
//! exactly every N ticks.
//!
//! # Kernel objects
//!
//! The kernel links its objects into lists by address, so once initialised they must never
//! move: every `k_thread`, stack, `k_sem`, `k_mutex` and `k_timer` here lives in a leaked `Box`.
//! The kernel writes to them through raw pointers while Rust code holds shared references to
//! their owner, so each sits in an [`UnsafeCell`].

use std::cell::UnsafeCell;
use std::ffi::{c_void, CStr};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use zephyr_sys::*;

// Priorities: lower is more urgent. `main` runs at CONFIG_MAIN_THREAD_PRIORITY (0), above all
// of these, so a thread it creates first runs when main blocks.
const CONTROL_PRIO: i32 = 2;
const CONSUMER_PRIO: i32 = 3;
const TICKER_PRIO: i32 = 4;
const STATS_PRIO: i32 = 5;
const PRODUCER_PRIO: i32 = 6;
const LOGGER_PRIO: i32 = 9;
const BACKGROUND_PRIO: i32 = K_LOWEST_APPLICATION_THREAD_PRIO;

// Section 1: the producer makes an item every 100 ms; the consumer works 10 ms on each.
const ITEMS: u32 = 3;
const ITEM_PERIOD_MS: i32 = 100;
const ITEM_WORK_US: u32 = 10_000;

// Section 2: the timer expires every 100 ms; the ticker waits for three expiries.
const TIMER_PERIOD_MS: i64 = 100;
const TICKS_TO_WAIT: u32 = 3;

// Section 3: the logger holds the bus for a 50 ms record; control wants it after 20 ms, and
// stats wakes after 30 ms, in the middle of the record.
const RECORD_US: u32 = 50_000;
const CONTROL_DELAY_MS: i32 = 20;
const STATS_DELAY_MS: u64 = 30;

// The background job: 120 ms of work, done in slices of one tick.
const BACKGROUND_JOB_US: u32 = 120_000;
const BACKGROUND_SLICE_US: u32 = 100;

/// What `K_THREAD_STACK_DEFINE` would reserve per thread (the simulator runs threads on host
/// stacks, but a real kernel would use this one).
const STACK_SIZE: usize = 4096;

/// Everything the threads share: the kernel objects, plus a little plain state in atomics.
/// Leaked at boot, so nothing in it ever moves; each thread gets it as its `p1`.
struct Demo {
    /// Items made and not yet taken (section 1).
    items: UnsafeCell<k_sem>,
    /// Given by the timer's expiry function, taken by the ticker (section 2).
    tick: UnsafeCell<k_sem>,
    /// The periodic timer (section 2).
    timer: UnsafeCell<k_timer>,
    /// The "bus" the logger and control share (section 3).
    bus: UnsafeCell<k_mutex>,
    /// Number of the last item made.
    item: AtomicU32,
    /// True while the producer is inside `k_sem_give`.
    producer_giving: AtomicBool,
    /// Timer expiries so far.
    expiries: AtomicU32,
}

impl Demo {
    /// Leaks a new `Demo` and initialises its kernel objects where they will stay.
    fn boot() -> &'static Demo {
        let demo: &'static Demo = Box::leak(Box::new(Demo {
            items: UnsafeCell::new(k_sem::new()),
            tick: UnsafeCell::new(k_sem::new()),
            timer: UnsafeCell::new(k_timer::new()),
            bus: UnsafeCell::new(k_mutex::new()),
            item: AtomicU32::new(0),
            producer_giving: AtomicBool::new(false),
            expiries: AtomicU32::new(0),
        }));
        // SAFETY: the objects are leaked, so they are at their final address, and nothing uses
        // them before these calls initialise them.
        unsafe {
            assert_eq!(k_sem_init(demo.items.get(), 0, K_SEM_MAX_LIMIT), 0);
            assert_eq!(k_sem_init(demo.tick.get(), 0, 1), 0);
            k_timer_init(demo.timer.get(), Some(timer_expiry), None);
            k_timer_user_data_set(demo.timer.get(), demo as *const Demo as *mut c_void);
            assert_eq!(k_mutex_init(demo.bus.get()), 0);
        }
        demo
    }

    /// The `Demo` a thread was given as `p1`.
    ///
    /// # Safety
    /// `p1` must be the pointer [`spawn`] passed to the thread.
    unsafe fn from_arg(p1: *mut c_void) -> &'static Demo {
        // SAFETY: per the contract, `p1` points to the leaked (so `'static`) `Demo`.
        unsafe { &*(p1 as *const Demo) }
    }
}

/// A time since boot, or a duration, in microseconds of virtual time; displays as `12.345 ms`.
#[derive(Clone, Copy)]
struct Time(u64);

impl Time {
    /// Now, from the hardware cycle counter.
    fn now() -> Time {
        // SAFETY: reading the cycle counter is valid from any thread or ISR.
        Time(k_cyc_to_us_floor64(unsafe { k_cycle_get_64() }))
    }

    /// The start of tick `t`.
    fn of_tick(t: k_ticks_t) -> Time {
        Time(k_ticks_to_us_floor64(t as u64))
    }

    /// How long from `earlier` to `self`.
    fn since(self, earlier: Time) -> Time {
        Time(self.0 - earlier.0)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03} ms", self.0 / 1000, self.0 % 1000)
    }
}

/// Prints one line of the story: `[ virtual time ] speaker  text`, where the speaker is the
/// running thread's name, or `(ISR)` in an interrupt.
fn say_fmt(text: fmt::Arguments<'_>) {
    let now = Time::now();
    // SAFETY: plain kernel queries, valid from a thread or an ISR. A thread's name lives in its
    // `k_thread`, which outlives this call.
    let who = unsafe {
        if k_is_in_isr() {
            c"(ISR)"
        } else {
            CStr::from_ptr(k_thread_name_get(k_current_get()))
        }
    };
    let who = who.to_str().unwrap_or("?");
    printk!("[{:5}.{:03} ms] {who:<10} {text}\n", now.0 / 1000, now.0 % 1000);
}

/// `say!("format", args...)`: prints one line of the story with [`say_fmt`].
macro_rules! say {
    ($($arg:tt)*) => { say_fmt(format_args!($($arg)*)) };
}

/// The calling thread's priority.
fn my_prio() -> i32 {
    // SAFETY: valid in thread context, where every caller is.
    unsafe { k_thread_priority_get(k_current_get()) }
}

/// A thread entry point, as Zephyr's `k_thread_entry_t`.
type Entry = unsafe extern "C-unwind" fn(*mut c_void, *mut c_void, *mut c_void);

/// A thread's control block and stack, allocated together and leaked: neither may move while
/// the thread lives.
struct ThreadMem {
    thread: k_thread,
    stack: z_thread_stack<STACK_SIZE>,
}

/// Creates and starts a thread named `name` at `prio` running `entry(demo)`.
fn spawn(name: &CStr, prio: i32, entry: Entry, demo: &'static Demo) -> k_tid_t {
    let mem: &'static mut ThreadMem =
        Box::leak(Box::new(ThreadMem { thread: k_thread::new(), stack: z_thread_stack::new() }));
    // SAFETY: the thread object and stack are leaked, so they never move; the entry points of
    // this demo read `p1` as the leaked `Demo` (or ignore it) and ignore `p2` and `p3`. The
    // thread is created with a K_FOREVER delay and started once named, so it never runs nameless.
    unsafe {
        let tid = k_thread_create(
            &mut mem.thread,
            mem.stack.as_ptr(),
            mem.stack.size(),
            Some(entry),
            demo as *const Demo as *mut c_void,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            prio,
            0,
            K_FOREVER,
        );
        k_thread_name_set(tid, name.as_ptr());
        k_thread_start(tid);
        tid
    }
}

/// Waits until `thread` has returned.
fn join(thread: k_tid_t) {
    // SAFETY: `thread` came from `spawn`; main joins from thread context.
    let r = unsafe { k_thread_join(thread, K_FOREVER) };
    assert_eq!(r, 0, "k_thread_join");
}

/// The demo's `main`: runs the sections in turn, prints the uptime and returns it, in ticks.
///
/// It must run as the main thread of a running (simulated) kernel: pass it to
/// `zephyr_sim::Sim::run`. Each run leaks its kernel objects, a few kilobytes.
///
/// # Panics
/// Outside a simulation (its first kernel call panics), or if a kernel call fails.
pub fn demo_main() -> i64 {
    let demo = Demo::boot();
    // SAFETY: reading the clock rates is always valid.
    let cycles_per_sec = unsafe { sys_clock_hw_cycles_per_sec() };
    say!(
        "boot: {} ticks/s, {cycles_per_sec} cycles/s, main at prio {}",
        sys_clock_ticks_per_sec(),
        my_prio()
    );

    // The idle-time worker: created first, but at the lowest priority it waits until every
    // other thread, main included, is blocked.
    spawn(c"background", BACKGROUND_PRIO, background, demo);
    say!("created background at prio {BACKGROUND_PRIO}, the lowest: it runs when all else waits");

    say!(
        "== 1. k_sem hand-off: producer (prio {PRODUCER_PRIO}) -> consumer (prio {CONSUMER_PRIO}, \
         more urgent)"
    );
    let consumer_tid = spawn(c"consumer", CONSUMER_PRIO, consumer, demo);
    let producer_tid = spawn(c"producer", PRODUCER_PRIO, producer, demo);
    join(producer_tid);
    join(consumer_tid);

    say!("== 2. k_timer every {TIMER_PERIOD_MS} ms; its expiry function runs in ISR context");
    let ticker_tid = spawn(c"ticker", TICKER_PRIO, ticker, demo);
    // SAFETY: the timer was initialised at boot and never moves.
    unsafe { k_timer_start(demo.timer.get(), K_MSEC(TIMER_PERIOD_MS), K_MSEC(TIMER_PERIOD_MS)) };
    join(ticker_tid);
    // SAFETY: as above.
    unsafe { k_timer_stop(demo.timer.get()) };

    say!(
        "== 3. k_mutex with priority inheritance: logger (prio {LOGGER_PRIO}), control (prio \
         {CONTROL_PRIO})"
    );
    let control_tid = spawn(c"control", CONTROL_PRIO, control, demo);
    let stats_tid = spawn(c"stats", STATS_PRIO, stats, demo);
    let logger_tid = spawn(c"logger", LOGGER_PRIO, logger, demo);
    join(control_tid);
    join(stats_tid);
    join(logger_tid);

    // SAFETY: reading the uptime is always valid.
    let ticks = unsafe { k_uptime_ticks() };
    say!("done: uptime {} ({ticks} ticks); main returns", Time::of_tick(ticks));
    ticks
}

// ---------------------------------------------------------------- section 1: k_sem hand-off

/// Makes an item every 100 ms and gives the semaphore for each.
unsafe extern "C-unwind" fn producer(p1: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: `spawn` passed the `Demo` as `p1`.
    let demo = unsafe { Demo::from_arg(p1) };
    for n in 1..=ITEMS {
        // SAFETY: thread context.
        unsafe { k_msleep(ITEM_PERIOD_MS) };
        demo.item.store(n, Relaxed);
        say!("item {n} ready after k_msleep({ITEM_PERIOD_MS}): k_sem_give(items)");
        let before = Time::now();
        demo.producer_giving.store(true, Relaxed);
        // SAFETY: the semaphore was initialised at boot and never moves.
        unsafe { k_sem_give(demo.items.get()) };
        demo.producer_giving.store(false, Relaxed);
        say!("k_sem_give returned, {} later", Time::now().since(before));
    }
}

/// Takes each item as soon as it exists, and works on it.
unsafe extern "C-unwind" fn consumer(p1: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: `spawn` passed the `Demo` as `p1`.
    let demo = unsafe { Demo::from_arg(p1) };
    for _ in 0..ITEMS {
        // SAFETY: the semaphore was initialised at boot and never moves; thread context.
        unsafe { k_sem_take(demo.items.get(), K_FOREVER) };
        // Where are we? If the producer has not left k_sem_give yet, that call readied this
        // more urgent thread and switched to it on the spot: preemption.
        let place = if demo.producer_giving.load(Relaxed) {
            "inside the producer's k_sem_give"
        } else {
            "after the producer's k_sem_give"
        };
        let n = demo.item.load(Relaxed);
        say!("took item {n} {place}; works {} ms", ITEM_WORK_US / 1000);
        // SAFETY: thread context. Simulated work: virtual time advances.
        unsafe { k_busy_wait(ITEM_WORK_US) };
    }
}

// ------------------------------------------------------------ section 2: timer and its ISR

/// The timer's expiry function: runs in ISR context at each expiry, wakes the ticker.
unsafe extern "C-unwind" fn timer_expiry(timer: *mut k_timer) {
    // SAFETY: the kernel passes the timer being served; its user data is the leaked `Demo`,
    // set at boot.
    let demo = unsafe { &*(k_timer_user_data_get(timer) as *const Demo) };
    let n = demo.expiries.fetch_add(1, Relaxed) + 1;
    // SAFETY: valid in an ISR.
    let in_isr = unsafe { k_is_in_isr() };
    say!("timer expiry {n}: k_is_in_isr() = {in_isr}; k_sem_give(tick)");
    // SAFETY: k_sem_give is ISR-safe; the semaphore was initialised at boot and never moves.
    unsafe { k_sem_give(demo.tick.get()) };
}

/// Waits for the timer's ticks: each one wakes it from the ISR.
unsafe extern "C-unwind" fn ticker(p1: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: `spawn` passed the `Demo` as `p1`.
    let demo = unsafe { Demo::from_arg(p1) };
    for _ in 0..TICKS_TO_WAIT {
        // SAFETY: the semaphore was initialised at boot and never moves; thread context.
        let in_isr = unsafe {
            k_sem_take(demo.tick.get(), K_FOREVER);
            k_is_in_isr()
        };
        let n = demo.expiries.load(Relaxed);
        say!("woken by expiry {n}, in thread context: k_is_in_isr() = {in_isr}");
    }
}

// ----------------------------------------------------- section 3: priority inheritance

/// Owns the bus for a long record, and is raised to control's priority meanwhile.
unsafe extern "C-unwind" fn logger(p1: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: `spawn` passed the `Demo` as `p1`.
    let demo = unsafe { Demo::from_arg(p1) };
    let bus = demo.bus.get();
    // SAFETY: the mutex was initialised at boot and never moves; thread context.
    unsafe { k_mutex_lock(bus, K_FOREVER) };
    say!("locked the bus at prio {}; writing a {} ms record", my_prio(), RECORD_US / 1000);
    // SAFETY: thread context. Interrupts (and wake-ups) still happen during this busy wait.
    unsafe { k_busy_wait(RECORD_US) };
    let prio = my_prio();
    let why = if prio < LOGGER_PRIO { "inherited from a waiter" } else { "my own" };
    say!("record written at prio {prio} ({why}); k_mutex_unlock");
    // SAFETY: as above; this thread owns the mutex.
    unsafe { k_mutex_unlock(bus) };
    say!("back from k_mutex_unlock, at prio {} again", my_prio());
}

/// The urgent thread: needs the bus while the logger has it.
unsafe extern "C-unwind" fn control(p1: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: `spawn` passed the `Demo` as `p1`.
    let demo = unsafe { Demo::from_arg(p1) };
    let bus = demo.bus.get();
    // SAFETY: thread context.
    unsafe { k_msleep(CONTROL_DELAY_MS) };
    // SAFETY: `owner` is a field of the initialised mutex that applications may read; the
    // owner, if any, is a live thread of this program (whose name lives in its `k_thread`).
    let (owner, owner_prio) = unsafe {
        let owner = (*bus).owner;
        assert!(!owner.is_null(), "the logger holds the bus by now");
        (CStr::from_ptr(k_thread_name_get(owner)), k_thread_priority_get(owner))
    };
    let owner = owner.to_str().unwrap_or("?");
    say!("needs the bus, held by {owner} at prio {owner_prio}: k_mutex_lock waits");
    let asked = Time::now();
    // SAFETY: the mutex was initialised at boot and never moves; thread context.
    unsafe { k_mutex_lock(bus, K_FOREVER) };
    say!("got the bus after {}; k_mutex_unlock", Time::now().since(asked));
    // SAFETY: as above; this thread owns the mutex.
    unsafe { k_mutex_unlock(bus) };
}

/// A middle-priority thread that wakes while the logger holds the bus.
unsafe extern "C-unwind" fn stats(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // Sleep until an absolute tick, so the thread knows exactly when it became ready.
    // SAFETY: reading the uptime is always valid.
    let due = unsafe { k_uptime_ticks() } + k_ms_to_ticks_ceil64(STATS_DELAY_MS) as k_ticks_t;
    // SAFETY: thread context.
    unsafe { k_sleep(K_TIMEOUT_ABS_TICKS(due)) };
    say!(
        "ready since {}, ran only now: the bus owner outranked my prio {}",
        Time::of_tick(due),
        my_prio()
    );
}

// ------------------------------------------------------------ the idle-time worker

/// Does 120 ms of work in one-tick slices; it only ever gets the CPU when no other thread
/// wants it, and is preempted as soon as one does.
unsafe extern "C-unwind" fn background(_: *mut c_void, _: *mut c_void, _: *mut c_void) {
    let start = Time::now();
    say!("starts a {} ms job: every other thread is waiting", BACKGROUND_JOB_US / 1000);
    // k_busy_wait measures elapsed time, not work done: a wait during which the thread is
    // preempted ends early. Short slices keep that error small (zero here: the other threads
    // wake on tick boundaries, which are slice boundaries too).
    for _ in 0..BACKGROUND_JOB_US / BACKGROUND_SLICE_US {
        // SAFETY: thread context. Simulated work: virtual time advances, and a thread that
        // becomes ready meanwhile preempts this one at once.
        unsafe { k_busy_wait(BACKGROUND_SLICE_US) };
    }
    let took = Time::now().since(start);
    let work = Time(BACKGROUND_JOB_US as u64);
    let others = took.since(work);
    say!("done: {} ms of work took {took}; {others} went to others", BACKGROUND_JOB_US / 1000);
}
