//! The ready queue: one FIFO per priority and a bitmap of non-empty levels.
//!
//! Mirrors Zephyr's "multiq" run queue (`kernel/sched.c`, `CONFIG_SCHED_MULTIQ`): one
//! doubly-linked list per priority, as `sys_dlist_t`s. `best` is O(1) (lowest set bit),
//! `push_back` and `remove` are O(1). Like Zephyr's `sys_dnode_t` in `struct _thread_base`,
//! each thread's links live in its own entry of the thread table ([`Link`], reached through
//! [`Linked`]): a blocking call removes the running thread and a wake appends one, on every
//! switch, and the caller has that entry at hand. Threads are kernel slot numbers (indices of
//! the table); priorities run from `K_HIGHEST_THREAD_PRIO` (-16) to the idle priority (15),
//! lower is more urgent.

/// Most urgent priority the queue holds.
pub const MIN_PRIO: i32 = -16;
/// Least urgent priority the queue holds (the idle thread's).
pub const MAX_PRIO: i32 = 15;
const LEVELS: usize = (MAX_PRIO - MIN_PRIO + 1) as usize;

/// "No thread" in the links.
const NONE: u32 = u32::MAX;
/// The level of a thread that is not queued (not below [`LEVELS`]).
const NOT_QUEUED: u8 = u8::MAX;

/// A thread's place in its level's list.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    prev: u32,
    next: u32,
    level: u8,
}

impl Link {
    /// The links of a thread that is not queued.
    pub const UNLINKED: Link = Link { prev: NONE, next: NONE, level: NOT_QUEUED };
}

/// An entry of the table the queue links through: it holds its thread's [`Link`].
pub trait Linked {
    /// The entry's links.
    fn link(&self) -> &Link;
    /// The entry's links, to change.
    fn link_mut(&mut self) -> &mut Link;
}

impl Linked for Link {
    fn link(&self) -> &Link {
        self
    }
    fn link_mut(&mut self) -> &mut Link {
        self
    }
}

/// Ready threads by priority, FIFO among equals. Its links are in the thread table that every
/// call but [`ReadyQueue::best`] is given.
pub struct ReadyQueue {
    /// First and last thread of each level ([`NONE`] when empty).
    ends: [(u32, u32); LEVELS],
    bitmap: u32,
}

impl Default for ReadyQueue {
    fn default() -> Self {
        ReadyQueue { ends: [(NONE, NONE); LEVELS], bitmap: 0 }
    }
}

#[inline(always)]
fn level(prio: i32) -> usize {
    if !(MIN_PRIO..=MAX_PRIO).contains(&prio) {
        out_of_range(prio);
    }
    (prio - MIN_PRIO) as usize
}

#[cold]
#[inline(never)]
fn queued_twice(thread: u32) -> ! {
    panic!("thread {thread} queued twice")
}

#[cold]
#[inline(never)]
fn bad_link(thread: u32) -> ! {
    panic!("ready queue link to thread {thread}, which is not in the thread table")
}

#[cold]
#[inline(never)]
fn out_of_range(prio: i32) -> ! {
    panic!("priority {prio} out of range")
}

impl ReadyQueue {
    /// Queues `thread` behind the ready threads of priority `prio`.
    ///
    /// # Panics
    /// If `thread` is already queued or not in `table` (a kernel bug).
    #[inline]
    pub fn push_back<T: Linked>(&mut self, table: &mut [T], thread: u32, prio: i32) {
        let l = level(prio);
        let tail = self.ends[l].1;
        let mine = table[thread as usize].link_mut();
        if mine.level != NOT_QUEUED {
            queued_twice(thread);
        }
        *mine = Link { prev: tail, next: NONE, level: l as u8 };
        // `NONE` is never an index of the table (fewer than `u32::MAX` threads): the bounds
        // check is the test for an empty level.
        match table.get_mut(tail as usize) {
            Some(last) => last.link_mut().next = thread,
            None => {
                if tail != NONE {
                    bad_link(tail);
                }
                self.ends[l].0 = thread;
            }
        }
        self.ends[l].1 = thread;
        self.bitmap |= 1 << l;
    }

    /// Queues `thread` at level `prio` before the first thread `before` says it precedes
    /// (behind all of them if none): the order `CONFIG_SCHED_DEADLINE` keeps within a level.
    /// O(n) in the threads of the level.
    ///
    /// # Panics
    /// If `thread` is already queued or not in `table` (a kernel bug).
    pub fn insert_before<T: Linked>(
        &mut self,
        table: &mut [T],
        thread: u32,
        prio: i32,
        before: impl Fn(&T) -> bool,
    ) {
        let l = level(prio);
        let mut at = self.ends[l].0;
        while at != NONE && !before(&table[at as usize]) {
            at = table[at as usize].link().next;
        }
        if at == NONE {
            self.push_back(table, thread, prio);
            return;
        }
        let prev = table[at as usize].link().prev;
        let mine = table[thread as usize].link_mut();
        if mine.level != NOT_QUEUED {
            queued_twice(thread);
        }
        *mine = Link { prev, next: at, level: l as u8 };
        table[at as usize].link_mut().prev = thread;
        if prev == NONE {
            self.ends[l].0 = thread;
        } else {
            table[prev as usize].link_mut().next = thread;
        }
        self.bitmap |= 1 << l;
    }

