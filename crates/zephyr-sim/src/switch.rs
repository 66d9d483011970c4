//! The machinery that switches threads, runs interrupts and moves virtual time.
//!
//! Each simulated thread runs on its own host stack ([`crate::context`]); the scheduler loop
//! ([`run_scheduler`]) runs on the host thread that called [`crate::Sim::run`] and plays the
//! part of the idle thread. Everything runs on one host thread, so the simulation is
//! deterministic by construction. A thread gives up the CPU in [`swap`]: when the next thread
//! is plain to see, it chooses and switches it in itself, in its own kernel borrow
//! ([`prepare_swap`]), and switches straight to its stack, one user-space stack switch of a
//! few nanoseconds; otherwise it switches to the scheduler loop, which chooses
//! ([`run_scheduler`]).
//!
//! Interrupts happen only where a real CPU could take them without any code being in the
//! middle of a kernel call: while idle (the loop jumps virtual time to the next event), during
//! `k_busy_wait`, and at `irq_unlock` when one became pending while locked. They run on the
//! stack of whatever was interrupted, with [`Kernel::isr_depth`] set; on their exit the
//! interrupted thread is preempted if it should be.
//!
//! A thread switches to this loop for good when its body returns or panics, and a host signal
//! makes it do so ([`crate::signals`]): a stack overflow, or the watchdog stopping a
//! thread that spins without kernel calls. A thread that spins with kernel calls is unwound to
//! it by the kernel entry ([`kernel::with`], [`StallRequest`]).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use corosensei::stack::DefaultStack;
use zephyr_sys::thread_state::*;

use crate::context::{self, BodyEnd, Context, ContextBox, Stop};
use crate::kernel::{self, with, End, Kernel, Target, IDLE};
use crate::timeline::What;
use crate::trace::TraceEvent;

/// What a suspended thread finds when the scheduler resumes it, read when it was switched in
/// ([`switch_in`]): the result of the blocking call it made, and whether the cost model is on
/// (it then pays for the switch). Nothing runs between that and the resume.
#[derive(Clone, Copy, Debug)]
pub struct Resume {
    /// The thread's `swap_retval`.
    retval: i32,
    /// [`Kernel::cost_on`].
    cost_on: bool,
}

impl Resume {
    /// The word a context is switched to with ([`context::switch`]).
    #[inline(always)]
    fn pack(self) -> usize {
        self.retval as u32 as usize | usize::from(self.cost_on) << 32
    }

    /// The value [`Self::pack`] made.
    #[inline(always)]
    fn unpack(word: usize) -> Self {
        Resume { retval: word as u32 as i32, cost_on: word >> 32 & 1 != 0 }
    }
}

/// The panic payload with which [`crate::exit`] unwinds to the scheduler.
pub struct ExitRequest(pub i32);

/// The panic payload with which a kernel entry unwinds a thread to the scheduler once the
/// watchdog asked to stop the run ([`kernel::with`]).
pub struct StallRequest;

/// An unwind of a simulated thread to the scheduler that the simulator itself started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unwind {
    /// [`crate::exit`] with this code.
    Exit(i32),
    /// The watchdog's stop at a kernel entry.
    Stall,
}

thread_local! {
    /// The unwind under way on this host thread's simulation, from [`unwind_to_scheduler`]
    /// until the scheduler catches it. Read by a panic hook that meets the unwind's abort at
    /// an `extern "C"` frame (`rust_main`), which it cannot cross (`crate::runner`).
    static UNWINDING: std::cell::Cell<Option<Unwind>> = const { std::cell::Cell::new(None) };
}

/// Unwinds the current simulated thread to the scheduler with `request` (its destructors
/// run), which ends the simulation accordingly.
pub fn unwind_to_scheduler(request: Unwind) -> ! {
    UNWINDING.set(Some(request));
    match request {
        Unwind::Exit(code) => std::panic::resume_unwind(Box::new(ExitRequest(code))),
        Unwind::Stall => std::panic::resume_unwind(Box::new(StallRequest)),
    }
}

/// The simulator's own unwind under way on this host thread, if any.
pub fn unwind_in_progress() -> Option<Unwind> {
    UNWINDING.get()
}

/// What a panic payload ends the simulation with: an exit request, the watchdog's stop, or a
/// fatal error.
fn ending(k: &Kernel, payload: Box<dyn Any + Send>, context: impl FnOnce() -> String) -> End {
    // The unwind, if it was the simulator's, has arrived.
    UNWINDING.set(None);
    if payload.is::<StallRequest>() {
        return stalled(k);
    }
    match payload.downcast::<ExitRequest>() {
        Ok(exit) => End::Exit(exit.0),
        Err(payload) => End::Panic { context: context(), message: panic_message(&*payload) },
    }
}

