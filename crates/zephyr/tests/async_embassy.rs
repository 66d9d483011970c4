//! Async kernel waits under the Embassy executor alone: these run with and without `no-kio`.

mod async_common;
mod embassy_common;

use async_common::*;
use embassy_common::{run_task, ticks};
use zephyr::sys::sync::Semaphore;
use zephyr::time::{Duration, Forever, NoWait};
use zephyr::Error;

/// `take_async` under the Embassy executor: woken at the tick of the give, whoever gives.
#[test]
fn take_async_under_embassy_woken_by_rust_c_and_isr() {
    for giver in [Giver::Rust, Giver::RawC, Giver::TimerIsr] {
        let got = sim(move || {
            let sem: &'static Semaphore = leak(Semaphore::new(0, 1));
            give_at_200(sem, giver);
            run_task(async move {
                // The time it got the semaphore, before the wait is dropped (a drop waits out a
                // raw C giver still inside its call).
                let mut take = core::pin::pin!(sem.take_async(Forever));
                let r = take.as_mut().await;
                (ticks(), r)
            })
        });
        assert_eq!(got, (200, Ok(())), "given by {giver:?}");
    }
}

/// Without kio, timeouts too: `NoWait` is `EBUSY` at once, a timeout of N ticks `EAGAIN` N + 1
/// ticks later, as the blocking call's.
#[test]
fn take_async_timeouts_under_embassy() {
    let got = sim(|| {
        let sem: &'static Semaphore = leak(Semaphore::new(0, 1));
        run_task(async move {
            let busy = sem.take_async(NoWait).await;
            let timed = sem.take_async(Duration::from_ticks(7)).await;
            (busy, timed, ticks())
        })
    });
    assert_eq!(got, (Err(Error::EBUSY), Err(Error::EAGAIN), 8));
}

/// A `MsgQueue` in a `static` works in every simulation that uses it (each boot initialises
/// it again), as on a board that reboots.
#[test]
fn a_static_msg_queue_serves_several_simulations() {
    static QUEUE: zephyr::sys::MsgQueue<u8, 2> = zephyr::sys::MsgQueue::new();
    for round in 0..3u8 {
        let got = sim(move || {
            QUEUE.put(round, NoWait).unwrap();
            (QUEUE.len(), QUEUE.get(NoWait))
        });
        assert_eq!(got, (1, Ok(round)));
    }
}
