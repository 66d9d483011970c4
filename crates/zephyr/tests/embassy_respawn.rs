//! The end of a critical section is a reschedule point (README, "Coming from zephyr-lang-rust"):
//! a task that signals a more urgent executor as its last act is preempted at the end of the
//! signal's critical section, before it returns. So the more urgent executor, respawning the
//! task the moment the signal arrives, finds its storage still taken (`SpawnError::Busy`);
//! once the task has returned (here: one tick later), the respawn works. Upstream
//! zephyr-lang-rust's critical section is not a reschedule point, and the same respawn works
//! there because the woken executor waits for the signaller's next kernel call.

mod embassy_common;

use std::cell::Cell;
use std::rc::Rc;

use embassy_common::*;
use embassy_executor::raw::TaskStorage;
use embassy_executor::SpawnError;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::Timer;
use zephyr_sys::*;

type Done = Signal<CriticalSectionRawMutex, u32>;

/// The task: its last act is the signal.
async fn job(done: &'static Done, n: u32) {
    done.signal(n);
}

/// Runs `job` on an executor at priority 6, signalling a task on an executor at `respawner`
/// priority that respawns it at the signal and, failing that, one tick later: what each
/// respawn returned, and what the second job signalled.
fn respawn(respawner: i32) -> (Option<SpawnError>, Option<SpawnError>, u32) {
    run(10, move || {
        let done: &'static Done = Box::leak(Box::new(Signal::new()));
        let low = executor();
        thread("low", 6, move || low.run(|_| {}));

        let result = Rc::new(Cell::new(None));
        let r = result.clone();
        thread("respawner", respawner, move || {
            executor().run(|s| {
                spawn(&s, async move {
                    let low = low.send_spawner();
                    let storage = Box::leak(Box::new(TaskStorage::new()));
                    low.spawn(storage.spawn(|| job(done, 1)).unwrap());
                    let n = done.wait().await;
                    // A respawn: the error, or None once the token is handed to the spawner.
                    let respawn = || match storage.spawn(|| job(done, n + 1)) {
                        Ok(token) => {
                            low.spawn(token);
                            None
                        }
                        Err(e) => Some(e),
                    };
                    // Woken at the end of the signal's critical section: has `job` returned?
                    let at_signal = respawn();
                    let mut after_return = None;
                    if at_signal.is_some() {
                        Timer::after_ticks(1).await;
                        after_return = respawn();
                    }
                    let second = done.wait().await;
                    r.set(Some((at_signal, after_return, second)));
                })
            })
        });
        // SAFETY: kernel call from the simulated main thread.
        unsafe { k_msleep(10) };
        result.take().expect("the respawning task finished")
    })
}

#[test]
fn a_task_respawned_at_its_done_signal_by_a_more_urgent_executor_is_still_busy() {
    let (at_signal, after_return, second_ran) = respawn(2);
    assert!(matches!(at_signal, Some(SpawnError::Busy)), "{at_signal:?}");
    assert!(after_return.is_none(), "{after_return:?}");
    assert_eq!(second_ran, 2);
}

/// The contrast: a less urgent respawning executor runs only once the job has returned, so the
/// respawn at the signal works.
#[test]
fn a_less_urgent_executor_respawns_at_the_signal() {
    let (at_signal, after_return, second_ran) = respawn(8);
    assert!(at_signal.is_none(), "{at_signal:?}");
    assert!(after_return.is_none(), "{after_return:?}");
    assert_eq!(second_ran, 2);
}
