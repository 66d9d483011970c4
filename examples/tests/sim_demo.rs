//! The demo's story, checked: its console output matches the golden file, run after run.
//!
//! `tests/golden/sim-demo.txt` is the reviewed output of `sim-demo`. When the demo changes on
//! purpose, regenerate it with
//! `cargo run -p examples --bin sim-demo > examples/tests/golden/sim-demo.txt`, read the diff,
//! and commit it with the change.

use zephyr_sim::Sim;

const GOLDEN: &str = include_str!("golden/sim-demo.txt");

/// Runs the demo with the console captured; returns the console and the uptime main returned.
fn run_demo() -> (String, i64) {
    let outcome = Sim::new()
        .capture_console(true)
        .run(examples::demo_main)
        .unwrap_or_else(|e| panic!("the demo failed: {e}"));
    let uptime = outcome.value.expect("main returned");
    assert_eq!(uptime, outcome.uptime_ticks, "main returns the final uptime");
    (outcome.console, uptime)
}

#[test]
fn output_matches_the_golden_file() {
    let (console, _) = run_demo();
    if console != GOLDEN {
        let first_difference = console
            .lines()
            .zip(GOLDEN.lines())
            .position(|(got, want)| got != want)
            .unwrap_or(console.lines().count().min(GOLDEN.lines().count()));
        panic!(
            "the demo's output differs from tests/golden/sim-demo.txt from line {}:\n\
             --- got ---\n{console}--- golden ---\n{GOLDEN}",
            first_difference + 1
        );
    }
}

#[test]
fn two_runs_print_the_same_story() {
    let first = run_demo();
    let second = run_demo();
    assert_eq!(first, second);
}

#[test]
fn the_story_is_short() {
    let (console, _) = run_demo();
    assert!(console.lines().count() < 40, "{console}");
}
