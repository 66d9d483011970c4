//! Host signals that stop a simulated thread: its stack guard fault, and the watchdog's
//! interrupt of a thread that spins without kernel calls.
//!
//! Zephyr guards every thread stack (an MPU region, or a canary) and turns an overflow into a
//! fatal error, `K_ERR_STACK_CHK_FAIL`, that aborts the thread. A simulated thread's host stack
//! (corosensei's `DefaultStack`) has a guard page below it; touching it raises SIGSEGV on the
//! host thread that runs the simulation, and without help the whole process dies, with every
//! other test of the binary.
//!
//! So, once per process, handlers for SIGSEGV and SIGBUS are installed that run on an
//! alternate signal stack (the overflowing stack has no room left for a handler). Each looks
//! at what its host thread is running ([`enter_thread`], called by the scheduler before every
//! resume): when the fault address is in the guard page of that coroutine's stack and the
//! stack pointer is in the stack, the handler rewrites the interrupted registers with
//! corosensei's trap support, so that once it returns the coroutine returns
//! [`ThreadEnd::StackOverflow`] to the scheduler, which ends the run with a report naming the
//! thread. Any other fault goes to the handler installed before (Rust's own, which names a
//! host thread that overflowed its stack) or to the default action: real crashes still crash.
//!
//! ```text
//!   a thread touches its guard page ── SIGSEGV ──► on_fault, on the alternate stack
//!     not the running coroutine's guard page ──► the previous handler, or the default action
//!     the running coroutine's guard page ──► registers rewritten (setup_trap_handler)
//!       ──► the coroutine returns ThreadEnd::StackOverflow ──► End::StackOverflow
//!       ──► Sim::run returns SimError::StackOverflow
//! ```
//!
//! The watchdog ([`crate::watchdog`]) redirects a coroutine the same way to stop a thread that
//! spins without kernel calls: it sends SIGURG (ignored by default, so a stray one is harmless)
//! to the simulation's host thread, and `host::on_interrupt` makes the running coroutine return
//! [`ThreadEnd::Stalled`], only when that simulation asked for a stop and no kernel call is
//! under way (one that is will end the run at its next kernel entry instead).
//!
//! A thread stopped this way is abandoned wherever it was, never unwound, like a thread aborted
//! by a fault: objects on its stack are leaked, and if it was inside a host library call that
//! holds a lock (the allocator, stdout) that lock stays held and may hang the process later.
//! A spinning loop or a stack overflow at a function's entry holds none.
//!
//! Supported on Linux x86_64 and aarch64 (not under miri). Elsewhere nothing is installed: a
//! stack overflow kills the process with SIGSEGV, and a loop without kernel calls cannot be
//! stopped (one with kernel calls still is, at its next call).

use std::cell::Cell;
use std::sync::atomic::{compiler_fence, Ordering};
use std::sync::Arc;

use corosensei::trap::CoroutineTrapHandler;

use crate::switch::ThreadEnd;
use crate::watchdog::Watch;

/// What the running coroutine's signal handlers see of it.
struct Running {
    /// True while `trap` holds the running coroutine's handler, written completely (a signal
    /// may arrive in the middle of [`enter_thread`]).
    valid: Cell<bool>,
    /// The running coroutine's trap handler.
    trap: Cell<Option<CoroutineTrapHandler<ThreadEnd>>>,
}

thread_local! {
    /// The coroutine this host thread is running. `const` and without a destructor, so the
    /// signal handlers can read it (no lazy initialisation, no allocation).
    static RUNNING: Running = const { Running { valid: Cell::new(false), trap: Cell::new(None) } };
    /// The watch of the simulation running on this host thread (null: none).
    static WATCH: Cell<*const Watch> = const { Cell::new(std::ptr::null()) };
}

/// Records that this host thread is about to resume the coroutine `trap` belongs to. Called
/// before every resume: a few stores.
pub fn enter_thread(trap: CoroutineTrapHandler<ThreadEnd>) {
    RUNNING.with(|r| {
        r.valid.set(false);
        // A signal handler on this thread sees `valid` false before `trap` changes.
        compiler_fence(Ordering::SeqCst);
        r.trap.set(Some(trap));
        compiler_fence(Ordering::SeqCst);
        r.valid.set(true);
    });
}

/// Records that this host thread runs the scheduler (or the idle thread) again. Called after
/// every resume: one store.
pub fn leave_thread() {
    RUNNING.with(|r| r.valid.set(false));
}

