//! Mailboxes: messages exchanged between a sending and a receiving thread
//! (`kernel/mailbox.c`, Zephyr 2.7; synchronous sends).
//!
//! A sender and a receiver match when each accepts the other (`tx_target_thread` and
//! `rx_source_thread`, or `K_ANY`); a call scans the other side's wait queue in order (most
//! urgent, then longest waiting) for the first match. On a match the two `info` values are
//! swapped, each descriptor names the other thread, and the receiver's `size` becomes the
//! smaller of the two. The sender then stays blocked (with no timeout) until the receiver has
//! taken the data: at once when the receiver gave a buffer or there is no data, else at its
//! `k_mbox_data_get`; the sender's `size` then says how many bytes were taken. A mailbox has
//! no `k_poll` event.
//!
//! ```text
//!  put: a matching receiver waits ─► it runs; the sender waits for the data to be taken ─► 0
//!       none ─► -ENOMSG (K_NO_WAIT) / wait for a receiver: 0 (then as above) or -EAGAIN
//!  get: a matching sender waits ─► 0 │ none ─► -ENOMSG (K_NO_WAIT) / wait: 0 or -EAGAIN
//! ```

use std::ffi::{c_int, c_void};
use std::ptr::{addr_of_mut, null_mut};

use zephyr_sys::*;

use super::no_isr;
use crate::kernel::{with, Kernel, Wait};
use crate::switch::{reschedule, swap};

fn check(k: &mut Kernel, mbox: *mut k_mbox, call: &str) {
    assert!(!mbox.is_null(), "{call}: mbox is NULL");
    // SAFETY: the caller of the API function guarantees `mbox` points to a k_mbox.
    k.check_object(unsafe { addr_of_mut!((*mbox)._sim) }, mbox, Z_SIM_MBOX, call);
}

/// `mbox_message_match`: whether `tx` and `rx` accept each other; if so, exchanges their
/// fields.
///
/// # Safety
/// Both descriptors must be valid.
unsafe fn matches(tx: *mut k_mbox_msg, rx: *mut k_mbox_msg) -> bool {
    // SAFETY: caller's contract.
    unsafe {
        let (t, r) = (&mut *tx, &mut *rx);
        let ok = (t.tx_target_thread == K_ANY || t.tx_target_thread == r.tx_target_thread)
            && (r.rx_source_thread == K_ANY || r.rx_source_thread == t.rx_source_thread);
        if !ok {
            return false;
        }
        r.rx_source_thread = t.rx_source_thread;
        t.tx_target_thread = r.tx_target_thread;
        std::mem::swap(&mut r.info, &mut t.info);
        if r.size > t.size {
            r.size = t.size;
        }
        r.tx_data = t.tx_data;
        r.tx_block = t.tx_block;
        if !r.tx_data.is_null() {
            r.tx_block.data = null_mut();
        } else if !r.tx_block.data.is_null() {
            r.tx_data = r.tx_block.data;
        }
        r._syncing_thread = t._syncing_thread;
        true
    }
}

/// The first waiter of `q` whose descriptor matches `msg` (`sender`: `msg` is the sender's).
fn find(k: &Kernel, q: *mut _wait_q_t, msg: *mut k_mbox_msg, sender: bool) -> Option<u32> {
    // SAFETY: `q` is a valid wait queue of this mailbox.
    let mut t = unsafe { (*q).head };
    while t != u32::MAX {
        let other = k.threads[t as usize].swap_data.cast::<k_mbox_msg>();
        // SAFETY: a waiting thread's descriptor lives while it waits.
        let ok = unsafe {
            if sender {
                matches(msg, other)
            } else {
                matches(other, msg)
            }
        };
        if ok {
            return Some(t);
        }
        t = k.threads[t as usize].wq_next;
    }
    None
}

