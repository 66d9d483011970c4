//! Mailboxes (`kernel/mailbox.c`, Zephyr 2.7, synchronous sends), one test per rule.
//! Board: 10 kHz ticks, 1 MHz cycles; main runs at priority 5.

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
