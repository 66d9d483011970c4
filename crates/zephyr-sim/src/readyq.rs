//! The ready queue: one FIFO per priority and a bitmap of non-empty levels.
//!
//! Mirrors Zephyr's "multiq" run queue (`kernel/sched.c`, `CONFIG_SCHED_MULTIQ`): `best` is
//! O(1) (lowest set bit), `push_back` O(1), `remove` O(n) in the threads of one level.
//! Threads are kernel slot numbers; priorities run from `K_HIGHEST_THREAD_PRIO` (-16) to the
//! idle priority (15), lower is more urgent.

use std::collections::VecDeque;

/// Most urgent priority the queue holds.
pub const MIN_PRIO: i32 = -16;
/// Least urgent priority the queue holds (the idle thread's).
pub const MAX_PRIO: i32 = 15;
const LEVELS: usize = (MAX_PRIO - MIN_PRIO + 1) as usize;

/// Ready threads by priority, FIFO among equals.
#[derive(Default)]
pub struct ReadyQueue {
    levels: [VecDeque<u32>; LEVELS],
    bitmap: u32,
}

fn level(prio: i32) -> usize {
    assert!((MIN_PRIO..=MAX_PRIO).contains(&prio), "priority {prio} out of range");
    (prio - MIN_PRIO) as usize
}

impl ReadyQueue {
    /// Queues `thread` behind the ready threads of priority `prio`.
    pub fn push_back(&mut self, thread: u32, prio: i32) {
        let l = level(prio);
        self.levels[l].push_back(thread);
        self.bitmap |= 1 << l;
    }

    /// Removes `thread` from level `prio`; returns whether it was there.
    pub fn remove(&mut self, thread: u32, prio: i32) -> bool {
        let l = level(prio);
        let q = &mut self.levels[l];
        let found = match q.iter().position(|&t| t == thread) {
            Some(i) => {
                q.remove(i);
                true
            }
            None => false,
        };
        if q.is_empty() {
            self.bitmap &= !(1 << l);
        }
        found
    }

    /// The most urgent, longest-queued thread.
    pub fn best(&self) -> Option<u32> {
        if self.bitmap == 0 {
            return None;
        }
        let l = self.bitmap.trailing_zeros() as usize;
        self.levels[l].front().copied()
    }

    /// Ready threads, most urgent first (for reports).
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.levels.iter().flat_map(|q| q.iter().copied())
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
}
