//! The timeline: a trace for the Perfetto UI and chrome://tracing (Chrome's JSON trace event
//! format), written when a run ends.
//!
//! Enabled by [`crate::Sim::trace_file`] or the `ZEPHYR_SIM_TRACE` environment variable. While
//! it records, the kernel appends a [`Mark`] for every event of the text trace
//! ([`crate::TraceEvent`]) and for what the text trace leaves out: ISR entry and exit, which
//! context readied which thread, and Embassy's executor hooks (`_embassy_trace_*`, with the
//! `embassy-trace` feature). When it is off, nothing is recorded: one test of an `Option` at
//! each of those points.
//!
//! The file ([`Timeline::chrome_json`]) has two processes:
//!
//! * `CPU`: one track per thread with its running intervals (`X` events, from each switch to
//!   it until the next switch away), an `ISR` track with each ISR's interval (the system clock
//!   ISR expiring timeouts and `k_timer`s, device interrupts, interrupt lines as `irq N`, a nested
//!   ISR inside the one it interrupted), instant events for thread
//!   creation and exit, timeouts, timer expiries and device activity, and a flow arrow from
//!   the context that readied a thread (a thread, or an ISR) to that thread's next interval.
//! * `Embassy executors`: one track per executor with each task poll as an interval, and
//!   instants for spawns, wake-ups and task ends.
//!
//! Timestamps are virtual time in microseconds (three decimals: nanoseconds). Without a cost
//! model code takes no virtual time, so most intervals have zero duration: they are the order
//! of events at one instant; `k_busy_wait` and idle waits have length.

use std::fmt::Write as _;

use crate::trace::TraceEvent;

/// Where an event happened: a thread (by slot) or an ISR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// A thread, by slot (0 is idle).
    Thread(u32),
    /// An ISR.
    Isr,
}

/// Which Embassy executor hook was called.
#[cfg_attr(
    not(feature = "embassy-trace"),
    allow(dead_code, reason = "made by the Embassy hooks, with the embassy-trace feature")
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// `_embassy_trace_task_new`: a task was spawned.
    TaskNew,
    /// `_embassy_trace_task_end`: a task ended.
    TaskEnd,
    /// `_embassy_trace_task_ready_begin`: a task was woken.
    TaskReady,
    /// `_embassy_trace_task_exec_begin`: a poll of the task begins.
    ExecBegin,
    /// `_embassy_trace_task_exec_end`: that poll ended.
    ExecEnd,
    /// `_embassy_trace_poll_start`: the executor begins polling.
    PollStart,
    /// `_embassy_trace_executor_idle`: it has polled every task that was ready.
    Idle,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// An event of the text trace.
    Event(TraceEvent),
    /// An ISR begins: the system clock ISR (`what` names the timeout it expires) or a device
    /// interrupt.
    IsrEnter(&'static str),
    /// The ISR ends.
    IsrExit,
    /// A thread was made ready by the mark's context.
    Ready(u32),
    /// An Embassy executor hook, with the executor's and the task's numbers (from 1, in order
    /// of first appearance; 0 when the hook has no task).
    Embassy {
        /// Which hook.
        hook: Hook,
        /// The executor's number.
        executor: u32,
        /// The task's number.
        task: u32,
    },
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The cycle counter when it happened.
    pub cycles: u64,
    /// Where.
    pub context: Context,
    /// What.
    pub what: What,
}

/// The recorded timeline of one run.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Every event in order.
    pub marks: Vec<Mark>,
    /// Embassy executors by number - 1: the id the hooks pass, and where it first polled (a
    /// thread, or an ISR).
    executors: Vec<(u32, Option<Context>)>,
    /// Embassy tasks by number - 1: the id the hooks pass, and the name given with
    /// [`crate::trace::name_task`].
    tasks: Vec<(u32, Option<String>)>,
}

impl Timeline {
    /// Appends a mark.
    pub fn push(&mut self, cycles: u64, context: Context, what: What) {
        self.marks.push(Mark { cycles, context, what });
    }

