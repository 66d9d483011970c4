//! The cost model (`zephyr_sim::cost`): it moves timestamps by exactly the table's amounts,
//! and leaves them untouched when off (the default).

use std::cell::RefCell;
use std::rc::Rc;

use zephyr_sim::cost::CostModel;
use zephyr_sim::Sim;
use zephyr_sys::*;

fn leak<T>(v: T) -> *mut T {
    Box::leak(Box::new(v))
}

/// A `k_sem` ping-pong between main (priority 5) and a partner at `partner_prio`, as
/// `samples/bench`'s `thread` scenarios run it; returns each side's `k_cycle_get_32` after
/// each of its steps: main's after each round trip (the first after the warm-up), the
/// partner's at its start and after each take.
fn ping_pong(sim: Sim, partner_prio: i32, rounds: u32) -> (Vec<u32>, Vec<u32>, Sim) {
    let main_log = Rc::new(RefCell::new(Vec::new()));
    let partner_log = Rc::new(RefCell::new(Vec::new()));
    let (m, p) = (main_log.clone(), partner_log.clone());
    let outcome = sim
        .clone()
        .main_priority(5)
        .run(move || {
            let ping = leak(k_sem::new());
            let pong = leak(k_sem::new());
            // SAFETY: kernel calls from simulated threads on leaked semaphores.
            unsafe {
                k_sem_init(ping, 0, 1);
                k_sem_init(pong, 0, 1);
                zephyr_sim::spawn_thread("partner", partner_prio, move || {
                    p.borrow_mut().push(k_cycle_get_32());
                    loop {
                        k_sem_take(ping, K_FOREVER);
                        p.borrow_mut().push(k_cycle_get_32());
                        k_sem_give(pong);
                    }
                });
                k_sem_give(ping);
                k_sem_take(pong, K_FOREVER);
                m.borrow_mut().push(k_cycle_get_32());
                for _ in 0..rounds {
                    k_sem_give(ping);
                    k_sem_take(pong, K_FOREVER);
                    m.borrow_mut().push(k_cycle_get_32());
                }
            }
        })
        .unwrap();
    // With no idle time, the two threads held the CPU for the whole run.
    let cpu = &outcome.cpu;
    assert_eq!(cpu.idle_cycles(), 0);
    assert_eq!(
        cpu.thread("main").unwrap().cycles + cpu.thread("partner").unwrap().cycles,
        cpu.total_cycles
    );
    let (m, p) = (main_log.borrow().clone(), partner_log.borrow().clone());
    (m, p, sim)
}

