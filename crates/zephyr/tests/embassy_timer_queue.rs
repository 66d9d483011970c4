//! `zephyr::embassy::timer_queue::TimerQueue` against a model: random schedules and expiries
//! (a seeded xorshift, so every run is the same), on real embassy-executor tasks (the queue
//! lives in their timer items), compared after every operation with a `BTreeMap` of deadlines.

mod embassy_common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use embassy_common::*;
use embassy_futures::yield_now;
use zephyr::embassy::timer_queue::TimerQueue;

/// The last deadline a kernel timeout encodes (`K_TIMEOUT_ABS_TICKS`: 2^63 - 2 ticks).
const HORIZON: u64 = (i64::MAX - 2) as u64;

/// xorshift64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The reference: task -> its queued deadline, with the rules of the queue's docs.
#[derive(Default)]
struct Model {
    deadlines: BTreeMap<usize, u64>,
}

impl Model {
    fn earliest(&self) -> Option<u64> {
        self.deadlines.values().copied().min()
    }

    /// Returns whether the earliest deadline got earlier.
    fn schedule(&mut self, at: u64, task: usize) -> bool {
        let before = self.earliest().unwrap_or(u64::MAX);
        if at != u64::MAX {
            let deadline = self.deadlines.entry(task).or_insert(at);
            *deadline = (*deadline).min(at);
        }
        self.earliest().unwrap_or(u64::MAX) < before
    }

    /// Removes what is due at `now`; returns it (sorted) and the earliest deadline left.
    fn expire(&mut self, now: u64) -> (Vec<usize>, u64) {
        let due: Vec<usize> =
            self.deadlines.iter().filter(|(_, &d)| d <= now).map(|(&t, _)| t).collect();
        for task in &due {
            self.deadlines.remove(task);
        }
        (due, self.earliest().unwrap_or(u64::MAX))
    }
}

/// A deadline for `task`: new, earlier, later or equal to its own, equal to the earliest, in
/// the past, or at the horizon (the last encodable tick, around it, and `u64::MAX`, never).
fn pick_deadline(rng: &mut Rng, model: &Model, task: usize, clock: u64) -> u64 {
    let own = model.deadlines.get(&task).copied();
    match rng.below(16) {
        0..=4 => clock + rng.below(1_000),
        5 | 6 => match own {
            Some(d) if d > 0 => d - 1 - rng.below(d.min(300)),
            _ => clock + rng.below(50),
        },
        7 | 8 => own.map_or(clock + 7, |d| d.saturating_add(1 + rng.below(300))),
        9 => own.unwrap_or(clock),
        10 => model.earliest().unwrap_or(clock + 3),
        11 | 12 => clock.saturating_sub(rng.below(500)),
        13 => [HORIZON - 1, HORIZON, HORIZON + 1][rng.below(3) as usize],
        14 => u64::MAX - 1,
        _ => u64::MAX,
    }
}

/// Spawns one task per slot of `wakers` that only records its polls: its first poll gives its
/// waker, every later one is a wake by the queue (nothing else wakes it), logged in `woken`.
fn spawn_recorders(
    s: &embassy_executor::Spawner,
    wakers: &Rc<RefCell<Vec<Option<Waker>>>>,
    woken: &Rc<RefCell<Vec<usize>>>,
) {
    for task in 0..wakers.borrow().len() {
        let (wakers, woken) = (wakers.clone(), woken.clone());
        spawn(
            s,
            poll_fn(move |cx| {
                let mut wakers = wakers.borrow_mut();
                if wakers[task].is_none() {
                    wakers[task] = Some(cx.waker().clone());
                } else {
                    woken.borrow_mut().push(task);
                }
                Poll::<()>::Pending
            }),
        );
    }
}

/// Every recorder's waker, once each has been polled.
async fn all_wakers(wakers: &RefCell<Vec<Option<Waker>>>) -> Vec<Waker> {
    while wakers.borrow().iter().any(Option::is_none) {
        yield_now().await;
    }
    let all = wakers.borrow().iter().map(|w| w.clone().unwrap()).collect();
    all
}

