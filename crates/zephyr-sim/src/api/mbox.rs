//! Mailboxes: messages exchanged between a sending and a receiving thread
//! (`kernel/mailbox.c`, Zephyr 2.7; synchronous and asynchronous sends).
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
//! An asynchronous send (`k_mbox_async_put`, kernel/mailbox.c:323-346) copies the caller's
//! descriptor into one of `CONFIG_NUM_MBOX_ASYNC_MSGS` descriptors, each paired with a dummy
//! thread (`struct k_mbox_async`, :25-28), which stands in for the sender: it takes the
//! caller's priority and waits in the senders' queue, or is matched with a waiting receiver at
//! once, and the caller goes on. The free descriptors are a `k_stack` (:31), so with none free
//! the caller waits in `k_stack_pop` with no timeout (:36) until a consumed message pushes one
//! back, as 2.7 does. When the receiver consumes the data, the descriptor goes back (a push,
//! which may hand it to a waiting sender and switch to it) and then the semaphore is given
//! (:191-198). Here a dummy thread is a slot of the thread table whose `_THREAD_DUMMY` state
//! keeps it from ever running, created with its descriptor when a simulation first sends
//! asynchronously; it is named `mbox_async#<n>` in reports and records no trace event.
//! These rules, as a real Zephyr 2.7.0 kernel shows them, are `samples/mbox-rules` (a C
//! program `scripts/zephyr-test.sh` runs on native_posix_64), which tests/mbox.rs replays here
//! against the same expected output.
//!
//! ```text
//!  put: a matching receiver waits ─► it runs; the sender waits for the data to be taken ─► 0
//!       none ─► -ENOMSG (K_NO_WAIT) / wait for a receiver: 0 (then as above) or -EAGAIN
//!  async_put: take a free descriptor (none: wait for one) ─► a matching receiver waits: it
//!       is readied │ none: the descriptor waits for one; consumed ─► free it, give `sem`
//!  get: a matching sender waits ─► 0 │ none ─► -ENOMSG (K_NO_WAIT) / wait: 0 or -EAGAIN
//! ```

use std::ffi::{c_int, c_void};
use std::ptr::{addr_of_mut, null_mut};

use zephyr_sys::thread_state::_THREAD_DUMMY;
use zephyr_sys::*;

use super::no_isr;
use super::stack::k_stack_pop;
use super::stack::k_stack_push;
use super::sync::k_sem_give;
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

/// One asynchronous message descriptor (`struct k_mbox_async`, kernel/mailbox.c:25-28): the
/// dummy thread that stands in for the sender, and the kernel's copy of the caller's
/// descriptor.
#[repr(C)]
struct AsyncMsg {
    thread: k_thread,
    tx_msg: k_mbox_msg,
}

/// This simulation's pool of asynchronous message descriptors (`async_msg_free` and
/// `async_msg`, kernel/mailbox.c:31 and :57). The stack holds indices into `msgs`.
#[repr(C)]
struct AsyncPool {
    free: k_stack,
    buffer: [stack_data_t; CONFIG_NUM_MBOX_ASYNC_MSGS],
    msgs: [AsyncMsg; CONFIG_NUM_MBOX_ASYNC_MSGS],
    /// The thread-table slot of `msgs[0]`'s dummy thread; the others follow it.
    first_slot: u32,
}

/// Key of the pool among the simulation's boot statics.
static ASYNC_POOL_KEY: u8 = 0;

/// This simulation's pool, set up at first use as `init_mbox_module` (kernel/mailbox.c:52-83)
/// sets it up at boot: every descriptor's dummy thread registered (with `_THREAD_DUMMY`, so it
/// never runs) and every descriptor pushed on the free stack, in index order.
fn async_pool(k: &mut Kernel) -> *mut AsyncPool {
    let key = &ASYNC_POOL_KEY as *const u8 as usize;
    if let Some(e) = k.boot_statics.iter().find(|e| e.0 == key) {
        return e.1.cast();
    }
    let layout = std::alloc::Layout::new::<AsyncPool>();
    // SAFETY: the layout has a non-zero size (the stack object at least).
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<AsyncPool>();
    assert!(!p.is_null(), "out of memory");
    k.boot_statics.push((key, p.cast(), layout));
    // SAFETY: `p` is a zeroed AsyncPool, freed (without destructors) with the simulation; its
    // fields are plain C data, written in place and never moved.
    unsafe {
        let buffer = addr_of_mut!((*p).buffer).cast::<stack_data_t>();
        super::stack::init(k, addr_of_mut!((*p).free), buffer, CONFIG_NUM_MBOX_ASYNC_MSGS as u32);
        (*p).first_slot = k.threads.len() as u32;
        for i in 0..CONFIG_NUM_MBOX_ASYNC_MSGS {
            let msg = addr_of_mut!((*p).msgs).cast::<AsyncMsg>().add(i);
            msg.write(AsyncMsg { thread: k_thread::new(), tx_msg: k_mbox_msg::new() });
            let slot = k.register_thread(addr_of_mut!((*msg).thread), 0);
            k.threads[slot as usize].state = _THREAD_DUMMY;
            k.sync_state(slot);
            k.set_name(slot, format!("mbox_async#{i}").as_bytes());
            let free = addr_of_mut!((*p).free);
            (*free).next.write(i);
            (*free).next = (*free).next.add(1);
        }
    }
    p
}

