//! Simulated GPIO controller: pins a test drives and watches, behind Zephyr 2.7's GPIO API.
//!
//! A [`GpioModel`] has up to 32 pins (`gpio_port_pins_t`), each with its configuration flags
//! (direction, pulls, initial level), and the port keeps what Zephyr's generic layer keeps:
//! the `invert` mask of `GPIO_ACTIVE_LOW` pins (`struct gpio_driver_data`; logical level =
//! physical ^ invert), each pin's interrupt trigger and the callback list. What the simulated
//! functions do is what `drivers/gpio.h` (the header's inline code) and a driver together do.
//!
//! # The level on a pin's wire
//!
//! ```text
//!   pin configured GPIO_OUTPUT  -> the output register's bit (push-pull)
//!   otherwise, driven by a test -> the level the test drives (GpioPort::drive)
//!   otherwise                   -> 1 with GPIO_PULL_UP, else 0 (pull-down, or floating)
//! ```
//!
//! Inputs (`GPIO_INPUT`) read the wire; a pin that is both input and output reads back what it
//! drives. A pin that is not an input reads 0 (as `gpio_emul` reads it).
//!
//! # Interrupts
//!
//! Whenever the wire level of an input pin changes (a test drives it, an output loops back, a
//! pull takes over), the change is compared with the pin's trigger: a matching edge latches the
//! pin in the port's pending register; a level trigger is active for as long as the level
//! holds. Either raises the controller's interrupt, whose ISR (in ISR context, at the virtual
//! time of the change) calls each callback whose `pin_mask` shares pins with the fired ones,
//! passing `pin_mask & fired`, most recently added first (`gpio_fire_callbacks` walks the list
//! from its head, and `gpio_add_callback` prepends). After the callbacks the ISR looks again:
//! a level interrupt still enabled and still at its level fires again, as a level-triggered
//! line stays asserted (the usual callback disables it, so it fires once); a callback that
//! neither disables it nor changes the level is an interrupt storm, which hangs a real CPU and
//! ends the simulation with a panic naming the pins. Enabling a level interrupt while the
//! level already holds fires it at once.
//!
//! A callback removed while the ISR runs (by itself or by another callback) is not called
//! afterwards; one added during the ISR is not called for the current event (Zephyr: "whether
//! they are invoked for the current GPIO event is not specified").
//!
//! # Misuse
//!
//! What `drivers/gpio.h` only asserts (`GPIO_PULL_UP | GPIO_PULL_DOWN`, interrupt flags given
//! to `gpio_pin_configure`, an interrupt both enabled and disabled, a level interrupt on both
//! levels, a NULL callback or handler, a pin the port does not have in `gpio_pin_get`/`set`)
//! panics naming the call. `gpio_pin_configure` and `gpio_pin_interrupt_configure` return
//! `-EINVAL` for a pin the port does not have, and `gpio_pin_configure` returns `-ENOTSUP` for
//! single-ended (open-drain, open-source) outputs, as Zephyr's emulated controller
//! (`drivers/gpio/gpio_emul.c`) does.
//!
//! # In the trace
//!
//! With [`crate::Sim::trace`], the controller records [`TraceEvent::Device`] events under its
//! node label: `pin 13 -> 1` when an output starts driving or changes its level, `pin 2 <- 1`
//! when the level on an input or a driven pin changes otherwise (a test drives it, a pull takes
//! over), and `interrupt pins 2` when its ISR calls the callbacks.
//!
//! # Testing with it
//!
//! ```
//! use zephyr_sim::devices::{gpio::GpioPort, Board};
//! use zephyr_sys::gpio_flags::*;
//! use zephyr_sys::*;
//!
//! let board = Board::new().gpio("gpio0", 32).pin("led0", "gpio0", 13, GPIO_ACTIVE_LOW);
//! let history = zephyr_sim::Sim::new()
//!     .board(board)
//!     .run(|| {
//!         let mut led = gpio_dt_spec { port: std::ptr::null(), pin: 0, dt_flags: 0 };
//!         // SAFETY: NUL-terminated label; led0 is a pin of gpio0, a GPIO controller.
//!         unsafe {
//!             assert_eq!(zr_gpio_dt_spec_by_label(c"led0".as_ptr(), &mut led), 0);
//!             gpio_pin_configure_dt(&led, GPIO_OUTPUT_INACTIVE); // physical 1: active low
//!             k_msleep(1);
//!             gpio_pin_set_dt(&led, 1); // on: physical 0
//!         }
//!         GpioPort::get("gpio0").history(13)
//!     })
//!     .unwrap()
//!     .value
//!     .unwrap();
//! assert_eq!(history, [(0, true), (1100, false)]); // cycles of a 1 MHz counter
//! ```

