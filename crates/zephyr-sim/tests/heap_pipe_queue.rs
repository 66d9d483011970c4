//! Heaps (`kernel/kheap.c`, `kernel/mempool.c`), pipes (`kernel/pipes.c`) and the newer
//! queue and message-queue calls (`kernel/queue.c`, `kernel/msg_q.c`), one test per rule.
//! Board: 10 kHz ticks, 1 MHz cycles; main runs at priority 5.

mod common;

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use common::*;
use zephyr_sys::*;

fn heap(bytes: usize) -> *mut k_heap {
    let h: *mut k_heap = leak(k_heap::new());
    let mem = leak(vec![0u64; bytes / 8]).as_mut_ptr();
    // SAFETY: leaked, never moves.
    unsafe { k_heap_init(h, mem.cast(), bytes) };
    h
}

/// kernel/kheap.c (`k_heap_aligned_alloc`): allocations are aligned as asked; one that does
/// not fit returns null at once with K_NO_WAIT, and after its timeout (N + 1 ticks) otherwise;
/// freed memory is allocatable again.
#[test]
fn heap_alloc_align_and_timeout() {
    let (r, _) = run(5, || {
        let h = heap(1024);
        // SAFETY: kernel calls on a leaked heap.
        unsafe {
            let a = k_heap_aligned_alloc(h, 64, 100, K_NO_WAIT);
            let aligned = (a as usize).is_multiple_of(64);
            let big = k_heap_alloc(h, 4096, K_NO_WAIT).is_null();
            let timed = (k_heap_alloc(h, 4096, K_TICKS(3)).is_null(), k_uptime_ticks());
            k_heap_free(h, a);
            let again = !k_heap_alloc(h, 800, K_NO_WAIT).is_null();
            (aligned, big, timed, again)
        }
    });
    assert_eq!(r, (true, true, (true, 4), true));
}

/// kernel/kheap.c (`k_heap_free`: `z_unpend_all`; `k_heap_aligned_alloc`'s retry loop): a
/// free wakes every waiter; each tries again in priority order, and one that still does not
/// fit waits again for the rest of its timeout.
#[test]
fn heap_free_wakes_all_waiters_which_retry() {
    let (_, log) = run(5, || {
        let h = heap(512);
        // SAFETY: kernel calls on a leaked heap.
        let block = unsafe { k_heap_alloc(h, 400, K_NO_WAIT) };
        for (name, prio) in [("w4", 4), ("w3", 3)] {
            spawn(name, prio, K_NO_WAIT, move || {
                // SAFETY: as above.
                let p = unsafe { k_heap_alloc(h, 300, K_TICKS(20)) };
                log!("{name} got {}", !p.is_null());
            });
        }
        // SAFETY: as above.
        unsafe {
            k_sleep(K_TICKS(5));
            k_heap_free(h, block);
            log!("main after free");
            k_sleep(K_TICKS(30));
        }
    });
    assert_eq!(log, ["T=6 w3 got true", "T=6 main after free", "T=21 w4 got false"]);
}

/// kernel/mempool.c (`k_malloc`, `k_calloc`, `k_aligned_alloc`, `k_free`): the system heap of
/// CONFIG_HEAP_MEM_POOL_SIZE bytes; calloc zeroes and returns null on overflow; free of null
/// does nothing; what does not fit is null.
#[test]
fn system_heap_malloc_calloc_free() {
    let (r, _) = run(5, || {
        // SAFETY: system heap calls.
        unsafe {
            let a = k_malloc(100);
            let b = k_calloc(10, 10);
            let zeroed = std::slice::from_raw_parts(b as *const u8, 100).iter().all(|&x| x == 0);
            let c = k_aligned_alloc(256, 10);
            let aligned = (c as usize).is_multiple_of(256);
            let overflow = k_calloc(usize::MAX, 2).is_null();
            let too_big = k_malloc(CONFIG_HEAP_MEM_POOL_SIZE).is_null();
            k_free(a);
            k_free(b);
            k_free(c);
            k_free(null_mut());
            let whole = k_malloc(CONFIG_HEAP_MEM_POOL_SIZE - 256);
            (zeroed, aligned, overflow, too_big, !whole.is_null())
        }
    });
    assert_eq!(r, (true, true, true, true, true));
}

