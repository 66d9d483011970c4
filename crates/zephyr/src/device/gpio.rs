//! GPIO pins: embedded-hal digital pins, and async waits woken by the pin's interrupt.
//!
//! A [`Pin`] is a devicetree pin (a `gpio_dt_spec`: controller, pin number, devicetree flags),
//! found by node label with [`Pin::get`] (`"led0"`, `"sw0"`). It becomes an [`Output`] or an
//! [`Input`], configured with its devicetree flags as `gpio_pin_configure_dt` does, so a pin
//! the devicetree marks `GPIO_ACTIVE_LOW` is active when low and the pulls it names are on:
//!
//! ```text
//!            into_output(initial) ─► Output: OutputPin, StatefulOutputPin
//!   Pin::get ┤
//!            into_input()         ─► Input: InputPin, Wait ─► wait(..) ─► WaitFor (a future)
//! ```
//!
//! Levels are **logical** throughout, as Zephyr's `gpio_pin_get`/`gpio_pin_set` have them:
//! `set_high`/`is_high` mean *active*, which for an active-low pin is a low wire; a
//! "rising edge" is a change to active.
//!
//! # Waiting
//!
//! [`Input`] implements embedded-hal-async's [`Wait`]: each wait adds its own `gpio_callback`,
//! kept inside the pinned future, to the controller and enables the pin's interrupt
//! (`GPIO_INT_LEVEL_ACTIVE` for `wait_for_high`, `GPIO_INT_EDGE_TO_ACTIVE` for
//! `wait_for_rising_edge`, `GPIO_INT_EDGE_BOTH` for `wait_for_any_edge`, ...). The callback
//! runs in the controller's ISR: it disables the pin's interrupt and wakes the task with an
//! ordinary `Waker`, so the waits work under `zephyr::embassy::Executor`, kio or any executor,
//! with no polling. The future's states, and who moves it along:
//!
//! ```text
//!            first poll: level already holds ──────────────────────────► Done
//!   Idle ──► first poll: gpio_add_callback, interrupt enabled ─► Waiting
//!   Waiting ─► ISR callback (interrupt disabled, waker woken) ─► next poll ─► Done
//!   Waiting ─► drop (interrupt disabled, gpio_remove_callback) ─► gone
//! ```
//!
//! Whenever a wait ends, completed or dropped, its interrupt is disabled and then its callback
//! removed, so `select`ing a wait against a timer and dropping it leaves nothing behind. Both
//! calls are made outside critical sections, because on some controllers they block (see
//! `WaitFor::unregister`). A level wait
//! (`wait_for_high`, `wait_for_low`) returns at once when the level already holds, and checks
//! it again after enabling the interrupt, so a level reached in between is not missed; on a
//! controller without level interrupts (`-ENOTSUP`) it waits for the edge to that level. Edge
//! waits see edges after the wait started: an edge between two waits is not remembered. Pins
//! of one controller wait independently (each wait its own callback).
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use embedded_hal::digital::{OutputPin, PinState};
//! use embedded_hal_async::digital::Wait;
//! use zephyr::device::gpio::Pin;
//!
//! async fn button_toggles_led() -> Result<(), zephyr::device::gpio::Error> {
//!     let mut led = Pin::get("led0")?.into_output(PinState::Low)?;
//!     let mut button = Pin::get("sw0")?.into_input()?;
//!     loop {
//!         button.wait_for_rising_edge().await?; // pressed
//!         led.set_high()?;
//!         button.wait_for_falling_edge().await?; // released
//!         led.set_low()?;
//!     }
//! }
//! ```

use core::cell::UnsafeCell;
use core::fmt;
use core::future::Future;
use core::marker::{PhantomData, PhantomPinned};
use core::pin::Pin as PinRef;
use core::task::{Context, Poll, Waker};