/// True when the caller runs on a simulated thread's stack: a thread, or an ISR interrupting
/// one. False on the scheduler's (the idle thread and its ISRs).
pub fn on_thread_stack() -> bool {
    RUNNING.with(|r| r.valid.get())
}

/// This host thread's part in the signal machinery while a simulation runs on it; undone when
/// dropped.
pub struct SimulationSignals {
    /// The simulation's watch, kept alive while `WATCH` points to it.
    _watch: Arc<Watch>,
    /// An alternate signal stack this guard installed (address, length), to remove on drop.
    #[cfg_attr(not(zsim_signals), allow(dead_code, reason = "only used where supported"))]
    altstack: Option<(usize, usize)>,
}

impl SimulationSignals {
    /// Prepares the calling host thread to run the simulation watched by `watch`: installs the
    /// process-wide handlers (once), gives this thread an alternate signal stack if it has none
    /// (Rust's runtime gives one to every thread it starts), and records `watch` for
    /// `host::on_interrupt`.
    pub fn enter(watch: Arc<Watch>) -> Self {
        WATCH.with(|w| w.set(Arc::as_ptr(&watch)));
        leave_thread();
        #[cfg(zsim_signals)]
        let altstack = {
            host::install();
            host::ensure_altstack()
        };
        #[cfg(not(zsim_signals))]
        let altstack = None;
        SimulationSignals { _watch: watch, altstack }
    }
}

impl Drop for SimulationSignals {
    fn drop(&mut self) {
        leave_thread();
        WATCH.with(|w| w.set(std::ptr::null()));
        #[cfg(zsim_signals)]
        if let Some((addr, len)) = self.altstack {
            host::remove_altstack(addr, len);
        }
    }
}

/// A handle on the host thread that runs a simulation, for its watchdog to interrupt.
pub struct Interrupter {
    #[cfg(zsim_signals)]
    thread: libc::pthread_t,
}

impl Interrupter {
    /// The calling host thread.
    pub fn current() -> Self {
        Interrupter {
            // SAFETY: pthread_self has no preconditions.
            #[cfg(zsim_signals)]
            thread: unsafe { libc::pthread_self() },
        }
    }

    /// Sends the watchdog's signal (SIGURG) to the thread: if its simulation asked for a stop,
    /// the running coroutine returns [`ThreadEnd::Stalled`]. Does nothing where unsupported.
    ///
    /// Only call while that thread is alive: the watchdog, which calls this, is joined before
    /// [`crate::Sim::run`] returns.
    pub fn interrupt(&self) {
        // SAFETY: the thread is alive (the caller's duty); SIGURG has our handler installed
        // (by `SimulationSignals::enter`, before the watchdog started), or its default action,
        // which ignores it.
        #[cfg(zsim_signals)]
        unsafe {
            libc::pthread_kill(self.thread, libc::SIGURG);
        }
    }
}

/// Linux x86_64 / aarch64: the handlers and the register plumbing.
#[cfg(zsim_signals)]
mod host {
    use std::ffi::{c_int, c_void};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Once;

    use corosensei::trap::TrapHandlerRegs;

    use super::{RUNNING, WATCH};
    use crate::switch::ThreadEnd;

    /// Size of the alternate signal stack given to a host thread that has none.
    const ALTSTACK_SIZE: usize = 64 * 1024;

    /// The action installed for a signal before ours, to pass the signals on to that are not
    /// ours.
    struct Previous {
        handler: AtomicUsize,
        siginfo: AtomicBool,
    }

    impl Previous {
        const fn new() -> Self {
            Previous { handler: AtomicUsize::new(libc::SIG_DFL), siginfo: AtomicBool::new(false) }
        }
    }

    static PREVIOUS_SEGV: Previous = Previous::new();
    static PREVIOUS_BUS: Previous = Previous::new();
    static PREVIOUS_URG: Previous = Previous::new();
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
    static INSTALL: Once = Once::new();

