//! `zephyr::sync::channel`: one test per rule of its module docs. Messages in order; waiters
//! served by the kernel's wait-queue order; timeouts at the exact tick; a full bounded channel
//! blocks its sender until a receive; ISR sends wake threads, and waiting in an ISR panics;
//! async sends and receives under the Embassy executor and kio, including a waiter dropped
//! after it was notified; dropping every sender or every receiver; every message value dropped
//! exactly once. Board: 10 kHz.
#![cfg(not(feature = "no-kio"))]

mod async_common;
mod common;
mod embassy_common;

use std::ffi::c_void;

use common::{run, run_panics};
use embassy_common::run_task;
use zephyr::kio;
use zephyr::sync::channel::{self, Receiver, RecvError, Sender};
use zephyr::sys::sync::Semaphore;
use zephyr::time::{sleep, Duration, Forever, Instant};
use zephyr_sys::*;

/// A Zephyr thread named `name` at `prio` running `f` (started at once).
fn thread(name: &str, prio: i32, f: impl FnOnce() + 'static) {
    zephyr_sim::spawn_thread(name, prio, f);
}

/// Runs `f` in ISR context (a `k_timer` expiry function) at `tick`.
fn isr_at(tick: i64, f: impl Fn() + 'static) {
    let f: Box<dyn Fn()> = Box::new(f);
    let f: *mut Box<dyn Fn()> = Box::into_raw(Box::new(f));
    let timer: &'static mut k_timer = Box::leak(Box::new(k_timer::new()));
    // SAFETY: the timer and the closure are leaked; the user data is the closure's address.
    unsafe {
        k_timer_init(timer, Some(run_isr), None);
        k_timer_user_data_set(timer, f as *mut c_void);
        k_timer_start(timer, K_TIMEOUT_ABS_TICKS(tick), K_NO_WAIT);
    }
}

unsafe extern "C-unwind" fn run_isr(timer: *mut k_timer) {
    // SAFETY: the user data is a leaked `Box<dyn Fn()>` (see `isr_at`).
    let f = unsafe { &*(k_timer_user_data_get(timer) as *const Box<dyn Fn()>) };
    f();
}

/// A message value that logs its drop.
#[derive(Debug)]
struct Counted(u32);

impl Drop for Counted {
    fn drop(&mut self) {
        log!("drop {}", self.0);
    }
}

/// Messages come out in the order they went in, through both kinds of channel; the `Result`
/// shapes are upstream's.
#[test]
fn messages_come_out_in_the_order_sent() {
    let (got, _) = run(5, || {
        let mut got = Vec::new();
        for (tx, rx) in [channel::unbounded::<u32>(), channel::bounded::<u32>(8)] {
            for v in 1..=5 {
                let r: Result<(), channel::SendError<u32>> = tx.send(v);
                r.unwrap();
            }
            got.push((1..=5).map(|_| rx.try_recv().unwrap()).collect::<Vec<_>>());
            let empty: Result<u32, RecvError> = rx.try_recv();
            assert_eq!(empty, Err(RecvError));
        }
        got
    });
    assert_eq!(got, [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]);
}

/// Waiting receivers are served as the kernel's wait queue orders them (kernel/queue.c hands
/// an appended item to the first waiter): the most urgent thread first, then the one that
/// waited longest.
#[test]
fn waiting_receivers_are_served_most_urgent_first_then_longest_waiting() {
    let (_, log) = run(7, || {
        let (tx, rx) = channel::unbounded::<u32>();
        for (name, prio) in [("a", 5), ("b", 5), ("c", 3)] {
            let rx = rx.clone();
            thread(name, prio, move || {
                let v = rx.recv().unwrap();
                log!("{name} got {v}");
            });
        }
        sleep(Instant::from_ticks(10));
        for v in 1..=3 {
            tx.send(v).unwrap();
        }
        sleep(Instant::from_ticks(20));
    });
    assert_eq!(log, ["T=10 c got 1", "T=10 a got 2", "T=10 b got 3"]);
}

/// A timeout of N ticks ends N + 1 ticks after the current tick (as every kernel wait); an
/// absolute one at its tick; `try_*` never waits.
#[test]
fn timeouts_end_at_the_exact_tick() {
    let (_, log) = run(5, || {
        let (tx, rx) = channel::bounded::<u32>(1);
        log!("try_recv: {:?}", rx.try_recv());
        log!("recv_timeout(100): {:?}", rx.recv_timeout(Duration::from_ticks(100)));
        tx.try_send(1).unwrap();
        log!("try_send: {:?}", tx.try_send(2).map_err(|e| e.0));
        log!(
            "send_timeout(50): {:?}",
            tx.send_timeout(3, Duration::from_ticks(50)).map_err(|e| e.0)
        );
        log!("recv_timeout(at 500): {:?}", rx.recv_timeout(Instant::from_ticks(500)));
        log!("recv_timeout(at 500): {:?}", rx.recv_timeout(Instant::from_ticks(500)));
    });
    assert_eq!(
        log,
        [
            "T=0 try_recv: Err(RecvError)",
            "T=101 recv_timeout(100): Err(RecvError)",
            "T=101 try_send: Err(2)",
            "T=152 send_timeout(50): Err(3)",
            "T=152 recv_timeout(at 500): Ok(1)",
            "T=500 recv_timeout(at 500): Err(RecvError)",
        ]
    );
}

