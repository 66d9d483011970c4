//! Time slicing (`CONFIG_TIMESLICING`), one test per rule of Zephyr 2.7.0's kernel/sched.c and
//! kernel/timeout.c, and the whole of `samples/time-slicing` against the real kernel's output.
//!
//! Each scenario is the C program `samples/time-slicing/src/main.c` translated line by line:
//! main runs at priority -5 (cooperative), starts each phase on a tick boundary, creates the
//! phase's threads and joins them. A worker spins in steps of `k_busy_wait(0.7 tick)` and logs
//! `<name> runs` whenever it runs after another worker logged; `T=` is ticks since the phase
//! began. Boot configuration: a 2 ms slice at slice priority 0 (`Sim::time_slice(2, 0)`, as
//! `CONFIG_TIMESLICE_SIZE=2`, `CONFIG_TIMESLICE_PRIORITY=0`), at 10 kHz (a 20-tick slice) and at
//! 100 Hz (2 ticks).

use std::cell::{Cell, RefCell};

use zephyr_sys::*;

thread_local! {
    static OUT: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static T0: Cell<i64> = const { Cell::new(0) };
    static LAST: Cell<&'static str> = const { Cell::new("") };
    /// Phase 9's `wake` semaphore (`K_SEM_DEFINE(wake, 0, 1)`), made per run.
    static WAKE: Cell<*mut k_sem> = const { Cell::new(std::ptr::null_mut()) };
    /// Phase 11's `wake2` and `spare` semaphores, made per run.
    static WAKE2: Cell<*mut k_sem> = const { Cell::new(std::ptr::null_mut()) };
    static SPARE: Cell<*mut k_sem> = const { Cell::new(std::ptr::null_mut()) };
    /// Phase 10's `late_timer` (`K_TIMER_DEFINE(late_timer, NULL, NULL)`), made per run.
    static LATE_TIMER: Cell<*mut k_timer> = const { Cell::new(std::ptr::null_mut()) };
}

/// Ticks since the phase began.
fn t() -> i64 {
    // SAFETY: kernel call from a simulated thread.
    (unsafe { k_uptime_ticks() }) as i64 - T0.get()
}

/// `printk`: appends a line to the run's output.
fn out(line: String) {
    OUT.with(|o| o.borrow_mut().push(line));
}

macro_rules! out {
    ($($arg:tt)*) => { out(format!($($arg)*)) };
}

/// A step: 0.7 tick of `k_busy_wait` (`STEP_US`).
fn step_us() -> u32 {
    let tick_us = 1_000_000 / sys_clock_ticks_per_sec();
    7 * tick_us / 10
}

/// The slice in ticks for `ms` milliseconds, as the C program computes it:
/// `MAX(2, k_ms_to_ticks_ceil32(ms))`.
fn slice_ticks(ms: u32) -> i64 {
    (k_ms_to_ticks_ceil64(u64::from(ms)) as i64).max(2)
}

/// `steps(me, n)`: `n` steps, logging `<me> runs` when another worker logged last.
fn steps(me: &'static str, n: i64) {
    for _ in 0..n {
        if LAST.get() != me {
            LAST.set(me);
            out!("T={} {me} runs", t());
        }
        // SAFETY: kernel call from a simulated thread.
        unsafe { k_busy_wait(step_us()) };
    }
}

/// `worker`: `n` steps, then `done`.
fn worker(me: &'static str, n: i64) {
    steps(me, n);
    out!("T={} {me} done", t());
}

/// Phase 5's `setter`: two steps, `k_sched_time_slice_set(35, 0)` inside its slice, `n` steps.
fn setter(me: &'static str, n: i64) {
    steps(me, 2);
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_sched_time_slice_set(35, 0) };
    out!("T={} {me} set the slice to 35 ms", t());
    steps(me, n);
    out!("T={} {me} done", t());
}

/// Phase 6's `urgent`: sleeps `sleep` ticks, then three steps.
fn urgent(me: &'static str, sleep: i64) {
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_sleep(K_TICKS(sleep)) };
    steps(me, 3);
    out!("T={} {me} done", t());
}

