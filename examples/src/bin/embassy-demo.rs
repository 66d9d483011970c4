//! The main demo on the simulated Zephyr kernel: boots a board and calls the Zephyr
//! application's `rust_main` (`samples/embassy-demo`, the same code that runs on real Zephyr),
//! then prints how much virtual time passed and how the CPU spent it.
//!
//! Run: `cargo run -p examples --bin embassy-demo` (add `-- --realtime` to watch it at the
//! speed of a real board). `ZEPHYR_SIM_TRACE=demo.json cargo run -p examples --bin
//! embassy-demo` also writes a trace to open in the Perfetto UI (ui.perfetto.dev).

use embassy_demo_app::{rust_main, MAIN_PRIORITY};

fn main() {
    let realtime = std::env::args().any(|a| a == "--realtime");
    // As the application's prj.conf configures the board: main at MAIN_PRIORITY, a 10 kHz tick
    // (the simulator's default, zephyr_sys::CONFIG_SYS_CLOCK_TICKS_PER_SEC).
    let outcome = zephyr_sim::Sim::new()
        .main_priority(MAIN_PRIORITY)
        .realtime(realtime)
        .run(|| rust_main())
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    let ms = outcome.uptime_ticks * 1000 / zephyr_sys::CONFIG_SYS_CLOCK_TICKS_PER_SEC as i64;
    println!("(simulated {ms} ms; {} thread switches)", outcome.switches);
    print!("{}", outcome.cpu);
}