    type SigAction = extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void);

    /// Installs the handlers, once per process.
    pub fn install() {
        INSTALL.call_once(|| {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            if page > 0 {
                PAGE_SIZE.store(page as usize, Ordering::Relaxed);
            }
            let ours: [(c_int, &Previous, SigAction); 3] = [
                (libc::SIGSEGV, &PREVIOUS_SEGV, on_fault),
                (libc::SIGBUS, &PREVIOUS_BUS, on_fault),
                (libc::SIGURG, &PREVIOUS_URG, on_interrupt),
            ];
            for (signal, previous, handler) in ours {
                // SAFETY: plain sigaction calls on zero-initialised (valid) structures; the
                // handlers are async-signal-safe (see each), and `previous` is written before
                // ours is installed, so they always find it.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 {
                        continue;
                    }
                    previous.handler.store(old.sa_sigaction, Ordering::Relaxed);
                    previous.siginfo.store(old.sa_flags & libc::SA_SIGINFO != 0, Ordering::Relaxed);
                    let mut new: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction = handler as usize;
                    new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                    if signal == libc::SIGURG {
                        new.sa_flags |= libc::SA_RESTART;
                    }
                    libc::sigfillset(&mut new.sa_mask);
                    libc::sigaction(signal, &new, std::ptr::null_mut());
                }
            }
        });
    }

    /// Gives the calling thread an alternate signal stack if it has none; returns it (address,
    /// length) if so. None also when one cannot be made: an overflow then kills the process as
    /// it did before.
    pub fn ensure_altstack() -> Option<(usize, usize)> {
        // SAFETY: sigaltstack reads into a valid structure; the new stack is a fresh private
        // mapping of ALTSTACK_SIZE bytes that stays mapped until `remove_altstack`.
        unsafe {
            let mut old: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(std::ptr::null(), &mut old) != 0
                || old.ss_flags & libc::SS_DISABLE == 0
            {
                return None;
            }
            let p = libc::mmap(
                std::ptr::null_mut(),
                ALTSTACK_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return None;
            }
            let new = libc::stack_t { ss_sp: p, ss_flags: 0, ss_size: ALTSTACK_SIZE };
            if libc::sigaltstack(&new, std::ptr::null_mut()) != 0 {
                libc::munmap(p, ALTSTACK_SIZE);
                return None;
            }
            Some((p as usize, ALTSTACK_SIZE))
        }
    }

    /// Removes the alternate signal stack `ensure_altstack` made.
    pub fn remove_altstack(addr: usize, len: usize) {
        // SAFETY: no handler runs on this thread now (we are not in one), so the stack is
        // unused; it was mapped by `ensure_altstack` with this length.
        unsafe {
            let off = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&off, std::ptr::null_mut());
            libc::munmap(addr as *mut c_void, len);
        }
    }

    /// SIGSEGV / SIGBUS: a fault in the guard page of the running coroutine's stack is that
    /// thread's stack overflow; anything else is passed on. Async-signal-safe: reads
    /// thread-locals and atomics, writes the coroutine's stack and the signal context.
    extern "C" fn on_fault(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        // SAFETY: for an SA_SIGINFO handler the kernel passes a valid siginfo.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE_SIZE.load(Ordering::Relaxed);
        // The guard is the lowest page of the stack's mapping: in it, with nothing below.
        let in_guard = |trap: &corosensei::trap::CoroutineTrapHandler<ThreadEnd>| {
            trap.stack_ptr_in_bounds(addr) && !trap.stack_ptr_in_bounds(addr.wrapping_sub(page))
        };
        // SAFETY: `context` is the interrupted thread's ucontext (SA_SIGINFO).
        if !unsafe { redirect(context, in_guard, || ThreadEnd::StackOverflow) } {
            // SAFETY: the arguments are the ones this handler received.
            unsafe { pass_on(signal, info, context) };
        }
    }

    /// SIGURG: the watchdog's interrupt. Stops the running coroutine if its simulation asked
    /// for a stop and it is neither inside a kernel call nor unwinding; otherwise does nothing
    /// (a stale signal, or the thread is about to reach a kernel entry, which ends it).
    /// Async-signal-safe as `on_fault` (`panicking` reads an atomic and a thread-local).
    extern "C" fn on_interrupt(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        let watch = WATCH.with(|w| w.get());
        // SAFETY: a non-null WATCH points to the Watch of the simulation running on this host
        // thread, kept alive by the `SimulationSignals` that set it, which clears it on drop.
        let asked = !watch.is_null() && unsafe { (*watch).stop_requested().is_some() };
        if !asked {
            // SAFETY: the arguments are the ones this handler received.
            unsafe { pass_on(signal, info, context) };
            return;
        }
        // Inside a kernel call, or already unwinding (the stop's own unwinding, whose
        // unwinder may hold the loader's lock): leave it be, the next interval tries again.
        if !crate::kernel::in_kernel() && !std::thread::panicking() {
            // SAFETY: `context` is the interrupted thread's ucontext (SA_SIGINFO).
            unsafe { redirect(context, |_| true, || ThreadEnd::Stalled) };
        }
    }

    /// Makes the coroutine running on this host thread return `end()` to the scheduler once
    /// the handler returns, if the interrupted stack pointer is in its stack and `applies`;
    /// returns whether it did.
    ///
    /// # Safety
    /// Signal handler only; `context` must be the `ucontext_t` the kernel passed to it.
    unsafe fn redirect(
        context: *mut c_void,
        applies: impl Fn(&corosensei::trap::CoroutineTrapHandler<ThreadEnd>) -> bool,
        end: fn() -> ThreadEnd,
    ) -> bool {
        // SAFETY: the caller passes the kernel's ucontext, ours to read and change.
        let context = unsafe { &mut *(context as *mut libc::ucontext_t) };
        let sp = stack_pointer(context);
        RUNNING.with(|r| {
            if !r.valid.get() {
                return false;
            }
            // SAFETY: `valid` is set only after `trap` was written completely, and nothing
            // else on this thread runs while its signal handler does.
            let Some(trap) = (unsafe { &*r.trap.as_ptr() }) else { return false };
            if !trap.stack_ptr_in_bounds(sp) || !applies(trap) {
                return false;
            }
            // SAFETY: the interrupted stack pointer is in the coroutine's stack (checked), and
            // the context's registers are updated as the returned `TrapHandlerRegs` require.
            // The coroutine is abandoned where it was: it never resumes, and what it was in
            // the middle of is only read again by the scheduler, which ends the simulation
            // (see the module docs for what stays held).
            let regs = unsafe { trap.setup_trap_handler(end) };
            set_registers(context, regs);
            true
        })
    }

    /// Passes a signal that is not ours on: to the handler installed before ours, or, if that
    /// was the default action (or ignoring, which would re-fault forever), restores the
    /// default and raises the signal again, so that a real crash still crashes. SIGURG's
    /// default is to ignore it.
    ///
    /// # Safety
    /// Signal handler only, with the arguments it received.
    unsafe fn pass_on(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        let previous = match signal {
            libc::SIGBUS => &PREVIOUS_BUS,
            libc::SIGURG => &PREVIOUS_URG,
            _ => &PREVIOUS_SEGV,
        };
        let handler = previous.handler.load(Ordering::Relaxed);
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            if signal == libc::SIGURG {
                return;
            }
            // SAFETY: async-signal-safe calls; the raised signal stays pending (blocked while
            // this handler runs) and takes the default action once it returns.
            unsafe {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &default, std::ptr::null_mut());
                libc::raise(signal);
            }
        } else if previous.siginfo.load(Ordering::Relaxed) {
            // SAFETY: the previous action was installed with SA_SIGINFO, so its handler has
            // this signature; it gets the arguments we got.
            let f: SigAction = unsafe { std::mem::transmute::<usize, SigAction>(handler) };
            f(signal, info, context);
        } else {
            // SAFETY: the previous action was installed without SA_SIGINFO: a plain handler.
            let f = unsafe { std::mem::transmute::<usize, extern "C" fn(c_int)>(handler) };
            f(signal);
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn stack_pointer(context: &libc::ucontext_t) -> usize {
        context.uc_mcontext.gregs[libc::REG_RSP as usize] as usize
    }

    #[cfg(target_arch = "x86_64")]
    fn set_registers(context: &mut libc::ucontext_t, regs: TrapHandlerRegs) {
        let TrapHandlerRegs { rip, rsp, rbp, rdi, rsi } = regs;
        let gregs = &mut context.uc_mcontext.gregs;
        gregs[libc::REG_RIP as usize] = rip as i64;
        gregs[libc::REG_RSP as usize] = rsp as i64;
        gregs[libc::REG_RBP as usize] = rbp as i64;
        gregs[libc::REG_RDI as usize] = rdi as i64;
        gregs[libc::REG_RSI as usize] = rsi as i64;
    }

    #[cfg(target_arch = "aarch64")]
    fn stack_pointer(context: &libc::ucontext_t) -> usize {
        context.uc_mcontext.sp as usize
    }

    #[cfg(target_arch = "aarch64")]
    fn set_registers(context: &mut libc::ucontext_t, regs: TrapHandlerRegs) {
        let TrapHandlerRegs { pc, sp, x0, x1, x29, lr } = regs;
        let m = &mut context.uc_mcontext;
        m.pc = pc;
        m.sp = sp;
        m.regs[0] = x0;
        m.regs[1] = x1;
        m.regs[29] = x29;
        m.regs[30] = lr;
    }
}
