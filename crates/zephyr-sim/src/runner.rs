//! Boots a Zephyr application's `rust_main` on the simulated board: the host program behind
//! [`app_main!`](crate::app_main) and `scripts/sim-run`.
//!
//! A Zephyr application in Rust is a `no_std` library exporting `#[no_mangle] extern "C" fn
//! rust_main()`, which the module's C `main()` calls on a board. On the host, a binary of three
//! lines does the same on the simulated kernel:
//!
//! ```ignore
//! // src/main.rs of a host package depending on the application and on zephyr-sim
//! zephyr_sim::app_main!(my_app); // the application's library name
//! ```
//!
//! `scripts/sim-run <app-dir> [options]` writes that package for any application directory and
//! runs it, with the application's `prj.conf` configuring the simulated kernel.
//!
//! # The run
//!
//! The board boots with the kernel's Kconfig (`zephyr_sys::CONFIG_MAIN_THREAD_PRIORITY` for the
//! main thread, `CONFIG_SYS_CLOCK_TICKS_PER_SEC`, `CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC`: the
//! simulated board's configuration with the application's fragments over it, see
//! `zephyr-build`) and its main thread calls `rust_main`. As on Zephyr, `rust_main` returning
//! ends only the main thread: the other threads go on. The run ends
//!
//! | when | exit code | last line on stderr |
//! |------|-----------|---------------------|
//! | virtual time reaches `--for` | 0 | `zephyr-sim: time limit reached at ...` |
//! | `rust_main` returned, and no thread is left or every one left waits for an event nothing will bring (the system idles) | 0 | `zephyr-sim: rust_main returned; idle at ...` |
//! | `rust_main` has not returned (an executor runs on the main thread) and every thread waits for an event nothing will bring | 0 | `zephyr-sim: idle at ...` |
//! | the program calls [`crate::exit`] | its code | `zephyr-sim: exit(N) at ...` |
//! | a panic on any thread or ISR, a stack overflow, a stalled thread | 1 | the report |
//! | a deadlock: threads wait on each other (a mutex whose owner is blocked, a join) | 1 | the report, one line per thread |
//! | a bad command line | 2 | the usage |
//!
//! Standard output carries exactly the program's console output (`printk`, `printkln!`), so a
//! golden file can be compared with it; the runner's own lines go to standard error, each
//! starting with `zephyr-sim:`.
//!
//! # Options
//!
//! * `--for <duration>` (or the environment variable `ZEPHYR_SIM_FOR`; the option wins): stop
//!   when virtual time reaches `duration` after boot, for programs that never return (most
//!   firmware loops forever). A number with a unit, `us`, `ms`, `s`, `m` or `h` (`90s`,
//!   `1.5s`, `250ms`); a bare number is seconds. Without it the run has no limit.
//! * `--realtime`: pace virtual time to the wall clock, to watch a demo at a board's speed.

use std::cell::Cell;
use std::io::Write as _;
use std::rc::Rc;
use std::time::Duration;

use crate::{Outcome, Sim, SimError};

/// The environment variable that gives the time limit when `--for` does not.
pub const TIME_LIMIT_VAR: &str = "ZEPHYR_SIM_FOR";

/// The runner's command-line help.
pub const USAGE: &str = "\
usage: <runner> [--for <duration>] [--realtime]
  --for <duration>  stop when virtual time reaches <duration> (exit 0): 90s, 1.5s, 250ms,
                    2m, 100us, or a number of seconds; also ZEPHYR_SIM_FOR=<duration>
  --realtime        pace virtual time to the wall clock
Standard output is the program's console; the runner's lines go to standard error.";

/// How a run is configured: the runner's command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Where virtual time stops the run (`--for`, `ZEPHYR_SIM_FOR`); `None`: no limit.
    pub time_limit: Option<Duration>,
    /// Pace virtual time to the wall clock (`--realtime`).
    pub realtime: bool,
}

