//! Simulator layouts of `k_stack`, `k_mem_slab`, `k_heap` and `k_pipe`, and the static
//! initialisers of every object kind `kobjects` adds (see [`super`]).
//!
//! A statically initialised slab or heap cannot build its free list in a `const` (it writes
//! into the buffer): its `zsim_unbuilt` flag makes the simulator build it at the first use, as
//! Zephyr's `init_mem_slab_module` and `statics_init` (kernel/mem_slab.c, kernel/kheap.c) do at
//! boot.

use core::ffi::{c_char, c_uchar, c_void};

use super::objects::{_wait_q_t, z_sim_obj};
use super::work::{k_msgq, k_queue, Z_SIM_MSGQ, Z_SIM_QUEUE};
use crate::stack_data_t;

/// `z_sim_obj::magic` of a `k_stack`.
pub const Z_SIM_STACK: u32 = 0x5354_434b; // "STCK"
/// `z_sim_obj::magic` of a `k_mem_slab`.
pub const Z_SIM_MEM_SLAB: u32 = 0x534c_4142; // "SLAB"
/// `z_sim_obj::magic` of a `k_heap`.
pub const Z_SIM_HEAP: u32 = 0x4845_4150; // "HEAP"
/// `z_sim_obj::magic` of a `k_pipe`.
pub const Z_SIM_PIPE: u32 = 0x5049_5045; // "PIPE"

/// `z_sim_obj::magic` of a `k_mbox`.
pub const Z_SIM_MBOX: u32 = 0x4d42_4f58; // "MBOX"

/// A mailbox (`struct k_mbox`).
#[repr(C)]
#[derive(Debug)]
pub struct k_mbox {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Senders waiting for a receiver.
    pub tx_msg_queue: _wait_q_t,
    /// Receivers waiting for a sender.
    pub rx_msg_queue: _wait_q_t,
    /// Senders whose message a receiver took, waiting for it to take the data (Zephyr keeps
    /// them pending on no queue).
    pub zsim_sync_q: _wait_q_t,
}

impl k_mbox {
    /// A mailbox not yet initialised (`k_mbox_init` it).
    pub const fn new() -> Self {
        Self {
            _sim: z_sim_obj::UNINIT,
            tx_msg_queue: _wait_q_t::EMPTY,
            rx_msg_queue: _wait_q_t::EMPTY,
            zsim_sync_q: _wait_q_t::EMPTY,
        }
    }
}

/// A statically initialised mailbox (`Z_MBOX_INITIALIZER`, what `K_MBOX_DEFINE` expands to).
pub const fn Z_MBOX_INITIALIZER() -> k_mbox {
    let mut m = k_mbox::new();
    m._sim = z_sim_obj::statically(Z_SIM_MBOX);
    m
}

/// `k_stack::flags`: the buffer came from `k_stack_alloc_init` (`K_STACK_FLAG_ALLOC`).
pub const K_STACK_FLAG_ALLOC: u8 = 1 << 0;
/// `k_pipe::flags`: the buffer came from `k_pipe_alloc_init` (`K_PIPE_FLAG_ALLOC`).
pub const K_PIPE_FLAG_ALLOC: u8 = 1 << 0;

/// A stack of pointer-sized values (`struct k_stack`).
#[repr(C)]
#[derive(Debug)]
pub struct k_stack {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Threads waiting in `k_stack_pop`.
    pub wait_q: _wait_q_t,
    /// First entry of the buffer.
    pub base: *mut stack_data_t,
    /// Next free entry.
    pub next: *mut stack_data_t,
    /// One past the last entry.
    pub top: *mut stack_data_t,
    /// [`K_STACK_FLAG_ALLOC`].
    pub flags: u8,
}

