//! A kernel object's `k_*_init` call made once per boot, at its first use.

use core::sync::atomic::{AtomicBool, Ordering};

/// Runs an initialisation once per boot (per simulation on the simulator), under `irq_lock`.
pub(crate) struct InitOnce {
    done: AtomicBool,
}

impl InitOnce {
    /// Not yet run.
    pub(crate) const fn new() -> Self {
        Self { done: AtomicBool::new(false) }
    }

    /// Runs `init` if it has not run in this boot.
    pub(crate) fn call(&self, init: impl FnOnce()) {
        let flag = crate::object::boot_flag(self as *const Self as *const (), &self.done);
        if !flag.load(Ordering::Acquire) {
            let _lock = crate::sys::irq::IrqLock::new();
            if !flag.load(Ordering::Relaxed) {
                init();
                flag.store(true, Ordering::Release);
            }
        }
    }
}
