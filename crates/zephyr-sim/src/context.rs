//! A simulated thread's execution context, and the switch from one context to another.
//!
//! Each simulated thread runs on a host stack of its own (corosensei's `DefaultStack`: an
//! mmap with a guard page below it). A context that is not running is its saved stack
//! pointer: the callee-saved registers are pushed on its own stack. [`switch`] saves the
//! running code's registers on its stack, records that stack pointer, loads another
//! context's and pops its registers: a *symmetric* switch, from any context straight to
//! any other, as `z_swap` goes from the outgoing thread to the incoming one on a real CPU
//! (arch/arm/core/aarch32/swap_helper.S saves r4-r11 on the outgoing stack and restores
//! the incoming thread's). A thread switch is one stack switch, with no trip through the
//! scheduler's stack.
//!
//! The scheduler loop ([`crate::switch::run_scheduler`]) is a context too: the one the
//! host thread that called [`crate::Sim::run`] was already running, saved in `SCHEDULER`
//! while a simulated thread runs. A thread switches to it when the scheduler must decide,
//! and when it stops: its body returned or panicked ([`Stop::Ended`]), it ended itself
//! ([`Stop::Exit`]), or a host signal abandoned it where it was ([`crate::signals`]: a
//! stack overflow, or the watchdog's stop), by making the CPU continue in `arch::restore` on
//! the scheduler's saved stack pointer, as if its [`switch`] had returned.
//!
//! What a context is resumed with travels in a register ([`switch`]'s return value): the
//! blocking call's result for a thread ([`crate::switch::Resume`]), why the thread stopped
//! for the scheduler ([`Stop`], with the thread's slot).
//!
//! The registers saved are those the C ABI makes callee-saved: rbx, rbp, r12-r15 on x86_64
//! (System V); x19-x29, the link register and d8-d15 on aarch64. Unix hosts only: Windows'
//! x64 convention also keeps rsi, rdi and xmm6-xmm15, which this switch does not save, so
//! other hosts fail to compile with a message saying so. The x87 control word and
//! MXCSR, also callee-saved on x86_64, are not: Rust code does not change them.
//!
//! # Blocking entries
//! A switch lands in the middle of the other thread's call chain. Below the kernel call both
//! chains run the same code, so the CPU's return-address predictor, which remembers the calls
//! of the thread that switched away, still predicts every return up to the kernel call
//! itself; the return from the call into its caller would go where the *other* thread's call
//! came from: one mispredicted return per switch when two threads block from different
//! places, about 7 ns on the 2-core VM the simulator bench runs on, where a `k_sem` round trip
//! (two switches) takes ~56 ns. A call that may block is therefore declared a *blocking entry*
//! ([`blocking_entry!`]): a few instructions of assembly call the call's Rust body and return
//! to the caller with an indirect jump instead of a return, which the CPU predicts from the
//! branch history (that tells the threads apart). The entry has call frame information, so a
//! panic in the body unwinds through it to the caller as through any function.
//!
//! Panics never cross a switch: a thread's body runs under `catch_unwind` at the base of
//! its stack ([`thread_main`]), whose caller, the start trampoline, has a zero return
//! address, where unwinders (backtraces) stop.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use corosensei::stack::{DefaultStack, Stack};

/// The reason a thread gave the CPU to the scheduler's context, the low byte of the word the
/// scheduler's [`switch`] returns (the thread's slot is above it: [`Stop::decode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Stop {
    /// The thread is suspended and the scheduler must choose what runs next.
    Reschedule = 0,
    /// The thread is dead and its frames are abandoned ([`crate::switch::exit_current`]).
    Exit = 1,
    /// The thread's body returned or panicked: [`Context::take_end`] says which.
    Ended = 2,
    /// The thread touched its stack's guard page ([`crate::signals`]).
    StackOverflow = 3,
    /// The watchdog stopped the thread spinning without kernel calls ([`crate::signals`]).
    Stalled = 4,
}

impl Stop {
    /// The word a context switches to the scheduler with: this reason, for thread `slot`.
    pub fn encode(self, slot: u32) -> usize {
        self as usize | (slot as usize) << 8
    }

