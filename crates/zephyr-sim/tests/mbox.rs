//! Mailboxes (`kernel/mailbox.c`, Zephyr 2.7, synchronous and asynchronous sends), one test
//! per rule. Board: 10 kHz ticks, 1 MHz cycles, `CONFIG_NUM_MBOX_ASYNC_MSGS=10`; main runs at
//! priority 5 unless a test says otherwise.

mod common;

use std::ffi::c_void;
use std::ptr::null_mut;

use common::*;
use zephyr_sys::*;

fn mbox() -> *mut k_mbox {
    let m: *mut k_mbox = leak(k_mbox::new());
    // SAFETY: leaked, never moves.
    unsafe { k_mbox_init(m) };
    m
}

fn tx(data: &'static [u8], info: u32, target: k_tid_t) -> *mut k_mbox_msg {
    let m = leak(k_mbox_msg::new());
    m.size = data.len();
    m.tx_data = data.as_ptr() as *mut c_void;
    m.info = info;
    m.tx_target_thread = target;
    m
}

fn rx(size: usize, info: u32, source: k_tid_t) -> *mut k_mbox_msg {
    let m = leak(k_mbox_msg::new());
    m.size = size;
    m.info = info;
    m.rx_source_thread = source;
    m
}

/// kernel/mailbox.c (`mbox_message_put`, `mbox_message_match`, `mbox_message_dispose`): a put
/// finds the waiting receiver, which runs (more urgent) and takes the data into its buffer;
/// the infos are swapped, the receiver learns the sender and the smaller size, and the sender
/// returns 0 once the data was taken, reading how many bytes were.
#[test]
fn put_to_a_waiting_receiver() {
    let (r, log) = run(5, || {
        let m = mbox();
        // SAFETY: a plain getter from a simulated thread.
        let main = unsafe { k_current_get() };
        spawn("rx", 3, K_NO_WAIT, move || {
            let msg = rx(3, 200, K_ANY);
            let mut buf = [0u8; 3];
            // SAFETY: kernel call on leaked objects; `buf` outlives the call.
            let r = unsafe { k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_FOREVER) };
            // SAFETY: the leaked descriptor.
            let (size, info, from_main) =
                unsafe { ((*msg).size, (*msg).info, (*msg).rx_source_thread == main) };
            log!("rx {r} {:?} size {size} info {info} from main {from_main}", buf);
        });
        let msg = tx(b"hello", 100, K_ANY);
        // SAFETY: kernel call on leaked objects.
        let r = unsafe { k_mbox_put(m, msg, K_FOREVER) };
        // SAFETY: the leaked descriptor.
        unsafe { (r, (*msg).size, (*msg).info) }
    });
    assert_eq!(r, (0, 3, 200));
    assert_eq!(log, ["T=0 rx 0 [104, 101, 108] size 3 info 100 from main true"]);
}

/// kernel/mailbox.c (`mbox_message_match`): a sender matches only a receiver it targets (or
/// any with K_ANY) that accepts it (or anyone); with no match, K_NO_WAIT is -ENOMSG and a
/// timeout of N ticks -EAGAIN N + 1 ticks later, for both sides.
#[test]
fn matching_rules_and_timeouts() {
    let (r, _) = run(5, || {
        let m = mbox();
        let other: *mut k_thread = leak(k_thread::new());
        // A receiver that only accepts `other` waits: main's message does not match it.
        spawn("picky", 3, K_NO_WAIT, move || {
            // SAFETY: kernel call on leaked objects.
            unsafe { k_mbox_get(m, rx(8, 0, other), null_mut(), K_TICKS(50)) };
        });
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            let untargeted = k_mbox_put(m, tx(b"x", 0, K_ANY), K_NO_WAIT);
            let targeted = k_mbox_put(m, tx(b"x", 0, other), K_NO_WAIT);
            let timed = (k_mbox_put(m, tx(b"x", 0, K_ANY), K_TICKS(4)), k_uptime_ticks());
            let get = k_mbox_get(m, rx(8, 0, K_ANY), null_mut(), K_NO_WAIT);
            let timed_get =
                (k_mbox_get(m, rx(8, 0, K_ANY), null_mut(), K_TICKS(2)), k_uptime_ticks());
            (untargeted, targeted, timed, get, timed_get)
        }
    });
    assert_eq!(r, (-ENOMSG, -ENOMSG, (-EAGAIN, 5), -ENOMSG, (-EAGAIN, 8)));
}