use embedded_hal::digital::{
    ErrorKind, ErrorType, InputPin, OutputPin, PinState, StatefulOutputPin,
};
use embedded_hal_async::digital::Wait;
use zephyr_sys::gpio_flags::*;
use zephyr_sys::{
    device, gpio_add_callback, gpio_callback, gpio_dt_flags_t, gpio_dt_spec, gpio_flags_t,
    gpio_init_callback, gpio_pin_configure_dt, gpio_pin_get_dt, gpio_pin_interrupt_configure,
    gpio_pin_set_dt, gpio_pin_t, gpio_pin_toggle_dt, gpio_port_pins_t, gpio_remove_callback,
    zr_gpio_dt_spec_by_label,
};

use super::{with_c_label, Device};
use crate::error::to_result;

/// What went wrong with a GPIO pin, and whose fault it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No devicetree node with that label has a GPIO pin (`ENOENT`).
    NotFound,
    /// The pin's GPIO controller is not ready: its driver failed to initialise (`ENODEV`).
    NotReady,
    /// The controller does not support what was asked (`ENOTSUP`): an open-drain output, a
    /// kind of interrupt.
    NotSupported,
    /// An invalid argument (`EINVAL`): a pin the controller does not have, a label that is too
    /// long.
    InvalidArgument,
    /// Another error from the driver (`EIO` from a GPIO expander on a bus, `EWOULDBLOCK`, ...).
    Driver(crate::Error),
}

impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::ENOENT => Error::NotFound,
            crate::Error::ENODEV => Error::NotReady,
            crate::Error::ENOTSUP => Error::NotSupported,
            crate::Error::EINVAL => Error::InvalidArgument,
            other => Error::Driver(other),
        }
    }
}

impl From<Error> for crate::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound => crate::Error::ENOENT,
            Error::NotReady => crate::Error::ENODEV,
            Error::NotSupported => crate::Error::ENOTSUP,
            Error::InvalidArgument => crate::Error::EINVAL,
            Error::Driver(e) => e,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound => write!(f, "no devicetree node with that label has a GPIO pin"),
            Error::NotReady => write!(f, "the GPIO controller is not ready"),
            Error::NotSupported => write!(f, "the GPIO controller does not support that"),
            Error::InvalidArgument => write!(f, "invalid GPIO argument"),
            Error::Driver(e) => write!(f, "GPIO driver error: {e}"),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_hal::digital::Error for Error {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other // embedded-hal's digital errors have no other kind
    }
}

/// A driver call's return value as a `Result`.
fn check(ret: core::ffi::c_int) -> Result<core::ffi::c_int, Error> {
    to_result(ret).map_err(Error::from)
}

/// A pull resistor to add to the devicetree's flags when configuring an input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pull {
    /// Only what the devicetree says.
    #[default]
    None,
    /// Pull-up (`GPIO_PULL_UP`).
    Up,
    /// Pull-down (`GPIO_PULL_DOWN`).
    Down,
}

/// A GPIO pin as the devicetree describes it (a `gpio_dt_spec`), not yet configured.
///
/// ```no_run
/// # use zephyr_sim as _;
/// use zephyr::device::gpio::Pin;
/// let led = Pin::get("led0")?;
/// assert!(led.number() < 32);
/// # Ok::<(), zephyr::device::gpio::Error>(())
/// ```
pub struct Pin {
    spec: gpio_dt_spec,
}

// SAFETY: the spec names a kernel-lifetime device and a pin number; Zephyr's GPIO API may be
// called from any thread.
unsafe impl Send for Pin {}
// SAFETY: as above; `&Pin` only reads the spec.
unsafe impl Sync for Pin {}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pin")
            .field("port", &self.spec.port)
            .field("pin", &self.spec.pin)
            .field("dt_flags", &self.spec.dt_flags)
            .finish()
    }
}

