//! Pipes: byte streams through a ring buffer, or straight between threads (`kernel/pipes.c`,
//! Zephyr 2.7).
//!
//! A put first copies into the buffers of waiting readers, most urgent first: each reader
//! whose whole request the data covers is woken; the first one it does not cover gets what is
//! left and keeps waiting. The rest goes into the ring buffer. A get first drains the ring
//! buffer, then copies from waiting writers the same way, and moves the data of the writers it
//! served (and of the first one it did not) into the freed buffer space. A call that moved
//! fewer bytes than asked waits (with a timeout) in its own wait queue, where the other side
//! serves it; when the wait ends, the return code says whether at least `min_xfer` bytes moved.
//! Pipes have no `k_poll` event in Zephyr 2.7, nor an asynchronous send: `k_pipe_block_put`
//! is not in 2.7's include/kernel.h (the pipe calls are at lines 4663-4758), and the pool of
//! asynchronous descriptors kernel/pipes.c:39-86 still sizes by `CONFIG_NUM_PIPE_ASYNC_MSGS`
//! is dead code (the only caller of `z_pipe_put_internal` passes none, kernel/pipes.c:738).
//!
//! ```text
//!  put/get:  all bytes moved ─► 0
//!            K_NO_WAIT and fewer than min_xfer possible ─► -EIO, nothing moved
//!            K_NO_WAIT otherwise ─► 0 with what could move
//!            a timeout and min_xfer > 0 bytes moved ─► 0
//!            else wait: ends when the other side completes the request (0) or on timeout
//!                       (0 if min_xfer bytes moved by then, else -EAGAIN)
//!  min_xfer > bytes ─► -EINVAL
//! ```

use std::ffi::{c_int, c_uchar, c_void};
use std::ptr::{addr_of_mut, null_mut};

use zephyr_sys::*;

use super::no_isr;
use crate::kernel::{with, Kernel, Wait};
use crate::switch::{reschedule, swap};

/// What a waiting reader or writer still wants moved (`struct k_pipe_desc`), on its stack;
/// its thread's `swap_data` points at it while it waits.
struct PipeDesc {
    buffer: *mut u8,
    bytes_to_xfer: usize,
}

fn check(k: &mut Kernel, pipe: *mut k_pipe, call: &str) {
    assert!(!pipe.is_null(), "{call}: pipe is NULL");
    // SAFETY: the caller of the API function guarantees `pipe` points to a k_pipe.
    k.check_object(unsafe { addr_of_mut!((*pipe)._sim) }, pipe, Z_SIM_PIPE, call);
}

fn init(k: &mut Kernel, pipe: *mut k_pipe, buffer: *mut c_uchar, size: usize) {
    // SAFETY: the caller of the API function guarantees `pipe` is valid.
    unsafe {
        let p = &mut *pipe;
        if p._sim.magic == Z_SIM_PIPE && p._sim.sim == k.id && p._sim.addr == pipe as usize {
            assert!(
                p.wait_q.writers.head == u32::MAX,
                "k_pipe_init: k_pipe at {pipe:?} re-initialised while threads wait on it"
            );
        }
        k.init_object(
            addr_of_mut!((*pipe)._sim),
            addr_of_mut!((*pipe).wait_q.readers),
            pipe as usize,
            Z_SIM_PIPE,
        );
        p.wait_q.writers = _wait_q_t::EMPTY;
        p.buffer = buffer;
        p.size = size;
        p.bytes_used = 0;
        p.read_index = 0;
        p.write_index = 0;
        p.flags = 0;
    }
}

/// `pipe_xfer`: copies `min(dest_size, src_size)` bytes.
///
/// # Safety
/// The ranges must be valid and not overlap.
unsafe fn xfer(dest: *mut u8, dest_size: usize, src: *const u8, src_size: usize) -> usize {
    let n = dest_size.min(src_size);
    // SAFETY: caller's contract.
    unsafe { std::ptr::copy_nonoverlapping(src, dest, n) };
    n
}

/// `pipe_buffer_put`: copies into the ring buffer; returns how many bytes went.
///
/// # Safety
/// `pipe` initialised; `src` valid for `src_size` bytes.
unsafe fn buffer_put(pipe: *mut k_pipe, src: *const u8, src_size: usize) -> usize {
    // SAFETY: caller's contract; indices stay within the buffer.
    unsafe {
        let p = &mut *pipe;
        let mut written = 0;
        for _ in 0..2 {
            let run = (p.size - p.bytes_used).min(p.size - p.write_index);
            let n = xfer(p.buffer.add(p.write_index), run, src.add(written), src_size - written);
            written += n;
            p.bytes_used += n;
            p.write_index += n;
            if p.write_index == p.size {
                p.write_index = 0;
            }
        }
        written
    }
}