/// kernel/mailbox.c (`k_mbox_get` on a waiting sender, `mbox_message_data_check`,
/// `k_mbox_data_get`): a receiver without a buffer gets the message's size and info at once;
/// the sender stays blocked until `k_mbox_data_get`, which copies the data (or, with a null
/// buffer, discards it: the sender reads size 0).
#[test]
fn deferred_data_get_releases_the_sender() {
    let (_, log) = run(5, || {
        let m = mbox();
        for (name, data) in [("s1", &b"abcd"[..]), ("s2", &b"xyz"[..])] {
            spawn(name, 4, K_NO_WAIT, move || {
                let msg = tx(data, 1, K_ANY);
                // SAFETY: kernel call on leaked objects.
                let r = unsafe { k_mbox_put(m, msg, K_FOREVER) };
                // SAFETY: the leaked descriptor.
                log!("{name} put {r} taken {}", unsafe { (*msg).size });
            });
        }
        // SAFETY: plain sleep, then kernel calls on leaked objects.
        unsafe {
            k_sleep(K_TICKS(1));
            let msg = rx(16, 0, K_ANY);
            let r = k_mbox_get(m, msg, null_mut(), K_NO_WAIT);
            log!("got {r} size {}", (*msg).size);
            k_sleep(K_TICKS(1));
            log!("data_get");
            let mut buf = [0u8; 4];
            k_mbox_data_get(msg, buf.as_mut_ptr().cast());
            log!("buf {:?}", std::str::from_utf8(&buf).unwrap());
            let msg2 = rx(16, 0, K_ANY);
            k_mbox_get(m, msg2, null_mut(), K_NO_WAIT);
            k_mbox_data_get(msg2, null_mut());
            k_sleep(K_TICKS(1));
        }
    });
    assert_eq!(
        log,
        [
            "T=2 got 0 size 4",
            "T=4 data_get",
            "T=4 s1 put 0 taken 4",
            "T=4 buf \"abcd\"",
            "T=4 s2 put 0 taken 0"
        ]
    );
}

/// kernel/mailbox.c: a mailbox call that would wait in an ISR is a fatal error naming it.
#[test]
fn blocking_get_in_an_isr_panics() {
    let err = run_err(|| {
        let m = mbox();
        isr_after(1, move || {
            // SAFETY: kernel call on leaked objects, from an ISR.
            unsafe { k_mbox_get(m, rx(4, 0, K_ANY), null_mut(), K_FOREVER) };
        });
        // SAFETY: plain sleep.
        unsafe { k_sleep(K_TICKS(5)) };
    });
    assert_eq!(
        panic_message(&err),
        "k_mbox_get: blocking call from ISR context (an ISR may only use K_NO_WAIT)"
    );
}

/// A statically defined mailbox (`K_MBOX_DEFINE`: zephyr-sys's `Z_MBOX_INITIALIZER`) needs no
/// init call.
#[test]
fn static_mailbox() {
    let (r, _) = run(5, || {
        let m: *mut k_mbox = leak(Z_MBOX_INITIALIZER());
        // SAFETY: kernel call on a leaked mailbox.
        unsafe { k_mbox_put(m, tx(b"a", 0, K_ANY), K_NO_WAIT) }
    });
    assert_eq!(r, -ENOMSG);
}

// ---- asynchronous sends (k_mbox_async_put, kernel/mailbox.c:22-87, :186-200, :254-297,
// :323-346) ----

/// A semaphore's count, read without waiting.
fn count(s: *mut k_sem) -> u32 {
    // SAFETY: a leaked, initialised semaphore.
    unsafe { k_sem_count_get(s) }
}

/// kernel/mailbox.c:290-296 and :343: with no receiver, the message waits on the senders'
/// queue and the caller returns at once; :339-341: the kernel sends a copy, so the caller's
/// descriptor is never written; :380-393 and :191-198: a receiver with a buffer consumes the
/// data in its `k_mbox_get`, which frees the descriptor and gives the semaphore; the
/// receiver learns the sender (:232, the caller), the sender's info and the smaller size.
#[test]
fn async_put_returns_at_once_and_the_get_gives_the_semaphore() {
    let (r, log) = run(5, || {
        let m = mbox();
        let done = sem(0, 1);
        // SAFETY: a plain getter from a simulated thread.
        let main = unsafe { k_current_get() };
        let msg = tx(b"hello", 100, K_ANY);
        // SAFETY: kernel call on leaked objects.
        unsafe { k_mbox_async_put(m, msg, done) };
        log!("put returned, sem {}", count(done));
        // SAFETY: plain sleep, then kernel calls on leaked objects.
        unsafe {
            k_sleep(K_TICKS(3));
            let r = rx(3, 200, K_ANY);
            let mut buf = [0u8; 3];
            let got = k_mbox_get(m, r, buf.as_mut_ptr().cast(), K_NO_WAIT);
            log!(
                "get {got} {:?} size {} info {} from main {}, sem {}",
                std::str::from_utf8(&buf).unwrap(),
                (*r).size,
                (*r).info,
                (*r).rx_source_thread == main,
                count(done)
            );
            // The caller's descriptor: as it was filled.
            ((*msg).size, (*msg).info, (*msg).tx_target_thread.is_null(), (*msg)._async_sem)
        }
    });
    assert_eq!(r, (5, 100, true, null_mut()));
    assert_eq!(
        log,
        ["T=0 put returned, sem 0", "T=4 get 0 \"hel\" size 3 info 100 from main true, sem 1"]
    );
}

