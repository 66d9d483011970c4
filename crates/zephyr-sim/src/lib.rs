//! A simulated Zephyr kernel on the host: deterministic, fast, in virtual time.
//!
//! `zephyr-sim` implements the kernel API that `zephyr-sys` declares (threads, semaphores,
//! mutexes, condition variables, timers, work queues and delayable work, `k_poll`, poll
//! signals and triggered work, queues and FIFOs, message queues, time, interrupt locking, the
//! console) with Zephyr's names, signatures and documented semantics, in the spirit of
//! Zephyr's `native_sim` board.
//! Code written against `zephyr-sys` runs on it unchanged, under `cargo test`; a Zephyr
//! application's `rust_main` runs on it unchanged through the [`runner`] ([`app_main!`],
//! `scripts/sim-run`).
//!
//! ```
//! use zephyr_sys::*;
//!
//! let outcome = zephyr_sim::Sim::new()
//!     .run(|| {
//!         // SAFETY: kernel calls from the simulated main thread.
//!         unsafe {
//!             let t0 = k_uptime_ticks();
//!             k_msleep(10); // 10 ms = 100 ticks at 10 kHz; a sleep ends 1 tick later
//!             k_uptime_ticks() - t0
//!         }
//!     })
//!     .unwrap();
//! assert_eq!(outcome.value, Some(101));
//! ```
//!
//! # Design principles
//!
//! 1. **One simulated CPU.** Exactly one thread or ISR runs at a time. Each thread runs on a
//!    host stack of its own; a thread switch is a user-space stack switch, straight from the
//!    outgoing thread to the incoming one, as on a real CPU (x86_64 and aarch64 Unix hosts);
//!    the whole simulation runs on the host thread that called [`Sim::run`].
//! 2. **Zephyr's rules, with sources.** Scheduling, rounding and return codes follow Zephyr
//!    2.7's `kernel/*.c` and the real-kernel traces in `shared/conformance`; each rule has a
//!    test that names its source.
//! 3. **Virtual time.** No time passes while code runs; `k_busy_wait` advances it; when every
//!    thread is blocked, time jumps to the next timeout. A 1 MHz cycle counter (by default)
//!    runs under a 10 kHz tick (by default), tickless.
//! 4. **Deterministic.** The same program gives the same interleaving, timestamps and
//!    [trace](Sim::trace), every run.
//! 5. **Errors, not hangs.** A deadlock ends the run with a report of every thread and what it
//!    waits on; a panic on any simulated thread or ISR ends the run with its message, and so
//!    does a stack overflow (Zephyr's stack guard fault, naming the thread); misuse that Zephyr
//!    only asserts (blocking in an ISR, objects never initialised or moved) panics naming the
//!    call; a thread that spins without ever giving up the CPU is reported and, if it lasts,
//!    stopped by the [watchdog](Sim::stall_limit).
//! 6. **Isolated.** Each [`Sim::run`] is its own system; simulations on different host
//!    threads (parallel tests) share nothing.
//!
//! # Differences from a real kernel
//!
//! * Threads run on host stacks of [`Sim::stack_size`]; the stack buffer given to
//!   `k_thread_create` is not used. An overflow of a host stack is reported as
//!   [`SimError::StackOverflow`] on Linux x86_64 and aarch64; on other hosts it kills the
//!   process with SIGSEGV.
//! * The run ends when `main` returns (or [`exit`] is called); threads still alive then are
//!   discarded without unwinding (objects on their stacks are leaked, never dropped).
//! * Interrupts arrive only while idle, during `k_busy_wait`, or at `irq_unlock`: a loop that
//!   spins without kernel calls never sees one, and would hang the simulation; the watchdog
//!   ends such a run after [`Sim::stall_limit`] (a loop without any kernel call, only on Linux
//!   x86_64 and aarch64).
//! * The system work queue is started the first time it is used, not at boot (a simulation
//!   that never uses it has no `sysworkq` thread); see [`api::work`].