/// `pipe_buffer_get`: copies out of the ring buffer; returns how many bytes came.
///
/// # Safety
/// `pipe` initialised; `dest` valid for `dest_size` bytes.
unsafe fn buffer_get(pipe: *mut k_pipe, dest: *mut u8, dest_size: usize) -> usize {
    // SAFETY: caller's contract; indices stay within the buffer.
    unsafe {
        let p = &mut *pipe;
        let mut read = 0;
        for _ in 0..2 {
            let run = p.bytes_used.min(p.size - p.read_index);
            let n = xfer(dest.add(read), dest_size - read, p.buffer.add(p.read_index), run);
            read += n;
            p.bytes_used -= n;
            p.read_index += n;
            if p.read_index == p.size {
                p.read_index = 0;
            }
        }
        read
    }
}

/// The descriptor of a waiting thread.
fn desc(k: &Kernel, slot: u32) -> *mut PipeDesc {
    k.threads[slot as usize].swap_data.cast()
}

/// `pipe_xfer_prepare`: with `K_NO_WAIT`, `None` if fewer than `min_xfer` bytes could move.
/// Otherwise takes the waiters whose whole request `bytes` covers off `q` (woken: they run
/// once the caller reschedules), in wait-queue order, and names the first one it does not
/// cover (left waiting).
fn prepare(
    k: &mut Kernel,
    q: *mut _wait_q_t,
    pipe_space: usize,
    bytes: usize,
    min_xfer: usize,
    timeout: k_timeout_t,
) -> Option<(Vec<u32>, Option<u32>)> {
    if timeout == K_NO_WAIT {
        let mut num = 0;
        // SAFETY: `q` is the pipe's wait queue; waiters' descriptors live while they wait.
        let mut t = unsafe { (*q).head };
        while t != u32::MAX {
            // SAFETY: as above.
            num += unsafe { (*desc(k, t)).bytes_to_xfer };
            if num >= bytes {
                break;
            }
            t = k.threads[t as usize].wq_next;
        }
        if num + pipe_space < min_xfer {
            return None;
        }
    }
    let mut list = Vec::new();
    let mut num = 0;
    while let Some(t) = k.waitq_head(q) {
        // SAFETY: as above.
        num += unsafe { (*desc(k, t)).bytes_to_xfer };
        if num > bytes {
            return Some((list, Some(t)));
        }
        k.unpend(t);
        list.push(t);
    }
    Some((list, None))
}

/// What a put or get decided inside the kernel borrow.
enum Outcome {
    /// Return this code, with this many bytes moved, after rescheduling if the flag says so.
    Done(c_int, usize, bool),
    /// Wait on the queue for the rest, `moved` bytes already moved.
    Block(usize),
    /// The caller would block in an ISR.
    Isr,
}

/// `pipe_return_code`.
fn return_code(min_xfer: usize, remaining: usize, requested: usize) -> c_int {
    if requested - remaining >= min_xfer {
        0
    } else {
        -EAGAIN
    }
}

/// The common end of a put or get: reschedule or wait, then report.
fn finish(
    outcome: Outcome,
    data: *mut u8,
    bytes: usize,
    moved_out: *mut usize,
    min_xfer: usize,
    queue: impl FnOnce(*mut c_void) -> (*mut _wait_q_t, &'static str, usize),
    timeout: k_timeout_t,
) -> c_int {
    match outcome {
        Outcome::Done(r, moved, resched) => {
            // SAFETY: the caller of the API function guarantees the out-pointer.
            unsafe { moved_out.write(moved) };
            if resched {
                reschedule(false);
            }
            r
        }
        Outcome::Isr => {
            no_isr(queue(null_mut()).1);
            unreachable!()
        }
        Outcome::Block(moved) => {
            let mut d = PipeDesc {
                // SAFETY: `moved <= bytes`: inside the caller's buffer.
                buffer: unsafe { data.add(moved) },
                bytes_to_xfer: bytes - moved,
            };
            let dp: *mut PipeDesc = &mut d;
            with(|k| {
                let (q, call, obj) = queue(dp.cast());
                let cur = k.current as usize;
                k.threads[cur].swap_data = dp.cast();
                k.pend_current(Wait::Object { q, call, obj }, timeout);
            });
            swap();
            // SAFETY: `dp` is this frame's descriptor; the other side is done with it (this
            // thread no longer waits).
            let remaining = unsafe { (*dp).bytes_to_xfer };
            // SAFETY: as above.
            unsafe { moved_out.write(bytes - remaining) };
            return_code(min_xfer, remaining, bytes)
        }
    }
}

/// Initialises a pipe on `size` bytes at `buffer` (`k_pipe_init`); a size of 0 makes a pipe
/// that only moves data between waiting threads.
///
/// # Safety
/// `pipe` must be valid and must not move afterwards; `buffer` valid for `size` bytes while
/// the pipe is used.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_pipe_init(pipe: *mut k_pipe, buffer: *mut c_uchar, size: usize) {
    assert!(!pipe.is_null(), "k_pipe_init: pipe is NULL");
    with(|k| init(k, pipe, buffer, size));
}

