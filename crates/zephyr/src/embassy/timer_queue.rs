//! The time driver's timer queue: an intrusive pairing heap of deadlines, threaded through the
//! per-task storage embassy-executor provides.
//!
//! # How it works
//!
//! Every embassy-executor task carries a [`TimerQueueItem`] (crate
//! `embassy-executor-timer-queue`), raw storage that a timer queue may reinterpret as its own
//! node type. [`TimerQueue`] reinterprets it as a pairing-heap node: the task's deadline, the
//! waker to wake at it, and three links (first child, next sibling, and `prev`: the previous
//! sibling, or the parent for a first child). The heap is ordered by deadline, so the root holds
//! the earliest one. A task is in the queue at most once:
//!
//! ```text
//!                      schedule_wake(at)               schedule_wake(earlier)
//!   not queued ─────────────────────────────▶ queued ───────────────────────▶ queued,
//!       ▲         (at == u64::MAX: stays                                     decrease-key
//!       │          not queued, "never")        │  schedule_wake(later or equal):
//!       │                                      │  keeps the earlier deadline
//!       └──────────────────────────────────────┘
//!         next_expiration(now), deadline <= now: removed, then woken
//! ```
//!
//! # Cost
//!
//! With `n` tasks queued:
//!
//! | operation | cost |
//! | --- | --- |
//! | [`TimerQueue::schedule_wake`], a task not queued | O(1): one meld with the root |
//! | [`TimerQueue::schedule_wake`], an earlier deadline | O(1): cut the node out, meld it with the root |
//! | [`TimerQueue::schedule_wake`], a later or equal deadline | O(1): nothing changes |
//! | [`TimerQueue::earliest`] | O(1): the root |
//! | [`TimerQueue::next_expiration`] | O(log n) amortized per task woken (pairing-heap delete-min); O(1) when nothing is due |
//!
//! The bounds are the pairing heap's amortized ones (Fredman, Sedgewick, Sleator, Tarjan,
//! "The pairing heap: a new form of self-adjusting heap", 1986: O(log n) amortized delete-min;
//! decrease-key is O(1) actual work, and at most O(log n) amortized). A single delete-min after
//! many inserts walks the root's children once (O(n) actual, paid for by those inserts). Nothing
//! allocates; no operation recurses.
//!
//! # Guarantees
//!
//! * [`next_expiration`](TimerQueue::next_expiration)`(now)` wakes every task whose deadline is
//!   `<= now`, each exactly once, and no other: nothing is woken early.
//! * A task that schedules an earlier deadline while queued moves to it (decrease-key); a later
//!   or equal deadline keeps the earlier one, so the task is woken once at that earlier deadline
//!   (a spurious wake, after which it registers again, as with `embassy-time-queue-utils`).
//! * Tasks due at the same tick are woken in the heap's order, which is not the order they
//!   registered in, nor `embassy-time-queue-utils`' (the most recently inserted first); it is
//!   the same on every run of the same program. Two tasks whose timers end at one tick must not
//!   rely on which runs first (`samples/upstream/embassy` prints a worker's answer before the
//!   main task's tick at 300 ms since this queue replaced the list).
//! * A deadline of `u64::MAX` means never: it is not queued (a queued task keeps its deadline).
//! * [`schedule_wake`](TimerQueue::schedule_wake) returns `true` exactly when the earliest
//!   deadline got earlier, so a driver re-arms its alarm only then.
//!
//! # RAM per task
//!
//! The node is a `u64` deadline, a `Waker` (two pointers), three pointers and a flag, aligned to
//! 8 bytes: 32 bytes on a 32-bit target and 56 on a 64-bit one. It needs embassy-executor's
//! `timer-item-size-8-words` item (this crate enables the feature), so every task's timer item
//! costs **8 words: 32 bytes on 32-bit targets, 64 bytes on 64-bit targets** (the
//! `embassy-time-queue-utils` list needs 6 words: 24 and 48 bytes).
//!
//! # Safety rules
//!
//! * **One queue per system.** A task's [`TimerQueueItem`] is reinterpreted as this queue's
//!   node; while the task is queued in one `TimerQueue`, no other timer queue (another
//!   `TimerQueue`, or another implementation such as `embassy-time-queue-utils`' queue) may be
//!   given a waker of that task. This is why [`TimerQueue::new`] is `unsafe`. The time driver
//!   holds the only queue of a program (of a simulated system, on the simulator).
//! * **Embassy wakers only.** [`schedule_wake`](TimerQueue::schedule_wake) finds the item
//!   through the waker (`TimerQueueItem::from_embassy_waker`), which panics for a waker that is
//!   not an embassy-executor task's.
//! * Task storage is `'static` in embassy-executor and a task's timer item is never reset when
//!   the task ends or is spawned again, so a node stays valid while queued: a task that ended
//!   while queued is woken once at its deadline (a no-op), as with the upstream queue.

use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::task::Waker;

use embassy_executor_timer_queue::TimerQueueItem;

