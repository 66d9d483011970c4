//! Upstream zephyr-lang-rust's names on the simulator (issue 10): `time::{SYS_FREQUENCY, now}`,
//! the fugit-style constructors and their rounding, `sys::uptime_get`, `Semaphore::count_get`,
//! heap timers and timers with user data (`Callback`, `CallbackTimer`), `WorkQueueBuilder`,
//! and kio's `spawn(future, &queue, name)` / `spawn_local(future, name)`.
#![cfg(not(feature = "no-kio"))]

mod common;

use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use zephyr::kio::{self, spawn, spawn_local};
use zephyr::sys::sync::Semaphore;
use zephyr::sys::uptime_get;
use zephyr::thread::{ThreadId, ThreadStack};
use zephyr::time::{self, sleep, Duration, Instant, NoWait, Tick, SYS_FREQUENCY};
use zephyr::timer::{Callback, CallbackTimer, StaticTimer, StoppedTimer};
use zephyr::work::{StaticWorkQueue, WorkQueue, WorkQueueBuilder};
use zephyr::Error;

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// A stack handle, as `kobj_define!`'s `init_once(())` gives (a leaked stack per test).
fn stack() -> zephyr::sys::thread::ThreadStack {
    leak(ThreadStack::<4096>::new()).init_once(()).expect("a fresh stack")
}

/// `SYS_FREQUENCY` is the configured rate (`CONFIG_SYS_CLOCK_TICKS_PER_SEC`), which the
/// default board runs at; `now()` and `uptime_get()` follow virtual time, the latter in whole
/// milliseconds rounded down (`k_uptime_get`).
#[test]
fn sys_frequency_now_and_uptime_get() {
    let (r, _) = run(0, || {
        let t0 = time::now();
        sleep(Instant::from_ticks(125));
        let t1 = time::now();
        (time::ticks_per_sec(), t0.ticks(), t1.ticks(), uptime_get())
    });
    assert_eq!(SYS_FREQUENCY, zephyr_sys::CONFIG_SYS_CLOCK_TICKS_PER_SEC);
    assert_eq!(r, (SYS_FREQUENCY, 0, 125, 12));
}

/// At 100 Hz (10 ms a tick) `uptime_get` counts 10 ms a tick.
#[test]
fn uptime_get_at_100_hz() {
    let (r, _) = run_hz(100, 0, || {
        sleep(Instant::from_ticks(3));
        (uptime_get(), time::now().ticks())
    });
    assert_eq!(r, (30, 3));
}

/// fugit's `*_at_least` constructors round up to whole ticks; here `millis` does too (fugit's
/// rounds down: the migration difference); `to_*` readers round down.
#[test]
fn at_least_constructors_round_up() {
    let at = |hz| {
        run_hz(hz, 0, || {
            [
                Duration::millis_at_least(5).ticks(),
                Duration::millis_at_least(10).ticks(),
                Duration::millis_at_least(15).ticks(),
                Duration::micros_at_least(1).ticks(),
                Duration::nanos_at_least(1).ticks(),
                Duration::secs_at_least(1).ticks(),
                Duration::minutes_at_least(1).ticks(),
                Duration::hours(1).ticks(),
                Duration::millis(5).ticks(),
                Duration::millis_at_least(25 as Tick).to_millis(),
                Duration::from_ticks(150_000).to_minutes(),
                Instant::from_ticks(7).duration_since_epoch().ticks(),
            ]
        })
        .0
    };
    assert_eq!(at(100), [1, 1, 2, 1, 1, 100, 6_000, 360_000, 1, 30, 25, 7]);
    assert_eq!(at(10_000), [50, 100, 150, 1, 1, 10_000, 600_000, 36_000_000, 50, 25, 0, 7]);
}