/// What disposing of a received message leaves to do once the kernel borrow ends.
#[must_use]
enum Disposed {
    /// Nothing (no sender was waiting for it: already disposed of).
    Nothing,
    /// A synchronous sender was readied: reschedule (`z_reschedule_unlocked`).
    Sender,
    /// An asynchronous message: push its descriptor back on the pool (`mbox_async_free`), then
    /// give its semaphore, if any (kernel/mailbox.c:191-198).
    Async { pool: *mut AsyncPool, index: usize, sem: *mut k_sem },
}

impl Disposed {
    /// Carries it out, outside the kernel borrow: the push and the give are kernel calls
    /// that reschedule, in 2.7's order.
    fn finish(self) {
        match self {
            Disposed::Nothing => {}
            Disposed::Sender => reschedule(false),
            Disposed::Async { pool, index, sem } => {
                // SAFETY: the pool lives as long as the simulation; a free stack of
                // CONFIG_NUM_MBOX_ASYNC_MSGS always has room for the descriptor that left it.
                unsafe { k_stack_push(addr_of_mut!((*pool).free), index) };
                if !sem.is_null() {
                    // SAFETY: the sender passed a semaphore that lives until it is given
                    // (`k_mbox_async_put`'s contract); `k_sem_give` checks it.
                    unsafe { k_sem_give(sem) };
                }
            }
        }
    }
}

/// `mbox_message_dispose`: releases the sender of a received message (kernel/mailbox.c:164-207).
///
/// # Safety
/// `rx` must be a valid descriptor.
unsafe fn dispose(k: &mut Kernel, rx: *mut k_mbox_msg) -> Disposed {
    // SAFETY: caller's contract; the syncing thread is a sender blocked in k_mbox_put, whose
    // descriptor lives while it waits, or a dummy thread of the pool, whose descriptor is the
    // pool's.
    unsafe {
        let r = &mut *rx;
        if r._syncing_thread.is_null() {
            return Disposed::Nothing;
        }
        r.tx_block.data = null_mut();
        let sender = r._syncing_thread;
        r._syncing_thread = null_mut();
        let slot = k.slot_of(sender, "k_mbox_data_get");
        let tx = k.threads[slot as usize].swap_data.cast::<k_mbox_msg>();
        (*tx).size = r.size;
        if k.threads[slot as usize].state & _THREAD_DUMMY != 0 {
            let pool = async_pool(k);
            let index = (slot - (*pool).first_slot) as usize;
            return Disposed::Async { pool, index, sem: (*tx)._async_sem };
        }
        k.threads[slot as usize].swap_retval = 0;
        k.unpend(slot);
        Disposed::Sender
    }
}

