//! Cancellation never loses a wake-up (issue 8, item 1): every async wait the crate offers,
//! dropped after the kernel notified it, passes the notification on to the next waiter.
//!
//! The shape, for each wait: task X awaits `select(signal.wait(), <wait>)`, task Y (started
//! later, so registered behind X) awaits `<wait>` alone; one ISR makes the object ready and
//! signals X. A kernel object notifies only its first poller (`z_handle_obj_poll_events`,
//! `kernel/poll.c`), so X is the one notified; but X's `select` polls the signal first and
//! drops its wait. Y must still get the object. X runs under each runtime at priorities around
//! the system work queue's (-1), so the drop happens before, or after, the work queue ran the
//! triggered work's handler (`k_work_poll_cancel` then fails with `-EINVAL`,
//! `k_work_cancel_sync` discards the queued item); both orders inside the ISR; and seeds vary
//! when the ISR arrives within its tick. Board: 10 kHz.
#![cfg(not(feature = "no-kio"))]

mod async_common;
mod embassy_common;

use std::future::Future;
use std::sync::{Arc, Mutex};

use async_common::*;
use embassy_common::{executor, spawn, thread, ticks};
use embassy_futures::select::{select, Either};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use zephyr::kio;
use zephyr::sys::sync::Semaphore;
use zephyr::sys::{MsgQueue, PollSignal};
use zephyr::time::{Forever, NoWait};
use zephyr::work::WorkQueue;
use zephyr_sys::*;

/// Where a task runs.
#[derive(Clone, Copy, Debug)]
enum Runtime {
    /// A `zephyr::embassy::Executor` on its own thread at this priority.
    Embassy(i32),
    /// A kio task on a work queue of its own at this priority.
    Kio(i32),
    /// A kio task on the system work queue (which also runs the triggered work's handlers).
    KioSystem,
}

/// Runs `future` as a task on `runtime`.
fn start(
    runtime: Runtime,
    name: &'static std::ffi::CStr,
    future: impl Future<Output = ()> + Send + 'static,
) {
    match runtime {
        Runtime::Embassy(prio) => {
            thread(name.to_str().unwrap(), prio, move || {
                executor().run(|s| spawn(&s, future));
            });
        }
        Runtime::Kio(prio) => {
            kio::spawn(future, &queue(name, prio), c"task");
        }
        Runtime::KioSystem => {
            kio::spawn(future, WorkQueue::system(), c"task");
        }
    }
}

/// The async waits under test.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// `Semaphore::take_async`; the ISR gives.
    Take,
    /// `MsgQueue::get_async`; the ISR puts 7.
    Get,
    /// `MsgQueue::put_async` on a full queue of one; the ISR gets the old message.
    Put,
    /// `PollSignal::wait_async`; the ISR raises 5.
    SignalWait,
}

/// The kernel objects of one scenario (leaked: tasks hold `'static` references).
struct Objects {
    sem: Semaphore,
    q: MsgQueue<u32, 1>,
    ps: PollSignal,
    cancel: Signal<CriticalSectionRawMutex, ()>,
}

impl Objects {
    /// The wait of `kind`, as a future giving what it got, written as text.
    async fn wait(&'static self, kind: Kind, value: u32) -> String {
        match kind {
            Kind::Take => format!("{:?}", self.sem.take_async(Forever).await),
            Kind::Get => format!("{:?}", self.q.get_async(Forever).await),
            Kind::Put => format!("{:?}", self.q.put_async(value, Forever).await),
            Kind::SignalWait => format!("{:?}", self.ps.wait_async(Forever).await),
        }
    }

    /// What the ISR does to make the object ready for one waiter.
    fn make_ready(&self, kind: Kind) {
        match kind {
            Kind::Take => self.sem.give(),
            Kind::Get => self.q.put(7, NoWait).expect("room for one"),
            Kind::Put => assert_eq!(self.q.get(NoWait), Ok(1)),
            Kind::SignalWait => self.ps.raise(5),
        }
    }

    /// The object's state once Y got it, written as text.
    fn state(&self, kind: Kind) -> String {
        match kind {
            Kind::Take => format!("count {}", self.sem.count()),
            Kind::Get | Kind::Put => format!("queued {:?}", self.q.get(NoWait)),
            Kind::SignalWait => format!("signal {:?}", self.ps.check()),
        }
    }
}

/// Runs one scenario; returns X's and Y's outcomes and the object's state, as text.
fn scenario(kind: Kind, x: Runtime, y: Runtime, ready_first: bool, seed: u64) -> Vec<String> {
    let out = zephyr_sim::Sim::new()
        .main_priority(0)
        .seed(seed)
        .run(move || {
            let o: &'static Objects = leak(Objects {
                sem: Semaphore::new(0, 1),
                q: MsgQueue::new(),
                ps: PollSignal::new(),
                cancel: Signal::new(),
            });
            if let Kind::Put = kind {
                o.q.put(1, NoWait).unwrap(); // full
            }
            let log = Arc::new(Mutex::new(Vec::new()));
            let (lx, ly) = (log.clone(), log.clone());
            start(x, c"x", async move {
                let r = select(o.cancel.wait(), o.wait(kind, 2)).await;
                let r = match r {
                    Either::First(()) => "cancelled".to_string(),
                    Either::Second(got) => got,
                };
                lx.lock().unwrap().push(format!("x: {r}"));
            });
            start(y, c"y", async move {
                // Starts waiting after X.
                kio::sleep(zephyr::time::Duration::from_ticks(10)).await;
                let got = o.wait(kind, 3).await;
                ly.lock().unwrap().push(format!("y: {got} at {}", ticks() >= 100));
            });
            let at_us = 10_000 + (seed % 37) * 100; // tick 100 + 0..36
            zephyr_sim::irq::raise_after_us(at_us, move || {
                if ready_first {
                    o.make_ready(kind);
                    o.cancel.signal(());
                } else {
                    o.cancel.signal(());
                    o.make_ready(kind);
                }
            });
            // SAFETY: main thread context.
            unsafe { k_sleep(K_TIMEOUT_ABS_TICKS(1000)) };
            let mut log = log.lock().unwrap().clone();
            log.sort();
            log.push(o.state(kind));
            log
        })
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    out.value.expect("main returned")
}