impl Pin {
    /// The pin of the devicetree node labelled `label` (its `gpios` property, as
    /// `GPIO_DT_SPEC_GET(node, gpios)`).
    ///
    /// # Errors
    /// [`Error::NotFound`] if no node with that label has a pin, [`Error::NotReady`] if its
    /// controller is not ready, [`Error::InvalidArgument`] for a label longer than
    /// [`super::MAX_LABEL`].
    pub fn get(label: &str) -> Result<Pin, Error> {
        let mut spec = gpio_dt_spec { port: core::ptr::null(), pin: 0, dt_flags: 0 };
        // SAFETY: a NUL-terminated label and a spec to fill in.
        let ret = with_c_label(label, |l| unsafe { zr_gpio_dt_spec_by_label(l, &mut spec) })?;
        check(ret)?;
        // SAFETY: the lookup filled in a devicetree pin.
        unsafe { Pin::from_dt_spec(spec) }
    }

    /// Wraps a devicetree pin (from C code, `GPIO_DT_SPEC_GET`).
    ///
    /// # Errors
    /// [`Error::NotReady`] if its controller is not ready.
    ///
    /// # Safety
    /// `spec.port` must be a GPIO controller and `spec.pin` one of its pins, used by nothing
    /// else while this `Pin` (or what it becomes) lives.
    pub unsafe fn from_dt_spec(spec: gpio_dt_spec) -> Result<Pin, Error> {
        // SAFETY: caller contract: the port is a device.
        unsafe { Device::from_raw(spec.port) }?;
        Ok(Pin { spec })
    }

    /// The pin's GPIO controller.
    pub fn port(&self) -> Device {
        // Checked ready when this pin was made; devices never go away.
        Device { raw: self.spec.port }
    }

    /// The pin's number on its controller.
    pub fn number(&self) -> gpio_pin_t {
        self.spec.pin
    }

    /// The pin's devicetree flags (`GPIO_ACTIVE_LOW`, pulls, ...).
    pub fn dt_flags(&self) -> gpio_dt_flags_t {
        self.spec.dt_flags
    }

    /// Whether the devicetree marks the pin active low.
    pub fn is_active_low(&self) -> bool {
        self.spec.dt_flags as gpio_flags_t & GPIO_ACTIVE_LOW != 0
    }

    /// The devicetree pin, for C calls.
    pub fn as_dt_spec(&self) -> &gpio_dt_spec {
        &self.spec
    }

    fn configure(&self, extra: gpio_flags_t) -> Result<(), Error> {
        // SAFETY: the spec is a GPIO pin (from_dt_spec's contract).
        check(unsafe { gpio_pin_configure_dt(&self.spec, extra) }).map(drop)
    }

    /// Configures the pin as an output (`gpio_pin_configure_dt` with `GPIO_OUTPUT_ACTIVE` or
    /// `GPIO_OUTPUT_INACTIVE`), starting at the logical level `initial`.
    ///
    /// ```no_run
    /// # use zephyr_sim as _;
    /// use embedded_hal::digital::{OutputPin, PinState};
    /// let mut led = zephyr::device::gpio::Pin::get("led0")?.into_output(PinState::Low)?;
    /// led.set_high()?; // lit, whatever the wire's polarity
    /// # Ok::<(), zephyr::device::gpio::Error>(())
    /// ```
    ///
    /// # Errors
    /// What `gpio_pin_configure` returns: [`Error::NotSupported`] for a configuration the
    /// controller lacks (an open-drain output on one without), [`Error::InvalidArgument`].
    pub fn into_output(self, initial: PinState) -> Result<Output, Error> {
        let active = initial == PinState::High;
        self.configure(if active { GPIO_OUTPUT_ACTIVE } else { GPIO_OUTPUT_INACTIVE })?;
        Ok(Output { pin: self, active })
    }

    /// Configures the pin as an input (`gpio_pin_configure_dt` with `GPIO_INPUT`), with the
    /// pulls the devicetree names.
    ///
    /// # Errors
    /// What `gpio_pin_configure` returns (see [`Self::into_output`]).
    pub fn into_input(self) -> Result<Input, Error> {
        self.into_input_with(Pull::None)
    }