/// A task's timer item, reinterpreted: a pairing-heap node. Valid when zeroed (not queued, no
/// links, no waker), as `TimerQueueItem::as_mut` requires.
struct Node {
    /// The deadline, while queued.
    deadline: u64,
    /// The waker to wake at the deadline: initialised exactly while `queued`.
    waker: MaybeUninit<Waker>,
    /// The first child (children's deadlines are all `>=` this node's).
    child: Option<NodeRef>,
    /// The next sibling (stale, and never read, in a tree root).
    next: Option<NodeRef>,
    /// The previous sibling, or the parent for a first child (stale, and never read, in a
    /// tree root).
    prev: Option<NodeRef>,
    /// In the queue.
    queued: bool,
}

/// A pointer to a task's node: the only way the heap reaches its nodes, and the one place
/// its unsafe code lives. Invariant (established by [`NodeRef::of_task`]): it points to a
/// task's timer item in embassy-executor's `'static` task storage, which only this queue
/// reinterprets, always as a [`Node`]. Fields are read and written through the raw pointer,
/// never through a reference that outlives one access, so the links of other nodes stay
/// valid whatever references the executor hands out for an item.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq)]
struct NodeRef(NonNull<Node>);

/// Getter and setter pairs for the `Copy` fields of a node.
macro_rules! accessors {
    ($($field:ident, $set:ident: $ty:ty;)*) => {$(
        #[inline]
        fn $field(self) -> $ty {
            // SAFETY: the type's invariant: a live node, accessed by this queue only, through
            // `&mut TimerQueue` (no other access in progress); a copy is read, no reference
            // is made.
            unsafe { (*self.0.as_ptr()).$field }
        }
        #[inline]
        fn $set(self, value: $ty) {
            // SAFETY: as for the getter; a plain write of a `Copy` field.
            unsafe { (*self.0.as_ptr()).$field = value }
        }
    )*};
}

impl NodeRef {
    /// The node of the task `waker` wakes.
    ///
    /// # Safety
    ///
    /// The queue's safety rule: no other timer queue uses this task's item while this queue
    /// holds it, and the caller holds the queue exclusively.
    ///
    /// # Panics
    ///
    /// If `waker` is not an embassy-executor task's waker.
    unsafe fn of_task(waker: &Waker) -> Self {
        // SAFETY: the caller holds the queue exclusively and the item is used by this queue
        // only, so this is the only reference to the item; it becomes a raw pointer at once.
        let item = unsafe { TimerQueueItem::from_embassy_waker(waker) };
        // SAFETY: `Node` is valid when zeroed (a fresh item is zeroed) and the item is only
        // ever reinterpreted as `Node` (the caller's duty); `as_mut` checks size and alignment
        // at compile time.
        Self(NonNull::from(unsafe { item.as_mut::<Node>() }))
    }

    accessors! {
        deadline, set_deadline: u64;
        child, set_child: Option<NodeRef>;
        next, set_next: Option<NodeRef>;
        prev, set_prev: Option<NodeRef>;
        queued, set_queued: bool;
    }

    /// Stores the waker of a node that is being queued.
    fn put_waker(self, waker: Waker) {
        debug_assert!(!self.queued());
        // SAFETY: the type's invariant; the node is not queued, so its slot holds no waker
        // (a removed node's waker was moved out) and overwriting it leaks nothing.
        unsafe { (*self.0.as_ptr()).waker = MaybeUninit::new(waker) };
        self.set_queued(true);
    }

    /// Moves the waker out of a node that is leaving the queue.
    fn take_waker(self) -> Waker {
        debug_assert!(self.queued());
        self.set_queued(false);
        // SAFETY: the type's invariant; the node was queued, so its waker slot is
        // initialised, and it is now marked not queued, so the slot is not read again before
        // `put_waker` writes a new waker.
        unsafe { (*self.0.as_ptr()).waker.assume_init_read() }
    }
}

/// The time driver's queue of deadlines: an intrusive pairing heap over embassy-executor's
/// per-task timer items. See the [module documentation](self) for its cost, guarantees and
/// safety rules.
pub struct TimerQueue {
    /// The node with the earliest deadline.
    root: Option<NodeRef>,
}

// SAFETY: the queue holds pointers to nodes in `'static` task storage, and the wakers in them,
// which are `Send`; moving the queue to another thread moves only these pointers, and every
// access goes through `&mut self` (the driver keeps the queue in a critical-section mutex).
unsafe impl Send for TimerQueue {}

impl TimerQueue {
    /// An empty queue.
    ///
    /// # Safety
    ///
    /// One queue per system: while a task is queued in this queue, no waker of that task may be
    /// given to any other timer queue (another `TimerQueue`, or another implementation that
    /// reinterprets embassy-executor's `TimerQueueItem`). Dropping a queue releases its tasks.
    pub const unsafe fn new() -> Self {
        Self { root: None }
    }

    /// The earliest deadline queued, or `None` when the queue is empty. O(1).
    pub fn earliest(&self) -> Option<u64> {
        self.root.map(|root| root.deadline())
    }

