//! GPIO: the simulated controller behind Zephyr 2.7's GPIO API (`drivers/gpio.h`,
//! `drivers/gpio/gpio_utils.h`), and `zephyr::device::gpio`'s pins, embedded-hal traits and
//! interrupt-driven waits under the Embassy executor and kio. Board: 10 kHz ticks, a 1 MHz cycle
//! counter (100 cycles a tick), main at priority 5.

mod async_common;
mod embassy_common;

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use embassy_common::{run_task, spawn, thread};
use embassy_futures::join::join3;
use embassy_futures::select::{select, Either};
use embassy_time::Timer;
use embedded_hal::digital::{InputPin, OutputPin, PinState, StatefulOutputPin};
use embedded_hal_async::digital::Wait;
use zephyr::device::gpio::{Error, Pin, Pull, Trigger};
use zephyr_sim::devices::gpio::GpioPort;
use zephyr_sim::devices::Board;
use zephyr_sim::{Sim, SimError};
use zephyr_sys::gpio_flags::*;
use zephyr_sys::*;

/// The board: `gpio0` (32 pins) with an active-low LED on pin 13, an active-low button with
/// a pull-up on pin 11, plain inputs on pins 2 and 12; `gpio1` (8 pins); `gpio9`, whose driver
/// failed to initialise, with a pin.
fn board() -> Board {
    Board::new()
        .gpio("gpio0", 32)
        .gpio("gpio1", 8)
        .gpio("gpio9", 8)
        .not_ready("gpio9")
        .pin("led0", "gpio0", 13, GPIO_ACTIVE_LOW)
        .pin("sw0", "gpio0", 11, GPIO_ACTIVE_LOW | GPIO_PULL_UP)
        .pin("in0", "gpio0", 2, 0)
        .pin("in1", "gpio0", 12, 0)
        .pin("dead0", "gpio9", 1, 0)
}

/// Runs `main` on [`board`]; panics with the simulator's report if the run fails.
fn sim<R: 'static>(main: impl FnOnce() -> R + 'static) -> R {
    try_sim(main).unwrap_or_else(|e| panic!("simulation failed: {e}"))
}

fn try_sim<R: 'static>(main: impl FnOnce() -> R + 'static) -> Result<R, SimError> {
    Sim::new().main_priority(5).board(board()).run(main).map(|o| o.value.expect("main returned"))
}

/// The hardware cycle counter.
fn cycles() -> u64 {
    // SAFETY: kernel call from a simulated thread.
    unsafe { k_cycle_get_64() }
}

/// `k_uptime_ticks()`.
fn ticks() -> i64 {
    embassy_common::ticks()
}

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(&Waker::from(Arc::new(Noop))))
}

/// The trace's lines about `device`, as `T=<tick> c=<cycle> <what>`.
fn device_lines(trace: &str, device: &str) -> Vec<String> {
    let tag = format!(" {device}: ");
    trace.lines().filter(|l| l.contains(&tag)).map(|l| l.replace(&tag, " ")).collect()
}

// ------------------------------------------------------------------ lookup

/// An unknown label is `NotFound` (`ENOENT`), a pin of a controller whose driver failed to
/// initialise is `NotReady` (`ENODEV`, `device_is_ready` false): never a null pointer. The
/// errors convert to and from the crate's errno, and are embedded-hal errors.
#[test]
fn lookup_errors_are_typed() {
    let (unknown, not_ready, too_long, device) = sim(|| {
        (
            Pin::get("no-such-node").map(drop),
            Pin::get("dead0").map(drop),
            Pin::get(&"x".repeat(100)).map(drop),
            zephyr::device::Device::get("gpio9").map(drop),
        )
    });
    assert_eq!(unknown, Err(Error::NotFound));
    assert_eq!(not_ready, Err(Error::NotReady));
    assert_eq!(too_long, Err(Error::InvalidArgument));
    assert_eq!(device, Err(zephyr::Error::ENODEV));
    assert_eq!(zephyr::Error::from(Error::NotFound), zephyr::Error::ENOENT);
    assert_eq!(Error::from(zephyr::Error::EIO), Error::Driver(zephyr::Error::EIO));
    use embedded_hal::digital::Error as _;
    assert_eq!(Error::NotReady.kind(), embedded_hal::digital::ErrorKind::Other);
}