// ------------------------------------------------------------------ k_pipe

fn pipe(size: usize) -> *mut k_pipe {
    let p: *mut k_pipe = leak(k_pipe::new());
    let buf = leak(vec![0u8; size.max(1)]).as_mut_ptr();
    // SAFETY: leaked, never moves.
    unsafe { k_pipe_init(p, if size == 0 { null_mut() } else { buf }, size) };
    p
}

fn put(p: *mut k_pipe, data: &[u8], min: usize, timeout: k_timeout_t) -> (i32, usize) {
    let mut n = 0;
    // SAFETY: kernel call on a leaked pipe; `data` outlives the call.
    let r =
        unsafe { k_pipe_put(p, data.as_ptr() as *mut c_void, data.len(), &mut n, min, timeout) };
    (r, n)
}

fn get(p: *mut k_pipe, len: usize, min: usize, timeout: k_timeout_t) -> (i32, Vec<u8>) {
    let mut buf = vec![0u8; len];
    let mut n = 0;
    // SAFETY: kernel call on a leaked pipe; `buf` outlives the call.
    let r = unsafe { k_pipe_get(p, buf.as_mut_ptr().cast(), len, &mut n, min, timeout) };
    buf.truncate(n);
    (r, buf)
}

/// kernel/pipes.c (`z_pipe_put_internal`, `z_impl_k_pipe_get`, `pipe_return_code`,
/// `z_impl_k_pipe_read_avail`/`write_avail`): bytes go through the ring buffer in order;
/// min_xfer > bytes is -EINVAL; with K_NO_WAIT, fewer than min_xfer possible is -EIO (nothing
/// moves) and otherwise what fits moves (0); a timeout with fewer than min_xfer moved is
/// -EAGAIN with the count of what moved.
#[test]
fn pipe_buffer_and_return_codes() {
    let (r, _) = run(5, || {
        let p = pipe(8);
        // SAFETY: kernel calls on a leaked pipe.
        unsafe {
            let inval = put(p, b"ab", 3, K_NO_WAIT).0;
            let first = put(p, b"hello", 5, K_NO_WAIT);
            let avail = (k_pipe_read_avail(p), k_pipe_write_avail(p));
            let eio = put(p, b"world!", 6, K_NO_WAIT);
            let some = put(p, b"world!", 1, K_NO_WAIT);
            let timed = (put(p, b"xy", 2, K_TICKS(3)), k_uptime_ticks());
            let got = get(p, 10, 0, K_NO_WAIT);
            let eio_get = get(p, 4, 1, K_NO_WAIT).0;
            (inval, first, avail, eio, some, timed, got, eio_get)
        }
    });
    assert_eq!(
        r,
        (
            -EINVAL,
            (0, 5),
            (5, 3),
            (-EIO, 0),
            (0, 3),
            ((-EAGAIN, 0), 4),
            (0, b"hellowor".to_vec()),
            -EIO
        )
    );
}

/// kernel/pipes.c (`pipe_xfer_prepare`, `z_pipe_put_internal`): a put copies straight into
/// the buffers of waiting readers, most urgent first; a reader whose whole request it covers
/// is woken, the first it does not cover keeps what it got and keeps waiting; a pipe with no
/// buffer moves data only between threads.
#[test]
fn pipe_put_serves_waiting_readers_directly() {
    let (_, log) = run(5, || {
        let p = pipe(0);
        for (name, prio, len) in [("r4", 4, 4), ("r3", 3, 3)] {
            spawn(name, prio, K_NO_WAIT, move || {
                let (r, data) = get(p, len, len, K_TICKS(10));
                log!("{name} {r} {:?}", String::from_utf8(data).unwrap());
            });
        }
        let w = put(p, b"abcde", 0, K_NO_WAIT);
        log!("main wrote {w:?}");
        // SAFETY: plain sleep.
        unsafe { k_sleep(K_TICKS(20)) };
    });
    assert_eq!(log, ["T=0 r3 0 \"abc\"", "T=0 main wrote (0, 5)", "T=11 r4 -11 \"de\""]);
}

