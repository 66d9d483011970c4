//! Kernel memory: fixed-size blocks ([`MemSlab`], on `k_mem_slab`), a heap threads can wait on
//! ([`Heap`], on `k_heap`), and the system heap as a Rust allocator ([`KernelAllocator`], on
//! `k_aligned_alloc`/`k_free`).
//!
//! Allocations that do not fit wait up to their timeout: a slab hands a freed block straight to
//! the most urgent waiter (kernel/mem_slab.c); a heap wakes every waiter at each free and each
//! tries again (kernel/kheap.c). Frees are allowed in interrupt handlers, and so are
//! allocations with `NoWait`.
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::sys::memory::{Heap, MemSlab};
//! use zephyr::time::{Duration, NoWait};
//!
//! static PACKETS: MemSlab<[u8; 60], 4> = MemSlab::new();
//! static SCRATCH: Heap<1024> = Heap::new();
//!
//! let mut packet = PACKETS.alloc(NoWait).unwrap();
//! packet.write([0; 60]);
//! drop(packet); // back to the slab (or to a thread waiting for a block)
//!
//! let layout = core::alloc::Layout::from_size_align(100, 8).unwrap();
//! let p = SCRATCH.alloc(layout, Duration::from_millis(10)).unwrap();
//! // SAFETY: `p` came from this heap and is not used after.
//! unsafe { SCRATCH.free(p) };
//! ```

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use zephyr_sys::{
    k_aligned_alloc, k_free, k_heap, k_heap_aligned_alloc, k_heap_free, k_heap_init, k_mem_slab,
    k_mem_slab_alloc, k_mem_slab_free, k_mem_slab_init, k_mem_slab_num_free_get,
    k_mem_slab_num_used_get, K_NO_WAIT,
};

use super::once::InitOnce;
use crate::error::{to_result_void, Error, Result};
use crate::object::KObj;
use crate::thread::assert_may_block;
use crate::time::Timeout;

/// One block of a [`MemSlab`]: room for a `T`, or the kernel's free-list link (so at least a
/// pointer, and a multiple of its size, as `k_mem_slab_init` requires).
#[repr(C)]
union Slot<T> {
    value: ManuallyDrop<MaybeUninit<T>>,
    link: *mut c_void,
}

/// `N` blocks, each holding a `T` (`k_mem_slab`, `K_MEM_SLAB_DEFINE`); usable in a `static`.
///
/// A block comes as a [`Block`], uninitialised memory for a `T` that returns to the slab when
/// dropped (without dropping a `T` in it: the slab hands out memory, not values).
pub struct MemSlab<T, const N: usize> {
    item: KObj<k_mem_slab>,
    blocks: UnsafeCell<[MaybeUninit<Slot<T>>; N]>,
    init: InitOnce,
}

// SAFETY: the kernel serialises the slab; a block is owned by one `Block` at a time.
unsafe impl<T: Send, const N: usize> Sync for MemSlab<T, N> {}

impl<T, const N: usize> MemSlab<T, N> {
    /// A slab with every block free, initialised (`k_mem_slab_init`) at its first use.
    pub const fn new() -> Self {
        Self {
            item: KObj::new(k_mem_slab::new()),
            blocks: UnsafeCell::new([const { MaybeUninit::uninit() }; N]),
            init: InitOnce::new(),
        }
    }

    fn raw(&self) -> *mut k_mem_slab {
        let slab = self.item.get();
        let buffer = self.blocks.get() as *mut c_void;
        // SAFETY: the slab and its blocks live in `self`, which stays put from now on (checked
        // by the `KObj`); `Slot` is pointer-aligned and a multiple of a pointer in size.
        self.init.call(|| unsafe {
            let rc = k_mem_slab_init(slab, buffer, core::mem::size_of::<Slot<T>>(), N as u32);
            debug_assert_eq!(rc, 0);
        });
        slab
    }

    /// Takes a free block, waiting up to `timeout` for one (`k_mem_slab_alloc`).
    ///
    /// # Errors
    /// [`Error::ENOMEM`] when none is free with `NoWait`; [`Error::EAGAIN`] on timeout.
    ///
    /// # Panics
    /// Waiting in an interrupt handler; if the slab moved since its first use.
    pub fn alloc<W: Into<Timeout>>(&self, timeout: W) -> Result<Block<'_, T, N>> {
        let timeout: Timeout = timeout.into();
        if !timeout.is_no_wait() {
            assert_may_block("MemSlab::alloc");
        }
        let mut mem = core::ptr::null_mut();
        // SAFETY: an initialised slab at a fixed address; blocking only in thread context.
        to_result_void(unsafe { k_mem_slab_alloc(self.raw(), &mut mem, timeout.0) })?;
        let ptr = NonNull::new(mem.cast::<MaybeUninit<T>>()).ok_or(Error::ENOMEM)?;
        Ok(Block { slab: self, ptr, _owns: PhantomData })
    }

    /// Blocks in use (`k_mem_slab_num_used_get`).
    pub fn used(&self) -> u32 {
        // SAFETY: an initialised slab at a fixed address.
        unsafe { k_mem_slab_num_used_get(self.raw()) }
    }

    /// Blocks free (`k_mem_slab_num_free_get`).
    pub fn free(&self) -> u32 {
        // SAFETY: as above.
        unsafe { k_mem_slab_num_free_get(self.raw()) }
    }
}

impl<T, const N: usize> Default for MemSlab<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A block of a [`MemSlab`]: uninitialised memory for a `T`, freed (`k_mem_slab_free`) when
/// dropped. Dropping it does not drop a `T` written into it.
pub struct Block<'a, T, const N: usize> {
    slab: &'a MemSlab<T, N>,
    ptr: NonNull<MaybeUninit<T>>,
    _owns: PhantomData<&'a mut MaybeUninit<T>>,
}

