//! Multi-producer, multi-consumer channels on kernel queues: [`unbounded`] and [`bounded`],
//! in the shape of upstream zephyr-lang-rust's (and so of `crossbeam-channel`'s).
//!
//! A channel is a `k_queue` of messages. Each message travels in a [`Message`], whose first
//! word is the link the kernel reserves in every queued item; the value follows it. So a thread
//! waiting in [`Receiver::recv`] blocks in `k_queue_get`, in the kernel, and a send hands it the
//! message directly (`k_queue_append`), exactly as a C `k_fifo` user expects.
//!
//! * [`unbounded`]: each send boxes its message (the global allocator; on Zephyr the kernel
//!   heap) and never waits.
//! * [`bounded(cap)`](bounded): `cap` message slots are allocated once, at creation, and kept
//!   on a second `k_queue`, the free list. A send takes a slot (waiting in `k_queue_get` when
//!   there is none, so a full channel blocks the sender in the kernel), writes the message and
//!   queues it; a receive reads the message and puts the slot back, which wakes the first
//!   waiting sender. Sends and receives never allocate.
//!
//! ```text
//!   bounded:  free list ──send: k_queue_get(free)──► slot ──write, k_queue_append(queue)──┐
//!               ▲                                                                         │
//!               └──── k_queue_append(free) ◄── read ◄── recv: k_queue_get(queue) ◄────────┘
//! ```
//!
//! ```
//! use zephyr::sync::channel;
//! use zephyr::time::Duration;
//!
//! # zephyr_sim::Sim::new().run(|| {
//! let (tx, rx) = channel::bounded::<u32>(4);
//! let tx2 = tx.clone(); // any number of senders and receivers
//! tx.send(1).unwrap(); // waits while the channel is full
//! tx2.try_send(2).unwrap(); // never waits (fails when full): from an ISR too
//! assert_eq!(rx.recv(), Ok(1));
//! assert_eq!(rx.recv_timeout(Duration::from_millis(10)), Ok(2));
//! drop((tx, tx2));
//! assert!(rx.recv().is_err()); // empty, and every sender is gone
//! # }).unwrap();
//! ```
//!
//! # Async
//! [`Sender::send_async`], [`Receiver::recv_async`] and their `_timeout_async` forms wait with
//! triggered work on the queue's data-available poll event ([`PollWait`],
//! `K_POLL_TYPE_DATA_AVAILABLE`), so they work under any executor (the Embassy executor, kio,
//! ...), and whoever sends or receives (a thread, a task, an ISR) wakes them. Their futures are
//! `Send` for `T: Send`.
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::sync::channel::{Receiver, Sender};
//!
//! #[embassy_executor::task]
//! async fn doubler(requests: Receiver<u32>, replies: Sender<u32>) {
//!     // Ends when every sender of `requests` is gone.
//!     while let Ok(n) = requests.recv_async().await {
//!         if replies.send_async(2 * n).await.is_err() {
//!             break; // every receiver of `replies` is gone
//!         }
//!     }
//! }
//! ```
//!
//! # Order
//! Messages come out in the order they went in. Waiting receivers are served in the kernel's
//! wait-queue order: the most urgent thread first, then the one that waited longest; so are
//! senders waiting for space in a bounded channel. Async waiters ([`Receiver::recv_async`],
//! [`Sender::send_async`]) are served in the order they started waiting; a thread blocked in
//! `k_queue_get` is handed a message before any async waiter is notified (the kernel's rule).
//!
//! # Timeouts
//! Every wait takes a [`Timeout`]: a [`Duration`](crate::time::Duration), an absolute
//! [`Instant`](crate::time::Instant), [`Forever`] or [`NoWait`]. A timeout of N ticks ends
//! N + 1 ticks after the current tick, for the blocking calls (the kernel's) and the async
//! ones (which take their deadline when called) alike.
//!
//! # Interrupt handlers
//! Every call that does not wait works in an ISR: [`Sender::send`] of an unbounded channel
//! (its allocation comes from the kernel heap, which ISRs may use), [`Sender::try_send`],
//! [`Receiver::try_recv`] and the `_timeout` forms with [`NoWait`]. A received or dropped
//! message then runs its `Drop` in the ISR. A call that would wait panics in an ISR, naming
//! the call, as every blocking call of this crate does.
//!
//! # Disconnection (differs from upstream)
//! Dropping handles is always allowed and well defined, as with `crossbeam-channel`:
//! * When every [`Sender`] is gone, receivers still get the messages queued, and then
//!   [`RecvError`] at once, including threads and async tasks already waiting. (The last sender
//!   queues a marker behind the messages; a receiver that finds it puts it back, which wakes
//!   the next waiter.)
//! * When every [`Receiver`] is gone, sends fail with [`SendError`], returning the message,
//!   including senders waiting for space; the messages still queued are dropped at once, by the
//!   context that dropped the last receiver. A send that races with that last drop may still
//!   succeed; its message is dropped with the channel.
//! * When every handle is gone, the channel is freed, with any message still in it.
//!
//! Upstream zephyr-lang-rust panics when the last sender or receiver of a channel is dropped,
//! and its waiting receivers never learn that the senders are gone.
//!
//! Every message value is dropped exactly once: by its receiver, or by the channel.
//!
//! # Never while holding a [`SpinMutex`](super::SpinMutex)
//! The calls that wait panic if a spin mutex is held (its holder must not block; see
//! [`SpinMutex`](super::SpinMutex)).

