//! The thread switch itself (`src/context.rs`): a switch straight from one thread's stack to
//! another's keeps every value the outgoing thread holds, in integer and floating-point
//! registers alike (the C ABI's callee-saved ones are saved on its stack: on aarch64 these
//! include d8-d15), and many threads handing the CPU to each other run in Zephyr's order.

mod common;

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;

use common::*;
use zephyr_sim::Sim;
use zephyr_sys::*;

/// A computation that keeps many integer and floating-point values live across `between`
/// (`k_yield` in a simulated thread: a switch to an equal-priority thread doing the same with
/// other values; nothing on the host, for the expected result).
fn mixed(seed: u64, rounds: u32, between: fn()) -> (u64, f64) {
    let (mut a, mut b, mut c, mut d) = (seed, seed ^ 0x9e37, seed.rotate_left(7), !seed);
    let (mut x, mut y, mut z, mut w) = (seed as f64, 0.5 + seed as f64, 1.25, -3.0);
    for i in 0..rounds {
        a = a.wrapping_mul(6364136223846793005).wrapping_add(c);
        b ^= a >> 3;
        c = c.rotate_left(5) ^ d;
        d = d.wrapping_add(b);
        x = x * 1.000_001 + y;
        y = y * 0.999_999 - z;
        z += w * 0.25;
        w = -w + f64::from(i);
        between();
        black_box((&a, &b, &c, &d, &x, &y, &z, &w));
    }
    (a ^ b ^ c ^ d, x + y + z + w)
}

/// `k_yield`, from a simulated thread.
fn yield_now() {
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_yield() };
}

#[test]
fn values_held_across_switches_survive_them() {
    const THREADS: u64 = 4;
    const ROUNDS: u32 = 200;
    let expected: Vec<(u64, f64)> = (0..THREADS).map(|s| mixed(s, ROUNDS, || ())).collect();
    let results = Rc::new(RefCell::new(vec![(0, 0.0); THREADS as usize]));
    let out = results.clone();
    let outcome = Sim::new()
        .run(move || {
            for seed in 1..THREADS {
                let out = out.clone();
                spawn("mixer", 0, K_NO_WAIT, move || {
                    out.borrow_mut()[seed as usize] = mixed(seed, ROUNDS, yield_now);
                });
            }
            let mine = mixed(0, ROUNDS, yield_now);
            out.borrow_mut()[0] = mine;
            // SAFETY: kernel call from the simulated main thread.
            unsafe { k_msleep(1) };
        })
        .expect("simulation");
    assert!(outcome.switches >= THREADS * u64::from(ROUNDS), "{}", outcome.switches);
    let got = results.borrow();
    for (seed, (want, got)) in expected.iter().zip(got.iter()).enumerate() {
        assert_eq!(want.0, got.0, "integers of thread {seed}");
        assert_eq!(want.1.to_bits(), got.1.to_bits(), "floats of thread {seed}");
    }
}

/// A ring of threads, each waking the next through its semaphore and blocking on its own: every
/// switch goes straight from one thread to the next, in ring order, and the count of switches
/// is exact.
#[test]
fn a_ring_of_threads_hands_the_cpu_round_in_order() {
    const N: usize = 16;
    const LAPS: usize = 25;
    let order = Rc::new(RefCell::new(Vec::new()));
    let log = order.clone();
    let outcome = Sim::new()
        .run(move || {
            let sems: &'static mut [k_sem] = Box::leak((0..N).map(|_| k_sem::new()).collect());
            for s in sems.iter_mut() {
                // SAFETY: the semaphores are leaked, so they never move or die.
                unsafe { k_sem_init(s, 0, 1) };
            }
            let sems = sems as *mut [k_sem] as *mut k_sem;
            for i in 0..N {
                let log = log.clone();
                spawn("ring", 1, K_NO_WAIT, move || {
                    for _ in 0..LAPS {
                        // SAFETY: the leaked semaphores, indexed within the ring.
                        unsafe {
                            k_sem_take(sems.add(i), K_FOREVER);
                            log.borrow_mut().push(i);
                            k_sem_give(sems.add((i + 1) % N));
                        }
                    }
                });
            }
            // SAFETY: as above; main (priority 0) starts the ring, then waits for it.
            unsafe {
                k_sem_give(sems);
                k_msleep(10);
            }
        })
        .expect("simulation");
    let order = order.borrow();
    let want: Vec<usize> = (0..N * LAPS).map(|n| n % N).collect();
    assert_eq!(*order, want);
    assert!(outcome.switches >= (N * LAPS) as u64, "{}", outcome.switches);
}
