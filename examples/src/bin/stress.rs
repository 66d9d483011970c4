//! `stress`: millions of adversarial wake-ups on the simulated kernel, counted; none may be lost.
//!
//! The load test of issue 8. Every async kernel wait the `zephyr` crate offers
//! (`Semaphore::take_async`, `MsgQueue::get_async`, `PollSignal::wait_async`) and an
//! embassy-sync `Channel` are fed by producers that race their consumers in every way the
//! simulator can arrange, while the consumers give up half of their waits part-way. Each seed
//! is one simulation (`Sim::new().seed(2 * seed + 1)`, which also moves each interrupt within
//! its tick, or into the middle of whichever thread's kernel calls come next; the seed also
//! seeds every producer's and consumer's own generator) with its share of the wakes.
//!
//! ```text
//! cargo run --release -p examples --bin stress [-- --wakes N --seeds S --first-seed F --jobs J]
//! ```
//!
//! # One simulation
//!
//! ```text
//!  priority  runs                        does
//!  ISR       two interrupt chains        produce 1-3 wakes, re-raise themselves 0-299 cycles on
//!  ISR       one-shot interrupts         raised "now" by the producer threads: produce one wake
//!  -3        thread prod-coop (coop.)    produces in bursts; busy-waits, sleeps
//!  -2        kio queue kio-coop (coop.)  consumers K8 K9
//!  -1        sysworkq                    every async wait's triggered work; consumer K7
//!   0        main                        starts everything, waits for the budget, drains
//!   1        thread prod-high            produces in bursts; yields, busy-waits, sleeps
//!   2        kio queue kio-high          consumers K1 K2 K3
//!   3        thread embassy (Executor)   consumers E1 E2 E3 E4 E5
//!   5        kio queue kio-low           consumers K4 K5 K6
//!   6        thread prod-low             produces in bursts; yields, busy-waits, sleeps
//!  14        thread monitor              runs only when all of the above wait: checks that no
//!                                        consumer sleeps while its object is ready
//! ```
//!
//! The consumers are listed in [`CONSUMERS`]. A wake is one of four kinds, picked at random by
//! the producer:
//!
//! * **semaphore**: `Semaphore::give` or a raw `k_sem_give`, on a semaphore whose limit
//!   (`K_SEM_MAX_LIMIT`) no give reaches; taken with `take_async(Forever)`.
//! * **msgq**: `MsgQueue::put(v, NoWait)` or a raw `k_msgq_put` into a queue of 8; taken with
//!   `get_async(Forever)`.
//! * **poll-signal**: a doorbell: the producer counts a ring, then raises the signal
//!   (`PollSignal::raise` or a raw `k_poll_signal_raise`); a consumer woken by
//!   `wait_async(Forever)` resets the signal, then collects every ring counted so far. A ring
//!   counted after the collection is raised after the reset, so the signal stays raised for it:
//!   no ring can be stranded unless a waiter sleeps through a raised signal.
//! * **channel**: `Channel::try_send` into an embassy-sync channel of 8 (it wakes its one
//!   receiver, an Embassy task, through the executor's pender); taken with `receive()`.
//!
//! A put into a full queue or channel is not a wake: the producer counts it as `full` and gives
//! the semaphore instead, so each simulation sends exactly its budget.
//!
//! Consumers that wait with [`Style::Cancel`] await `select(signal.wait(), <wait>)` on an
//! embassy-sync `Signal` that the producers raise right after half of the wakes of that kind,
//! so the signal often wins after the kernel notified the wait, which is then dropped; those
//! with [`Style::Sleep`] race their wait against a sleep of 1-3 ticks. Either way the consumer
//! counts a `cancelled` wait and loops.
//!
//! # What is counted
//!
//! * `sent`: wakes made (successful puts, gives, rings, sends); `received`: what consumers got.
//! * Once the budget is spent, the producers stop, the sleeping consumers turn into plain waits
//!   (so nothing polls any more: only a wake-up can get an item out), and the run drains: main
//!   sleeps until every object is empty, or for at most [`DRAIN_TICKS`].
//! * `left`: what is still in the objects after the drain (semaphore count, queued messages,
//!   uncollected rings, channel length), while every consumer waits forever: a lost wake-up.
//! * `stranded`: what was lost during the run. A wake-up lost mid-run would often be covered
//!   up by the next wait, which first tries to take, so the monitor looks for it. When it
//!   runs, every other thread waits, so every wake-up made has been delivered; if a consumer
//!   then waits on an object that is ready, the monitor pauses the producers for
//!   [`FREEZE_TICKS`] and looks again. A consumer still in the same wait, its object still
//!   ready, slept through its wake-up: a `stall`; the monitor takes what is in the object
//!   out, as stranded (not received). A consumer that got it meanwhile was only `delayed` (a
//!   work queue or executor thread was sleeping out a tick inside a dropped wait, waiting for
//!   a raw C giver to finish its call: see `zephyr::work::futures`).
//! * `lost` = `sent` - `received`: `left` plus `stranded`, plus anything that vanished (never
//!   a negative number, which would be an item received twice).
//!
//! The program exits with 1, naming the seed and kind, if any `lost` or `stalls` is non-zero,
//! a wait failed, or a simulation failed (deadlock, panic: its report is printed).