extern crate alloc;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::fmt;
use core::future::Future;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use zephyr_sys::{
    k_queue, k_queue_append, k_queue_get, k_queue_init, k_queue_is_empty, k_queue_prepend,
    k_timeout_t, K_NO_WAIT, K_POLL_TYPE_DATA_AVAILABLE,
};

use crate::thread::assert_may_block;
use crate::time::{Forever, NoWait, Timeout};
use crate::work::futures::{without_yield, PollResult, PollWait};

/// A channel of unbounded capacity: each message is boxed as it is sent, and a send never
/// waits (it may be called from an ISR).
///
/// # Panics
/// When the allocation fails (the kernel heap is exhausted), as any `Box::new`.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    Chan::create(None)
}

/// A channel holding up to `cap` messages, whose slots are allocated now: a send waits while
/// the channel is full, and neither sends nor receives allocate.
///
/// # Panics
/// If `cap` is 0: Zephyr has no rendezvous queue (as upstream; `crossbeam-channel` has one).
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(cap != 0, "channel::bounded: a capacity of 0 (a rendezvous channel) is not supported");
    Chan::create(Some(cap))
}

/// A message as it sits in a channel's `k_queue`: the word the kernel links queued items
/// through, then the value.
///
/// Internal to the channels (its fields are private); public as upstream's is, for code that
/// names it.
#[repr(C)]
pub struct Message<T> {
    /// Reserved for the kernel while the message is queued.
    _private: usize,
    /// The value carried.
    data: T,
}

impl<T> Message<T> {
    fn new(data: T) -> Message<T> {
        Message { _private: 0, data }
    }
}

/// A bounded channel's message slots; each is on the free list, in the channel's queue, or
/// held by the one send or receive that took it from either.
type Slot<T> = UnsafeCell<MaybeUninit<Message<T>>>;

/// A queue item that carries no message: only the kernel's link word. Its address tells a
/// receiver (or sender) that the other side is gone.
#[repr(transparent)]
struct Marker(UnsafeCell<usize>);

impl Marker {
    const fn new() -> Self {
        Marker(UnsafeCell::new(0))
    }

    fn item(&self) -> *mut c_void {
        self.0.get().cast()
    }
}

/// What a bounded channel adds: its free list and the slots on it.
struct Bounded<T> {
    free: UnsafeCell<k_queue>,
    slots: Box<[Slot<T>]>,
}

// SAFETY: as for `Chan` below: the free list is a kernel object, and a slot is touched only
// by the one context that took it off a queue.
unsafe impl<T: Send> Sync for Bounded<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Bounded<T> {}

