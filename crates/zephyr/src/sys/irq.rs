//! Interrupt locking: `irq_lock` as a guard.

/// Interrupts locked for the current thread until dropped (`irq_lock`/`irq_unlock`).
///
/// The lock belongs to the thread: if it blocks, others run with interrupts enabled, and the
/// lock is back when it resumes. Nests; guards must be dropped in reverse order.
pub struct IrqLock {
    key: u32,
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl IrqLock {
    /// Locks interrupts.
    pub fn new() -> Self {
        // SAFETY: irq_lock has no preconditions.
        Self { key: unsafe { zephyr_sys::irq_lock() }, _not_send: core::marker::PhantomData }
    }
}

impl Default for IrqLock {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for IrqLock {
    fn drop(&mut self) {
        // SAFETY: the key came from this guard's irq_lock.
        unsafe { zephyr_sys::irq_unlock(self.key) }
    }
}