/// Runs `operations` random operations on `tasks` tasks from `seed`; returns how many wakes
/// were checked.
fn against_the_model(seed: u64, tasks: usize, operations: usize) -> usize {
    run(5, move || {
        let wakers: Rc<RefCell<Vec<Option<Waker>>>> = Rc::new(RefCell::new(vec![None; tasks]));
        let woken: Rc<RefCell<Vec<usize>>> = Rc::default();
        let checked = Rc::new(Cell::new(None));
        let c = checked.clone();
        executor().run_until(
            |s| {
                spawn_recorders(&s, &wakers, &woken);
                spawn(&s, async move {
                    let wakers = all_wakers(&wakers).await;
                    let mut rng = Rng(seed);
                    let mut model = Model::default();
                    // SAFETY: the only timer queue these tasks' wakers are given to (the time
                    // driver never sees them: they wait on no embassy-time timer).
                    let mut queue = unsafe { TimerQueue::new() };
                    let mut clock = 1_000u64;
                    let mut wakes = 0;
                    for step in 0..operations {
                        if rng.below(3) != 0 {
                            let task = rng.below(tasks as u64) as usize;
                            let at = pick_deadline(&mut rng, &model, task, clock);
                            let expected = model.schedule(at, task);
                            assert_eq!(
                                queue.schedule_wake(at, &wakers[task]),
                                expected,
                                "step {step}: schedule_wake({at}) of task {task}"
                            );
                        } else {
                            let now = match rng.below(20) {
                                0 => clock.saturating_sub(rng.below(200)),
                                1 => HORIZON - 1 + rng.below(3),
                                2 => u64::MAX - 1,
                                _ => {
                                    clock += rng.below(400);
                                    clock
                                }
                            };
                            let (due, next) = model.expire(now);
                            assert_eq!(
                                queue.next_expiration(now),
                                next,
                                "step {step}: next_expiration({now})"
                            );
                            // Two rounds of the executor: the woken tasks are polled in the
                            // first.
                            yield_now().await;
                            yield_now().await;
                            let mut got = woken.take();
                            got.sort_unstable();
                            assert_eq!(got, due, "step {step}: tasks woken at {now}");
                            wakes += due.len();
                        }
                        assert_eq!(queue.earliest(), model.earliest(), "step {step}: earliest");
                    }
                    // Dropping the queue releases its tasks without waking them; a new queue
                    // takes them again.
                    drop(queue);
                    // SAFETY: the previous queue is gone; this is again the only one.
                    let mut queue = unsafe { TimerQueue::new() };
                    for (task, waker) in wakers.iter().enumerate() {
                        assert_eq!(queue.schedule_wake(5 + task as u64, waker), task == 0);
                    }
                    assert_eq!(queue.next_expiration(4), 5);
                    assert_eq!(queue.next_expiration(u64::MAX), u64::MAX);
                    yield_now().await;
                    yield_now().await;
                    let mut got = woken.take();
                    got.sort_unstable();
                    assert_eq!(got, (0..tasks).collect::<Vec<_>>(), "released and requeued");
                    c.set(Some(wakes));
                });
            },
            || checked.get().is_some(),
        );
        checked.get().unwrap()
    })
}

/// Thousands of random operations on 40 tasks agree with the model at every step: the value of
/// `schedule_wake` (earliest changed), the tasks woken by `next_expiration` and the deadline it
/// returns, and `earliest`.
#[test]
fn random_schedules_agree_with_the_model() {
    for seed in [0x9E37_79B9_7F4A_7C15, 1, 0xDEAD_BEEF, 42] {
        let wakes = against_the_model(seed, 40, 5_000);
        assert!(wakes > 2_000, "seed {seed:#x}: only {wakes} wakes checked");
    }
}

/// With few tasks almost every schedule hits a queued one: decrease-key and ties dominate.
#[test]
fn random_schedules_on_few_tasks_agree_with_the_model() {
    for seed in [7, 0x1234_5678] {
        against_the_model(seed, 3, 5_000);
    }
}

/// The rules one by one, on four tasks: decrease-key, a later deadline keeps the earlier one,
/// `u64::MAX` is never queued, ties all wake, and `schedule_wake` is true only when the
/// earliest deadline got earlier.
#[test]
fn the_rules_step_by_step() {
    let trace = run(5, || {
        let wakers: Rc<RefCell<Vec<Option<Waker>>>> = Rc::new(RefCell::new(vec![None; 4]));
        let woken: Rc<RefCell<Vec<usize>>> = Rc::default();
        let out = Rc::new(RefCell::new(None));
        let o = out.clone();
        executor().run_until(
            |s| {
                spawn_recorders(&s, &wakers, &woken);
                spawn(&s, async move {
                    let w = all_wakers(&wakers).await;
                    // SAFETY: the only queue these tasks are given to.
                    let mut q = unsafe { TimerQueue::new() };
                    let mut log = vec![
                        ("schedule 0 at MAX", q.schedule_wake(u64::MAX, &w[0]) as u64),
                        ("earliest", q.earliest().unwrap_or(0)),
                        ("schedule 0 at 100", q.schedule_wake(100, &w[0]) as u64),
                        ("schedule 1 at 100", q.schedule_wake(100, &w[1]) as u64),
                        ("schedule 2 at 200", q.schedule_wake(200, &w[2]) as u64),
                        ("schedule 2 at 50", q.schedule_wake(50, &w[2]) as u64),
                        ("schedule 2 at 300", q.schedule_wake(300, &w[2]) as u64),
                        ("schedule 0 at MAX", q.schedule_wake(u64::MAX, &w[0]) as u64),
                        ("schedule 3 at 100", q.schedule_wake(100, &w[3]) as u64),
                        ("earliest", q.earliest().unwrap()),
                        ("expire at 49", q.next_expiration(49)),
                        ("expire at 50", q.next_expiration(50)),
                    ];
                    yield_now().await;
                    yield_now().await;
                    log.push(("woken", woken.take().iter().map(|&t| 1 << t).sum()));
                    log.push(("expire at 100", q.next_expiration(100)));
                    yield_now().await;
                    yield_now().await;
                    log.push(("woken", woken.take().iter().map(|&t| 1 << t).sum()));
                    *o.borrow_mut() = Some(log);
                });
            },
            || out.borrow().is_some(),
        );
        out.take().unwrap()
    });
    assert_eq!(
        trace,
        [
            ("schedule 0 at MAX", 0),
            ("earliest", 0), // empty
            ("schedule 0 at 100", 1),
            ("schedule 1 at 100", 0), // a tie: the earliest is still 100
            ("schedule 2 at 200", 0),
            ("schedule 2 at 50", 1),  // decrease-key below the earliest
            ("schedule 2 at 300", 0), // keeps 50
            ("schedule 0 at MAX", 0), // keeps 100
            ("schedule 3 at 100", 0),
            ("earliest", 50),
            ("expire at 49", 50),
            ("expire at 50", 100),
            ("woken", 0b0100),
            ("expire at 100", u64::MAX),
            ("woken", 0b1011),
        ]
    );
}