/// The state every handle of one channel shares (in an `Arc`, so its kernel queues never move).
struct Chan<T> {
    /// The messages sent and not yet received (and, at the end, [`Chan::senders_gone`]).
    queue: UnsafeCell<k_queue>,
    /// `None` for an unbounded channel (messages are boxed).
    bounded: Option<Bounded<T>>,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Queued behind the last message when the last sender is dropped.
    senders_gone: Marker,
    /// Put at the head of the free list when the last receiver is dropped.
    receivers_gone: Marker,
    /// Async sends and receives in progress: while there are any, queue insertions hold the
    /// scheduler lock (see `crate::work::futures::without_yield`).
    async_waiters: AtomicUsize,
}

// SAFETY: the queues are kernel objects, which the kernel serialises; a message or slot is
// touched only by the one context that took it off a queue (or by the channel's drop, when no
// handle is left); values of `T` cross contexts, hence `T: Send`.
unsafe impl<T: Send> Sync for Chan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Chan<T> {}

/// What a non-waiting take off a queue found.
enum Taken {
    Item(*mut c_void),
    Empty,
    /// The other side's marker (put back for the next taker).
    Gone,
}

impl<T> Chan<T> {
    fn create(cap: Option<usize>) -> (Sender<T>, Receiver<T>) {
        let bounded = cap.map(|cap| Bounded {
            free: UnsafeCell::new(k_queue::new()),
            slots: (0..cap).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect(),
        });
        let chan = Arc::new(Chan {
            queue: UnsafeCell::new(k_queue::new()),
            bounded,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            senders_gone: Marker::new(),
            receivers_gone: Marker::new(),
            async_waiters: AtomicUsize::new(0),
        });
        // SAFETY: the queues are at their final addresses (inside the Arc's allocation, which
        // never moves) and initialised once, before any other use; each slot is word-aligned
        // (a `Message` starts with a word), stays allocated while queued, and is on no queue.
        unsafe {
            k_queue_init(chan.queue.get());
            if let Some(b) = &chan.bounded {
                k_queue_init(b.free.get());
                for slot in b.slots.iter() {
                    k_queue_append(b.free.get(), slot.get().cast());
                }
            }
        }
        (Sender { chan: chan.clone() }, Receiver { chan })
    }

    fn queue(&self) -> *mut k_queue {
        self.queue.get()
    }

    /// Queues `item` at the tail (`append`) or head: the first thread waiting on `queue` gets
    /// it, or the first async waiter is notified.
    ///
    /// # Safety
    /// `queue` is one of this channel's queues; `item` a message, slot or marker of this
    /// channel, on no queue, that the caller gives up.
    unsafe fn insert(&self, queue: *mut k_queue, item: *mut c_void, append: bool) {
        // SAFETY: the caller's contract; both calls are ISR-safe and never block.
        let insert = || unsafe {
            if append {
                k_queue_append(queue, item)
            } else {
                k_queue_prepend(queue, item)
            }
        };
        if self.async_waiters.load(Ordering::Relaxed) != 0 {
            // An async waiter may be notified: the insertion must not yield inside.
            without_yield(insert)
        } else {
            insert()
        }
    }

    /// Takes the head of `queue`, waiting up to `timeout`; the other side's `marker` is put
    /// back at the head (which passes it to the next waiter) and reported as [`Taken::Gone`].
    ///
    /// # Safety
    /// `queue` is one of this channel's queues and `marker` the marker that may appear on it.
    unsafe fn take(&self, queue: *mut k_queue, marker: &Marker, timeout: k_timeout_t) -> Taken {
        // SAFETY: the caller's contract; a blocking wait was checked by the caller.
        let item = unsafe { k_queue_get(queue, timeout) };
        if item.is_null() {
            Taken::Empty
        } else if item == marker.item() {
            // SAFETY: the marker belongs on this queue, and this context just took it off.
            unsafe { self.insert(queue, item, false) };
            Taken::Gone
        } else {
            Taken::Item(item)
        }
    }

