//! Baseline: embassy-executor's own `platform-std` executor (its pender is a Mutex + Condvar).

use std::sync::atomic::{AtomicBool, Ordering};

use embassy_executor::Executor;
use executor_baselines::*;

fn measure<M: embassy_sync::blocking_mutex::raw::RawMutex + 'static>(variant: &str) {
    let (rounds, samples) = parameters();
    let chans = channels::<M>();
    let best = best_of(samples, || {
        let executor: &'static mut Executor = Box::leak(Box::new(Executor::new()));
        let done: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        executor.run_until(
            |s| {
                spawn(&s, pong(&chans.0, &chans.1));
                spawn(&s, async move {
                    ping(&chans.0, &chans.1, rounds).await;
                    done.store(true, Ordering::Release);
                });
            },
            || done.load(Ordering::Acquire),
        );
    });
    report(variant, rounds, best);
}

fn main() {
    measure::<Noop>("embassy-std/noop");
    measure::<Cs>("embassy-std/cs");
}
