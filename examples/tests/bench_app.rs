//! The bench application runs every scenario to its end on the simulator and prints its line.
//! Cycle counts are not checked: no virtual time passes while code runs, so they are 0 here.

use zephyr_bench_app::ROUND_TRIPS;

#[test]
fn bench_app_prints_every_scenario_then_done() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bench-app"))
        .output()
        .expect("the bench app runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    let scenarios = ["thread", "thread-same-prio", "cs", "noop", "thread-task", "irq", "irq-task"];
    assert!(lines.len() >= scenarios.len() + 2, "too few lines:\n{stdout}");
    for (line, scenario) in lines.iter().zip(scenarios) {
        let prefix = format!("bench {scenario} round_trips={ROUND_TRIPS} cycles=");
        let cycles = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("expected `{prefix}<cycles>`, got `{line}` in:\n{stdout}"));
        cycles.parse::<u32>().unwrap_or_else(|_| panic!("cycles of `{line}` is a u32"));
    }
    let hz = lines[scenarios.len()].strip_prefix("bench hw_cycles_per_sec=").expect(&stdout);
    assert!(hz.parse::<u32>().expect("a rate") > 0);
    assert_eq!(lines[scenarios.len() + 1], "bench done", "in:\n{stdout}");
}
