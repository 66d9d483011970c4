//! `zephyr::sys::sync` (semaphores, raw mutexes and condition variables) and `zephyr::sync`
//! (the data-owning mutex and its condition variable). Board: 10 kHz. Every test has its own
//! statics: each test is its own simulation, and statics are shared by the whole process.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use zephyr::sync::{Condvar, Mutex, TryLockError};
use zephyr::sys::sync as raw;
use zephyr::sys::sync::{Semaphore, K_SEM_MAX_LIMIT};
use zephyr::thread::{yield_now, Thread, ThreadStack};
use zephyr::time::{sleep, uptime_ticks, Duration, Forever, Instant, NoWait};
use zephyr::Error;

static GTC_SEM: Semaphore = Semaphore::new(0, 3);

/// Gives beyond the limit are dropped; takes count down; an empty take with `NoWait` is
/// `EBUSY`; `reset` empties it.
#[test]
fn semaphore_give_take_count() {
    let (r, _) = run(0, || {
        for _ in 0..5 {
            GTC_SEM.give();
        }
        let full = GTC_SEM.count();
        let takes: Vec<_> = (0..4).map(|_| GTC_SEM.take(NoWait)).collect();
        GTC_SEM.give();
        GTC_SEM.give();
        let before_reset = GTC_SEM.count();
        GTC_SEM.reset();
        (full, takes, before_reset, GTC_SEM.count(), GTC_SEM.take(Duration::ZERO))
    });
    assert_eq!(r, (3, vec![Ok(()), Ok(()), Ok(()), Err(Error::EBUSY)], 2, 0, Err(Error::EBUSY)));
}

static TIMEOUT_SEM: Semaphore = Semaphore::new(0, 1);
static TIMEOUT_GIVER: Thread = Thread::new();
static TIMEOUT_GIVER_STACK: ThreadStack<1024> = ThreadStack::new();

/// A take of N ticks that nobody gives fails with `EAGAIN` N + 1 ticks later (a relative
/// timeout counts from the partly elapsed current tick); an absolute one at exactly its tick;
/// a give ends the wait at the tick of the give.
#[test]
fn semaphore_take_times_out_at_the_exact_tick() {
    let (_, log) = run(5, || {
        let r = TIMEOUT_SEM.take(Duration::from_ticks(100));
        log!("relative take: {r:?}");
        let r = TIMEOUT_SEM.take(Instant::from_ticks(250));
        log!("absolute take: {r:?}");
        TIMEOUT_GIVER
            .spawn(&TIMEOUT_GIVER_STACK, 6, || {
                sleep(Instant::from_ticks(300));
                log!("give");
                TIMEOUT_SEM.give();
            })
            .unwrap();
        let r = TIMEOUT_SEM.take(Duration::from_millis(100));
        log!("take with a giver: {r:?}");
    });
    assert_eq!(
        log,
        [
            "T=101 relative take: Err(Error(EAGAIN))",
            "T=250 absolute take: Err(Error(EAGAIN))",
            "T=300 give",
            "T=300 take with a giver: Ok(())",
        ]
    );
}

/// `try_new` checks what `k_sem_init` checks, in Rust, since the object is built `const`.
#[test]
fn semaphore_try_new_validates() {
    assert_eq!(Semaphore::try_new(0, 0).err(), Some(Error::EINVAL));
    assert_eq!(Semaphore::try_new(2, 1).err(), Some(Error::EINVAL));
    assert!(Semaphore::try_new(1, 1).is_ok());
    assert!(Semaphore::try_new(0, K_SEM_MAX_LIMIT).is_ok());
    // A semaphore built at run time works where it stays.
    let (r, _) = run(0, || {
        let s = Semaphore::try_new(2, 5).unwrap();
        s.give();
        (s.count(), s.take(NoWait), s.count())
    });
    assert_eq!(r, (3, Ok(()), 2));
}

/// A kernel object that moves after its first use is a panic naming it, not a corrupt kernel.
#[test]
fn semaphore_moved_after_use_panics() {
    let msg = run_panics(|| {
        let s = Semaphore::try_new(0, 1).unwrap();
        s.give();
        let moved = Box::new(s);
        moved.give();
    });
    assert!(msg.contains("k_sem moved in memory after its first use"), "{msg}");
}

