//! The application runner (`zephyr_sim::runner`, behind `app_main!` and `scripts/sim-run`):
//! how each kind of run ends, with its exit code and its last line, and `Sim::time_limit`.

use std::time::Duration;

use zephyr_sim::runner::{self, Options};
use zephyr_sim::{spawn_thread, Sim};
use zephyr_sys::*;

/// Firmware's usual shape: print every 10 s, forever (zephyr-lang-rust's philosophers).
fn forever() {
    loop {
        // SAFETY: kernel calls from a simulated thread.
        unsafe {
            k_msleep(10_000);
            printk!("at {} ms\n", k_uptime_get());
        }
    }
}

fn board(time_limit: Option<Duration>) -> Sim {
    Options { time_limit, realtime: false }.board().capture_console(true)
}

fn last_line(report: &str) -> &str {
    report.lines().last().unwrap()
}

/// `--for 35s` stops a program that never returns at 35 s of virtual time, cleanly: exit 0,
/// the console as printed, and a last line saying so. (A sleep of 10 s ends a tick later.)
#[test]
fn stops_at_the_time_limit() {
    let finished = runner::run(board(Some(Duration::from_secs(35))), forever);
    assert_eq!(finished.exit_code, 0);
    assert_eq!(
        finished.report,
        "zephyr-sim: time limit reached at 35.000 s of virtual time: stopped (exit 0)"
    );
    let outcome = finished.result.unwrap();
    assert!(outcome.time_limit_reached);
    assert_eq!(outcome.uptime_ticks, 350_000);
    assert_eq!(outcome.console, "at 10000 ms\nat 20000 ms\nat 30000 ms\n");
}

/// Everything due at the limit runs; the run ends when the next event is later.
#[test]
fn events_at_the_limit_run() {
    let outcome = Sim::new()
        .capture_console(true)
        .time_limit(Some(Duration::from_micros(20_000_200)))
        .run(forever)
        .unwrap();
    assert!(outcome.time_limit_reached);
    assert_eq!(outcome.console, "at 10000 ms\nat 20000 ms\n");
    assert_eq!(outcome.uptime_ticks, 200_002);
}

/// A busy wait across the limit ends the run inside it, at the limit.
#[test]
fn a_busy_wait_stops_at_the_limit() {
    let outcome = Sim::new()
        .time_limit(Some(Duration::from_secs(1)))
        // SAFETY: a kernel call from the main thread.
        .run(|| unsafe { k_busy_wait(5_000_000) })
        .unwrap();
    assert!(outcome.time_limit_reached);
    assert_eq!(outcome.value, None);
    assert_eq!(outcome.uptime_ticks, 10_000);
}

/// Without a limit nothing changes: a program whose main returns ends the run.
#[test]
fn no_limit_no_change() {
    let outcome = Sim::new().time_limit(None).run(|| 7).unwrap();
    assert!(!outcome.time_limit_reached);
    assert_eq!(outcome.value, Some(7));
}

/// A panic on any thread ends the run with the report and exit 1.
#[test]
fn reports_a_panic() {
    let finished = runner::run(board(Some(Duration::from_secs(60))), || {
        printk!("starting\n");
        // SAFETY: a kernel call from the main thread.
        unsafe { k_msleep(1000) };
        panic!("the fork is missing");
    });
    assert_eq!(finished.exit_code, 1);
    assert_eq!(
        finished.report,
        "zephyr-sim: fatal error: thread 'main' panicked at tick 10001: the fork is missing\n\
         zephyr-sim: the run failed (exit 1)"
    );
}

/// As on Zephyr, `rust_main` returning ends only the main thread: the others go on, and the
/// run ends, with exit 0, when the system is idle.
#[test]
fn main_returning_leaves_the_other_threads_running() {
    let finished = runner::run(board(None), || {
        spawn_thread("worker", 5, || {
            for _ in 0..3 {
                // SAFETY: kernel calls from a simulated thread.
                unsafe {
                    k_msleep(100);
                    printk!("worker at {} ms\n", k_uptime_get());
                }
            }
        });
        printk!("rust_main returns\n");
    });
    assert_eq!(finished.exit_code, 0, "{}", finished.report);
    assert_eq!(
        last_line(&finished.report),
        "zephyr-sim: rust_main returned; idle at 0.300 s of virtual time: no thread can run \
         again (exit 0)"
    );
    assert_eq!(
        finished.result.unwrap().console,
        "rust_main returns\nworker at 100 ms\nworker at 200 ms\nworker at 300 ms\n"
    );
}

