//! `zephyr::thread`: spawning on static threads and stacks, joining, priorities, names,
//! suspend/resume/wakeup, yielding. Board: 10 kHz. Each test has its own statics.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use common::*;
use zephyr::thread::{
    cooperative, preemptible, yield_now, Thread, ThreadId, ThreadStack, HIGHEST_PRIORITY,
    LOWEST_APPLICATION_PRIORITY,
};
use zephyr::time::{sleep, Duration, Forever, Instant, NoWait};
use zephyr::Error;

static SJ: Thread = Thread::named("child");
static SJ_STACK: ThreadStack<2048> = ThreadStack::new();

/// A more urgent child runs inside `spawn`; `join` returns once it has returned, and again at
/// once afterwards.
#[test]
fn spawn_and_join() {
    let (r, log) = run(6, || {
        let captured = 41;
        let id = SJ
            .spawn(&SJ_STACK, 5, move || {
                log!("child runs with {} as {}", captured + 1, ThreadId::current().name());
                sleep(Duration::from_ticks(9));
                log!("child returns");
            })
            .unwrap();
        log!("spawn returned");
        let joined = SJ.join(Forever);
        log!("joined");
        (joined, SJ.join(NoWait), SJ.id() == Some(id), id.name().as_str().to_owned())
    });
    assert_eq!(r, (Ok(()), Ok(()), true, "child".to_owned()));
    assert_eq!(
        log,
        [
            "T=0 child runs with 42 as child",
            "T=0 spawn returned",
            "T=10 child returns",
            "T=10 joined"
        ]
    );
}

static ORDER: [Thread; 3] = [Thread::new(), Thread::new(), Thread::new()];
static ORDER_STACKS: [ThreadStack<1024>; 3] =
    [ThreadStack::new(), ThreadStack::new(), ThreadStack::new()];

/// Threads less urgent than main wait; once main lowers its priority below theirs they run,
/// inside `set_priority`, most urgent first.
#[test]
fn priority_preemption_order() {
    let (r, log) = run(1, || {
        for (i, prio) in [7, 3, 5].into_iter().enumerate() {
            ORDER[i].spawn(&ORDER_STACKS[i], prio, move || log!("prio {prio} runs")).unwrap();
        }
        log!("main spawned all");
        let me = ThreadId::current();
        me.set_priority(6).unwrap();
        log!("main at 6");
        me.set_priority(9).unwrap();
        log!("main at 9");
        me.priority()
    });
    assert_eq!(r, 9);
    assert_eq!(
        log,
        [
            "T=0 main spawned all",
            "T=0 prio 3 runs",
            "T=0 prio 5 runs",
            "T=0 main at 6",
            "T=0 prio 7 runs",
            "T=0 main at 9",
        ]
    );
}

/// Cooperative threads are not preempted by more urgent preemptible ones... and every
/// cooperative priority is more urgent than a preemptible one.
#[test]
fn cooperative_and_preemptible_priorities() {
    static COOP: Thread = Thread::new();
    static COOP_STACK: ThreadStack<1024> = ThreadStack::new();
    assert_eq!((cooperative(0), cooperative(15), preemptible(3)), (-16, -1, 3));
    assert_eq!((HIGHEST_PRIORITY, LOWEST_APPLICATION_PRIORITY), (-16, 14));
    let (r, log) = run(0, || {
        let id = COOP
            .spawn(&COOP_STACK, cooperative(10), || log!("cooperative child runs first"))
            .unwrap();
        log!("main");
        (id.priority(), ThreadId::current().priority())
    });
    assert_eq!(r, (-6, 0));
    assert_eq!(log, ["T=0 cooperative child runs first", "T=0 main"]);
}

static BUSY: Thread = Thread::new();
static BUSY_STACK: ThreadStack<1024> = ThreadStack::new();
static BUSY_RUNS: AtomicU32 = AtomicU32::new(0);

