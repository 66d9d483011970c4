//! Shared helpers of the benchmarks: timing and the side-by-side report.

use std::time::{Duration, Instant};

/// Runs `f` (which performs `iterations` operations) `samples` times and returns the best
/// time per operation, in nanoseconds (the least disturbed sample).
pub fn best_ns_per_op(samples: usize, iterations: u64, mut f: impl FnMut(u64)) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..samples {
        let start = Instant::now();
        f(iterations);
        best = best.min(start.elapsed());
    }
    best.as_nanos() as f64 / iterations as f64
}

/// Prints one comparison: the measured subject, its baseline, and their ratio.
pub fn report(what: &str, subject: (&str, f64), baseline: (&str, f64)) {
    println!("{what}");
    println!("  {:<48} {:>12.1} ns", subject.0, subject.1);
    println!("  {:<48} {:>12.1} ns", baseline.0, baseline.1);
    println!(
        "  ratio {} / {} = {:.1}x\n",
        baseline.0.split(':').next().unwrap_or(""),
        subject.0.split(':').next().unwrap_or(""),
        baseline.1 / subject.1
    );
}