/// A full bounded channel blocks its sender in the kernel until a receive frees a slot; the
/// receive hands the slot to the waiting sender, which (more urgent) runs at once.
#[test]
fn a_full_bounded_channel_blocks_the_sender_until_a_receive() {
    let (_, log) = run(7, || {
        let (tx, rx) = channel::bounded::<u32>(2);
        thread("sender", 5, move || {
            for v in 1..=4 {
                tx.send(v).unwrap();
                log!("sent {v}");
            }
        });
        for t in [100, 200] {
            sleep(Instant::from_ticks(t));
            log!("got {:?}", rx.recv());
        }
        log!("got {:?}", rx.recv());
        log!("got {:?}", rx.recv());
        log!("got {:?}", rx.recv());
    });
    assert_eq!(
        log,
        [
            "T=0 sent 1",
            "T=0 sent 2",
            "T=100 sent 3",
            "T=100 got Ok(1)",
            "T=200 sent 4",
            "T=200 got Ok(2)",
            "T=200 got Ok(3)",
            "T=200 got Ok(4)",
            // The sender is gone: the channel is empty and disconnected.
            "T=200 got Err(RecvError)",
        ]
    );
}

/// An ISR sends into an unbounded channel (it allocates: the kernel heap serves ISRs) and
/// `try_send`s into a bounded one; each wakes the thread waiting on it. The bounded channel's
/// one slot travels with its message until the receiver runs, so a second `try_send` fails.
#[test]
fn an_isr_send_wakes_a_waiting_thread() {
    let (_, log) = run(5, || {
        let (tx, rx) = channel::unbounded::<u32>();
        let (btx, brx) = channel::bounded::<u32>(1);
        isr_at(100, move || {
            assert!(zephyr::thread::is_in_isr());
            tx.send(1).unwrap();
            btx.try_send(2).unwrap();
            log!("isr: try_send when full: {:?}", btx.try_send(3).map_err(|e| e.0));
        });
        thread("bounded-rx", 3, move || log!("bounded-rx got {:?}", brx.recv()));
        log!("main got {:?}", rx.recv());
    });
    assert_eq!(
        log,
        [
            "T=100 isr: try_send when full: Err(3)",
            "T=100 bounded-rx got Ok(2)",
            "T=100 main got Ok(1)"
        ]
    );
}

/// A receive that would wait, in an ISR, is a panic naming the call (as every blocking call of
/// the crate); so is a bounded send that would wait.
#[test]
fn waiting_in_an_isr_panics() {
    let msg = run_panics(|| {
        let (_tx, rx) = channel::unbounded::<u32>();
        isr_at(10, move || {
            let _ = rx.recv();
        });
        sleep(Instant::from_ticks(20));
    });
    assert!(msg.contains("Receiver::recv: blocking call from an interrupt handler"), "{msg}");
    let msg = run_panics(|| {
        let (tx, _rx) = channel::bounded::<u32>(1);
        isr_at(10, move || {
            let _ = tx.send(1);
        });
        sleep(Instant::from_ticks(20));
    });
    assert!(msg.contains("Sender::send: blocking call from an interrupt handler"), "{msg}");
}

/// The async scenario, for both runtimes: `recv_async` woken by a thread's send,
/// `recv_timeout_async` timing out at the exact tick, `send_async` on a full bounded channel
/// woken by a thread's receive, and the end of the channel seen by `recv_async`. `run_in`
/// runs the task's future to its end on the runtime under test (at priority 3 or more urgent).
fn async_send_and_recv(
    run_in: fn(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>),
) {
    let (_, log) = run(5, move || {
        let (tx, rx) = channel::unbounded::<u32>();
        let (btx, brx) = channel::bounded::<u32>(1);
        thread("peer", 7, move || {
            sleep(Instant::from_ticks(100));
            tx.send(1).unwrap();
            sleep(Instant::from_ticks(300));
            log!("peer got {:?}", brx.recv());
            log!("peer got {:?}", brx.recv());
            drop(tx);
        });
        run_in(Box::pin(async move {
            log!("task got {:?}", rx.recv_async().await);
            log!("task got {:?}", rx.recv_timeout_async(Duration::from_ticks(50)).await);
            btx.send_async(10).await.unwrap();
            log!("task sent 10");
            btx.send_async(11).await.unwrap();
            log!("task sent 11");
            log!("task got {:?}", rx.recv_async().await);
        }));
    });
    assert_eq!(
        log,
        [
            "T=100 task got Ok(1)",
            "T=151 task got Err(RecvError)",
            "T=151 task sent 10",
            // The receive hands the slot to the waiting task, whose executor (or work queue)
            // is more urgent than the peer: it runs before the peer's next line.
            "T=300 task sent 11",
            "T=300 peer got Ok(10)",
            "T=300 peer got Ok(11)",
            "T=300 task got Err(RecvError)",
        ]
    );
}

