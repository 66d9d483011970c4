//! Wake latency of an Embassy task, from a thread or an ISR to the task running, in virtual
//! time with the simulator's Cortex-M3 cost model: `InterruptExecutor` side by side with a
//! thread `Executor` and with the kernel's own thread wake-up (the baseline), in one run.
//!
//! Run: `cargo run --release -p examples --bin irq-latency`
//!
//! Each scenario wakes its waiter [`ROUNDS`] times and reports the mean cycles from the wake
//! (just before the waking call, or the cycle an interrupt was due) to the first instruction
//! after the waiter's `await` (or `k_sem_take`), at the model's 12 MHz (one cycle per
//! instruction: see `zephyr_sim::cost::CostModel::cortex_m3` for what is measured and what is
//! estimated). The numbers are deterministic: the same every run.
//!
//! | scenario | waker | waiter |
//! | --- | --- | --- |
//! | `thread -> thread` | main (priority 5) `k_sem_give` | a thread (priority 2) in `k_sem_take` (baseline) |
//! | `thread -> thread-executor task` | main signals a `Signal` | a task on an `Executor` thread (priority 2) |
//! | `thread -> irq-executor task` | main signals a `Signal` | a task on an `InterruptExecutor` (line priority 2) |
//! | `isr -> ...` | a device ISR gives or signals | the same three waiters |
//! | `... (busy coop thread)` | an ISR, while a cooperative thread computes for 1 ms | the same three |
//!
//! On the board, instruction counts per round trip come from `samples/bench` (`irq`,
//! `irq-task`) under `scripts/zephyr-test.sh`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use embassy_executor::raw::TaskStorage;
use embassy_executor::SendSpawner;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use zephyr::embassy::{Executor, InterruptExecutor};
use zephyr_sim::cost::CostModel;
use zephyr_sim::irq::{now_cycles, raise_at_cycle};
use zephyr_sim::Sim;
use zephyr_sys::*;

/// Wakes per scenario.
const ROUNDS: u64 = 100;
/// Cycles between wakes (1 ms at 12 MHz): every waiter is idle again before the next.
const PERIOD: u64 = 12_000;

#[derive(Clone, Copy, PartialEq)]
enum Waker {
    Thread,
    Isr,
    IsrDuringCoopWork,
}

#[derive(Clone, Copy, PartialEq)]
enum Waiter {
    Thread,
    ThreadExecutor,
    IrqExecutor,
}

type Sig = Signal<CriticalSectionRawMutex, u64>;

/// The cycle of the latest wake, and the sum of latencies measured by the waiter.
#[derive(Default)]
struct Meter {
    woken_at: Cell<u64>,
    total: Cell<u64>,
    count: Cell<u64>,
}

impl Meter {
    fn arrived(&self) {
        self.total.set(self.total.get() + now_cycles() - self.woken_at.get());
        self.count.set(self.count.get() + 1);
    }
}

struct Shared(Rc<Meter>);
// SAFETY: a simulation runs on one host thread; `Send` is only needed to spawn the waiter
// task with a `SendSpawner` onto the interrupt executor of that same simulation.
unsafe impl Send for Shared {}

fn spawn_send<F: Future<Output = ()> + Send + 'static>(spawner: &SendSpawner, future: F) {
    let storage: &'static TaskStorage<F> = Box::leak(Box::new(TaskStorage::new()));
    spawner.spawn(storage.spawn(|| future).expect("fresh task storage"));
}