/// A found pin has its devicetree description.
#[test]
fn a_pin_has_its_devicetree_description() {
    let (number, active_low, flags, port_is_gpio0) = sim(|| {
        let led = Pin::get("led0").unwrap();
        let gpio0 = zephyr::device::Device::get("gpio0").unwrap();
        (led.number(), led.is_active_low(), led.dt_flags(), led.port() == gpio0)
    });
    assert_eq!((number, active_low, flags, port_is_gpio0), (13, true, 1, true));
}

// ------------------------------------------------------------------ outputs

/// An active-low LED: logical levels through embedded-hal (`set_high` is on, a low wire), the
/// wire's history with exact cycles, and the stateful view.
#[test]
fn output_history_with_active_low() {
    let (history, states, wire) = sim(|| {
        let port = GpioPort::get("gpio0");
        let mut led = Pin::get("led0").unwrap().into_output(PinState::Low).unwrap();
        let mut states = vec![led.is_set_high().unwrap()];
        zephyr::time::sleep(zephyr::time::Duration::from_ticks(10)); // to tick 11
        led.set_high().unwrap();
        states.push(led.is_set_high().unwrap());
        let wire = port.output(13);
        zephyr::time::sleep(zephyr::time::Duration::from_ticks(10)); // to tick 22
        led.toggle().unwrap();
        led.set_low().unwrap(); // already low: no change on the wire
        states.push(led.is_set_low().unwrap());
        (port.history(13), states, wire)
    });
    // Off is a high wire (GPIO_OUTPUT_INACTIVE on an active-low pin), on is low.
    assert_eq!(history, [(0, true), (1100, false), (2200, true)]);
    assert_eq!(states, [false, true, true]);
    assert!(!wire, "the LED is on: the wire is low");
}

/// `PinState::High` starts active: the active-low wire starts low.
#[test]
fn an_output_starts_at_its_logical_level() {
    let history = sim(|| {
        Pin::get("led0").unwrap().into_output(PinState::High).unwrap();
        GpioPort::get("gpio0").history(13)
    });
    assert_eq!(history, [(0, false)]);
}

// ------------------------------------------------------------------ inputs and waits

/// Inputs read logical levels: the button (active low, pulled up) reads inactive while
/// released and active while a test holds it low.
#[test]
fn inputs_read_logical_levels() {
    let levels = sim(|| {
        let port = GpioPort::get("gpio0");
        let mut button = Pin::get("sw0").unwrap().into_input().unwrap();
        let mut levels = vec![(port.level(11), button.is_high().unwrap())];
        port.drive(11, false);
        levels.push((port.level(11), button.is_high().unwrap()));
        port.release(11);
        levels.push((port.level(11), button.is_low().unwrap()));
        let mut plain = Pin::get("in0").unwrap().into_input_with(Pull::Up).unwrap();
        levels.push((port.level(2), plain.is_high().unwrap()));
        levels
    });
    assert_eq!(levels, [(true, false), (false, true), (true, true), (true, true)]);
}

/// Edges driven at virtual times wake an Embassy task and a kio task at exactly those times,
/// through the pin's interrupt (no polling): the task runs at the cycle of the edge.
#[cfg(not(feature = "no-kio"))]
#[test]
fn edges_at_virtual_times_wake_embassy_and_kio_tasks() {
    let (embassy, kio) = sim(|| {
        let port = GpioPort::get("gpio0");
        let mut in0 = Pin::get("in0").unwrap().into_input().unwrap();
        let mut in1 = Pin::get("in1").unwrap().into_input().unwrap();
        port.drive_at_us(12, true, 500);
        port.drive_at_us(12, false, 3_456);
        port.drive_at_us(2, true, 1_234);
        port.drive_at_us(2, false, 4_000);
        let q = async_common::queue(c"kio", 3);
        let kio_task = zephyr::kio::spawn(
            async move {
                in1.wait_for_falling_edge().await.unwrap();
                (cycles(), ticks())
            },
            &q,
            c"task",
        );
        let embassy = run_task(async move {
            let mut out = Vec::new();
            in0.wait_for_rising_edge().await.unwrap();
            out.push((cycles(), ticks()));
            in0.wait_for_falling_edge().await.unwrap();
            out.push((cycles(), ticks()));
            out
        });
        (embassy, kio_task.join())
    });
    assert_eq!(embassy, [(1_234, 12), (4_000, 40)]);
    assert_eq!(kio, (3_456, 34), "the rise at 500 us is not a falling edge");
}

