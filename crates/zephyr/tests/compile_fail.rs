//! Misconfigurations that must not compile, each checked by building a small crate in
//! `tests/compile-fail/` and reading the compiler's message.

use std::path::Path;
use std::process::Command;

/// Runs `cargo check` on the fixture and returns its stderr, asserting it failed.
fn check_fails(fixture: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compile-fail").join(fixture);
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-fail");
    let out = Command::new(env!("CARGO"))
        .args(["check", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CONFIG_SYS_CLOCK_TICKS_PER_SEC")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{fixture} must not compile, but it did:\n{stderr}");
    stderr
}

/// Zephyr's tick rate (CONFIG_SYS_CLOCK_TICKS_PER_SEC, 10 000) and embassy-time's (100 Hz)
/// disagree: a compile error that names the embassy-time feature to pick.
#[test]
fn a_tick_rate_mismatch_does_not_compile() {
    let err = check_fails("tick-mismatch");
    assert!(
        err.contains(
            "zephyr time driver: Zephyr ticks at 10000 Hz (CONFIG_SYS_CLOCK_TICKS_PER_SEC) but \
             embassy-time at another rate: enable embassy-time's feature `tick-hz-10_000`, or \
             zephyr's feature `time-driver-convert`"
        ),
        "{err}"
    );
}

/// `executor-zephyr` with embassy-executor's `platform-std` + `executor-thread`: a compile
/// error pointing at the guard that explains the conflict.
#[test]
fn executor_zephyr_with_an_embassy_platform_executor_does_not_compile() {
    let err = check_fails("platform-conflict");
    assert!(err.contains("`Executor` is ambiguous"), "{err}");
    assert!(err.contains("ExecutorZephyrConflictsWithEmbassyExecutorThread"), "{err}");
    assert!(
        err.contains(
            "use executor_zephyr_cannot_be_combined_with_an_embassy_executor_platform_executor::*;"
        ),
        "{err}"
    );
}

/// `#[zephyr::thread]` arguments that borrow for less than `'static` (an elided reference, an
/// anonymous lifetime): a compile error at each, saying why, as upstream's attribute has it.
#[test]
fn a_thread_argument_that_is_not_static_does_not_compile() {
    let err = check_fails("thread-arg-lifetime");
    let why = "thread arguments must live forever: a reference argument must be `&'static` (the \
               thread may outlive the call that starts it)";
    assert_eq!(err.matches(why).count(), 2, "{err}");
    assert!(err.contains("fn elided(value: &u32)"), "{err}");
    assert!(err.contains("fn anonymous(holder: Holder<'_>)"), "{err}");
}