/// Spawning a `Thread` whose thread is alive (ready, or blocked) is `EBUSY`, also from the
/// thread itself; once it has returned, the `Thread` can be spawned again.
#[test]
fn spawning_a_running_thread_is_ebusy() {
    let (r, log) = run(5, || {
        BUSY.spawn(&BUSY_STACK, 8, || {
            BUSY_RUNS.fetch_add(1, Ordering::Relaxed);
            let again = BUSY.spawn(&BUSY_STACK, 8, || {});
            log!("spawn from itself: {:?}", again.err());
            sleep(Duration::from_ticks(20));
        })
        .unwrap();
        let ready = BUSY.spawn(&BUSY_STACK, 8, || {}).err();
        sleep(Instant::from_ticks(10)); // it runs, and sleeps
        let sleeping = BUSY.spawn(&BUSY_STACK, 8, || {}).err();
        let join_now = BUSY.join(NoWait);
        let join_short = BUSY.join(Duration::from_ticks(2));
        BUSY.join(Forever).unwrap();
        log!("joined");
        BUSY.spawn(&BUSY_STACK, 4, || {
            BUSY_RUNS.fetch_add(10, Ordering::Relaxed);
        })
        .unwrap();
        (ready, sleeping, join_now, join_short, BUSY_RUNS.load(Ordering::Relaxed))
    });
    assert_eq!(
        r,
        (Some(Error::EBUSY), Some(Error::EBUSY), Err(Error::EBUSY), Err(Error::EAGAIN), 11)
    );
    assert_eq!(log, ["T=0 spawn from itself: Some(Error(EBUSY))", "T=21 joined"]);
}

static JOIN_ERR: Thread = Thread::new();
static JOIN_ERR_STACK: ThreadStack<1024> = ThreadStack::new();

/// `join` on a `Thread` never spawned is `EINVAL`; a thread joining itself is `EDEADLK`.
#[test]
fn join_errors() {
    let (r, log) = run(5, || {
        let never = JOIN_ERR.join(Forever);
        JOIN_ERR
            .spawn(&JOIN_ERR_STACK, 4, || log!("self join: {:?}", JOIN_ERR.join(Forever)))
            .unwrap();
        never
    });
    assert_eq!(r, Err(Error::EINVAL));
    assert_eq!(log, ["T=0 self join: Err(Error(EDEADLK))"]);
}

static STACK_A: Thread = Thread::new();
static STACK_B: Thread = Thread::new();
static SHARED_STACK: ThreadStack<1024> = ThreadStack::new();
static OTHER_STACK: ThreadStack<1024> = ThreadStack::new();

/// A stack serves one `Thread`: another `Thread` gets `EADDRINUSE` until the first has moved
/// to another stack, or released it after its thread returned.
#[test]
fn a_stack_serves_one_thread() {
    let (r, _) = run(5, || {
        STACK_A
            .spawn(&SHARED_STACK, 4, || {
                sleep(Duration::from_ticks(5));
            })
            .unwrap();
        let while_alive = STACK_B.spawn(&SHARED_STACK, 4, || {}).err();
        STACK_A.join(Forever).unwrap();
        let after_exit = STACK_B.spawn(&SHARED_STACK, 4, || {}).err();
        STACK_A.spawn(&OTHER_STACK, 4, || {}).unwrap();
        let after_move = STACK_B.spawn(&SHARED_STACK, 4, || {}).map(|_| ());
        STACK_B.join(Forever).unwrap();
        let a_back = STACK_A.spawn(&SHARED_STACK, 4, || {}).err();
        // Releasing needs the thread to have returned.
        STACK_B
            .spawn(&SHARED_STACK, 6, || {
                sleep(Duration::from_ticks(5));
            })
            .unwrap();
        let release_alive = STACK_B.release_stack();
        STACK_B.join(Forever).unwrap();
        let release_dead = STACK_B.release_stack();
        let a_after_release = STACK_A.spawn(&SHARED_STACK, 4, || {}).map(|_| ());
        (while_alive, after_exit, after_move, a_back, release_alive, release_dead, a_after_release)
    });
    assert_eq!(
        r,
        (
            Some(Error::EADDRINUSE),
            Some(Error::EADDRINUSE),
            Ok(()),
            Some(Error::EADDRINUSE),
            Err(Error::EBUSY),
            Ok(()),
            Ok(())
        )
    );
}

/// Out-of-range priorities are errors, not kernel asserts.
#[test]
fn invalid_priorities_are_einval() {
    static BAD: Thread = Thread::new();
    static BAD_STACK: ThreadStack<1024> = ThreadStack::new();
    let (r, _) = run(0, || {
        let me = ThreadId::current();
        (
            BAD.spawn(&BAD_STACK, 15, || {}).err(),
            BAD.spawn(&BAD_STACK, -17, || {}).err(),
            me.set_priority(99),
            me.set_priority(HIGHEST_PRIORITY - 1),
            BAD.id(),
        )
    });
    assert_eq!(
        r,
        (Some(Error::EINVAL), Some(Error::EINVAL), Err(Error::EINVAL), Err(Error::EINVAL), None)
    );
}

