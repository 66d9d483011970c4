//! Programs written for the upstream zephyr-lang-rust `zephyr` crate (`samples/upstream/*`), and
//! `samples/interrupt`, booted unchanged by `zephyr_sim::app_main!`, print exactly their golden
//! output, the same on every run, and end the way the runner reports a finished program (exit
//! 0). `scripts/zephyr-test.sh` checks the same golden files on real Zephyr.

use std::process::Command;

/// Runs a runner binary: its console (stdout) and the runner's last line (stderr).
fn run(exe: &str) -> (String, String) {
    let out = Command::new(exe).output().expect("the runner starts");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{exe} failed:\n{stderr}");
    let last = stderr.lines().last().unwrap_or_default().to_string();
    (String::from_utf8(out.stdout).expect("utf-8"), last)
}

fn check(exe: &str, golden: &str, name: &str, end: &str) {
    let (console, last) = run(exe);
    for (i, (a, e)) in console.lines().zip(golden.lines()).enumerate() {
        assert_eq!(a, e, "line {} differs from tests/golden/{name}.txt", i + 1);
    }
    assert_eq!(console, golden, "tests/golden/{name}.txt");
    assert!(last.starts_with(end), "{name} ended with: {last}");
    assert_eq!(run(exe).0, console, "a second run prints the same");
}

#[test]
fn upstream_philosophers_match_their_golden_output() {
    check(
        env!("CARGO_BIN_EXE_upstream-philosophers"),
        include_str!("golden/upstream-philosophers.txt"),
        "upstream-philosophers",
        "zephyr-sim: rust_main returned; idle at 1.017 s",
    );
}

#[test]
fn upstream_embassy_matches_its_golden_output() {
    // rust_main runs the main executor forever: the run ends when every thread is idle.
    check(
        env!("CARGO_BIN_EXE_upstream-embassy"),
        include_str!("golden/upstream-embassy.txt"),
        "upstream-embassy",
        "zephyr-sim: idle at 0.750 s",
    );
}

#[test]
fn upstream_work_matches_its_golden_output() {
    check(
        env!("CARGO_BIN_EXE_upstream-work"),
        include_str!("golden/upstream-work.txt"),
        "upstream-work",
        "zephyr-sim: rust_main returned; idle at 0.200 s",
    );
}

#[test]
fn interrupt_demo_matches_its_golden_output() {
    // samples/interrupt: the ticker's ticks inside the cooperative thread's computation, the
    // task spawned from a thread printing before the spawner's next line.
    check(
        env!("CARGO_BIN_EXE_interrupt-demo"),
        include_str!("golden/interrupt-demo.txt"),
        "interrupt-demo",
        "zephyr-sim: rust_main returned; idle at 0.040 s",
    );
}