/// `wait_for_any_edge` sees each change, whichever way; an edge to the level the pin already
/// has is no edge.
#[test]
fn wait_for_any_edge_sees_each_change() {
    let woke = sim(|| {
        let port = GpioPort::get("gpio0");
        let mut in0 = Pin::get("in0").unwrap().into_input().unwrap();
        port.drive_at_cycle(2, false, 1_000); // already low: nothing happens
        port.drive_at_cycle(2, true, 2_000);
        port.drive_at_cycle(2, false, 3_000);
        run_task(async move {
            let mut woke = Vec::new();
            for _ in 0..2 {
                in0.wait_for_any_edge().await.unwrap();
                woke.push(cycles());
            }
            woke
        })
    });
    assert_eq!(woke, [2_000, 3_000]);
}

/// Level waits return at once when the level already holds, without adding a callback; a
/// level wait that does wait enables the pin's (logical) level interrupt, whose callback
/// disables it: it fires once, and the wait ends with the callback removed.
#[test]
fn level_waits() {
    let outcome = Sim::new()
        .main_priority(5)
        .board(board())
        .trace(true)
        .run(|| {
            let port = GpioPort::get("gpio0");
            let mut button = Pin::get("sw0").unwrap().into_input().unwrap(); // released
            let first = {
                let mut low = pin!(button.wait(Trigger::Low));
                (poll_once(low.as_mut()), port.callbacks())
            };
            port.drive_at_us(11, false, 2_500); // pressed
            let p = port.clone();
            let rest = run_task(async move {
                let (during, woke) = {
                    let mut high = pin!(button.wait(Trigger::High));
                    let pending = poll_once(high.as_mut()).is_pending();
                    let during = (pending, p.callbacks(), p.interrupt_enabled(11));
                    high.await.unwrap(); // polled again with the task's waker
                    (during, cycles())
                };
                let after = (p.callbacks(), p.interrupt_enabled(11));
                // Still pressed: a new wait for it returns at once.
                let mut again = pin!(button.wait_for_high());
                let again = (poll_once(again.as_mut()), p.callbacks());
                (during, woke, after, again)
            });
            (first, rest)
        })
        .unwrap();
    let trace = outcome.trace_text();
    let (first, (during, woke, after, again)) = outcome.value.unwrap();
    assert_eq!(first, (Poll::Ready(Ok(())), 0));
    assert_eq!(during, (true, 1, true));
    assert_eq!(woke, 2_500);
    assert_eq!(after, (0, false));
    assert_eq!(again, (Poll::Ready(Ok(())), 0));
    assert_eq!(
        device_lines(&trace, "gpio0"),
        ["T=0 c=0 pin 11 <- 1", "T=25 c=2500 pin 11 <- 0", "T=25 c=2500 interrupt pins 11"],
        "the pull-up, the press; the level interrupt fired once"
    );
}