/// The end of a run the watchdog stopped: it names the thread it saw stalled.
fn stalled(k: &Kernel) -> End {
    let slot = k.watch.stop_requested().unwrap_or(k.current);
    End::Stalled { thread: k.name(slot), stalled: k.watch.stalled_for() }
}

/// Creates the context that will run `body` as thread `slot`.
pub fn make_context(k: &mut Kernel, slot: u32, body: Box<dyn FnOnce()>) -> ContextBox {
    let stack = match k.stacks.pop() {
        Some(s) => s,
        None => DefaultStack::new(k.stack_size).expect("cannot allocate a host stack"),
    };
    let (co, sp) = ContextBox::new(stack, slot, body);
    k.threads[slot as usize].sp = sp;
    co
}

/// What a thread does first when it runs, before its body (inside the body's `catch_unwind`:
/// a kernel entry may unwind once the watchdog asked to stop): pay what the cost model
/// charged for the switch to it.
pub fn thread_start() {
    let owed = with(|k| k.take_cost_owed());
    if owed > 0 {
        busy_wait(owed);
    }
}

/// Gives the CPU to the scheduler; returns when this thread runs again, with the value its
/// blocking call returns (`z_swap`).
///
/// Must be called from thread context with no kernel borrow held.
pub fn swap() -> i32 {
    let handoff = with(prepare_swap);
    swap_to(handoff)
}

/// How the running thread gives up the CPU, decided in a kernel borrow ([`prepare_swap`]) and
/// carried out after it ([`swap_to`]).
#[must_use = "the thread must switch: pass it to swap_to"]
pub struct Handoff {
    /// The running thread's context.
    from: *mut Context,
    /// Where the running thread's stack pointer is saved: its entry in the thread table
    /// ([`crate::kernel::Thread::sp`]).
    save: *mut usize,
    /// Where the stack pointer of the context to switch to is saved: the next thread's entry
    /// in the thread table, the thread already switched in ([`switch_in`]), or the scheduler's when it must decide (the run
    /// ends, an interrupt line is due, nothing is ready, the watchdog asked to stop). Null
    /// when the running thread is still the one to run: it does not switch.
    to: *mut usize,
    /// What the context switched to (or the running thread, when it stays) is resumed with:
    /// a packed [`Resume`] for a thread, [`Stop::Reschedule`] for the scheduler.
    value: usize,
}

/// The scheduler's choice made by the thread that gives up the CPU, in its own kernel borrow:
/// when the next thread is plain to see (the run goes on, no interrupt line is pending), it is
/// switched in here ([`switch_in`], exactly as the scheduler loop would) and the caller
/// switches straight to it. Otherwise the loop decides ([`run_scheduler`]).
///
/// `k.current` must be the calling thread, in thread context.
#[inline(always)]
pub fn prepare_swap(k: &mut Kernel) -> Handoff {
    let from = context::running() as *mut Context;
    debug_assert!(!from.is_null(), "simulator bug: a swap on the scheduler's stack");
    let save = std::ptr::addr_of_mut!(k.threads[k.current as usize].sp);
    if k.ended.is_some() || k.nvic.pending != 0 || k.watch.stop_requested().is_some() {
        return to_scheduler(from, save);
    }
    match k.ready.best() {
        Some(slot) if slot == k.current => {
            // SAFETY: the ready queue's best thread (see `switch_in`).
            let resume = unsafe { switch_in(k, slot) }.resume;
            Handoff { from, save, to: std::ptr::null_mut(), value: resume.pack() }
        }
        Some(slot) => {
            // SAFETY: the ready queue's best thread (see `switch_in`).
            let next = unsafe { switch_in(k, slot) };
            Handoff { from, save, to: next.sp, value: next.resume.pack() }
        }
        None => to_scheduler(from, save),
    }
}

/// A handoff from `from` to the scheduler, which decides.
#[inline(always)]
fn to_scheduler(from: *mut Context, save: *mut usize) -> Handoff {
    Handoff { from, save, to: context::scheduler_sp_slot(), value: Stop::Reschedule.encode(0) }
}

/// Gives up the CPU as [`prepare_swap`] decided; returns when this thread runs again, with the
/// value its blocking call returns (`z_swap`). No kernel borrow may be held.
#[inline(always)]
pub fn swap_to(handoff: Handoff) -> i32 {
    if handoff.to.is_null() {
        return resumed(Resume::unpack(handoff.value));
    }
    // SAFETY: `from` is the running thread's context (we are on its stack); `to` is the saved
    // stack pointer of a context that is not running: a live thread's that was switched in
    // (`switch_in`; contexts are only freed by `retire`, for dead threads), or the
    // scheduler's, suspended while a thread runs. No borrow is held.
    let word = unsafe { context::switch(handoff.from, handoff.save, handoff.to, handoff.value) };
    resumed(Resume::unpack(word))
}

