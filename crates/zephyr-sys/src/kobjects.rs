//! The rest of Zephyr 2.7's kernel objects (`include/kernel.h`): more of `k_queue` and
//! `k_msgq`, `k_lifo`, `k_stack`, `k_mem_slab`, `k_heap` and the system heap (`k_malloc`,
//! `k_free`), and `k_pipe`.
//!
//! The object layouts come from the provider (the simulator's, or the application's Zephyr
//! build); this module declares the functions and the header-inline helpers built on them
//! (`k_lifo_*`, `k_fifo_put_list`, ...), as `kernel.h` defines them. Zephyr 2.7 has no
//! `k_event` (it arrived in Zephyr 3.0), so neither does this crate.
//!
//! `k_mbox_msg` is a plain C struct the application fills, so it has one layout here for every
//! provider: Zephyr 2.7's, with `_async_sem` always present (real Zephyr only has it with
//! `CONFIG_NUM_MBOX_ASYNC_MSGS` > 0, include/kernel.h:4450-4453, and only the kernel's own copy
//! of a descriptor in `k_mbox_async_put` ever holds it, kernel/mailbox.c:339-341; the build
//! checks the other offsets against the real header).
//!
//! Zephyr 2.7 has no `k_pipe_block_put`, so neither does this crate: `include/kernel.h`
//! declares only `k_pipe_init`, `k_pipe_cleanup`, `k_pipe_alloc_init`, `k_pipe_put`,
//! `k_pipe_get`, `k_pipe_read_avail` and `k_pipe_write_avail` (lines 4663-4758), and the pool of
//! asynchronous pipe descriptors `CONFIG_NUM_PIPE_ASYNC_MSGS` still sizes (kernel/pipes.c:39-86)
//! is never used: `z_pipe_put_internal`'s only caller passes no descriptor
//! (kernel/pipes.c:738). The call went with `struct k_mem_block` pools: deprecated in 2.4
//! (doc/releases/release-notes-2.4.rst:124), `k_mem_pool` removed in 2.5
//! (doc/releases/release-notes-2.5.rst:143).

use core::ffi::{c_int, c_uchar, c_void};

use crate::{
    k_fifo, k_heap, k_mbox, k_mem_slab, k_msgq, k_pipe, k_queue, k_queue_get, k_queue_init,
    k_queue_prepend, k_sem, k_stack, k_tid_t, k_timeout_t,
};

/// A value on a `k_stack` (`stack_data_t`, a `uintptr_t`).
pub type stack_data_t = usize;

/// A message queue's attributes, as `k_msgq_get_attrs` fills them (`struct k_msgq_attrs`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct k_msgq_attrs {
    /// Bytes per message.
    pub msg_size: usize,
    /// Capacity, in messages.
    pub max_msgs: u32,
    /// Messages queued.
    pub used_msgs: u32,
}

/// A singly linked list whose nodes are linked through their first word (`sys_slist_t`, as
/// `k_queue_merge_slist` takes it).
#[repr(C)]
#[derive(Debug)]
pub struct sys_slist_t {
    /// First node, or null.
    pub head: *mut c_void,
    /// Last node, or null.
    pub tail: *mut c_void,
}

/// A memory block reference (`struct k_mem_block`: in Zephyr 2.7 a union of `data` and the
/// block id `{ data, heap }`, include/kernel/mempool_heap.h).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct k_mem_block {
    /// The block's memory, or null.
    pub data: *mut c_void,
    /// The heap it came from (the id's second word).
    pub heap: *mut c_void,
}

/// Any thread, as a mailbox message's sender or receiver (`K_ANY`).
pub const K_ANY: k_tid_t = core::ptr::null_mut();