pub mod api;
mod context;
pub mod cost;
pub mod cpu;
pub mod devices;
pub mod host;
pub mod irq;
mod kernel;
mod nvic;
pub mod readyq;
pub mod runner;
mod signals;
mod switch;
pub mod sysheap;
mod timeline;
pub mod timeslice;
pub mod trace;
mod watchdog;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use zephyr_sys::{
    CONFIG_MAIN_THREAD_PRIORITY, CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC,
    CONFIG_SYS_CLOCK_TICKS_PER_SEC, CONFIG_TIMESLICE_PRIORITY, CONFIG_TIMESLICE_SIZE,
    CONFIG_TIMESLICING,
};

pub use host::spawn_thread;
use kernel::{End, Kernel, MAIN};
pub use trace::{Trace, TraceEvent, TraceRecord};

static NEXT_SIMULATION: AtomicU32 = AtomicU32::new(1);

/// A simulated board, configured as Kconfig would, ready to boot.
#[derive(Clone, Debug)]
pub struct Sim {
    ticks_per_sec: u32,
    cycles_per_sec: u32,
    main_priority: i32,
    timeslicing: bool,
    time_slice_ms: u32,
    time_slice_priority: i32,
    trace: bool,
    trace_file: Option<std::path::PathBuf>,
    capture_console: bool,
    realtime: bool,
    idle_ends_run: bool,
    time_limit: Option<std::time::Duration>,
    main_return_ends_run: bool,
    stack_size: usize,
    watchdog: Option<std::time::Duration>,
    stall_limit: Option<std::time::Duration>,
    seed: Option<u64>,
    board: devices::Board,
    cost: cost::CostModel,
    sched_deadline: bool,
    zero_latency_irqs: bool,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    /// A board with the Kconfig defaults: `CONFIG_SYS_CLOCK_TICKS_PER_SEC` (10 000), a 1 MHz
    /// cycle counter, main at `CONFIG_MAIN_THREAD_PRIORITY` (0).
    pub fn new() -> Self {
        Sim {
            ticks_per_sec: CONFIG_SYS_CLOCK_TICKS_PER_SEC,
            cycles_per_sec: CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC,
            main_priority: CONFIG_MAIN_THREAD_PRIORITY,
            timeslicing: CONFIG_TIMESLICING,
            time_slice_ms: CONFIG_TIMESLICE_SIZE,
            time_slice_priority: CONFIG_TIMESLICE_PRIORITY,
            trace: false,
            trace_file: None,
            capture_console: false,
            realtime: false,
            idle_ends_run: false,
            time_limit: None,
            main_return_ends_run: true,
            stack_size: 256 * 1024,
            watchdog: Some(std::time::Duration::from_secs(10)),
            stall_limit: Some(std::time::Duration::from_secs(30)),
            seed: None,
            board: devices::Board::default(),
            cost: cost::CostModel::none(),
            sched_deadline: zephyr_sys::CONFIG_SCHED_DEADLINE,
            zero_latency_irqs: zephyr_sys::CONFIG_ZERO_LATENCY_IRQS,
        }
    }

    /// Sets the tick rate (as `CONFIG_SYS_CLOCK_TICKS_PER_SEC` would).
    ///
    /// # Panics
    /// If zero; [`run`](Self::run) panics if it exceeds the cycle counter rate.
    pub fn ticks_per_sec(mut self, hz: u32) -> Self {
        assert!(hz > 0, "ticks_per_sec must be positive");
        self.ticks_per_sec = hz;
        self
    }

    /// Sets the hardware cycle counter rate, in Hz.
    pub fn cycles_per_sec(mut self, hz: u32) -> Self {
        assert!(hz > 0, "cycles_per_sec must be positive");
        self.cycles_per_sec = hz;
        self
    }

    /// Orders ready and waiting threads of equal priority by deadline
    /// (`k_thread_deadline_set`), as `CONFIG_SCHED_DEADLINE=y` does (kernel/sched.c:
    /// `z_sched_prio_cmp`). Default: the board's `CONFIG_SCHED_DEADLINE` (off).
    pub fn sched_deadline(mut self, on: bool) -> Self {
        self.sched_deadline = on;
        self
    }