    /// The reason and the thread's slot in a word [`Self::encode`] made.
    pub fn decode(word: usize) -> (Stop, u32) {
        let stop = match word & 0xff {
            0 => Stop::Reschedule,
            1 => Stop::Exit,
            2 => Stop::Ended,
            3 => Stop::StackOverflow,
            4 => Stop::Stalled,
            other => unreachable!("simulator bug: stop code {other}"),
        };
        (stop, (word >> 8) as u32)
    }
}

/// How a thread's body ended, kept in its context until the scheduler reads it.
pub enum BodyEnd {
    /// It returned.
    Returned,
    /// It panicked with this payload.
    Panicked(Box<dyn Any + Send>),
}

/// A simulated thread's execution context: its stack and its body until it first runs. Its
/// stack pointer, while it does not run, is saved in the kernel's thread table
/// (`crate::kernel::Thread::sp`), where the thread that switches to it reads it.
pub struct Context {
    /// The host stack the thread runs on.
    stack: DefaultStack,
    /// The body, taken when the thread first runs.
    body: Cell<Option<Box<dyn FnOnce()>>>,
    /// How the body ended, once it did.
    end: Cell<Option<BodyEnd>>,
    /// The thread's slot in the kernel's thread table.
    slot: u32,
}

/// An owned, heap-allocated [`Context`] at a fixed address (`RUNNING` and the signal handlers
/// refer to it through a raw pointer while its thread runs).
pub struct ContextBox(NonNull<Context>);