static RESET_SEM: Semaphore = Semaphore::new(0, 1);
static RESET_WAITER: Thread = Thread::new();
static RESET_WAITER_STACK: ThreadStack<1024> = ThreadStack::new();

/// `reset` makes a waiter's take fail with `EAGAIN`.
#[test]
fn semaphore_reset_cancels_waiters() {
    let (_, log) = run(5, || {
        RESET_WAITER
            .spawn(&RESET_WAITER_STACK, 4, || {
                let r = RESET_SEM.take(Forever);
                log!("waiter: {r:?}");
            })
            .unwrap();
        sleep(Instant::from_ticks(20));
        RESET_SEM.reset();
        log!("main after reset");
    });
    assert_eq!(log, ["T=20 waiter: Err(Error(EAGAIN))", "T=20 main after reset"]);
}

static ISR_SEM: Semaphore = Semaphore::new(0, 1);

/// `give` works from an interrupt handler; a blocking `take` there panics naming the call
/// (a `NoWait` one is allowed).
#[test]
fn semaphore_from_isr() {
    let (r, _) = run(0, || {
        zephyr_sim::irq::raise_after_us(1_000, || {
            assert_eq!(ISR_SEM.take(NoWait), Err(Error::EBUSY));
            ISR_SEM.give();
        });
        let r = ISR_SEM.take(Forever);
        (r, uptime_ticks())
    });
    assert_eq!(r, (Ok(()), 10));

    let msg = run_panics(|| {
        static ISR_SEM_2: Semaphore = Semaphore::new(0, 1);
        zephyr_sim::irq::raise_after_us(100, || {
            let _ = ISR_SEM_2.take(Duration::from_ticks(5));
        });
        sleep(Duration::from_ticks(10));
    });
    assert!(msg.contains("Semaphore::take: blocking call from an interrupt handler"), "{msg}");
}

static RAW_MUTEX: raw::Mutex = raw::Mutex::new();
static RAW_MUTEX_OTHER: Thread = Thread::new();
static RAW_MUTEX_OTHER_STACK: ThreadStack<1024> = ThreadStack::new();

/// The raw kernel mutex: recursive for its owner, `EPERM` for another thread's unlock, `EBUSY`
/// for another thread's `NoWait` lock, `EINVAL` for an unlock too many.
#[test]
fn raw_mutex_recursion_and_eperm() {
    let (r, log) = run(5, || {
        let locks: Vec<_> = (0..3).map(|_| RAW_MUTEX.lock(NoWait)).collect();
        RAW_MUTEX_OTHER
            .spawn(&RAW_MUTEX_OTHER_STACK, 4, || {
                log!("other unlock: {:?}", RAW_MUTEX.unlock());
                log!("other lock: {:?}", RAW_MUTEX.lock(NoWait));
                log!("other timed lock: {:?}", RAW_MUTEX.lock(Duration::from_ticks(10)));
                log!("other unlocks: {:?}", RAW_MUTEX.unlock());
            })
            .unwrap();
        sleep(Instant::from_ticks(5));
        // The last unlock hands the mutex to the waiting (more urgent) thread at once.
        let unlocks: Vec<_> = (0..3).map(|_| RAW_MUTEX.unlock()).collect();
        log!("main unlocked");
        (locks, unlocks, RAW_MUTEX.unlock())
    });
    assert_eq!(r, (vec![Ok(()); 3], vec![Ok(()); 3], Err(Error::EINVAL)));
    assert_eq!(
        log,
        [
            "T=0 other unlock: Err(Error(EPERM))",
            "T=0 other lock: Err(Error(EBUSY))",
            "T=5 other timed lock: Ok(())",
            "T=5 other unlocks: Ok(())",
            "T=5 main unlocked",
        ]
    );
}

static COUNTER: Mutex<u32> = Mutex::new(0);
static COUNTER_THREADS: [Thread; 3] = [Thread::new(), Thread::new(), Thread::new()];
static COUNTER_STACKS: [ThreadStack<1024>; 3] =
    [ThreadStack::new(), ThreadStack::new(), ThreadStack::new()];