    /// Gives the board zero-latency interrupts, as `CONFIG_ZERO_LATENCY_IRQS=y` does on a
    /// Cortex-M with BASEPRI: a line connected with `IRQ_ZERO_LATENCY` runs above every other
    /// interrupt and `irq_lock`, and may not use the kernel; other lines' least urgent priority
    /// becomes 5 (see the `nvic` module of this crate's source). Default: the board's
    /// `CONFIG_ZERO_LATENCY_IRQS` (off). `zephyr_sys::zr_IRQ_PRIO_LOWEST` follows the board's
    /// option, not this switch.
    pub fn zero_latency_irqs(mut self, on: bool) -> Self {
        self.zero_latency_irqs = on;
        self
    }

    /// Sets the main thread's priority (as `CONFIG_MAIN_THREAD_PRIORITY` would).
    pub fn main_priority(mut self, prio: i32) -> Self {
        self.main_priority = prio;
        self
    }

    /// Sets the time slice at boot, as `CONFIG_TIMESLICING=y`, `CONFIG_TIMESLICE_SIZE=ms` and
    /// `CONFIG_TIMESLICE_PRIORITY=priority` would (the defaults come from the board's
    /// configuration: on, 0 ms, 0). A thread that has run `ms` milliseconds (rounded up to
    /// ticks, at least 2; 0 turns slicing off) goes behind the ready threads of its priority,
    /// if it is preemptible and not more urgent than `priority`. [`timeslice`] has the rules;
    /// `k_sched_time_slice_set` changes them at run time.
    pub fn time_slice(mut self, ms: u32, priority: i32) -> Self {
        self.timeslicing = true;
        self.time_slice_ms = ms;
        self.time_slice_priority = priority;
        self
    }