/// Phase 7's `sleeper`: two steps, a one-tick sleep, `n` steps.
fn sleeper(me: &'static str, n: i64) {
    steps(me, 2);
    out!("T={} {me} sleeps", t());
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_sleep(K_TICKS(1)) };
    out!("T={} {me} woke", t());
    steps(me, n);
    out!("T={} {me} done", t());
}

/// Phase 8's `locker`: `2n` steps under `k_sched_lock`, then `2n` more.
fn locker(me: &'static str, n: i64) {
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_sched_lock() };
    steps(me, 2 * n);
    // SAFETY: as above.
    unsafe { k_sched_unlock() };
    out!("T={} {me} unlocked", t());
    steps(me, 2 * n);
    out!("T={} {me} done", t());
}

/// `wait_then_steps`: waits for `sem`, then `n` steps.
fn wait_then_steps(sem: *mut k_sem, me: &'static str, n: i64) {
    // SAFETY: kernel call from a simulated thread; the semaphore is leaked by `run_phase`.
    unsafe { k_sem_take(sem, K_FOREVER) };
    steps(me, n);
    out!("T={} {me} done", t());
}

/// Phases 9 and 11's `waiter`: waits for `wake`, then `n` steps.
fn waiter(me: &'static str, n: i64) {
    wait_then_steps(WAKE.get(), me, n);
}

/// Phase 11's `waiter2`: waits for `wake2`, then `n` steps.
fn waiter2(me: &'static str, n: i64) {
    wait_then_steps(WAKE2.get(), me, n);
}

/// `give_locked`: gives `sem` with interrupts locked.
fn give_locked(sem: *mut k_sem) {
    // SAFETY: kernel calls from a simulated thread; the semaphore is leaked by `run_phase`;
    // the key goes back to `irq_unlock`.
    unsafe {
        let key = irq_lock();
        k_sem_give(sem);
        irq_unlock(key);
    }
}

/// Phase 11's `locked_giver3`: gives `wake` (tick 1), `wake2` (tick 2) and `spare` (tick 3)
/// with interrupts locked, then `n` steps.
fn locked_giver3(me: &'static str, n: i64) {
    steps(me, 2);
    give_locked(WAKE.get());
    out!("T={} {me} gave H's semaphore", t());
    steps(me, 1);
    give_locked(WAKE2.get());
    out!("T={} {me} gave C's semaphore", t());
    steps(me, 2);
    give_locked(SPARE.get());
    out!("T={} {me} gave a semaphore nobody waits on", t());
    steps(me, n);
    out!("T={} {me} done", t());
}

/// A semaphore of count 0 and limit 1 for one run (`K_SEM_DEFINE(name, 0, 1)`).
fn new_sem() -> *mut k_sem {
    let sem = Box::leak(Box::new(k_sem::new()));
    // SAFETY: the semaphore is leaked and never moves.
    assert_eq!(unsafe { k_sem_init(sem, 0, 1) }, 0);
    sem
}

/// Phase 9's `locked_giver`: two steps, gives `wake` with interrupts locked, `n` steps.
fn locked_giver(me: &'static str, n: i64) {
    steps(me, 2);
    // SAFETY: kernel calls from a simulated thread; the semaphore is leaked by `run_phase`;
    // the key goes back to `irq_unlock`.
    unsafe {
        let key = irq_lock();
        k_sem_give(WAKE.get());
        irq_unlock(key);
    }
    out!("T={} {me} gave with interrupts locked", t());
    steps(me, n);
    out!("T={} {me} done", t());
}

/// Phase 10's `timer_starter`: five steps, a timer ending one tick before the 35 ms slice's
/// length, `n` steps.
fn timer_starter(me: &'static str, n: i64) {
    steps(me, 5);
    // SAFETY: kernel call from a simulated thread; the timer is leaked by `run_phase`.
    unsafe { k_timer_start(LATE_TIMER.get(), K_TICKS(slice_ticks(35) - 1), K_NO_WAIT) };
    out!("T={} {me} started the timer", t());
    steps(me, n);
    out!("T={} {me} done", t());
}

