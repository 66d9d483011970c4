//! The thread switch itself (`src/context.rs`): a switch straight from one thread's stack to
//! another's keeps every value the outgoing thread holds, in integer and floating-point
//! registers alike (the C ABI's callee-saved ones are saved on its stack: on aarch64 these
//! include d8-d15), and many threads handing the CPU to each other run in Zephyr's order.
//! Both for `k_yield` and for `k_sem_take`, a blocking entry (it returns to its caller with
//! a jump, `zephyr_sim::context`), through which a panic in the call still unwinds to its
//! caller.

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
fn mixed(seed: u64, rounds: u32, mut between: impl FnMut()) -> (u64, f64) {
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

/// Each thread's results are the ones computed on the host, bit for bit.
fn same_results(expected: &[(u64, f64)], got: &[(u64, f64)]) {
    for (seed, (want, got)) in expected.iter().zip(got.iter()).enumerate() {
        assert_eq!(want.0, got.0, "integers of thread {seed}");
        assert_eq!(want.1.to_bits(), got.1.to_bits(), "floats of thread {seed}");
    }
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
    same_results(&expected, &results.borrow());
}

/// The same across switches made inside `k_sem_take` (a blocking entry): four threads pass
/// a token round, each blocking in `k_sem_take` on its own semaphore after giving the next
/// thread's, so every thread resumes inside `k_sem_take` and returns through its entry.
#[test]
fn values_held_across_switches_inside_k_sem_take_survive_them() {
    const THREADS: usize = 4;
    const ROUNDS: u32 = 200;
    let expected: Vec<(u64, f64)> = (0..THREADS as u64).map(|s| mixed(s, ROUNDS, || ())).collect();
    let results = Rc::new(RefCell::new(vec![(0, 0.0); THREADS]));
    let out = results.clone();
    let outcome = Sim::new()
        .run(move || {
            let sems: Vec<usize> = (0..THREADS).map(|_| sem(0, 1) as usize).collect();
            for i in 0..THREADS {
                let (out, mine, next) = (out.clone(), sems[i], sems[(i + 1) % THREADS]);
                let (mine, next) = (mine as *mut k_sem, next as *mut k_sem);
                spawn("relay", 1, K_NO_WAIT, move || {
                    // SAFETY: kernel call from a simulated thread on a leaked semaphore.
                    unsafe { k_sem_take(mine, K_FOREVER) };
                    // SAFETY: as above.
                    let got = mixed(i as u64, ROUNDS, || unsafe {
                        k_sem_give(next);
                        k_sem_take(mine, K_FOREVER);
                    });
                    out.borrow_mut()[i] = got;
                    // The token goes on round, for the threads still in their last round.
                    // SAFETY: as above.
                    unsafe { k_sem_give(next) };
                });
            }
            // SAFETY: kernel calls from the simulated main thread (priority 0): the relay
            // starts with thread 0 and ends before main's sleep does.
            unsafe {
                k_sem_give(sems[0] as *mut k_sem);
                k_msleep(1);
            }
        })
        .expect("simulation");
    assert!(outcome.switches >= THREADS as u64 * u64::from(ROUNDS), "{}", outcome.switches);
    same_results(&expected, &results.borrow());
}

/// A panic inside `k_sem_take` (here: the object was never initialised as a semaphore)
/// unwinds through the blocking entry's frame to its caller, as through any function: the
/// thread catches it and goes on using the kernel.
#[test]
fn a_panic_inside_k_sem_take_unwinds_to_its_caller() {
    let outcome = Sim::new()
        .run(|| {
            let never_initialised = leak(k_sem::new()) as *mut k_sem;
            let caught = std::panic::catch_unwind(|| {
                // SAFETY: a misuse the kernel detects and reports with a panic.
                unsafe { k_sem_take(never_initialised, K_NO_WAIT) }
            });
            let payload = caught.expect_err("k_sem_take on an uninitialised object");
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let s = sem(1, 1);
            // SAFETY: kernel calls from the simulated main thread on a leaked semaphore.
            let taken = unsafe { k_sem_take(s, K_NO_WAIT) };
            (message, taken)
        })
        .expect("simulation");
    let (message, taken) = outcome.value.unwrap();
    assert!(message.contains("k_sem_take"), "{message}");
    assert_eq!(taken, 0);
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