/// The end of [`swap_to`]: the blocking call's result, after paying what the cost model
/// charges for the switch.
#[inline(always)]
fn resumed(Resume { retval, cost_on }: Resume) -> i32 {
    if cost_on {
        // The cost model: the switch to this thread, and its pend or wake ([`crate::cost`]).
        // (With the model off nothing is ever owed.)
        let owed = with(|k| k.take_cost_owed());
        if owed > 0 {
            busy_wait(owed);
        }
    }
    retval
}

/// Ends the calling thread: it never runs again (`k_thread_abort(k_current_get())`).
pub fn exit_current() -> ! {
    let slot = with(|k| {
        let cur = k.current;
        k.mark_dead(cur);
        cur
    });
    let from = context::running() as *mut Context;
    // SAFETY: as in `swap_to`.
    unsafe {
        context::switch(
            from,
            context::discarded_sp_slot(),
            context::scheduler_sp_slot(),
            Stop::Exit.encode(slot),
        )
    };
    unreachable!("a dead thread was resumed");
}

/// Switches away if a more urgent thread should run and the caller may switch
/// (`z_reschedule`): thread context, interrupts not locked.
pub fn reschedule(preempt_ok: bool) {
    let switch = with(|k| {
        if k.may_swap() && k.need_swap(preempt_ok) {
            return true;
        }
        if k.slice_time != 0 {
            k.time_slice_kept_cpu(preempt_ok);
        }
        false
    });
    if switch {
        swap();
    }
}

/// How a kernel call that may have readied a thread ends, decided inside its borrow
/// ([`wake_end`]) and carried out after it ([`after_wake`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeEnd {
    /// The caller keeps the CPU.
    Return,
    /// The caller must switch ([`reschedule`]'s test held).
    Swap,
    /// A `k_poll` rule is pending for the caller: [`crate::api::poll::yield_then_mark_ready`],
    /// then [`reschedule`].
    Full,
}

/// The end of a kernel call that may have readied a thread (`yield_then_mark_ready`, then
/// `reschedule(false)`), decided in the call's own borrow: the common outcomes then take no
/// further borrow.
#[inline]
pub fn wake_end(k: &mut Kernel) -> WakeEnd {
    if crate::api::poll::deferred_for_current(k) {
        WakeEnd::Full
    } else if k.ready.best() != Some(k.current) && k.may_swap() && k.need_swap(false) {
        // (The caller at the head of the ready queue, the common case of a wake that readies
        // a thread no more urgent than it, needs no switch: `need_swap` is false then.)
        WakeEnd::Swap
    } else {
        if k.slice_time != 0 {
            k.time_slice_kept_cpu(false);
        }
        WakeEnd::Return
    }
}

/// Carries out [`wake_end`]'s decision, with no kernel borrow held.
#[inline]
pub fn after_wake(end: WakeEnd) {
    match end {
        WakeEnd::Return => {}
        WakeEnd::Swap => {
            swap();
        }
        WakeEnd::Full => {
            crate::api::poll::yield_then_mark_ready();
            reschedule(false);
        }
    }
}