impl<T, const N: usize> Deref for Block<'_, T, N> {
    type Target = MaybeUninit<T>;
    fn deref(&self) -> &MaybeUninit<T> {
        // SAFETY: the block is this `Block`'s alone until it is dropped.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T, const N: usize> DerefMut for Block<'_, T, N> {
    fn deref_mut(&mut self) -> &mut MaybeUninit<T> {
        // SAFETY: as above.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T, const N: usize> Drop for Block<'_, T, N> {
    fn drop(&mut self) {
        let mut mem = self.ptr.as_ptr().cast::<c_void>();
        // SAFETY: the block came from this slab and is no longer used; k_mem_slab_free is
        // ISR-safe and never blocks.
        unsafe { k_mem_slab_free(self.slab.raw(), &mut mem) };
    }
}

/// Memory for a heap, aligned for any allocation's bookkeeping.
#[repr(C, align(16))]
struct HeapMemory<const N: usize>([MaybeUninit<u8>; N]);

/// A heap of `N` bytes threads can wait on (`k_heap`, `K_HEAP_DEFINE`); usable in a `static`.
/// Part of the memory holds the allocator's bookkeeping.
///
/// It is also a [`GlobalAlloc`] (allocations never wait there), so a `static Heap` can be a
/// program's `#[global_allocator]`.
pub struct Heap<const N: usize> {
    item: KObj<k_heap>,
    memory: UnsafeCell<HeapMemory<N>>,
    init: InitOnce,
}

// SAFETY: the kernel serialises the heap.
unsafe impl<const N: usize> Sync for Heap<N> {}

impl<const N: usize> Heap<N> {
    /// An empty heap, initialised (`k_heap_init`) at its first use.
    pub const fn new() -> Self {
        Self {
            item: KObj::new(k_heap::new()),
            memory: UnsafeCell::new(HeapMemory([MaybeUninit::uninit(); N])),
            init: InitOnce::new(),
        }
    }

    fn raw(&self) -> *mut k_heap {
        let heap = self.item.get();
        let mem = self.memory.get() as *mut c_void;
        // SAFETY: the heap and its memory live in `self`, which stays put from now on.
        self.init.call(|| unsafe { k_heap_init(heap, mem, N) });
        heap
    }

    /// Allocates memory for `layout`, waiting up to `timeout` for frees to make room
    /// (`k_heap_aligned_alloc`).
    ///
    /// # Errors
    /// [`Error::ENOMEM`] when it does not fit in time.
    ///
    /// # Panics
    /// Waiting in an interrupt handler; if the heap moved since its first use.
    pub fn alloc<W: Into<Timeout>>(&self, layout: Layout, timeout: W) -> Result<NonNull<u8>> {
        let timeout: Timeout = timeout.into();
        if !timeout.is_no_wait() {
            assert_may_block("Heap::alloc");
        }
        let align = layout.align().max(core::mem::size_of::<*mut c_void>());
        // SAFETY: an initialised heap at a fixed address; blocking only in thread context.
        let p = unsafe { k_heap_aligned_alloc(self.raw(), align, layout.size(), timeout.0) };
        NonNull::new(p.cast()).ok_or(Error::ENOMEM)
    }

    /// Frees memory of this heap (`k_heap_free`), waking the threads waiting to allocate.
    ///
    /// # Safety
    /// `ptr` must come from [`alloc`](Self::alloc) on this heap and not be used after.
    pub unsafe fn free(&self, ptr: NonNull<u8>) {
        // SAFETY: the caller's contract; k_heap_free is ISR-safe.
        unsafe { k_heap_free(self.raw(), ptr.as_ptr().cast()) }
    }
}

impl<const N: usize> Default for Heap<N> {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: k_heap_aligned_alloc returns memory of at least `size` bytes aligned as asked (a
// power of two, at least a pointer), or null; `dealloc` gives back exactly that memory.
unsafe impl<const N: usize> GlobalAlloc for Heap<N> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align().max(core::mem::size_of::<*mut c_void>());
        // SAFETY: an initialised heap; K_NO_WAIT never blocks.
        unsafe { k_heap_aligned_alloc(self.raw(), align, layout.size(), K_NO_WAIT).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above.
        unsafe { k_heap_free(self.raw(), ptr.cast()) }
    }
}

/// The system heap (`CONFIG_HEAP_MEM_POOL_SIZE` bytes) as a Rust allocator:
/// `k_aligned_alloc`/`k_free`. Out of memory is a null pointer, which Rust's `alloc` turns into
/// its allocation-error handler.
///
/// On real Zephyr this crate installs it as the `#[global_allocator]` itself; elsewhere a
/// program may (`#[global_allocator] static A: KernelAllocator = KernelAllocator;`).
///
/// ```no_run
/// # use zephyr_sim as _;
/// use core::alloc::{GlobalAlloc, Layout};
/// use zephyr::sys::memory::KernelAllocator;
///
/// let layout = Layout::new::<[u32; 16]>();
/// // SAFETY: a non-zero-sized layout; the memory goes back with the same layout.
/// unsafe {
///     let p = KernelAllocator.alloc(layout);
///     assert!(!p.is_null());
///     KernelAllocator.dealloc(p, layout);
/// }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelAllocator;

// SAFETY: k_aligned_alloc returns memory of at least `size` bytes aligned to `align` (a power of
// two and a multiple of the pointer size, which the max below ensures), or null; k_free takes
// back exactly what it returned. Both are thread- and ISR-safe.
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align().max(core::mem::size_of::<*const c_void>());
        // SAFETY: see the impl's comment.
        unsafe { k_aligned_alloc(align, layout.size()).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above.
        unsafe { k_free(ptr.cast()) }
    }
}