use std::cell::Cell;
use std::future::Future;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use embassy_executor::raw::TaskStorage;
use embassy_executor::Spawner;
use embassy_futures::select::{select, Either};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use zephyr::embassy::Executor;
use zephyr::kio;
use zephyr::sys::irq::IrqLock;
use zephyr::sys::sync::Semaphore;
use zephyr::sys::{MsgQueue, PollSignal};
use zephyr::thread::ThreadStack;
use zephyr::time::{Duration, Forever, NoWait};
use zephyr::work::{WorkQueue, WorkQueueBuilder};

const USAGE: &str = "usage: stress [--wakes N] [--seeds S] [--first-seed F] [--jobs J]

  --wakes N       wakes in total, shared among the seeds (default 10000000)
  --seeds S       simulations, one per seed (default 100)
  --first-seed F  the first seed; the others follow it (default 0)
  --jobs J        simulations run at the same time (default: the number of CPUs)";

/// How long (virtual ticks, 10 kHz) the drain may take before what is left counts as lost.
const DRAIN_TICKS: i64 = 10_000;

/// How long (ticks) the monitor pauses the producers before it looks at a suspect again.
const FREEZE_TICKS: u64 = 4;

/// Capacity of the message queue and of the channel.
const CAPACITY: usize = 8;

/// The kinds of wake, in the order they are printed.
const KINDS: [Kind; 4] = [Kind::Semaphore, Kind::Msgq, Kind::PollSignal, Kind::Channel];

/// What a wake goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A semaphore give.
    Semaphore,
    /// A message queue put.
    Msgq,
    /// A poll signal rung as a doorbell.
    PollSignal,
    /// An embassy-sync channel send.
    Channel,
}

impl Kind {
    /// The kind's name in the output.
    fn name(self) -> &'static str {
        match self {
            Kind::Semaphore => "semaphore",
            Kind::Msgq => "msgq",
            Kind::PollSignal => "poll-signal",
            Kind::Channel => "channel",
        }
    }
}

/// Where a consumer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runtime {
    /// A task of the `zephyr::embassy::Executor` on thread `embassy` (priority 3).
    Embassy,
    /// A kio task on work queue `kio-high` (priority 2, above the executor).
    KioHigh,
    /// A kio task on work queue `kio-low` (priority 5, below the executor).
    KioLow,
    /// A kio task on the system work queue (priority -1), which also runs every async wait's
    /// triggered work.
    KioSystem,
    /// A kio task on work queue `kio-coop` (priority -2, cooperative, above the system work
    /// queue): it may drop a wait whose triggered work is still queued.
    KioCoop,
}

/// How a consumer waits each time round its loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// The wait alone.
    Plain,
    /// `select(signal.wait(), wait)`, the kind's cancel signal, which producers raise right
    /// after a wake (one consumer per kind: a `Signal` has one waiter).
    Cancel,
    /// `select(sleep(1..=3 ticks), wait)` until the budget is spent, then the wait alone.
    Sleep,
}

/// Every consumer, named in the docs by its runtime's letter and its place in the list (E1-E5,
/// K1-K9).
const CONSUMERS: [(Runtime, Kind, Style); 14] = [
    (Runtime::Embassy, Kind::Semaphore, Style::Plain),
    (Runtime::Embassy, Kind::Msgq, Style::Cancel),
    (Runtime::Embassy, Kind::Channel, Style::Cancel),
    (Runtime::Embassy, Kind::Semaphore, Style::Sleep),
    (Runtime::Embassy, Kind::PollSignal, Style::Sleep),
    (Runtime::KioHigh, Kind::Semaphore, Style::Cancel),
    (Runtime::KioHigh, Kind::Msgq, Style::Plain),
    (Runtime::KioHigh, Kind::PollSignal, Style::Plain),
    (Runtime::KioLow, Kind::Msgq, Style::Sleep),
    (Runtime::KioLow, Kind::Semaphore, Style::Plain),
    (Runtime::KioLow, Kind::PollSignal, Style::Cancel),
    (Runtime::KioSystem, Kind::Semaphore, Style::Sleep),
    (Runtime::KioCoop, Kind::Semaphore, Style::Sleep),
    (Runtime::KioCoop, Kind::Msgq, Style::Sleep),
];