/// `mbox_message_dispose`: releases the sender of a received message; returns whether it woke
/// one.
///
/// # Safety
/// `rx` must be a valid descriptor.
unsafe fn dispose(k: &mut Kernel, rx: *mut k_mbox_msg) -> bool {
    // SAFETY: caller's contract; the syncing thread is a sender blocked in k_mbox_put, whose
    // descriptor lives while it waits.
    unsafe {
        let r = &mut *rx;
        if r._syncing_thread.is_null() {
            return false;
        }
        r.tx_block.data = null_mut();
        let sender = r._syncing_thread;
        r._syncing_thread = null_mut();
        let slot = k.slot_of(sender, "k_mbox_data_get");
        let tx = k.threads[slot as usize].swap_data.cast::<k_mbox_msg>();
        (*tx).size = r.size;
        k.threads[slot as usize].swap_retval = 0;
        k.unpend(slot);
        true
    }
}

/// `k_mbox_data_get` inside the kernel borrow.
///
/// # Safety
/// `rx` valid; `buffer` null or valid for `rx.size` bytes.
unsafe fn data_get(k: &mut Kernel, rx: *mut k_mbox_msg, buffer: *mut c_void) -> bool {
    // SAFETY: caller's contract; the sender's data lives while it waits.
    unsafe {
        if buffer.is_null() {
            (*rx).size = 0;
        } else if !(*rx).tx_data.is_null() && (*rx).size > 0 {
            std::ptr::copy_nonoverlapping((*rx).tx_data.cast::<u8>(), buffer.cast(), (*rx).size);
        }
        dispose(k, rx)
    }
}

/// `mbox_message_data_check`: takes the data now if there is a buffer or no data.
///
/// # Safety
/// As [`data_get`].
unsafe fn data_check(k: &mut Kernel, rx: *mut k_mbox_msg, buffer: *mut c_void) -> bool {
    // SAFETY: caller's contract.
    unsafe {
        if !buffer.is_null() {
            data_get(k, rx, buffer)
        } else if (*rx).size == 0 {
            dispose(k, rx)
        } else {
            false
        }
    }
}

/// Moves a sender whose message was taken to the mailbox's sync queue: still blocked, with no
/// timeout, until its message is disposed of.
fn hold_sender(k: &mut Kernel, mbox: *mut k_mbox, slot: u32) {
    if k.threads[slot as usize].wait.is_some() {
        k.unpend(slot);
    }
    // SAFETY: the mailbox is valid (checked by the caller).
    let q = unsafe { addr_of_mut!((*mbox).zsim_sync_q) };
    k.pend_thread(slot, Wait::Object { q, call: "k_mbox_put", obj: mbox as usize }, K_FOREVER);
}

/// Initialises a mailbox (`k_mbox_init`).
///
/// # Safety
/// `mbox` must be valid and must not move afterwards.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mbox_init(mbox: *mut k_mbox) {
    assert!(!mbox.is_null(), "k_mbox_init: mbox is NULL");
    with(|k| {
        // SAFETY: the caller guarantees `mbox`.
        unsafe {
            k.init_object(
                addr_of_mut!((*mbox)._sim),
                addr_of_mut!((*mbox).tx_msg_queue),
                mbox as usize,
                Z_SIM_MBOX,
            );
            (*mbox).rx_msg_queue = _wait_q_t::EMPTY;
            (*mbox).zsim_sync_q = _wait_q_t::EMPTY;
        }
    });
}

