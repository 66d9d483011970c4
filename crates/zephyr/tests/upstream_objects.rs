//! Kernel objects and threads in upstream zephyr-lang-rust's shape: `kobj_define!` statics with
//! `init_once`, `sys::thread::Thread`, and `#[zephyr::thread]` pools. Board: 10 kHz. Each test
//! has its own statics.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use common::*;
use zephyr::kobj_define;
use zephyr::sync::{Condvar, Mutex};
use zephyr::sys::sync::Semaphore;
use zephyr::thread::{stack_len, ThreadId};
use zephyr::time::{sleep, Duration, Forever, NoWait};
use zephyr::Error;

kobj_define! {
    static ONCE_SEM: StaticSemaphore;
    static ONCE_SEMS: [StaticSemaphore; 2];
    static ONCE_MUTEX: StaticMutex;
    static ONCE_MUTEXES: [StaticMutex; 2];
    static ONCE_CONDVAR: StaticCondvar;
    static ONCE_CONDVARS: [StaticCondvar; 2];
    static ONCE_THREAD: StaticThread;
    static ONCE_THREADS: [StaticThread; 2];
    static ONCE_STACK: ThreadStack<1000>;
    static ONCE_STACKS: [ThreadStack<{ 512 + 8 }>; 2];
}

/// Every `init_once` gives its object the first time in a boot and `None` after; a new
/// simulation (a new boot) gives them again.
#[test]
fn init_once_gives_each_object_once_per_boot() {
    fn boot() -> Vec<bool> {
        run(5, || {
            let mut firsts = vec![
                ONCE_SEM.init_once((0, 1)).is_some(),
                ONCE_SEMS[1].init_once((2, 3)).is_some(),
                ONCE_MUTEX.init_once(()).is_some(),
                ONCE_MUTEXES[0].init_once(()).is_some(),
                ONCE_CONDVAR.init_once(()).is_some(),
                ONCE_CONDVARS[1].init_once(()).is_some(),
                ONCE_THREAD.init_once(ONCE_STACK.init_once(()).unwrap()).is_some(),
                ONCE_THREADS[0].init_once(ONCE_STACKS[0].init_once(()).unwrap()).is_some(),
            ];
            let stack = ONCE_STACKS[1].init_once(()).unwrap();
            firsts.extend([
                ONCE_SEM.init_once((0, 1)).is_none(),
                ONCE_SEMS[1].init_once((2, 3)).is_none(),
                ONCE_SEMS[0].init_once((2, 3)).is_some(),
                ONCE_MUTEX.init_once(()).is_none(),
                ONCE_MUTEXES[0].init_once(()).is_none(),
                ONCE_CONDVAR.init_once(()).is_none(),
                ONCE_CONDVARS[1].init_once(()).is_none(),
                ONCE_STACK.init_once(()).is_none(),
                ONCE_STACKS[0].init_once(()).is_none(),
                ONCE_THREAD.init_once(stack).is_none(),
            ]);
            firsts
        })
        .0
    }
    assert_eq!(boot(), [true; 18]);
    assert_eq!(boot(), [true; 18], "a second boot initialises them again");
}

kobj_define! {
    static SIZED: ThreadStack<1000>;
}

/// Stacks are rounded up as upstream's `stack_len` does.
#[test]
fn stack_sizes_are_rounded_up() {
    let (size, _) = run(5, || SIZED.init_once(()).unwrap().size());
    assert_eq!(size, stack_len(1000));
    assert_eq!(stack_len(1000), 1008);
    assert_eq!(stack_len(1024), 1024);
}

kobj_define! {
    static WORKER: StaticThread;
    static WORKER_STACK: ThreadStack<2048>;
}