    /// The number of an executor (from 1), given the id the hooks pass. `polling`: the hook
    /// comes from the executor's poll, so `context` is where the executor runs (a thread, or
    /// an ISR for an interrupt executor); other hooks (spawns, wakes) come from anywhere.
    pub fn executor(&mut self, id: u32, context: Context, polling: bool) -> u32 {
        let place = polling.then_some(context);
        match self.executors.iter().position(|&(e, _)| e == id) {
            Some(i) => {
                let entry = &mut self.executors[i];
                if entry.1.is_none() {
                    entry.1 = place;
                }
                i as u32 + 1
            }
            None => {
                self.executors.push((id, place));
                self.executors.len() as u32
            }
        }
    }

    /// The number of a task (from 1), given the id the hooks pass.
    pub fn task(&mut self, id: u32) -> u32 {
        match self.tasks.iter().position(|(t, _)| *t == id) {
            Some(i) => i as u32 + 1,
            None => {
                self.tasks.push((id, None));
                self.tasks.len() as u32
            }
        }
    }

    /// Names the task the hooks call `id`.
    pub fn name_task(&mut self, id: u32, name: &str) {
        let n = self.task(id);
        self.tasks[n as usize - 1].1 = Some(name.to_string());
    }

    fn task_name(&self, n: u32) -> String {
        match self.tasks.get(n as usize - 1).and_then(|(_, name)| name.clone()) {
            Some(name) => name,
            None => format!("task {n}"),
        }
    }

