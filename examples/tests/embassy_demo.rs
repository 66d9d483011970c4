//! The main demo prints exactly its golden output (virtual time makes it deterministic), and
//! the same bytes on every run.

#[test]
fn embassy_demo_matches_its_golden_output_every_run() {
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_embassy-demo"))
            .output()
            .expect("the demo runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let golden = include_str!("golden/embassy-demo.txt");
    let first = run();
    for (i, (a, e)) in first.lines().zip(golden.lines()).enumerate() {
        assert_eq!(a, e, "line {} differs from tests/golden/embassy-demo.txt", i + 1);
    }
    assert_eq!(first, golden);
    assert_eq!(run(), first, "a second run prints the same");
}