/// A mailbox message descriptor (`struct k_mbox_msg`, Zephyr 2.7).
///
/// A sender fills `size`, `info`, `tx_data` and `tx_target_thread` (or [`K_ANY`]); a receiver
/// fills `size` (its buffer's), `info` and `rx_source_thread` (or [`K_ANY`]). When a message is
/// exchanged, the kernel swaps the two `info` values, names each side's thread in the other's
/// descriptor and gives the receiver the smaller size.
#[repr(C)]
#[derive(Debug)]
pub struct k_mbox_msg {
    /// Legacy, unused.
    pub _mailbox: u32,
    /// Bytes of data (sender: to send; receiver: room, then what came).
    pub size: usize,
    /// Application value, exchanged between sender and receiver.
    pub info: u32,
    /// The sender's data, or null.
    pub tx_data: *mut c_void,
    /// Legacy, unused.
    pub _rx_data: *mut c_void,
    /// A memory block to send instead of `tx_data` (legacy).
    pub tx_block: k_mem_block,
    /// The sending thread (receiver: the one it accepts, or [`K_ANY`]).
    pub rx_source_thread: k_tid_t,
    /// The receiving thread (sender: the one it targets, or [`K_ANY`]).
    pub tx_target_thread: k_tid_t,
    /// Kernel-private: the sender waiting for the exchange to finish.
    pub _syncing_thread: k_tid_t,
    /// Kernel-private: asynchronous sends only.
    pub _async_sem: *mut k_sem,
}

impl k_mbox_msg {
    /// A descriptor with every field zero or null (fill in what the call needs).
    pub const fn new() -> Self {
        Self {
            _mailbox: 0,
            size: 0,
            info: 0,
            tx_data: core::ptr::null_mut(),
            _rx_data: core::ptr::null_mut(),
            tx_block: k_mem_block { data: core::ptr::null_mut(), heap: core::ptr::null_mut() },
            rx_source_thread: K_ANY,
            tx_target_thread: K_ANY,
            _syncing_thread: core::ptr::null_mut(),
            _async_sem: core::ptr::null_mut(),
        }
    }
}

impl Default for k_mbox_msg {
    fn default() -> Self {
        Self::new()
    }
}