/// Cancellation under Embassy: a wait that loses a `select` against a timer is dropped, which
/// disables the interrupt and removes its callback; a later edge calls nothing (the callback's
/// memory is gone) and the pin waits again as before.
#[test]
fn dropping_a_wait_removes_its_callback() {
    let outcome = Sim::new()
        .main_priority(5)
        .board(board())
        .trace(true)
        .run(|| {
            let port = GpioPort::get("gpio0");
            let mut in0 = Pin::get("in0").unwrap().into_input().unwrap();
            port.drive_at_cycle(2, true, 10_000); // after the timer
            port.drive_at_cycle(2, false, 11_000);
            port.drive_at_cycle(2, true, 20_000);
            let p = port.clone();
            run_task(async move {
                let mut out = Vec::new();
                let r = select(in0.wait_for_rising_edge(), Timer::after_ticks(50)).await;
                out.push(format!(
                    "T={} timer won: {}, callbacks {}, interrupt {}",
                    ticks(),
                    matches!(r, Either::Second(())),
                    p.callbacks(),
                    p.interrupt_enabled(2)
                ));
                Timer::after_ticks(100).await; // past the edges at 10 000 and 11 000 cycles
                in0.wait_for_rising_edge().await.unwrap();
                out.push(format!("T={} rising edge, callbacks {}", ticks(), p.callbacks()));
                out
            })
        })
        .unwrap();
    let trace = outcome.trace_text();
    assert_eq!(
        outcome.value.unwrap(),
        ["T=50 timer won: true, callbacks 0, interrupt false", "T=200 rising edge, callbacks 0"]
    );
    assert_eq!(
        device_lines(&trace, "gpio0"),
        [
            "T=100 c=10000 pin 2 <- 1",
            "T=110 c=11000 pin 2 <- 0",
            "T=200 c=20000 pin 2 <- 1",
            "T=200 c=20000 interrupt pins 2",
        ],
        "no interrupt while nobody waits"
    );
}

/// Cancellation under kio: the same, with `kio::sleep` winning the `select`.
#[cfg(not(feature = "no-kio"))]
#[test]
fn dropping_a_wait_under_kio_removes_its_callback() {
    let got = sim(|| {
        let port = GpioPort::get("gpio0");
        let mut in0 = Pin::get("in0").unwrap().into_input().unwrap();
        port.drive_at_cycle(2, true, 10_000);
        let q = async_common::queue(c"kio", 3);
        let p = port.clone();
        let task = zephyr::kio::spawn(
            async move {
                let r = select(
                    in0.wait_for_high(),
                    zephyr::kio::sleep(zephyr::time::Duration::from_ticks(30)),
                )
                .await;
                let at = ticks();
                // The level wait is over; now wait for the level.
                in0.wait_for_high().await.unwrap();
                (matches!(r, Either::Second(())), at, cycles())
            },
            &q,
            c"task",
        );
        thread("watcher", 4, move || {
            zephyr::time::sleep(zephyr::time::Instant::from_ticks(50));
            assert_eq!(p.callbacks(), 1, "the second wait's callback");
        });
        let r = task.join();
        (r, port.callbacks())
    });
    assert_eq!(got, ((true, 31, 10_000), 0));
}

/// Two pins of one controller wait at once, each with its own callback, and each wakes at its
/// own edge; a third pin's edge wakes neither.
#[test]
fn two_pins_wait_concurrently() {
    let (woke, waiting) = sim(|| {
        let port = GpioPort::get("gpio0");
        let mut in0 = Pin::get("in0").unwrap().into_input().unwrap();
        let mut in1 = Pin::get("in1").unwrap().into_input().unwrap();
        let dev = zephyr::device::Device::get("gpio0").unwrap().as_raw();
        // SAFETY: pin 5 of a GPIO controller: an input whose interrupt fires with no callback
        // for it.
        unsafe {
            gpio_pin_configure(dev, 5, GPIO_INPUT);
            gpio_pin_interrupt_configure(dev, 5, GPIO_INT_EDGE_RISING);
        }
        port.drive_at_cycle(5, true, 1_500);
        port.drive_at_cycle(12, true, 2_000);
        port.drive_at_cycle(2, true, 3_000);
        let p = port.clone();
        let waiting = std::rc::Rc::new(std::cell::Cell::new(0));
        let w = waiting.clone();
        let woke = run_task(async move {
            let a = async {
                in0.wait_for_rising_edge().await.unwrap();
                ("in0", cycles())
            };
            let b = async {
                in1.wait_for_rising_edge().await.unwrap();
                ("in1", cycles())
            };
            let count = async {
                Timer::after_ticks(5).await; // both are waiting
                w.set(p.callbacks());
            };
            let (a, b, ()) = join3(a, b, count).await;
            (a, b)
        });
        (woke, waiting.get())
    });
    assert_eq!(woke, (("in0", 3_000), ("in1", 2_000)));
    assert_eq!(waiting, 2, "one callback per waiting pin");
}