/// `start`: a thread at `prio` running `entry(name, arg)`.
fn start(entry: fn(&'static str, i64), name: &'static str, arg: i64, prio: i32) -> k_tid_t {
    zephyr_sim::spawn_thread(name, prio, move || entry(name, arg))
}

/// `phase`: waits for the next tick boundary and starts a phase there.
fn phase(name: &str) {
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_sleep(K_TICKS(1)) };
    // SAFETY: as above.
    T0.set(unsafe { k_uptime_ticks() } as i64);
    LAST.set("");
    out!("== {name}");
}

/// `join`: waits for every thread of the phase.
fn join(threads: &[k_tid_t]) {
    for &t in threads {
        // SAFETY: the threads' objects are leaked by `spawn_thread`.
        assert_eq!(unsafe { k_thread_join(t, K_FOREVER) }, 0);
    }
}

/// The phases of `samples/time-slicing/src/main.c`, by number.
fn run_phase(n: u32) {
    let s = slice_ticks(2);
    let s35 = slice_ticks(35);
    match n {
        1 => {
            phase("1 rotate");
            let a = start(worker, "A", 3 * s, 5);
            let b = start(worker, "B", 3 * s, 5);
            let c = start(worker, "C", 3 * s, 5);
            join(&[a, b, c]);
        }
        2 => {
            phase("2 coop");
            let x = start(worker, "X", 3 * s, -2);
            let y = start(worker, "Y", 3 * s, -2);
            join(&[x, y]);
        }
        3 => {
            phase("3 ceiling");
            // SAFETY: kernel call from a simulated thread.
            unsafe { k_sched_time_slice_set(2, 6) };
            let p = start(worker, "P", 3 * s, 5);
            let q = start(worker, "Q", 3 * s, 5);
            join(&[p, q]);
            // SAFETY: as above.
            unsafe { k_sched_time_slice_set(2, 0) };
        }
        4 => {
            phase("4 alone");
            let l = start(worker, "L", 3 * s, 5);
            let m = start(worker, "M", 1, 6);
            join(&[l, m]);
        }
        5 => {
            phase("5 set");
            let a = start(setter, "A", 2 * s35, 5);
            let b = start(worker, "B", s35, 5);
            join(&[a, b]);
        }
        6 => {
            phase("6 preempted");
            let a = start(worker, "A", 2 * s35, 5);
            let b = start(worker, "B", s35, 5);
            let h = start(urgent, "H", s35 / 2 - 1, 3);
            join(&[a, b, h]);
        }
        7 => {
            phase("7 blocked");
            let a = start(sleeper, "A", s35, 5);
            let b = start(worker, "B", 2 * s35, 5);
            join(&[a, b]);
        }
        8 => {
            phase("8 locked");
            // SAFETY: kernel call from a simulated thread.
            unsafe { k_sched_time_slice_set(2, 0) };
            let a = start(locker, "A", s, 5);
            let b = start(worker, "B", 1, 5);
            join(&[a, b]);
        }
        9 => {
            phase("9 irq-locked");
            WAKE.set(new_sem());
            let h = start(waiter, "H", 3, 3);
            let a = start(locked_giver, "A", 2 * s, 5);
            let b = start(worker, "B", 2 * s, 5);
            join(&[h, a, b]);
        }
        10 => {
            phase("10 late");
            let timer = Box::leak(Box::new(k_timer::new()));
            // SAFETY: the timer is leaked and never moves; kernel calls from a simulated
            // thread.
            unsafe {
                k_timer_init(timer, None, None);
                k_sched_time_slice_set(35, 0);
            }
            LATE_TIMER.set(timer);
            let a = start(timer_starter, "A", 2 * s35, 5);
            let b = start(worker, "B", s35, 5);
            join(&[a, b]);
            // SAFETY: kernel call from a simulated thread.
            unsafe { k_sched_time_slice_set(2, 0) };
        }
        11 => {
            phase("11 irq-locked again");
            // SAFETY: kernel call from a simulated thread.
            unsafe { k_sched_time_slice_set(35, 0) };
            WAKE.set(new_sem());
            WAKE2.set(new_sem());
            SPARE.set(new_sem());
            let h = start(waiter, "H", 3, 3);
            let c = start(waiter2, "C", 1, 4);
            let a = start(locked_giver3, "A", 2 * s35, 5);
            join(&[h, c, a]);
            // SAFETY: as above.
            unsafe { k_sched_time_slice_set(2, 0) };
        }
        _ => unreachable!("no phase {n}"),
    }
}

