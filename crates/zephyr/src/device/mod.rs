//! Devices by devicetree node label, and async drivers on Zephyr's device API.
//!
//! [`Device::get`] finds the device of a devicetree node by its label (`"uart1"`, `"i2c0"`);
//! [`gpio`] finds pins the same way (`"led0"`, `"sw0"`). On real Zephyr the lookup comes from
//! the application's devicetree, generated at build time by the module; on the simulator the
//! board description (`zephyr_sim::devices::Board`) answers. An unknown label is
//! [`Error::ENOENT`], a device whose driver failed to initialise is [`Error::ENODEV`]: never a
//! null pointer.
//!
//! The drivers implement the embedded-hal 1.0, embedded-hal-async and embedded-io(-async)
//! traits, so drivers written for any HAL work on Zephyr, under `zephyr::embassy::Executor`,
//! kio, or any executor (their futures wake plain `Waker`s from the device's interrupt).

pub mod gpio;
pub mod i2c;
pub mod uart;

use core::ffi::c_char;

use zephyr_sys::{device, device_is_ready, zr_device_by_label};

use crate::error::{Error, Result};

/// The longest node label the lookups accept.
pub const MAX_LABEL: usize = 63;

/// Runs `f` with `label` as a NUL-terminated C string (copied to the stack).
///
/// # Errors
/// `EINVAL` for a label longer than [`MAX_LABEL`] or containing a NUL.
pub(crate) fn with_c_label<R>(label: &str, f: impl FnOnce(*const c_char) -> R) -> Result<R> {
    let bytes = label.as_bytes();
    if bytes.len() > MAX_LABEL || bytes.contains(&0) {
        return Err(Error::EINVAL);
    }
    let mut buf = [0u8; MAX_LABEL + 1];
    buf[..bytes.len()].copy_from_slice(bytes);
    Ok(f(buf.as_ptr() as *const c_char))
}

/// A device (`const struct device *`), found by node label and ready to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    raw: *const device,
}

// SAFETY: a device is a kernel-lifetime object; Zephyr's driver API may be called from any
// thread (drivers lock internally where they need to).
unsafe impl Send for Device {}
// SAFETY: as above.
unsafe impl Sync for Device {}

impl Device {
    /// The device of the devicetree node labelled `label`.
    ///
    /// ```no_run
    /// # use zephyr_sim as _;
    /// let uart = zephyr::device::Device::get("uart1")?;
    /// # Ok::<(), zephyr::Error>(())
    /// ```
    ///
    /// # Errors
    /// `ENOENT` if no node with that label has a device, `ENODEV` if the device is not ready
    /// (`device_is_ready` is false: its driver failed to initialise), `EINVAL` for a label that
    /// is too long.
    pub fn get(label: &str) -> Result<Device> {
        // SAFETY: a NUL-terminated label; the lookup returns a device or null.
        let raw = with_c_label(label, |l| unsafe { zr_device_by_label(l) })?;
        if raw.is_null() {
            return Err(Error::ENOENT);
        }
        // SAFETY: the lookup returned a device.
        unsafe { Self::from_raw(raw) }
    }

    /// Wraps a device pointer (from C code, `DEVICE_DT_GET`).
    ///
    /// # Errors
    /// `ENODEV` if it is not ready.
    ///
    /// # Safety
    /// `raw` must be a device (a pointer `DEVICE_DT_GET` or `device_get_binding` gave).
    pub unsafe fn from_raw(raw: *const device) -> Result<Device> {
        // SAFETY: caller contract.
        if !unsafe { device_is_ready(raw) } {
            return Err(Error::ENODEV);
        }
        Ok(Device { raw })
    }

    /// The raw device, for C calls.
    pub fn as_raw(&self) -> *const device {
        self.raw
    }
}