kernel_api! {
    // ---- scheduling (kernel/sched.c) ----
    /// Sets `thread`'s deadline to `deadline` cycles from now (`k_thread_deadline_set`;
    /// `CONFIG_SCHED_DEADLINE`): among ready or waiting threads of equal priority, the sooner
    /// deadline goes first. Takes effect at the next reschedule point.
    pub fn k_thread_deadline_set(thread: k_tid_t, deadline: c_int);

    // ---- mailboxes (kernel/mailbox.c) ----
    /// Initialises a mailbox (`k_mbox_init`).
    pub fn k_mbox_init(mbox: *mut k_mbox);
    /// Sends a message and waits until a receiver has taken its data (synchronous send):
    /// 0, `-ENOMSG` (no matching receiver, `K_NO_WAIT`) or `-EAGAIN` (no receiver in time)
    /// (`k_mbox_put`).
    pub fn k_mbox_put(mbox: *mut k_mbox, tx_msg: *mut k_mbox_msg, timeout: k_timeout_t) -> c_int;
    /// Receives a message from a matching sender: 0, `-ENOMSG` (none, `K_NO_WAIT`) or
    /// `-EAGAIN`. With a `buffer`, the data is copied and the sender released; with null and
    /// data to take, call [`k_mbox_data_get`] later (`k_mbox_get`).
    pub fn k_mbox_get(
        mbox: *mut k_mbox,
        rx_msg: *mut k_mbox_msg,
        buffer: *mut c_void,
        timeout: k_timeout_t,
    ) -> c_int;
    /// Sends a message without waiting for a receiver (`k_mbox_async_put`,
    /// include/kernel.h:4542, kernel/mailbox.c:323-346; only with
    /// `CONFIG_NUM_MBOX_ASYNC_MSGS` > 0).
    ///
    /// The kernel copies `*tx_msg` into a descriptor from a pool of
    /// `CONFIG_NUM_MBOX_ASYNC_MSGS`, shared by all mailboxes; when the pool is empty the caller
    /// waits, with no timeout, until a message is consumed and frees one (kernel/mailbox.c:36).
    /// The copy waits on the mailbox's senders' queue at the caller's priority, or goes to a
    /// matching receiver at once. The caller's descriptor is not written: the size taken and
    /// the receiver's `info` are never reported back. `sem` (or null) is given once the
    /// receiver has consumed the data (`k_mbox_get` with a buffer or of an empty message, or
    /// its `k_mbox_data_get`), so `tx_data` must stay valid until then. ISR-safe while the
    /// pool has a free descriptor.
    pub fn k_mbox_async_put(mbox: *mut k_mbox, tx_msg: *mut k_mbox_msg, sem: *mut k_sem);
    /// Copies a received message's data to `buffer` (null: discards it) and releases the
    /// sender (`k_mbox_data_get`).
    pub fn k_mbox_data_get(rx_msg: *mut k_mbox_msg, buffer: *mut c_void);

    // ---- message queues (kernel/msg_q.c) ----
    /// Copies the oldest message out without taking it: 0, or `-ENOMSG` when empty
    /// (`k_msgq_peek`; ISR-safe).
    pub fn k_msgq_peek(msgq: *mut k_msgq, data: *mut c_void) -> c_int;
    /// Fills `attrs` with the message size, capacity and messages queued (`k_msgq_get_attrs`).
    pub fn k_msgq_get_attrs(msgq: *mut k_msgq, attrs: *mut k_msgq_attrs);

    // ---- queues (kernel/queue.c) ----
    /// Inserts `data` after `prev` (null: at the head) (`k_queue_insert`; ISR-safe). A waiting
    /// getter receives it directly.
    pub fn k_queue_insert(queue: *mut k_queue, prev: *mut c_void, data: *mut c_void);
    /// Removes `data` from the queue without waiting; false if it was not queued
    /// (`k_queue_remove`).
    pub fn k_queue_remove(queue: *mut k_queue, data: *mut c_void) -> bool;
    /// Appends `data` unless it is already queued; false if it was (`k_queue_unique_append`).
    pub fn k_queue_unique_append(queue: *mut k_queue, data: *mut c_void) -> bool;
    /// Appends `data` through a node allocated from the caller's resource pool (the system
    /// heap in an ISR): 0, or `-ENOMEM` (`k_queue_alloc_append`). `data`'s memory is not
    /// touched.
    pub fn k_queue_alloc_append(queue: *mut k_queue, data: *mut c_void) -> i32;
    /// Prepends as [`k_queue_alloc_append`] appends (`k_queue_alloc_prepend`).
    pub fn k_queue_alloc_prepend(queue: *mut k_queue, data: *mut c_void) -> i32;
    /// Appends the null-terminated list `head`..`tail` (linked through first words), handing
    /// items to waiting getters first: 0, or `-EINVAL` if `head` or `tail` is null
    /// (`k_queue_append_list`).
    pub fn k_queue_append_list(queue: *mut k_queue, head: *mut c_void, tail: *mut c_void) -> c_int;
    /// Moves every node of `list` to the queue (as [`k_queue_append_list`]) and empties it: 0,
    /// or `-EINVAL` for an empty list (`k_queue_merge_slist`).
    pub fn k_queue_merge_slist(queue: *mut k_queue, list: *mut sys_slist_t) -> c_int;
    /// The last item without taking it, or null (`k_queue_peek_tail`).
    pub fn k_queue_peek_tail(queue: *mut k_queue) -> *mut c_void;

    // ---- stacks (kernel/stack.c) ----
    /// Initialises a stack of `num_entries` values on `buffer` (`k_stack_init`).
    pub fn k_stack_init(stack: *mut k_stack, buffer: *mut stack_data_t, num_entries: u32);
    /// Initialises a stack on a buffer allocated from the caller's resource pool: 0, or
    /// `-ENOMEM` (`k_stack_alloc_init`). Free it with [`k_stack_cleanup`].
    pub fn k_stack_alloc_init(stack: *mut k_stack, num_entries: u32) -> i32;
    /// Frees the buffer of [`k_stack_alloc_init`]: 0, or `-EAGAIN` while threads wait
    /// (`k_stack_cleanup`).
    pub fn k_stack_cleanup(stack: *mut k_stack) -> c_int;
    /// Pushes a value, or hands it to the first waiting popper: 0, or `-ENOMEM` when full
    /// (`k_stack_push`; ISR-safe).
    pub fn k_stack_push(stack: *mut k_stack, data: stack_data_t) -> c_int;
    /// Pops the last value pushed: 0, `-EBUSY` (empty, `K_NO_WAIT`) or `-EAGAIN` (timeout)
    /// (`k_stack_pop`).
    pub fn k_stack_pop(stack: *mut k_stack, data: *mut stack_data_t, timeout: k_timeout_t) -> c_int;

    // ---- memory slabs (kernel/mem_slab.c) ----
    /// Initialises a slab of `num_blocks` blocks of `block_size` bytes on `buffer`: 0, or
    /// `-EINVAL` if the size or buffer is not pointer-aligned (`k_mem_slab_init`).
    pub fn k_mem_slab_init(
        slab: *mut k_mem_slab,
        buffer: *mut c_void,
        block_size: usize,
        num_blocks: u32,
    ) -> c_int;
    /// Allocates a block into `*mem`: 0, `-ENOMEM` (none free, `K_NO_WAIT`; `*mem` is null)
    /// or `-EAGAIN` (timeout) (`k_mem_slab_alloc`).
    pub fn k_mem_slab_alloc(slab: *mut k_mem_slab, mem: *mut *mut c_void, timeout: k_timeout_t) -> c_int;
    /// Frees the block `*mem`, handing it to the first waiting allocator if any
    /// (`k_mem_slab_free`; ISR-safe).
    pub fn k_mem_slab_free(slab: *mut k_mem_slab, mem: *mut *mut c_void);
    /// Blocks in use (`k_mem_slab_num_used_get`).
    pub fn k_mem_slab_num_used_get(slab: *mut k_mem_slab) -> u32;
    /// Blocks free (`k_mem_slab_num_free_get`).
    pub fn k_mem_slab_num_free_get(slab: *mut k_mem_slab) -> u32;
    /// Most blocks ever in use at once (`k_mem_slab_max_used_get`; on real Zephyr 0 unless
    /// `CONFIG_MEM_SLAB_TRACE_MAX_UTILIZATION`; the simulator always tracks it).
    pub fn k_mem_slab_max_used_get(slab: *mut k_mem_slab) -> u32;

    // ---- heaps (kernel/kheap.c, kernel/mempool.c) ----
    /// Initialises a heap on `bytes` bytes at `mem` (`k_heap_init`); part of the memory holds
    /// the allocator's own bookkeeping.
    pub fn k_heap_init(h: *mut k_heap, mem: *mut c_void, bytes: usize);
    /// Allocates `bytes` aligned to `align`, waiting up to `timeout` for a free to make room;
    /// null if none (`k_heap_aligned_alloc`).
    pub fn k_heap_aligned_alloc(h: *mut k_heap, align: usize, bytes: usize, timeout: k_timeout_t) -> *mut c_void;
    /// Allocates `bytes` (pointer-aligned), as [`k_heap_aligned_alloc`] (`k_heap_alloc`).
    pub fn k_heap_alloc(h: *mut k_heap, bytes: usize, timeout: k_timeout_t) -> *mut c_void;
    /// Frees memory of this heap, waking every thread waiting to allocate (`k_heap_free`).
    pub fn k_heap_free(h: *mut k_heap, mem: *mut c_void);
    /// Allocates `size` bytes aligned to `align` from the system heap
    /// (`CONFIG_HEAP_MEM_POOL_SIZE` bytes); null when out of memory (`k_aligned_alloc`).
    pub fn k_aligned_alloc(align: usize, size: usize) -> *mut c_void;
    /// Allocates `size` pointer-aligned bytes from the system heap (`k_malloc`).
    pub fn k_malloc(size: usize) -> *mut c_void;
    /// Allocates `nmemb * size` zeroed bytes from the system heap; null on overflow
    /// (`k_calloc`).
    pub fn k_calloc(nmemb: usize, size: usize) -> *mut c_void;
    /// Frees memory from [`k_malloc`], [`k_calloc`], [`k_aligned_alloc`] or a thread's
    /// resource pool; null does nothing (`k_free`).
    pub fn k_free(ptr: *mut c_void);
    /// Makes `heap` the resource pool `thread` (and the threads it creates) allocates from
    /// (`k_thread_heap_assign`).
    pub fn k_thread_heap_assign(thread: k_tid_t, heap: *mut k_heap);
    /// Makes the system heap `thread`'s resource pool (`k_thread_system_pool_assign`).
    pub fn k_thread_system_pool_assign(thread: k_tid_t);

    // ---- pipes (kernel/pipes.c) ----
    /// Initialises a pipe on a ring buffer of `size` bytes (0: no buffer, only direct
    /// transfers between waiting threads) (`k_pipe_init`).
    pub fn k_pipe_init(pipe: *mut k_pipe, buffer: *mut c_uchar, size: usize);
    /// Initialises a pipe on a buffer allocated from the caller's resource pool: 0, or
    /// `-ENOMEM` (`k_pipe_alloc_init`). Free it with [`k_pipe_cleanup`].
    pub fn k_pipe_alloc_init(pipe: *mut k_pipe, size: usize) -> c_int;
    /// Frees the buffer of [`k_pipe_alloc_init`]: 0, or `-EAGAIN` while threads wait
    /// (`k_pipe_cleanup`).
    pub fn k_pipe_cleanup(pipe: *mut k_pipe) -> c_int;
    /// Writes up to `bytes_to_write` bytes, at least `min_xfer`: 0, `-EINVAL`
    /// (`min_xfer > bytes_to_write`), `-EIO` (`K_NO_WAIT` and fewer than `min_xfer` could
    /// go), `-EAGAIN` (timeout with fewer than `min_xfer` written). `*bytes_written` says how
    /// many went (`k_pipe_put`).
    pub fn k_pipe_put(
        pipe: *mut k_pipe,
        data: *mut c_void,
        bytes_to_write: usize,
        bytes_written: *mut usize,
        min_xfer: usize,
        timeout: k_timeout_t,
    ) -> c_int;
    /// Reads up to `bytes_to_read` bytes, at least `min_xfer`, with the return codes of
    /// [`k_pipe_put`] (`k_pipe_get`).
    pub fn k_pipe_get(
        pipe: *mut k_pipe,
        data: *mut c_void,
        bytes_to_read: usize,
        bytes_read: *mut usize,
        min_xfer: usize,
        timeout: k_timeout_t,
    ) -> c_int;
    /// Bytes in the pipe's buffer (`k_pipe_read_avail`).
    pub fn k_pipe_read_avail(pipe: *mut k_pipe) -> usize;
    /// Free bytes in the pipe's buffer (`k_pipe_write_avail`).
    pub fn k_pipe_write_avail(pipe: *mut k_pipe) -> usize;
}

