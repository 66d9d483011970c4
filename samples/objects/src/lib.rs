//! Every kind of statically defined kernel object the `zephyr` crate offers, used from a
//! `static` exactly as on the simulator, on real Zephyr: the objects are initialised at their
//! first use there (`zephyr::object::KObj`), and the fields Rust reads (a mutex's lock count,
//! triggered work's result) sit at the offsets the layout probe measured.
//!
//! `rust_main` prints one `objects: <what> ok` line per check and `objects: all ok` at the end;
//! `scripts/zephyr-test.sh` runs it on `native_posix_64` and `qemu_cortex_m3`, and
//! `examples/tests/objects_app.rs` on the simulator. A failed check panics (on Zephyr: the
//! message, then `k_panic()`).
#![no_std]

use core::sync::atomic::{AtomicU32, Ordering};

use zephyr::printkln;
use zephyr::sync::{Condvar, Mutex};
use zephyr::sys::sync::Semaphore;
use zephyr::sys::{MsgQueue, PollSignal};
use zephyr::thread::{Thread, ThreadStack};
use zephyr::time::{Duration, Forever, Instant, NoWait};
use zephyr::timer::StaticTimer;
use zephyr::work::{StaticWorkQueue, Work, WorkQueue};
use zephyr::Error;

static COUNT: Mutex<u32> = Mutex::new(0);
static CHANGED: Condvar = Condvar::new();
static WORKER: Thread = Thread::named("worker");
static WORKER_STACK: ThreadStack<2048> = ThreadStack::new();

static TICKS: AtomicU32 = AtomicU32::new(0);
static TIMER: StaticTimer = StaticTimer::new();
static SIGNAL: PollSignal = PollSignal::new();
static QUEUE: MsgQueue<u32, 4> = MsgQueue::new();
static NEVER: Semaphore = Semaphore::new(0, 1);

static WORK_DONE: Semaphore = Semaphore::new(0, 1);
static WORK: Work = Work::new(|| WORK_DONE.give());
static MY_QUEUE: StaticWorkQueue = StaticWorkQueue::new();
static MY_QUEUE_STACK: ThreadStack<2048> = ThreadStack::new();

/// Runs in interrupt context at each expiry of `TIMER`.
fn on_tick() {
    let n = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
    QUEUE.put(n, NoWait).expect("the queue has room");
    if n == 3 {
        SIGNAL.raise(42);
    }
}

/// The Zephyr entry point (the module's `main()` calls it).
#[no_mangle]
pub extern "C" fn rust_main() {
    // A data-owning mutex and a condition variable between two threads.
    WORKER
        .spawn(&WORKER_STACK, 5, || {
            for _ in 0..3 {
                *COUNT.lock().unwrap() += 1;
                CHANGED.notify_all();
                zephyr::time::sleep(Duration::from_millis(1));
            }
        })
        .expect("worker thread");
    let guard = CHANGED.wait_while(COUNT.lock().unwrap(), |n| *n < 3).unwrap();
    assert_eq!(*guard, 3);
    drop(guard);
    WORKER.join(Forever).expect("the worker returns");
    printkln!("objects: Mutex<u32> and Condvar between two threads ok");

    // A periodic kernel timer whose callback (an ISR) feeds a message queue and raises a poll
    // signal, awaited by kio tasks on the system work queue through triggered work.
    let system = WorkQueue::system();
    let running = TIMER.take().expect("timer").start_fn(
        on_tick,
        Duration::from_millis(2),
        Duration::from_millis(2),
    );
    let got = zephyr::kio::block_on(
        async {
            let mut sum = 0;
            for _ in 0..3 {
                sum += QUEUE.get_async(Forever).await.expect("a message");
            }
            let raised = SIGNAL.wait_async(Forever).await.expect("the signal");
            (sum, raised)
        },
        system,
        c"timer-feed",
    );
    drop(running.stop());
    assert_eq!(got, (1 + 2 + 3, 42));
    printkln!("objects: Timer callback -> MsgQueue::get_async and PollSignal::wait_async ok");

    // An async take that times out ends at the same tick as the blocking one would.
    let start = Instant::now();
    let r = zephyr::kio::block_on(
        async { NEVER.take_async(Duration::from_millis(5)).await },
        system,
        c"take-timeout",
    );
    assert_eq!(r, Err(Error::EAGAIN));
    assert!(Instant::now() - start >= Duration::from_millis(5), "the timeout ended early");
    printkln!("objects: Semaphore::take_async timeout (EAGAIN) ok");

    // A work item on a work queue of our own, started on a static stack.
    let my_queue = MY_QUEUE.start(&MY_QUEUE_STACK, 3, c"my_queue").expect("queue start");
    WORK.submit_to(&my_queue).expect("submit");
    WORK_DONE.take(Duration::from_millis(100)).expect("the work item ran");
    printkln!("objects: Work on a WorkQueue of our own ok");

    printkln!("objects: all ok");
}