/// A slab of fixed-size blocks (`struct k_mem_slab`).
#[repr(C)]
#[derive(Debug)]
pub struct k_mem_slab {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Threads waiting in `k_mem_slab_alloc`.
    pub wait_q: _wait_q_t,
    /// Blocks in the buffer.
    pub num_blocks: u32,
    /// Bytes per block.
    pub block_size: usize,
    /// The blocks.
    pub buffer: *mut c_char,
    /// First free block (each free block's first word links to the next), or null.
    pub free_list: *mut c_char,
    /// Blocks allocated.
    pub num_used: u32,
    /// Most blocks ever allocated at once (`CONFIG_MEM_SLAB_TRACE_MAX_UTILIZATION`).
    pub max_used: u32,
    /// Statically initialised, free list not yet built (simulator).
    pub zsim_unbuilt: bool,
}

/// A heap threads may wait on (`struct k_heap`): the simulator's allocator keeps its
/// bookkeeping in the heap's memory, as Zephyr's `sys_heap` does.
#[repr(C)]
#[derive(Debug)]
pub struct k_heap {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// Threads waiting in `k_heap_alloc` for a free.
    pub wait_q: _wait_q_t,
    /// The memory given to `k_heap_init` (`heap.init_mem`).
    pub init_mem: *mut c_void,
    /// Its size (`heap.init_bytes`).
    pub init_bytes: usize,
    /// Statically initialised, allocator not yet set up (simulator).
    pub zsim_unbuilt: bool,
}

/// The two wait queues of a pipe (`k_pipe::wait_q`).
#[repr(C)]
#[derive(Debug)]
pub struct k_pipe_wait_q {
    /// Threads waiting in `k_pipe_put`.
    pub writers: _wait_q_t,
    /// Threads waiting in `k_pipe_get`.
    pub readers: _wait_q_t,
}

/// A byte pipe with a ring buffer (`struct k_pipe`).
#[repr(C)]
#[derive(Debug)]
pub struct k_pipe {
    /// Simulator header.
    pub _sim: z_sim_obj,
    /// The ring buffer, or null.
    pub buffer: *mut c_uchar,
    /// Its size in bytes.
    pub size: usize,
    /// Bytes in the buffer.
    pub bytes_used: usize,
    /// Where the next read starts.
    pub read_index: usize,
    /// Where the next write starts.
    pub write_index: usize,
    /// Waiting writers and readers.
    pub wait_q: k_pipe_wait_q,
    /// [`K_PIPE_FLAG_ALLOC`].
    pub flags: u8,
}

impl k_stack {
    /// A stack not yet initialised (`k_stack_init` it).
    pub const fn new() -> Self {
        Self {
            _sim: z_sim_obj::UNINIT,
            wait_q: _wait_q_t::EMPTY,
            base: core::ptr::null_mut(),
            next: core::ptr::null_mut(),
            top: core::ptr::null_mut(),
            flags: 0,
        }
    }
}

impl k_mem_slab {
    /// A slab not yet initialised (`k_mem_slab_init` it).
    pub const fn new() -> Self {
        Self {
            _sim: z_sim_obj::UNINIT,
            wait_q: _wait_q_t::EMPTY,
            num_blocks: 0,
            block_size: 0,
            buffer: core::ptr::null_mut(),
            free_list: core::ptr::null_mut(),
            num_used: 0,
            max_used: 0,
            zsim_unbuilt: false,
        }
    }
}

impl k_heap {
    /// A heap not yet initialised (`k_heap_init` it).
    pub const fn new() -> Self {
        Self {
            _sim: z_sim_obj::UNINIT,
            wait_q: _wait_q_t::EMPTY,
            init_mem: core::ptr::null_mut(),
            init_bytes: 0,
            zsim_unbuilt: false,
        }
    }
}

impl k_pipe {
    /// A pipe not yet initialised (`k_pipe_init` it).
    pub const fn new() -> Self {
        Self {
            _sim: z_sim_obj::UNINIT,
            buffer: core::ptr::null_mut(),
            size: 0,
            bytes_used: 0,
            read_index: 0,
            write_index: 0,
            wait_q: k_pipe_wait_q { writers: _wait_q_t::EMPTY, readers: _wait_q_t::EMPTY },
            flags: 0,
        }
    }
}

