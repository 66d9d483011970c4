//! The demos print exactly their golden output (virtual time makes them deterministic), and
//! the same bytes on every run.

fn run(exe: &str) -> String {
    let out = std::process::Command::new(exe).output().expect("the demo runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn check(exe: &str, golden: &str, name: &str) {
    let first = run(exe);
    for (i, (a, e)) in first.lines().zip(golden.lines()).enumerate() {
        assert_eq!(a, e, "line {} differs from tests/golden/{name}.txt", i + 1);
    }
    assert_eq!(first, golden);
    assert_eq!(run(exe), first, "a second run prints the same");
}

#[test]
fn embassy_demo_matches_its_golden_output_every_run() {
    check(
        env!("CARGO_BIN_EXE_embassy-demo"),
        include_str!("golden/embassy-demo.txt"),
        "embassy-demo",
    );
}

#[test]
fn kio_demo_matches_its_golden_output_every_run() {
    check(env!("CARGO_BIN_EXE_kio-demo"), include_str!("golden/kio-demo.txt"), "kio-demo");
}

#[test]
fn device_demo_matches_its_golden_output_every_run() {
    check(env!("CARGO_BIN_EXE_device-demo"), include_str!("golden/device-demo.txt"), "device-demo");
}

#[test]
fn cpu_demo_matches_its_golden_output_every_run() {
    check(env!("CARGO_BIN_EXE_cpu-demo"), include_str!("golden/cpu-demo.txt"), "cpu-demo");
}