/// Runs `main` at priority -5 on a board at `hz` with `sim`'s slicing; returns the output.
fn run_with(hz: u32, sim: zephyr_sim::Sim, main: impl FnOnce() + 'static) -> Vec<String> {
    OUT.with(|o| o.borrow_mut().clear());
    sim.ticks_per_sec(hz)
        .main_priority(-5)
        .capture_console(true)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"));
    OUT.with(|o| std::mem::take(&mut *o.borrow_mut()))
}

/// Runs the phases `phases` in order with the C program's boot configuration (2 ms, priority 0)
/// at `hz` (phases 6 and 7 after 5, which sets the 35 ms slice they use).
fn run(hz: u32, phases: &'static [u32]) -> Vec<String> {
    run_with(hz, zephyr_sim::Sim::new().time_slice(2, 0), move || {
        for &n in phases {
            run_phase(n);
        }
    })
}

/// Lines of `out` for one phase (after its `==` line, up to the next).
fn phase_lines(out: &[String], n: u32) -> Vec<String> {
    let head = format!("== {n} ");
    out.iter()
        .skip_while(|l| !l.starts_with(&head))
        .skip(1)
        .take_while(|l| !l.starts_with("=="))
        .cloned()
        .collect()
}

/// kernel/sched.c:413-417 (`z_time_slice`: a sliceable thread whose slice ran out goes to the
/// end of its priority's queue, `move_thread_to_end_of_prio_q`, and a new slice starts) and
/// kernel/timeout.c:234-238 (`sys_clock_announce` calls it at each tick announcement; the timer
/// is programmed for the slice's end, sched.c:364): three equal busy threads take turns every
/// 20 ticks at 10 kHz, every 2 at 100 Hz. A step cut by the slice ends as soon as its thread
/// runs again (`k_busy_wait` measures elapsed time), and the slice of a thread switched in
/// mid-tick ends a whole slice after that tick (`slice_ticks = slice_time +
/// sys_clock_elapsed()`, sched.c:363).
#[test]
fn equal_busy_threads_rotate_every_slice() {
    let out = run(10_000, &[1]);
    assert_eq!(
        phase_lines(&out, 1),
        [
            "T=0 A runs",
            "T=20 B runs",
            "T=40 C runs",
            "T=60 A runs",
            "T=80 B runs",
            "T=100 C runs",
            "T=120 A runs",
            "T=121 A done",
            "T=121 B runs",
            "T=122 B done",
            "T=122 C runs",
            "T=124 C done",
        ]
    );
    let out = run(100, &[1]);
    assert_eq!(
        phase_lines(&out, 1),
        [
            "T=0 A runs",
            "T=2 B runs",
            "T=4 C runs",
            "T=6 A runs",
            "T=8 B runs",
            "T=10 C runs",
            // Each thread's last step was cut by its slice: it ends as the thread resumes.
            "T=12 A done",
            "T=12 B done",
            "T=12 C done",
        ]
    );
}

/// kernel/sched.c:384-390 (`sliceable`: `is_preempt(thread)`) and 420-422 (otherwise
/// `slice_ticks = 0`): cooperative threads are never sliced; each runs its 2.1 slices to the end.
#[test]
fn cooperative_threads_are_never_sliced() {
    assert_eq!(
        phase_lines(&run(10_000, &[2]), 2),
        ["T=0 X runs", "T=42 X done", "T=42 Y runs", "T=84 Y done"]
    );
    assert_eq!(
        phase_lines(&run(100, &[2]), 2),
        ["T=0 X runs", "T=4 X done", "T=4 Y runs", "T=8 Y done"]
    );
}