/// A `kobj_define!` thread starts inside `spawn` when more urgent than the caller, at the
/// priority and with the name set, running the closure with what it captured.
#[test]
fn a_kobj_thread_runs_at_its_priority_with_its_name() {
    let (r, log) = run(6, || {
        let mut thread = WORKER.init_once(WORKER_STACK.init_once(()).unwrap()).unwrap();
        thread.set_priority(5);
        thread.set_options(0);
        thread.set_name(c"kworker");
        let captured = 41;
        thread.spawn(move || {
            let me = ThreadId::current();
            log!("{} at {} has {}", me.name(), me.priority(), captured + 1);
            sleep(Duration::from_ticks(3));
            log!("worker ends");
        });
        log!("spawn returned");
        sleep(Duration::from_ticks(10));
        ThreadId::current().priority()
    });
    assert_eq!(r, 6);
    assert_eq!(log, ["T=0 kworker at 5 has 42", "T=0 spawn returned", "T=4 worker ends"]);
}

kobj_define! {
    static UNNAMED: StaticThread;
    static UNNAMED_STACK: ThreadStack<1024>;
}

/// Without `set_priority`, priority 0; without `set_name`, no name. A less urgent thread waits
/// for the caller to block.
#[test]
fn a_kobj_thread_defaults_to_priority_0_and_no_name() {
    let (_, log) = run(-1, || {
        let thread = UNNAMED.init_once(UNNAMED_STACK.init_once(()).unwrap()).unwrap();
        thread.spawn(|| {
            let me = ThreadId::current();
            log!("'{}' at {}", me.name(), me.priority());
        });
        log!("main blocks");
        sleep(Duration::from_ticks(1));
    });
    assert_eq!(log, ["T=0 main blocks", "T=0 '' at 0"]);
}

kobj_define! {
    static BIG: StaticThread;
    static BIG_STACK: ThreadStack<1024>;
}

/// A closure bigger than a `Thread`'s inline capacity (64 bytes) is boxed: it runs all the same.
/// (With `no-kio`, no allocator is assumed and such a closure does not compile.)
#[cfg(not(feature = "no-kio"))]
#[test]
fn a_big_closure_is_boxed() {
    let (sum, _) = run(6, || {
        let data = [3u64; 32]; // 256 bytes
        let total = Arc::new(AtomicU32::new(0));
        let out = total.clone();
        let mut thread = BIG.init_once(BIG_STACK.init_once(()).unwrap()).unwrap();
        thread.set_priority(2);
        thread.spawn(move || {
            out.store(data.iter().sum::<u64>() as u32, Ordering::Relaxed);
        });
        total.load(Ordering::Relaxed)
    });
    assert_eq!(sum, 96);
}

kobj_define! {
    static BAD_PRIO: StaticThread;
    static BAD_PRIO_STACK: ThreadStack<1024>;
}

/// An invalid priority is a panic naming it (upstream hands it to the kernel, which asserts).
#[test]
fn an_invalid_priority_panics() {
    let msg = run_panics(|| {
        let mut thread = BAD_PRIO.init_once(BAD_PRIO_STACK.init_once(()).unwrap()).unwrap();
        thread.set_priority(99);
        thread.spawn(|| {});
    });
    assert!(msg.contains("Thread::spawn: invalid priority 99 (valid: -16 to 14)"), "{msg}");
}

kobj_define! {
    static FORKS: [StaticSemaphore; 2];
    static PHIL: StaticThread;
    static PHIL_STACK: ThreadStack<2048>;
}

/// Semaphores from `kobj_define!` move into place before their first use (here a `Vec` in an
/// `Arc`, as upstream's philosophers sample keeps them) and synchronise threads.
#[test]
fn kobj_semaphores_work_across_threads() {
    let (r, log) = run(5, || {
        let forks: Vec<Semaphore> = FORKS.iter().map(|s| s.init_once((0, 1)).unwrap()).collect();
        let forks = Arc::new(forks);
        let theirs = forks.clone();
        let mut thread = PHIL.init_once(PHIL_STACK.init_once(()).unwrap()).unwrap();
        thread.set_priority(4);
        thread.spawn(move || {
            theirs[0].take(Forever).unwrap();
            log!("got fork 0");
            theirs[1].give();
        });
        sleep(Duration::from_ticks(7));
        forks[0].give();
        forks[1].take(Forever).unwrap();
        log!("main got fork 1");
        (forks[0].count(), forks[1].take(NoWait))
    });
    assert_eq!(r, (0, Err(Error::EBUSY)));
    assert_eq!(log, ["T=8 got fork 0", "T=8 main got fork 1"]);
}