/// Runs one scenario; returns the mean latency in cycles.
fn scenario(waker: Waker, waiter: Waiter) -> u64 {
    let model = CostModel::cortex_m3();
    let outcome = Sim::new()
        .cycles_per_sec(model.cpu_hz)
        .cost_model(model)
        .main_priority(5)
        .run(move || {
            let meter = Rc::new(Meter::default());
            let signal: &'static Sig = Box::leak(Box::new(Signal::new()));
            let sem: &'static mut k_sem = Box::leak(Box::new(k_sem::new()));
            // SAFETY: a leaked semaphore, initialised once before any use.
            unsafe { k_sem_init(sem, 0, 1) };
            let sem: *mut k_sem = sem;
            let task_body = {
                let m = Shared(meter.clone());
                async move {
                    let m = m;
                    for _ in 0..ROUNDS {
                        signal.wait().await;
                        m.0.arrived();
                    }
                }
            };
            match waiter {
                Waiter::Thread => {
                    let m = meter.clone();
                    zephyr_sim::spawn_thread("waiter", 2, move || {
                        for _ in 0..ROUNDS {
                            // SAFETY: a live semaphore; thread context.
                            unsafe { k_sem_take(sem, K_FOREVER) };
                            m.arrived();
                        }
                    });
                }
                Waiter::ThreadExecutor => {
                    zephyr_sim::spawn_thread("executor", 2, move || {
                        let executor: &'static Executor = Box::leak(Box::new(Executor::new()));
                        executor.run(|s| spawn_send(&s.make_send(), task_body));
                    });
                }
                Waiter::IrqExecutor => {
                    let executor: &'static InterruptExecutor =
                        Box::leak(Box::new(InterruptExecutor::new()));
                    spawn_send(&executor.start(20, 2), task_body);
                }
            }
            if waker == Waker::IsrDuringCoopWork {
                // A cooperative thread that computes for 1 ms of every 1 ms period, starting
                // just before each wake: no thread preempts it.
                zephyr_sim::spawn_thread("coop", -1, move || loop {
                    // SAFETY: kernel calls from a simulated thread.
                    unsafe {
                        k_busy_wait(1_000);
                        k_usleep(1);
                    }
                });
            }
            let wake = move |m: &Meter| {
                m.woken_at.set(now_cycles());
                if waiter == Waiter::Thread {
                    // SAFETY: a live semaphore; giving is ISR-safe.
                    unsafe { k_sem_give(sem) };
                } else {
                    signal.signal(1);
                }
            };
            for round in 1..=ROUNDS {
                let at = round * PERIOD + PERIOD / 2;
                match waker {
                    Waker::Thread => {
                        // SAFETY: kernel call from the simulated main thread.
                        unsafe { k_busy_wait(((at - now_cycles()) / 12) as u32) };
                        wake(&meter);
                    }
                    Waker::Isr | Waker::IsrDuringCoopWork => {
                        let m = meter.clone();
                        raise_at_cycle(at, move || {
                            wake(&m);
                            m.woken_at.set(at);
                        });
                    }
                }
            }
            // SAFETY: kernel call from the simulated main thread.
            unsafe { k_msleep(((ROUNDS + 2) * PERIOD / 12_000) as i32) };
            assert_eq!(meter.count.get(), ROUNDS, "every wake arrived");
            meter.total.get() / ROUNDS
        })
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    outcome.value.expect("main returned")
}

fn main() {
    let rows: RefCell<Vec<(String, u64, u64)>> = RefCell::new(Vec::new());
    for (waker, name) in [
        (Waker::Thread, "thread"),
        (Waker::Isr, "isr"),
        (Waker::IsrDuringCoopWork, "isr, busy coop thread"),
    ] {
        let baseline = scenario(waker, Waiter::Thread);
        for (waiter, wname) in [
            (Waiter::Thread, "thread (baseline)"),
            (Waiter::ThreadExecutor, "thread-executor task"),
            (Waiter::IrqExecutor, "irq-executor task"),
        ] {
            let c = if waiter == Waiter::Thread { baseline } else { scenario(waker, waiter) };
            rows.borrow_mut().push((format!("{name} -> {wname}"), c, baseline));
        }
    }
    println!("wake latency, Cortex-M3 cost model at 12 MHz (cycles, mean of {ROUNDS} wakes)");
    println!("{:<46} {:>8} {:>8} {:>10}", "scenario", "cycles", "us", "vs thread");
    for (name, c, base) in rows.into_inner() {
        println!(
            "{name:<46} {c:>8} {:>8.2} {:>9.2}x",
            c as f64 / 12.0,
            c as f64 / base.max(1) as f64
        );
    }
}
