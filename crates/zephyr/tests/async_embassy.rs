//! Async kernel waits under the Embassy executor alone: these run with and without `no-kio`.

mod async_common;
mod embassy_common;

use std::cell::Cell;
use std::rc::Rc;

use async_common::*;
use embassy_common::{executor, spawn, ticks};
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
            let got = Rc::new(Cell::new((0, Err(Error::EINVAL))));
            let g = got.clone();
            let done = Rc::new(Cell::new(false));
            let d = done.clone();
            executor().run_until(
                |s| {
                    spawn(&s, async move {
                        let r = sem.take_async(Forever).await;
                        g.set((ticks(), r));
                        d.set(true);
                    })
                },
                || done.get(),
            );
            got.get()
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
        let out = Rc::new(Cell::new((Ok(()), Ok(()), 0)));
        let o = out.clone();
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        executor().run_until(
            |s| {
                spawn(&s, async move {
                    let busy = sem.take_async(NoWait).await;
                    let timed = sem.take_async(Duration::from_ticks(7)).await;
                    o.set((busy, timed, ticks()));
                    d.set(true);
                })
            },
            || done.get(),
        );
        out.get()
    });
    assert_eq!(got, (Err(Error::EBUSY), Err(Error::EAGAIN), 8));
}