/// `count_get` is upstream's name for the semaphore count, as a `usize`.
#[test]
fn semaphore_count_get() {
    let (r, _) = run(0, || {
        let sem = Semaphore::new(0, 3);
        let mut counts = vec![sem.count_get()];
        for _ in 0..4 {
            sem.give();
            counts.push(sem.count_get());
        }
        sem.take(NoWait).unwrap();
        counts.push(sem.count_get());
        counts
    });
    assert_eq!(r, [0, 1, 2, 3, 3, 2]);
}

/// Upstream's timer test shape: heap timers from `StoppedTimer::new()`, a simple one counted and
/// waited for, then stopped and restarted.
#[test]
fn heap_simple_timer() {
    let (r, log) = run(0, || {
        let period = StoppedTimer::new()
            .start_simple(Duration::millis_at_least(10), Duration::millis_at_least(10));
        let total = StoppedTimer::new().start_simple(Duration::millis_at_least(35), NoWait);
        let mut ticks = 0;
        while total.read_count() == 0 {
            ticks += period.read_count_wait();
            log!("period {ticks}");
        }
        let again = total.stop().start_simple(Duration::from_ticks(1), NoWait);
        again.read_count_wait();
        log!("restarted");
        drop(period);
        ticks
    });
    assert_eq!(r, 4);
    assert_eq!(
        log,
        ["T=100 period 1", "T=200 period 2", "T=300 period 3", "T=400 period 4", "T=401 restarted"]
    );
}

/// A test's callback data: counts expiries, checks they run in interrupt context, and shows
/// when it is dropped.
struct Counter {
    expiries: AtomicUsize,
    outside_isr: AtomicBool,
    dropped: &'static AtomicBool,
}

impl Drop for Counter {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::Relaxed);
    }
}

fn count_expiry(counter: &Arc<Counter>) {
    counter.expiries.fetch_add(1, Ordering::Relaxed);
    if !zephyr::thread::is_in_isr() {
        counter.outside_isr.store(true, Ordering::Relaxed);
    }
}

fn counter() -> (Arc<Counter>, &'static AtomicBool) {
    let dropped = leak(AtomicBool::new(false));
    let c = Counter { expiries: AtomicUsize::new(0), outside_isr: AtomicBool::new(false), dropped };
    (Arc::new(c), dropped)
}

/// `start_callback` passes the timer's own data to the callback, in interrupt context, at each
/// expiry; `stop` stops it and drops the data, and the stopped handle starts again.
#[test]
fn callback_timer_passes_its_data_and_stop_drops_it() {
    let (r, _) = run(0, || {
        let (count, dropped) = counter();
        let timer: std::pin::Pin<Box<CallbackTimer<Arc<Counter>>>> = StoppedTimer::new()
            .start_callback(
                Callback { call: count_expiry, data: count.clone() },
                Duration::from_ticks(10),
                Duration::from_ticks(10),
            );
        sleep(Instant::from_ticks(35));
        let seen =
            (count.expiries.load(Ordering::Relaxed), timer.data().expiries.load(Ordering::Relaxed));
        let shared = Arc::strong_count(&count);
        let stopped = timer.stop();
        let after_stop = (Arc::strong_count(&count), dropped.load(Ordering::Relaxed));
        sleep(Instant::from_ticks(100));
        let still = count.expiries.load(Ordering::Relaxed);
        let again = stopped.start_simple(Duration::from_ticks(5), NoWait);
        let restarted = (again.read_count_wait(), time::now().ticks());
        let outside_isr = count.outside_isr.load(Ordering::Relaxed);
        drop(count);
        (seen, shared, after_stop, still, restarted, dropped.load(Ordering::Relaxed), outside_isr)
    });
    assert_eq!(r, ((3, 3), 2, (1, false), 3, (1, 105), true, false));
}