impl Options {
    /// Reads the options from the command line `args` (without the program name) and the
    /// value of `ZEPHYR_SIM_FOR`, if set; `--for` wins over the variable.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zephyr_sim::runner::Options;
    ///
    /// let options = Options::parse(["--for".to_string(), "30s".to_string()], Some("5s")).unwrap();
    /// assert_eq!(options.time_limit, Some(Duration::from_secs(30)));
    /// assert!(!options.realtime);
    /// ```
    ///
    /// # Errors
    /// A message for an unknown option, a missing or malformed duration, or `--help` (the
    /// message is then the usage).
    pub fn parse<I>(args: I, time_limit_var: Option<&str>) -> Result<Options, String>
    where
        I: IntoIterator<Item = String>,
    {
        let mut options = Options::default();
        if let Some(text) = time_limit_var.filter(|t| !t.is_empty()) {
            options.time_limit =
                Some(parse_duration(text).map_err(|e| format!("{TIME_LIMIT_VAR}={text}: {e}"))?);
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value)),
                _ => (arg.clone(), None),
            };
            match name.as_str() {
                "--for" => {
                    let text = match inline {
                        Some(text) => text.to_string(),
                        None => args.next().ok_or("--for needs a duration, such as 30s")?,
                    };
                    options.time_limit =
                        Some(parse_duration(&text).map_err(|e| format!("--for {text}: {e}"))?);
                }
                "--realtime" if inline.is_none() => options.realtime = true,
                "--help" | "-h" => return Err(USAGE.to_string()),
                _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
            }
        }
        Ok(options)
    }

    /// [`parse`](Self::parse) on this process's arguments and environment.
    ///
    /// # Errors
    /// As [`parse`](Self::parse).
    pub fn from_env() -> Result<Options, String> {
        let var = std::env::var(TIME_LIMIT_VAR).ok();
        Self::parse(std::env::args().skip(1), var.as_deref())
    }

    /// The simulated board these options boot: the kernel's Kconfig (main thread priority,
    /// tick and cycle rates), the time limit, real-time pacing, and the main thread's return
    /// ending only that thread, as on Zephyr.
    pub fn board(&self) -> Sim {
        Sim::new()
            .main_priority(zephyr_sys::CONFIG_MAIN_THREAD_PRIORITY)
            .ticks_per_sec(zephyr_sys::CONFIG_SYS_CLOCK_TICKS_PER_SEC)
            .cycles_per_sec(zephyr_sys::CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC)
            .time_limit(self.time_limit)
            .realtime(self.realtime)
            .main_return_ends_run(false)
            // Firmware that never returns (an executor run on the main thread) ends idle.
            .idle_ends_run(true)
    }
}

/// Reads a duration: a decimal number and a unit (`us`, `ms`, `s`, `m`, `h`), or a bare
/// number of seconds.
///
/// ```
/// use std::time::Duration;
/// use zephyr_sim::runner::parse_duration;
///
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
/// assert!(parse_duration("ten seconds").is_err());
/// ```
///
/// # Errors
/// A message saying what is wrong with `text`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let nanos_per_unit: f64 = match unit.trim() {
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "" | "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        other => return Err(format!("unknown unit {other:?} (use us, ms, s, m or h)")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (a number and a unit, such as 30s)"))?;
    let nanos = (value * nanos_per_unit).round();
    if !nanos.is_finite() || nanos > u64::MAX as f64 {
        return Err(format!("{text:?} is too long"));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// How a run ended, as the runner reports it.
#[derive(Debug)]
pub struct Finished {
    /// The process exit code (see the [module docs](self#the-run)).
    pub exit_code: i32,
    /// The runner's report, for standard error: its lines start with `zephyr-sim:`, the last
    /// says how the run ended.
    pub report: String,
    /// The simulation's result.
    pub result: Result<Outcome<()>, SimError>,
}

/// Runs `rust_main` as the main thread's body on `board` (usually [`Options::board`]) and says
/// how the run ended. Prints nothing itself: the console goes where `board` sends it (stdout
/// unless captured).
///
/// # Panics
/// If a simulation is already running on this host thread.
pub fn run(board: Sim, rust_main: impl FnOnce() + 'static) -> Finished {
    let returned = Rc::new(Cell::new(false));
    let returned_in_main = returned.clone();
    let result = board.run(move || {
        rust_main();
        // As on Zephyr, the main thread ends and the system goes on.
        returned_in_main.set(true);
    });
    let (exit_code, report) = match &result {
        Ok(outcome) if outcome.time_limit_reached => (
            0,
            format!(
                "zephyr-sim: time limit reached at {}: stopped (exit 0)",
                at(outcome.uptime_ticks)
            ),
        ),
        Ok(Outcome { exit_code: Some(code), uptime_ticks, .. }) => {
            (*code, format!("zephyr-sim: exit({code}) at {}", at(*uptime_ticks)))
        }
        Ok(outcome) if returned.get() => (
            0,
            format!(
                "zephyr-sim: rust_main returned; idle at {}: no thread can run again (exit 0)",
                at(outcome.uptime_ticks)
            ),
        ),
        Ok(outcome) => (
            0,
            format!(
                "zephyr-sim: idle at {}: every thread waits for an event nothing will bring \
                 (exit 0)",
                at(outcome.uptime_ticks)
            ),
        ),
        Err(e) => {
            let text = e.to_string();
            let mut lines: Vec<String> =
                text.trim_end().lines().map(|l| format!("zephyr-sim: {l}")).collect();
            lines.push("zephyr-sim: the run failed (exit 1)".to_string());
            (1, lines.join("\n"))
        }
    };
    Finished { exit_code, report, result }
}

/// `ticks` of uptime as the runner's lines say it.
fn at(ticks: i64) -> String {
    let ms = ticks * 1000 / i64::from(zephyr_sys::CONFIG_SYS_CLOCK_TICKS_PER_SEC);
    format!("{}.{:03} s of virtual time", ms / 1000, ms % 1000)
}

/// The runner program: reads the [`Options`] from the command line and `ZEPHYR_SIM_FOR`, runs
/// `rust_main` on their [board](Options::board), prints the [report](Finished::report) to
/// standard error and exits with its code. What [`app_main!`](crate::app_main) calls.
pub fn main(rust_main: impl FnOnce() + 'static) -> ! {
    let options = match Options::from_env() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("zephyr-sim: {message}");
            let help = std::env::args().any(|a| a == "--help" || a == "-h");
            std::process::exit(if help { 0 } else { 2 })
        }
    };
    main_with(options, rust_main)
}