macro_rules! defaults {
    ($($ty:ident),*) => {$(
        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }
    )*};
}
defaults!(k_stack, k_mem_slab, k_heap, k_pipe, k_mbox);

/// A statically initialised queue (`Z_QUEUE_INITIALIZER`, what `K_QUEUE_DEFINE` expands to).
pub const fn Z_QUEUE_INITIALIZER() -> k_queue {
    let mut q = k_queue::new();
    q._sim = z_sim_obj::statically(Z_SIM_QUEUE);
    q
}

/// A statically initialised FIFO (`Z_FIFO_INITIALIZER`, what `K_FIFO_DEFINE` expands to).
pub const fn Z_FIFO_INITIALIZER() -> k_queue {
    Z_QUEUE_INITIALIZER()
}

/// A statically initialised LIFO (`Z_LIFO_INITIALIZER`, what `K_LIFO_DEFINE` expands to).
pub const fn Z_LIFO_INITIALIZER() -> k_queue {
    Z_QUEUE_INITIALIZER()
}

/// A statically initialised message queue on `buffer` (`msg_size * max_msgs` bytes)
/// (`Z_MSGQ_INITIALIZER`, what `K_MSGQ_DEFINE` expands to).
pub const fn Z_MSGQ_INITIALIZER(buffer: *mut c_char, msg_size: usize, max_msgs: u32) -> k_msgq {
    let mut q = k_msgq::new();
    q._sim = z_sim_obj::statically(Z_SIM_MSGQ);
    q.msg_size = msg_size;
    q.max_msgs = max_msgs;
    q.buffer_start = buffer;
    q.buffer_end = buffer.wrapping_add(msg_size * max_msgs as usize);
    q.read_ptr = buffer;
    q.write_ptr = buffer;
    q
}

/// A statically initialised stack of `num_entries` values on `buffer` (`Z_STACK_INITIALIZER`,
/// what `K_STACK_DEFINE` expands to).
pub const fn Z_STACK_INITIALIZER(buffer: *mut stack_data_t, num_entries: u32) -> k_stack {
    let mut s = k_stack::new();
    s._sim = z_sim_obj::statically(Z_SIM_STACK);
    s.base = buffer;
    s.next = buffer;
    s.top = buffer.wrapping_add(num_entries as usize);
    s
}

/// A statically initialised slab (`Z_MEM_SLAB_INITIALIZER`, what `K_MEM_SLAB_DEFINE` expands
/// to); its free list is built at its first use.
pub const fn Z_MEM_SLAB_INITIALIZER(
    buffer: *mut c_char,
    block_size: usize,
    num_blocks: u32,
) -> k_mem_slab {
    let mut s = k_mem_slab::new();
    s._sim = z_sim_obj::statically(Z_SIM_MEM_SLAB);
    s.buffer = buffer;
    s.block_size = block_size;
    s.num_blocks = num_blocks;
    s.zsim_unbuilt = true;
    s
}

/// A statically initialised heap on `bytes` bytes at `mem` (what `K_HEAP_DEFINE` expands to);
/// set up at its first use.
pub const fn Z_HEAP_INITIALIZER(mem: *mut c_void, bytes: usize) -> k_heap {
    let mut h = k_heap::new();
    h._sim = z_sim_obj::statically(Z_SIM_HEAP);
    h.init_mem = mem;
    h.init_bytes = bytes;
    h.zsim_unbuilt = true;
    h
}

/// A statically initialised pipe on `size` bytes at `buffer` (`Z_PIPE_INITIALIZER`, what
/// `K_PIPE_DEFINE` expands to).
pub const fn Z_PIPE_INITIALIZER(buffer: *mut c_uchar, size: usize) -> k_pipe {
    let mut p = k_pipe::new();
    p._sim = z_sim_obj::statically(Z_SIM_PIPE);
    p.buffer = buffer;
    p.size = size;
    p
}