use std::ffi::c_int;

use zephyr_sys::gpio_flags::*;
use zephyr_sys::{
    device, gpio_callback, gpio_callback_handler_t, gpio_flags_t, gpio_pin_t, gpio_port_pins_t,
    EINVAL, ENOTSUP,
};

use super::{with_model, Board, Model};
use crate::irq;
use crate::kernel::{with, Kernel};
use crate::trace::TraceEvent;

/// Every interrupt flag (`GPIO_INT_MASK`, `drivers/gpio.h`).
const GPIO_INT_MASK: gpio_flags_t = GPIO_INT_DISABLE
    | GPIO_INT_ENABLE
    | GPIO_INT_LEVELS_LOGICAL
    | GPIO_INT_EDGE
    | GPIO_INT_LOW_0
    | GPIO_INT_HIGH_1;

/// Debounce (`GPIO_INT_DEBOUNCE`): a pin configuration flag, which controllers without
/// debouncing ignore; `gpio_pin_interrupt_configure` asserts it is absent.
const GPIO_INT_DEBOUNCE: gpio_flags_t = 1 << 19;

/// How many times one ISR may call the callbacks before it is an interrupt storm.
const STORM_LIMIT: u32 = 1000;

/// A pin's interrupt trigger, physical (the header turns logical triggers into physical ones
/// with the `invert` mask when the interrupt is configured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// No interrupt.
    Disabled,
    /// On edges to high (`rising`) and/or to low (`falling`).
    Edge {
        /// Fires on a low-to-high change.
        rising: bool,
        /// Fires on a high-to-low change.
        falling: bool,
    },
    /// While the level is `high` (true) or low (false).
    Level {
        /// The level that asserts the interrupt.
        high: bool,
    },
}

/// The model of a GPIO controller with up to 32 pins (see the module docs).
#[derive(Debug)]
pub struct GpioModel {
    label: String,
    ngpios: u8,
    /// Each pin's configuration, as the driver got it (`GPIO_OUTPUT_INIT_LOGICAL` resolved).
    flags: [gpio_flags_t; 32],
    /// `GPIO_ACTIVE_LOW` pins (`gpio_driver_data.invert`).
    invert: gpio_port_pins_t,
    /// The output data register (physical levels).
    out: gpio_port_pins_t,
    /// Pins a test drives from outside.
    driven: gpio_port_pins_t,
    /// The levels it drives them to.
    external: gpio_port_pins_t,
    triggers: [Trigger; 32],
    /// Edges latched and not yet handled by the ISR.
    pending: gpio_port_pins_t,
    /// Wire levels after the last change.
    levels: gpio_port_pins_t,
    /// Pins that were outputs after the last change.
    driving: gpio_port_pins_t,
    /// The controller's interrupt is raised and its ISR has not started yet.
    raised: bool,
    /// Its ISR is calling callbacks (it looks again for work before it returns).
    dispatching: bool,
    /// Added callbacks, the most recently added first.
    callbacks: Vec<*mut gpio_callback>,
    /// Each pin's output history: (cycle, physical level).
    history: Vec<Vec<(u64, bool)>>,
}

impl Model for GpioModel {
    fn kind(&self) -> &'static str {
        "GPIO controller"
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

impl GpioModel {
    /// A controller labelled `label` (for the trace) with `ngpios` pins, all disconnected,
    /// their output registers 0.
    ///
    /// # Panics
    /// If `ngpios` is 0 or more than 32.
    pub fn new(label: &str, ngpios: u8) -> Self {
        assert!(
            (1..=32).contains(&ngpios),
            "GPIO controller '{label}': ngpios is {ngpios}, it must be 1 to 32"
        );
        GpioModel {
            label: label.to_string(),
            ngpios,
            flags: [GPIO_DISCONNECTED; 32],
            invert: 0,
            out: 0,
            driven: 0,
            external: 0,
            triggers: [Trigger::Disabled; 32],
            pending: 0,
            levels: 0,
            driving: 0,
            raised: false,
            dispatching: false,
            callbacks: Vec::new(),
            history: vec![Vec::new(); ngpios as usize],
        }
    }

    fn has_pin(&self, pin: gpio_pin_t) -> bool {
        pin < self.ngpios
    }

    fn pins_with(&self, flag: gpio_flags_t) -> gpio_port_pins_t {
        (0..self.ngpios).filter(|&p| self.flags[p as usize] & flag != 0).fold(0, |m, p| m | 1 << p)
    }