    /// Configures the pin as an input with `pull` added to the devicetree's flags.
    ///
    /// # Errors
    /// What `gpio_pin_configure` returns (see [`Self::into_output`]).
    pub fn into_input_with(self, pull: Pull) -> Result<Input, Error> {
        let pull = match pull {
            Pull::None => 0,
            Pull::Up => GPIO_PULL_UP,
            Pull::Down => GPIO_PULL_DOWN,
        };
        self.configure(GPIO_INPUT | pull)?;
        Ok(Input { pin: self })
    }
}

/// An output pin, with the logical level it was last set to.
///
/// Implements embedded-hal's [`OutputPin`] and [`StatefulOutputPin`] on logical levels:
/// `set_high` makes the pin active (`gpio_pin_set_dt(.., 1)`), a low wire for an active-low
/// pin.
#[derive(Debug)]
pub struct Output {
    pin: Pin,
    active: bool,
}

impl Output {
    /// Sets the logical level (`gpio_pin_set_dt`): true is active.
    ///
    /// # Errors
    /// What the driver returns (a GPIO expander's bus error).
    pub fn set_active(&mut self, active: bool) -> Result<(), Error> {
        // SAFETY: a configured GPIO pin.
        check(unsafe { gpio_pin_set_dt(&self.pin.spec, active as core::ffi::c_int) })?;
        self.active = active;
        Ok(())
    }

    /// Whether the pin was last set active (kept here: Zephyr 2.7 has no call that reads an
    /// output back).
    pub fn is_set_active(&self) -> bool {
        self.active
    }

    /// Toggles the pin (`gpio_pin_toggle_dt`).
    ///
    /// # Errors
    /// What the driver returns.
    pub fn toggle(&mut self) -> Result<(), Error> {
        // SAFETY: a configured GPIO pin.
        check(unsafe { gpio_pin_toggle_dt(&self.pin.spec) })?;
        self.active = !self.active;
        Ok(())
    }

    /// The pin.
    pub fn pin(&self) -> &Pin {
        &self.pin
    }

    /// The pin, to configure it otherwise (it keeps driving its level until then).
    pub fn into_pin(self) -> Pin {
        self.pin
    }
}

impl ErrorType for Output {
    type Error = Error;
}

impl OutputPin for Output {
    fn set_low(&mut self) -> Result<(), Error> {
        self.set_active(false)
    }

    fn set_high(&mut self) -> Result<(), Error> {
        self.set_active(true)
    }
}

impl StatefulOutputPin for Output {
    fn is_set_high(&mut self) -> Result<bool, Error> {
        Ok(self.active)
    }

    fn is_set_low(&mut self) -> Result<bool, Error> {
        Ok(!self.active)
    }

    fn toggle(&mut self) -> Result<(), Error> {
        Output::toggle(self)
    }
}

/// An input pin.
///
/// Implements embedded-hal's [`InputPin`] (logical levels: `is_high` is active) and
/// embedded-hal-async's [`Wait`], on the pin's interrupt (see the module docs).
#[derive(Debug)]
pub struct Input {
    pin: Pin,
}

/// What a [`WaitFor`] waits for, in logical levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The pin is active (at once if it is).
    High,
    /// The pin is inactive (at once if it is).
    Low,
    /// A change to active.
    RisingEdge,
    /// A change to inactive.
    FallingEdge,
    /// Any change.
    AnyEdge,
}

impl Trigger {
    /// The level a level wait waits for.
    fn level(self) -> Option<bool> {
        match self {
            Trigger::High => Some(true),
            Trigger::Low => Some(false),
            _ => None,
        }
    }