/// kernel/mailbox.c:380-393 and :348-362: a receiver without a buffer keeps the message; the
/// semaphore is given at its `k_mbox_data_get` (a null buffer discards the data and gives it
/// too), and at once for a message with no data (:385-387). `sem` may be null (:195).
#[test]
fn async_semaphore_waits_for_data_get() {
    let (_, log) = run(5, || {
        let m = mbox();
        let (s1, s2, s3) = (sem(0, 1), sem(0, 1), sem(0, 1));
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            k_mbox_async_put(m, tx(b"abcd", 1, K_ANY), s1);
            k_mbox_async_put(m, tx(b"xyz", 2, K_ANY), s2);
            k_mbox_async_put(m, tx(b"", 3, K_ANY), s3);
            k_mbox_async_put(m, tx(b"q", 4, K_ANY), null_mut());
            let a = rx(16, 0, K_ANY);
            k_mbox_get(m, a, null_mut(), K_NO_WAIT);
            log!("got info {} size {}: sems {} {}", (*a).info, (*a).size, count(s1), count(s2));
            let mut buf = [0u8; 4];
            k_mbox_data_get(a, buf.as_mut_ptr().cast());
            log!("data {:?}: sem1 {}", std::str::from_utf8(&buf).unwrap(), count(s1));
            let b = rx(16, 0, K_ANY);
            k_mbox_get(m, b, null_mut(), K_NO_WAIT);
            log!("got info {}: sem2 {}", (*b).info, count(s2));
            k_mbox_data_get(b, null_mut());
            log!("discarded: sem2 {}, size {}", count(s2), (*b).size);
            let c = rx(16, 0, K_ANY);
            k_mbox_get(m, c, null_mut(), K_NO_WAIT);
            log!("got info {} size {}: sem3 {}", (*c).info, (*c).size, count(s3));
            let d = rx(16, 0, K_ANY);
            let mut one = [0u8; 1];
            let r = k_mbox_get(m, d, one.as_mut_ptr().cast(), K_NO_WAIT);
            log!("got {r} info {} {:?}", (*d).info, one);
        }
    });
    assert_eq!(
        log,
        [
            "T=0 got info 1 size 4: sems 0 0",
            "T=0 data \"abcd\": sem1 1",
            "T=0 got info 2: sem2 0",
            "T=0 discarded: sem2 1, size 0",
            "T=0 got info 3 size 0: sem3 1",
            "T=0 got 0 info 4 [113]",
        ]
    );
}

/// kernel/mailbox.c:243-266: an asynchronous send to a waiting receiver readies it and
/// reschedules: a more urgent receiver runs inside the call (and gives the semaphore there),
/// a less urgent one after the caller blocks; the caller itself never waits.
#[test]
fn async_put_to_a_waiting_receiver_reschedules() {
    let (_, log) = run(5, || {
        let m = mbox();
        let done = sem(0, 2);
        for (name, prio) in [("urgent", 3), ("lazy", 7)] {
            spawn(name, prio, K_NO_WAIT, move || {
                let (r, data) = receive(m, K_FOREVER);
                log!("{name} got {r} {data:?}");
            });
        }
        // SAFETY: plain sleep (lets "lazy" reach its get), then kernel calls.
        unsafe {
            k_sleep(K_TICKS(1));
            k_mbox_async_put(m, tx(b"one", 0, K_ANY), done);
            log!("main after put 1, sem {}", count(done));
            k_mbox_async_put(m, tx(b"two", 0, K_ANY), done);
            log!("main after put 2, sem {}", count(done));
            k_sleep(K_TICKS(1));
            log!("main, sem {}", count(done));
        }
    });
    assert_eq!(
        log,
        [
            "T=2 urgent got 0 \"one\"",
            "T=2 main after put 1, sem 1",
            "T=2 main after put 2, sem 1",
            "T=2 lazy got 0 \"two\"",
            "T=4 main, sem 2",
        ]
    );
}

/// kernel/mailbox.c:337 and :293: the message waits on the senders' queue at its sender's
/// priority (a wait queue is ordered by priority, then FIFO), so a receiver takes the most
/// urgent sender's message first, asynchronous or not.
#[test]
fn async_messages_queue_at_their_senders_priority() {
    let (_, log) = run(5, || {
        let m = mbox();
        // SAFETY: kernel call on leaked objects.
        unsafe { k_mbox_async_put(m, tx(b"main-1", 0, K_ANY), null_mut()) };
        spawn("sync-4", 4, K_NO_WAIT, move || {
            // SAFETY: kernel call on leaked objects.
            unsafe { k_mbox_put(m, tx(b"sync-4", 0, K_ANY), K_FOREVER) };
        });
        spawn("async-2", 2, K_NO_WAIT, move || {
            // SAFETY: kernel call on leaked objects.
            unsafe { k_mbox_async_put(m, tx(b"async-2", 0, K_ANY), null_mut()) };
        });
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            k_mbox_async_put(m, tx(b"main-2", 0, K_ANY), null_mut());
            for _ in 0..4 {
                log!("{}", receive(m, K_NO_WAIT).1);
            }
        }
    });
    assert_eq!(log, ["T=0 async-2", "T=0 sync-4", "T=0 main-1", "T=0 main-2"]);
}

