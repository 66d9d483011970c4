//! Host-side conveniences for tests, benchmarks and demos: Zephyr threads that run Rust
//! closures. Not Zephyr API (an application on a board would use `zephyr::thread`).

use std::ffi::{c_void, CString};

use zephyr_sys::*;

unsafe extern "C-unwind" fn run_closure(p1: *mut c_void, _: *mut c_void, _: *mut c_void) {
    // SAFETY: `p1` is the Box made by `spawn_thread`, handed over exactly once.
    let f = unsafe { Box::from_raw(p1 as *mut Box<dyn FnOnce()>) };
    f()
}

/// Creates a thread named `name` at `prio` that runs `f`, and starts it now (`k_thread_create`
/// with `K_FOREVER`, `k_thread_name_set`, `k_thread_start`: a more urgent thread runs before
/// this returns). Its `k_thread` is leaked, so it never moves.
///
/// # Panics
/// Outside a simulation, or with an invalid priority (as `k_thread_create`).
pub fn spawn_thread(name: &str, prio: i32, f: impl FnOnce() + 'static) -> k_tid_t {
    let thread: &'static mut k_thread = Box::leak(Box::new(k_thread::new()));
    let f: Box<Box<dyn FnOnce()>> = Box::new(Box::new(f));
    let name = CString::new(name).expect("thread name without NUL");
    // SAFETY: the thread object is leaked (never moves); `run_closure` takes the closure once.
    unsafe {
        let tid = k_thread_create(
            thread,
            std::ptr::null_mut(),
            0,
            Some(run_closure),
            Box::into_raw(f) as *mut c_void,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            prio,
            0,
            K_FOREVER,
        );
        k_thread_name_set(tid, name.as_ptr());
        k_thread_start(tid);
        tid
    }
}
