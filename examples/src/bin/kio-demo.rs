//! kio and executor-independent kernel waits, on the simulated Zephyr kernel.
//!
//! * Two kio tasks on a work queue and one Embassy task wait on the same semaphore; a timer
//!   ISR gives it three times: each give goes to one waiter, in the order they started
//!   waiting, whichever runtime polls it.
//! * A kio task waits for a message that an ISR puts with the raw C call `k_msgq_put`.
//! * An Embassy task awaits a kio task's `JoinHandle` across runtimes.
//!
//! Run: `cargo run -p examples --bin kio-demo`.

use core::ffi::c_void;

use embassy_executor::Spawner;
use embassy_time::Instant;
use static_cell::StaticCell;
use zephyr::embassy::Executor;
use zephyr::kio;
use zephyr::printkln;
use zephyr::sys::sync::Semaphore;
use zephyr::sys::MsgQueue;
use zephyr::thread::{Thread, ThreadStack};
use zephyr::time::{Duration, Forever};
use zephyr::work::StaticWorkQueue;
use zephyr_sys::*;

static TOKENS: Semaphore = Semaphore::new(0, 3);
static READINGS: MsgQueue<u32, 4> = MsgQueue::new();
static QUEUE: StaticWorkQueue = StaticWorkQueue::new();
static QUEUE_STACK: ThreadStack<4096> = ThreadStack::new();
static EMBASSY: Thread = Thread::named("embassy");
static EMBASSY_STACK: ThreadStack<4096> = ThreadStack::new();
static EXECUTOR: StaticCell<Executor> = StaticCell::new();
static DONE: Semaphore = Semaphore::new(0, 1);

/// Prints a line stamped with virtual time and the speaker.
macro_rules! say {
    ($who:expr, $($arg:tt)*) => {{
        let us = Instant::now().as_micros();
        printkln!("[{:>4}.{:03} ms] {:<8} {}", us / 1000, us % 1000, $who, format_args!($($arg)*));
    }};
}

/// The timer ISR: a token every 10 ms (three times), and a sensor reading put with the raw C
/// call, as a C driver's ISR would.
unsafe extern "C-unwind" fn tick(_timer: *mut k_timer) {
    TOKENS.give();
    let reading: u32 = 700 + Instant::now().as_millis() as u32;
    // SAFETY: the message queue is a static; K_NO_WAIT never blocks (ISR-safe).
    unsafe { k_msgq_put(READINGS.as_raw(), &reading as *const u32 as *const c_void, K_NO_WAIT) };
}

#[embassy_executor::task]
async fn embassy_waiter(worker: kio::JoinHandle<u32>) {
    TOKENS.take_async(Forever).await.unwrap();
    say!("embassy", "got a token (an Embassy task, woken by the ISR's give)");
    let sum = worker.join_async().await;
    say!("embassy", "joined the kio worker across runtimes: sum of readings = {sum}");
    DONE.give();
}

fn app_main() {
    let q = QUEUE.start(&QUEUE_STACK, 4, c"kio-queue").expect("work queue");
    for name in ["kio-1", "kio-2"] {
        kio::spawn(
            async move {
                TOKENS.take_async(Forever).await.unwrap();
                say!(name, "got a token (a kio task, woken by the ISR's give)");
            },
            &q,
            c"token-waiter",
        );
    }
    let worker = kio::spawn(
        async {
            let mut sum = 0;
            for _ in 0..3 {
                let r = READINGS.get_async(Duration::from_millis(50)).await.unwrap();
                say!("worker", "reading {r} from the ISR's raw k_msgq_put");
                sum += r;
            }
            sum
        },
        &q,
        c"worker",
    );
    EMBASSY
        .spawn(&EMBASSY_STACK, 6, move || {
            EXECUTOR
                .init(Executor::new())
                .run(|s: Spawner| s.spawn(embassy_waiter(worker).unwrap()))
        })
        .expect("embassy thread");
    let timer: &'static mut k_timer = Box::leak(Box::new(k_timer::new()));
    // SAFETY: the timer is leaked (never moves); the expiry function only uses ISR-safe calls.
    unsafe {
        k_timer_init(timer, Some(tick), None);
        k_timer_start(timer, K_MSEC(10), K_MSEC(10));
    }
    say!("main", "three waiters on one semaphore: kio-1, kio-2, then an Embassy task");
    DONE.take(Forever).unwrap();
    // SAFETY: the timer is valid.
    unsafe { k_timer_stop(timer) };
    say!("main", "done");
}

fn main() {
    if let Err(e) = zephyr_sim::Sim::new().main_priority(8).run(app_main) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