    /// The level on each pin's wire (see the module docs).
    fn wire_levels(&self) -> gpio_port_pins_t {
        let outputs = self.pins_with(GPIO_OUTPUT);
        let pulled_up = self.pins_with(GPIO_PULL_UP) & !self.driven;
        (self.out & outputs) | (!outputs & ((self.external & self.driven) | pulled_up))
    }

    /// Input pins whose level trigger is asserted now.
    fn level_active(&self) -> gpio_port_pins_t {
        let inputs = self.pins_with(GPIO_INPUT);
        (0..self.ngpios)
            .filter(|&p| match self.triggers[p as usize] {
                Trigger::Level { high } => (self.levels >> p & 1 == 1) == high,
                _ => false,
            })
            .fold(0, |m, p| m | 1 << p)
            & inputs
    }

    /// Takes in the wire levels after a change: records outputs and input changes, latches
    /// edges. Returns whether the caller must raise the controller's interrupt.
    fn settle(&mut self, k: &mut Kernel) -> bool {
        let new = self.wire_levels();
        let outputs = self.pins_with(GPIO_OUTPUT);
        let inputs = self.pins_with(GPIO_INPUT);
        let changed = new ^ self.levels;
        let started = outputs & !self.driving;
        for p in 0..self.ngpios {
            let bit = 1 << p;
            let high = new & bit != 0;
            if outputs & bit != 0 && (changed | started) & bit != 0 {
                self.history[p as usize].push((k.now, high));
                k.record(self.event(format!("pin {p} -> {}", high as u8)));
            } else if outputs & bit == 0 && changed & bit != 0 && (inputs | self.driven) & bit != 0
            {
                k.record(self.event(format!("pin {p} <- {}", high as u8)));
            }
            if changed & inputs & bit != 0 {
                if let Trigger::Edge { rising, falling } = self.triggers[p as usize] {
                    if (high && rising) || (!high && falling) {
                        self.pending |= bit;
                    }
                }
            }
        }
        self.levels = new;
        self.driving = outputs;
        self.needs_interrupt()
    }

    /// Whether to raise the interrupt now: something fired, and no ISR is raised or running
    /// (a running one looks again before it returns).
    fn needs_interrupt(&mut self) -> bool {
        if (self.pending | self.level_active()) != 0 && !self.raised && !self.dispatching {
            self.raised = true;
            return true;
        }
        false
    }

    fn event(&self, what: String) -> TraceEvent {
        TraceEvent::Device { device: self.label.clone(), what }
    }

    /// `gpio_pin_configure` after the header's asserts: 0-or-raise, or a negative errno.
    fn configure(
        &mut self,
        pin: gpio_pin_t,
        mut flags: gpio_flags_t,
        k: &mut Kernel,
    ) -> Result<bool, c_int> {
        if !self.has_pin(pin) {
            return Err(-EINVAL);
        }
        // The header: a logical initial level of an active-low pin is the other physical one.
        if flags & GPIO_OUTPUT_INIT_LOGICAL != 0
            && flags & (GPIO_OUTPUT_INIT_LOW | GPIO_OUTPUT_INIT_HIGH) != 0
            && flags & GPIO_ACTIVE_LOW != 0
        {
            flags ^= GPIO_OUTPUT_INIT_LOW | GPIO_OUTPUT_INIT_HIGH;
        }
        flags &= !GPIO_OUTPUT_INIT_LOGICAL;
        // The header updates `invert` before it calls the driver, which may then refuse.
        let bit = 1u32 << pin;
        if flags & GPIO_ACTIVE_LOW != 0 {
            self.invert |= bit;
        } else {
            self.invert &= !bit;
        }
        // Single-ended: open drain, or open source (`GPIO_LINE_OPEN_SOURCE` is 0).
        if flags & GPIO_SINGLE_ENDED != 0 {
            return Err(-ENOTSUP);
        }
        if flags & GPIO_OUTPUT != 0 {
            if flags & GPIO_OUTPUT_INIT_LOW != 0 {
                self.out &= !bit;
            } else if flags & GPIO_OUTPUT_INIT_HIGH != 0 {
                self.out |= bit;
            }
        }
        self.flags[pin as usize] = flags;
        Ok(self.settle(k))
    }