/// Three threads increment a shared counter, yielding to each other *inside* the critical
/// section: without the mutex, updates would be lost.
#[test]
fn sync_mutex_guards_data_across_threads() {
    let (r, _) = run(5, || {
        for (thread, stack) in COUNTER_THREADS.iter().zip(&COUNTER_STACKS) {
            thread
                .spawn(stack, 6, || {
                    for _ in 0..100 {
                        let mut n = COUNTER.lock().unwrap();
                        let seen = *n;
                        yield_now(); // the others run, and block on the mutex
                        *n = seen + 1;
                    }
                })
                .unwrap();
        }
        for thread in &COUNTER_THREADS {
            thread.join(Forever).unwrap();
        }
        let n = *COUNTER.lock().unwrap();
        n
    });
    assert_eq!(r, 300);
}

static RELOCK: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static RELOCK_OTHER: Thread = Thread::new();
static RELOCK_OTHER_STACK: ThreadStack<1024> = ThreadStack::new();

/// The kernel mutex is recursive, but a second guard would alias the data: re-locking by the
/// owner is refused. Another thread waits, or times out.
#[test]
fn sync_mutex_relock_is_refused() {
    let (r, log) = run(5, || {
        let mut guard = RELOCK.lock().unwrap();
        guard.push(1);
        let try_again = RELOCK.try_lock().err();
        let timed_again = RELOCK.lock_timeout(Duration::from_ticks(5)).err();
        RELOCK_OTHER
            .spawn(&RELOCK_OTHER_STACK, 4, || {
                log!("other try_lock: {:?}", RELOCK.try_lock().err());
                log!(
                    "other lock_timeout: {:?}",
                    RELOCK.lock_timeout(Duration::from_ticks(10)).err()
                );
                let mut g = RELOCK.lock().unwrap();
                g.push(2);
                log!("other locked: {:?}", *g);
            })
            .unwrap();
        sleep(Instant::from_ticks(50));
        drop(guard);
        log!("main unlocked");
        let data = RELOCK.lock().unwrap().clone();
        (try_again, timed_again, data)
    });
    assert_eq!(r, (Some(TryLockError::WouldBlock), Some(Error::EDEADLK), vec![1, 2]));
    assert_eq!(
        log,
        [
            "T=0 other try_lock: Some(WouldBlock)",
            "T=11 other lock_timeout: Some(Error(EAGAIN))",
            "T=50 other locked: [1, 2]",
            "T=50 main unlocked",
        ]
    );
}

#[test]
fn sync_mutex_lock_twice_panics() {
    static TWICE: Mutex<u8> = Mutex::new(0);
    let msg = run_panics(|| {
        let _a = TWICE.lock().unwrap();
        let _b = TWICE.lock().unwrap();
    });
    assert!(msg.contains("Mutex::lock: this thread already holds the lock"), "{msg}");
}

/// A kernel mutex is for threads only.
#[test]
fn sync_mutex_in_isr_panics() {
    static IN_ISR: Mutex<u8> = Mutex::new(0);
    let msg = run_panics(|| {
        zephyr_sim::irq::raise_after_us(100, || {
            let _ = IN_ISR.try_lock();
        });
        sleep(Duration::from_ticks(10));
    });
    assert!(msg.contains("Mutex::lock: not allowed in an interrupt handler"), "{msg}");
}

static MAILBOX: Mutex<Option<u32>> = Mutex::new(None);
static MAILBOX_CHANGED: Condvar = Condvar::new();
static CONSUMER: Thread = Thread::new();
static CONSUMER_STACK: ThreadStack<1024> = ThreadStack::new();
static CONSUMED: AtomicU32 = AtomicU32::new(0);

/// A consumer waits on the condition variable (releasing the mutex) until the producer fills
/// the mailbox and notifies: it runs at the tick of the notification, with the value.
#[test]
fn condvar_handoff() {
    let (_, log) = run(6, || {
        CONSUMER
            .spawn(&CONSUMER_STACK, 5, || {
                let guard = MAILBOX.lock().unwrap();
                log!("consumer waits");
                let mut guard = MAILBOX_CHANGED.wait_while(guard, |m| m.is_none()).unwrap();
                let v = guard.take().unwrap();
                CONSUMED.store(v, Ordering::Relaxed);
                log!("consumer got {v}");
            })
            .unwrap();
        sleep(Duration::from_ticks(49));
        // The consumer is not holding the mutex while it waits.
        *MAILBOX.try_lock().expect("released by the waiting consumer") = Some(42);
        log!("producer notifies");
        MAILBOX_CHANGED.notify_one();
        CONSUMER.join(Forever).unwrap();
        log!("joined");
    });
    assert_eq!(CONSUMED.load(Ordering::Relaxed), 42);
    assert_eq!(
        log,
        ["T=0 consumer waits", "T=50 producer notifies", "T=50 consumer got 42", "T=50 joined"]
    );
}