/// What every scenario must end with: X cancelled, Y served, the object as Y left it.
fn expected(kind: Kind) -> Vec<String> {
    let (y, state) = match kind {
        Kind::Take => ("Ok(())", "count 0"),
        Kind::Get => ("Ok(7)", "queued Err(Error(ENOMSG))"),
        Kind::Put => ("Ok(())", "queued Ok(3)"),
        Kind::SignalWait => ("Ok(5)", "signal Some(5)"),
    };
    vec!["x: cancelled".to_string(), format!("y: {y} at true"), state.to_string()]
}

/// Runtimes for X, around the system work queue's priority (-1): more urgent cooperative
/// threads and queues (the drop runs before the triggered work's handler), less urgent ones
/// (after), and the system queue itself.
const X_RUNTIMES: [Runtime; 6] = [
    Runtime::Embassy(-2),
    Runtime::Embassy(2),
    Runtime::Kio(-3),
    Runtime::Kio(3),
    Runtime::KioSystem,
    Runtime::Embassy(-1),
];

/// Runtimes for Y.
const Y_RUNTIMES: [Runtime; 2] = [Runtime::Kio(4), Runtime::Embassy(6)];

fn check_kind(kind: Kind, seeds: u64) {
    let mut failures = Vec::new();
    let mut runs = 0;
    for x in X_RUNTIMES {
        for y in Y_RUNTIMES {
            for ready_first in [true, false] {
                for seed in 0..seeds {
                    runs += 1;
                    let got = scenario(kind, x, y, ready_first, seed);
                    if got != expected(kind) {
                        failures.push(format!(
                            "x {x:?}, y {y:?}, ready first {ready_first}, seed {seed}: {got:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{kind:?}: {} of {runs} runs lost the notification:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_cancelled_take_async_passes_the_give_on() {
    check_kind(Kind::Take, 4);
}

#[test]
fn a_cancelled_get_async_passes_the_message_on() {
    check_kind(Kind::Get, 4);
}

#[test]
fn a_cancelled_put_async_passes_the_space_on() {
    check_kind(Kind::Put, 4);
}

#[test]
fn a_cancelled_signal_wait_passes_the_raise_on() {
    check_kind(Kind::SignalWait, 4);
}

/// A raise is seen by every waiter of a poll signal, not only the first one the kernel
/// notifies: each notified waiter raises it again for the next.
#[test]
fn every_signal_waiter_sees_a_raise() {
    let got = sim(|| {
        let ps: &'static PollSignal = leak(PollSignal::new());
        let log = Arc::new(Mutex::new(Vec::new()));
        for (i, rt) in
            [Runtime::Kio(3), Runtime::Embassy(4), Runtime::KioSystem].into_iter().enumerate()
        {
            let l = log.clone();
            start(rt, c"w", async move {
                let r = ps.wait_async(Forever).await;
                l.lock().unwrap().push(format!("{i}: {r:?} at {}", ticks()));
            });
        }
        zephyr_sim::irq::raise_after_us(5_000, move || ps.raise(9));
        // SAFETY: main thread context.
        unsafe { k_sleep(K_TIMEOUT_ABS_TICKS(100)) };
        let mut log = log.lock().unwrap().clone();
        log.sort();
        log
    });
    assert_eq!(got, ["0: Ok(9) at 50", "1: Ok(9) at 50", "2: Ok(9) at 50"]);
}

/// Two messages put back to back while two async getters wait, the first getter dropped
/// after its notification: both messages are still delivered, in order, to the getters that
/// remain.
#[test]
fn queued_messages_reach_the_remaining_getters_in_order() {
    let got = sim(|| {
        let q: &'static MsgQueue<u32, 4> = leak(MsgQueue::new());
        let cancel: &'static Signal<CriticalSectionRawMutex, ()> = leak(Signal::new());
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        start(Runtime::Embassy(-2), c"x", async move {
            let r = select(cancel.wait(), q.get_async(Forever)).await;
            l.lock().unwrap().push(format!("x: {}", matches!(r, Either::First(()))));
        });
        for (i, rt) in [Runtime::Kio(3), Runtime::Embassy(4)].into_iter().enumerate() {
            let l = log.clone();
            start(rt, c"y", async move {
                kio::sleep(zephyr::time::Duration::from_ticks(10 + i as u64)).await;
                let v = q.get_async(Forever).await;
                l.lock().unwrap().push(format!("y{i}: {v:?}"));
            });
        }
        zephyr_sim::irq::raise_after_us(10_000, move || {
            q.put(1, NoWait).unwrap();
            q.put(2, NoWait).unwrap();
            cancel.signal(());
        });
        // SAFETY: main thread context.
        unsafe { k_sleep(K_TIMEOUT_ABS_TICKS(1000)) };
        let log = log.lock().unwrap().clone();
        (log, q.len())
    });
    let (mut log, left) = got;
    log.sort();
    assert_eq!(log, ["x: true", "y0: Ok(1)", "y1: Ok(2)"]);
    assert_eq!(left, 0);
}