/// A semaphore moved after its first use is a panic naming the move, as for any semaphore.
#[test]
fn a_kobj_semaphore_moved_after_use_panics() {
    kobj_define! {
        static MOVED: StaticSemaphore;
    }
    let msg = run_panics(|| {
        let sem = MOVED.init_once((1, 1)).unwrap();
        sem.give();
        let moved = Box::new(sem);
        moved.give();
    });
    assert!(msg.contains("moved in memory after its first use"), "{msg}");
}

/// Invalid semaphore arguments are a panic naming them.
#[test]
fn invalid_semaphore_arguments_panic() {
    kobj_define! {
        static BAD: StaticSemaphore;
    }
    let msg = run_panics(|| {
        let _ = BAD.init_once((2, 1));
    });
    assert!(msg.contains("StaticSemaphore::init_once: invalid (2, 1)"), "{msg}");
}

kobj_define! {
    static STATS_LOCK: StaticMutex;
    static STATS_CHANGED: StaticCondvar;
    static COUNTER: StaticThread;
    static COUNTER_STACK: ThreadStack<2048>;
}

/// Mutexes and condition variables from `kobj_define!` back the data-owning `sync` types
/// (`Mutex::new_from`, `Condvar::new_from`), as upstream's samples build them.
#[test]
fn kobj_mutex_and_condvar_back_sync_types() {
    let (r, _) = run(5, || {
        let shared = Arc::new((
            Mutex::new_from(0u32, STATS_LOCK.init_once(()).unwrap()),
            Condvar::new_from(STATS_CHANGED.init_once(()).unwrap()),
        ));
        let theirs = shared.clone();
        let mut thread = COUNTER.init_once(COUNTER_STACK.init_once(()).unwrap()).unwrap();
        thread.set_priority(6);
        thread.spawn(move || {
            for _ in 0..3 {
                sleep(Duration::from_ticks(2));
                *theirs.0.lock().unwrap() += 1;
                theirs.1.notify_all();
            }
        });
        let (lock, changed) = &*shared;
        let guard = changed.wait_while(lock.lock().unwrap(), |n| *n < 3).unwrap();
        (*guard, zephyr::time::uptime_ticks())
    });
    assert_eq!(r, (3, 9));
}

// `#[zephyr::thread]` pools.

static REACHED: AtomicU32 = AtomicU32::new(0);

/// Takes every kind of argument: a value, a reference to a static, a shared value.
#[zephyr::thread(stack_size = 2048, pool_size = 2)]
fn reporter(n: usize, counter: &'static AtomicU32, mut words: Arc<Vec<&'static str>>) {
    let me = ThreadId::current();
    Arc::make_mut(&mut words).push("more");
    counter.fetch_add(n as u32, Ordering::Relaxed);
    log!("{} #{n} at {}: {:?}", me.name(), me.priority(), words);
    sleep(Duration::from_ticks(5));
}