    /// Records an event trace, returned in [`Outcome::trace`].
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// Writes a trace of the run to `path` when it ends (also when it fails), in Chrome's JSON
    /// trace event format: open it in the Perfetto UI (<https://ui.perfetto.dev>, "Open trace
    /// file") or in `chrome://tracing`. It shows one track per thread with its running
    /// intervals, an ISR track, wake-ups as arrows from the waker to the woken thread, and, with
    /// this crate's `embassy-trace` feature, one track per Embassy executor with its task polls
    /// (name tasks with [`trace::name_task`]). Timestamps are virtual time in microseconds.
    ///
    /// Without it, the environment variable `ZEPHYR_SIM_TRACE` names the file, for any program
    /// or test: `{n}` in it is replaced by the run's number in the process (1, 2, ...);
    /// without `{n}`, the process's first run writes the file and later runs write
    /// `<stem>-2.<ext>`, `<stem>-3.<ext>`... (which run gets which number depends on the order
    /// in which runs start, across parallel tests; each file's contents are deterministic).
    /// Recording costs nothing when neither is set.
    pub fn trace_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.trace_file = Some(path.into());
        self
    }

    /// Collects console output (`printk`) into [`Outcome::console`] instead of stdout.
    pub fn capture_console(mut self, on: bool) -> Self {
        self.capture_console = on;
        self
    }

    /// Paces virtual time to the wall clock (for demos a person watches): when idle, the
    /// simulation waits until real time catches up before the next event. Off by default.
    pub fn realtime(mut self, on: bool) -> Self {
        self.realtime = on;
        self
    }

    /// Makes "idle forever" a normal end of the run: when every thread waits for an event that
    /// only an interrupt or a device could bring (a semaphore give, a message, a signal, a
    /// resume), no thread waits on another, and nothing is pending, the run ends with
    /// `Ok(Outcome)` (its `value` is `None` if `main` had not returned) instead of
    /// [`SimError::Deadlock`]. Firmware often ends that way. Threads that wait on each other
    /// (a mutex owned by a blocked thread, a join, a work flush) are still a deadlock. Off by
    /// default.
    pub fn idle_ends_run(mut self, on: bool) -> Self {
        self.idle_ends_run = on;
        self
    }

    /// Ends the run when virtual time reaches `limit` (measured from boot), with `Ok(Outcome)`
    /// and [`Outcome::time_limit_reached`] set: for firmware that never returns from `main`.
    /// Everything due at or before the limit runs; the run ends when the next event is later,
    /// or when a `k_busy_wait` would pass the limit, with `k_uptime_get()` at the limit.
    /// Threads still alive are discarded as when `main` returns. `None` (the default) runs
    /// without a limit.
    pub fn time_limit(mut self, limit: Option<std::time::Duration>) -> Self {
        self.time_limit = limit;
        self
    }

    /// Whether the run ends when `main` returns (the default) or, as on Zephyr, only the main
    /// thread ends and the other threads go on: the run then ends by [`exit`], at the
    /// [time limit](Self::time_limit), when every thread has ended (a normal end), when the
    /// system is idle forever (a [`SimError::Deadlock`], or a normal end with
    /// [`idle_ends_run`](Self::idle_ends_run)), or with an error.
    pub fn main_return_ends_run(mut self, on: bool) -> Self {
        self.main_return_ends_run = on;
        self
    }

    /// Sets how long a simulated thread may run without giving up the CPU before a diagnostic
    /// is printed to stderr (default 10 s of wall-clock time; `None` turns the watchdog off,
    /// and with it [`stall_limit`](Self::stall_limit)). Such a thread is spinning in a loop
    /// that waits for something that cannot happen while it runs. The watchdog checks at this
    /// interval.
    pub fn watchdog(mut self, interval: Option<std::time::Duration>) -> Self {
        self.watchdog = interval;
        self
    }

    /// Sets how long such a stall may last before the watchdog ends the run with
    /// [`SimError::Stalled`] naming the thread (default 30 s of wall-clock time; `None` only
    /// reports it). Checked at the [`watchdog`](Self::watchdog) interval, so the run ends at
    /// the first check at or past the limit. A thread that still makes kernel calls (polling
    /// with `K_NO_WAIT`, reading the clock) is unwound at its next one, its destructors run; one
    /// that makes none is interrupted one interval later and abandoned where it was, never
    /// unwound (Linux x86_64 and aarch64 only; elsewhere it hangs the run as before).
    pub fn stall_limit(mut self, limit: Option<std::time::Duration>) -> Self {
        self.stall_limit = limit;
        self
    }

    /// Explores interleavings: with a seed, simulated device interrupts
    /// ([`irq::raise_at_cycle`] and friends) arrive at pseudo-random points among those the
    /// hardware allows (anywhere within the tick of their cycle; one raised for "now" from a
    /// thread, at one of the thread's next few kernel calls). Everything Zephyr specifies
    /// (priorities, FIFO among equals, timer expiry at tick boundaries) is unchanged. The same
    /// seed gives the same run; different seeds explore different arrivals.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed | 1);
        self
    }

    /// Charges virtual time for the kernel's and the executor's own work: kernel calls, context
    /// switches, ISR entry and exit, Embassy task polls, from a table of CPU cycles
    /// ([`cost::CostModel`]; [`CostModel::cortex_m3`](cost::CostModel::cortex_m3) ships
    /// calibrated for a Cortex-M3). Off by default ([`CostModel::none`](cost::CostModel::none)):
    /// code takes no virtual time. With a model, a latency or throughput measured in virtual
    /// time is an estimate for that MCU. See [`cost`] for where each entry is charged.
    ///
    /// # Panics
    /// If the model's `cpu_hz` is zero.
    pub fn cost_model(mut self, model: cost::CostModel) -> Self {
        assert!(model.cpu_hz > 0, "CostModel::cpu_hz must be positive");
        self.cost = model;
        self
    }

    /// Sets the board's devices (the simulator's devicetree; see [`devices::Board`]). Each
    /// run boots fresh devices from it. The default board has none.
    pub fn board(mut self, board: devices::Board) -> Self {
        self.board = board;
        self
    }

    /// Sets the host stack size of each simulated thread (default 256 KiB). A thread that
    /// overflows it ends the run with [`SimError::StackOverflow`] naming it, as Zephyr's stack
    /// guard reports `K_ERR_STACK_CHK_FAIL` (on Linux x86_64 and aarch64; elsewhere the
    /// process dies of SIGSEGV).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Boots the board with `main` as the main thread's body and runs until `main` returns,
    /// the program calls [`exit`], or virtual time reaches the [limit](Self::time_limit).
    ///
    /// # Errors
    /// [`SimError`] when the system deadlocks, a simulated thread or ISR panics or overflows
    /// its stack, or the watchdog stops a thread that never gives up the CPU.
    ///
    /// # Panics
    /// If a simulation is already running on this host thread.
    pub fn run<R: 'static>(
        self,
        main: impl FnOnce() -> R + 'static,
    ) -> Result<Outcome<R>, SimError> {
        assert!(
            !kernel::running(),
            "Sim::run: a simulation is already running on this host thread"
        );
        assert!(
            self.ticks_per_sec <= self.cycles_per_sec,
            "the tick rate cannot exceed the cycle counter rate"
        );
        let id = NEXT_SIMULATION.fetch_add(1, Ordering::Relaxed);
        let mut k =
            Box::new(Kernel::new(id, self.ticks_per_sec, self.cycles_per_sec, self.main_priority));
        k.stack_size = self.stack_size;
        k.timeslicing = self.timeslicing;
        if self.timeslicing {
            // z_sched_init: k_sched_time_slice_set(CONFIG_TIMESLICE_SIZE, ...PRIORITY).
            k.set_time_slice(self.time_slice_ms, self.time_slice_priority);
        }
        k.sched_deadline = self.sched_deadline;
        k.zero_latency_irqs = self.zero_latency_irqs;
        if self.trace {
            k.trace = Some(Vec::new());
            k.observed = true;
        }
        let trace_file = self.trace_file.clone().or_else(trace_file_from_env);
        if trace_file.is_some() {
            k.timeline = Some(Box::default());
            k.observed = true;
        }
        if self.capture_console {
            k.console = Some(Vec::new());
        }
        k.idle_ends_run = self.idle_ends_run;
        k.main_return_ends_run = self.main_return_ends_run;
        k.time_limit = self.time_limit.map(|limit| {
            let cycles = limit.as_nanos() * u128::from(self.cycles_per_sec) / 1_000_000_000;
            u64::try_from(cycles).unwrap_or(u64::MAX)
        });
        if self.realtime {
            k.realtime = Some(std::time::Instant::now());
        }
        k.rng = self.seed;
        k.cost = self.cost;
        k.cost_on = !self.cost.is_none();
        k.devices = devices::Devices::boot(&self.board, id);
        let result: Rc<RefCell<Option<R>>> = Rc::new(RefCell::new(None));
        let slot = result.clone();
        let body = Box::new(move || {
            let value = main();
            *slot.borrow_mut() = Some(value);
        });
        let co = switch::make_context(&mut k, MAIN, body);
        k.threads[MAIN as usize].co = Some(co);
        k.start_thread(MAIN);

        struct Installed(*mut Kernel);
        impl Drop for Installed {
            fn drop(&mut self) {
                // Discard every thread still alive, without unwinding its stack.
                // SAFETY: the kernel outlives this guard (both live in `run`).
                let k = unsafe { &mut *self.0 };
                // Dropping a context forgets its frames without running destructors.
                for t in &mut k.threads {
                    t.co = None;
                }
                kernel::install(std::ptr::null_mut());
            }
        }
        let signals = signals::SimulationSignals::enter(k.watch.clone());
        let watchdog = self
            .watchdog
            .map(|every| watchdog::Watchdog::start(k.watch.clone(), every, self.stall_limit));
        let kptr: *mut Kernel = &mut *k;
        kernel::install(kptr);
        let guard = Installed(kptr);
        switch::run_scheduler();
        drop(guard);
        drop(watchdog);
        drop(signals);

        let console = String::from_utf8_lossy(&k.console.take().unwrap_or_default()).into_owned();
        let uptime_ticks = k.uptime_ticks();
        let names: Vec<String> = (0..k.threads.len() as u32).map(|s| k.name(s)).collect();
        let value = result.borrow_mut().take();
        if let (Some(path), Some(timeline)) = (trace_file, k.timeline.take()) {
            let json = timeline.chrome_json(&names, k.cycles_per_sec, k.now);
            if let Err(e) = std::fs::write(&path, json) {
                eprintln!("zephyr-sim: cannot write the trace file {}: {e}", path.display());
            }
        }
        let cpu = cpu::CpuStats {
            cycles_per_sec: k.cycles_per_sec,
            total_cycles: k.now,
            isr_cycles: k.isr_cycles,
            isr_count: k.isr_count,
            threads: k
                .threads
                .iter()
                .zip(&names)
                .map(|(t, name)| cpu::ThreadCpu {
                    name: name.clone(),
                    cycles: t.cpu_cycles,
                    switched_in: t.switched_in,
                })
                .collect(),
        };
        let time_limit_reached = matches!(k.ended.as_deref(), Some(End::TimeLimit));
        let finished = |value: Option<R>, exit_code: Option<i32>, k: &mut Kernel| Outcome {
            value,
            exit_code,
            time_limit_reached,
            uptime_ticks,
            cycles: k.now,
            switches: k.switches,
            cpu: cpu.clone(),
            console: console.clone(),
            trace: k.trace.take().unwrap_or_default(),
            thread_names: names.clone(),
            stalls: k.watch.stalls.load(Ordering::Relaxed),
        };
        match k.ended.take().map(|end| *end) {
            Some(End::MainReturned) if value.is_none() => Err(SimError::MainAborted { console }),
            Some(End::MainReturned) => Ok(finished(value, None, &mut k)),
            Some(End::Exit(code)) => Ok(finished(None, Some(code), &mut k)),
            Some(End::Panic { context, message }) => {
                Err(SimError::Panic { context, message, uptime_ticks, console })
            }
            Some(End::Deadlock(report)) => Err(SimError::Deadlock { report, console }),
            Some(End::StackOverflow { context, stack_size }) => {
                Err(SimError::StackOverflow { context, stack_size, uptime_ticks, console })
            }
            Some(End::Stalled { thread, stalled }) => Err(SimError::Stalled {
                report: watchdog::stall_report(&thread, stalled),
                thread,
                uptime_ticks,
                console,
            }),
            Some(End::Idle | End::TimeLimit) => Ok(finished(value, None, &mut k)),
            None => unreachable!("the scheduler stops only when the simulation ended"),
        }
    }
}