/// A xorshift64* generator, seeded per producer and consumer, so every run of a seed is the
/// same.
#[derive(Clone, Copy, Debug)]
struct Rng(u64);

impl Rng {
    /// A generator for `stream` of simulation `seed` (splitmix64 spreads the bits).
    fn new(seed: u64, stream: u64) -> Rng {
        let mut z = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(stream + 1);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next number.
    fn next(&mut self) -> u64 {
        let x = &mut self.0;
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True once in `n` times.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// Counters of one kind of wake, in one simulation (see [`Tally`] for what each counts).
#[derive(Default)]
struct KindCounters {
    /// [`Tally::sent`].
    sent: AtomicU64,
    /// [`Tally::received`].
    received: AtomicU64,
    /// [`Tally::full`].
    full: AtomicU64,
    /// [`Tally::cancelled`].
    cancelled: AtomicU64,
    /// [`Tally::delayed`].
    delayed: AtomicU64,
    /// [`Tally::stalls`].
    stalls: AtomicU64,
    /// [`Tally::stranded`].
    stranded: AtomicU64,
    /// The tick of the first stall, or -1.
    first_stall: AtomicI64,
}

/// One simulation's kernel objects and counters (leaked: tasks, threads and ISRs hold
/// `'static` references).
struct World {
    /// The semaphore, limit `K_SEM_MAX_LIMIT`.
    sem: Semaphore,
    /// The message queue.
    queue: MsgQueue<u32, CAPACITY>,
    /// The poll signal, rung as a doorbell.
    doorbell: PollSignal,
    /// Rings counted by producers and not yet collected by a consumer.
    rings: AtomicU64,
    /// The embassy-sync channel (one receiver).
    channel: Channel<CriticalSectionRawMutex, u32, CAPACITY>,
    /// Per kind: raised right after half of the wakes; the kind's [`Style::Cancel`] consumer
    /// races it against its wait.
    cancel: [Signal<CriticalSectionRawMutex, ()>; 4],
    /// Per consumer: twice the number of waits it began, plus one while it waits.
    waits: [AtomicU64; CONSUMERS.len()],
    /// Wakes this simulation makes.
    budget: u64,
    /// Wakes claimed by producers so far.
    claimed: AtomicU64,
    /// Set once the budget is spent: producers stop, sleeping consumers wait plainly.
    stop: AtomicBool,
    /// Set while the monitor has paused the producers.
    frozen: AtomicBool,
    /// Producer threads and interrupt chains still producing.
    producers: AtomicU32,
    /// One-shot interrupts raised and not yet run.
    one_shots: AtomicU32,
    /// Waits that returned an error (none should: they wait forever).
    errors: AtomicU64,
    /// Per kind, in [`KINDS`] order.
    kinds: [KindCounters; 4],
}

impl World {
    /// A world that will make `budget` wakes.
    fn new(budget: u64) -> World {
        World {
            sem: Semaphore::new(0, zephyr_sys::K_SEM_MAX_LIMIT),
            queue: MsgQueue::new(),
            doorbell: PollSignal::new(),
            rings: AtomicU64::new(0),
            channel: Channel::new(),
            cancel: Default::default(),
            waits: Default::default(),
            budget,
            claimed: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            frozen: AtomicBool::new(false),
            producers: AtomicU32::new(0),
            one_shots: AtomicU32::new(0),
            errors: AtomicU64::new(0),
            kinds: Default::default(),
        }
    }

    /// The counters of `kind`.
    fn of(&self, kind: Kind) -> &KindCounters {
        &self.kinds[kind as usize]
    }

    /// Whether the budget is spent.
    fn stopped(&self) -> bool {
        self.stop.load(Relaxed)
    }

    /// Makes one wake of a random kind, from a thread or an ISR; false once the budget is
    /// spent.
    fn produce(&self, rng: &mut Rng) -> bool {
        if self.stopped() || self.claimed.fetch_add(1, Relaxed) >= self.budget {
            self.stop.store(true, Relaxed);
            return false;
        }
        let raw = rng.one_in(2);
        let value = rng.next() as u32;
        let mut kind = KINDS[rng.below(4) as usize];
        let done = match kind {
            Kind::Semaphore => false,
            Kind::Msgq if raw => {
                // SAFETY: what a C driver does with the queue's address: a valid queue of
                // `u32`s, a `u32` to copy in; K_NO_WAIT never blocks (ISR-safe).
                unsafe {
                    zephyr_sys::k_msgq_put(
                        self.queue.as_raw(),
                        &value as *const u32 as *const core::ffi::c_void,
                        zephyr_sys::K_NO_WAIT,
                    ) == 0
                }
            }
            Kind::Msgq => self.queue.put(value, NoWait).is_ok(),
            Kind::PollSignal => {
                // Counted before the raise: see the module docs (the doorbell).
                self.rings.fetch_add(1, Relaxed);
                if raw {
                    // SAFETY: what C code does with the signal's address; ISR-safe.
                    unsafe { zephyr_sys::k_poll_signal_raise(self.doorbell.as_raw(), 1) };
                } else {
                    self.doorbell.raise(1);
                }
                true
            }
            Kind::Channel => self.channel.try_send(value).is_ok(),
        };
        if !done {
            if kind != Kind::Semaphore {
                self.of(kind).full.fetch_add(1, Relaxed);
            }
            kind = Kind::Semaphore;
            if raw {
                // SAFETY: what C code does with the semaphore's address; ISR-safe.
                unsafe { zephyr_sys::k_sem_give(self.sem.as_raw()) };
            } else {
                self.sem.give();
            }
        }
        if rng.one_in(2) {
            self.cancel[kind as usize].signal(());
        }
        self.of(kind).sent.fetch_add(1, Relaxed);
        true
    }

    /// A consumer of `kind` got what it waited for.
    fn collect(&self, kind: Kind) {
        let got = match kind {
            Kind::PollSignal => {
                // Reset, then collect: a ring counted after this raises the signal again.
                self.doorbell.reset();
                self.rings.swap(0, Relaxed)
            }
            _ => 1,
        };
        self.of(kind).received.fetch_add(got, Relaxed);
    }

    /// How much of `kind` is waiting in its object.
    fn left(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Semaphore => self.sem.count() as u64,
            Kind::Msgq => self.queue.len() as u64,
            Kind::PollSignal => self.rings.load(Relaxed),
            Kind::Channel => self.channel.len() as u64,
        }
    }

    /// Takes everything out of `kind`'s object; returns how much.
    fn take_all(&self, kind: Kind) -> u64 {
        let mut taken = 0;
        match kind {
            Kind::Semaphore => {
                while self.sem.take(NoWait).is_ok() {
                    taken += 1;
                }
            }
            Kind::Msgq => {
                while self.queue.get(NoWait).is_ok() {
                    taken += 1;
                }
            }
            Kind::PollSignal => {
                self.doorbell.reset();
                taken = self.rings.swap(0, Relaxed);
            }
            Kind::Channel => {
                while self.channel.try_receive().is_ok() {
                    taken += 1;
                }
            }
        }
        taken
    }

    /// Whether `kind`'s object would satisfy a wait right now.
    fn ready(&self, kind: Kind) -> bool {
        match kind {
            Kind::PollSignal => self.doorbell.check().is_some(),
            _ => self.left(kind) > 0,
        }
    }

    /// The consumers waiting on a ready object, each with its wait count (interrupts locked,
    /// so the picture is of one instant).
    fn suspects(&self) -> Vec<(usize, u64)> {
        let _locked = IrqLock::new();
        let ready = KINDS.map(|kind| self.ready(kind));
        (0..CONSUMERS.len())
            .map(|i| (i, self.waits[i].load(Relaxed)))
            .filter(|&(i, waits)| waits % 2 == 1 && ready[CONSUMERS[i].1 as usize])
            .collect()
    }
}

/// Sleeps `ticks` with the timer of `runtime`: an `embassy_time::Timer` (the time driver's
/// `k_timer`) in Embassy tasks, `kio::sleep` (timed-out triggered work) in kio tasks.
async fn nap(runtime: Runtime, ticks: u64) {
    match runtime {
        Runtime::Embassy => embassy_time::Timer::after_ticks(ticks).await,
        _ => kio::sleep(Duration::from_ticks(ticks)).await,
    }
}

/// Consumer `index` of [`CONSUMERS`]: waits with `wait`, collects, and loops, forever.
async fn consume<W, F>(world: &'static World, index: usize, mut rng: Rng, wait: W)
where
    W: Fn() -> F,
    F: Future<Output = zephyr::Result<()>>,
{
    let (runtime, kind, style) = CONSUMERS[index];
    loop {
        let style = if world.stopped() { Style::Plain } else { style };
        world.waits[index].fetch_add(1, Relaxed);
        let got = match style {
            Style::Plain => Some(wait().await),
            Style::Cancel => match select(world.cancel[kind as usize].wait(), wait()).await {
                Either::First(()) => None,
                Either::Second(r) => Some(r),
            },
            Style::Sleep => match select(nap(runtime, 1 + rng.below(3)), wait()).await {
                Either::First(()) => None,
                Either::Second(r) => Some(r),
            },
        };
        world.waits[index].fetch_add(1, Relaxed);
        match got {
            None => {
                world.of(kind).cancelled.fetch_add(1, Relaxed);
                // Half the time, it handles what won first before waiting again: a wake-up
                // its dropped wait did not pass on would not be found by its next wait at
                // once (which first tries to take) but strand the object meanwhile.
                if rng.one_in(2) {
                    nap(runtime, 1 + rng.below(3)).await;
                }
                // While the monitor looks at a suspect, no consumer polls the objects on its
                // own, which would hide a lost wake-up.
                while world.frozen.load(Relaxed) {
                    nap(runtime, 1).await;
                }
            }
            Some(Ok(())) => world.collect(kind),
            Some(Err(_)) => {
                world.errors.fetch_add(1, Relaxed);
            }
        }
    }
}

/// Consumer `index` of [`CONSUMERS`].
async fn consumer(world: &'static World, index: usize, rng: Rng) {
    match CONSUMERS[index].1 {
        Kind::Semaphore => {
            consume(world, index, rng, || world.sem.take_async(Forever)).await;
        }
        Kind::Msgq => {
            consume(world, index, rng, || async {
                world.queue.get_async(Forever).await.map(|_| ())
            })
            .await;
        }
        Kind::PollSignal => {
            consume(world, index, rng, || async {
                world.doorbell.wait_async(Forever).await.map(|_| ())
            })
            .await;
        }
        Kind::Channel => {
            consume(world, index, rng, || async {
                world.channel.receive().await;
                Ok(())
            })
            .await;
        }
    }
}

/// Spawns `future` on `spawner`'s executor in its own leaked task storage (each simulation
/// has its own tasks).
fn spawn<F: Future<Output = ()> + 'static>(spawner: &Spawner, future: F) {
    let storage: &'static TaskStorage<F> = Box::leak(Box::new(TaskStorage::new()));
    spawner.spawn(storage.spawn(|| future).expect("fresh task storage"));
}

/// A started work queue at `prio`, on a leaked stack.
fn work_queue(name: &'static core::ffi::CStr, prio: i32) -> WorkQueue {
    let stack = Box::leak(Box::new(ThreadStack::<4096>::new())).init_once(()).expect("stack");
    WorkQueueBuilder::new().set_priority(prio).set_name(name).start(stack)
}

/// Raises the next interrupt of a chain: 0-299 cycles on, it produces 1-3 wakes (none while
/// the producers are paused) and raises the next, until the budget is spent.
fn interrupt_chain(world: &'static World, mut rng: Rng) {
    zephyr_sim::irq::raise_after_cycles(rng.below(300), move || {
        if !world.frozen.load(Relaxed) {
            for _ in 0..=rng.below(3) {
                if !world.produce(&mut rng) {
                    world.producers.fetch_sub(1, Relaxed);
                    return;
                }
            }
        }
        interrupt_chain(world, rng);
    });
}

/// A producer thread: bursts of 1-4 wakes (one in four through an interrupt raised for "now",
/// which arrives at one of the next kernel calls of whichever thread runs), then a pause.
fn producer(world: &'static World, mut rng: Rng, cooperative: bool) {
    'run: while !world.stopped() {
        while world.frozen.load(Relaxed) {
            zephyr::time::sleep(Duration::from_ticks(1));
        }
        for _ in 0..=rng.below(4) {
            if rng.one_in(4) {
                let mut isr_rng = Rng::new(rng.next(), 0);
                world.one_shots.fetch_add(1, Relaxed);
                zephyr_sim::irq::raise_after_cycles(0, move || {
                    world.produce(&mut isr_rng);
                    world.one_shots.fetch_sub(1, Relaxed);
                });
            } else if !world.produce(&mut rng) {
                break 'run;
            }
        }
        match rng.below(8) {
            // A cooperative thread yields only to its equals: it must sleep to let others run.
            0 if !cooperative => zephyr::thread::yield_now(),
            1 | 2 => zephyr::time::busy_wait_us(rng.below(150) as u32),
            _ => {
                zephyr::time::sleep(Duration::from_ticks(1 + rng.below(3)));
            }
        }
    }
    world.producers.fetch_sub(1, Relaxed);
}

/// The monitor, below every other thread: each tick, looks for consumers waiting on a ready
/// object; if there are, pauses the producers for [`FREEZE_TICKS`] and counts each one still
/// in the same wait, its object still ready, as a stall (and takes what is in its object out,
/// as stranded), the others as delayed.
fn monitor(world: &'static World) {
    loop {
        zephyr::time::sleep(Duration::from_ticks(1));
        let suspects = world.suspects();
        if suspects.is_empty() {
            continue;
        }
        world.frozen.store(true, Relaxed);
        zephyr::time::sleep(Duration::from_ticks(FREEZE_TICKS));
        {
            let _locked = IrqLock::new();
            let still = world.suspects();
            let mut stalled = [false; 4];
            for suspect in suspects {
                let kind = CONSUMERS[suspect.0].1;
                let counters = world.of(kind);
                if !still.contains(&suspect) {
                    counters.delayed.fetch_add(1, Relaxed);
                    continue;
                }
                stalled[kind as usize] = true;
                if counters.stalls.fetch_add(1, Relaxed) == 0 {
                    counters.first_stall.store(zephyr::time::uptime_ticks() as i64, Relaxed);
                }
            }
            for kind in KINDS.into_iter().filter(|&kind| stalled[kind as usize]) {
                world.of(kind).stranded.fetch_add(world.take_all(kind), Relaxed);
            }
        }
        world.frozen.store(false, Relaxed);
    }
}

/// One kind's results in one simulation.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    /// Wakes made: gives, puts and sends that succeeded, rings.
    sent: u64,
    /// What consumers got.
    received: u64,
    /// What was still in the object after the drain.
    left: u64,
    /// Puts and sends refused by a full queue or channel (a give was made instead).
    full: u64,
    /// Waits dropped because the other branch of their `select` won.
    cancelled: u64,
    /// Consumers the monitor found waiting on a ready object that got it while it looked.
    delayed: u64,
    /// Consumers the monitor found still waiting on a ready object after it looked.
    stalls: u64,
    /// What the monitor took out of objects that consumers slept on.
    stranded: u64,
    /// The tick of the first stall.
    first_stall: Option<i64>,
}