/// Tasks on two executor threads share a controller: a button press wakes the main thread's
/// task, which lights the LED while it is held; the other executor's task waits on another pin
/// throughout, its callback untouched by the button's interrupts.
#[test]
fn tasks_on_two_executors_share_a_controller() {
    let (history, waiting) = sim(|| {
        let port = GpioPort::get("gpio0");
        let mut button = Pin::get("sw0").unwrap().into_input().unwrap();
        let mut led = Pin::get("led0").unwrap().into_output(PinState::Low).unwrap();
        let mut in0 = Pin::get("in0").unwrap().into_input().unwrap();
        port.drive_at_us(11, false, 700); // press
        port.drive_at_us(11, true, 900); // release
        let ex = embassy_common::executor();
        thread("executor", 2, move || {
            ex.run(|s| {
                spawn(&s, async move {
                    let _ = in0.wait_for_rising_edge().await; // never comes
                });
            })
        });
        run_task(async move {
            button.wait_for_rising_edge().await.unwrap(); // pressed: active
            led.set_high().unwrap();
            button.wait_for_falling_edge().await.unwrap();
            led.set_low().unwrap();
        });
        (port.history(13), port.callbacks())
    });
    assert_eq!(history, [(0, true), (700, false), (900, true)]);
    assert_eq!(waiting, 1, "the other executor's wait is still registered");
}

// ------------------------------------------------------------------ trace

/// Device activity is in the trace: outputs (`->`), levels from outside (`<-`) and the
/// controller's interrupts, at their virtual times.
#[test]
fn the_trace_shows_device_activity() {
    let outcome = Sim::new()
        .main_priority(5)
        .board(board())
        .trace(true)
        .run(|| {
            let port = GpioPort::get("gpio0");
            let mut button = Pin::get("sw0").unwrap().into_input().unwrap();
            let mut led = Pin::get("led0").unwrap().into_output(PinState::Low).unwrap();
            port.drive_at_us(11, false, 700); // press
            port.drive_at_us(11, true, 900); // release
            run_task(async move {
                button.wait_for_rising_edge().await.unwrap();
                led.set_high().unwrap();
                button.wait_for_falling_edge().await.unwrap();
                led.set_low().unwrap();
            });
        })
        .unwrap();
    assert_eq!(
        device_lines(&outcome.trace_text(), "gpio0"),
        [
            "T=0 c=0 pin 11 <- 1", // the pull-up
            "T=0 c=0 pin 13 -> 1", // the LED, off
            "T=7 c=700 pin 11 <- 0",
            "T=7 c=700 interrupt pins 11",
            "T=7 c=700 pin 13 -> 0",
            "T=9 c=900 pin 11 <- 1",
            "T=9 c=900 interrupt pins 11",
            "T=9 c=900 pin 13 -> 1",
        ]
    );
}

// ------------------------------------------------------------------ the raw API