/// Firmware that never returns (an executor run on the main thread) ends idle: every thread
/// waits for an event nothing will bring, exit 0.
#[test]
fn a_main_thread_blocked_for_good_is_idle() {
    let finished = runner::run(board(Some(Duration::from_secs(60))), || {
        let sem: &'static mut k_sem = Box::leak(Box::new(k_sem::new()));
        // SAFETY: kernel calls from the main thread on a leaked (never moving) semaphore.
        unsafe {
            k_sem_init(sem, 0, 1);
            k_msleep(5);
            k_sem_take(sem, K_FOREVER);
        }
    });
    assert_eq!(finished.exit_code, 0, "{}", finished.report);
    assert_eq!(
        last_line(&finished.report),
        "zephyr-sim: idle at 0.005 s of virtual time: every thread waits for an event nothing \
         will bring (exit 0)"
    );
}

/// Threads that wait on each other are a deadlock: the report names each thread and what it
/// waits on, exit 1.
#[test]
fn reports_a_deadlock() {
    let finished = runner::run(board(Some(Duration::from_secs(60))), || {
        let mutex: &'static mut k_mutex = Box::leak(Box::new(k_mutex::new()));
        let mutex: *mut k_mutex = mutex;
        // SAFETY: kernel calls from the main thread on a leaked (never moving) mutex.
        unsafe {
            k_mutex_init(mutex);
            k_mutex_lock(mutex, K_FOREVER);
        }
        let worker = spawn_thread("worker", 5, move || {
            // SAFETY: as above, from the worker thread.
            unsafe { k_mutex_lock(mutex, K_FOREVER) };
        });
        // SAFETY: joins a thread of this simulation from the main thread.
        unsafe { k_thread_join(worker, K_FOREVER) };
    });
    assert_eq!(finished.exit_code, 1);
    assert!(finished.report.starts_with("zephyr-sim: deadlock at tick 0"), "{}", finished.report);
    assert!(finished.report.contains("threads wait on each other"), "{}", finished.report);
    assert!(finished.report.contains("zephyr-sim:   main (prio 0)"), "{}", finished.report);
    assert_eq!(last_line(&finished.report), "zephyr-sim: the run failed (exit 1)");
}

/// `exit(code)` ends the run with that code.
#[test]
fn exit_gives_its_code() {
    let finished = runner::run(board(None), || zephyr_sim::exit(3));
    assert_eq!(finished.exit_code, 3);
    assert_eq!(finished.report, "zephyr-sim: exit(3) at 0.000 s of virtual time");
}

/// An application's `rust_main`: `extern "C"`, so no unwind crosses it.
extern "C" fn rust_main_that_exits() {
    zephyr_sim::exit(3);
}

/// The environment variable that makes this test binary, started again by
/// `exit_inside_an_extern_c_rust_main_gives_its_code`, be the runner program.
const CHILD: &str = "ZEPHYR_SIM_RUNNER_TEST_CHILD";

/// `exit` inside an `extern "C"` `rust_main` (what `app_main!` calls): its unwind aborts at
/// that frame, and the runner program still ends with the code and its line, not a failure.
/// The runner program exits the process, so it runs in a child: this test binary, again.
#[test]
fn exit_inside_an_extern_c_rust_main_gives_its_code() {
    if std::env::var_os(CHILD).is_some() {
        runner::main_with(Options { time_limit: None, realtime: false }, || rust_main_that_exits());
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["exit_inside_an_extern_c_rust_main_gives_its_code", "--exact", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(last_line(&stderr), "zephyr-sim: exit(3) at 0.000 s of virtual time", "{stderr}");
}

#[test]
fn options_from_the_command_line_and_the_environment() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(Options::parse(args(&[]), None), Ok(Options::default()));
    assert_eq!(
        Options::parse(args(&["--realtime", "--for=1.5s"]), None),
        Ok(Options { time_limit: Some(Duration::from_millis(1500)), realtime: true })
    );
    // The variable gives the limit; the option wins over it.
    assert_eq!(
        Options::parse(args(&[]), Some("2m")).unwrap().time_limit,
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        Options::parse(args(&["--for", "100us"]), Some("2m")).unwrap().time_limit,
        Some(Duration::from_micros(100))
    );
    assert!(Options::parse(args(&["--for"]), None).unwrap_err().contains("needs a duration"));
    assert!(Options::parse(args(&["--for", "soon"]), None).is_err());
    assert!(Options::parse(args(&["--fast"]), None).unwrap_err().starts_with("unknown argument"));
    assert!(Options::parse(args(&[]), Some("5 parsecs"))
        .unwrap_err()
        .starts_with("ZEPHYR_SIM_FOR"));
}

/// The board boots with the kernel's Kconfig: the runner adds nothing of its own.
#[test]
fn the_board_has_the_kernel_configuration() {
    let outcome = Options::default()
        .board()
        // SAFETY: kernel calls from the main thread.
        .run(|| unsafe { (k_thread_priority_get(k_current_get()), sys_clock_hw_cycles_per_sec()) })
        .unwrap();
    assert_eq!(
        outcome.value,
        Some((CONFIG_MAIN_THREAD_PRIORITY, CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC as _))
    );
}