    /// The trace in Chrome's JSON trace event format: `names` are the threads' names by slot,
    /// `cycles_per_sec` converts cycles to microseconds, `end` (the cycle counter when the
    /// run ended) closes the last interval.
    pub fn chrome_json(&self, names: &[String], cycles_per_sec: u32, end: u64) -> String {
        let mut out = Writer { json: String::new(), hz: cycles_per_sec, first: true };
        out.json.push_str("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        let name = |slot: u32| names.get(slot as usize).cloned().unwrap_or_else(|| "?".into());
        let thread_tid = |slot: u32| slot + 2;
        let tid = |c: Context| match c {
            Context::Thread(slot) => thread_tid(slot),
            Context::Isr => ISR_TID,
        };

        out.meta(CPU_PID, None, "process_name", "CPU", None);
        out.meta(CPU_PID, Some(ISR_TID), "thread_name", "ISR", Some(0));
        for slot in 0..names.len() as u32 {
            out.meta(CPU_PID, Some(thread_tid(slot)), "thread_name", &name(slot), Some(slot + 1));
        }
        if !self.executors.is_empty() {
            out.meta(EMBASSY_PID, None, "process_name", "Embassy executors", None);
            for (i, &(_, place)) in self.executors.iter().enumerate() {
                let on = match place {
                    Some(Context::Thread(slot)) => format!(" on {}", name(slot)),
                    Some(Context::Isr) => " in an ISR".to_string(),
                    None => String::new(),
                };
                let label = format!("executor {}{on}", i + 1);
                out.meta(EMBASSY_PID, Some(i as u32 + 1), "thread_name", &label, Some(i as u32));
            }
        }

        // The running thread and since when; wake-up flows waiting for their thread to run.
        let mut running: Option<(u32, u64)> = None;
        let mut flows: Vec<(u32, u32)> = Vec::new();
        let mut next_flow = 1u32;
        let mut isrs: Vec<(std::borrow::Cow<'static, str>, u64)> = Vec::new();
        let mut polls: Vec<(u32, u32, u64)> = Vec::new();
        for m in &self.marks {
            let ts = m.cycles;
            match &m.what {
                What::Event(TraceEvent::Switch { to, .. }) => {
                    if let Some((slot, since)) = running.take() {
                        out.complete(CPU_PID, thread_tid(slot), "thread", &name(slot), since, ts);
                    }
                    running = Some((*to, ts));
                    flows.retain(|&(thread, id)| {
                        if thread == *to {
                            out.flow_end(thread_tid(thread), id, ts);
                            false
                        } else {
                            true
                        }
                    });
                }
                What::Event(TraceEvent::Create { thread }) => {
                    out.instant(tid(m.context), &format!("create {}", name(*thread)), ts)
                }
                What::Event(TraceEvent::Exit { thread }) => {
                    out.instant(thread_tid(*thread), &format!("exit {}", name(*thread)), ts)
                }
                What::Event(TraceEvent::Timeout { thread }) => {
                    out.instant(tid(m.context), &format!("timeout {}", name(*thread)), ts)
                }
                What::Event(TraceEvent::TimerExpiry { timer }) => {
                    out.instant(tid(m.context), &format!("k_timer #{timer} expired"), ts)
                }
                What::Event(TraceEvent::Irq) => {}
                // An interrupt line's ISR: its interval on the ISR track, nested ones inside.
                What::Event(TraceEvent::IrqEnter { irq }) => {
                    isrs.push((format!("irq {irq}").into(), ts))
                }
                What::IsrExit | What::Event(TraceEvent::IrqExit { .. }) => {
                    if let Some((what, since)) = isrs.pop() {
                        out.complete(CPU_PID, ISR_TID, "isr", &what, since, ts);
                    }
                }
                What::Event(TraceEvent::Device { device, what }) => {
                    out.instant(tid(m.context), &format!("{device}: {what}"), ts)
                }
                What::IsrEnter(what) => isrs.push(((*what).into(), ts)),
                What::Ready(thread) => {
                    out.instant(tid(m.context), &format!("ready {}", name(*thread)), ts);
                    out.flow_start(tid(m.context), next_flow, ts);
                    flows.push((*thread, next_flow));
                    next_flow += 1;
                }
                &What::Embassy { hook, executor, task } => match hook {
                    Hook::ExecBegin => polls.push((executor, task, ts)),
                    Hook::ExecEnd => {
                        if let Some(i) =
                            polls.iter().rposition(|&(e, t, _)| (e, t) == (executor, task))
                        {
                            let (_, _, since) = polls.remove(i);
                            let label = self.task_name(task);
                            out.complete(EMBASSY_PID, executor, "task", &label, since, ts);
                        }
                    }
                    Hook::TaskNew => out.instant_in(
                        EMBASSY_PID,
                        executor,
                        &format!("spawn {}", self.task_name(task)),
                        ts,
                    ),
                    Hook::TaskEnd => out.instant_in(
                        EMBASSY_PID,
                        executor,
                        &format!("end {}", self.task_name(task)),
                        ts,
                    ),
                    Hook::TaskReady => out.instant_in(
                        EMBASSY_PID,
                        executor,
                        &format!("wake {}", self.task_name(task)),
                        ts,
                    ),
                    Hook::PollStart | Hook::Idle => {}
                },
            }
        }
        if let Some((slot, since)) = running {
            out.complete(CPU_PID, thread_tid(slot), "thread", &name(slot), since, end.max(since));
        }
        out.json.push_str("\n]}\n");
        out.json
    }
}

/// The process of the CPU's tracks.
const CPU_PID: u32 = 1;
/// The process of the Embassy executors' tracks.
const EMBASSY_PID: u32 = 2;
/// The ISR track (threads are their slot + 2).
const ISR_TID: u32 = 1;

/// Writes trace events, comma-separated, one per line.
struct Writer {
    json: String,
    hz: u32,
    first: bool,
}

impl Writer {
    fn begin(&mut self) {
        if !self.first {
            self.json.push_str(",\n");
        }
        self.first = false;
    }

    /// Cycles as microseconds with three decimals.
    fn micros(&self, cycles: u64) -> String {
        let ns = cycles as u128 * 1_000_000_000 / self.hz as u128;
        format!("{}.{:03}", ns / 1000, ns % 1000)
    }

    fn meta(&mut self, pid: u32, tid: Option<u32>, what: &str, name: &str, sort: Option<u32>) {
        self.begin();
        let tid = tid.unwrap_or(0);
        let _ = write!(
            self.json,
            "{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"name\":\"{what}\",\"args\":{{\"name\":{}}}}}",
            quote(name)
        );
        if let Some(sort) = sort {
            self.begin();
            let _ = write!(
                self.json,
                "{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"name\":\"thread_sort_index\",\
                 \"args\":{{\"sort_index\":{sort}}}}}"
            );
        }
    }

    fn complete(&mut self, pid: u32, tid: u32, cat: &str, name: &str, from: u64, to: u64) {
        self.begin();
        let (ts, dur) = (self.micros(from), self.micros(to - from));
        let _ = write!(
            self.json,
            "{{\"ph\":\"X\",\"pid\":{pid},\"tid\":{tid},\"cat\":\"{cat}\",\"name\":{},\
             \"ts\":{ts},\"dur\":{dur}}}",
            quote(name)
        );
    }

    fn instant(&mut self, tid: u32, name: &str, at: u64) {
        self.instant_in(CPU_PID, tid, name, at)
    }

    fn instant_in(&mut self, pid: u32, tid: u32, name: &str, at: u64) {
        self.begin();
        let ts = self.micros(at);
        let _ = write!(
            self.json,
            "{{\"ph\":\"i\",\"s\":\"t\",\"pid\":{pid},\"tid\":{tid},\"cat\":\"event\",\
             \"name\":{},\"ts\":{ts}}}",
            quote(name)
        );
    }

    fn flow_start(&mut self, tid: u32, id: u32, at: u64) {
        self.begin();
        let ts = self.micros(at);
        let _ = write!(
            self.json,
            "{{\"ph\":\"s\",\"pid\":{CPU_PID},\"tid\":{tid},\"cat\":\"wake\",\"name\":\"ready\",\
             \"id\":{id},\"ts\":{ts}}}"
        );
    }

    fn flow_end(&mut self, tid: u32, id: u32, at: u64) {
        self.begin();
        let ts = self.micros(at);
        let _ = write!(
            self.json,
            "{{\"ph\":\"f\",\"bp\":\"e\",\"pid\":{CPU_PID},\"tid\":{tid},\"cat\":\"wake\",\
             \"name\":\"ready\",\"id\":{id},\"ts\":{ts}}}"
        );
    }
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Embassy's executor tracing hooks (embassy-executor's `trace` feature), recorded into the
/// running simulation's timeline. Outside a simulation, or when it does not record a timeline,
/// they do nothing.
#[cfg(feature = "embassy-trace")]
mod embassy_hooks {
    use super::Hook;

    fn record(hook: Hook, executor_id: u32, task_id: Option<u32>) {
        if !crate::kernel::running() {
            return;
        }
        crate::kernel::with(|k| k.record_embassy(hook, executor_id, task_id));
    }

    /// The executor begins polling.
    #[no_mangle]
    fn _embassy_trace_poll_start(executor_id: u32) {
        record(Hook::PollStart, executor_id, None)
    }

    /// A task was spawned.
    #[no_mangle]
    fn _embassy_trace_task_new(executor_id: u32, task_id: u32) {
        record(Hook::TaskNew, executor_id, Some(task_id))
    }

    /// A task ended.
    #[no_mangle]
    fn _embassy_trace_task_end(executor_id: u32, task_id: u32) {
        record(Hook::TaskEnd, executor_id, Some(task_id))
    }

    /// A poll of a task begins.
    #[no_mangle]
    fn _embassy_trace_task_exec_begin(executor_id: u32, task_id: u32) {
        record(Hook::ExecBegin, executor_id, Some(task_id));
        if crate::kernel::running() {
            // The cost model's charge for the poll, on the executor's thread.
            crate::cost::executor_poll();
        }
    }

    /// The poll ended.
    #[no_mangle]
    fn _embassy_trace_task_exec_end(executor_id: u32, task_id: u32) {
        record(Hook::ExecEnd, executor_id, Some(task_id))
    }

    /// A task was woken (perhaps from an ISR).
    #[no_mangle]
    fn _embassy_trace_task_ready_begin(executor_id: u32, task_id: u32) {
        record(Hook::TaskReady, executor_id, Some(task_id))
    }

    /// The executor polled every ready task.
    #[no_mangle]
    fn _embassy_trace_executor_idle(executor_id: u32) {
        record(Hook::Idle, executor_id, None)
    }
}
