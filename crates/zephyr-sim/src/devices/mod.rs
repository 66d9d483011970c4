//! Simulated devices, and the board description that plays the devicetree.
//!
//! A [`Board`] lists devices by devicetree node label (`gpio0`, `uart1`, `i2c0`, ...) with
//! the model of each, and GPIO pins by node label (`led0` is pin 13 of `gpio0`, active low),
//! as a board's `.dts` would. [`crate::Sim::board`] boots a simulation with it: each device
//! becomes a `struct device` at a fixed address, found by `zr_device_by_label` and
//! `zr_gpio_dt_spec_by_label` (the lookups `zephyr::device` uses on both kernels), and every
//! driver call (`gpio_pin_configure`, `uart_fifo_read`, `i2c_transfer`, ...) reaches its model.
//!
//! Models raise interrupts through [`crate::irq`], so driver callbacks run in ISR context at
//! virtual times, and tests drive them (an input pin's edges, bytes arriving on a UART, an I2C
//! target answering) from inside the simulation.
//!
//! Misuse is reported as the real API would report it or as a panic naming the call: a device
//! of another kind (`gpio_pin_configure` on a UART), a null or foreign device pointer.

pub mod gpio;
pub mod i2c;
pub mod uart;

use std::any::Any;
use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;
use std::sync::Arc;

use zephyr_sys::{device, gpio_dt_spec, ENOENT};

use crate::kernel::{with, Kernel};

/// Builds a device model when a simulation boots (each simulation gets fresh devices).
type MakeModel = Arc<dyn Fn() -> Box<dyn Model> + Send + Sync>;

/// A simulated device's model: what its driver calls reach.
pub trait Model: Any {
    /// The kind of device, for messages (`"GPIO controller"`, `"UART"`, `"I2C controller"`).
    fn kind(&self) -> &'static str;
    /// The model as `Any`, to reach its concrete type.
    fn as_any(&mut self) -> &mut dyn Any;
}

/// A board: devices and GPIO pins by devicetree node label.
#[derive(Clone, Default)]
pub struct Board {
    devices: Vec<(String, bool, MakeModel)>,
    pins: Vec<(String, String, u8, u8)>,
}

impl fmt::Debug for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Board")
            .field("devices", &self.devices.iter().map(|d| &d.0).collect::<Vec<_>>())
            .field("pins", &self.pins)
            .finish()
    }
}

impl Board {
    /// A board with no devices.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a device labelled `label` whose model `make` builds at each boot.
    ///
    /// # Panics
    /// If the label is taken.
    pub fn device(
        mut self,
        label: &str,
        make: impl Fn() -> Box<dyn Model> + Send + Sync + 'static,
    ) -> Self {
        assert!(
            !self.devices.iter().any(|d| d.0 == label) && !self.pins.iter().any(|p| p.0 == label),
            "Board: node label '{label}' is used twice"
        );
        self.devices.push((label.to_string(), true, Arc::new(make)));
        self
    }

    /// Makes the device labelled `label` fail its initialisation: `device_is_ready` returns
    /// false for it (as for a device whose driver's init function failed).
    ///
    /// # Panics
    /// If there is no such device.
    pub fn not_ready(mut self, label: &str) -> Self {
        let d = self.devices.iter_mut().find(|d| d.0 == label);
        d.unwrap_or_else(|| panic!("Board::not_ready: no device '{label}'")).1 = false;
        self
    }

    /// Adds a GPIO pin labelled `label` (a node whose `gpios` property is
    /// `<&controller pin flags>`): pin `pin` of the GPIO controller labelled `controller`,
    /// with devicetree flags `dt_flags` (`GPIO_ACTIVE_LOW`, `GPIO_PULL_UP`, ...).
    ///
    /// # Panics
    /// If the label is taken or `dt_flags` does not fit Zephyr 2.7's 8-bit `gpio_dt_flags_t`.
    pub fn pin(mut self, label: &str, controller: &str, pin: u8, dt_flags: u32) -> Self {
        assert!(
            !self.devices.iter().any(|d| d.0 == label) && !self.pins.iter().any(|p| p.0 == label),
            "Board: node label '{label}' is used twice"
        );
        let flags = u8::try_from(dt_flags)
            .unwrap_or_else(|_| panic!("Board::pin: flags {dt_flags:#x} are not devicetree flags"));
        self.pins.push((label.to_string(), controller.to_string(), pin, flags));
        self
    }
}

/// A device of a running simulation.
struct Entry {
    dev: Box<device>,
    label: CString,
    ready: bool,
    /// `None` only while a call has the model out (see [`with_model`]).
    model: Option<Box<dyn Model>>,
}

/// The devices of a running simulation, built from its [`Board`] at boot.
#[derive(Default)]
pub struct Devices {
    entries: Vec<Entry>,
    pins: Vec<(CString, usize, u8, u8)>,
}

impl Devices {
    /// Boots `board`'s devices for simulation `sim`.
    ///
    /// # Panics
    /// If a pin names a controller the board does not have.
    pub(crate) fn boot(board: &Board, sim: u32) -> Self {
        let mut entries = Vec::new();
        for (i, (label, ready, make)) in board.devices.iter().enumerate() {
            let label = CString::new(label.as_str()).expect("a label has no NUL");
            let dev = Box::new(device { name: label.as_ptr(), zsim_id: i as u32, zsim_sim: sim });
            entries.push(Entry { dev, label, ready: *ready, model: Some(make()) });
        }
        let mut pins = Vec::new();
        for (label, controller, pin, flags) in &board.pins {
            let idx = board.devices.iter().position(|d| &d.0 == controller).unwrap_or_else(|| {
                panic!("Board: pin '{label}' is on '{controller}', which is not a device")
            });
            pins.push((CString::new(label.as_str()).expect("no NUL"), idx, *pin, *flags));
        }
        Devices { entries, pins }
    }

