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

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    zephyr_sys::printk!("rust panic: {}\n", info);
    // SAFETY: k_panic has no preconditions; it does not return.
    unsafe { zephyr_sys::k_panic() }
}

/// The kernel heap (`k_aligned_alloc` / `k_free`) as Rust's global allocator.
#[global_allocator]
static HEAP: crate::sys::memory::KernelAllocator = crate::sys::memory::KernelAllocator;