/// Initialises a pipe on a buffer from the caller's resource pool (`k_pipe_alloc_init`): 0,
/// or `-ENOMEM`. A size of 0 allocates nothing.
///
/// # Safety
/// As [`k_pipe_init`], minus the buffer.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_pipe_alloc_init(pipe: *mut k_pipe, size: usize) -> c_int {
    assert!(!pipe.is_null(), "k_pipe_alloc_init: pipe is NULL");
    with(|k| {
        let buffer = if size > 0 {
            let b = super::heap::thread_malloc(k, size);
            if b.is_null() {
                return -ENOMEM;
            }
            b
        } else {
            null_mut()
        };
        init(k, pipe, buffer.cast(), size);
        // SAFETY: initialised above.
        unsafe { (*pipe).flags = K_PIPE_FLAG_ALLOC };
        0
    })
}

/// Frees the buffer of `k_pipe_alloc_init` (`k_pipe_cleanup`): 0, or `-EAGAIN` while threads
/// wait on the pipe.
///
/// # Safety
/// `pipe` must be an initialised pipe.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_pipe_cleanup(pipe: *mut k_pipe) -> c_int {
    let (r, woke) = with(|k| {
        check(k, pipe, "k_pipe_cleanup");
        // SAFETY: checked above.
        unsafe {
            let p = &mut *pipe;
            if p.wait_q.readers.head != u32::MAX || p.wait_q.writers.head != u32::MAX {
                return (-EAGAIN, false);
            }
            let mut woke = false;
            if p.flags & K_PIPE_FLAG_ALLOC != 0 {
                woke = super::heap::ref_free(k, p.buffer.cast());
                p.buffer = null_mut();
                p.flags &= !K_PIPE_FLAG_ALLOC;
            }
            (0, woke)
        }
    });
    if woke {
        reschedule(false);
    }
    r
}

/// Writes up to `bytes_to_write` bytes (`k_pipe_put`); see the module docs for the rules.
/// `*bytes_written` says how many went.
///
/// # Safety
/// `pipe` must be an initialised pipe; `data` valid for `bytes_to_write` bytes (while the call
/// waits, too); `bytes_written` valid for a write.
///
/// # Panics
/// Waiting in an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_pipe_put(
    pipe: *mut k_pipe,
    data: *mut c_void,
    bytes_to_write: usize,
    bytes_written: *mut usize,
    min_xfer: usize,
    timeout: k_timeout_t,
) -> c_int {
    if min_xfer > bytes_to_write || bytes_written.is_null() {
        return -EINVAL;
    }
    let data = data.cast::<u8>();
    let outcome = with(|k| {
        check(k, pipe, "k_pipe_put");
        // SAFETY: checked above; waiters' descriptors and buffers live while they wait; the
        // caller guarantees `data`.
        unsafe {
            let space = (*pipe).size - (*pipe).bytes_used;
            let q = addr_of_mut!((*pipe).wait_q.readers);
            let Some((list, reader)) = prepare(k, q, space, bytes_to_write, min_xfer, timeout)
            else {
                return Outcome::Done(-EIO, 0, false);
            };
            let woke = !list.is_empty();
            let mut written = 0;
            for t in list.into_iter().chain(reader) {
                let d = &mut *desc(k, t);
                let n =
                    xfer(d.buffer, d.bytes_to_xfer, data.add(written), bytes_to_write - written);
                written += n;
                d.buffer = d.buffer.add(n);
                d.bytes_to_xfer -= n;
            }
            written += buffer_put(pipe, data.add(written), bytes_to_write - written);
            if written == bytes_to_write
                || (timeout != K_NO_WAIT && written >= min_xfer && min_xfer > 0)
            {
                return Outcome::Done(0, written, woke);
            }
            if timeout == K_NO_WAIT {
                let r = return_code(min_xfer, bytes_to_write - written, bytes_to_write);
                return Outcome::Done(r, written, woke);
            }
            if k.isr_depth > 0 {
                return Outcome::Isr;
            }
            Outcome::Block(written)
        }
    });
    let queue = |_| {
        // SAFETY: checked in the borrow above.
        (unsafe { addr_of_mut!((*pipe).wait_q.writers) }, "k_pipe_put", pipe as usize)
    };
    finish(outcome, data, bytes_to_write, bytes_written, min_xfer, queue, timeout)
}