fn diffs(v: &[u32]) -> Vec<u32> {
    v.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Distinct powers of ten, so that a wrong count of any entry shows.
const TABLE: CostModel = CostModel {
    cpu_hz: 1_000_000,
    kernel_call: 1,
    pend: 10,
    wake: 100,
    context_switch: 1000,
    isr_entry: 0,
    isr_exit: 0,
    executor_poll: 0,
};

#[test]
fn off_by_default_code_takes_no_time() {
    for prio in [2, 5] {
        let (m, p, _) = ping_pong(Sim::new(), prio, 4);
        assert!(m.iter().chain(&p).all(|&t| t == 0), "{m:?} {p:?}");
        let (m, p, _) = ping_pong(Sim::new().cost_model(CostModel::none()), prio, 4);
        assert!(m.iter().chain(&p).all(|&t| t == 0), "{m:?} {p:?}");
    }
}

/// Partner more urgent: main's give wakes it (W) and switches to it (S); it gives pong (C),
/// takes ping (C) and blocks (P), switching back (S); main's take finds pong (C).
#[test]
fn timestamps_move_by_the_table_at_different_priorities() {
    let (c, p_, w, s) = (TABLE.kernel_call, TABLE.pend, TABLE.wake, TABLE.context_switch);
    let (m, p, _) = ping_pong(Sim::new().cost_model(TABLE), 2, 4);
    // Main pays the switch to it at boot; the partner preempts main at its creation (a free
    // call) and pays the switch to it.
    assert_eq!(p[0], s + s);
    // It takes ping (C) and blocks (P, owed); main pays the switch back; main's give (C) wakes
    // the partner (W) which pays P + W + S; back in main: the partner's give and take (2C)
    // and the switch (S), main's take (C).
    assert_eq!(p[1], s + s + c + s + c + (p_ + w + s));
    assert_eq!(m[0], p[1] + c + c + s + c);
    for d in diffs(&m) {
        assert_eq!(d, 4 * c + 2 * s + p_ + w);
    }
    for d in diffs(&p[1..]) {
        assert_eq!(d, 4 * c + 2 * s + p_ + w);
    }
}

/// Equal priorities: each give wakes a waiter without switching, each take blocks.
#[test]
fn timestamps_move_by_the_table_at_equal_priorities() {
    let (c, p_, w, s) = (TABLE.kernel_call, TABLE.pend, TABLE.wake, TABLE.context_switch);
    let (m, p, _) = ping_pong(Sim::new().cost_model(TABLE), 5, 4);
    for d in diffs(&m).iter().chain(&diffs(&p[1..])) {
        assert_eq!(*d, 4 * c + 2 * s + 2 * p_ + 2 * w);
    }
}

/// The Cortex-M3 table reproduces the two measurements it was fitted on, 454 and 654
/// instructions per round trip (at its 12 MHz, one cycle per instruction), and converts to a
/// 1 MHz cycle counter without losing fractions over many round trips.
#[test]
fn cortex_m3_round_trips_match_the_measurements() {
    let m3 = CostModel::cortex_m3();
    let sim = Sim::new().cycles_per_sec(m3.cpu_hz).cost_model(m3);
    let (m, _, _) = ping_pong(sim.clone(), 2, 4);
    assert!(diffs(&m).iter().all(|&d| d == 454), "{m:?}");
    let (m, _, _) = ping_pong(sim, 5, 4);
    assert!(diffs(&m).iter().all(|&d| d == 654), "{m:?}");
    // At 1 MHz: 1200 round trips of 454 cycles at 12 MHz are 45 400 µs exactly.
    let (m, _, _) = ping_pong(Sim::new().cost_model(m3), 2, 1200);
    assert_eq!(m[1200] - m[0], 45_400);
}

/// A timeout that falls due during a charge fires at its time, as during `k_busy_wait`: a
/// 1 ms sleep ends on its tick even though every kernel call costs a long time.
#[test]
fn timeouts_fire_during_a_charge() {
    let slow = CostModel { kernel_call: 5000, ..TABLE };
    let outcome = Sim::new()
        .cost_model(slow)
        .run(|| {
            let woke = Rc::new(RefCell::new(0));
            let w = woke.clone();
            // SAFETY: kernel calls from simulated threads.
            unsafe {
                zephyr_sim::spawn_thread("sleeper", -1, move || {
                    k_msleep(1);
                    *w.borrow_mut() = k_cycle_get_32();
                });
                // Main holds the CPU 5 ms in its call; the sleeper preempts it when due.
                k_yield();
                let after = k_cycle_get_32();
                let woke = *woke.borrow();
                (woke, after)
            }
        })
        .unwrap();
    let (woke, after) = outcome.value.unwrap();
    assert!(woke < after, "{woke} {after}");
    // Main paid the switch to it at boot (S, t = 1000 µs), the sleeper its start (S, 2000)
    // and its k_msleep's entry (C, 7000 = tick 70); 10 ticks plus one later (tick 81, 8100)
    // its timeout fired inside main's next charge (main resumed at 8000 and entered k_yield),
    // and the sleeper preempted main, paying the switch (S; a sleep's end is not a wake of a
    // waiter, so no W).
    assert_eq!(woke, 8100 + 1000);
}