/// kernel/sched.c:388 (`sliceable`: `!z_is_prio_higher(thread->base.prio, slice_max_prio)`):
/// with `k_sched_time_slice_set(2, 6)`, threads at priority 5 (more urgent than 6) are not
/// sliced.
#[test]
fn threads_more_urgent_than_the_slice_priority_are_not_sliced() {
    assert_eq!(
        phase_lines(&run(10_000, &[3]), 3),
        ["T=0 P runs", "T=42 P done", "T=42 Q runs", "T=84 Q done"]
    );
    assert_eq!(
        phase_lines(&run(100, &[3]), 3),
        ["T=0 P runs", "T=4 P done", "T=4 Q runs", "T=8 Q done"]
    );
}

/// kernel/sched.c:413-417: `sliceable` does not ask whether other threads share the priority;
/// a thread alone at its level goes to the back of a queue where it is alone and keeps
/// running, and a less urgent ready thread waits for it (`move_thread_to_end_of_prio_q`
/// reorders one priority only).
#[test]
fn a_thread_alone_at_its_priority_keeps_running() {
    assert_eq!(
        phase_lines(&run(10_000, &[4]), 4),
        ["T=0 L runs", "T=42 L done", "T=42 M runs", "T=42 M done"]
    );
    assert_eq!(
        phase_lines(&run(100, &[4]), 4),
        ["T=0 L runs", "T=4 L done", "T=4 M runs", "T=4 M done"]
    );
}

/// The tick at which the first of two equal busy threads gives way to the second, with a
/// boot slice of `ms` at `hz` (None: it never does).
fn first_rotation(ms: u32, hz: u32) -> Option<i64> {
    let out = run_with(hz, zephyr_sim::Sim::new().time_slice(ms, 0), || {
        phase("rounding");
        let spin = |me: &'static str| {
            move || {
                // SAFETY: kernel calls from a simulated thread.
                unsafe { k_busy_wait(30 * 1_000_000 / sys_clock_ticks_per_sec()) };
                out!("T={} {me} done", t());
            }
        };
        let a = zephyr_sim::spawn_thread("A", 5, spin("A"));
        let b = zephyr_sim::spawn_thread("B", 5, move || {
            out!("T={} B runs", t());
            spin("B")()
        });
        join(&[a, b]);
    });
    let b = out.iter().find(|l| l.ends_with(" B runs")).expect("B ran");
    let a_done = out.iter().position(|l| l.ends_with(" A done")).unwrap();
    let b_runs = out.iter().position(|l| l == b).unwrap();
    (b_runs < a_done).then(|| b[2..b.find(' ').unwrap()].parse().unwrap())
}

/// kernel/sched.c:372-377 (`k_sched_time_slice_set`): the slice is `k_ms_to_ticks_ceil32(ms)`
/// ticks, at least 2 on a tickless kernel ("It's not possible to reliably set a 1-tick timeout
/// if ticks aren't regular"): 2 ms is 20 ticks at 10 kHz and 2 (not 1) at 100 Hz; 0 turns
/// slicing off (`slice_time != 0`, sched.c:362 and 413), and the first thread runs its 30
/// ticks to the end.
#[test]
fn slice_size_rounds_up_to_ticks_and_at_least_two() {
    assert_eq!(first_rotation(2, 10_000), Some(20));
    assert_eq!(first_rotation(2, 100), Some(2));
    assert_eq!(first_rotation(15, 100), Some(2), "1.5 ticks rounds up to 2");
    assert_eq!(first_rotation(25, 100), Some(3), "2.5 ticks rounds up to 3");
    assert_eq!(first_rotation(1, 1000), Some(2), "1 tick becomes 2");
    assert_eq!(first_rotation(0, 10_000), None);
    assert_eq!(first_rotation(0, 100), None);
}