impl Tally {
    /// `sent` - `received`.
    fn lost(&self) -> i64 {
        self.sent as i64 - self.received as i64
    }

    /// Adds `other`'s counts to these.
    fn add(&mut self, other: &Tally) {
        self.sent += other.sent;
        self.received += other.received;
        self.left += other.left;
        self.full += other.full;
        self.cancelled += other.cancelled;
        self.delayed += other.delayed;
        self.stalls += other.stalls;
        self.stranded += other.stranded;
    }
}

/// What one simulation returns.
#[derive(Clone, Debug, Default)]
struct Report {
    /// Per kind, in [`KINDS`] order.
    kinds: [Tally; 4],
    /// Waits that returned an error.
    errors: u64,
    /// Virtual ticks the simulation took.
    ticks: i64,
}

/// The simulated `main`: builds the world, runs it until `budget` wakes were made, drains it.
fn simulation(seed: u64, budget: u64) -> Report {
    let world: &'static World = Box::leak(Box::new(World::new(budget)));
    let rng = |stream: usize| Rng::new(seed, stream as u64);

    // Consumers.
    let executor: &'static Executor = Box::leak(Box::new(Executor::new()));
    let high = work_queue(c"kio-high", 2);
    let low = work_queue(c"kio-low", 5);
    let coop = work_queue(c"kio-coop", -2);
    let mut embassy = Vec::new();
    for (index, &(runtime, ..)) in CONSUMERS.iter().enumerate() {
        let task = consumer(world, index, rng(index));
        match runtime {
            Runtime::Embassy => embassy.push(task),
            Runtime::KioHigh => drop(kio::spawn(task, &high, c"stress-high")),
            Runtime::KioLow => drop(kio::spawn(task, &low, c"stress-low")),
            Runtime::KioSystem => drop(kio::spawn(task, WorkQueue::system(), c"stress-system")),
            Runtime::KioCoop => drop(kio::spawn(task, &coop, c"stress-coop")),
        }
    }
    zephyr_sim::spawn_thread("embassy", 3, move || {
        executor.run(|spawner| {
            for task in embassy {
                spawn(&spawner, task);
            }
        });
    });
    let lowest = zephyr_sys::K_LOWEST_APPLICATION_THREAD_PRIO;
    zephyr_sim::spawn_thread("monitor", lowest, move || monitor(world));

    // Producers.
    let streams = CONSUMERS.len();
    world.producers.store(5, Relaxed);
    for (i, (name, prio)) in
        [("prod-coop", -3), ("prod-high", 1), ("prod-low", 6)].into_iter().enumerate()
    {
        let r = rng(streams + i);
        zephyr_sim::spawn_thread(name, prio, move || producer(world, r, prio < 0));
    }
    interrupt_chain(world, rng(streams + 3));
    interrupt_chain(world, rng(streams + 4));

    // Until every wake is made, then the drain.
    while world.producers.load(Relaxed) > 0 || world.one_shots.load(Relaxed) > 0 {
        zephyr::time::sleep(Duration::from_ticks(100));
    }
    let drain_end = zephyr::time::uptime_ticks() as i64 + DRAIN_TICKS;
    loop {
        zephyr::time::sleep(Duration::from_ticks(10));
        let empty = {
            let _locked = IrqLock::new();
            KINDS.iter().all(|&kind| world.left(kind) == 0)
        };
        if empty || zephyr::time::uptime_ticks() as i64 >= drain_end {
            break;
        }
    }

    let _locked = IrqLock::new();
    let mut report = Report {
        errors: world.errors.load(Relaxed),
        ticks: zephyr::time::uptime_ticks() as i64,
        ..Report::default()
    };
    for kind in KINDS {
        let c = world.of(kind);
        let first_stall = c.first_stall.load(Relaxed);
        report.kinds[kind as usize] = Tally {
            sent: c.sent.load(Relaxed),
            received: c.received.load(Relaxed),
            left: world.left(kind),
            full: c.full.load(Relaxed),
            cancelled: c.cancelled.load(Relaxed),
            delayed: c.delayed.load(Relaxed),
            stalls: c.stalls.load(Relaxed),
            stranded: c.stranded.load(Relaxed),
            first_stall: (first_stall >= 0).then_some(first_stall),
        };
    }
    report
}