    /// `gpio_pin_interrupt_configure` after the header's asserts and logical-to-physical
    /// translation: 0-or-raise, or a negative errno.
    fn interrupt_configure(&mut self, pin: gpio_pin_t, flags: gpio_flags_t) -> Result<bool, c_int> {
        if !self.has_pin(pin) {
            return Err(-EINVAL);
        }
        let (low, high) = (flags & GPIO_INT_LOW_0 != 0, flags & GPIO_INT_HIGH_1 != 0);
        let trigger = if flags & GPIO_INT_ENABLE == 0 {
            Trigger::Disabled
        } else if flags & GPIO_INT_EDGE != 0 {
            Trigger::Edge { rising: high, falling: low }
        } else {
            Trigger::Level { high }
        };
        self.triggers[pin as usize] = trigger;
        // A new configuration starts with no latched edge.
        self.pending &= !(1 << pin);
        Ok(self.needs_interrupt())
    }

    /// Applies a test's drive (`Some(level)`) or release (`None`) of `pin`.
    fn drive(&mut self, pin: u8, level: Option<bool>, k: &mut Kernel) -> bool {
        self.check_test_pin(pin);
        let bit = 1u32 << pin;
        match level {
            Some(high) => {
                self.driven |= bit;
                self.external = if high { self.external | bit } else { self.external & !bit };
            }
            None => self.driven &= !bit,
        }
        self.settle(k)
    }

    fn check_test_pin(&self, pin: u8) {
        assert!(
            self.has_pin(pin),
            "GpioPort '{}': there is no pin {pin} (the controller has {})",
            self.label,
            self.ngpios
        );
    }

    /// The physical level a pin reads (`gpio_port_get_raw`'s bit).
    fn read_raw(&self, pin: gpio_pin_t) -> bool {
        self.flags[pin as usize] & GPIO_INPUT != 0 && self.levels >> pin & 1 == 1
    }

