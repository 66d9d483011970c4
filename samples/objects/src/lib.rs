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

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};

use embedded_io::{Read, Write};

use zephyr::printkln;
use zephyr::raw;
use zephyr::sync::{Condvar, Mutex};
use zephyr::sys::memory::{Heap, KernelAllocator, MemSlab};
use zephyr::sys::pipe::Pipe;
use zephyr::sys::stack::Stack;
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

static IDS: Stack<u32, 4> = Stack::new();
static BLOCKS: MemSlab<[u32; 4], 2> = MemSlab::new();
static SCRATCH: Heap<512> = Heap::new();
static BYTES: Pipe<8> = Pipe::new();
static PIPER: Thread = Thread::named("piper");
static PIPER_STACK: ThreadStack<2048> = ThreadStack::new();

/// A mailbox and a queue, raw (`zephyr::raw`): kept in place by `KObj`, initialised below.
static MAILBOX: zephyr::object::KObj<raw::k_mbox> = zephyr::object::KObj::new(raw::k_mbox::new());
static FIFO: zephyr::object::KObj<raw::k_queue> = zephyr::object::KObj::new(raw::k_queue::new());
static SENDER: Thread = Thread::named("sender");
static SENDER_STACK: ThreadStack<2048> = ThreadStack::new();

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

    // A typed stack, a slab, a heap, the system heap and a pipe, from statics.
    IDS.push(7).expect("room");
    IDS.push(8).expect("room");
    assert_eq!((IDS.pop(NoWait), IDS.pop(NoWait)), (Ok(8), Ok(7)));
    assert_eq!(IDS.pop(NoWait), Err(Error::EBUSY));
    let a = BLOCKS.alloc(NoWait).expect("a block");
    let b = BLOCKS.alloc(NoWait).expect("another block");
    assert_eq!(BLOCKS.alloc(NoWait).err(), Some(Error::ENOMEM));
    drop(a);
    assert_eq!(BLOCKS.free(), 1);
    drop(b);
    let layout = Layout::from_size_align(100, 16).expect("layout");
    let p = SCRATCH.alloc(layout, NoWait).expect("heap memory");
    assert_eq!(p.as_ptr() as usize % 16, 0);
    // SAFETY: `p` came from SCRATCH and is not used after.
    unsafe { SCRATCH.free(p) };
    // SAFETY: a non-zero layout, given back with the same layout.
    unsafe {
        let q = KernelAllocator.alloc(layout);
        assert!(!q.is_null(), "the system heap has room");
        KernelAllocator.dealloc(q, layout);
    }
    PIPER
        .spawn(&PIPER_STACK, 5, || (&BYTES).write_all(b"0123456789abcdef").expect("written"))
        .expect("piper thread");
    let mut buf = [0u8; 16];
    (&BYTES).read_exact(&mut buf).expect("read");
    assert_eq!(&buf, b"0123456789abcdef");
    PIPER.join(Forever).expect("the piper returns");
    printkln!("objects: Stack, MemSlab, Heap, KernelAllocator and Pipe ok");

    // A mailbox exchange between two threads, and a queue item through an allocated node
    // (the system heap as main's resource pool), with the raw API.
    let mbox = MAILBOX.get();
    let fifo = FIFO.get();
    // SAFETY: the objects stay in their statics; each is initialised once, before use.
    unsafe {
        raw::k_mbox_init(mbox);
        raw::k_queue_init(fifo);
    }
    SENDER
        .spawn(&SENDER_STACK, 4, move || {
            static DATA: [u8; 5] = *b"hello";
            let mut msg = raw::k_mbox_msg::new();
            msg.size = DATA.len();
            msg.info = 7;
            msg.tx_data = DATA.as_ptr() as *mut c_void;
            // SAFETY: the mailbox is initialised; `msg` and DATA outlive the call.
            let r = unsafe { raw::k_mbox_put(MAILBOX.get(), &mut msg, raw::K_FOREVER) };
            assert_eq!((r, msg.size, msg.info), (0, 3, 9), "sender's view");
        })
        .expect("sender thread");
    let mut msg = raw::k_mbox_msg::new();
    msg.size = 3;
    msg.info = 9;
    let mut got = [0u8; 3];
    // SAFETY: the mailbox is initialised; `msg` and `got` outlive the call.
    let r = unsafe { raw::k_mbox_get(mbox, &mut msg, got.as_mut_ptr().cast(), raw::K_FOREVER) };
    assert_eq!((r, msg.size, msg.info, &got), (0, 3, 7, b"hel"));
    SENDER.join(Forever).expect("the sender returns");
    let mut value = 5u32;
    // SAFETY: main's thread; the queue is initialised; `value` outlives its time queued.
    unsafe {
        raw::k_thread_system_pool_assign(raw::k_current_get());
        let v = &mut value as *mut u32 as *mut c_void;
        assert_eq!(raw::k_queue_alloc_append(fifo, v), 0);
        assert_eq!(raw::k_queue_get(fifo, raw::K_NO_WAIT), v);
    }
    printkln!("objects: k_mbox between two threads and k_queue_alloc_append ok");

    printkln!("objects: all ok");
}