/// The async scenario under the Embassy executor (on the main thread, priority 5).
#[test]
fn async_send_and_recv_under_the_embassy_executor() {
    async_send_and_recv(run_task);
}

/// The async scenario under kio, on a work queue at priority 3.
#[test]
fn async_send_and_recv_under_kio() {
    async_send_and_recv(|task| {
        let q = async_common::queue(c"kio", 3);
        kio::spawn(task, &q, c"task").join();
    });
}

/// A receiver future dropped after the kernel notified it (a `select` whose other branch won
/// at the same moment) passes the notification on: the next waiter gets the message. Without
/// that, the kernel, which notifies only the first waiter, would leave it asleep.
#[test]
fn a_notified_recv_async_dropped_by_a_select_passes_the_message_on() {
    use embassy_futures::select::{select, Either};
    let (_, log) = run(5, || {
        let (tx, rx) = channel::unbounded::<u32>();
        let sem: &'static Semaphore = async_common::leak(Semaphore::new(0, 1));
        // More urgent than every queue and executor: both its calls notify before anyone runs.
        // (Main keeps a sender: the last one's drop would notify the next waiter too.)
        let tx2 = tx.clone();
        thread("peer", -5, move || {
            sleep(Instant::from_ticks(100));
            sem.give();
            tx2.send(7).unwrap();
        });
        let rx2 = rx.clone();
        let executor = embassy_common::executor();
        let done: &'static Semaphore = async_common::leak(Semaphore::new(0, 2));
        thread("executor", 3, move || {
            executor.run(move |s| {
                embassy_common::spawn(&s, async move {
                    // Waits first (registered at tick 0), on both.
                    match select(sem.take_async(Forever), rx.recv_async()).await {
                        Either::First(r) => log!("a: semaphore {r:?}"),
                        Either::Second(r) => log!("a: message {r:?}"),
                    }
                    done.give();
                });
                embassy_common::spawn(&s, async move {
                    embassy_time::Timer::after_ticks(10).await;
                    log!("b got {:?}", rx2.recv_async().await);
                    done.give();
                });
            })
        });
        for _ in 0..2 {
            done.take(Forever).unwrap();
        }
        drop(tx);
    });
    assert_eq!(log, ["T=100 a: semaphore Ok(())", "T=100 b got Ok(7)"]);
}

/// Dropping the last sender ends every waiting receiver (threads and an async task) once the
/// queued messages are taken, and later receives return at once.
#[test]
fn dropping_every_sender_ends_every_waiting_receiver() {
    let (_, log) = run(7, || {
        let (tx, rx) = channel::unbounded::<u32>();
        for name in ["a", "b"] {
            let rx = rx.clone();
            thread(name, 5, move || {
                log!("{name}: {:?}", rx.recv());
                log!("{name}: {:?}", rx.recv());
            });
        }
        let arx = rx.clone();
        let executor = embassy_common::executor();
        thread("executor", 6, move || {
            executor.run(move |s| {
                embassy_common::spawn(&s, async move { log!("task: {:?}", arx.recv_async().await) })
            })
        });
        sleep(Instant::from_ticks(10));
        tx.send(1).unwrap();
        let tx2 = tx.clone();
        drop(tx);
        sleep(Instant::from_ticks(20));
        drop(tx2);
        sleep(Instant::from_ticks(30));
        log!("main: {:?}", rx.try_recv());
        log!("main: {:?}", rx.recv());
    });
    assert_eq!(
        log,
        [
            "T=10 a: Ok(1)",
            "T=20 b: Err(RecvError)",
            "T=20 a: Err(RecvError)",
            "T=20 b: Err(RecvError)",
            "T=20 task: Err(RecvError)",
            "T=30 main: Err(RecvError)",
            "T=30 main: Err(RecvError)",
        ]
    );
}