    /// The interrupt configuration (`GPIO_INT_*`, logical).
    fn interrupt(self) -> gpio_flags_t {
        match self {
            Trigger::High => GPIO_INT_LEVEL_ACTIVE,
            Trigger::Low => GPIO_INT_LEVEL_INACTIVE,
            Trigger::RisingEdge => GPIO_INT_EDGE_TO_ACTIVE,
            Trigger::FallingEdge => GPIO_INT_EDGE_TO_INACTIVE,
            Trigger::AnyEdge => GPIO_INT_EDGE_BOTH,
        }
    }

    /// For a level wait, the edge interrupt to use on a controller without level interrupts.
    fn edge_instead(self) -> Option<gpio_flags_t> {
        match self {
            Trigger::High => Some(GPIO_INT_EDGE_TO_ACTIVE),
            Trigger::Low => Some(GPIO_INT_EDGE_TO_INACTIVE),
            _ => None,
        }
    }
}

impl Input {
    /// Whether the pin is active (`gpio_pin_get_dt`).
    ///
    /// # Errors
    /// What the driver returns.
    pub fn is_active(&self) -> Result<bool, Error> {
        // SAFETY: a configured GPIO pin.
        Ok(check(unsafe { gpio_pin_get_dt(&self.pin.spec) })? != 0)
    }

    /// A future that completes when `trigger` happens on the pin (what the [`Wait`] methods
    /// await). It registers when first polled; dropping it unregisters.
    ///
    /// ```no_run
    /// # use zephyr_sim as _;
    /// use zephyr::device::gpio::{Pin, Trigger};
    /// # async fn f() -> Result<(), zephyr::device::gpio::Error> {
    /// let mut button = Pin::get("sw0")?.into_input()?;
    /// button.wait(Trigger::AnyEdge).await?;
    /// # Ok(()) }
    /// ```
    pub fn wait(&mut self, trigger: Trigger) -> WaitFor<'_> {
        WaitFor {
            spec: self.pin.spec,
            trigger,
            state: WaitState::Idle,
            registration: Registration {
                callback: UnsafeCell::new(gpio_callback::new()),
                shared: UnsafeCell::new(Shared { fired: false, waker: None }),
            },
            _input: PhantomData,
            _pinned: PhantomPinned,
        }
    }

    /// The pin.
    pub fn pin(&self) -> &Pin {
        &self.pin
    }

    /// The pin, to configure it otherwise.
    pub fn into_pin(self) -> Pin {
        self.pin
    }
}

impl ErrorType for Input {
    type Error = Error;
}

impl InputPin for Input {
    fn is_high(&mut self) -> Result<bool, Error> {
        self.is_active()
    }

    fn is_low(&mut self) -> Result<bool, Error> {
        Ok(!self.is_active()?)
    }
}

impl Wait for Input {
    async fn wait_for_high(&mut self) -> Result<(), Error> {
        self.wait(Trigger::High).await
    }

    async fn wait_for_low(&mut self) -> Result<(), Error> {
        self.wait(Trigger::Low).await
    }

    async fn wait_for_rising_edge(&mut self) -> Result<(), Error> {
        self.wait(Trigger::RisingEdge).await
    }

    async fn wait_for_falling_edge(&mut self) -> Result<(), Error> {
        self.wait(Trigger::FallingEdge).await
    }

    async fn wait_for_any_edge(&mut self) -> Result<(), Error> {
        self.wait(Trigger::AnyEdge).await
    }
}

/// What the callback and the future share (only touched inside critical sections).
struct Shared {
    fired: bool,
    waker: Option<Waker>,
}

