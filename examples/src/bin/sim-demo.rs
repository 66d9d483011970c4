//! `sim-demo`: the simulated Zephyr kernel at work, told as a short story in virtual time.
//!
//! Boots [`examples::demo_main`] on a simulated board with the Kconfig defaults (10 kHz tick,
//! 1 MHz cycle counter, main at priority 0) and prints its console to stdout. The run takes a
//! few milliseconds of wall time; with `--realtime` the simulation is paced to the wall clock,
//! as a person watching the board would see it. The output is the same either way.
//!
//! ```text
//! cargo run -p examples --bin sim-demo [-- --realtime]
//! ```

use std::process::ExitCode;

const USAGE: &str = "usage: sim-demo [--realtime]

  --realtime   pace virtual time to the wall clock (default: as fast as possible)";

fn main() -> ExitCode {
    let mut realtime = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--realtime" => realtime = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("sim-demo: unknown argument '{other}'\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match zephyr_sim::Sim::new().realtime(realtime).run(examples::demo_main) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sim-demo: the simulation failed: {e}");
            ExitCode::FAILURE
        }
    }
}
