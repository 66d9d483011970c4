//! Floor: embassy-executor's raw executor with a pender that only sets a flag, polled in a
//! loop: what an executor costs with nothing around it.

use std::sync::atomic::{AtomicBool, Ordering};

use embassy_executor::raw::Executor;
use executor_baselines::*;

static PENDED: AtomicBool = AtomicBool::new(false);

#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    PENDED.store(true, Ordering::Release);
}

fn measure<M: embassy_sync::blocking_mutex::raw::RawMutex + 'static>(variant: &str) {
    let (rounds, samples) = parameters();
    let chans = channels::<M>();
    let executor: &'static Executor = Box::leak(Box::new(Executor::new(std::ptr::null_mut())));
    spawn(&executor.spawner(), pong(&chans.0, &chans.1));
    let best = best_of(samples, || {
        let done: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        spawn(&executor.spawner(), async move {
            ping(&chans.0, &chans.1, rounds).await;
            done.store(true, Ordering::Release);
        });
        while !done.load(Ordering::Acquire) {
            PENDED.store(false, Ordering::Relaxed);
            // SAFETY: polled only from this thread, never re-entrantly.
            unsafe { executor.poll() };
        }
    });
    report(variant, rounds, best);
}

fn main() {
    measure::<Noop>("raw-flag/noop");
    measure::<Cs>("raw-flag/cs");
}