impl Drop for ContextBox {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` in `ContextBox::new` and is freed only
        // here. A context is dropped only when its thread never runs again (retired, or the
        // simulation is over), so its stack holds no live frame anyone will return to: its
        // frames are forgotten without running their destructors (leaking is safe).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl std::ops::Deref for ContextBox {
    type Target = Context;

    fn deref(&self) -> &Context {
        // SAFETY: the allocation is ours and live; what a switch changes behind a shared
        // reference is in `Cell`s.
        unsafe { self.0.as_ref() }
    }
}

impl ContextBox {
    /// A context that runs `body` as thread `slot` on `stack` when first switched to, and the
    /// stack pointer of its initial frame (what a [`switch`] to it starts from).
    pub fn new(stack: DefaultStack, slot: u32, body: Box<dyn FnOnce()>) -> (Self, usize) {
        let context =
            Box::new(Context { stack, body: Cell::new(Some(body)), end: Cell::new(None), slot });
        let ptr = Box::into_raw(context);
        // SAFETY: `ptr` is a fresh allocation; the stack is writable from its limit's guard
        // page up to its base, and the initial frame is a few words below the base.
        let sp = unsafe { arch::initial_frame((*ptr).stack.base().get(), ptr) };
        // SAFETY: `Box::into_raw` never returns null.
        (ContextBox(unsafe { NonNull::new_unchecked(ptr) }), sp)
    }

    /// Frees the context, returning its stack for reuse.
    pub fn into_stack(self) -> DefaultStack {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        // SAFETY: as in `drop`: the pointer is ours, and the thread never runs again.
        let context = unsafe { Box::from_raw(ptr) };
        context.stack
    }
}

impl Context {
    /// The thread's slot.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// The address range of the stack's mapping, its guard page included: `[limit, base)`.
    pub fn stack_bounds(&self) -> (usize, usize) {
        (self.stack.limit().get(), self.stack.base().get())
    }

    /// How the body ended (once, after [`Stop::Ended`]).
    pub fn take_end(&self) -> Option<BodyEnd> {
        self.end.take()
    }
}

thread_local! {
    /// The context running on this host thread (null: the scheduler's). Set by each context
    /// as it resumes; read by the signal handlers (a `const` thread-local `Cell`, so
    /// async-signal-safe).
    static RUNNING: Cell<*const Context> = const { Cell::new(std::ptr::null()) };
    /// The scheduler's saved stack pointer while a simulated thread runs.
    static SCHEDULER: Cell<usize> = const { Cell::new(0) };
    /// Where a context that never runs again (its thread ended) saves its stack pointer.
    static DISCARDED: Cell<usize> = const { Cell::new(0) };
}

/// The context running on this host thread, null on the scheduler's.
pub fn running() -> *const Context {
    RUNNING.get()
}

/// Records that `context` runs now (null: the scheduler). Each context calls this first
/// thing when resumed, so a signal that arrives in the middle of a switch sees the context
/// whose stack the CPU is still on, or no stack it claims (the handlers check the stack
/// pointer against the context's stack).
#[inline(always)]
pub fn set_running(context: *const Context) {
    RUNNING.set(context);
}

/// The scheduler's saved stack pointer (for the signal handlers' redirect, `arch::restore`).
pub fn scheduler_sp() -> usize {
    SCHEDULER.get()
}

/// Where the scheduler's stack pointer is saved while a simulated thread runs ([`switch`]'s
/// `to` for a switch to the scheduler).
#[inline(always)]
pub fn scheduler_sp_slot() -> *mut usize {
    SCHEDULER.with(|s| s.as_ptr())
}

/// Where a thread that ends switches away for good saves its stack pointer ([`switch`]'s
/// `save`): nothing reads it.
#[inline(always)]
pub fn discarded_sp_slot() -> *mut usize {
    DISCARDED.with(|s| s.as_ptr())
}

/// Switches from the scheduler's context to a thread context, whose saved stack pointer is
/// `to`, passing `value`; returns when a thread switches back to the scheduler, with its
/// [`Stop::encode`] word.
///
/// # Safety
/// Called on the scheduler's stack (no simulated thread running); `to` is the saved stack
/// pointer of a live context that is not running and whose thread may run now.
pub unsafe fn resume_from_scheduler(to: usize, value: usize) -> usize {
    // SAFETY: the caller's duty; the scheduler's stack pointer is saved in this host thread's
    // `SCHEDULER` cell, which lives as long as the thread.
    let word = unsafe { arch::switch(scheduler_sp_slot(), to, value) };
    set_running(std::ptr::null());
    word
}

/// Switches from the running thread context `from`, saving its stack pointer at `save` (its
/// entry in the thread table, or [`discarded_sp_slot`] when it never runs again), to the
/// context whose stack pointer is saved at `to` (a thread's entry in the table, or the
/// scheduler's, [`scheduler_sp_slot`]), passing `value`; returns when a context switches back
/// to `from`, with what it passed.
///
/// # Safety
/// `from` must be the running context (the caller is on its stack); `save` must be writable;
/// `to` must hold the saved stack pointer of a live context that is not running; no kernel
/// borrow may be held.
#[inline(always)]
pub unsafe fn switch(from: *mut Context, save: *mut usize, to: *mut usize, value: usize) -> usize {
    // SAFETY: the caller's duty: `save` is written as the running context stops, `to` is read
    // while its context does not run.
    let word = unsafe { arch::switch(save, *to, value) };
    set_running(from);
    word
}

/// The first code a thread context runs, on its own stack, called by the start trampoline
/// (the value it was first switched to with is not needed: a thread that has not run has no
/// blocking call to return from): runs the body under `catch_unwind`, then switches to the
/// scheduler for good.
extern "C" fn thread_main(context: *mut Context) -> ! {
    set_running(context);
    // SAFETY: the trampoline passes the context whose initial frame it runs on, live while
    // its thread runs.
    let body = unsafe { (*context).body.take() }.expect("a thread context started twice");
    let end = match catch_unwind(AssertUnwindSafe(move || {
        crate::switch::thread_start();
        body()
    })) {
        Ok(()) => BodyEnd::Returned,
        Err(payload) => BodyEnd::Panicked(payload),
    };
    // SAFETY: as above.
    unsafe {
        (*context).end.set(Some(end));
        let slot = (*context).slot;
        switch(context, discarded_sp_slot(), scheduler_sp_slot(), Stop::Ended.encode(slot));
    }
    unreachable!("a thread context was resumed after its body ended");
}

#[cfg(all(unix, target_arch = "x86_64"))]
mod arch {
    use super::{thread_main, Context};

    /// Saves the callee-saved registers on the running stack, stores its stack pointer at
    /// `save`, switches to the stack `to` and restores the registers saved there (as
    /// [`restore`] does), returning `value` on that side.
    ///
    /// # Safety
    /// `to` must be a stack pointer saved by this function, or an initial frame.
    #[unsafe(naked)]
    pub unsafe extern "C" fn switch(save: *mut usize, to: usize, value: usize) -> usize {
        core::arch::naked_asm!(
            "push rbp",
            "push rbx",
            "push r12",
            "push r13",
            "push r14",
            "push r15",
            "mov [rdi], rsp",
            "mov rsp, rsi",
            "pop r15",
            "pop r14",
            "pop r13",
            "pop r12",
            "pop rbx",
            "pop rbp",
            "mov rax, rdx",
            "ret",
        )
    }

    /// A blocking entry's assembly ([`super::blocking_entry!`]): one word more on the stack
    /// aligns it for the call to `$body`, which finds the arguments in the registers they
    /// came in; its result stays in rax (and rdx, xmm0) and the entry goes back to its caller
    /// by popping the return address and jumping to it. The CFI directives describe the
    /// frame during the call, so a panic in the body unwinds to the entry's caller.
    macro_rules! entry_asm {
        ($body:path) => {
            core::arch::naked_asm!(
                ".cfi_startproc",
                "sub rsp, 8",
                ".cfi_adjust_cfa_offset 8",
                "call {body}",
                "add rsp, 8",
                ".cfi_adjust_cfa_offset -8",
                "pop rcx",
                "jmp rcx",
                ".cfi_endproc",
                body = sym $body,
            )
        };
    }
    pub(crate) use entry_asm;

    /// The second half of [`switch`], entered by a signal handler with the stack pointer set
    /// to a saved one and the value in rdx: that context's `switch` returns the value.
    ///
    /// # Safety
    /// Only entered this way, never called.
    #[unsafe(naked)]
    pub unsafe extern "C" fn restore() {
        core::arch::naked_asm!(
            "pop r15",
            "pop r14",
            "pop r13",
            "pop r12",
            "pop rbx",
            "pop rbp",
            "mov rax, rdx",
            "ret",
        )
    }

    /// Where a new context's first switch returns to: rbx holds the context. The return
    /// address above it is zero, so an unwinder walking up from `thread_main` stops here.
    #[unsafe(naked)]
    unsafe extern "C" fn start() {
        core::arch::naked_asm!(
            "mov rdi, rbx",
            "call {main}",
            "ud2",
            main = sym thread_main,
        )
    }

    /// Writes a new context's initial frame below the stack's `base`: registers for
    /// [`switch`] to pop (rbx = the context) and [`start`] as the return address, above it
    /// two zero words (where an unwinder would look for `start`'s return address). Returns
    /// the frame's stack pointer.
    ///
    /// # Safety
    /// The 80 bytes below `base` must be writable.
    pub unsafe fn initial_frame(base: usize, context: *mut Context) -> usize {
        // 16-byte aligned, with two zero words above it.
        let top = (base & !15) - 16;
        let frame = [
            0,                                        // r15
            0,                                        // r14
            0,                                        // r13
            0,                                        // r12
            context as usize,                         // rbx
            0,                                        // rbp
            start as unsafe extern "C" fn() as usize, // return address of `switch`
            0,
            0,
        ];
        let sp = top - 8 * 7;
        // SAFETY: the caller's duty. Once `switch` pops the six registers and returns into
        // `start`, rsp is `top`, 16-byte aligned, so `start`'s call enters `thread_main` with
        // rsp 8 modulo 16, as the ABI requires.
        unsafe { std::ptr::copy_nonoverlapping(frame.as_ptr(), sp as *mut usize, frame.len()) };
        sp
    }

    /// Where a signal handler redirects a thread to: the CPU continues in [`restore`] on the
    /// scheduler's stack `sp`, whose `switch` returns `value`.
    #[cfg(zsim_signals)]
    pub fn redirect(context: &mut libc::ucontext_t, sp: usize, value: usize) {
        let gregs = &mut context.uc_mcontext.gregs;
        gregs[libc::REG_RIP as usize] = restore as unsafe extern "C" fn() as usize as i64;
        gregs[libc::REG_RSP as usize] = sp as i64;
        gregs[libc::REG_RDX as usize] = value as i64;
    }

    /// The interrupted stack pointer in a signal handler's context.
    #[cfg(zsim_signals)]
    pub fn stack_pointer(context: &libc::ucontext_t) -> usize {
        context.uc_mcontext.gregs[libc::REG_RSP as usize] as usize
    }
}

#[cfg(all(unix, target_arch = "aarch64"))]
mod arch {
    use super::{thread_main, Context};

    /// Saves the callee-saved registers on the running stack, stores its stack pointer at
    /// `save`, switches to the stack `to` and restores the registers saved there (as
    /// [`restore`] does), returning `value` on that side.
    ///
    /// # Safety
    /// `to` must be a stack pointer saved by this function, or an initial frame.
    #[unsafe(naked)]
    pub unsafe extern "C" fn switch(save: *mut usize, to: usize, value: usize) -> usize {
        core::arch::naked_asm!(
            "sub sp, sp, #160",
            "stp x19, x20, [sp, #0]",
            "stp x21, x22, [sp, #16]",
            "stp x23, x24, [sp, #32]",
            "stp x25, x26, [sp, #48]",
            "stp x27, x28, [sp, #64]",
            "stp x29, x30, [sp, #80]",
            "stp d8, d9, [sp, #96]",
            "stp d10, d11, [sp, #112]",
            "stp d12, d13, [sp, #128]",
            "stp d14, d15, [sp, #144]",
            "mov x3, sp",
            "str x3, [x0]",
            "mov sp, x1",
            "ldp x19, x20, [sp, #0]",
            "ldp x21, x22, [sp, #16]",
            "ldp x23, x24, [sp, #32]",
            "ldp x25, x26, [sp, #48]",
            "ldp x27, x28, [sp, #64]",
            "ldp x29, x30, [sp, #80]",
            "ldp d8, d9, [sp, #96]",
            "ldp d10, d11, [sp, #112]",
            "ldp d12, d13, [sp, #128]",
            "ldp d14, d15, [sp, #144]",
            "add sp, sp, #160",
            "mov x0, x2",
            "ret",
        )
    }

    /// A blocking entry's assembly ([`super::blocking_entry!`]): saves the frame pointer and
    /// the link register (the caller's return address), calls `$body`, which finds the
    /// arguments in the registers they came in, and goes back to the caller with `br` (an
    /// indirect branch, not a return), the result still in x0 (and x1, d0). The CFI
    /// directives describe the frame during the call, so a panic in the body unwinds to the
    /// entry's caller.
    macro_rules! entry_asm {
        ($body:path) => {
            core::arch::naked_asm!(
                ".cfi_startproc",
                "stp x29, x30, [sp, #-16]!",
                ".cfi_def_cfa_offset 16",
                ".cfi_offset x29, -16",
                ".cfi_offset x30, -8",
                "bl {body}",
                "ldp x29, x30, [sp], #16",
                ".cfi_def_cfa_offset 0",
                ".cfi_restore x29",
                ".cfi_restore x30",
                "br x30",
                ".cfi_endproc",
                body = sym $body,
            )
        };
    }
    pub(crate) use entry_asm;

    /// The second half of [`switch`], entered by a signal handler with the stack pointer set
    /// to a saved one and the value in x2: that context's `switch` returns the value.
    ///
    /// # Safety
    /// Only entered this way, never called.
    #[unsafe(naked)]
    pub unsafe extern "C" fn restore() {
        core::arch::naked_asm!(
            "ldp x19, x20, [sp, #0]",
            "ldp x21, x22, [sp, #16]",
            "ldp x23, x24, [sp, #32]",
            "ldp x25, x26, [sp, #48]",
            "ldp x27, x28, [sp, #64]",
            "ldp x29, x30, [sp, #80]",
            "ldp d8, d9, [sp, #96]",
            "ldp d10, d11, [sp, #112]",
            "ldp d12, d13, [sp, #128]",
            "ldp d14, d15, [sp, #144]",
            "add sp, sp, #160",
            "mov x0, x2",
            "ret",
        )
    }

    /// Where a new context's first switch returns to: x19 holds the context; the frame
    /// pointer and link register are zero, so an unwinder walking up from `thread_main` stops
    /// here.
    #[unsafe(naked)]
    unsafe extern "C" fn start() {
        core::arch::naked_asm!(
            "mov x0, x19",
            "mov x30, xzr",
            "bl {main}",
            "brk #1",
            main = sym thread_main,
        )
    }

    /// Writes a new context's initial frame below the stack's `base`: registers for
    /// [`switch`] to restore (x19 = the context, x29 = 0, x30 = [`start`]), with two zero
    /// words above it. Returns the frame's stack pointer.
    ///
    /// # Safety
    /// The 176 bytes below `base` must be writable.
    pub unsafe fn initial_frame(base: usize, context: *mut Context) -> usize {
        let top = (base & !15) - 16;
        let mut frame = [0usize; 22];
        frame[0] = context as usize; // x19
        frame[11] = start as unsafe extern "C" fn() as usize; // x30
        let sp = top - 8 * 20;
        // SAFETY: the caller's duty; `sp` is 16-byte aligned, as aarch64 requires.
        unsafe { std::ptr::copy_nonoverlapping(frame.as_ptr(), sp as *mut usize, frame.len()) };
        sp
    }

    /// Where a signal handler redirects a thread to: the CPU continues in [`restore`] on the
    /// scheduler's stack `sp`, whose `switch` returns `value`.
    #[cfg(zsim_signals)]
    pub fn redirect(context: &mut libc::ucontext_t, sp: usize, value: usize) {
        let m = &mut context.uc_mcontext;
        m.pc = restore as unsafe extern "C" fn() as usize as u64;
        m.sp = sp as u64;
        m.regs[2] = value as u64;
    }

    /// The interrupted stack pointer in a signal handler's context.
    #[cfg(zsim_signals)]
    pub fn stack_pointer(context: &libc::ucontext_t) -> usize {
        context.uc_mcontext.sp as usize
    }
}

#[cfg(not(all(unix, any(target_arch = "x86_64", target_arch = "aarch64"))))]
compile_error!(
    "zephyr-sim switches simulated threads' stacks with assembly written for the C calling \
     convention of x86_64 and aarch64 Unix hosts only (src/context.rs): Windows saves other \
     registers across calls"
);

#[cfg(zsim_signals)]
pub use arch::{redirect, stack_pointer};

/// Declares a kernel call that may block as a *blocking entry* (see the module docs): an
/// exported `extern "C-unwind"` function of at most six arguments, each passed in one
/// integer register (pointers, integers, `k_timeout_t`), whose assembly calls `$body` (the
/// call's Rust implementation, of the same signature) and returns what it returns.
///
/// ```ignore
/// blocking_entry! {
///     /// Takes a semaphore (`k_sem_take`).
///     pub unsafe extern "C-unwind" fn k_sem_take(sem: *mut k_sem, timeout: k_timeout_t) -> c_int
///         => k_sem_take_body;
/// }
/// ```
macro_rules! blocking_entry {
    (
        $(#[$attr:meta])*
        pub unsafe extern "C-unwind" fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
            => $body:path;
    ) => {
        $(#[$attr])*
        #[cfg(not(miri))]
        #[no_mangle]
        #[unsafe(naked)]
        pub unsafe extern "C-unwind" fn $name($($arg: $ty),*) $(-> $ret)? {
            // The body has the entry's signature, so it finds the arguments where they came.
            const _: unsafe extern "C-unwind" fn($($ty),*) $(-> $ret)? = $body;
            // All of them in registers: the entry moves the stack by a word.
            const _: () = assert!([$(stringify!($arg)),*].len() <= 6);
            $crate::context::entry_asm!($body)
        }

        // Miri runs no assembly (its tests make kernel calls but never switch): a plain call.
        $(#[$attr])*
        #[cfg(miri)]
        #[no_mangle]
        pub unsafe extern "C-unwind" fn $name($($arg: $ty),*) $(-> $ret)? {
            // SAFETY: the entry's contract is its body's.
            unsafe { $body($($arg),*) }
        }
    };
}
pub(crate) use arch::entry_asm;
pub(crate) use blocking_entry;