/// Dropping a callback timer stops it before its data goes; on a `StaticTimer` it gives the
/// handle back. Every expiry ran in interrupt context.
#[test]
fn callback_timer_on_a_static_timer_stops_on_drop() {
    static TIMER: StaticTimer = StaticTimer::new();
    let (r, _) = run(0, || {
        let (count, _dropped) = counter();
        let timer = TIMER.take().unwrap().start_callback(
            Callback { call: count_expiry, data: count.clone() },
            Duration::from_ticks(20),
            Duration::from_ticks(20),
        );
        let taken = TIMER.take().is_none();
        sleep(Instant::from_ticks(50));
        drop(timer);
        let at_drop = (count.expiries.load(Ordering::Relaxed), Arc::strong_count(&count));
        sleep(Instant::from_ticks(200));
        let later = count.expiries.load(Ordering::Relaxed);
        let back = TIMER.take().is_some();
        (taken, at_drop, later, back, count.outside_isr.load(Ordering::Relaxed))
    });
    assert_eq!(r, (true, (2, 1), 2, true, false));
}

/// Dropped in an interrupt handler, a callback timer stops but is leaked with its data (the
/// clock interrupt it may have preempted could still be using them): no expiry follows, and
/// the data is never dropped.
#[test]
fn callback_timer_dropped_in_an_isr_stops_and_leaks() {
    let (r, _) = run(0, || {
        let (count, dropped) = counter();
        let timer = StoppedTimer::new().start_callback(
            Callback { call: count_expiry, data: count.clone() },
            Duration::from_ticks(10),
            Duration::from_ticks(10),
        );
        let slot = leak(std::sync::Mutex::new(Some(timer)));
        // 25 ticks at 10 kHz is 2.5 ms.
        zephyr_sim::irq::raise_after_us(2_500, move || drop(slot.lock().unwrap().take()));
        sleep(Instant::from_ticks(100));
        (
            count.expiries.load(Ordering::Relaxed),
            Arc::strong_count(&count),
            dropped.load(Ordering::Relaxed),
        )
    });
    assert_eq!(r, (2, 2, false));
}

/// `start_fn` (a plain `fn()`, no allocation) is this crate's form of a callback; it still
/// runs in interrupt context.
#[test]
fn start_fn_runs_a_plain_function() {
    static FIRED: AtomicUsize = AtomicUsize::new(0);
    fn fire() {
        assert!(zephyr::thread::is_in_isr());
        FIRED.fetch_add(1, Ordering::Relaxed);
    }
    let (r, _) = run(0, || {
        let timer = StoppedTimer::new().start_fn(fire, Duration::from_ticks(10), NoWait);
        sleep(Instant::from_ticks(50));
        drop(timer);
        FIRED.load(Ordering::Relaxed)
    });
    assert_eq!(r, 1);
}

/// What a task on the builder's queue sees of its thread.
fn thread_facts() -> (i32, String, Option<&'static CStr>) {
    let me = ThreadId::current();
    (me.priority(), me.name().as_str().to_owned(), kio::current_task_name())
}

/// `WorkQueueBuilder` starts a queue with its priority and name; `spawn(fut, &queue, name)`
/// runs on that queue's thread (also through an `&Arc<WorkQueue>`, as upstream code passes
/// it), and the task knows its name.
#[test]
fn builder_queue_runs_spawned_tasks_on_its_thread() {
    let (r, _) = run(5, || {
        let worker = Arc::new(
            WorkQueueBuilder::new()
                .set_priority(3)
                .set_name(c"builder-q")
                .set_essential(true)
                .start(stack()),
        );
        let _ = Arc::into_raw(worker.clone()); // upstream's leak idiom still builds
        let q = *worker;
        let handle = spawn(async move { (thread_facts(), q.is_current()) }, &worker, c"facts");
        let name = handle.name();
        let debug = format!("{handle:?}");
        let (facts, on_queue) = handle.join();
        let thread = worker.thread();
        (facts, on_queue, name, debug, thread.priority(), kio::current_task_name())
    });
    assert_eq!(
        r,
        (
            (3, "builder-q".to_owned(), Some(c"facts")),
            true,
            c"facts",
            // Finished already: the more urgent queue ran it inside `spawn`.
            "JoinHandle { name: \"facts\", finished: true }".to_owned(),
            3,
            None
        )
    );
}