/// `k_mbox_data_get` inside the kernel borrow.
///
/// # Safety
/// `rx` valid; `buffer` null or valid for `rx.size` bytes.
unsafe fn data_get(k: &mut Kernel, rx: *mut k_mbox_msg, buffer: *mut c_void) -> Disposed {
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
unsafe fn data_check(k: &mut Kernel, rx: *mut k_mbox_msg, buffer: *mut c_void) -> Disposed {
    // SAFETY: caller's contract.
    unsafe {
        if !buffer.is_null() {
            data_get(k, rx, buffer)
        } else if (*rx).size == 0 {
            dispose(k, rx)
        } else {
            Disposed::Nothing
        }
    }
}

/// Moves a sender whose message was taken to the mailbox's sync queue: still blocked, with no
/// timeout, until its message is disposed of. A dummy thread only leaves the senders' queue:
/// it "sits (unqueued) until the receiver consumes the message" (kernel/mailbox.c:259-261).
fn hold_sender(k: &mut Kernel, mbox: *mut k_mbox, slot: u32) {
    if k.threads[slot as usize].wait.is_some() {
        k.unpend(slot);
    }
    if k.threads[slot as usize].state & _THREAD_DUMMY != 0 {
        return;
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

/// Sends a message without waiting for a receiver (`k_mbox_async_put`, kernel/mailbox.c:323-346);
/// see the module docs.
///
/// # Safety
/// `mbox` must be an initialised mailbox; `tx_msg` a valid descriptor (read once, never
/// written); its data and `sem` (null or a semaphore) must stay valid until the message is
/// consumed.
///
/// # Panics
/// In an ISR when no descriptor is free (it would wait); when `CONFIG_NUM_MBOX_ASYNC_MSGS` is
/// 0 (Zephyr 2.7 then has no `k_mbox_async_put`).
#[no_mangle]
pub unsafe extern "C-unwind" fn k_mbox_async_put(
    mbox: *mut k_mbox,
    tx_msg: *mut k_mbox_msg,
    sem: *mut k_sem,
) {
    // A board may set it to 0 (`ZEPHYR_SIM_CONF`): the call is then a run-time error here,
    // where real Zephyr fails to link.
    if CONFIG_NUM_MBOX_ASYNC_MSGS == 0 {
        panic!(
            "k_mbox_async_put: CONFIG_NUM_MBOX_ASYNC_MSGS is 0 (Zephyr 2.7 then has no \
             k_mbox_async_put: kernel/mailbox.c:323)"
        );
    }
    assert!(!tx_msg.is_null(), "k_mbox_async_put: tx_msg is NULL");
    let (pool, isr_would_wait) = with(|k| {
        check(k, mbox, "k_mbox_async_put");
        let pool = async_pool(k);
        // SAFETY: the pool's stack is initialised.
        let empty = unsafe { (*pool).free.next == (*pool).free.base };
        (pool, empty && k.isr_depth > 0)
    });
    if isr_would_wait {
        no_isr("k_mbox_async_put");
    }
    // `mbox_async_alloc` (kernel/mailbox.c:36): waits, with no timeout, for a free descriptor.
    let mut index: stack_data_t = 0;
    // SAFETY: the pool lives as long as the simulation; `index` is a local.
    let r = unsafe { k_stack_pop(addr_of_mut!((*pool).free), &mut index, K_FOREVER) };
    debug_assert_eq!(r, 0, "a K_FOREVER pop returns a value");
    let woke = with(|k| {
        let cur = k.current;
        // SAFETY: `index` came off the free stack, so it is below CONFIG_NUM_MBOX_ASYNC_MSGS
        // and nobody else uses that descriptor; the caller guarantees `tx_msg`.
        let (slot, tx) = unsafe {
            let msg = addr_of_mut!((*pool).msgs).cast::<AsyncMsg>().add(index);
            let tx = addr_of_mut!((*msg).tx_msg);
            // async->tx_msg = *tx_msg, then the kernel's fields (:339-341, :232).
            std::ptr::copy_nonoverlapping(tx_msg.cast_const(), tx, 1);
            (*tx)._syncing_thread = addr_of_mut!((*msg).thread);
            (*tx)._async_sem = sem;
            (*tx).rx_source_thread = k.threads[cur as usize].obj;
            ((*pool).first_slot + index as u32, tx)
        };
        // async->thread.prio = _current->base.prio (:337).
        k.threads[slot as usize].prio = k.threads[cur as usize].prio;
        k.sync_state(slot);
        k.threads[slot as usize].swap_data = tx.cast();
        // SAFETY: checked above.
        let rxq = unsafe { addr_of_mut!((*mbox).rx_msg_queue) };
        if let Some(t) = find(k, rxq, tx, true) {
            // The receiver is readied; the dummy sits unqueued (:248-266).
            k.threads[t as usize].swap_retval = 0;
            k.unpend(t);
            return true;
        }
        // The dummy waits on the senders' queue for a receiver, forever (:291-296).
        // SAFETY: checked above.
        let q = unsafe { addr_of_mut!((*mbox).tx_msg_queue) };
        let w = Wait::Object { q, call: "k_mbox_async_put", obj: mbox as usize };
        k.pend_thread(slot, w, K_FOREVER);
        false
    });
    if woke {
        // z_reschedule (:264): a more urgent receiver runs now (not from an ISR).
        reschedule(false);
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
            let disposed = unsafe { data_check(k, rx_msg, buffer) };
            return Ok((0, disposed));
        }
        if timeout == K_NO_WAIT {
            return Ok((-ENOMSG, Disposed::Nothing));
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
        Ok((r, disposed)) => {
            disposed.finish();
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
                with(|k| unsafe { data_check(k, rx_msg, buffer) }).finish();
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
    with(|k| unsafe { data_get(k, rx_msg, buffer) }).finish();
}