    /// Takes the value out of a message item taken off `queue`, and frees its box or returns
    /// its slot to the free list.
    ///
    /// # Safety
    /// `item` is a message (not a marker) this context took off `self.queue`.
    unsafe fn unpack(&self, item: *mut c_void) -> T {
        let msg = item as *mut Message<T>;
        match &self.bounded {
            // SAFETY: unbounded messages are `Box<Message<T>>`s turned into raw pointers by a
            // send, and this context owns this one now.
            None => unsafe { Box::from_raw(msg) }.data,
            Some(b) => {
                // SAFETY: a send wrote a message into this slot before queueing it; reading
                // moves the value out, and the slot is uninitialised memory again.
                let value = unsafe { core::ptr::addr_of!((*msg).data).read() };
                // SAFETY: the slot is on no queue now (this context took it) and is given up.
                unsafe { self.insert(b.free.get(), item, true) };
                value
            }
        }
    }

    /// Takes a message off the queue, waiting up to `timeout`.
    fn recv(&self, timeout: k_timeout_t) -> Result<T, RecvError> {
        // SAFETY: this channel's message queue and its marker.
        match unsafe { self.take(self.queue(), &self.senders_gone, timeout) } {
            // SAFETY: an item of the message queue that is not the marker is a message.
            Taken::Item(item) => Ok(unsafe { self.unpack(item) }),
            Taken::Empty | Taken::Gone => Err(RecvError),
        }
    }

    /// Writes `msg` into a slot taken from the free list (or a new box) and queues it.
    ///
    /// # Safety
    /// For a bounded channel, `slot` is a slot this context took off the free list; for an
    /// unbounded one, it is ignored.
    unsafe fn deliver(&self, slot: *mut c_void, msg: T) {
        let item = match &self.bounded {
            None => Box::into_raw(Box::new(Message::new(msg))) as *mut c_void,
            Some(_) => {
                // SAFETY: the slot is this context's (off the free list) and uninitialised.
                unsafe { (slot as *mut Message<T>).write(Message::new(msg)) };
                slot
            }
        };
        // SAFETY: a message of this channel, on no queue, given up to the queue.
        unsafe { self.insert(self.queue(), item, true) };
    }

    /// Counts an async send or receive while the returned guard lives.
    fn async_waiter(&self) -> AsyncWaiter<'_> {
        self.async_waiters.fetch_add(1, Ordering::Relaxed);
        AsyncWaiter(&self.async_waiters)
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        // No handle is left: no thread waits on the queues and no async wait is registered on
        // them (each borrowed a handle). Drop the messages still queued; the kernel forgets
        // the queues with their memory (Zephyr has no k_queue teardown, and needs none).
        loop {
            // SAFETY: this channel's queue; K_NO_WAIT never blocks.
            let item = unsafe { k_queue_get(self.queue(), K_NO_WAIT) };
            if item.is_null() {
                break;
            }
            if item == self.senders_gone.item() {
                continue;
            }
            let msg = item as *mut Message<T>;
            match &self.bounded {
                // SAFETY: a boxed message nobody else owns.
                None => drop(unsafe { Box::from_raw(msg) }),
                // SAFETY: a slot a send wrote and nobody received: drop its value in place.
                Some(_) => unsafe {
                    core::ptr::drop_in_place(core::ptr::addr_of_mut!((*msg).data))
                },
            }
        }
    }
}

/// Decrements the channel's count of async waiters when dropped.
struct AsyncWaiter<'a>(&'a AtomicUsize);