/// Reads up to `bytes_to_read` bytes (`k_pipe_get`); see the module docs for the rules.
/// `*bytes_read` says how many came.
///
/// # Safety
/// `pipe` must be an initialised pipe; `data` valid for `bytes_to_read` bytes of writes (while
/// the call waits, too); `bytes_read` valid for a write.
///
/// # Panics
/// Waiting in an ISR.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_pipe_get(
    pipe: *mut k_pipe,
    data: *mut c_void,
    bytes_to_read: usize,
    bytes_read: *mut usize,
    min_xfer: usize,
    timeout: k_timeout_t,
) -> c_int {
    if min_xfer > bytes_to_read || bytes_read.is_null() {
        return -EINVAL;
    }
    let data = data.cast::<u8>();
    let outcome = with(|k| {
        check(k, pipe, "k_pipe_get");
        // SAFETY: as in `k_pipe_put`.
        unsafe {
            let used = (*pipe).bytes_used;
            let q = addr_of_mut!((*pipe).wait_q.writers);
            let Some((list, writer)) = prepare(k, q, used, bytes_to_read, min_xfer, timeout) else {
                return Outcome::Done(-EIO, 0, false);
            };
            let woke = !list.is_empty();
            let mut read = buffer_get(pipe, data, bytes_to_read);
            // Straight from the writers into the reader's buffer, while it has room.
            let mut served = list.iter().copied().peekable();
            while let Some(&t) = served.peek() {
                if read >= bytes_to_read {
                    break;
                }
                let d = &mut *desc(k, t);
                let n = xfer(data.add(read), bytes_to_read - read, d.buffer, d.bytes_to_xfer);
                read += n;
                d.buffer = d.buffer.add(n);
                d.bytes_to_xfer -= n;
                if read == bytes_to_read {
                    break;
                }
                served.next();
            }
            if let Some(t) = writer {
                if read < bytes_to_read {
                    let d = &mut *desc(k, t);
                    let n = xfer(data.add(read), bytes_to_read - read, d.buffer, d.bytes_to_xfer);
                    read += n;
                    d.buffer = d.buffer.add(n);
                    d.bytes_to_xfer -= n;
                }
            }
            // What the writers have left goes into the ring buffer.
            for t in served.chain(writer) {
                let d = &mut *desc(k, t);
                let n = buffer_put(pipe, d.buffer, d.bytes_to_xfer);
                d.buffer = d.buffer.add(n);
                d.bytes_to_xfer -= n;
            }
            if read == bytes_to_read || (timeout != K_NO_WAIT && read >= min_xfer && min_xfer > 0) {
                return Outcome::Done(0, read, woke);
            }
            if timeout == K_NO_WAIT {
                let r = return_code(min_xfer, bytes_to_read - read, bytes_to_read);
                return Outcome::Done(r, read, woke);
            }
            if k.isr_depth > 0 {
                return Outcome::Isr;
            }
            Outcome::Block(read)
        }
    });
    let queue = |_| {
        // SAFETY: checked in the borrow above.
        (unsafe { addr_of_mut!((*pipe).wait_q.readers) }, "k_pipe_get", pipe as usize)
    };
    finish(outcome, data, bytes_to_read, bytes_read, min_xfer, queue, timeout)
}

/// Bytes in the ring buffer (`k_pipe_read_avail`).
///
/// # Safety
/// `pipe` must be an initialised pipe.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_pipe_read_avail(pipe: *mut k_pipe) -> usize {
    with(|k| {
        check(k, pipe, "k_pipe_read_avail");
        // SAFETY: checked above.
        let p = unsafe { &*pipe };
        if p.buffer.is_null() || p.size == 0 {
            0
        } else if p.read_index == p.write_index {
            p.bytes_used
        } else if p.read_index < p.write_index {
            p.write_index - p.read_index
        } else {
            p.size - (p.read_index - p.write_index)
        }
    })
}

/// Free bytes in the ring buffer (`k_pipe_write_avail`).
///
/// # Safety
/// `pipe` must be an initialised pipe.
#[no_mangle]
pub unsafe extern "C-unwind" fn k_pipe_write_avail(pipe: *mut k_pipe) -> usize {
    with(|k| {
        check(k, pipe, "k_pipe_write_avail");
        // SAFETY: checked above.
        let p = unsafe { &*pipe };
        if p.buffer.is_null() || p.size == 0 {
            0
        } else if p.write_index == p.read_index {
            p.size - p.bytes_used
        } else if p.write_index < p.read_index {
            p.read_index - p.write_index
        } else {
            p.size - (p.write_index - p.read_index)
        }
    })
}