    /// Sets (`Some`) or toggles (`None`) a pin's output register bit.
    fn write_raw(&mut self, pin: gpio_pin_t, value: Option<bool>, k: &mut Kernel) -> bool {
        let bit = 1u32 << pin;
        self.out = match value {
            Some(true) => self.out | bit,
            Some(false) => self.out & !bit,
            None => self.out ^ bit,
        };
        self.settle(k)
    }
}

/// Pins as a list for messages (`2, 5`).
fn pin_list(pins: gpio_port_pins_t) -> String {
    (0..32).filter(|p| pins >> p & 1 == 1).map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
}

impl Board {
    /// Adds a GPIO controller labelled `label` with `ngpios` pins (its devicetree `ngpios`),
    /// modelled by [`GpioModel`].
    ///
    /// ```
    /// use zephyr_sim::devices::Board;
    /// let board = Board::new().gpio("gpio0", 32).pin("sw0", "gpio0", 11, 0);
    /// ```
    ///
    /// # Panics
    /// If the label is taken, or `ngpios` is 0 or more than 32.
    pub fn gpio(self, label: &str, ngpios: u8) -> Self {
        GpioModel::new(label, ngpios); // checks ngpios now rather than at boot
        let name = label.to_string();
        self.device(label, move || Box::new(GpioModel::new(&name, ngpios)))
    }
}

/// Raises the controller's interrupt (as soon as the CPU takes it).
fn raise(port: *const device) {
    let port = port as usize;
    irq::raise_after_cycles(0, move || isr(port as *const device));
}

/// The controller's ISR: calls the callbacks of the fired pins until nothing is left to fire
/// (see the module docs). Runs outside the kernel borrow, in ISR context.
fn isr(port: *const device) {
    const CALL: &str = "GPIO interrupt";
    with_model(port, CALL, |m: &mut GpioModel, _| {
        m.raised = false;
        m.dispatching = true;
    });
    let mut rounds = 0u32;
    loop {
        let fired = with_model(port, CALL, |m: &mut GpioModel, k| {
            let fired = m.pending | m.level_active();
            m.pending = 0;
            if fired != 0 {
                k.record(m.event(format!("interrupt pins {}", pin_list(fired))));
            }
            if fired == 0 {
                m.dispatching = false;
            }
            fired
        });
        if fired == 0 {
            return;
        }
        rounds += 1;
        if rounds > STORM_LIMIT {
            let label = with(|k| k.devices.label(port));
            panic!(
                "{label}: interrupt storm: pins {} fired {STORM_LIMIT} times in one ISR (a level \
                 interrupt whose callback neither disables it nor changes the level hangs a real \
                 CPU; disable it in the callback with GPIO_INT_DISABLE)",
                pin_list(fired)
            );
        }
        fire_callbacks(port, fired);
    }
}

/// Calls each added callback that shares pins with `fired` (`gpio_fire_callbacks`), skipping
/// those removed meanwhile.
fn fire_callbacks(port: *const device, fired: gpio_port_pins_t) {
    let list = with_model(port, "GPIO interrupt", |m: &mut GpioModel, _| m.callbacks.clone());
    for cb in list {
        let call = with_model(port, "GPIO interrupt", |m: &mut GpioModel, _| {
            if !m.callbacks.contains(&cb) {
                return None;
            }
            // SAFETY: an added callback stays valid until removed (gpio_add_callback's
            // contract), and this one is still added.
            let (handler, mask) = unsafe { ((*cb).handler, (*cb).pin_mask) };
            Some((handler, mask & fired))
        });
        if let Some((Some(handler), pins)) = call {
            if pins != 0 {
                // SAFETY: the handler was given for this callback, which is added; it runs in
                // ISR context, outside the kernel borrow, as Zephyr calls it.
                unsafe { handler(port, cb, pins) };
            }
        }
    }
}

/// Runs `f` on the model of GPIO controller `port`, raising its interrupt if `f` says so;
/// returns `f`'s errno or 0.
fn call(
    port: *const device,
    name: &str,
    f: impl FnOnce(&mut GpioModel, &mut Kernel) -> Result<bool, c_int>,
) -> c_int {
    match with_model(port, name, f) {
        Ok(raise_now) => {
            if raise_now {
                raise(port);
            }
            0
        }
        Err(errno) => errno,
    }
}

/// Panics naming `call` for a pin the port does not have (the header's "Unsupported pin"
/// assertion).
fn assert_pin(m: &GpioModel, pin: gpio_pin_t, call: &str) {
    assert!(
        m.has_pin(pin),
        "{call}: pin {pin} is not a pin of '{}' (it has {}; Zephyr asserts \"Unsupported pin\")",
        m.label,
        m.ngpios
    );
}

/// Configures a pin (`gpio_pin_configure`, `drivers/gpio.h`): 0, `-EINVAL` for a pin the port
/// does not have, `-ENOTSUP` for a single-ended (open-drain, open-source) output.
///
/// As the header does: a logical initial level (`GPIO_OUTPUT_INIT_LOGICAL`) of an active-low
/// pin becomes the other physical level, and `GPIO_ACTIVE_LOW` sets the pin's bit in the
/// port's `invert` mask (cleared without it). An output with neither initial level keeps its
/// output register. The pin's interrupt configuration is left as it is.
///
/// # Panics
/// Where the header asserts: interrupt flags, `GPIO_PULL_UP | GPIO_PULL_DOWN`, single-ended or
/// an initial level without `GPIO_OUTPUT`, both initial levels. And if `port` is not a GPIO
/// controller of this simulation.
///
/// # Safety
/// `port` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_pin_configure(
    port: *const device,
    pin: gpio_pin_t,
    flags: gpio_flags_t,
) -> c_int {
    const CALL: &str = "gpio_pin_configure";
    let init = GPIO_OUTPUT_INIT_LOW | GPIO_OUTPUT_INIT_HIGH;
    assert!(flags & GPIO_INT_MASK == 0, "{CALL}: interrupt flags are not supported ({flags:#x})");
    assert!(
        flags & (GPIO_PULL_UP | GPIO_PULL_DOWN) != GPIO_PULL_UP | GPIO_PULL_DOWN,
        "{CALL}: pull up and pull down should not be enabled simultaneously"
    );
    assert!(
        flags & GPIO_OUTPUT != 0 || flags & GPIO_SINGLE_ENDED == 0,
        "{CALL}: output needs to be enabled for 'open drain', 'open source' mode to be supported"
    );
    assert!(
        flags & GPIO_SINGLE_ENDED != 0 || flags & GPIO_LINE_OPEN_DRAIN == 0,
        "{CALL}: GPIO_LINE_OPEN_DRAIN without GPIO_SINGLE_ENDED"
    );
    assert!(
        flags & init == 0 || flags & GPIO_OUTPUT != 0,
        "{CALL}: output needs to be enabled to be initialized low or high"
    );
    assert!(flags & init != init, "{CALL}: output cannot be initialized low and high");
    call(port, CALL, |m, k| m.configure(pin, flags, k))
}

/// A pin's physical level, 0 or 1 (`gpio_pin_get_raw`): the wire's level for an input, 0 for
/// a pin that is not one.
///
/// # Panics
/// For a pin the port does not have (the header asserts), or a `port` that is no GPIO
/// controller of this simulation.
///
/// # Safety
/// `port` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_pin_get_raw(port: *const device, pin: gpio_pin_t) -> c_int {
    const CALL: &str = "gpio_pin_get_raw";
    with_model(port, CALL, |m: &mut GpioModel, _| {
        assert_pin(m, pin, CALL);
        m.read_raw(pin) as c_int
    })
}