/// Runs every interrupt that is due: expired timeouts (the system clock ISR) and simulated
/// device interrupts, in time order, in ISR context. Returns whether any ran.
pub fn run_due_interrupts() -> bool {
    let mut any = false;
    loop {
        let event = with(|k| {
            let now = k.now;
            let tick_now = k.tick_of(now);
            let timeout = k.timeouts.first_key_value().map(|(&key, _)| key);
            let irq = k.irqs.first_key_value().map(|(&key, _)| key);
            let timeout_due = timeout.filter(|&(tick, _)| tick <= tick_now);
            let irq_due = irq.filter(|&(c, _)| c <= now);
            let pick_timeout = match (timeout_due, irq_due) {
                (Some((tick, _)), Some((c, _))) => k.cycle_of_tick(tick) <= c,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return None,
            };
            k.isr_depth += 1;
            k.isr_count += 1;
            // The system clock and device interrupts run at priority 0 ([`crate::nvic`]).
            k.nvic.active.push((crate::nvic::CLOCK_LEVEL, None));
            if k.cost_on {
                let entry = u64::from(k.cost.isr_entry);
                let cycles = k.cost_cycles(entry);
                k.advance_to(k.now + cycles);
            }
            if pick_timeout {
                let (key, target) = k.timeouts.pop_first().expect("due timeout");
                k.announce_tick = Some(key.0);
                k.last_announce_tick = key.0;
                if k.slice_key.is_some() && !matches!(target, Target::Slice) {
                    // `sys_clock_announce` runs `z_time_slice` before the timeouts.
                    k.time_slice_announce();
                }
                k.mark(What::IsrEnter(match target {
                    Target::Thread(_) => "sys_clock: timeout",
                    Target::Timer(_) => "sys_clock: k_timer",
                    Target::DelayedWork(_) => "sys_clock: delayed work",
                    Target::PollWork(_) => "sys_clock: triggered work",
                    Target::Slice => "sys_clock: time slice",
                }));
                Some(Event::Timeout(target))
            } else {
                let (_, f) = k.irqs.pop_first().expect("due interrupt");
                k.announce_tick = None;
                k.mark(What::IsrEnter("irq"));
                k.record(TraceEvent::Irq);
                Some(Event::Irq(f))
            }
        });
        let Some(event) = event else { break };
        any = true;
        match event {
            Event::Timeout(Target::Thread(slot)) => with(|k| thread_timeout(k, slot)),
            Event::Timeout(Target::Timer(timer)) => crate::api::timer::expire(timer),
            Event::Timeout(Target::DelayedWork(dwork)) => {
                with(|k| crate::api::work::delay_expired(k, dwork))
            }
            Event::Timeout(Target::PollWork(twork)) => {
                with(|k| crate::api::poll::triggered_work_expired(k, twork))
            }
            Event::Timeout(Target::Slice) => with(|k| k.time_slice_expired()),
            Event::Irq(f) => f(),
        }
        let chain = with(|k| {
            if k.cost_on {
                let exit = u64::from(k.cost.isr_exit);
                let cycles = k.cost_cycles(exit);
                k.advance_to(k.now + cycles);
            }
            k.mark(What::IsrExit);
            k.isr_depth -= 1;
            k.nvic.active.pop();
            k.announce_tick = None;
            k.nvic.pending != 0
        });
        if chain {
            // Tail-chaining: lines this ISR pended that are more urgent than what it returns to.
            run_pending_lines();
        }
    }
    any
}

/// Whether interrupts are locked where the CPU runs: by the running ISR, or by the thread
/// (none on the scheduler's own stack).
fn irqs_locked(k: &Kernel) -> bool {
    if k.isr_depth > 0 {
        k.isr_irq_lock != 0
    } else {
        k.current != IDLE && k.threads[k.current as usize].irq_lock != 0
    }
}

/// Whether an interrupt line is deliverable now ([`crate::nvic`]): pending, enabled, more
/// urgent than the running level, interrupts unlocked, the run not over.
pub fn line_deliverable(k: &Kernel) -> bool {
    k.nvic.pending != 0
        && k.ended.is_none()
        && k.nvic.next(k.nvic.level(), irqs_locked(k)).is_some()
}