    /// Removes `thread` from the level it is queued at; returns whether it was queued.
    ///
    /// # Panics
    /// If `thread` or a neighbour is not in `table` (a kernel bug).
    #[inline]
    pub fn remove<T: Linked>(&mut self, table: &mut [T], thread: u32) -> bool {
        let link = *table[thread as usize].link();
        let l = usize::from(link.level);
        // `NOT_QUEUED` is not a level: this test is also the bounds check of `ends`.
        if l >= LEVELS {
            return false;
        }
        // A blocking thread usually leaves from the head of its level: that test first.
        if link.prev == NONE {
            self.ends[l].0 = link.next;
        } else {
            match table.get_mut(link.prev as usize) {
                Some(prev) => prev.link_mut().next = link.next,
                None => bad_link(link.prev),
            }
        }
        // `NONE` is never an index of the table: the bounds check is the test for the tail.
        match table.get_mut(link.next as usize) {
            Some(next) => next.link_mut().prev = link.prev,
            None => {
                if link.next != NONE {
                    bad_link(link.next);
                }
                self.ends[l].1 = link.prev;
                // The tail leaves; if it was also the head, the level is empty now (decided
                // from the links in hand, not by reading back the head just stored).
                if link.prev == NONE {
                    self.bitmap &= !(1 << l);
                }
            }
        }
        *table[thread as usize].link_mut() = Link::UNLINKED;
        true
    }

    /// The most urgent, longest-queued thread.
    #[inline]
    pub fn best(&self) -> Option<u32> {
        if self.bitmap == 0 {
            return None;
        }
        Some(self.ends[self.bitmap.trailing_zeros() as usize].0)
    }

    /// Ready threads, most urgent first (for reports).
    pub fn iter<'a, T: Linked>(&'a self, table: &'a [T]) -> impl Iterator<Item = u32> + 'a {
        self.ends.iter().flat_map(move |&(head, _)| {
            std::iter::successors((head != NONE).then_some(head), move |&t| {
                let next = table[t as usize].link().next;
                (next != NONE).then_some(next)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<Link> {
        vec![Link::UNLINKED; 16]
    }

    #[test]
    fn most_urgent_first_then_fifo() {
        let (mut q, t) = (ReadyQueue::default(), &mut table());
        q.push_back(t, 1, 5);
        q.push_back(t, 2, 3);
        q.push_back(t, 3, 5);
        q.push_back(t, 4, -2);
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![4, 2, 1, 3]);
        assert_eq!(q.best(), Some(4));
        assert!(q.remove(t, 4));
        assert!(!q.remove(t, 4));
        assert_eq!(q.best(), Some(2));
        q.remove(t, 2);
        assert_eq!(q.best(), Some(1));
        q.remove(t, 1);
        q.push_back(t, 1, 5);
        assert_eq!(q.best(), Some(3), "a requeued thread goes behind its equals");
        q.remove(t, 3);
        q.remove(t, 1);
        assert_eq!(q.best(), None);
    }

    /// A thread leaves from the head, the middle or the tail of its level, the others keep
    /// their order; a thread that is not queued is not removed.
    #[test]
    fn removal_from_anywhere_keeps_the_order() {
        let (mut q, t) = (ReadyQueue::default(), &mut table());
        for s in [7, 2, 9, 4] {
            q.push_back(t, s, 0);
        }
        q.push_back(t, 5, 1);
        assert!(!q.remove(t, 3), "never queued");
        assert!(q.remove(t, 9));
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![7, 2, 4, 5]);
        assert!(q.remove(t, 7));
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![2, 4, 5]);
        assert!(q.remove(t, 4));
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![2, 5]);
        q.push_back(t, 9, 0);
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![2, 9, 5]);
        assert!(q.remove(t, 5), "the only thread of its level");
        assert!(q.remove(t, 2) && q.remove(t, 9));
        assert_eq!((q.best(), q.iter(t).count()), (None, 0));
    }

    /// The kernel's checks on its own links: a thread queued twice, a link to a slot that is
    /// not in the table.
    #[test]
    #[should_panic(expected = "thread 3 queued twice")]
    fn queueing_a_queued_thread_is_a_kernel_bug() {
        let (mut q, t) = (ReadyQueue::default(), &mut table());
        q.push_back(t, 3, 0);
        q.push_back(t, 3, 1);
    }

    #[test]
    fn insert_before_keeps_the_order_it_is_given() {
        let (mut q, t) = (ReadyQueue::default(), &mut table());
        // `before` sees the table entry; here, "precedes a thread whose link says it is
        // queued behind slot 1" places 6 after 1.
        q.push_back(t, 1, 0);
        q.push_back(t, 2, 0);
        q.insert_before(t, 6, 0, |e| e.prev == 1);
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![1, 6, 2]);
        q.insert_before(t, 8, 0, |_| false);
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![1, 6, 2, 8]);
        q.insert_before(t, 9, 0, |_| true);
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![9, 1, 6, 2, 8]);
        assert!(q.remove(t, 6));
        assert_eq!(q.iter(t).collect::<Vec<_>>(), vec![9, 1, 2, 8]);
    }
}
