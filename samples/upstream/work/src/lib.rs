//! Async tasks on Zephyr work queues, written against the upstream zephyr-lang-rust `zephyr`
//! crate's API and built here with no change to this source: two queues from
//! `WorkQueueBuilder` on `kobj_define!` stacks, `kio::spawn` and `spawn_local` with task names,
//! `Semaphore::take_async`, `kio::sleep`, a timer whose callback gets its user data and sends on
//! a `sync::channel` from interrupt context, and a task on the other queue receiving them.
//!
//! On the simulator: `cargo run -p examples --bin upstream-work`, or, as for any such crate,
//! `scripts/sim-run samples/upstream/work`.

#![no_std]
#![allow(unexpected_cfgs)]

extern crate alloc;

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

use zephyr::kio::{sleep, spawn, spawn_local};
use zephyr::sync::Arc;
use zephyr::sys::sync::Semaphore;
use zephyr::sys::uptime_get;
use zephyr::time::{Duration, Forever, Tick};
use zephyr::work::WorkQueueBuilder;
use zephyr::{kobj_define, printkln};

/// How many philosophers share the table.
const NUM_PHIL: usize = 4;
/// How many times each eats.
const MEALS: usize = 3;

kobj_define! {
    static WORK_STACK: ThreadStack<4096>;
    static LOWER_WORK_STACK: ThreadStack<4096>;
}

#[no_mangle]
extern "C" fn rust_main() {
    printkln!("Work queues and kio on {}", zephyr::kconfig::CONFIG_BOARD);

    let worker = Arc::new(
        WorkQueueBuilder::new()
            .set_priority(1)
            .set_name(c"worker")
            .start(WORK_STACK.init_once(()).unwrap()),
    );
    let lower = Arc::new(
        WorkQueueBuilder::new()
            .set_priority(5)
            .set_name(c"lower")
            .start(LOWER_WORK_STACK.init_once(()).unwrap()),
    );

    #[cfg(CONFIG_WORK_TIMER_TICKS)]
    let ticks = ticks::start(&lower);

    let stats = spawn(philosophers(), &worker, c"philosophers").join();
    printkln!("Meals per philosopher: {:?} (done at {} ms)", stats, uptime_get());

    #[cfg(CONFIG_WORK_TIMER_TICKS)]
    {
        let (expiries, total) = ticks.join();
        printkln!("Timer: {} expiries received, sum of their numbers {}", expiries, total);
    }

    printkln!("All done");
}

/// Runs the table as a local task: its `Rc`s never leave this work queue's thread, so only this
/// wrapper, which holds none, has to be `Send`.
async fn philosophers() -> Vec<usize> {
    spawn_local(table(), c"table").join_async().await
}

/// Every philosopher is a local task of the table, on the same work queue.
async fn table() -> Vec<usize> {
    let meals = Rc::new(RefCell::new(alloc::vec![0; NUM_PHIL]));
    let forks: Vec<_> = (0..NUM_PHIL).map(|_| Rc::new(Semaphore::new(1, 1))).collect();

    let diners: Vec<_> = (0..NUM_PHIL)
        .map(|n| {
            let (a, b) = if n == NUM_PHIL - 1 { (0, n) } else { (n, n + 1) };
            let forks = [forks[a].clone(), forks[b].clone()];
            spawn_local(philosopher(n, forks, meals.clone()), c"philosopher")
        })
        .collect();
    for diner in diners {
        diner.join_async().await;
    }

    Rc::into_inner(meals).expect("every philosopher is done").into_inner()
}

async fn philosopher(n: usize, forks: [Rc<Semaphore>; 2], meals: Rc<RefCell<Vec<usize>>>) {
    for meal in 0..MEALS {
        forks[0].take_async(Forever).await.unwrap();
        forks[1].take_async(Forever).await.unwrap();
        sleep(delay(n)).await;
        meals.borrow_mut()[n] += 1;
        forks[1].give();
        forks[0].give();
        printkln!("{:>4} ms: philosopher {} finished meal {}", uptime_get(), n, meal);
        sleep(delay(n)).await;
    }
}

/// Varied, and the same on every run of the simulator.
fn delay(n: usize) -> Duration {
    let mixed = (uptime_get() as usize).wrapping_mul(n + 3) & 0x7;
    Duration::millis_at_least(((mixed + 1) * 4) as Tick)
}

#[cfg(CONFIG_WORK_TIMER_TICKS)]
mod ticks {
    use zephyr::kio::{spawn, JoinHandle};
    use zephyr::sync::atomic::{AtomicU32, Ordering};
    use zephyr::sync::channel::{self, Receiver, Sender};
    use zephyr::time::Duration;
    use zephyr::timer::{Callback, StoppedTimer};
    use zephyr::work::WorkQueue;

    /// How many expiries the collector waits for.
    const EXPIRIES: u32 = 8;

    /// The timer's user data: where to send, and how many expiries so far.
    pub struct TickData {
        tx: Sender<u32>,
        count: AtomicU32,
    }

    /// Runs in interrupt context at each expiry.
    fn expired(data: &TickData) {
        let n = data.count.fetch_add(1, Ordering::Relaxed) + 1;
        // Never blocks: a full channel drops the number, and the collector notices the gap.
        let _ = data.tx.try_send(n);
    }

    /// Starts a 25 ms periodic timer and a collector task on `queue`; the task stops the timer
    /// after EXPIRIES numbers and returns (received, sum).
    pub fn start(queue: &WorkQueue) -> JoinHandle<(u32, u32)> {
        let (tx, rx) = channel::bounded(4);
        let timer = StoppedTimer::new().start_callback(
            Callback { call: expired, data: TickData { tx, count: AtomicU32::new(0) } },
            Duration::millis_at_least(25),
            Duration::millis_at_least(25),
        );
        spawn(
            async move {
                let (received, sum) = collect(&rx).await;
                // Dropping the timer stops it before its data is freed.
                drop(timer);
                (received, sum)
            },
            queue,
            c"ticks",
        )
    }

    async fn collect(rx: &Receiver<u32>) -> (u32, u32) {
        let mut received = 0;
        let mut sum = 0;
        while received < EXPIRIES {
            let n = rx.recv_async().await.unwrap();
            received += 1;
            sum += n;
        }
        (received, sum)
    }
}