/// Runs the deliverable interrupt lines' ISRs ([`crate::nvic`]), one after the other
/// (tail-chaining: the most urgent first, then the lowest line number), each in ISR context;
/// time advancing in one lets more urgent interrupts nest into it. Returns whether any ran.
/// The caller (a thread) then reschedules ([`interrupt_exit`]).
///
/// A panic in an ISR ends the run with a report naming the ISR and the line: it is caught
/// at the ISR's boundary, the CPU returns to the interrupted context's level, and the unwind
/// continues there, so the interrupted thread's destructors run in thread context.
pub fn run_pending_lines() -> bool {
    let mut any = false;
    loop {
        let next = with(|k| {
            if std::thread::panicking() || !line_deliverable(k) {
                return None;
            }
            let irq = k.nvic.next(k.nvic.level(), irqs_locked(k))?;
            k.nvic.pending &= !(1u64 << irq);
            let line = k.nvic.lines[irq as usize];
            k.nvic.active.push((line.level(), Some(irq)));
            k.isr_depth += 1;
            k.isr_count += 1;
            if k.cost_on {
                let entry = u64::from(k.cost.isr_entry);
                let cycles = k.cost_cycles(entry);
                k.advance_to(k.now + cycles);
            }
            k.record(TraceEvent::IrqEnter { irq });
            Some((irq, line))
        });
        let Some((irq, line)) = next else { break };
        any = true;
        let result = catch_unwind(AssertUnwindSafe(|| {
            if let Some(routine) = line.routine {
                // A zero-latency ISR may not use the kernel ([`crate::nvic`]): the kernel is
                // out of its reach while it runs.
                let _hidden = line.zero_latency.then(|| kernel::hide_from_zli(irq));
                // SAFETY: the routine and its parameter were connected together with
                // `irq_connect_dynamic`, whose caller vouched for calling one with the other
                // in ISR context; this is ISR context (`isr_depth` is raised).
                unsafe { routine(line.parameter) };
            }
        }));
        let leave = |k: &mut Kernel| {
            k.isr_depth -= 1;
            k.nvic.active.pop();
        };
        if let Err(payload) = result {
            with(|k| {
                if !payload.is::<ExitRequest>() && !payload.is::<StallRequest>() {
                    let context = isr_context(k);
                    let end = End::Panic { context, message: panic_message(&*payload) };
                    k.ended.get_or_insert_with(|| Box::new(end));
                }
                leave(k);
            });
            std::panic::resume_unwind(payload);
        }
        let clock_due = with(|k| {
            if k.cost_on {
                let exit = u64::from(k.cost.isr_exit);
                let cycles = k.cost_cycles(exit);
                k.advance_to(k.now + cycles);
            }
            k.record(TraceEvent::IrqExit { irq });
            leave(k);
            // The system clock or a device interrupt fell due during the ISR (its exit cost)
            // and waited for it: it is taken before the CPU returns below priority 0.
            k.nvic.level() > crate::nvic::CLOCK_LEVEL
                && !irqs_locked(k)
                && k.ended.is_none()
                && k.next_event().is_some_and(|t| t <= k.now)
        });
        if clock_due {
            run_due_interrupts();
        }
    }
    any
}

enum Event {
    Timeout(Target),
    Irq(Box<dyn FnOnce()>),
}

/// A thread's timeout expired (`z_thread_timeout`): end its sleep, its timed wait (which
/// returns -EAGAIN) or its start delay.
fn thread_timeout(k: &mut Kernel, slot: u32) {
    let t = &mut k.threads[slot as usize];
    t.timeout = None;
    if t.state & _THREAD_DEAD != 0 {
        return;
    }
    k.record(TraceEvent::Timeout { thread: slot });
    if k.threads[slot as usize].state & _THREAD_PENDING != 0 {
        k.unpend(slot);
    }
    k.clear_state(slot, _THREAD_PRESTART | _THREAD_SLEEPING | _THREAD_SUSPENDED);
}

/// Where an interrupt may arrive in the middle of a thread's code, in seeded mode: the entry
/// of a kernel call, before it changes anything (on hardware, at any instruction with
/// interrupts unlocked). A deferred interrupt whose count runs out runs here, and its exit may
/// preempt the caller. Costs one read of the kernel when nothing is deferred.
pub fn interrupt_point() {
    if kernel::peek(|k| k.deferred_irqs.is_empty()) {
        return;
    }
    let due = with(|k| {
        if k.deferred_irqs.is_empty() || !k.may_swap() {
            return false;
        }
        let front = k.deferred_irqs.front_mut().expect("not empty");
        front.0 -= 1;
        if front.0 > 0 {
            return false;
        }
        let (_, isr) = k.deferred_irqs.pop_front().expect("not empty");
        k.seq += 1;
        let key = (k.now, k.seq);
        k.irqs.insert(key, isr);
        true
    });
    if due && run_due_interrupts() {
        interrupt_exit();
    }
}

/// The entry of a scheduling kernel call: the cost model's charge for it ([`crate::cost`]),
/// then an [interrupt point](interrupt_point). Costs one read of the kernel when neither is
/// active.
#[inline(always)]
pub fn kernel_call_entry() {
    if kernel::peek(|k| !k.entry_hooks()) {
        return;
    }
    kernel_call_entry_hooks();
}

/// [`kernel_call_entry`] when the cost model or a deferred interrupt has work there.
#[cold]
#[inline(never)]
fn kernel_call_entry_hooks() {
    crate::cost::kernel_call();
    interrupt_point();
}

/// After interrupts ran on a thread's stack: the interrupt exit, a reschedule point.
pub fn interrupt_exit() {
    reschedule(false);
}

/// After virtual time moved: tell the watchdog, and in real-time mode wait for the wall clock
/// to catch up.
fn time_moved() {
    let pace = with(|k| {
        k.watch.bump();
        k.realtime.map(|start| (start, k.now, k.cycles_per_sec))
    });
    if let Some((start, now, hz)) = pace {
        let nanos = (now as u128 * 1_000_000_000 / hz as u128) as u64;
        let due = start + std::time::Duration::from_nanos(nanos);
        let wall = std::time::Instant::now();
        if due > wall {
            std::thread::sleep(due - wall);
        }
    }
}