/// kernel/mailbox.c:110-152: an asynchronous message is matched like any other: a receiver
/// that is not its target (`tx_target_thread`) does not get it, the target does, and the two
/// `info` values are exchanged in the receiver's descriptor.
#[test]
fn async_message_reaches_only_its_target() {
    let (r, log) = run(5, || {
        let m = mbox();
        let target = spawn("target", 6, K_NO_WAIT, move || {
            let msg = rx(4, 0, K_ANY);
            // SAFETY: kernel call on leaked objects, then a read of the leaked descriptor.
            let (r, info) = unsafe { (k_mbox_get(m, msg, null_mut(), K_FOREVER), (*msg).info) };
            log!("target got {r} info {info}");
        });
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            k_mbox_async_put(m, tx(b"t", 9, target), null_mut());
            let r = k_mbox_get(m, rx(4, 0, K_ANY), null_mut(), K_NO_WAIT);
            k_sleep(K_TICKS(1));
            r
        }
    });
    assert_eq!(r, -ENOMSG);
    assert_eq!(log, ["T=0 target got 0 info 9"]);
}

/// kernel/mailbox.c:31-43 and :74-77: CONFIG_NUM_MBOX_ASYNC_MSGS (10) descriptors in all; the
/// next `k_mbox_async_put` waits in `k_stack_pop` with no timeout until a consumed message
/// frees one. :194-197: the descriptor is pushed back (handed to the waiting, more urgent
/// sender, which runs at once) before the semaphore is given.
#[test]
fn async_put_waits_for_a_free_descriptor() {
    assert_eq!(CONFIG_NUM_MBOX_ASYNC_MSGS, 10);
    let (_, log) = run(5, || {
        let m = mbox();
        let first = sem(0, 1);
        spawn("rx", 7, K_NO_WAIT, move || {
            // SAFETY: plain sleep, then a kernel call on leaked objects.
            unsafe {
                k_sleep(K_TICKS(9));
                let msg = rx(1, 0, K_ANY);
                let mut buf = [0u8; 1];
                k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_NO_WAIT);
                log!("rx got {:?}, sem {}", buf[0] as char, count(first));
            }
        });
        static DATA: [u8; 11] = *b"0123456789A";
        // SAFETY: kernel calls on leaked objects and static data.
        unsafe {
            for i in 0..11 {
                let s = if i == 0 { first } else { null_mut() };
                k_mbox_async_put(m, tx(&DATA[i..=i], 0, K_ANY), s);
            }
            log!("11th put returned, sem {}", count(first));
            k_sleep(K_TICKS(1));
            log!("sem {}", count(first));
        }
    });
    assert_eq!(log, ["T=10 11th put returned, sem 0", "T=10 rx got '0', sem 1", "T=12 sem 1"]);
}

/// kernel/mailbox.c:186-200: consumed messages give their descriptors back, so a mailbox
/// carries any number of asynchronous messages, CONFIG_NUM_MBOX_ASYNC_MSGS in flight at once.
#[test]
fn async_descriptors_are_reused() {
    let (r, _) = run(5, || {
        let m = mbox();
        let mut sum = 0u32;
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            for round in 0..5u8 {
                let data: &'static [u8] = leak([round; 1]);
                for _ in 0..CONFIG_NUM_MBOX_ASYNC_MSGS {
                    k_mbox_async_put(m, tx(data, 0, K_ANY), null_mut());
                }
                for _ in 0..CONFIG_NUM_MBOX_ASYNC_MSGS {
                    let mut b = [0u8; 1];
                    k_mbox_get(m, rx(1, 0, K_ANY), b.as_mut_ptr().cast(), K_NO_WAIT);
                    sum += u32::from(b[0]);
                }
            }
            (sum, k_uptime_ticks())
        }
    });
    assert_eq!(r, (10 * (1 + 2 + 3 + 4), 0));
}

/// kernel/mailbox.c:323-346 never waits while a descriptor is free, and :264's reschedule
/// does not switch in an ISR: an ISR may send asynchronously; the receiver it readies runs when
/// the ISR returns.
#[test]
fn async_put_from_an_isr() {
    let (_, log) = run(5, || {
        let m = mbox();
        isr_after(2, move || {
            // SAFETY: kernel call on leaked objects, from an ISR.
            unsafe { k_mbox_async_put(m, tx(b"irq", 0, K_ANY), null_mut()) };
            log!("isr sent");
        });
        let (r, data) = receive(m, K_FOREVER);
        log!("got {r} {data:?}");
    });
    assert_eq!(log, ["T=2 isr sent", "T=2 got 0 \"irq\""]);
}

/// kernel/mailbox.c:36: with no free descriptor the send waits (K_FOREVER), which an ISR may
/// not: a fatal error naming the call.
#[test]
fn async_put_in_an_isr_with_no_free_descriptor_panics() {
    let err = run_err(|| {
        let m = mbox();
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            for _ in 0..CONFIG_NUM_MBOX_ASYNC_MSGS {
                k_mbox_async_put(m, tx(b"x", 0, K_ANY), null_mut());
            }
        }
        isr_after(1, move || {
            // SAFETY: kernel call on leaked objects, from an ISR.
            unsafe { k_mbox_async_put(m, tx(b"x", 0, K_ANY), null_mut()) };
        });
        // SAFETY: plain sleep.
        unsafe { k_sleep(K_TICKS(5)) };
    });
    assert_eq!(
        panic_message(&err),
        "k_mbox_async_put: blocking call from ISR context (an ISR may only use K_NO_WAIT)"
    );
}