thread_local! {
    /// What the raw tests' callbacks saw: (callback, pins).
    static CALLS: RefCell<Vec<(&'static str, u32)>> = const { RefCell::new(Vec::new()) };
}

/// A callback with a name, for the raw tests.
#[repr(C)]
struct Named {
    cb: gpio_callback,
    name: &'static str,
    /// What the handler does after recording the call.
    then: fn(*const device, u32, usize),
}

impl Named {
    fn leak(name: &'static str, mask: u32, then: fn(*const device, u32, usize)) -> *mut Named {
        let n = Box::leak(Box::new(Named { cb: gpio_callback::new(), name, then }));
        // SAFETY: a leaked callback.
        unsafe { gpio_init_callback(&mut n.cb, Some(record), mask) };
        n
    }
}

unsafe extern "C-unwind" fn record(port: *const device, cb: *mut gpio_callback, pins: u32) {
    // SAFETY: every raw test's callback is the first field of a leaked `Named`.
    let named = unsafe { &*(cb as *const Named) };
    let n = CALLS.with(|c| {
        c.borrow_mut().push((named.name, pins));
        c.borrow().len()
    });
    (named.then)(port, pins, n);
}

fn nothing(_: *const device, _: u32, _: usize) {}

fn calls() -> Vec<(&'static str, u32)> {
    CALLS.with(|c| c.borrow_mut().drain(..).collect())
}

/// `gpio_remove_callback` is `-EINVAL` for a callback that is not added, except on a port with
/// no callbacks at all, where Zephyr 2.7's `gpio_manage_callback` returns 0; adding one twice
/// keeps one entry.
#[test]
fn callback_list_return_codes() {
    let got = sim(|| {
        let port = GpioPort::get("gpio0");
        let dev = zephyr::device::Device::get("gpio0").unwrap().as_raw();
        let (a, b) = (Named::leak("a", 1, nothing), Named::leak("b", 1, nothing));
        // SAFETY: leaked callbacks on a GPIO controller.
        unsafe {
            let a = &mut (*a).cb as *mut gpio_callback;
            let b = &mut (*b).cb as *mut gpio_callback;
            let empty = gpio_remove_callback(dev, a);
            let add = [gpio_add_callback(dev, a), gpio_add_callback(dev, a)];
            let count = port.callbacks();
            let not_added = gpio_remove_callback(dev, b);
            let removed = gpio_remove_callback(dev, a);
            (empty, add, count, not_added, removed, port.callbacks())
        }
    });
    assert_eq!(got, (0, [0, 0], 1, -EINVAL, 0, 0));
}

/// Return codes of configuration: `-EINVAL` for a pin the port does not have, `-ENOTSUP` for
/// an open-drain output (as `gpio_emul`), 0 otherwise.
#[test]
fn configuration_return_codes() {
    let got = sim(|| {
        let gpio1 = zephyr::device::Device::get("gpio1").unwrap().as_raw();
        // SAFETY: calls on a GPIO controller.
        unsafe {
            [
                gpio_pin_configure(gpio1, 7, GPIO_INPUT),
                gpio_pin_configure(gpio1, 8, GPIO_INPUT),
                gpio_pin_configure(gpio1, 200, GPIO_OUTPUT),
                gpio_pin_configure(gpio1, 3, GPIO_OUTPUT | GPIO_OPEN_DRAIN),
                gpio_pin_interrupt_configure(gpio1, 7, GPIO_INT_EDGE_BOTH),
                gpio_pin_interrupt_configure(gpio1, 8, GPIO_INT_EDGE_BOTH),
                gpio_pin_interrupt_configure(gpio1, 7, GPIO_INT_DISABLE),
            ]
        }
    });
    assert_eq!(got, [0, -EINVAL, -EINVAL, -ENOTSUP, 0, -EINVAL, 0]);
}

/// One misuse that `drivers/gpio.h` only asserts against, on `gpio1`.
fn misuse(case: usize) {
    let d = zephyr::device::Device::get("gpio1").unwrap().as_raw();
    // SAFETY: calls on a GPIO controller (with arguments the header asserts against).
    unsafe {
        match case {
            0 => gpio_pin_configure(d, 1, GPIO_INPUT | GPIO_PULL_UP | GPIO_PULL_DOWN),
            1 => gpio_pin_configure(d, 1, GPIO_INPUT | GPIO_INT_EDGE_BOTH),
            2 => gpio_pin_interrupt_configure(
                d,
                1,
                GPIO_INT_ENABLE | GPIO_INT_LOW_0 | GPIO_INT_HIGH_1,
            ),
            _ => gpio_pin_get(d, 9),
        };
    }
}

/// What `drivers/gpio.h` only asserts is a panic naming the call.
#[test]
fn header_assertions_are_panics() {
    let messages = [
        "gpio_pin_configure: pull up and pull down",
        "gpio_pin_configure: interrupt flags",
        "gpio_pin_interrupt_configure: only one of GPIO_INT_LOW_0",
        "gpio_pin_get: pin 9 is not a pin of 'gpio1'",
    ];
    for (case, message) in messages.into_iter().enumerate() {
        match try_sim(move || misuse(case)) {
            Err(SimError::Panic { message: m, .. }) => assert!(m.contains(message), "{m}"),
            other => panic!("expected a panic containing {message:?}, got {other:?}"),
        }
    }
}

/// Logical and physical levels (`invert`, from `GPIO_ACTIVE_LOW` at configuration): an
/// active-low pin set to 1 is a low wire; a pin both input and output reads what it drives;
/// `GPIO_OUTPUT_INIT_LOGICAL` starts an active-low pin at the other physical level.
#[test]
fn logical_and_physical_levels() {
    let got = sim(|| {
        let gpio1 = zephyr::device::Device::get("gpio1").unwrap().as_raw();
        let port = GpioPort::get("gpio1");
        // SAFETY: calls on a GPIO controller.
        unsafe {
            let f = GPIO_INPUT | GPIO_OUTPUT_ACTIVE | GPIO_ACTIVE_LOW;
            assert_eq!(gpio_pin_configure(gpio1, 0, f), 0);
            let start = (port.output(0), gpio_pin_get_raw(gpio1, 0), gpio_pin_get(gpio1, 0));
            gpio_pin_set(gpio1, 0, 0);
            let inactive = (port.output(0), gpio_pin_get_raw(gpio1, 0), gpio_pin_get(gpio1, 0));
            gpio_pin_set_raw(gpio1, 0, 0);
            let raw_low = (port.output(0), gpio_pin_get_raw(gpio1, 0), gpio_pin_get(gpio1, 0));
            gpio_pin_toggle(gpio1, 0);
            let toggled = (port.output(0), gpio_pin_get_raw(gpio1, 0), gpio_pin_get(gpio1, 0));
            // Output only: the input reads 0 whatever it drives.
            assert_eq!(gpio_pin_configure(gpio1, 1, GPIO_OUTPUT_HIGH), 0);
            let output_only = (port.output(1), gpio_pin_get_raw(gpio1, 1));
            (start, inactive, raw_low, toggled, output_only)
        }
    });
    assert_eq!(
        got,
        (
            (false, 0, 1), // active: a low wire
            (true, 1, 0),
            (false, 0, 1),
            (true, 1, 0),
            (true, 0),
        )
    );
}

/// Interrupts: callbacks get the fired pins masked by their `pin_mask`, the most recently
/// added first; edges latched while interrupts are locked reach the callbacks together, in one
/// ISR; a logical edge on an active-low pin is the physical opposite.
#[test]
fn callbacks_get_their_pins_in_list_order() {
    let got = sim(|| {
        let dev = zephyr::device::Device::get("gpio1").unwrap().as_raw();
        let port = GpioPort::get("gpio1");
        // SAFETY: calls on a GPIO controller with leaked callbacks.
        unsafe {
            for pin in 2..=4 {
                gpio_pin_configure(dev, pin, GPIO_INPUT);
                gpio_pin_interrupt_configure(dev, pin, GPIO_INT_EDGE_RISING);
            }
            gpio_pin_configure(dev, 5, GPIO_INPUT | GPIO_ACTIVE_LOW);
            gpio_pin_interrupt_configure(dev, 5, GPIO_INT_EDGE_TO_ACTIVE);
            let a = Named::leak("a", 0b001100, nothing);
            let b = Named::leak("b", 0b111000, nothing);
            gpio_add_callback(dev, &mut (*a).cb);
            gpio_add_callback(dev, &mut (*b).cb);
            port.drive(2, true);
            let one = calls();
            let key = irq_lock();
            port.drive(3, true);
            port.drive(4, true);
            port.drive(4, false); // a falling edge: not this trigger
            let locked = calls();
            irq_unlock(key);
            let together = calls();
            port.drive(5, true); // inactive
            port.drive(5, false); // to active
            let logical = calls();
            (one, locked, together, logical)
        }
    });
    assert_eq!(got.0, [("a", 0b100)]);
    assert_eq!(got.1, []);
    assert_eq!(got.2, [("b", 0b11000), ("a", 0b1000)], "b was added last; both see pin 3");
    assert_eq!(got.3, [("b", 0b100000)], "the edge to active is the physical falling edge");
}

fn release_after_three(port: *const device, pins: u32, n: usize) {
    if n == 3 {
        let _ = (port, pins);
        GpioPort::get("gpio1").drive(6, false);
    }
}

fn disable(port: *const device, pins: u32, _: usize) {
    // SAFETY: in the controller's ISR, for its pin.
    unsafe { gpio_pin_interrupt_configure(port, pins.trailing_zeros() as u8, GPIO_INT_DISABLE) };
}

/// A level interrupt fires again after its callbacks while the level holds (one ISR), until a
/// callback changes the level or disables it; one whose callback disables it fires once.
/// Enabling a level interrupt while the level holds fires it before the call returns.
#[test]
fn level_interrupts_fire_while_the_level_holds() {
    let got = sim(|| {
        let dev = zephyr::device::Device::get("gpio1").unwrap().as_raw();
        let port = GpioPort::get("gpio1");
        // SAFETY: calls on a GPIO controller with leaked callbacks.
        unsafe {
            gpio_pin_configure(dev, 6, GPIO_INPUT);
            gpio_pin_configure(dev, 7, GPIO_INPUT | GPIO_PULL_UP);
            let a = Named::leak("six", 1 << 6, release_after_three);
            let b = Named::leak("seven", 1 << 7, disable);
            gpio_add_callback(dev, &mut (*a).cb);
            gpio_add_callback(dev, &mut (*b).cb);
            gpio_pin_interrupt_configure(dev, 6, GPIO_INT_LEVEL_HIGH);
            port.drive(6, true);
            let six = (calls(), cycles());
            // Pin 7 is high (pulled up) already.
            gpio_pin_interrupt_configure(dev, 7, GPIO_INT_LEVEL_HIGH);
            let seven = (calls(), port.interrupt_enabled(7));
            (six, seven)
        }
    });
    assert_eq!(got.0, (vec![("six", 1 << 6); 3], 0));
    assert_eq!(got.1, (vec![("seven", 1 << 7)], false));
}

/// A level interrupt whose callback neither disables it nor changes the level would hang a
/// real CPU: the simulation ends with a panic naming the pin.
#[test]
fn an_interrupt_storm_is_a_panic() {
    let r = try_sim(|| {
        let dev = zephyr::device::Device::get("gpio1").unwrap().as_raw();
        // SAFETY: calls on a GPIO controller with a leaked callback.
        unsafe {
            gpio_pin_configure(dev, 1, GPIO_INPUT | GPIO_PULL_DOWN);
            let a = Named::leak("storm", 1 << 1, nothing);
            gpio_add_callback(dev, &mut (*a).cb);
            gpio_pin_interrupt_configure(dev, 1, GPIO_INT_LEVEL_LOW);
        }
    });
    match r {
        Err(SimError::Panic { message, .. }) => {
            assert!(
                message.contains("gpio1: interrupt storm: pins 1 fired 1000 times"),
                "{message}"
            )
        }
        other => panic!("expected an interrupt storm, got {other:?}"),
    }
}

/// A callback removed by another callback of the same interrupt is not called (its memory
/// may be gone).
#[test]
fn a_callback_removed_during_the_interrupt_is_not_called() {
    fn remove_victim(port: *const device, _: u32, _: usize) {
        VICTIM.with(|v| {
            // SAFETY: the victim is leaked; removing from a callback is what the test checks.
            unsafe { gpio_remove_callback(port, v.get()) };
        });
    }
    thread_local! {
        static VICTIM: std::cell::Cell<*mut gpio_callback> =
            const { std::cell::Cell::new(std::ptr::null_mut()) };
    }
    let got = sim(|| {
        let dev = zephyr::device::Device::get("gpio1").unwrap().as_raw();
        let port = GpioPort::get("gpio1");
        // SAFETY: calls on a GPIO controller with leaked callbacks.
        unsafe {
            gpio_pin_configure(dev, 0, GPIO_INPUT);
            gpio_pin_interrupt_configure(dev, 0, GPIO_INT_EDGE_BOTH);
            let victim = Named::leak("victim", 1, nothing);
            let remover = Named::leak("remover", 1, remove_victim);
            VICTIM.with(|v| v.set(&mut (*victim).cb));
            gpio_add_callback(dev, &mut (*victim).cb);
            gpio_add_callback(dev, &mut (*remover).cb); // first in the list
            port.drive(0, true);
            (calls(), port.callbacks())
        }
    });
    assert_eq!(got, (vec![("remover", 1)], 1));
}