/// Advances virtual time by `cycles` on the running thread, taking interrupts that fall due
/// (unless it holds `irq_lock`, in which case they stay pending until `irq_unlock`).
pub fn busy_wait(cycles: u64) {
    let (end, in_isr, limit) =
        with(|k| (k.now.saturating_add(cycles), k.isr_depth > 0, k.time_limit));
    // The run's time limit (`Sim::time_limit`) ends it inside the wait.
    let (end, past_limit) = match limit {
        Some(limit) if end > limit => (limit, true),
        _ => (end, false),
    };
    if in_isr {
        isr_busy_wait(end, past_limit);
        return;
    }
    if with(|k| k.ended.is_some()) {
        // An ISR ended the run: the scheduler stops without resuming this thread.
        swap();
    }
    loop {
        let next = with(|k| {
            let locked = k.threads[k.current as usize].irq_lock > 0;
            match k.next_event() {
                Some(t) if t <= end && !locked => {
                    k.advance_to(t);
                    true
                }
                _ => {
                    k.advance_to(end);
                    false
                }
            }
        });
        time_moved();
        if !next {
            if past_limit {
                with(|k| {
                    k.ended.get_or_insert_with(|| Box::new(End::TimeLimit));
                });
                swap();
            }
            return;
        }
        if run_due_interrupts() {
            interrupt_exit();
        }
    }
}

/// [`busy_wait`] in an ISR, until cycle `end`: interrupts due meanwhile that are more urgent
/// than the running ISR (the system clock and device interrupts, priority 0) nest into it at
/// their time, unless it holds `irq_lock`; others wait for its exit. On a Cortex-M the NVIC
/// preempts an active exception for a strictly more urgent one (ARMv7-M ARM B1.5.4); Zephyr
/// 2.7 runs ISRs with interrupts unlocked (arch/arm/core/aarch32/isr_wrapper.S).
fn isr_busy_wait(end: u64, past_limit: bool) {
    loop {
        let next = with(|k| {
            let nest = k.nvic.level() > crate::nvic::CLOCK_LEVEL
                && k.isr_irq_lock == 0
                && k.ended.is_none();
            match k.next_event() {
                Some(t) if nest && t <= end => {
                    k.advance_to(t);
                    true
                }
                _ => {
                    k.advance_to(end);
                    if past_limit {
                        k.ended.get_or_insert_with(|| Box::new(End::TimeLimit));
                    }
                    false
                }
            }
        });
        if !next {
            return;
        }
        time_moved();
        run_due_interrupts();
    }
}

/// What the scheduler does next.
enum Next {
    /// The run is over.
    End,
    /// Take the interrupt lines that became deliverable between threads.
    Lines,
    /// Switch to the thread context whose saved stack pointer this is, with this value (the
    /// thread already switched in: [`switch_in`]).
    Thread(usize, Resume),
    /// Nothing is ready: play the idle thread.
    Idle,
}

/// The scheduler loop: runs threads until the simulation ends. Plays the idle thread.
///
/// Choosing the next thread and switching to it take one kernel borrow. Most thread switches
/// do not come here: the thread that gives up the CPU switches to the next one itself
/// ([`swap`]).
pub fn run_scheduler() {
    loop {
        let next = with(|k| {
            if k.watch.stop_requested().is_some() && k.ended.is_none() {
                k.ended = Some(Box::new(stalled(k)));
            }
            if k.ended.is_some() {
                return Next::End;
            }
            if k.nvic.pending != 0 {
                // A line pended while its thread held `irq_lock`, and that thread blocked: the
                // CPU takes it before the next thread runs (as the unlocked next thread would).
                k.current = IDLE;
                if line_deliverable(k) {
                    return Next::Lines;
                }
            }
            match k.ready.best() {
                Some(slot) => {
                    // SAFETY: the ready queue's best thread (see `switch_in`).
                    let next = unsafe { switch_in(k, slot) };
                    // SAFETY: `next.sp` points into the table this borrow holds.
                    Next::Thread(unsafe { *next.sp }, next.resume)
                }
                None => Next::Idle,
            }
        });
        match next {
            Next::End => return,
            Next::Lines => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(run_pending_lines)) {
                    with(|k| {
                        let end = ending(k, payload, || "an ISR (between threads)".to_string());
                        k.ended.get_or_insert_with(|| Box::new(end));
                    });
                }
            }
            Next::Thread(sp, resume) => run_thread(sp, resume),
            Next::Idle => {
                with(|k| {
                    if k.last_run != IDLE {
                        k.threads[IDLE as usize].switched_in += 1;
                        k.record(TraceEvent::Switch { from: k.last_run, to: IDLE });
                        k.last_run = IDLE;
                    }
                    k.current = IDLE;
                    // The idle thread is never sliced ([`crate::timeslice`]).
                    k.cancel_time_slice();
                });
                idle();
            }
        }
    }
}