/// kernel/pipes.c (`z_impl_k_pipe_get`): a get drains the buffer, then takes from waiting
/// writers (waking those it completes) and moves their remaining bytes into the freed space;
/// with a timeout, a get that moved min_xfer > 0 bytes returns 0 without waiting.
#[test]
fn pipe_get_serves_waiting_writers() {
    let (_, log) = run(5, || {
        let p = pipe(4);
        put(p, b"1234", 4, K_NO_WAIT);
        spawn("w3", 3, K_NO_WAIT, move || {
            let r = put(p, b"5678", 4, K_TICKS(50));
            log!("w3 wrote {r:?}");
        });
        let a = get(p, 6, 1, K_TICKS(5));
        log!("main read {:?}", (a.0, String::from_utf8(a.1).unwrap()));
        // SAFETY: kernel calls on a leaked pipe.
        let left = unsafe { k_pipe_read_avail(p) };
        log!("left {left}");
    });
    assert_eq!(log, ["T=0 w3 wrote (0, 4)", "T=0 main read (0, \"123456\")", "T=0 left 2"]);
}

/// kernel/pipes.c: a pipe call that would wait in an ISR is a fatal error naming it.
#[test]
fn pipe_blocking_in_an_isr_panics() {
    let err = run_err(|| {
        let p = pipe(4);
        isr_after(1, move || {
            get(p, 2, 2, K_FOREVER);
        });
        // SAFETY: plain sleep.
        unsafe { k_sleep(K_TICKS(5)) };
    });
    assert_eq!(
        panic_message(&err),
        "k_pipe_get: blocking call from ISR context (an ISR may only use K_NO_WAIT)"
    );
}

// ------------------------------------------------------------------ queues and msgq

fn drain(q: *mut k_queue) -> Vec<u32> {
    let mut out = Vec::new();
    loop {
        // SAFETY: kernel call on a leaked queue; items come from `item()`.
        let p = unsafe { k_queue_get(q, K_NO_WAIT) };
        if p.is_null() {
            return out;
        }
        // SAFETY: as above.
        out.push(unsafe { (*(p as *mut Item)).value });
    }
}

fn queue() -> *mut k_queue {
    let q: *mut k_queue = leak(k_queue::new());
    // SAFETY: leaked, never moves.
    unsafe { k_queue_init(q) };
    q
}

/// kernel/queue.c (`k_queue_insert`, `k_queue_remove`, `k_queue_unique_append`,
/// `z_impl_k_queue_peek_tail`): insert after an item (or at the head), remove an item from
/// anywhere (false if absent), append only if absent.
#[test]
fn queue_insert_remove_unique_append() {
    let (r, _) = run(5, || {
        let q = queue();
        let (a, b, c, d) = (item(1), item(2), item(3), item(4));
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            k_queue_append(q, a);
            k_queue_append(q, c);
            k_queue_insert(q, a, b);
            k_queue_insert(q, null_mut(), d);
            let tail = (*(k_queue_peek_tail(q) as *mut Item)).value;
            let removed = (k_queue_remove(q, b), k_queue_remove(q, b));
            let unique = (k_queue_unique_append(q, a), k_queue_unique_append(q, b));
            (tail, removed, unique, drain(q))
        }
    });
    assert_eq!(r, (3, (true, false), (false, true), vec![4, 1, 3, 2]));
}