/// Sends a message synchronously (`k_mbox_put`); see the module docs.
///
/// # Safety
/// `mbox` must be an initialised mailbox; `tx_msg` a valid descriptor whose data stays valid
/// until the call returns.
///
/// # Panics
/// In an ISR, unless it returns `-ENOMSG` at once.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mbox_put(
    mbox: *mut k_mbox,
    tx_msg: *mut k_mbox_msg,
    timeout: k_timeout_t,
) -> c_int {
    let r = with(|k| {
        check(k, mbox, "k_mbox_put");
        let cur = k.current as usize;
        let me = k.threads[cur].obj;
        // SAFETY: the caller guarantees `tx_msg`; checked mailbox.
        unsafe {
            (*tx_msg).rx_source_thread = me;
            (*tx_msg)._syncing_thread = me;
        }
        if k.isr_depth == 0 {
            k.threads[cur].swap_data = tx_msg.cast();
        }
        // SAFETY: checked above.
        let rxq = unsafe { addr_of_mut!((*mbox).rx_msg_queue) };
        if let Some(t) = find(k, rxq, tx_msg, true) {
            if k.isr_depth > 0 {
                return Err(false);
            }
            k.threads[t as usize].swap_retval = 0;
            k.unpend(t);
            hold_sender(k, mbox, k.current);
            return Err(true);
        }
        if timeout == K_NO_WAIT {
            return Ok(-ENOMSG);
        }
        if k.isr_depth > 0 {
            return Err(false);
        }
        // SAFETY: checked above.
        let q = unsafe { addr_of_mut!((*mbox).tx_msg_queue) };
        k.pend_current(Wait::Object { q, call: "k_mbox_put", obj: mbox as usize }, timeout);
        Err(true)
    });
    match r {
        Ok(r) => r,
        Err(false) => {
            no_isr("k_mbox_put");
            unreachable!()
        }
        Err(true) => swap(),
    }
}

/// Receives a message (`k_mbox_get`); see the module docs.
///
/// # Safety
/// `mbox` must be an initialised mailbox; `rx_msg` a valid descriptor; `buffer` null or valid
/// for `rx_msg.size` bytes.
///
/// # Panics
/// Waiting in an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mbox_get(
    mbox: *mut k_mbox,
    rx_msg: *mut k_mbox_msg,
    buffer: *mut c_void,
    timeout: k_timeout_t,
) -> c_int {
    let r = with(|k| {
        check(k, mbox, "k_mbox_get");
        let me = k.threads[k.current as usize].obj;
        // SAFETY: the caller guarantees `rx_msg`.
        unsafe { (*rx_msg).tx_target_thread = me };
        // SAFETY: checked above.
        let txq = unsafe { addr_of_mut!((*mbox).tx_msg_queue) };
        if let Some(t) = find(k, txq, rx_msg, false) {
            hold_sender(k, mbox, t);
            // SAFETY: the caller guarantees `buffer`.
            let woke = unsafe { data_check(k, rx_msg, buffer) };
            return Ok((0, woke));
        }
        if timeout == K_NO_WAIT {
            return Ok((-ENOMSG, false));
        }
        if k.isr_depth > 0 {
            return Err(false);
        }
        let cur = k.current as usize;
        k.threads[cur].swap_data = rx_msg.cast();
        // SAFETY: checked above.
        let q = unsafe { addr_of_mut!((*mbox).rx_msg_queue) };
        k.pend_current(Wait::Object { q, call: "k_mbox_get", obj: mbox as usize }, timeout);
        Err(true)
    });
    match r {
        Ok((r, woke)) => {
            if woke {
                reschedule(false);
            }
            r
        }
        Err(false) => {
            no_isr("k_mbox_get");
            unreachable!()
        }
        Err(true) => {
            let r = swap();
            if r == 0 {
                // SAFETY: as above.
                if with(|k| unsafe { data_check(k, rx_msg, buffer) }) {
                    reschedule(false);
                }
            }
            r
        }
    }
}

/// Copies a received message's data into `buffer` (null: discards it; the sender then reads
/// a size of 0) and releases the sender (`k_mbox_data_get`).
///
/// # Safety
/// `rx_msg` must be a descriptor `k_mbox_get` filled; `buffer` null or valid for its `size`.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mbox_data_get(rx_msg: *mut k_mbox_msg, buffer: *mut c_void) {
    assert!(!rx_msg.is_null(), "k_mbox_data_get: rx_msg is NULL");
    // SAFETY: the caller's contract.
    if with(|k| unsafe { data_get(k, rx_msg, buffer) }) {
        reschedule(false);
    }
}