/// Calling the function creates a thread (not started) named after it at priority 0, with the
/// arguments; `start` runs it; `join` waits for it. A pool slot whose thread ended serves the
/// next call.
#[test]
fn thread_pool_delivers_arguments_and_reuses_slots() {
    let (r, log) = run(5, || {
        let words = Arc::new(vec!["hi"]);
        let first = reporter(1, &REACHED, words.clone());
        let second = reporter(2, &REACHED, words.clone());
        second.set_priority(3);
        log!("created");
        let first = first.start(); // priority 0 preempts main (5)
        let second = second.start();
        log!("started");
        first.join();
        second.join();
        log!("joined");
        // Both slots are free again: two more calls succeed.
        let third = reporter(3, &REACHED, words.clone()).start();
        let fourth = reporter(4, &REACHED, words.clone()).start();
        third.join();
        fourth.join();
        (REACHED.load(Ordering::Relaxed), Arc::strong_count(&words))
    });
    assert_eq!(r, (10, 1), "every argument was delivered and dropped");
    assert_eq!(
        log,
        [
            "T=0 created",
            "T=0 reporter #1 at 0: [\"hi\", \"more\"]",
            "T=0 reporter #2 at 3: [\"hi\", \"more\"]",
            "T=0 started",
            "T=6 joined",
            "T=6 reporter #3 at 0: [\"hi\", \"more\"]",
            "T=6 reporter #4 at 0: [\"hi\", \"more\"]",
        ]
    );
}

#[zephyr::thread(pool_size = 1)]
fn sleeper(ticks: i64) {
    sleep(Duration::from_ticks(ticks as u64));
}

/// A call while every thread of the pool is alive is a panic naming the function and the pool.
#[test]
fn an_exhausted_pool_panics() {
    let msg = run_panics(|| {
        let _running = sleeper(10).start();
        let _ = sleeper(10);
    });
    assert!(
        msg.contains(
            "sleeper: all 1 threads of its #[zephyr::thread] pool are in use (pool_size = 1)"
        ),
        "{msg}"
    );
}

#[zephyr::thread(stack_size = 1024)]
fn napper(ticks: u64) {
    sleep(Duration::from_ticks(ticks));
}

/// `join_timeout` gives up with `EAGAIN` (`EBUSY` with `NoWait`); a handle whose slot has since
/// served another call joins at once, without waiting for the newer thread.
#[test]
fn join_timeout_and_stale_handles() {
    let (r, log) = run(5, || {
        let running = napper(10).start();
        let no_wait = running.join_timeout(NoWait);
        let short = running.join_timeout(Duration::from_ticks(3));
        running.join();
        log!("joined the first");
        let newer = napper(20).start();
        running.join(); // the first thread's handle: at once
        log!("stale handle joined");
        newer.join();
        log!("joined the second");
        (no_wait, short)
    });
    assert_eq!(r, (Err(Error::EBUSY), Err(Error::EAGAIN)));
    assert_eq!(
        log,
        ["T=11 joined the first", "T=11 stale handle joined", "T=32 joined the second"]
    );
}

#[zephyr::thread]
fn never_started(arg: Arc<()>) {
    drop(arg);
    panic!("a dropped ReadyThread never runs");
}

/// A `ReadyThread` dropped without `start` never runs: its thread is aborted, its arguments
/// dropped, and its slot serves the next call.
#[test]
fn a_dropped_ready_thread_frees_its_slot() {
    let (r, _) = run(5, || {
        let token = Arc::new(());
        drop(never_started(token.clone()));
        let after_drop = Arc::strong_count(&token);
        drop(never_started(token.clone())); // the pool's one slot is free again
        sleep(Duration::from_ticks(2));
        (after_drop, Arc::strong_count(&token))
    });
    assert_eq!(r, (1, 1));
}

#[zephyr::thread]
fn fast(n: u32) {
    REACHED_FAST.fetch_add(n, Ordering::Relaxed);
}

static REACHED_FAST: AtomicU32 = AtomicU32::new(0);

/// A pool serves each simulation in turn (a new boot finds its threads unused), and
/// `ReadyThread::set_priority` rejects invalid priorities.
#[test]
fn a_pool_serves_each_simulation_and_checks_priorities() {
    for _ in 0..2 {
        let (id_ok, _) = run(5, || {
            let ready = fast(1);
            let id = ready.id();
            let running = ready.start();
            running.join();
            running.id() == id
        });
        assert!(id_ok);
    }
    assert_eq!(REACHED_FAST.load(Ordering::Relaxed), 2);
    let msg = run_panics(|| fast(1).set_priority(-17));
    assert!(msg.contains("ReadyThread::set_priority: invalid priority -17"), "{msg}");
}