/// kernel/sched.c:368-382 (`k_sched_time_slice_set`: new `slice_time`, then
/// `z_reset_time_slice()`): called by a thread at tick 1 of its 2 ms slice, the 35 ms slice
/// (350 ticks at 10 kHz, 4 at 100 Hz) applies at once and the caller's slice restarts at the
/// call, so the other thread runs at tick 351 (5), not 20 (2) nor 350 (4).
#[test]
fn time_slice_set_at_run_time_changes_the_size_and_restarts_the_callers_slice() {
    assert_eq!(
        phase_lines(&run(10_000, &[5]), 5),
        [
            "T=0 A runs",
            "T=1 A set the slice to 35 ms",
            "T=351 B runs",
            "T=596 B done",
            "T=596 A runs",
            "T=736 A done",
        ]
    );
    assert_eq!(
        phase_lines(&run(100, &[5]), 5),
        [
            "T=0 A runs",
            "T=1 A set the slice to 35 ms",
            "T=5 B runs",
            "T=7 B done",
            "T=7 A runs",
            "T=9 A done",
        ]
    );
}

/// `k_busy_wait` measures elapsed time (kernel/timeout.c:305-330 `z_impl_k_busy_wait` counts
/// cycles since its start; native_posix's `arch_busy_wait`, boards/posix/native_posix/
/// cpu_wait.c:34-46, waits for an end time): a thread sliced out in the middle of a 30-tick wait finds it over
/// when it runs again at tick 40; the other thread, sliced out at 40 in the middle of its own
/// wait, resumes at once (the first ends) and finishes at the wait's end, tick 45.
#[test]
fn a_busy_wait_that_ends_while_sliced_out_returns_when_the_thread_resumes() {
    let out = run_with(10_000, zephyr_sim::Sim::new().time_slice(2, 0), || {
        phase("busy wait");
        let a = zephyr_sim::spawn_thread("A", 5, || {
            // SAFETY: kernel call from a simulated thread.
            unsafe { k_busy_wait(3_000) };
            out!("T={} A's 30-tick wait returned", t());
        });
        let b = zephyr_sim::spawn_thread("B", 5, || {
            out!("T={} B runs", t());
            // SAFETY: as above.
            unsafe { k_busy_wait(2_500) };
            out!("T={} B's 25-tick wait returned", t());
        });
        join(&[a, b]);
    });
    assert_eq!(
        out[1..],
        ["T=20 B runs", "T=40 A's 30-tick wait returned", "T=45 B's 25-tick wait returned"]
    );
}

/// kernel/include/kswap.h:108-111 (`do_swap`: `z_reset_time_slice()` when the thread switched
/// in is another) and kernel/sched.c:453-456 (`update_cache`): a thread preempted by a more
/// urgent one at tick 175 (2 at 100 Hz) starts a whole new slice when it is switched back in
/// at 177 (4), so it finishes before the other equal thread runs.
#[test]
fn a_thread_switched_back_in_after_preemption_starts_a_fresh_slice() {
    assert_eq!(
        phase_lines(&run(10_000, &[5, 6]), 6),
        [
            "T=0 A runs",
            "T=175 H runs",
            "T=177 H done",
            "T=177 A runs",
            "T=492 A done",
            "T=492 B runs",
            "T=737 B done",
        ]
    );
    assert_eq!(
        phase_lines(&run(100, &[5, 6]), 6),
        [
            "T=0 A runs",
            "T=2 H runs",
            "T=4 H done",
            "T=4 A runs",
            "T=7 A done",
            "T=7 B runs",
            "T=10 B done",
        ]
    );
}

/// kernel/include/kswap.h:108-111: a thread that sleeps gives the CPU to its equal (whose slice
/// starts at the switch, tick 1); readied at tick 3 it queues behind it (kernel/sched.c
/// `z_ready_thread`) and, switched in when that slice ends at tick 351 (5 at 100 Hz), starts a
/// fresh slice of its own.
#[test]
fn a_thread_that_blocked_and_was_readied_starts_a_fresh_slice() {
    assert_eq!(
        phase_lines(&run(10_000, &[5, 7]), 7),
        [
            "T=0 A runs",
            "T=1 A sleeps",
            "T=1 B runs",
            "T=351 A woke",
            "T=351 A runs",
            "T=596 A done",
            "T=596 B runs",
            "T=736 B done",
        ]
    );
    assert_eq!(
        phase_lines(&run(100, &[5, 7]), 7),
        [
            "T=0 A runs",
            "T=1 A sleeps",
            "T=1 B runs",
            "T=5 A woke",
            "T=5 A runs",
            "T=7 A done",
            "T=7 B runs",
            "T=9 B done",
        ]
    );
}