/// A pin's logical level, 0 or 1 (`gpio_pin_get`): the physical level, inverted for a
/// `GPIO_ACTIVE_LOW` pin (`gpio_port_get` XORs the port's `invert` mask).
///
/// # Panics
/// As [`gpio_pin_get_raw`].
///
/// # Safety
/// `port` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_pin_get(port: *const device, pin: gpio_pin_t) -> c_int {
    const CALL: &str = "gpio_pin_get";
    with_model(port, CALL, |m: &mut GpioModel, _| {
        assert_pin(m, pin, CALL);
        (m.read_raw(pin) ^ (m.invert >> pin & 1 == 1)) as c_int
    })
}

/// Sets a pin's output register to a physical level (`gpio_pin_set_raw`): 0 is low, anything
/// else high. It reaches the wire while the pin is an output. Returns 0.
///
/// # Panics
/// As [`gpio_pin_get_raw`].
///
/// # Safety
/// `port` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_pin_set_raw(
    port: *const device,
    pin: gpio_pin_t,
    value: c_int,
) -> c_int {
    const CALL: &str = "gpio_pin_set_raw";
    call(port, CALL, |m, k| {
        assert_pin(m, pin, CALL);
        Ok(m.write_raw(pin, Some(value != 0), k))
    })
}

/// Sets a pin's logical level (`gpio_pin_set`): for a `GPIO_ACTIVE_LOW` pin, 0 (inactive) is
/// physical high and anything else physical low. Returns 0.
///
/// # Panics
/// As [`gpio_pin_get_raw`].
///
/// # Safety
/// `port` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_pin_set(
    port: *const device,
    pin: gpio_pin_t,
    value: c_int,
) -> c_int {
    const CALL: &str = "gpio_pin_set";
    call(port, CALL, |m, k| {
        assert_pin(m, pin, CALL);
        let inverted = m.invert >> pin & 1 == 1;
        Ok(m.write_raw(pin, Some((value != 0) ^ inverted), k))
    })
}

/// Toggles a pin's output register (`gpio_pin_toggle`). Returns 0.
///
/// # Panics
/// As [`gpio_pin_get_raw`].
///
/// # Safety
/// `port` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_pin_toggle(port: *const device, pin: gpio_pin_t) -> c_int {
    const CALL: &str = "gpio_pin_toggle";
    call(port, CALL, |m, k| {
        assert_pin(m, pin, CALL);
        Ok(m.write_raw(pin, None, k))
    })
}

/// Configures a pin's interrupt (`gpio_pin_interrupt_configure`, `GPIO_INT_*`): 0, or
/// `-EINVAL` for a pin the port does not have.
///
/// As the header does, a logical trigger (`GPIO_INT_LEVELS_LOGICAL`) of a pin in the port's
/// `invert` mask (configured `GPIO_ACTIVE_LOW`) swaps `GPIO_INT_LOW_0` and `GPIO_INT_HIGH_1`;
/// the controller keeps the physical trigger. Configuring drops an edge latched for the pin
/// and not yet handled. Enabling a level interrupt while the level holds fires it at once (the
/// ISR runs before this returns, from a thread with interrupts unlocked). Interrupts fire for
/// input pins (`GPIO_INPUT`).
///
/// # Panics
/// Where the header asserts: `GPIO_INT_DEBOUNCE`, both or neither of `GPIO_INT_ENABLE` and
/// `GPIO_INT_DISABLE`, an enabled interrupt with neither `GPIO_INT_LOW_0` nor
/// `GPIO_INT_HIGH_1`, a level interrupt with both. And if `port` is not a GPIO controller of
/// this simulation.
///
/// # Safety
/// `port` must be a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_pin_interrupt_configure(
    port: *const device,
    pin: gpio_pin_t,
    flags: gpio_flags_t,
) -> c_int {
    const CALL: &str = "gpio_pin_interrupt_configure";
    let (on, off) = (flags & GPIO_INT_ENABLE != 0, flags & GPIO_INT_DISABLE != 0);
    let levels = flags & (GPIO_INT_LOW_0 | GPIO_INT_HIGH_1);
    assert!(
        flags & GPIO_INT_DEBOUNCE == 0,
        "{CALL}: GPIO_INT_DEBOUNCE is a pin configuration flag"
    );
    assert!(!(on && off), "{CALL}: cannot both enable and disable interrupts");
    assert!(on || off, "{CALL}: must either enable or disable interrupts");
    assert!(
        !on || flags & GPIO_INT_EDGE != 0 || levels != GPIO_INT_LOW_0 | GPIO_INT_HIGH_1,
        "{CALL}: only one of GPIO_INT_LOW_0, GPIO_INT_HIGH_1 can be enabled for a level interrupt"
    );
    assert!(
        !on || levels != 0,
        "{CALL}: at least one of GPIO_INT_LOW_0, GPIO_INT_HIGH_1 has to be enabled"
    );
    call(port, CALL, |m, _| {
        let mut flags = flags;
        if flags & GPIO_INT_LEVELS_LOGICAL != 0 && m.has_pin(pin) && m.invert >> pin & 1 == 1 {
            flags ^= GPIO_INT_LOW_0 | GPIO_INT_HIGH_1;
        }
        m.interrupt_configure(pin, flags)
    })
}

