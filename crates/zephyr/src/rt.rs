//! The runtime a Rust program needs on real Zephyr: a panic handler and a global allocator.
//!
//! Present only when `zephyr-sys` was built for a real kernel (by the Zephyr module's
//! `rust_cargo_application()`); on the simulator, the host's `std` provides both.
//!
//! * A panic prints its message through `printk` and ends the system with `k_panic()`, a fatal
//!   error (as a C `__ASSERT` or `k_panic` would): the fault handler reports it and the kernel
//!   halts (or reboots, per the board's `k_sys_fatal_error_handler`).
//! * Allocations (`alloc::boxed::Box`, `kio` tasks) come from the kernel heap with
//!   `k_aligned_alloc`/`k_free`, sized by `CONFIG_HEAP_MEM_POOL_SIZE`; out of memory is a null
//!   pointer, which Rust's `alloc` turns into its allocation-error handler (a panic).

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    zephyr_sys::printk!("rust panic: {}\n", info);
    // SAFETY: k_panic has no preconditions; it does not return.
    unsafe { zephyr_sys::k_panic() }
}

/// The kernel heap (`k_aligned_alloc` / `k_free`) as Rust's global allocator.
struct KernelHeap;

// SAFETY: k_aligned_alloc returns memory of at least `size` bytes aligned to `align` (a power of
// two and a multiple of the pointer size, which the max below ensures), or null; k_free takes
// back exactly what it returned.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align().max(core::mem::size_of::<*const c_void>());
        // SAFETY: see the impl's comment; the heap is thread- and ISR-safe.
        unsafe { zephyr_sys::k_aligned_alloc(align, layout.size()) as *mut u8 }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above.
        unsafe { zephyr_sys::k_free(ptr as *mut c_void) }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap;