/// [`main`] with the options given: runs `rust_main` on their board, prints the report to
/// standard error and exits with its code.
pub fn main_with(options: Options, rust_main: impl FnOnce() + 'static) -> ! {
    report_panics_and_exit();
    let finished = run(options.board(), rust_main);
    let _ = std::io::stdout().flush();
    eprintln!("{}", finished.report);
    std::process::exit(finished.exit_code)
}

/// Makes a panic on a simulated thread or ISR end the process with the runner's report and
/// exit code 1, as Zephyr's fatal error handler ends the system. `rust_main` is `extern "C"`:
/// a panic cannot unwind out of it to the simulator (Rust aborts the process at that
/// boundary), so the report is made in the panic hook, after the usual panic message.
fn report_panics_and_exit() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The simulator's own unwind (`exit`, the watchdog's stop) does not call this hook;
        // when it meets `rust_main`'s `extern "C"` boundary, the abort there does. The unwind
        // says how the run ends: skip the default hook's backtrace.
        let unwinding = crate::switch::unwind_in_progress();
        if unwinding.is_none() {
            previous(info);
        }
        if !crate::kernel::running() {
            return;
        }
        let error = match unwinding {
            Some(crate::switch::Unwind::Exit(code)) => {
                let uptime = crate::kernel::peek(|k| k.uptime_ticks());
                let _ = std::io::stdout().flush();
                eprintln!("zephyr-sim: exit({code}) at {}", at(uptime));
                std::process::exit(code);
            }
            Some(crate::switch::Unwind::Stall) => {
                "the thread was stopped (reported above)".to_string()
            }
            None if crate::kernel::in_kernel() => {
                let message = crate::switch::panic_message(info.payload());
                format!("fatal error: a kernel call panicked: {message}")
            }
            None => {
                let message = crate::switch::panic_message(info.payload());
                crate::kernel::peek(|k| {
                    SimError::Panic {
                        context: crate::switch::current_context(k),
                        message,
                        uptime_ticks: k.uptime_ticks(),
                        console: String::new(),
                    }
                    .to_string()
                })
            }
        };
        let _ = std::io::stdout().flush();
        eprintln!("zephyr-sim: {error}\nzephyr-sim: the run failed (exit 1)");
        std::process::exit(1);
    }));
}

/// Defines a host program's `main` that boots the simulated board and calls a Zephyr
/// application's `rust_main` (see the [runner](crate::runner) for the options, the output and
/// the exit codes).
///
/// `app_main!(my_app)` links the library crate `my_app` (a dependency of the host package: the
/// application, unchanged) and calls the `#[no_mangle] extern "C" fn rust_main()` it exports;
/// the function need not be public. `app_main!()` calls a `rust_main` defined elsewhere in the
/// program.
///
/// ```no_run
/// // A program with its own rust_main (an application crate usually provides it).
/// #[no_mangle]
/// extern "C" fn rust_main() {
///     let text = "hello from the simulated board\n";
///     // SAFETY: a kernel call from the main thread; the bytes are readable.
///     unsafe { zephyr_sys::k_str_out(text.as_ptr() as *mut _, text.len()) };
/// }
///
/// zephyr_sim::app_main!();
/// ```
#[macro_export]
macro_rules! app_main {
    () => {
        fn main() {
            extern "C" {
                // The application's entry point (`#[no_mangle] extern "C" fn rust_main()`),
                // declared here, in the program, not in zephyr-sim: only programs that call it
                // need it.
                fn rust_main();
            }
            $crate::runner::main(|| {
                // SAFETY: `rust_main` takes no arguments and is meant to be called once, on
                // the main thread, as Zephyr's `main()` calls it: this is that call.
                unsafe { rust_main() }
            })
        }
    };
    ($app:ident) => {
        // Links the application's library, which exports `rust_main`.
        use $app as _;

        $crate::app_main!();
    };
}