/// A wait's callback, with what it shares with the future.
#[repr(C)]
struct Registration {
    /// First: the handler's `*mut gpio_callback` points at the registration. In a cell: the
    /// driver writes its list link while the callback is added.
    callback: UnsafeCell<gpio_callback>,
    shared: UnsafeCell<Shared>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WaitState {
    Idle,
    Waiting,
    Done,
}

/// The future of [`Input::wait`] and of the [`Wait`] methods: completes when its
/// [`Trigger`] happens on the pin.
///
/// Its `gpio_callback` lives inside it, added to the controller while it waits (from its
/// first poll, once pinned, until it completes or is dropped).
#[must_use = "futures do nothing unless polled"]
pub struct WaitFor<'a> {
    spec: gpio_dt_spec,
    trigger: Trigger,
    state: WaitState,
    registration: Registration,
    _input: PhantomData<&'a mut Input>,
    _pinned: PhantomPinned,
}

// SAFETY: the registration is reached from another context only by the controller's ISR,
// which touches `shared` inside a critical section, as the future does; the device API may be
// called from any thread, so the future may complete or be dropped on another one.
unsafe impl Send for WaitFor<'_> {}

impl fmt::Debug for WaitFor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor")
            .field("pin", &self.spec.pin)
            .field("trigger", &self.trigger)
            .field("state", &self.state)
            .finish()
    }
}

/// The wait callback, for this wait's pin: disables the pin's interrupt (a level interrupt
/// would fire again) and wakes the waiting task. It runs in the controller's ISR, or, for
/// controllers that are not memory-mapped, in the thread that handles the change: Zephyr 2.7's
/// GPIO emulator calls it inside `gpio_emul_input_set`, in the caller's thread and holding the
/// emulator's `k_mutex`; GPIO expanders on a bus call it from a work item.
unsafe extern "C-unwind" fn on_interrupt(
    port: *const device,
    cb: *mut gpio_callback,
    pins: gpio_port_pins_t,
) {
    // SAFETY: `cb` is the first field of a repr(C) `Registration` inside a pinned `WaitFor`,
    // which removes it before it goes away.
    let reg = unsafe { &*(cb as *const Registration) };
    // SAFETY: `pins` is this callback's single pin, of `port`, a GPIO controller; disabling
    // an interrupt is allowed in its ISR.
    unsafe {
        gpio_pin_interrupt_configure(port, pins.trailing_zeros() as gpio_pin_t, GPIO_INT_DISABLE)
    };
    let waker = critical_section::with(|_| {
        // SAFETY: `shared` is only touched inside critical sections.
        let shared = unsafe { &mut *reg.shared.get() };
        shared.fired = true;
        shared.waker.take()
    });
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl WaitFor<'_> {
    fn callback(&self) -> *mut gpio_callback {
        self.registration.callback.get()
    }

    fn level(&self) -> Result<bool, Error> {
        // SAFETY: a configured GPIO pin.
        Ok(check(unsafe { gpio_pin_get_dt(&self.spec) })? != 0)
    }

    /// Adds the callback and enables the interrupt.
    fn register(&mut self, waker: &Waker) -> Result<(), Error> {
        critical_section::with(|_| {
            // SAFETY: `shared` is only touched inside critical sections.
            let shared = unsafe { &mut *self.registration.shared.get() };
            shared.fired = false;
            shared.waker = Some(waker.clone());
        });
        let (port, pin) = (self.spec.port, self.spec.pin);
        // SAFETY: the callback is in this pinned future and stays in place until `unregister`
        // (on completion or drop) removes it; the port is a GPIO controller.
        unsafe {
            gpio_init_callback(self.callback(), Some(on_interrupt), 1 << pin);
            check(gpio_add_callback(port, self.callback()))?;
        }
        self.state = WaitState::Waiting;
        // SAFETY: a configured GPIO pin.
        let mut r =
            check(unsafe { gpio_pin_interrupt_configure(port, pin, self.trigger.interrupt()) });
        if let (Err(Error::NotSupported), Some(edge)) = (r, self.trigger.edge_instead()) {
            // SAFETY: as above.
            r = check(unsafe { gpio_pin_interrupt_configure(port, pin, edge) });
        }
        if let Err(e) = r {
            self.unregister();
            return Err(e);
        }
        Ok(())
    }

    /// Disables the interrupt, then removes the callback: once this returns, the driver never
    /// calls it again.
    ///
    /// Not inside a critical section, because both calls may block: Zephyr 2.7's GPIO emulator
    /// takes its `k_mutex` in `gpio_pin_interrupt_configure` (held by a thread that is
    /// delivering an edge: the one that woke this task), and GPIO expanders on a bus (pca95xx,
    /// pca953x, pcal6408a, sx1509b) take a semaphore and make I2C transfers there, pca95xx in
    /// `gpio_remove_callback` too. A thread that blocks under `irq_lock` lets other threads run
    /// inside its critical section (Cortex-M, native_posix), or fails the kernel's "Context
    /// switching while holding lock!" assertion (`CONFIG_USE_SWITCH` kernels with
    /// `CONFIG_SPIN_VALIDATE`). None is needed: until this returns the registration is alive,
    /// so a callback that still comes (an edge latched before the interrupt was disabled)
    /// only sets `fired` and wakes the task; removal unlinks the callback with one store, so a
    /// controller ISR that interrupts it either calls the callback or skips it.
    fn unregister(&mut self) {
        let (port, pin, cb) = (self.spec.port, self.spec.pin, self.callback());
        // SAFETY: the callback was added to this GPIO controller and is still in place; thread
        // context (a future completes or is dropped in a thread), where both calls may block.
        unsafe {
            gpio_pin_interrupt_configure(port, pin, GPIO_INT_DISABLE);
            gpio_remove_callback(port, cb);
        }
        self.state = WaitState::Done;
    }

    fn fired(&self) -> bool {
        // SAFETY: `shared` is only touched inside critical sections.
        critical_section::with(|_| unsafe { (*self.registration.shared.get()).fired })
    }

    fn finish(&mut self, r: Result<(), Error>) -> Poll<Result<(), Error>> {
        if self.state == WaitState::Waiting {
            self.unregister();
        }
        self.state = WaitState::Done;
        Poll::Ready(r)
    }
}

