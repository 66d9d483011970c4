//! Baseline: tokio's current-thread runtime running the same two tasks and channels.

use executor_baselines::*;

fn measure<M: embassy_sync::blocking_mutex::raw::RawMutex + 'static>(variant: &str) {
    let (rounds, samples) = parameters();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let chans = channels::<M>();
    let local = tokio::task::LocalSet::new();
    local.spawn_local(pong(&chans.0, &chans.1));
    let best = best_of(samples, || local.block_on(&rt, ping(&chans.0, &chans.1, rounds)));
    report(variant, rounds, best);
}

fn main() {
    measure::<Noop>("tokio/noop");
    measure::<Cs>("tokio/cs");
}