thread_local! {
    /// The seed whose simulation runs on this host thread, for the panic hook.
    static SEED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs the simulation of `seed`; its report, or the simulator's error as text.
fn run_seed(seed: u64, budget: u64) -> Result<Report, String> {
    SEED.with(|s| s.set(Some(seed)));
    // `Sim::seed` sets the low bit (a xorshift state is never 0): spread the seeds so that
    // each simulation's interrupts arrive differently.
    let sim = zephyr_sim::Sim::new().seed(seed.wrapping_mul(2) | 1);
    match sim.run(move || simulation(seed, budget)) {
        Ok(outcome) => outcome.value.ok_or_else(|| "the program exited".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// The lines naming what went wrong in `seed`'s report (none if nothing did).
fn problems(seed: u64, report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for kind in KINDS {
        let t = &report.kinds[kind as usize];
        if t.lost() != 0 {
            lines.push(format!(
                "LOST: seed {seed}, {}: sent {}, received {}, left {}, stranded {} (lost {})",
                kind.name(),
                t.sent,
                t.received,
                t.left,
                t.stranded,
                t.lost()
            ));
        }
        if t.stalls != 0 {
            lines.push(format!(
                "STALLED: seed {seed}, {}: {} times a consumer slept through its wake-up (first \
                 at tick {})",
                kind.name(),
                t.stalls,
                t.first_stall.unwrap_or(-1)
            ));
        }
    }
    if report.errors != 0 {
        lines.push(format!("ERROR: seed {seed}: {} waits returned an error", report.errors));
    }
    lines
}

/// The command line.
struct Args {
    /// `--wakes`.
    wakes: u64,
    /// `--seeds`.
    seeds: u64,
    /// `--first-seed`.
    first_seed: u64,
    /// `--jobs`.
    jobs: usize,
}

/// Parses the command line; `Err` holds the exit code after printing usage or an error.
fn parse_args() -> Result<Args, ExitCode> {
    let mut args = Args {
        wakes: 10_000_000,
        seeds: 100,
        first_seed: 0,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            return Err(ExitCode::SUCCESS);
        }
        let value = it.next().and_then(|v| v.replace('_', "").parse::<u64>().ok());
        let (Some(value), true) = (value, arg.starts_with("--")) else {
            eprintln!("stress: bad argument '{arg}' (or a missing number after it)\n{USAGE}");
            return Err(ExitCode::from(2));
        };
        match arg.as_str() {
            "--wakes" => args.wakes = value,
            "--seeds" => args.seeds = value.max(1),
            "--first-seed" => args.first_seed = value,
            "--jobs" => args.jobs = value.max(1) as usize,
            _ => {
                eprintln!("stress: unknown argument '{arg}'\n{USAGE}");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let (wakes, seeds) = (args.wakes, args.seeds);
    // A panic in a simulation is reported with its seed, by the simulator; should the process
    // abort instead (a second panic while unwinding), this line still names the seed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(seed) = SEED.with(Cell::get) {
            eprintln!("stress: a panic in the simulation of seed {seed}:");
        }
        default_hook(info);
    }));
    println!(
        "stress: {wakes} wakes over {seeds} seeds ({}..={}), {} at a time",
        args.first_seed,
        args.first_seed + seeds - 1,
        args.jobs
    );
    let start = Instant::now();
    let next = Arc::new(Mutex::new(0u64));
    let (tx, rx) = mpsc::channel();
    for _ in 0..args.jobs.min(seeds as usize) {
        let (next, tx) = (next.clone(), tx.clone());
        std::thread::spawn(move || loop {
            let index = {
                let mut n = next.lock().unwrap();
                let i = *n;
                *n += 1;
                i
            };
            if index >= seeds {
                break;
            }
            // The budget is shared out evenly; the first seeds take the remainder.
            let budget = wakes / seeds + u64::from(index < wakes % seeds);
            let seed = args.first_seed + index;
            let result = run_seed(seed, budget);
            if tx.send((seed, result)).is_err() {
                break;
            }
        });
    }
    drop(tx);

    let mut total = [Tally::default(); 4];
    let (mut failed, mut done, mut ticks) = (0u64, 0u64, 0i64);
    for (seed, result) in rx {
        done += 1;
        match result {
            Ok(report) => {
                for line in problems(seed, &report) {
                    println!("{line}");
                    failed += 1;
                }
                for (sum, t) in total.iter_mut().zip(&report.kinds) {
                    sum.add(t);
                }
                ticks += report.ticks;
            }
            Err(e) => {
                println!("FAILED: seed {seed}: the simulation failed: {e}");
                failed += 1;
            }
        }
        if done % (seeds / 10).max(1) == 0 && done < seeds {
            println!("  {done}/{seeds} seeds, {:.1} s", start.elapsed().as_secs_f64());
        }
    }
    let wall = start.elapsed().as_secs_f64();

    println!(
        "{:<12} {:>9} {:>9} {:>5} {:>8} {:>6} {:>6} {:>9} {:>7} {:>6}",
        "kind",
        "sent",
        "received",
        "left",
        "stranded",
        "lost",
        "full",
        "cancelled",
        "delayed",
        "stalls"
    );
    let row = |name: &str, t: &Tally| {
        println!(
            "{:<12} {:>9} {:>9} {:>5} {:>8} {:>6} {:>6} {:>9} {:>7} {:>6}",
            name,
            t.sent,
            t.received,
            t.left,
            t.stranded,
            t.lost(),
            t.full,
            t.cancelled,
            t.delayed,
            t.stalls
        );
    };
    let mut sum = Tally::default();
    for kind in KINDS {
        row(kind.name(), &total[kind as usize]);
        sum.add(&total[kind as usize]);
    }
    row("total", &sum);
    println!(
        "wall time {wall:.1} s, {:.0} wakes/s; {:.1} s of virtual time",
        sum.sent as f64 / wall,
        ticks as f64 / f64::from(zephyr_sys::CONFIG_SYS_CLOCK_TICKS_PER_SEC)
    );
    if failed == 0 && sum.lost() == 0 {
        println!("stress: ok, no wake-up lost");
        ExitCode::SUCCESS
    } else {
        println!("stress: FAILED ({failed} problems; lines above name the seeds)");
        ExitCode::FAILURE
    }
}