    /// Schedules the task of `waker` to be woken at `at` (in the caller's ticks). Returns
    /// `true` exactly when this made the earliest queued deadline earlier (the queue was empty,
    /// or `at` is before every queued deadline): then, and only then, the caller must re-arm
    /// its alarm (calling [`next_expiration`](Self::next_expiration), as `at` may be past).
    ///
    /// A task already queued moves to `at` if it is earlier (decrease-key), and keeps its
    /// deadline otherwise. `at == u64::MAX` (never) is not queued. O(1).
    ///
    /// # Panics
    ///
    /// If `waker` is not an embassy-executor task's waker.
    pub fn schedule_wake(&mut self, at: u64, waker: &Waker) -> bool {
        if at == u64::MAX {
            return false;
        }
        // SAFETY: `&mut self` holds the queue exclusively; one queue per system is the
        // caller's duty from `TimerQueue::new`.
        let node = unsafe { NodeRef::of_task(waker) };
        let earliest = self.earliest().unwrap_or(u64::MAX);
        if node.queued() {
            if at >= node.deadline() {
                return false;
            }
            node.set_deadline(at);
            if self.root != Some(node) {
                self.cut(node);
                self.root = Some(self.meld_with_root(node));
            }
        } else {
            node.set_deadline(at);
            node.put_waker(waker.clone());
            node.set_child(None);
            self.root = Some(self.meld_with_root(node));
        }
        at < earliest
    }

    /// Wakes every queued task whose deadline is `<= now` (each removed before it is woken)
    /// and returns the earliest deadline left, or `u64::MAX` if the queue is empty. O(1) when
    /// nothing is due, O(log n) amortized per task woken.
    pub fn next_expiration(&mut self, now: u64) -> u64 {
        while let Some(root) = self.root {
            let deadline = root.deadline();
            if deadline > now {
                return deadline;
            }
            let waker = self.pop_root(root);
            waker.wake();
        }
        u64::MAX
    }

    /// Removes the root `root` and returns its waker. Two-pass pairing of its children:
    /// left to right in pairs, then the pairs melded right to left.
    fn pop_root(&mut self, root: NodeRef) -> Waker {
        let mut child = root.child();
        root.set_child(None);
        let waker = root.take_waker();
        // Pass 1: meld the children in pairs, stacking the results through `next` (a tree
        // root's `next` and `prev` are free: see `meld`).
        let mut stack: Option<NodeRef> = None;
        while let Some(first) = child {
            let pair = match first.next() {
                Some(second) => {
                    child = second.next();
                    meld(first, second)
                }
                None => {
                    child = None;
                    first
                }
            };
            pair.set_next(stack);
            stack = Some(pair);
        }
        // Pass 2: meld the stacked pairs, last pair first.
        let Some(mut heap) = stack else {
            self.root = None;
            return waker;
        };
        stack = heap.next();
        while let Some(top) = stack {
            stack = top.next();
            heap = meld(heap, top);
        }
        self.root = Some(heap);
        waker
    }

    /// Unlinks the subtree `node` (not the root) from its parent or previous sibling; it
    /// becomes a tree of its own.
    fn cut(&mut self, node: NodeRef) {
        let prev = node.prev().expect("a node other than the root has a prev link");
        let next = node.next();
        if prev.child() == Some(node) {
            prev.set_child(next);
        } else {
            prev.set_next(next);
        }
        if let Some(next) = next {
            next.set_prev(Some(prev));
        }
    }

    /// Melds the tree `node` with the heap; returns the new root.
    fn meld_with_root(&self, node: NodeRef) -> NodeRef {
        match self.root {
            Some(root) => meld(root, node),
            None => node,
        }
    }
}

impl Drop for TimerQueue {
    /// Releases every queued task (its waker dropped, not woken), so the tasks may be given to
    /// another queue later. O(n log n); the driver's queue is never dropped.
    fn drop(&mut self) {
        while let Some(root) = self.root {
            drop(self.pop_root(root));
        }
    }
}

impl core::fmt::Debug for TimerQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TimerQueue").field("earliest", &self.earliest()).finish()
    }
}

/// Melds two trees: the one with the later deadline becomes the first child of the other (on
/// a tie, `a` stays the root). Returns the root.
///
/// A tree root's `next` and `prev` are never read (only a child's are: `cut` is never called
/// on the heap's root, and linking a root as a child sets both), so they are left as they are
/// rather than cleared.
#[inline]
fn meld(a: NodeRef, b: NodeRef) -> NodeRef {
    // Two selects rather than a branch: which deadline is earlier is a coin toss, and a
    // conditional move costs less than a mispredicted branch.
    let b_first = b.deadline() < a.deadline();
    let parent = if b_first { b } else { a };
    let child = if b_first { a } else { b };
    let first = parent.child();
    child.set_next(first);
    if let Some(first) = first {
        first.set_prev(Some(child));
    }
    child.set_prev(Some(parent));
    parent.set_child(Some(child));
    parent
}