/// kernel/mailbox.c:63-67: the descriptors' dummy threads are not threads: they never run,
/// create no trace events, and messages left in a mailbox do not keep the run from ending, nor
/// do they show in a deadlock report.
#[test]
fn dummy_threads_never_run() {
    let outcome = zephyr_sim::Sim::new()
        .main_priority(5)
        .trace(true)
        .run(|| {
            let m = mbox();
            // SAFETY: kernel calls on leaked objects.
            unsafe {
                k_mbox_async_put(m, tx(b"left", 0, K_ANY), null_mut());
                k_sleep(K_TICKS(1));
            }
        })
        .unwrap();
    assert_eq!(
        outcome.trace_text(),
        zephyr_sim::Sim::new()
            .main_priority(5)
            .trace(true)
            .run(|| {
                // SAFETY: plain sleep.
                unsafe { k_sleep(K_TICKS(1)) };
            })
            .unwrap()
            .trace_text()
    );
    assert!(outcome.thread_names.iter().any(|n| n == "mbox_async#9"));
    // Once every thread has ended, the run ends normally, messages left or not.
    let ended = zephyr_sim::Sim::new().main_return_ends_run(false).run(|| {
        let m = mbox();
        // SAFETY: kernel call on leaked objects.
        unsafe { k_mbox_async_put(m, tx(b"left", 0, K_ANY), null_mut()) };
    });
    assert!(ended.is_ok(), "{:?}", ended.err().map(|e| e.to_string()));
    let err = run_err(|| {
        let m = mbox();
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            k_mbox_async_put(m, tx(b"left", 0, K_ANY), null_mut());
            k_mbox_get(m, rx(4, 0, main_only()), null_mut(), K_FOREVER);
        }
    });
    let report = err.to_string();
    assert!(report.contains("pending in k_mbox_get"), "{report}");
    assert!(!report.contains("mbox_async"), "{report}");
}

/// Receives one message of up to 8 bytes from any sender, its data taken at once: the result
/// and the data received.
fn receive(m: *mut k_mbox, timeout: k_timeout_t) -> (i32, String) {
    let msg = rx(8, 0, K_ANY);
    let mut buf = [0u8; 8];
    // SAFETY: kernel call on leaked objects; `buf` outlives the call; then the leaked
    // descriptor's size, at most the buffer's.
    let (r, n) = unsafe { (k_mbox_get(m, msg, buf.as_mut_ptr().cast(), timeout), (*msg).size) };
    (r, String::from_utf8(buf[..n].to_vec()).unwrap())
}

/// A thread id no sender has: a receiver accepting only it never matches.
fn main_only() -> k_tid_t {
    leak(k_thread::new())
}

// ---- samples/mbox-rules: the asynchronous rules as a real Zephyr 2.7.0 kernel printed them ----

/// A buffer's text up to its first NUL, as `printk("%s")` prints it.
fn text(buf: &[u8]) -> &str {
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..n]).unwrap()
}

/// samples/mbox-rules' `res`: a result as `0` or `-ENOMSG` (native_posix builds with the
/// host's errno numbers, so the sample prints names).
fn res(r: i32) -> String {
    if r == -ENOMSG {
        "-ENOMSG".into()
    } else {
        r.to_string()
    }
}

/// samples/mbox-rules' `get_now`: receives one message at once into a 9-byte buffer.
fn get_now(m: *mut k_mbox) -> (i32, *mut k_mbox_msg, [u8; 9]) {
    let msg = rx(8, 99, K_ANY);
    let mut buf = [0u8; 9];
    // SAFETY: kernel call on leaked objects; `buf` has room for the descriptor's 8 bytes.
    let r = unsafe { k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_NO_WAIT) };
    (r, msg, buf)
}