/// kernel/queue.c (`queue_insert` with alloc, `z_thread_malloc` in kernel/mempool.c): the
/// alloc variants need a resource pool (-ENOMEM without one), leave the item's memory alone
/// (an item needs no link word), and the node is freed when the item is taken; k_lifo is the
/// queue at its head (kernel.h: `k_lifo_put` is `k_queue_prepend`).
#[test]
fn queue_alloc_variants_and_lifo() {
    let (r, _) = run(5, || {
        let q = queue();
        let words = leak([7u32, 8, 9]).as_mut_ptr();
        // SAFETY: indices within the leaked array.
        let p = |i: usize| unsafe { words.add(i) } as *mut c_void;
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            let none = k_queue_alloc_append(q, p(0));
            k_thread_system_pool_assign(k_current_get());
            let ok = (k_fifo_alloc_put(q, p(0)), k_queue_alloc_prepend(q, p(1)));
            let untouched = *(p(0) as *mut u32);
            let got: Vec<u32> = (0..2).map(|_| *(k_queue_get(q, K_NO_WAIT) as *mut u32)).collect();
            let lifo = queue();
            k_lifo_put(lifo, item(1));
            k_lifo_put(lifo, item(2));
            k_lifo_alloc_put(lifo, p(2));
            let top = *(k_lifo_get(lifo, K_NO_WAIT) as *mut u32);
            (none, ok, untouched, got, top, drain(lifo))
        }
    });
    assert_eq!(r, (-ENOMEM, (0, 0), 7, vec![8, 7], 9, vec![2, 1]));
}

/// kernel/queue.c (`k_queue_append_list`, `k_queue_merge_slist`): a list goes to waiting
/// getters first, one item each, the rest is appended; null head or tail (or an empty slist)
/// is -EINVAL.
#[test]
fn queue_append_list_feeds_waiters_first() {
    let (r, log) = run(5, || {
        let q = queue();
        spawn("g", 4, K_NO_WAIT, move || {
            // SAFETY: as in `drain`.
            let v = unsafe { (*(k_queue_get(q, K_FOREVER) as *mut Item)).value };
            log!("g got {v}");
        });
        let (a, b, c) = (item(1), item(2), item(3));
        // SAFETY: kernel calls on leaked objects.
        unsafe {
            (*(a as *mut Item)).link = b;
            (*(b as *mut Item)).link = c;
            let inval = k_queue_append_list(q, null_mut(), c);
            let r = k_queue_append_list(q, a, c);
            let mut empty = sys_slist_t { head: null_mut(), tail: null_mut() };
            let e = k_queue_merge_slist(q, &mut empty);
            (inval, r, e, drain(q))
        }
    });
    assert_eq!(r, (-EINVAL, 0, -EINVAL, vec![2, 3]));
    assert_eq!(log, ["T=0 g got 1"]);
}

/// kernel/msg_q.c (`z_impl_k_msgq_peek`, `z_impl_k_msgq_get_attrs`): peek copies the oldest
/// message without taking it (-ENOMSG when empty); the attributes are the message size,
/// capacity and messages queued. A static message queue (`K_MSGQ_DEFINE`: zephyr-sys's
/// `Z_MSGQ_INITIALIZER`) needs no init call.
#[test]
fn msgq_peek_and_attrs() {
    let (r, _) = run(5, || {
        let buf = leak([0u32; 4]).as_mut_ptr() as *mut c_char;
        let q: *mut k_msgq = leak(Z_MSGQ_INITIALIZER(buf, 4, 4));
        let mut v = 0u32;
        let vp = &mut v as *mut u32 as *mut c_void;
        // SAFETY: kernel calls on a leaked message queue.
        unsafe {
            let empty = k_msgq_peek(q, vp);
            for x in [5u32, 6] {
                k_msgq_put(q, &x as *const u32 as *const c_void, K_NO_WAIT);
            }
            let peeked = (k_msgq_peek(q, vp), *(vp as *mut u32));
            let mut attrs = k_msgq_attrs::default();
            k_msgq_get_attrs(q, &mut attrs);
            (empty, peeked, attrs, k_msgq_num_used_get(q))
        }
    });
    assert_eq!(r, (-ENOMSG, (0, 5), k_msgq_attrs { msg_size: 4, max_msgs: 4, used_msgs: 2 }, 2));
}