impl Drop for AsyncWaiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An async waiter of the queue at `queue` was notified but goes away without taking an item:
/// take the head and put it back, which notifies the next async waiter (or hands it to a
/// thread that started waiting meanwhile).
///
/// # Safety
/// `queue` must point to a live, initialised `k_queue` whose items are channel items.
unsafe fn queue_hand_on(queue: *const c_void) {
    let queue = queue as *mut k_queue;
    critical_section::with(|_| {
        // SAFETY: the caller's contract; neither call blocks, and the item goes back at once
        // (atomically: interrupts are locked), so nobody sees the queue without it.
        unsafe {
            let item = k_queue_get(queue, K_NO_WAIT);
            if !item.is_null() {
                without_yield(|| k_queue_prepend(queue, item));
                // The insertion may have readied a work queue thread: inside this critical
                // section it cannot switch yet, its end can (with this crate's critical section).
                #[cfg(feature = "critical-section-impl")]
                if !crate::thread::is_in_isr() {
                    crate::critical::note_wake();
                }
            }
        }
    });
}

/// A woken async waiter took an item from `queue` and more are queued: the insertion that
/// notified the next waiter may have been spent on this one (see `MsgQueue::get_async`), so
/// notify the next.
fn hand_on_if_more(queue: *mut k_queue) {
    // SAFETY: a live channel queue (the caller holds a handle).
    if unsafe { k_queue_is_empty(queue) } == 0 {
        // SAFETY: as above.
        unsafe { queue_hand_on(queue as *const c_void) };
    }
}

