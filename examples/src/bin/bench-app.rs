//! The bench application on the simulated Zephyr kernel: boots a board and calls the Zephyr
//! application's `rust_main` (`samples/bench`, the same code that runs on real Zephyr, with the
//! Rust port of its C baseline).
//!
//! Run: `cargo run -p examples --bin bench-app`. No virtual time passes while code runs, so
//! every `cycles` is 0: on the simulator it shows that each scenario runs to its end.

use zephyr_bench_app::{rust_main, MEASURE_PRIORITY};

fn main() {
    // As the application's prj.conf configures the board: main at MEASURE_PRIORITY.
    let outcome = zephyr_sim::Sim::new()
        .main_priority(MEASURE_PRIORITY)
        .run(|| rust_main())
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    println!("(simulated; {} thread switches)", outcome.switches);
}