/// Makes `slot` the running thread: the watchdog's progress, the switch count, CPU
/// accounting's switch-in, the cost model's switch charge, the trace. Returns its context and
/// what it finds when resumed.
///
/// # Safety
/// `slot` is a slot of `k.threads`: the ready queue's best thread is one (every thread it
/// holds was indexed in the table when queued, and the table never shrinks).
#[inline(always)]
unsafe fn switch_in(k: &mut Kernel, slot: u32) -> SwitchedIn {
    k.current = slot;
    k.watch.bump();
    k.watch.running.store(slot, Ordering::Relaxed);
    let switched = k.last_run != slot;
    if switched {
        k.switches += 1;
        if k.tracing() {
            k.record(TraceEvent::Switch { from: k.last_run, to: slot });
        }
        k.last_run = slot;
        if k.slice_time != 0 {
            // `do_swap` restarts the slice of the thread it switches in
            // (kernel/include/kswap.h:108-111).
            k.reset_time_slice();
        }
    }
    let (charge, cost_on) = (u64::from(k.cost.context_switch), k.cost_on);
    debug_assert!((slot as usize) < k.threads.len(), "switch to thread {slot}, not in the table");
    // SAFETY: the caller's duty (a slot of the table); on every switch, where the bounds check
    // was three of the round trip's instructions.
    let t = unsafe { k.threads.get_unchecked_mut(slot as usize) };
    if switched {
        t.switched_in += 1;
        t.cost_owed += charge;
    }
    let resume = Resume { retval: t.swap_retval, cost_on };
    assert!(t.co.is_some(), "ready thread without context");
    SwitchedIn { sp: std::ptr::addr_of_mut!(t.sp), resume }
}

/// The thread [`switch_in`] made current: where its stack pointer is saved (its entry in the
/// thread table: one load, where a pointer kept in its context's box was two), and what it
/// finds when resumed.
struct SwitchedIn {
    sp: *mut usize,
    resume: Resume,
}

/// Switches to the context of the thread [`switch_in`] made current, whose saved stack pointer
/// is `sp`, until a thread (that one, or one it handed the CPU to: [`prepare_swap`]) switches
/// back to the scheduler.
fn run_thread(sp: usize, resume: Resume) {
    // SAFETY: we are on the scheduler's stack; `sp` is the saved stack pointer of the thread
    // switched in, whose context is boxed in the thread table and only freed by the scheduler
    // (`retire`, called from here) or at the end of the simulation, never while its thread
    // runs.
    let word = unsafe { context::resume_from_scheduler(sp, resume.pack()) };
    let (stop, slot) = Stop::decode(word);
    if stop != Stop::Reschedule {
        thread_stopped(slot, stop);
    }
}

/// Thread `slot` stopped for good: it ended itself ([`exit_current`]), its body returned or
/// panicked, or a signal abandoned it. Retire it, ending the run if it failed.
#[cold]
#[inline(never)]
fn thread_stopped(slot: u32, stop: Stop) {
    match stop {
        Stop::Reschedule => unreachable!("a thread switch is not a stop"),
        Stop::Exit => {}
        Stop::Ended => {
            let end = with(|k| k.threads[slot as usize].co.as_ref().and_then(|c| c.take_end()));
            match end.expect("a thread ended without saying how") {
                BodyEnd::Returned => with(|k| k.mark_dead(slot)),
                BodyEnd::Panicked(payload) => with(|k| {
                    let end = ending(k, payload, || context(k, slot));
                    k.ended.get_or_insert_with(|| Box::new(end));
                }),
            }
        }
        Stop::StackOverflow => {
            // The thread was abandoned where it overflowed, perhaps inside a kernel call.
            kernel::release_abandoned_borrow();
            with(|k| {
                let end =
                    End::StackOverflow { context: context(k, slot), stack_size: k.stack_size };
                k.ended.get_or_insert_with(|| Box::new(end));
            });
        }
        Stop::Stalled => with(|k| {
            let end = stalled(k);
            k.ended.get_or_insert_with(|| Box::new(end));
        }),
    }
    retire(slot);
}

/// Where the running code's fatal error happens: the current thread, an ISR on its stack, or
/// an ISR while idle (what a panic report names).
pub fn current_context(k: &Kernel) -> String {
    if k.current == IDLE {
        format!("{} (while idle)", k.nvic.describe_innermost())
    } else {
        context(k, k.current)
    }
}