/// Appends a null-terminated list of items to a FIFO (`k_fifo_put_list`).
///
/// # Safety
/// As [`k_queue_append_list`].
pub unsafe fn k_fifo_put_list(fifo: *mut k_fifo, head: *mut c_void, tail: *mut c_void) {
    // SAFETY: forwarded caller contract.
    unsafe {
        let _ = k_queue_append_list(fifo, head, tail);
    }
}

/// Moves a whole `sys_slist_t` into a FIFO (`k_fifo_put_slist`).
///
/// # Safety
/// As [`k_queue_merge_slist`].
pub unsafe fn k_fifo_put_slist(fifo: *mut k_fifo, list: *mut sys_slist_t) {
    // SAFETY: forwarded caller contract.
    unsafe {
        let _ = k_queue_merge_slist(fifo, list);
    }
}

/// Appends an item through an allocated node (`k_fifo_alloc_put`): 0 or `-ENOMEM`.
///
/// # Safety
/// As [`k_queue_alloc_append`].
pub unsafe fn k_fifo_alloc_put(fifo: *mut k_fifo, data: *mut c_void) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { k_queue_alloc_append(fifo, data) }
}

/// A `k_lifo` is a `k_queue` used at its head (`struct k_lifo`).
pub type k_lifo = k_queue;