/// Fills in a callback (`gpio_init_callback`): its handler and the pins it is for.
///
/// # Panics
/// If `callback` or `handler` is NULL (Zephyr asserts).
///
/// # Safety
/// `callback` must be valid for writes.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_init_callback(
    callback: *mut gpio_callback,
    handler: gpio_callback_handler_t,
    pin_mask: gpio_port_pins_t,
) {
    assert!(!callback.is_null(), "gpio_init_callback: callback pointer should not be NULL");
    assert!(handler.is_some(), "gpio_init_callback: callback handler pointer should not be NULL");
    // SAFETY: the caller guarantees `callback`; only the two fields the header sets are
    // written (a callback still added keeps its list link).
    unsafe {
        (*callback).handler = handler;
        (*callback).pin_mask = pin_mask;
    }
}

/// Adds a callback to the port's list (`gpio_add_callback`, `gpio_manage_callback` in
/// `drivers/gpio/gpio_utils.h`): first in the list, so it is called before those added
/// earlier; a callback already added moves to the front instead of being added twice.
/// Returns 0.
///
/// # Panics
/// If `callback` is NULL or has no handler (Zephyr asserts), or `port` is not a GPIO
/// controller of this simulation.
///
/// # Safety
/// `port` must be a device; `callback` must stay valid, in place, until it is removed.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_add_callback(
    port: *const device,
    callback: *mut gpio_callback,
) -> c_int {
    const CALL: &str = "gpio_add_callback";
    check_callback(callback, CALL);
    call(port, CALL, |m, _| {
        m.callbacks.retain(|&c| c != callback);
        m.callbacks.insert(0, callback);
        Ok(false)
    })
}

/// Removes a callback (`gpio_remove_callback`): 0, or `-EINVAL` if it is not in the port's
/// list. As in Zephyr 2.7's `gpio_manage_callback` (`drivers/gpio/gpio_utils.h`), removing a
/// callback from a port with no callbacks at all returns 0. The ISR does not call a callback
/// once it is removed, even one removed by another callback of the same interrupt.
///
/// # Panics
/// If `callback` is NULL or has no handler (Zephyr asserts), or `port` is not a GPIO
/// controller of this simulation.
///
/// # Safety
/// `port` must be a device; `callback` valid for reads.
#[no_mangle]
pub unsafe extern "C-unwind" fn gpio_remove_callback(
    port: *const device,
    callback: *mut gpio_callback,
) -> c_int {
    const CALL: &str = "gpio_remove_callback";
    check_callback(callback, CALL);
    call(port, CALL, |m, _| {
        if m.callbacks.is_empty() {
            return Ok(false);
        }
        let before = m.callbacks.len();
        m.callbacks.retain(|&c| c != callback);
        if m.callbacks.len() == before {
            return Err(-EINVAL);
        }
        Ok(false)
    })
}

/// `gpio_manage_callback`'s assertions.
fn check_callback(callback: *mut gpio_callback, call: &str) {
    assert!(!callback.is_null(), "{call}: no callback");
    // SAFETY: the caller guarantees a readable callback.
    assert!(unsafe { (*callback).handler.is_some() }, "{call}: no callback handler");
}

/// A test's handle on a simulated GPIO controller: drive its pins from outside, read what it
/// drives, and look at its callbacks.
///
/// Use it inside the simulation (from the main thread, another thread or an ISR), like the
/// devices it stands for:
///
/// ```
/// use zephyr_sim::devices::{gpio::GpioPort, Board};
///
/// let board = Board::new().gpio("gpio0", 8);
/// zephyr_sim::Sim::new()
///     .board(board)
///     .run(|| {
///         let port = GpioPort::get("gpio0");
///         port.drive_at_us(3, true, 500); // pin 3 rises at 500 us of uptime
///         assert_eq!(port.callbacks(), 0);
///     })
///     .unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct GpioPort {
    port: usize,
    label: String,
}