/// `spawn_local(fut, name)` names the local task; the spawning task keeps its own name.
#[test]
fn spawn_local_names_its_task() {
    let (r, _) = run(5, || {
        let queue = WorkQueueBuilder::new().set_priority(2).start(stack());
        spawn(
            async {
                let local = spawn_local(async { kio::current_task_name() }, c"inner");
                let inner_name = local.name();
                let inner = local.join_async().await;
                (kio::current_task_name(), inner_name, inner)
            },
            &queue,
            c"outer",
        )
        .join()
    });
    assert_eq!(r, (Some(c"outer"), c"inner", Some(c"inner")));
}

/// Runs tasks A and B on a queue at priority 3 while a plain thread T of priority 3 is ready
/// behind the queue's thread; returns the order they ran in.
fn order_with_no_yield(no_yield: bool) -> Vec<String> {
    run(-1, move || {
        let queue = WorkQueueBuilder::new().set_priority(3).set_no_yield(no_yield).start(stack());
        let a = spawn(async { log!("A") }, &queue, c"A");
        let b = spawn(async { log!("B") }, &queue, c"B");
        zephyr_sim::spawn_thread("T", 3, || log!("T"));
        // Main is cooperative: nothing ran yet. Blocking lets them run.
        a.join();
        b.join();
        sleep(Duration::from_ticks(1));
    })
    .1
}

/// `set_no_yield(false)` (the default) yields between work items, so a thread of the queue's
/// priority runs between two tasks; `set_no_yield(true)` runs the queued items back to back.
#[test]
fn builder_no_yield() {
    assert_eq!(order_with_no_yield(false), ["T=0 A", "T=0 T", "T=0 B"]);
    assert_eq!(order_with_no_yield(true), ["T=0 A", "T=0 B", "T=0 T"]);
}

/// A `StaticWorkQueue` starts once (`EALREADY` after), has no handle before it starts, and
/// refuses a stack that is already used (`EADDRINUSE`); the builder starts one too.
#[test]
fn static_work_queue_starts_once() {
    static QUEUE: StaticWorkQueue = StaticWorkQueue::new();
    static OTHER: StaticWorkQueue = StaticWorkQueue::new();
    static BUILT: StaticWorkQueue = StaticWorkQueue::new();
    static STACK: ThreadStack<4096> = ThreadStack::new();
    let (r, _) = run(5, || {
        let before = QUEUE.queue();
        let q = QUEUE.start(&STACK, 4, c"static-q").unwrap();
        let again = QUEUE.start(leak(ThreadStack::<4096>::new()), 4, c"again").err();
        let used_stack = OTHER.start(&STACK, 4, c"other").err();
        let other_later = OTHER.start(leak(ThreadStack::<4096>::new()), 4, c"other");
        let built = WorkQueueBuilder::new().set_priority(6).start_in(&BUILT, stack()).unwrap();
        let built_prio = kio::block_on(async { ThreadId::current().priority() }, &built, c"b");
        let name = kio::block_on(async { thread_facts().1 }, &q, c"s");
        (before, QUEUE.queue() == Some(q), again, used_stack, other_later.is_ok(), built_prio, name)
    });
    assert_eq!(
        r,
        (
            None,
            true,
            Some(Error::EALREADY),
            Some(Error::EADDRINUSE),
            true,
            6,
            "static-q".to_owned()
        )
    );
}

/// The system queue is a `&'static WorkQueue`, usable with `spawn` as is.
#[test]
fn system_queue_with_spawn() {
    let (r, _) = run(5, || {
        let sys = WorkQueue::system();
        spawn(async { thread_facts().1 }, sys, c"on-system").join()
    });
    assert_eq!(r, "sysworkq");
}