/// Initialises a LIFO (`k_lifo_init`).
///
/// # Safety
/// As [`k_queue_init`].
pub unsafe fn k_lifo_init(lifo: *mut k_lifo) {
    // SAFETY: forwarded caller contract.
    unsafe { k_queue_init(lifo) }
}

/// Pushes an item on a LIFO (`k_lifo_put`: `k_queue_prepend`).
///
/// # Safety
/// As [`k_queue_prepend`].
pub unsafe fn k_lifo_put(lifo: *mut k_lifo, data: *mut c_void) {
    // SAFETY: forwarded caller contract.
    unsafe { k_queue_prepend(lifo, data) }
}

/// Pushes an item through an allocated node (`k_lifo_alloc_put`: `k_queue_alloc_prepend`):
/// 0 or `-ENOMEM`.
///
/// # Safety
/// As [`k_queue_alloc_prepend`].
pub unsafe fn k_lifo_alloc_put(lifo: *mut k_lifo, data: *mut c_void) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { k_queue_alloc_prepend(lifo, data) }
}

/// Takes the last item pushed, waiting up to `timeout` (`k_lifo_get`: `k_queue_get`).
///
/// # Safety
/// As [`k_queue_get`].
pub unsafe fn k_lifo_get(lifo: *mut k_lifo, timeout: k_timeout_t) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    unsafe { k_queue_get(lifo, timeout) }
}