impl GpioPort {
    /// The GPIO controller labelled `label` on the running simulation's board.
    ///
    /// # Panics
    /// Outside a simulation, or if the board has no such device or it is not a GPIO
    /// controller.
    pub fn get(label: &str) -> Self {
        let port = with(|k| k.devices.by_label(label));
        assert!(!port.is_null(), "GpioPort::get: no device labelled '{label}' on this board");
        with_model(port, "GpioPort::get", |_: &mut GpioModel, _| ());
        GpioPort { port: port as usize, label: label.to_string() }
    }

    /// The controller's node label.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn dev(&self) -> *const device {
        self.port as *const device
    }

    fn read<R>(&self, f: impl FnOnce(&GpioModel) -> R) -> R {
        with_model(self.dev(), &self.label, |m: &mut GpioModel, _| f(m))
    }

    /// Drives `pin` from outside to `high` (true) or low, now, as an external signal would:
    /// an edge or level that matches the pin's interrupt raises the controller's interrupt,
    /// whose ISR calls the callbacks (before this returns, from a thread with interrupts
    /// unlocked; after the current ISR, from an ISR). The level reaches the pin's input while
    /// the pin is not an output.
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn drive(&self, pin: u8, high: bool) {
        self.apply(pin, Some(high));
    }

    /// Stops driving `pin`: its level is its pull's again (low without one).
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn release(&self, pin: u8) {
        self.apply(pin, None);
    }

    fn apply(&self, pin: u8, level: Option<bool>) {
        if with_model(self.dev(), &self.label, |m: &mut GpioModel, k| m.drive(pin, level, k)) {
            raise(self.dev());
        }
    }

    /// Drives `pin` to `high` when the cycle counter reaches `cycle` (at once if it has): the
    /// change and the interrupt it raises happen in one ISR at that virtual time.
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn drive_at_cycle(&self, pin: u8, high: bool, cycle: u64) {
        self.read(|m| m.check_test_pin(pin));
        let port = self.clone();
        irq::raise_at_cycle(cycle, move || {
            // This ISR is the controller's: it calls the callbacks itself.
            if with_model(port.dev(), &port.label, |m: &mut GpioModel, k| {
                m.drive(pin, Some(high), k)
            }) {
                isr(port.dev());
            }
        });
    }

    /// Drives `pin` to `high` at `us` microseconds of uptime (see [`Self::drive_at_cycle`]).
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn drive_at_us(&self, pin: u8, high: bool, us: u64) {
        let cycle = with(|k| (us as u128 * k.cycles_per_sec as u128 / 1_000_000) as u64);
        self.drive_at_cycle(pin, high, cycle);
    }

    /// The physical level `pin` drives.
    ///
    /// # Panics
    /// If the pin is not configured as an output, or the controller does not have it.
    pub fn output(&self, pin: u8) -> bool {
        self.read(|m| {
            m.check_test_pin(pin);
            assert!(
                m.flags[pin as usize] & GPIO_OUTPUT != 0,
                "GpioPort '{}': pin {pin} is not an output",
                m.label
            );
            m.out >> pin & 1 == 1
        })
    }

    /// The physical level on `pin`'s wire, whoever sets it (see the module docs).
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn level(&self, pin: u8) -> bool {
        self.read(|m| {
            m.check_test_pin(pin);
            m.levels >> pin & 1 == 1
        })
    }

    /// Whether `pin` is configured as an output.
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn is_output(&self, pin: u8) -> bool {
        self.read(|m| {
            m.check_test_pin(pin);
            m.flags[pin as usize] & GPIO_OUTPUT != 0
        })
    }

    /// `pin`'s configuration flags, as the driver got them (`GPIO_OUTPUT_INIT_LOGICAL`
    /// resolved to a physical initial level).
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn flags(&self, pin: u8) -> gpio_flags_t {
        self.read(|m| {
            m.check_test_pin(pin);
            m.flags[pin as usize]
        })
    }

    /// Whether `pin`'s interrupt is enabled.
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn interrupt_enabled(&self, pin: u8) -> bool {
        self.read(|m| {
            m.check_test_pin(pin);
            m.triggers[pin as usize] != Trigger::Disabled
        })
    }

    /// What `pin` drove: `(cycle, physical level)` each time it started driving (configured
    /// as an output) or changed its level, oldest first.
    ///
    /// # Panics
    /// For a pin the controller does not have.
    pub fn history(&self, pin: u8) -> Vec<(u64, bool)> {
        self.read(|m| {
            m.check_test_pin(pin);
            m.history[pin as usize].clone()
        })
    }

    /// How many callbacks are added to the controller (`gpio_add_callback` and not removed).
    pub fn callbacks(&self) -> usize {
        self.read(|m| m.callbacks.len())
    }
}