/// The trace file named by `ZEPHYR_SIM_TRACE` for the next run of this process, if set (see
/// [`Sim::trace_file`]).
fn trace_file_from_env() -> Option<std::path::PathBuf> {
    static RUNS: AtomicU32 = AtomicU32::new(1);
    let path = std::env::var_os("ZEPHYR_SIM_TRACE").filter(|p| !p.is_empty())?;
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let path = std::path::PathBuf::from(path);
    let text = path.to_string_lossy();
    if text.contains("{n}") {
        return Some(text.replace("{n}", &n.to_string()).into());
    }
    if n == 1 {
        return Some(path);
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    Some(path.with_file_name(name))
}

/// What a finished simulation returns.
#[derive(Debug)]
pub struct Outcome<R> {
    /// What `main` returned; `None` if the program called [`exit`], or if the run ended before
    /// `main` returned (at the [time limit](Sim::time_limit), or idle).
    pub value: Option<R>,
    /// The code given to [`exit`], if called.
    pub exit_code: Option<i32>,
    /// True when the run ended at its [`Sim::time_limit`].
    pub time_limit_reached: bool,
    /// `k_uptime_ticks()` at the end.
    pub uptime_ticks: i64,
    /// Cycle counter at the end.
    pub cycles: u64,
    /// How many times the CPU switched to another thread.
    pub switches: u64,
    /// How virtual time was spent: per thread, in ISRs, idle (see [`cpu`] for what is
    /// measured). `print!("{}", outcome.cpu)` prints a table.
    pub cpu: cpu::CpuStats,
    /// Console output, when captured.
    pub console: String,
    /// Event trace, when enabled.
    pub trace: Vec<TraceRecord>,
    /// Thread names by slot (0 is idle, 1 is main), for reading the trace.
    pub thread_names: Vec<String>,
    /// How many times the watchdog reported a thread running without giving up the CPU.
    pub stalls: u32,
}

impl<R> Outcome<R> {
    /// The trace, printable one event per line.
    pub fn trace_text(&self) -> String {
        Trace { records: &self.trace, names: &self.thread_names }.to_string()
    }
}

/// Why a simulation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// Every thread was blocked with no timeout or interrupt pending.
    Deadlock {
        /// Each live thread and what it waits on.
        report: String,
        /// Console output so far, when captured.
        console: String,
    },
    /// A simulated thread or ISR panicked: on a microcontroller, a fatal error.
    Panic {
        /// Where: the thread's name, or the ISR.
        context: String,
        /// The panic message.
        message: String,
        /// When.
        uptime_ticks: i64,
        /// Console output so far, when captured.
        console: String,
    },
    /// A simulated thread, or an ISR on its stack, overflowed its stack: on Zephyr, the stack
    /// guard's fatal error (`K_ERR_STACK_CHK_FAIL`), which aborts the thread.
    StackOverflow {
        /// Where: the thread's name, or an ISR interrupting it.
        context: String,
        /// The size of its host stack ([`Sim::stack_size`]).
        stack_size: usize,
        /// When.
        uptime_ticks: i64,
        /// Console output so far, when captured.
        console: String,
    },
    /// The watchdog ended the run: a thread ran for [`Sim::stall_limit`] of wall-clock time
    /// without blocking, yielding or letting virtual time pass.
    Stalled {
        /// The thread's name.
        thread: String,
        /// The watchdog's diagnostic.
        report: String,
        /// When (virtual time stands still during a stall).
        uptime_ticks: i64,
        /// Console output so far, when captured.
        console: String,
    },
    /// The main thread was aborted before returning.
    MainAborted {
        /// Console output so far, when captured.
        console: String,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Deadlock { report, .. } => write!(f, "{report}"),
            SimError::Panic { context, message, uptime_ticks, .. } => {
                write!(f, "fatal error: {context} panicked at tick {uptime_ticks}: {message}")
            }
            SimError::StackOverflow { context, stack_size, uptime_ticks, .. } => write!(
                f,
                "fatal error: stack overflow (K_ERR_STACK_CHK_FAIL) in {context} at tick \
                 {uptime_ticks}: it used up its {stack_size}-byte host stack; give simulated \
                 threads bigger stacks with Sim::stack_size"
            ),
            SimError::Stalled { report, uptime_ticks, .. } => write!(
                f,
                "stalled at tick {uptime_ticks}: {report} The watchdog ended the run \
                 (Sim::stall_limit)."
            ),
            SimError::MainAborted { .. } => write!(f, "the main thread was aborted"),
        }
    }
}

impl std::error::Error for SimError {}

/// Ends the simulation now with `code` (like `exit` in a native_sim program); [`Sim::run`]
/// returns an [`Outcome`] with `exit_code: Some(code)`.
///
/// The caller's stack unwinds (its destructors run) before the simulation stops.
pub fn exit(code: i32) -> ! {
    switch::unwind_to_scheduler(switch::Unwind::Exit(code))
}