impl Future for WaitFor<'_> {
    type Output = Result<(), Error>;

    fn poll(self: PinRef<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of the future; the registration stays in place.
        let this = unsafe { self.get_unchecked_mut() };
        match this.state {
            WaitState::Idle => {
                if let Some(level) = this.trigger.level() {
                    match this.level() {
                        Ok(l) if l == level => return this.finish(Ok(())),
                        Ok(_) => {}
                        Err(e) => return this.finish(Err(e)),
                    }
                }
                if let Err(e) = this.register(cx.waker()) {
                    return this.finish(Err(e));
                }
                // The level came between the check and the interrupt's enabling (and no level
                // interrupt fired for it), or the interrupt already fired.
                if let Some(level) = this.trigger.level() {
                    match this.level() {
                        Ok(l) if l == level => return this.finish(Ok(())),
                        Ok(_) => {}
                        Err(e) => return this.finish(Err(e)),
                    }
                }
                if this.fired() {
                    return this.finish(Ok(()));
                }
                Poll::Pending
            }
            WaitState::Waiting => {
                let fired = critical_section::with(|_| {
                    // SAFETY: `shared` is only touched inside critical sections.
                    let shared = unsafe { &mut *this.registration.shared.get() };
                    if !shared.fired {
                        match &shared.waker {
                            Some(w) if w.will_wake(cx.waker()) => {}
                            _ => shared.waker = Some(cx.waker().clone()),
                        }
                    }
                    shared.fired
                });
                if fired {
                    this.finish(Ok(()))
                } else {
                    Poll::Pending
                }
            }
            WaitState::Done => panic!("gpio::WaitFor polled after it completed"),
        }
    }
}

impl Drop for WaitFor<'_> {
    fn drop(&mut self) {
        if self.state == WaitState::Waiting {
            self.unregister();
        }
    }
}