/// The sending side of a channel. Clone it for more senders; when the last one is dropped,
/// receivers get [`RecvError`] once the channel is empty (see the
/// [module docs](self#disconnection-differs-from-upstream)).
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `msg`, waiting up to `timeout` for space in a bounded channel (an unbounded one
    /// never waits).
    ///
    /// # Errors
    /// [`SendError`] with the message if the timeout expired while the channel stayed full, or
    /// every [`Receiver`] is gone.
    ///
    /// # Panics
    /// In an ISR, for a bounded channel with a timeout other than [`NoWait`]; if a
    /// [`SpinMutex`](super::SpinMutex) is held and it would wait.
    pub fn send_timeout<D>(&self, msg: T, timeout: D) -> Result<(), SendError<T>>
    where
        D: Into<Timeout>,
    {
        let timeout: Timeout = timeout.into();
        let chan = &*self.chan;
        if chan.receivers.load(Ordering::Acquire) == 0 {
            return Err(SendError(msg));
        }
        let slot = match &chan.bounded {
            None => core::ptr::null_mut(),
            Some(b) => {
                if !timeout.is_no_wait() {
                    assert_may_block("Sender::send");
                    super::spinmutex::assert_none_held("Sender::send");
                }
                // SAFETY: this channel's free list and its marker; waiting checked above.
                match unsafe { chan.take(b.free.get(), &chan.receivers_gone, timeout.0) } {
                    Taken::Item(slot) => slot,
                    Taken::Empty | Taken::Gone => return Err(SendError(msg)),
                }
            }
        };
        // SAFETY: a slot this context took off the free list (ignored when unbounded).
        unsafe { chan.deliver(slot, msg) };
        Ok(())
    }

    /// Sends `msg`, waiting as long as a bounded channel stays full.
    ///
    /// # Errors
    /// [`SendError`] with the message if every [`Receiver`] is gone.
    ///
    /// # Panics
    /// In an ISR for a bounded channel (use [`try_send`](Self::try_send) there); if a
    /// [`SpinMutex`](super::SpinMutex) is held and it would wait.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.send_timeout(msg, Forever)
    }

    /// Sends `msg` if that needs no waiting. Callable from ISRs.
    ///
    /// # Errors
    /// [`SendError`] with the message if the channel is full or every [`Receiver`] is gone.
    pub fn try_send(&self, msg: T) -> Result<(), SendError<T>> {
        self.send_timeout(msg, NoWait)
    }

    /// Sends `msg`, waiting asynchronously up to `timeout` (measured from this call) for
    /// space in a bounded channel. Works under any executor; whoever receives (thread, task
    /// or ISR) wakes it. Dropping the future gives up the send (and the message).
    ///
    /// # Errors
    /// As [`send_timeout`](Self::send_timeout).
    pub fn send_timeout_async<'a>(
        &'a self,
        msg: T,
        timeout: impl Into<Timeout>,
    ) -> impl Future<Output = Result<(), SendError<T>>> + 'a
    where
        T: 'a,
    {
        let chan = &*self.chan;
        let timeout: Timeout = timeout.into();
        // The deadline is taken now; nothing is registered until the first poll.
        let wait = chan.bounded.as_ref().map(|b| {
            let free = b.free.get();
            let wait = PollWait::new(K_POLL_TYPE_DATA_AVAILABLE, free.cast(), timeout);
            // SAFETY: the free list lives as long as the channel, which the future's borrow of
            // this sender keeps alive; `queue_hand_on` only needs a live k_queue of items.
            unsafe { wait.hand_on(queue_hand_on, free as *const c_void) }
        });
        let waiter = chan.async_waiter();
        async move {
            let _waiter = waiter;
            let (Some(b), Some(wait)) = (&chan.bounded, wait) else {
                return self.try_send(msg); // unbounded: never waits
            };
            // (No raw pointer lives across an await: the future stays `Send`.)
            let mut wait = core::pin::pin!(wait);
            let mut woken = false;
            loop {
                if chan.receivers.load(Ordering::Acquire) == 0 {
                    return Err(SendError(msg));
                }
                // SAFETY: this channel's free list and its marker; NoWait never blocks.
                match unsafe { chan.take(b.free.get(), &chan.receivers_gone, K_NO_WAIT) } {
                    Taken::Item(slot) => {
                        if woken {
                            hand_on_if_more(b.free.get());
                        }
                        // SAFETY: a slot this context took off the free list.
                        unsafe { chan.deliver(slot, msg) };
                        return Ok(());
                    }
                    Taken::Gone => return Err(SendError(msg)),
                    Taken::Empty => {}
                }
                if wait.is_no_wait() || wait.expired() {
                    return Err(SendError(msg));
                }
                match wait.as_mut().await {
                    // A slot freed at the deadline tick still counts.
                    PollResult::TimedOut => return self.try_send(msg),
                    PollResult::Ready => woken = true,
                }
            }
        }
    }

    /// Sends `msg`, waiting asynchronously as long as a bounded channel stays full.
    ///
    /// # Errors
    /// [`SendError`] with the message if every [`Receiver`] is gone.
    pub async fn send_async(&self, msg: T) -> Result<(), SendError<T>> {
        self.send_timeout_async(msg, Forever).await
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let count = self.chan.senders.fetch_add(1, Ordering::Relaxed);
        // `mem::forget` of clones could overflow the count: stop well before.
        assert!(count <= isize::MAX as usize, "channel::Sender: too many clones");
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last sender: queue the marker behind the messages. The first waiting
            // receiver gets it, puts it back, and so on: each learns the senders are gone.
            // SAFETY: the marker of the message queue, on no queue (only the last sender
            // queues it, once).
            unsafe { self.chan.insert(self.chan.queue(), self.chan.senders_gone.item(), true) };
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The receiving side of a channel. Clone it for more receivers (each message goes to one of
/// them); when the last one is dropped, sends fail and the queued messages are dropped (see
/// the [module docs](self#disconnection-differs-from-upstream)).
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives a message, waiting up to `timeout`.
    ///
    /// # Errors
    /// [`RecvError`] if the timeout expired with the channel empty, or the channel is empty
    /// and every [`Sender`] is gone.
    ///
    /// # Panics
    /// In an ISR with a timeout other than [`NoWait`]; if a [`SpinMutex`](super::SpinMutex) is
    /// held and it would wait.
    pub fn recv_timeout<D>(&self, timeout: D) -> Result<T, RecvError>
    where
        D: Into<Timeout>,
    {
        let timeout: Timeout = timeout.into();
        if !timeout.is_no_wait() {
            assert_may_block("Receiver::recv");
            super::spinmutex::assert_none_held("Receiver::recv");
        }
        self.chan.recv(timeout.0)
    }

    /// Receives a message, waiting as long as it takes.
    ///
    /// # Errors
    /// [`RecvError`] once the channel is empty and every [`Sender`] is gone.
    ///
    /// # Panics
    /// In an ISR (use [`try_recv`](Self::try_recv) there); if a
    /// [`SpinMutex`](super::SpinMutex) is held.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_timeout(Forever)
    }

    /// Receives a message if one is queued. Callable from ISRs.
    ///
    /// # Errors
    /// [`RecvError`] if the channel is empty.
    pub fn try_recv(&self) -> Result<T, RecvError> {
        self.recv_timeout(NoWait)
    }

    /// Receives a message, waiting asynchronously up to `timeout` (measured from this call).
    /// Works under any executor; whoever sends (thread, task or ISR) wakes it. A future dropped
    /// after it was told of a message passes the news on to the next waiter.
    ///
    /// # Errors
    /// As [`recv_timeout`](Self::recv_timeout).
    pub fn recv_timeout_async<'a>(
        &'a self,
        timeout: impl Into<Timeout>,
    ) -> impl Future<Output = Result<T, RecvError>> + 'a
    where
        T: 'a,
    {
        let chan = &*self.chan;
        let queue = chan.queue();
        // The deadline is taken now; nothing is registered until the first poll.
        let wait = PollWait::new(K_POLL_TYPE_DATA_AVAILABLE, queue.cast(), timeout);
        // SAFETY: the queue lives as long as the channel, which the future's borrow of this
        // receiver keeps alive; `queue_hand_on` only needs a live k_queue of items.
        let wait = unsafe { wait.hand_on(queue_hand_on, queue as *const c_void) };
        let waiter = chan.async_waiter();
        async move {
            let _waiter = waiter;
            // (No raw pointer lives across an await: the future stays `Send`.)
            let mut wait = core::pin::pin!(wait);
            let mut woken = false;
            loop {
                // SAFETY: this channel's queue and its marker; NoWait never blocks.
                match unsafe { chan.take(chan.queue(), &chan.senders_gone, K_NO_WAIT) } {
                    Taken::Item(item) => {
                        if woken {
                            hand_on_if_more(chan.queue());
                        }
                        // SAFETY: a message this context took off the queue.
                        return Ok(unsafe { chan.unpack(item) });
                    }
                    Taken::Gone => return Err(RecvError),
                    Taken::Empty => {}
                }
                if wait.is_no_wait() || wait.expired() {
                    return Err(RecvError);
                }
                match wait.as_mut().await {
                    // A message sent at the deadline tick still counts.
                    PollResult::TimedOut => return chan.recv(K_NO_WAIT),
                    PollResult::Ready => woken = true,
                }
            }
        }
    }

    /// Receives a message, waiting asynchronously as long as it takes.
    ///
    /// # Errors
    /// [`RecvError`] once the channel is empty and every [`Sender`] is gone.
    pub async fn recv_async(&self) -> Result<T, RecvError> {
        self.recv_timeout_async(Forever).await
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let count = self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        assert!(count <= isize::MAX as usize, "channel::Receiver: too many clones");
        Receiver { chan: self.chan.clone() }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let chan = &*self.chan;
        if chan.receivers.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // The last receiver. Senders waiting for space, and later ones, find the marker first
        // on the free list and fail (each puts it back for the next).
        if let Some(b) = &chan.bounded {
            // SAFETY: the free list's marker, on no queue (only the last receiver queues it).
            unsafe { chan.insert(b.free.get(), chan.receivers_gone.item(), false) };
        }
        // Nobody will receive what is queued: drop it now (a send racing with this drop may
        // still queue one; the channel's drop takes care of that).
        while let Ok(msg) = chan.recv(K_NO_WAIT) {
            drop(msg);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The error of a send: the channel stayed full until the timeout, or every [`Receiver`] is
/// gone. It returns the message.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        "SendError(..)".fmt(f)
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a full or disconnected channel")
    }
}

impl<T> core::error::Error for SendError<T> {}

/// The error of a receive: the channel stayed empty until the timeout, or it is empty and
/// every [`Sender`] is gone.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on an empty channel (timed out, or every sender is gone)")
    }
}

impl core::error::Error for RecvError {}