/// kernel/sched.c:420-422 (`z_time_slice`: a running thread that is not sliceable at a tick
/// announcement gets `slice_ticks = 0`) with `is_preempt` false under `k_sched_lock`
/// (sched.c:386): a thread holding the scheduler lock when its slice ends (tick 20; 2 at
/// 100 Hz) is not rotated, and after `k_sched_unlock` (tick 28; 2) it runs unsliced to its end
/// (56; 5): no slice starts until the next switch.
#[test]
fn a_thread_holding_the_scheduler_lock_at_its_slice_end_loses_its_slice() {
    assert_eq!(
        phase_lines(&run(10_000, &[8]), 8),
        ["T=0 A runs", "T=28 A unlocked", "T=56 A done", "T=56 B runs", "T=56 B done"]
    );
    assert_eq!(
        phase_lines(&run(100, &[8]), 8),
        ["T=0 A runs", "T=2 A unlocked", "T=5 A done", "T=5 B runs", "T=6 B done"]
    );
}

/// kernel/Kconfig (`TIMESLICING` default y, `TIMESLICE_SIZE` default 0, `TIMESLICE_PRIORITY`
/// default 0) and kernel/sched.c:1121-1123 (`z_sched_init` sets them): the simulated board
/// has Zephyr 2.7's defaults, and with them equal busy threads are not sliced.
#[test]
fn the_default_configuration_slices_nothing() {
    const { assert!(CONFIG_TIMESLICING) };
    assert_eq!(CONFIG_TIMESLICE_SIZE, 0);
    assert_eq!(CONFIG_TIMESLICE_PRIORITY, 0);
    let out = run_with(10_000, zephyr_sim::Sim::new(), || run_phase(1));
    assert_eq!(
        out,
        [
            "== 1 rotate",
            "T=0 A runs",
            "T=42 A done",
            "T=42 B runs",
            "T=84 B done",
            "T=84 C runs",
            "T=126 C done",
        ]
    );
}

/// The whole of `samples/time-slicing` (every phase in one run), against what Zephyr 2.7.0
/// printed on native_posix_64 (`scripts/zephyr-test.sh` checks the real kernel against the
/// same files).
fn matches_the_real_kernel(hz: u32) {
    let out = run_with(hz, zephyr_sim::Sim::new().time_slice(2, 0), || {
        out!("slice {} ticks, 35 ms = {} ticks", slice_ticks(2), slice_ticks(35));
        for n in 1..=11 {
            run_phase(n);
        }
        out!("done");
    });
    let path =
        format!("{}/../../samples/time-slicing/expected-{hz}.txt", env!("CARGO_MANIFEST_DIR"));
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(out, expected.lines().collect::<Vec<_>>(), "{path}");
}

/// `samples/time-slicing` at 10 kHz (prj.conf), tick for tick as on the real kernel.
#[test]
fn time_slicing_matches_the_real_kernel_at_10_khz() {
    matches_the_real_kernel(10_000);
}

/// `samples/time-slicing` at 100 Hz (100hz.conf), tick for tick as on the real kernel.
#[test]
fn time_slicing_matches_the_real_kernel_at_100_hz() {
    matches_the_real_kernel(100);
}