/// The running ISR, and what it interrupted: `the ISR of irq 5 (priority 2) interrupting
/// thread 'main'`, `... (while idle)`.
fn isr_context(k: &Kernel) -> String {
    if k.current == IDLE {
        format!("{} (while idle)", k.nvic.describe_innermost())
    } else {
        format!("{} interrupting thread '{}'", k.nvic.describe_innermost(), k.name(k.current))
    }
}

/// Where a thread's fatal error happened: the thread, or an ISR running on its stack.
fn context(k: &Kernel, slot: u32) -> String {
    if k.isr_depth > 0 {
        format!("{} interrupting thread '{}'", k.nvic.describe_innermost(), k.name(slot))
    } else {
        format!("thread '{}'", k.name(slot))
    }
}

/// Frees a dead thread's context, recycling its host stack. A thread stopped in the middle of
/// its body (it called `k_thread_abort` on itself, another thread aborted it, a signal stopped
/// it) has its stack discarded without unwinding, like an aborted thread's on Zephyr: objects
/// on it are leaked, never dropped.
pub fn retire(slot: u32) {
    let co = with(|k| k.threads[slot as usize].co.take());
    if let Some(co) = co {
        let stack = co.into_stack();
        with(|k| k.stacks.push(stack));
    }
}

/// The idle thread: take due interrupts, or jump virtual time to the next event, or detect
/// that nothing can ever happen again.
fn idle() {
    let next = with(|k| {
        k.release_deferred_irqs();
        k.next_event()
    });
    let Some(next) = next else {
        with(|k| {
            let on_each_other = (1..k.threads.len() as u32).any(|s| {
                k.threads[s as usize].state & _THREAD_DEAD == 0 && kernel::waits_on_thread(k, s)
            });
            // With `Sim::main_return_ends_run(false)`, every thread may have ended (dummy
            // threads, asynchronous mailbox messages, are not threads).
            let all_ended = (1..k.threads.len())
                .all(|s| k.threads[s].state & (_THREAD_DEAD | _THREAD_DUMMY) != 0);
            let end = if all_ended || (!on_each_other && k.idle_ends_run) {
                End::Idle
            } else {
                End::Deadlock(deadlock_report(k, on_each_other))
            };
            k.ended.get_or_insert_with(|| Box::new(end));
        });
        return;
    };
    // Past the run's time limit (`Sim::time_limit`), the run ends at the limit instead.
    let (next, past_limit) = with(|k| match k.time_limit {
        Some(limit) if next > limit => (limit, true),
        _ => (next, false),
    });
    let pace = with(|k| {
        k.advance_to(next);
        k.watch.bump();
        k.watch.running.store(IDLE, Ordering::Relaxed);
        k.realtime.map(|start| (start, k.now, k.cycles_per_sec))
    });
    if let Some((start, now, hz)) = pace {
        let due = start
            + std::time::Duration::from_nanos((now as u128 * 1_000_000_000 / hz as u128) as u64);
        let wall = std::time::Instant::now();
        if due > wall {
            std::thread::sleep(due - wall);
        }
    }
    if past_limit {
        with(|k| {
            k.ended.get_or_insert_with(|| Box::new(End::TimeLimit));
        });
        return;
    }
    match catch_unwind(AssertUnwindSafe(run_due_interrupts)) {
        Ok(_) => {}
        Err(payload) => with(|k| {
            let context = current_context(k);
            k.isr_depth = 0;
            k.nvic.active.clear();
            k.announce_tick = None;
            let end = ending(k, payload, || context);
            k.ended.get_or_insert_with(|| Box::new(end));
        }),
    }
}

fn deadlock_report(k: &Kernel, on_each_other: bool) -> String {
    let why = if on_each_other {
        "threads wait on each other"
    } else {
        "idle forever: every thread waits for an event only an interrupt or a device could \
         bring (Sim::idle_ends_run makes this a normal end)"
    };
    let mut s = format!(
        "deadlock at tick {}: every thread is blocked and no timeout or interrupt is pending; \
         {why}\n",
        k.uptime_ticks()
    );
    for slot in 1..k.threads.len() as u32 {
        let t = &k.threads[slot as usize];
        if t.state & (_THREAD_DEAD | _THREAD_DUMMY) != 0 {
            continue;
        }
        s.push_str(&format!(
            "  {} (prio {}): {}\n",
            k.name(slot),
            t.prio,
            kernel::describe_wait(k, slot)
        ));
    }
    s
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
