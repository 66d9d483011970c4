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
//! at the context its host thread is running ([`crate::context::running`], which each context
//! records as it resumes): when the fault address is in the guard page of that context's stack
//! and the stack pointer is in the stack, the handler rewrites the interrupted registers so
//! that, once it returns, the CPU continues on the scheduler's stack as if the thread had
//! switched there with [`Stop::StackOverflow`](crate::context::Stop) (`context::redirect`);
//! the scheduler ends the run with a report naming the thread. Any other fault goes to the
//! handler installed before (Rust's own, which names a host thread that overflowed its stack)
//! or to the default action: real crashes still crash.
//!
//! ```text
//!   a thread touches its guard page ── SIGSEGV ──► on_fault, on the alternate stack
//!     not the running context's guard page ──► the previous handler, or the default action
//!     the running context's guard page ──► registers rewritten (context::redirect)
//!       ──► the scheduler's switch returns Stop::StackOverflow ──► End::StackOverflow
//!       ──► Sim::run returns SimError::StackOverflow
//! ```
//!
//! The watchdog ([`crate::watchdog`]) redirects a thread the same way to stop one that spins
//! without kernel calls: it sends SIGURG (ignored by default, so a stray one is harmless) to
//! the simulation's host thread, and `host::on_interrupt` makes the running thread stop with
//! `Stop::Stalled`, only when that simulation asked for a stop and no kernel call is under way
//! (one that is will end the run at its next kernel entry instead).
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
use std::sync::Arc;

use crate::watchdog::Watch;

thread_local! {
    /// The watch of the simulation running on this host thread (null: none).
    static WATCH: Cell<*const Watch> = const { Cell::new(std::ptr::null()) };
}

/// True when the caller runs on a simulated thread's stack: a thread, or an ISR interrupting
/// one. False on the scheduler's (the idle thread and its ISRs).
pub fn on_thread_stack() -> bool {
    !crate::context::running().is_null()
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
        crate::context::set_running(std::ptr::null());
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
        crate::context::set_running(std::ptr::null());
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
    /// the running simulated thread stops with `Stop::Stalled`. Does nothing where
    /// unsupported.
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

    use super::WATCH;
    use crate::context::{self, Stop};

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

    /// SIGSEGV / SIGBUS: a fault in the guard page of the running context's stack is that
    /// thread's stack overflow; anything else is passed on. Async-signal-safe: reads
    /// thread-locals, atomics and the running context, and writes the signal context.
    extern "C" fn on_fault(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        // SAFETY: for an SA_SIGINFO handler the kernel passes a valid siginfo.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE_SIZE.load(Ordering::Relaxed);
        // The guard is the lowest page of the stack's mapping: in it, with nothing below.
        let in_guard = |(limit, _): (usize, usize)| addr >= limit && addr - limit < page;
        // SAFETY: `context` is the interrupted thread's ucontext (SA_SIGINFO).
        if !unsafe { redirect(context, in_guard, Stop::StackOverflow) } {
            // SAFETY: the arguments are the ones this handler received.
            unsafe { pass_on(signal, info, context) };
        }
    }

    /// SIGURG: the watchdog's interrupt. Stops the running thread if its simulation asked
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
            unsafe { redirect(context, |_| true, Stop::Stalled) };
        }
    }

    /// Makes the thread running on this host thread stop with `stop` once the handler
    /// returns (the CPU continues on the scheduler's stack, whose switch returns the stop), if
    /// the interrupted stack pointer is in its stack and `applies` to the stack's bounds
    /// (`[limit, base)`, the guard page included); returns whether it did.
    ///
    /// # Safety
    /// Signal handler only; `context` must be the `ucontext_t` the kernel passed to it.
    unsafe fn redirect(
        context: *mut c_void,
        applies: impl Fn((usize, usize)) -> bool,
        stop: Stop,
    ) -> bool {
        // SAFETY: the caller passes the kernel's ucontext, ours to read and change.
        let context = unsafe { &mut *(context as *mut libc::ucontext_t) };
        let sp = context::stack_pointer(context);
        let running = context::running();
        if running.is_null() {
            return false;
        }
        // SAFETY: a non-null running context is live: it is freed only by the scheduler,
        // after it switched away from it and recorded that the scheduler runs.
        let (bounds, slot) = unsafe { ((*running).stack_bounds(), (*running).slot()) };
        if sp < bounds.0 || sp >= bounds.1 || !applies(bounds) {
            return false;
        }
        // The thread is abandoned where it was: it never resumes, and what it was in the
        // middle of is only read again by the scheduler, which ends the simulation (see the
        // module docs for what stays held). The scheduler's context is suspended in its
        // switch (a thread runs), its stack pointer saved.
        context::redirect(context, context::scheduler_sp(), stop.encode(slot));
        true
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
}
