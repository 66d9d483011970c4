//! The trace file (`Sim::trace_file`, `ZEPHYR_SIM_TRACE`) is valid Chrome JSON trace event
//! format, agrees with the text trace, is the same bytes every run, and shows the Embassy
//! executor's task polls; CPU accounting adds up to the run's virtual time.

use std::collections::HashMap;
use std::path::PathBuf;

use embassy_executor::raw::TaskStorage;
use embassy_time::Timer;
use serde_json::Value;
use zephyr::embassy::Executor;
use zephyr_sim::{Outcome, Sim, TraceEvent};

async fn ticker() {
    for _ in 0..3 {
        Timer::after_millis(2).await;
        zephyr::time::busy_wait(zephyr::time::Duration::from_micros(100));
    }
}

/// A `ticker` task in task storage of its own, named `ticker` in the trace. Not a static
/// `#[embassy_executor::task]` pool: the tests run simulations on parallel host threads, and a
/// pool of one shared between them would make a spawn fail with `Busy` when two overlap.
fn ticker_task() -> embassy_executor::SpawnToken<impl Sized> {
    let storage: &'static TaskStorage<_> = Box::leak(Box::new(TaskStorage::new()));
    let token = storage.spawn(ticker).expect("fresh task storage");
    zephyr_sim::trace::name_task(token.id(), "ticker");
    token
}

/// A small system: main starts a thread that runs an Embassy executor with one task (named
/// `ticker` in the trace), sleeps, works a little in `k_busy_wait`, and returns.
fn program() {
    zephyr_sim::spawn_thread("executor", 2, || {
        let executor: &'static Executor = Box::leak(Box::new(Executor::new()));
        executor.run(|spawner| {
            spawner.spawn(ticker_task());
        })
    });
    // SAFETY: kernel calls from the simulated main thread.
    unsafe {
        zephyr_sys::k_msleep(10);
        zephyr_sys::k_busy_wait(500);
    }
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zephyr-sim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn traced_run(path: &PathBuf) -> (Outcome<()>, Value, String) {
    let outcome = Sim::new().trace(true).trace_file(path).run(program).expect("the run ends");
    let text = std::fs::read_to_string(path).expect("the trace file was written");
    let json: Value = serde_json::from_str(&text).expect("the trace file is JSON");
    (outcome, json, text)
}

fn micros(v: &Value) -> f64 {
    v.as_f64().expect("a number of microseconds")
}

/// Every event has the fields its phase requires (the Trace Event Format document: `ph`, `pid`,
/// `tid`, `ts` in microseconds; `dur` for complete events; `args.name` for metadata; an `id` for
/// flow events, each flow end matching a flow start).
#[test]
fn the_trace_file_is_valid_trace_event_format() {
    let path = temp_file("valid.json");
    let (_, json, _) = traced_run(&path);
    let events = json["traceEvents"].as_array().expect("a traceEvents array");
    assert!(!events.is_empty());
    let mut flow_starts = Vec::new();
    let mut flow_ends = Vec::new();
    for e in events {
        let ph = e["ph"].as_str().expect("ph");
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
        assert!(e["name"].is_string(), "{e}");
        match ph {
            "M" => assert!(e["args"].is_object(), "{e}"),
            "X" => {
                assert!(micros(&e["ts"]) >= 0.0 && micros(&e["dur"]) >= 0.0, "{e}");
            }
            "i" => {
                assert!(micros(&e["ts"]) >= 0.0, "{e}");
                assert_eq!(e["s"], "t", "{e}");
            }
            "s" => flow_starts.push(e["id"].as_u64().expect("flow id")),
            "f" => flow_ends.push(e["id"].as_u64().expect("flow id")),
            other => panic!("unexpected phase {other} in {e}"),
        }
    }
    assert!(!flow_starts.is_empty(), "wake-ups are drawn as flows");
    for id in flow_ends {
        assert!(flow_starts.contains(&id), "flow end {id} without a start");
    }
}

/// The threads' running intervals are the text trace's switches: one interval per switch, to
/// the thread switched to, from the switch's time to the next switch (the last to the end of
/// the run), one after another without gaps.
#[test]
fn thread_intervals_match_the_text_trace() {
    let path = temp_file("intervals.json");
    let (outcome, json, _) = traced_run(&path);
    let events = json["traceEvents"].as_array().unwrap();
    let track_names: HashMap<u64, String> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["pid"] == 1 && e["name"] == "thread_name")
        .map(|e| (e["tid"].as_u64().unwrap(), e["args"]["name"].as_str().unwrap().to_string()))
        .collect();
    let intervals: Vec<(String, f64, f64)> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "thread")
        .map(|e| {
            let track = &track_names[&e["tid"].as_u64().unwrap()];
            assert_eq!(e["name"].as_str().unwrap(), track, "an interval is on its thread's track");
            (track.clone(), micros(&e["ts"]), micros(&e["dur"]))
        })
        .collect();
    // At 1 MHz, one cycle is one microsecond.
    let switches: Vec<(String, f64)> = outcome
        .trace
        .iter()
        .filter_map(|r| match r.event {
            TraceEvent::Switch { to, .. } => {
                Some((outcome.thread_names[to as usize].clone(), r.cycles as f64))
            }
            _ => None,
        })
        .collect();
    assert!(switches.len() > 5, "{}", outcome.trace_text());
    let starts: Vec<(String, f64)> = intervals.iter().map(|(n, ts, _)| (n.clone(), *ts)).collect();
    assert_eq!(starts, switches);
    for pair in intervals.windows(2) {
        assert_eq!(pair[0].1 + pair[0].2, pair[1].1, "{pair:?}: intervals follow each other");
    }
    let (_, ts, dur) = intervals.last().unwrap();
    assert_eq!(ts + dur, outcome.cycles as f64, "the last interval lasts until the end");
    // The executor's polls of the named task are on the executor's track.
    let polls =
        events.iter().filter(|e| e["ph"] == "X" && e["pid"] == 2 && e["name"] == "ticker").count();
    assert!(polls >= 4, "one poll to start and one per timer: {polls}");
    assert!(events.iter().any(|e| e["ph"] == "M" && e["args"]["name"] == "executor 1 on executor"));
    // ISRs: the system clock ISR ended each sleep and timer wait.
    assert!(events.iter().any(|e| e["ph"] == "X" && e["cat"] == "isr"));
}