/// Names are copied into the kernel, truncated to 31 bytes at a character boundary; a NUL
/// inside is refused.
#[test]
fn thread_names() {
    let (r, _) = run(0, || {
        let me = ThreadId::current();
        me.set_name("renamed").unwrap();
        let renamed = me.name().as_str().to_owned();
        me.set_name(&"x".repeat(40)).unwrap();
        let long = me.name().as_str().len();
        me.set_name(&format!("{}é", "y".repeat(30))).unwrap(); // é would end at byte 32
        let cut = me.name().as_str().to_owned();
        (renamed, long, cut, me.set_name("a\0b"), me.name() == "y".repeat(30).as_str())
    });
    assert_eq!(r, ("renamed".to_owned(), 31, "y".repeat(30), Err(Error::EINVAL), true));
}

static SRW: Thread = Thread::new();
static SRW_STACK: ThreadStack<1024> = ThreadStack::new();

/// `wakeup` ends a sleep early; `suspend` stops a thread until `resume`.
#[test]
fn suspend_resume_wakeup() {
    let (_, log) = run(5, || {
        let id = SRW
            .spawn(&SRW_STACK, 4, || {
                let left = sleep(Duration::from_ticks(1_000));
                log!("woken with {} ticks left", left.ticks());
                ThreadId::current().suspend();
                log!("resumed");
                sleep(Duration::from_ticks(99));
                log!("slept");
            })
            .unwrap();
        sleep(Instant::from_ticks(500));
        id.wakeup();
        sleep(Instant::from_ticks(600));
        log!("resuming");
        id.resume();
        sleep(Instant::from_ticks(650));
        id.suspend(); // suspended while sleeping: its timeout is cancelled
        sleep(Instant::from_ticks(800));
        log!("resuming again");
        id.resume();
        SRW.join(Forever).unwrap();
    });
    assert_eq!(
        log,
        [
            "T=500 woken with 500 ticks left",
            "T=600 resuming",
            "T=600 resumed",
            "T=800 resuming again",
            "T=800 slept",
        ]
    );
}

static YIELDERS: [Thread; 2] = [Thread::new(), Thread::new()];
static YIELDER_STACKS: [ThreadStack<1024>; 2] = [ThreadStack::new(), ThreadStack::new()];

/// `yield_now` lets the other ready thread of the same priority run.
#[test]
fn yield_now_alternates_equal_priorities() {
    let (_, log) = run(5, || {
        for (i, name) in ["a", "b"].into_iter().enumerate() {
            YIELDERS[i]
                .spawn(&YIELDER_STACKS[i], 5, move || {
                    for step in 1..=2 {
                        log!("{name}{step}");
                        yield_now();
                    }
                })
                .unwrap();
        }
        log!("main");
        for y in &YIELDERS {
            y.join(Forever).unwrap();
        }
    });
    assert_eq!(log, ["T=0 main", "T=0 a1", "T=0 b1", "T=0 a2", "T=0 b2"]);
}

static NEVER_RAN: Thread = Thread::new();
static NEVER_RAN_STACK: ThreadStack<1024> = ThreadStack::new();
static DROPPED: AtomicBool = AtomicBool::new(false);

struct SetOnDrop;
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        DROPPED.store(true, Ordering::Relaxed);
    }
}

/// A closure whose thread died before running it is dropped by the next spawn (not leaked, not
/// run, not dropped twice).
#[test]
fn closure_of_a_thread_that_never_ran_is_dropped() {
    let (r, _) = run(5, || {
        let guard = SetOnDrop;
        let id = NEVER_RAN
            .spawn(&NEVER_RAN_STACK, 8, move || {
                let _keep = &guard;
                panic!("must not run");
            })
            .unwrap();
        // SAFETY: a thread of this simulation, aborted before it ran.
        unsafe { zephyr_sys::k_thread_abort(id.as_raw()) };
        let before = DROPPED.load(Ordering::Relaxed);
        NEVER_RAN.spawn(&NEVER_RAN_STACK, 4, || {}).unwrap();
        (before, DROPPED.load(Ordering::Relaxed))
    });
    assert_eq!(r, (false, true));
}

/// A `Thread` with more room runs bigger closures.
#[test]
fn bigger_closure_capacity() {
    static BIG: Thread<256> = Thread::new();
    static BIG_STACK: ThreadStack<1024> = ThreadStack::new();
    let (r, _) = run(5, || {
        let data = [7u8; 200];
        BIG.spawn(&BIG_STACK, 4, move || {
            log!("sum {}", data.iter().map(|&b| b as u32).sum::<u32>())
        })
        .unwrap();
        BIG.join(Forever).unwrap();
        take_log()
    });
    assert_eq!(r, ["T=0 sum 1400"]);
}