    /// The index of `dev` in this simulation, or a panic naming `call`.
    fn index(&self, dev: *const device, sim: u32, call: &str) -> usize {
        assert!(!dev.is_null(), "{call}: device is NULL");
        let found = self.entries.iter().position(|e| std::ptr::eq(&*e.dev, dev));
        match found {
            Some(i) => i,
            None => {
                // SAFETY: not one of ours; only its header fields are read, which a device
                // of another simulation has (a pointer that is no device at all is UB, as on
                // Zephyr).
                let other = unsafe { (*dev).zsim_sim };
                if other != sim {
                    panic!("{call}: the device belongs to another simulation");
                }
                panic!("{call}: {dev:p} is not a device of this board");
            }
        }
    }

    /// The device's node label.
    pub fn label(&self, dev: *const device) -> String {
        self.entries
            .iter()
            .find(|e| std::ptr::eq(&*e.dev, dev))
            .map(|e| e.label.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("{dev:p}"))
    }

    /// The device labelled `label`, or null.
    pub fn by_label(&self, label: &str) -> *const device {
        self.entries
            .iter()
            .find(|e| e.label.to_bytes() == label.as_bytes())
            .map_or(std::ptr::null(), |e| &*e.dev as *const device)
    }
}

/// Runs `f` with the model of type `T` of device `dev` and the kernel (the model is taken out
/// of the kernel for the call, so `f` may use both). Panics naming `call` if `dev` is not a
/// device of this simulation or not a `T`.
pub(crate) fn with_model<T: Model, R>(
    dev: *const device,
    call: &str,
    f: impl FnOnce(&mut T, &mut Kernel) -> R,
) -> R {
    with(|k| {
        let i = k.devices.index(dev, k.id, call);
        let mut model = k.devices.entries[i].model.take().expect("simulator bug: model in use");
        let r = match model.as_any().downcast_mut::<T>() {
            Some(m) => Ok(f(m, k)),
            None => Err(model.kind()),
        };
        k.devices.entries[i].model = Some(model);
        r.unwrap_or_else(|kind| {
            let label = k.devices.entries[i].label.to_string_lossy();
            panic!("{call}: device '{label}' is a {kind}, not the kind {call} needs")
        })
    })
}

/// Runs `f` with the model of type `T` of the device labelled `label` (for test handles; the
/// kernel is borrowed meanwhile, so `f` makes no kernel call).
///
/// # Panics
/// Outside a simulation, or if there is no such device or it is not a `T`.
pub fn with_model_by_label<T: Model, R>(label: &str, f: impl FnOnce(&mut T) -> R) -> R {
    let dev = with(|k| k.devices.by_label(label));
    assert!(!dev.is_null(), "no device labelled '{label}' on this board");
    with_model(dev, label, |m, _| f(m))
}

/// Whether a device initialised successfully (`device_is_ready`). A null device is not ready.
///
/// # Safety
/// `dev` must be null or a device.
#[no_mangle]
pub unsafe extern "C-unwind" fn device_is_ready(dev: *const device) -> bool {
    if dev.is_null() {
        return false;
    }
    with(|k| {
        let i = k.devices.index(dev, k.id, "device_is_ready");
        k.devices.entries[i].ready
    })
}

/// The device of the node labelled `label`, or null (see [`zephyr_sys::zr_device_by_label`]).
///
/// # Safety
/// `label` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C-unwind" fn zr_device_by_label(label: *const c_char) -> *const device {
    assert!(!label.is_null(), "zr_device_by_label: label is NULL");
    // SAFETY: the caller guarantees a NUL-terminated string.
    let label = unsafe { CStr::from_ptr(label) }.to_string_lossy().into_owned();
    with(|k| k.devices.by_label(&label))
}

/// The GPIO pin of the node labelled `label`: 0, or `-ENOENT` (see
/// [`zephyr_sys::zr_gpio_dt_spec_by_label`]).
///
/// # Safety
/// `label` must be NUL-terminated; `spec` valid for a write.
#[no_mangle]
pub unsafe extern "C-unwind" fn zr_gpio_dt_spec_by_label(
    label: *const c_char,
    spec: *mut gpio_dt_spec,
) -> c_int {
    assert!(!label.is_null() && !spec.is_null(), "zr_gpio_dt_spec_by_label: NULL argument");
    // SAFETY: the caller guarantees a NUL-terminated string.
    let label = unsafe { CStr::from_ptr(label) };
    let found = with(|k| {
        let d = &k.devices;
        d.pins.iter().find(|p| p.0.as_c_str() == label).map(|p| gpio_dt_spec {
            port: &*d.entries[p.1].dev,
            pin: p.2,
            dt_flags: p.3,
        })
    });
    match found {
        Some(s) => {
            // SAFETY: the caller guarantees `spec`.
            unsafe { spec.write(s) };
            0
        }
        None => -ENOENT,
    }
}
