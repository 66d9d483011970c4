//! The ready queue: one FIFO per priority and a bitmap of non-empty levels.
//!
//! Mirrors Zephyr's "multiq" run queue (`kernel/sched.c`, `CONFIG_SCHED_MULTIQ`): one
//! doubly-linked list per priority, as `sys_dlist_t`s. `best` is O(1) (lowest set bit),
//! `push_back` and `remove` are O(1): each thread's links live in the queue, indexed by its
//! slot (a blocking call removes the running thread and a wake appends one, on every switch).
//! Threads are kernel slot numbers; priorities run from `K_HIGHEST_THREAD_PRIO` (-16) to the
//! idle priority (15), lower is more urgent.

/// Most urgent priority the queue holds.
pub const MIN_PRIO: i32 = -16;
/// Least urgent priority the queue holds (the idle thread's).
pub const MAX_PRIO: i32 = 15;
const LEVELS: usize = (MAX_PRIO - MIN_PRIO + 1) as usize;

/// "No thread" in the links.
const NONE: u32 = u32::MAX;
/// The level of a thread that is not queued.
const NOT_QUEUED: u8 = u8::MAX;

/// A thread's place in its level's list.
#[derive(Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
    level: u8,
}

const UNLINKED: Link = Link { prev: NONE, next: NONE, level: NOT_QUEUED };

/// Ready threads by priority, FIFO among equals.
pub struct ReadyQueue {
    /// First and last thread of each level ([`NONE`] when empty).
    ends: [(u32, u32); LEVELS],
    /// Each thread's links, by slot.
    links: Vec<Link>,
    bitmap: u32,
}

impl Default for ReadyQueue {
    fn default() -> Self {
        ReadyQueue { ends: [(NONE, NONE); LEVELS], links: Vec::new(), bitmap: 0 }
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
    panic!("ready queue link to thread {thread}, which has no links")
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
    /// If `thread` is already queued (a kernel bug).
    #[inline]
    pub fn push_back(&mut self, thread: u32, prio: i32) {
        let l = level(prio);
        let tail = self.ends[l].1;
        // One bounds check for the thread's links (a new thread's first queueing makes room).
        match self.links.get_mut(thread as usize) {
            Some(mine) if mine.level == NOT_QUEUED => {
                mine.prev = tail;
                mine.next = NONE;
                mine.level = l as u8;
            }
            Some(_) => queued_twice(thread),
            None => self.grow(thread, tail, NONE, l),
        }
        // `NONE` is never an index of `links` (fewer than `u32::MAX` threads): the bounds
        // check is the test for an empty level.
        match self.links.get_mut(tail as usize) {
            Some(last) => last.next = thread,
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

    /// Makes room for the links of `thread` (its first queueing) and queues it at level `l`
    /// between `prev` and `next`.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, thread: u32, prev: u32, next: u32, l: usize) {
        let t = thread as usize;
        if t >= self.links.len() {
            self.links.resize(t + 1, UNLINKED);
        }
        self.links[t] = Link { prev, next, level: l as u8 };
    }

    /// Queues `thread` at level `prio` before the first thread `before` says it precedes
    /// (behind all of them if none): the order `CONFIG_SCHED_DEADLINE` keeps within a level.
    /// O(n) in the threads of the level.
    ///
    /// # Panics
    /// If `thread` is already queued (a kernel bug).
    pub fn insert_before(&mut self, thread: u32, prio: i32, before: impl Fn(u32) -> bool) {
        let l = level(prio);
        let mut at = self.ends[l].0;
        while at != NONE && !before(at) {
            at = self.links[at as usize].next;
        }
        if at == NONE {
            self.push_back(thread, prio);
            return;
        }
        let prev = self.links[at as usize].prev;
        match self.links.get_mut(thread as usize) {
            Some(mine) if mine.level == NOT_QUEUED => {
                *mine = Link { prev, next: at, level: l as u8 }
            }
            Some(_) => queued_twice(thread),
            None => self.grow(thread, prev, at, l),
        }
        self.links[at as usize].prev = thread;
        if prev == NONE {
            self.ends[l].0 = thread;
        } else {
            self.links[prev as usize].next = thread;
        }
        self.bitmap |= 1 << l;
    }

    /// Removes `thread` from level `prio`; returns whether it was there.
    #[inline]
    pub fn remove(&mut self, thread: u32, prio: i32) -> bool {
        let l = level(prio);
        let Some(&link) = self.links.get(thread as usize) else {
            return false;
        };
        if usize::from(link.level) != l {
            return false;
        }
        // A blocking thread usually leaves from the head of its level: that test first.
        if link.prev == NONE {
            self.ends[l].0 = link.next;
        } else {
            match self.links.get_mut(link.prev as usize) {
                Some(prev) => prev.next = link.next,
                None => bad_link(link.prev),
            }
        }
        // `NONE` is never an index of `links`: the bounds check is the test for the tail.
        match self.links.get_mut(link.next as usize) {
            Some(next) => next.prev = link.prev,
            None => {
                if link.next != NONE {
                    bad_link(link.next);
                }
                self.ends[l].1 = link.prev;
            }
        }
        if let Some(mine) = self.links.get_mut(thread as usize) {
            *mine = UNLINKED;
        }
        if self.ends[l].0 == NONE {
            self.bitmap &= !(1 << l);
        }
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
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ends.iter().flat_map(move |&(head, _)| {
            std::iter::successors((head != NONE).then_some(head), move |&t| {
                let next = self.links[t as usize].next;
                (next != NONE).then_some(next)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_urgent_first_then_fifo() {
        let mut q = ReadyQueue::default();
        q.push_back(1, 5);
        q.push_back(2, 3);
        q.push_back(3, 5);
        q.push_back(4, -2);
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![4, 2, 1, 3]);
        assert_eq!(q.best(), Some(4));
        assert!(q.remove(4, -2));
        assert!(!q.remove(4, -2));
        assert_eq!(q.best(), Some(2));
        q.remove(2, 3);
        assert_eq!(q.best(), Some(1));
        q.remove(1, 5);
        q.push_back(1, 5);
        assert_eq!(q.best(), Some(3), "a requeued thread goes behind its equals");
        q.remove(3, 5);
        q.remove(1, 5);
        assert_eq!(q.best(), None);
    }

    /// A thread leaves from the head, the middle or the tail of its level, the others keep
    /// their order; a thread is found only at the level it was queued at.
    #[test]
    fn removal_from_anywhere_keeps_the_order() {
        let mut q = ReadyQueue::default();
        for t in [7, 2, 9, 4] {
            q.push_back(t, 0);
        }
        assert!(!q.remove(9, 1), "not at that level");
        assert!(!q.remove(3, 0), "never queued");
        assert!(q.remove(9, 0));
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![7, 2, 4]);
        assert!(q.remove(7, 0));
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![2, 4]);
        assert!(q.remove(4, 0));
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![2]);
        q.push_back(9, 0);
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![2, 9]);
        assert!(q.remove(2, 0) && q.remove(9, 0));
        assert_eq!((q.best(), q.iter().count()), (None, 0));
    }
}