/// The rules of `samples/mbox-rules` (a C program run on a real Zephyr 2.7.0 kernel by
/// `scripts/zephyr-test.sh`), line by line on the simulator, against the same expected output
/// (`samples/mbox-rules/expected.txt`); main at priority 5, 10 kHz ticks:
///
/// a. An asynchronous put returns at once (kernel/mailbox.c:290-296); the receiver's get with a
///    buffer takes the data and gives the semaphore (:380-384, :191-198): main, waiting on it,
///    runs inside that get.
/// b. A get with a NULL buffer keeps the message: the semaphore is given at `k_mbox_data_get`
///    (:348-362; a NULL buffer discards the data and the size reads 0); a message with no data
///    is disposed of in the get (:385-387).
/// c. A put to a waiting receiver readies it and reschedules (:243-266): a more urgent receiver
///    runs inside the put; one of main's priority or lower only once main sleeps.
/// d. The dummy thread takes its sender's priority (:337) and waits in the priority-ordered
///    senders' queue (:293): most urgent first, then in order of sending.
/// e. With the 10 descriptors (CONFIG_NUM_MBOX_ASYNC_MSGS) in flight, the 11th put waits in
///    `k_stack_pop` (:36); a consumed message pushes its descriptor back (:194), which hands it
///    to the waiting sender (a more urgent one runs then), and only then gives the semaphore
///    (:195-197).
/// f. The kernel sends a copy (:339): the caller's size and info are never written (a
///    synchronous sender's are: :122-127 swap the infos, :184 sets the size taken).
/// g. An ISR may put asynchronously (:36 does not wait while a descriptor is free); :264's
///    reschedule does not switch in an ISR, so the readied receiver runs when it returns. The
///    message's sender is the interrupted thread (`_current`, :232 and :337): it waits at that
///    thread's priority, and the receiver learns that thread. An ISR may also receive: its get
///    pushes the descriptor (readying the waiting sender) and gives the semaphore (readying its
///    waiter) without switching; they run, most urgent first, when the ISR returns.
/// h. Matching (:110-152) is as for synchronous messages: a receiver skips a message targeted
///    at another thread, and one accepting only main (`rx_source_thread`, set to the caller at
///    :232) skips other senders' messages.
/// i. A cooperative sender is not preempted by the more urgent receiver its put readies
///    (:264's `z_reschedule` switches only away from a preemptible thread, kernel/sched.c
///    `should_preempt`): the receiver runs at the sender's `k_yield`.
#[test]
fn async_mailbox_rules_match_the_real_kernel() {
    assert_eq!(CONFIG_NUM_MBOX_ASYNC_MSGS, 10);
    let (_, log) = run(5, || {
        // SAFETY: a plain getter from a simulated thread.
        let main = unsafe { k_current_get() };
        let m = mbox();
        let (sa, sb, sc, se) = (sem(0, 10), sem(0, 10), sem(0, 10), sem(0, 20));
        // SAFETY: kernel calls from simulated threads on leaked objects and static data; each
        // buffer outlives the call that fills it; descriptors are read only by their thread.
        unsafe {
            // a, f
            let atx = tx(b"abc", 11, K_ANY);
            k_mbox_async_put(m, atx, sa);
            log!("a put returned, sem {}", count(sa));
            spawn("a_rx", 7, K_NO_WAIT, move || {
                let msg = rx(2, 22, K_ANY);
                let mut buf = [0u8; 8];
                let r = k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_FOREVER);
                log!(
                    "a rx got {r} \"{}\" size {} info {} from main {}, sem {}",
                    text(&buf),
                    (*msg).size,
                    (*msg).info,
                    ((*msg).rx_source_thread == main) as i32,
                    count(sa)
                );
            });
            k_sem_take(sa, K_FOREVER);
            log!("a sem taken; caller's tx_msg size {} info {}", (*atx).size, (*atx).info);

            // b, f
            k_sleep(K_TIMEOUT_ABS_TICKS(10));
            let btx = [tx(b"xyz", 31, K_ANY), tx(b"", 32, K_ANY), tx(b"discard", 33, K_ANY)];
            for msg in btx {
                k_mbox_async_put(m, msg, sb);
            }
            log!("b puts returned, sem {}", count(sb));
            spawn("b_rx", 4, K_NO_WAIT, move || {
                let msg = rx(8, 0, K_ANY);
                let mut buf = [0u8; 8];
                let r = k_mbox_get(m, msg, null_mut(), K_FOREVER);
                log!("b rx got {r} size {} info {}, sem {}", (*msg).size, (*msg).info, count(sb));
                k_sleep(K_TICKS(5));
                log!("b rx before data_get, sem {}", count(sb));
                k_mbox_data_get(msg, buf.as_mut_ptr().cast());
                log!("b rx data_get \"{}\", sem {}", text(&buf), count(sb));

                let msg = rx(8, 0, K_ANY);
                let r = k_mbox_get(m, msg, null_mut(), K_FOREVER);
                let (size, info) = ((*msg).size, (*msg).info);
                log!("b rx got empty {r} size {size} info {info}, sem {}", count(sb));

                let msg = rx(8, 0, K_ANY);
                let r = k_mbox_get(m, msg, null_mut(), K_FOREVER);
                log!("b rx got {r} size {} info {}, sem {}", (*msg).size, (*msg).info, count(sb));
                k_mbox_data_get(msg, null_mut());
                log!("b rx discarded, size {}, sem {}", (*msg).size, count(sb));
            });
            log!("b main after spawn, sem {}", count(sb));
            k_sleep(K_TIMEOUT_ABS_TICKS(30));
            let [b0, b1, b2] = btx.map(|msg| ((*msg).size, (*msg).info));
            log!(
                "b sem {}; caller's sizes {} {} {}, infos {} {} {}",
                count(sb),
                b0.0,
                b1.0,
                b2.0,
                b0.1,
                b1.1,
                b2.1
            );

            // c
            k_sleep(K_TIMEOUT_ABS_TICKS(40));
            for prio in [3, 5, 7] {
                spawn("c_rx", prio, K_NO_WAIT, move || {
                    let msg = rx(8, 0, K_ANY);
                    let mut buf = [0u8; 8];
                    let r = k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_FOREVER);
                    log!(
                        "c rx prio {prio} got {r} \"{}\" info {}, sem {}",
                        text(&buf),
                        (*msg).info,
                        count(sc)
                    );
                });
            }
            log!("c receivers spawned");
            k_sleep(K_TIMEOUT_ABS_TICKS(41));
            for (i, (data, info)) in
                [(&b"one"[..], 41), (b"two", 42), (b"three", 43)].into_iter().enumerate()
            {
                k_mbox_async_put(m, tx(data, info, K_ANY), sc);
                log!("c put {} returned, sem {}", i + 1, count(sc));
            }
            k_sleep(K_TIMEOUT_ABS_TICKS(50));
            log!("c sem {}", count(sc));

            // d
            k_sleep(K_TIMEOUT_ABS_TICKS(60));
            k_mbox_async_put(m, tx(b"d", 50, K_ANY), null_mut());
            for (prio, info) in [(6, 60), (8, 80), (4, 40), (6, 61)] {
                spawn("d_tx", prio, K_NO_WAIT, move || {
                    let msg = tx(b"d", info, K_ANY);
                    k_mbox_async_put(m, msg, null_mut());
                    log!("d sender prio {prio} put {} returned", (*msg).info);
                });
            }
            spawn("d_sync_tx", 6, K_NO_WAIT, move || {
                let msg = tx(b"sync", 62, K_ANY);
                let r = k_mbox_put(m, msg, K_FOREVER);
                let (size, info) = ((*msg).size, (*msg).info);
                log!("d sync sender prio 6 put {}, its size {size} info {info}", res(r));
            });
            k_mbox_async_put(m, tx(b"d", 51, K_ANY), null_mut());
            log!("d main put 50 and 51");
            k_sleep(K_TIMEOUT_ABS_TICKS(61));
            let r = loop {
                match get_now(m) {
                    (0, msg, _) => log!("d got info {}", (*msg).info),
                    (r, _, _) => break r,
                }
            };
            log!("d then {}", res(r));

            // e: the freed descriptor goes to a more urgent waiting sender
            k_sleep(K_TIMEOUT_ABS_TICKS(70));
            static DIGITS: [u8; 10] = *b"0123456789";
            for i in 0..10 {
                k_mbox_async_put(m, tx(&DIGITS[i..=i], 70 + i as u32, K_ANY), se);
            }
            log!("e 10 puts returned");
            let e_tx = move |prio: i32, msg: *mut k_mbox_msg| {
                spawn("e_tx", prio, K_NO_WAIT, move || {
                    log!("e sender prio {prio} puts {}", (*msg).info);
                    k_mbox_async_put(m, msg, se);
                    log!("e sender prio {prio} put returned, sem {}", count(se));
                });
            };
            let e_waiter = move |prio: i32| {
                spawn("e_waiter", prio, K_NO_WAIT, move || {
                    k_sem_take(se, K_FOREVER);
                    log!("e sem waiter prio {prio} took the sem");
                });
            };
            let etx10 = tx(b"A", 110, K_ANY);
            e_tx(4, etx10);
            log!("e main after the prio 4 sender");
            k_sleep(K_TIMEOUT_ABS_TICKS(75));
            e_waiter(2);
            let (r, msg, buf) = get_now(m);
            log!(
                "e main got {} \"{}\" info {}, sem {}",
                res(r),
                text(&buf),
                (*msg).info,
                count(se)
            );

            // e: and to a less urgent one
            e_tx(7, tx(b"B", 120, K_ANY));
            e_waiter(6);
            k_sleep(K_TIMEOUT_ABS_TICKS(80));
            let (r, msg, buf) = get_now(m);
            log!(
                "e main got {} \"{}\" info {}, sem {}",
                res(r),
                text(&buf),
                (*msg).info,
                count(se)
            );
            k_sleep(K_TIMEOUT_ABS_TICKS(90));
            let r = loop {
                match get_now(m) {
                    (0, msg, buf) => {
                        log!("e got \"{}\" info {}, sem {}", text(&buf), (*msg).info, count(se))
                    }
                    (r, _, _) => break r,
                }
            };
            log!("e then {}; caller's info {} size {}", res(r), (*etx10).info, (*etx10).size);

            // g
            k_sleep(K_TIMEOUT_ABS_TICKS(100));
            let sg = sem(0, 10);
            isr_after(5, move || {
                k_mbox_async_put(m, tx(b"irq", 7, K_ANY), sg);
                log!("g isr put returned, sem {}", count(sg));
            });
            let msg = rx(8, 0, K_ANY);
            let mut buf = [0u8; 9];
            let r = k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_FOREVER);
            log!(
                "g main got {} \"{}\" info {}, sem {}",
                res(r),
                text(&buf),
                (*msg).info,
                count(sg)
            );

            // h
            k_sleep(K_TIMEOUT_ABS_TICKS(110));
            let h = spawn("h_rx", 6, K_NO_WAIT, move || {
                let msg = rx(8, 0, K_ANY);
                let mut buf = [0u8; 8];
                let r = k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_FOREVER);
                log!("h target got {} \"{}\" info {}", res(r), text(&buf), (*msg).info);
                let msg = rx(8, 0, main);
                let mut buf = [0u8; 8];
                let r = k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_FOREVER);
                log!(
                    "h target, from main only, got {} \"{}\" info {} from main {}",
                    res(r),
                    text(&buf),
                    (*msg).info,
                    ((*msg).rx_source_thread == main) as i32
                );
            });
            let h_other = move |msg: *mut k_mbox_msg| {
                spawn("h_other", 4, K_NO_WAIT, move || {
                    k_mbox_async_put(m, msg, null_mut());
                    log!("h other sender put {} returned", (*msg).info);
                });
            };
            h_other(tx(b"other", 83, K_ANY));
            k_mbox_async_put(m, tx(b"to-h", 81, h), null_mut());
            k_mbox_async_put(m, tx(b"any", 82, K_ANY), null_mut());
            for _ in 0..3 {
                let (r, msg, buf) = get_now(m);
                log!("h main got {} \"{}\" info {}", res(r), text(&buf), (*msg).info);
            }
            k_sleep(K_TIMEOUT_ABS_TICKS(115));
            h_other(tx(b"other2", 85, K_ANY));
            k_mbox_async_put(m, tx(b"main", 86, K_ANY), null_mut());
            log!("h main put 86 returned");
            let (r, msg, buf) = get_now(m);
            log!("h main got {} \"{}\" info {}", res(r), text(&buf), (*msg).info);
            k_sleep(K_TIMEOUT_ABS_TICKS(120));

            // i
            spawn("i_rx", -2, K_NO_WAIT, move || {
                let msg = rx(8, 0, K_ANY);
                let mut buf = [0u8; 8];
                let r = k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_FOREVER);
                log!("i rx prio -2 got {} \"{}\"", res(r), text(&buf));
            });
            spawn("i_tx", -1, K_NO_WAIT, move || {
                k_mbox_async_put(m, tx(b"coop", 91, K_ANY), null_mut());
                log!("i sender prio -1 put returned");
                k_yield();
                log!("i sender prio -1 after k_yield");
            });
            log!("i main");

            // g: an ISR's message waits at the interrupted thread's priority
            k_sleep(K_TIMEOUT_ABS_TICKS(130));
            k_mbox_async_put(m, tx(b"d", 95, K_ANY), null_mut());
            spawn("d_tx", 7, K_NO_WAIT, move || {
                let msg = tx(b"d", 97, K_ANY);
                k_mbox_async_put(m, msg, null_mut());
                log!("d sender prio 7 put {} returned", (*msg).info);
            });
            isr_after(3, move || {
                k_mbox_async_put(m, tx(b"isr2", 96, K_ANY), null_mut());
                log!("g isr put 96 returned");
            });
            let busy = spawn("g_busy", 6, K_NO_WAIT, || {
                log!("g busy thread prio 6 busy-waits");
                k_busy_wait(500);
                log!("g busy thread done");
            });
            k_sleep(K_TIMEOUT_ABS_TICKS(140));
            while let (0, msg, _) = get_now(m) {
                let from = (*msg).rx_source_thread;
                let (busy, main) = ((from == busy) as i32, (from == main) as i32);
                log!("g got info {} from busy {busy} from main {main}", (*msg).info);
            }

            // g: an ISR receives while a sender waits for a descriptor and a thread for the sem
            k_sleep(K_TIMEOUT_ABS_TICKS(150));
            let sj = sem(0, 20);
            for info in 150..160 {
                k_mbox_async_put(m, tx(b"j", info, K_ANY), sj);
            }
            spawn("g_tx", 4, K_NO_WAIT, move || {
                k_mbox_async_put(m, tx(b"j", 160, K_ANY), sj);
                log!("g sender prio 4 put returned, sem {}", count(sj));
            });
            spawn("g_waiter", 3, K_NO_WAIT, move || {
                k_sem_take(sj, K_FOREVER);
                log!("g sem waiter prio 3 took the sem");
            });
            isr_after(3, move || {
                let msg = rx(8, 0, K_ANY);
                let mut buf = [0u8; 8];
                let r = k_mbox_get(m, msg, buf.as_mut_ptr().cast(), K_NO_WAIT);
                let info = (*msg).info;
                log!("g isr got {} \"{}\" info {info}, sem {}", res(r), text(&buf), count(sj));
            });
            log!("g main waits");
            k_sleep(K_TIMEOUT_ABS_TICKS(160));
            while let (0, msg, _) = get_now(m) {
                log!("g got info {}, sem {}", (*msg).info, count(sj));
            }
        }
    });
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/mbox-rules");
    let expected = std::fs::read_to_string(root.join("expected.txt")).unwrap();
    let expected: Vec<&str> = expected.lines().filter(|l| l.starts_with("T=")).collect();
    assert_eq!(log, expected);
}