/// Dropping the last receiver fails a sender waiting for space (its message comes back),
/// drops the queued message at once, and later sends fail at once.
#[test]
fn dropping_every_receiver_fails_senders_and_drops_queued_messages() {
    let (_, log) = run(7, || {
        let (tx, rx) = channel::bounded::<Counted>(1);
        tx.send(Counted(1)).unwrap();
        let tx2 = tx.clone();
        thread("sender", 5, move || {
            let r = tx2.send(Counted(2));
            log!("sender: {:?}", r.map_err(|e| e.0 .0));
        });
        sleep(Instant::from_ticks(100));
        log!("dropping the receiver");
        drop(rx);
        log!("try_send: {:?}", tx.try_send(Counted(3)).map_err(|e| e.0 .0));
        log!("send: {:?}", tx.send(Counted(4)).map_err(|e| e.0 .0));
        let (utx, urx) = channel::unbounded::<Counted>();
        utx.send(Counted(5)).unwrap();
        drop(urx);
        log!("unbounded send: {:?}", utx.send(Counted(6)).map_err(|e| e.0 .0));
    });
    assert_eq!(
        log,
        [
            "T=100 dropping the receiver",
            // The marker on the free list reaches the waiting sender, which is more urgent, so
            // it fails before the queued message is dropped. (Each returned message is dropped
            // as the test takes its number out, before the line is logged.)
            "T=100 drop 2",
            "T=100 sender: Err(2)",
            "T=100 drop 1",
            "T=100 drop 3",
            "T=100 try_send: Err(3)",
            "T=100 drop 4",
            "T=100 send: Err(4)",
            "T=100 drop 5",
            "T=100 drop 6",
            "T=100 unbounded send: Err(6)",
        ]
    );
}

/// Async waiters see the other side go too: senders waiting for space in a full channel (the
/// marker at the head of the free list passes from one to the next) fail with their message,
/// and a receiver waiting on an empty channel ends, each at the tick of the drop.
#[test]
fn async_waiters_see_the_other_side_go() {
    let (_, log) = run(5, || {
        let (tx, rx) = channel::bounded::<u32>(1);
        tx.try_send(0).unwrap();
        let (utx, urx) = channel::unbounded::<u32>();
        let executor = embassy_common::executor();
        let done: &'static Semaphore = async_common::leak(Semaphore::new(0, 3));
        thread("executor", 3, move || {
            executor.run(move |s| {
                for name in ["s1", "s2"] {
                    let tx = tx.clone();
                    embassy_common::spawn(&s, async move {
                        let r = tx.send_async(1).await;
                        log!("{name}: {:?}", r.map_err(|e| e.0));
                        done.give();
                    });
                }
                embassy_common::spawn(&s, async move {
                    log!("r: {:?}", urx.recv_async().await);
                    done.give();
                });
            })
        });
        sleep(Instant::from_ticks(100));
        drop(rx);
        sleep(Instant::from_ticks(200));
        drop(utx);
        for _ in 0..3 {
            done.take(Forever).unwrap();
        }
    });
    // (Woken at one tick, the two senders run in the order the executor picks.)
    let mut log = log;
    log.sort();
    assert_eq!(log, ["T=100 s1: Err(1)", "T=100 s2: Err(1)", "T=200 r: Err(RecvError)"]);
}

/// Every message value is dropped exactly once, whatever is received and whichever side goes
/// first: by its receiver, by the last receiver's drop, or by the channel's.
#[test]
fn every_message_is_dropped_exactly_once() {
    for bounded in [false, true] {
        for senders_first in [false, true] {
            let (_, log) = run(5, move || {
                let (tx, rx): (Sender<Counted>, Receiver<Counted>) =
                    if bounded { channel::bounded(8) } else { channel::unbounded() };
                let tx2 = tx.clone();
                for i in 0..6 {
                    [&tx, &tx2][i as usize % 2].send(Counted(i)).unwrap();
                }
                drop(rx.recv().unwrap());
                let kept = rx.try_recv().unwrap();
                if senders_first {
                    drop((tx, tx2));
                    drop(rx);
                } else {
                    drop(rx);
                    drop((tx, tx2));
                }
                drop(kept);
            });
            let mut dropped: Vec<u32> =
                log.iter().map(|l| l.rsplit(' ').next().unwrap().parse().unwrap()).collect();
            dropped.sort();
            assert_eq!(
                dropped,
                [0, 1, 2, 3, 4, 5],
                "bounded {bounded}, senders first {senders_first}"
            );
        }
    }
}

/// Senders and receivers are `Send` and `Sync` for `T: Send`, and `Clone`.
#[test]
fn handles_are_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Sender<u32>>();
    check::<Receiver<u32>>();
    check::<zephyr::sync::Arc<u32>>();
}