/// The same program writes the same bytes every run.
#[test]
fn the_trace_file_is_the_same_every_run() {
    let (a, b) = (temp_file("first.json"), temp_file("second.json"));
    let (_, _, first) = traced_run(&a);
    let (_, _, second) = traced_run(&b);
    assert_eq!(first, second);
}

/// Thread, ISR and idle times add up to the run's virtual time; the thread's `k_busy_wait`s
/// are its running time, the rest is idle.
#[test]
fn cpu_time_adds_up_to_the_run() {
    let outcome = Sim::new().run(program).unwrap();
    let cpu = &outcome.cpu;
    let threads: u64 = cpu.threads.iter().map(|t| t.cycles).sum();
    assert_eq!(threads + cpu.isr_cycles, cpu.total_cycles);
    assert_eq!(cpu.total_cycles, outcome.cycles);
    assert_eq!(cpu.thread("main").unwrap().cycles, 500);
    assert_eq!(cpu.thread("executor").unwrap().cycles, 3 * 100);
    assert_eq!(cpu.idle_cycles(), outcome.cycles - 800);
}

/// An `InterruptExecutor`'s track says it polls in an ISR (not on the thread that spawned its
/// task), and its task's polls are on it.
#[test]
fn an_interrupt_executors_track_is_labelled_as_an_isr() {
    let path = temp_file("irq-executor.json");
    Sim::new()
        .trace_file(&path)
        .run(|| {
            let executor: &'static zephyr::embassy::InterruptExecutor =
                Box::leak(Box::new(zephyr::embassy::InterruptExecutor::new()));
            executor.start(4, 2).spawn(ticker_task());
            // SAFETY: kernel call from the simulated main thread.
            unsafe { zephyr_sys::k_msleep(10) };
        })
        .expect("the run ends");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["ph"] == "M" && e["args"]["name"] == "executor 1 in an ISR"),
        "{events:?}"
    );
    let polls =
        events.iter().filter(|e| e["ph"] == "X" && e["pid"] == 2 && e["name"] == "ticker").count();
    assert_eq!(polls, 4, "one poll to start and one per timer");
}