/// kernel/sched.c:447-457 (`update_cache`: when the thread to run next is not `_current` and
/// may preempt it, `z_reset_time_slice` restarts the running thread's slice before any switch)
/// with kernel/sched.c:503-507 (`ready_thread` calls it) and `z_reschedule` switching only with
/// interrupts unlocked: a thread that gives a semaphore to a more urgent waiter while holding
/// `irq_lock` keeps the CPU after `irq_unlock` (no interrupt became pending), and its slice
/// restarts at the give (tick 1). The waiter runs when that slice ends, at tick 21 (3 at
/// 100 Hz) rather than 20 (2), where `z_time_slice` also rotates the giver behind its equal.
#[test]
fn readying_a_more_urgent_thread_with_interrupts_locked_restarts_the_slice() {
    let at_10_khz = [
        "T=0 A runs",
        "T=1 A gave with interrupts locked",
        "T=21 H runs",
        "T=23 H done",
        "T=23 B runs",
        "T=43 A runs",
        "T=51 A done",
        "T=51 B runs",
        "T=59 B done",
    ];
    assert_eq!(phase_lines(&run(10_000, &[9]), 9), at_10_khz);
    let at_100_hz = [
        "T=0 A runs",
        "T=1 A gave with interrupts locked",
        "T=3 H runs",
        "T=5 H done",
        "T=5 B runs",
        "T=7 A runs",
        "T=7 A done",
        "T=7 B runs",
        "T=8 B done",
    ];
    assert_eq!(phase_lines(&run(100, &[9]), 9), at_100_hz);
}

/// kernel/timeout.c:122-137 (`z_add_timeout` reprograms the timer for a new first timeout)
/// with timeout.c:67-80 (`next_timeout` compares the timeout's ticks from now with
/// `slice_ticks`, counted from the last announcement): three ticks into a 35 ms slice (350
/// ticks; 4 at 100 Hz) with no announcement since it began, a timer of 349 ticks (3) is taken
/// for sooner than the slice's 350 (4) and programmed for tick 352 (6). No interrupt comes at
/// the slice's end, 350 (4); the thread is rotated at the timer's announcement, 2 ticks late
/// (`z_time_slice`, kernel/sched.c:413-417).
#[test]
fn a_timer_started_mid_slice_can_make_the_rotation_late() {
    let out = run(10_000, &[10]);
    assert_eq!(
        phase_lines(&out, 10),
        [
            "T=0 A runs",
            "T=3 A started the timer",
            "T=352 B runs",
            "T=597 B done",
            "T=597 A runs",
            "T=738 A done",
        ]
    );
    assert_eq!(
        phase_lines(&run(100, &[10]), 10),
        [
            "T=0 A runs",
            "T=3 A started the timer",
            "T=6 B runs",
            "T=8 B done",
            "T=8 A runs",
            "T=11 A done",
        ]
    );
}

/// kernel/sched.c:503-507 (`ready_thread` calls `update_cache`, which restarts the slice,
/// sched.c:453-456, while a more urgent thread than the running one waits for the CPU): with a
/// 35 ms slice, an `irq_lock` holder readies H (tick 1), then C (tick 2), which is not the
/// thread to run next, and restarts its slice each time; its give at tick 3 to a semaphore
/// nobody waits on readies nothing (kernel/sem.c:93-101) and restarts nothing. H runs when
/// the slice restarted at tick 2 ends: 352 (6 at 100 Hz).
#[test]
fn every_thread_readied_with_interrupts_locked_restarts_the_slice_and_nothing_else_does() {
    assert_eq!(
        phase_lines(&run(10_000, &[11]), 11),
        [
            "T=0 A runs",
            "T=1 A gave H's semaphore",
            "T=2 A gave C's semaphore",
            "T=3 A gave a semaphore nobody waits on",
            "T=352 H runs",
            "T=354 H done",
            "T=354 C runs",
            "T=354 C done",
            "T=354 A runs",
            "T=496 A done",
        ]
    );
    assert_eq!(
        phase_lines(&run(100, &[11]), 11),
        [
            "T=0 A runs",
            "T=1 A gave H's semaphore",
            "T=2 A gave C's semaphore",
            "T=3 A gave a semaphore nobody waits on",
            "T=6 H runs",
            "T=8 H done",
            "T=8 C runs",
            "T=8 C done",
            "T=8 A runs",
            "T=11 A done",
        ]
    );
}