/// `wait_timeout` gives the guard back, relocked, with `timed_out` set.
#[test]
fn condvar_wait_timeout() {
    static DATA: Mutex<u32> = Mutex::new(7);
    static CV: Condvar = Condvar::new();
    let (r, _) = run(0, || {
        let guard = DATA.lock().unwrap();
        let (mut guard, res) = CV.wait_timeout(guard, Duration::from_ticks(20)).unwrap();
        *guard += 1;
        let t = uptime_ticks();
        let relocked = DATA.try_lock().is_err();
        drop(guard);
        (res.timed_out(), t, relocked, *DATA.lock().unwrap())
    });
    assert_eq!(r, (true, 21, true, 8));
}

static RAW_CV_MUTEX: raw::Mutex = raw::Mutex::new();
static RAW_CV: raw::Condvar = raw::Condvar::new();
static RAW_CV_WAITERS: [Thread; 2] = [Thread::new(), Thread::new()];
static RAW_CV_STACKS: [ThreadStack<1024>; 2] = [ThreadStack::new(), ThreadStack::new()];

/// The raw condition variable with the raw mutex: a timed wait, then `notify_all` waking both
/// waiters, which relock the mutex one after the other.
#[test]
fn raw_condvar_timeout_and_notify_all() {
    let (r, log) = run(5, || {
        RAW_CV_MUTEX.lock(Forever).unwrap();
        let timed = RAW_CV.wait_timeout(&RAW_CV_MUTEX, Duration::from_ticks(9));
        let t = uptime_ticks();
        RAW_CV_MUTEX.unlock().unwrap();
        for (i, (th, st)) in RAW_CV_WAITERS.iter().zip(&RAW_CV_STACKS).enumerate() {
            th.spawn(st, 4, move || {
                RAW_CV_MUTEX.lock(Forever).unwrap();
                RAW_CV.wait(&RAW_CV_MUTEX);
                log!("waiter {i} woke");
                RAW_CV_MUTEX.unlock().unwrap();
            })
            .unwrap();
        }
        sleep(Instant::from_ticks(30));
        RAW_CV.notify_all();
        (timed, t)
    });
    assert_eq!(r, (Err(Error::EAGAIN), 10));
    assert_eq!(log, ["T=30 waiter 0 woke", "T=30 waiter 1 woke"]);
}

/// A static kernel object used by two simulations running at the same time (tests on two host
/// threads) is a clear error naming the object, not a silent race: the second simulation's
/// first use panics. (One simulation after another adopts it, as a reboot would.)
#[test]
fn a_static_semaphore_in_two_simulations_at_once_is_an_error() {
    use std::sync::mpsc;
    use std::time::Duration as Wall;
    static SHARED: zephyr::sys::sync::Semaphore = zephyr::sys::sync::Semaphore::new(0, 1);

    let (first_used_tx, first_used) = mpsc::channel();
    let (second_done, second_done_rx) = mpsc::channel::<()>();
    let first = std::thread::spawn(move || {
        zephyr_sim::Sim::new()
            .run(move || {
                SHARED.give();
                first_used_tx.send(()).unwrap();
                // Stay alive until the second simulation has tried (bounded, in case it hangs).
                let _ = second_done_rx.recv_timeout(Wall::from_secs(30));
            })
            .map(|_| ())
    });
    first_used.recv().unwrap();
    let second = zephyr_sim::Sim::new().run(|| SHARED.give());
    second_done.send(()).unwrap();
    first.join().unwrap().expect("the first simulation is unaffected");
    let err = second.expect_err("the second simulation must fail").to_string();
    assert!(err.contains("k_sem_give") && err.contains("in use by another simulation"), "{err}");

    // Once the first has ended, a new simulation may use it (a reboot).
    zephyr_sim::Sim::new().run(|| SHARED.give()).expect("reuse after the first ended");
}
