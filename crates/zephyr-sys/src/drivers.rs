//! Raw device driver API (Zephyr 2.7's `device.h`, `drivers/gpio.h`, `drivers/uart.h`,
//! `drivers/i2c.h`): the names, types, flag values and signatures of the calls the safe
//! drivers need.
//!
//! As for the kernel, who provides these is chosen when the crate is built: the simulator
//! defines each function for its simulated devices; on real Zephyr each links to a `zr_<name>`
//! wrapper in `zephyr/src/zr_shim.c` (the header functions are `static inline` or syscalls).
//! The header helpers that only rearrange arguments (the `_dt` forms, `i2c_write`, `i2c_read`,
//! `i2c_write_read`) are written here in Rust, as the headers write them in C, so every
//! provider implements only the calls that reach a driver.
//!
//! Devices are found by devicetree node label with [`zr_device_by_label`] and
//! [`zr_gpio_dt_spec_by_label`] (not Zephyr API: on real Zephyr the module generates them from
//! the application's devicetree, on the simulator the board description answers).

use core::ffi::{c_char, c_int, c_void};

#[cfg(not(zephyr_real))]
pub use crate::sim_layout::device;

// ------------------------------------------------------------------ device.h

#[cfg(zephyr_real)]
/// A device (`struct device`), only ever handled by pointer.
#[repr(C)]
pub struct device {
    _opaque: [u8; 0],
}

// ------------------------------------------------------------------ gpio.h

/// A pin number within a port (`gpio_pin_t`).
pub type gpio_pin_t = u8;
/// Pin configuration and interrupt flags (`gpio_flags_t`).
pub type gpio_flags_t = u32;
/// A set of pins of a port, one bit per pin (`gpio_port_pins_t`).
pub type gpio_port_pins_t = u32;
/// The devicetree flags of a pin (`gpio_dt_flags_t`, 8 bits in Zephyr 2.7).
pub type gpio_dt_flags_t = u8;

/// A pin as the devicetree describes it (`struct gpio_dt_spec`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct gpio_dt_spec {
    /// The GPIO controller.
    pub port: *const device,
    /// The pin number on it.
    pub pin: gpio_pin_t,
    /// Its devicetree flags (`GPIO_ACTIVE_LOW`, pulls, ...).
    pub dt_flags: gpio_dt_flags_t,
}

/// A GPIO callback's handler (`gpio_callback_handler_t`): called in ISR context with the port
/// and the pins that fired.
pub type gpio_callback_handler_t = Option<
    unsafe extern "C-unwind" fn(
        port: *const device,
        cb: *mut gpio_callback,
        pins: gpio_port_pins_t,
    ),
>;

/// A GPIO callback (`struct gpio_callback`), linked into its port's list while added.
#[repr(C)]
#[derive(Debug)]
pub struct gpio_callback {
    /// The driver's list link (`sys_snode_t`).
    pub node: *mut c_void,
    /// The handler.
    pub handler: gpio_callback_handler_t,
    /// The pins whose interrupts call the handler.
    pub pin_mask: gpio_port_pins_t,
}

impl gpio_callback {
    /// A callback not yet initialised (`gpio_init_callback` fills it in).
    pub const fn new() -> Self {
        Self { node: core::ptr::null_mut(), handler: None, pin_mask: 0 }
    }
}

impl Default for gpio_callback {
    fn default() -> Self {
        Self::new()
    }
}

/// GPIO flags (`dt-bindings/gpio/gpio.h` and `drivers/gpio.h`).
pub mod gpio_flags {
    use super::gpio_flags_t;
    /// The pin is active when low.
    pub const GPIO_ACTIVE_LOW: gpio_flags_t = 1 << 0;
    /// The pin is active when high.
    pub const GPIO_ACTIVE_HIGH: gpio_flags_t = 0;
    /// Single-ended output.
    pub const GPIO_SINGLE_ENDED: gpio_flags_t = 1 << 1;
    /// Open drain when single-ended.
    pub const GPIO_LINE_OPEN_DRAIN: gpio_flags_t = 1 << 2;
    /// Open drain output.
    pub const GPIO_OPEN_DRAIN: gpio_flags_t = GPIO_SINGLE_ENDED | GPIO_LINE_OPEN_DRAIN;
    /// Pull-up enabled.
    pub const GPIO_PULL_UP: gpio_flags_t = 1 << 4;
    /// Pull-down enabled.
    pub const GPIO_PULL_DOWN: gpio_flags_t = 1 << 5;
    /// Input.
    pub const GPIO_INPUT: gpio_flags_t = 1 << 8;
    /// Output.
    pub const GPIO_OUTPUT: gpio_flags_t = 1 << 9;
    /// Disconnected (neither input nor output).
    pub const GPIO_DISCONNECTED: gpio_flags_t = 0;
    /// Output initialised low.
    pub const GPIO_OUTPUT_INIT_LOW: gpio_flags_t = 1 << 10;
    /// Output initialised high.
    pub const GPIO_OUTPUT_INIT_HIGH: gpio_flags_t = 1 << 11;
    /// The init level is logical (honours `GPIO_ACTIVE_LOW`).
    pub const GPIO_OUTPUT_INIT_LOGICAL: gpio_flags_t = 1 << 12;
    /// Output, initially low (physical).
    pub const GPIO_OUTPUT_LOW: gpio_flags_t = GPIO_OUTPUT | GPIO_OUTPUT_INIT_LOW;
    /// Output, initially high (physical).
    pub const GPIO_OUTPUT_HIGH: gpio_flags_t = GPIO_OUTPUT | GPIO_OUTPUT_INIT_HIGH;
    /// Output, initially inactive (logical).
    pub const GPIO_OUTPUT_INACTIVE: gpio_flags_t =
        GPIO_OUTPUT | GPIO_OUTPUT_INIT_LOW | GPIO_OUTPUT_INIT_LOGICAL;
    /// Output, initially active (logical).
    pub const GPIO_OUTPUT_ACTIVE: gpio_flags_t =
        GPIO_OUTPUT | GPIO_OUTPUT_INIT_HIGH | GPIO_OUTPUT_INIT_LOGICAL;
    /// Interrupt disabled.
    pub const GPIO_INT_DISABLE: gpio_flags_t = 1 << 13;
    /// Interrupt enabled.
    pub const GPIO_INT_ENABLE: gpio_flags_t = 1 << 14;
    /// Interrupt levels are logical.
    pub const GPIO_INT_LEVELS_LOGICAL: gpio_flags_t = 1 << 15;
    /// Edge-triggered (else level).
    pub const GPIO_INT_EDGE: gpio_flags_t = 1 << 16;
    /// Trigger on low level / falling edge.
    pub const GPIO_INT_LOW_0: gpio_flags_t = 1 << 17;
    /// Trigger on high level / rising edge.
    pub const GPIO_INT_HIGH_1: gpio_flags_t = 1 << 18;
    /// Rising edge (physical).
    pub const GPIO_INT_EDGE_RISING: gpio_flags_t =
        GPIO_INT_ENABLE | GPIO_INT_EDGE | GPIO_INT_HIGH_1;
    /// Falling edge (physical).
    pub const GPIO_INT_EDGE_FALLING: gpio_flags_t =
        GPIO_INT_ENABLE | GPIO_INT_EDGE | GPIO_INT_LOW_0;
    /// Both edges.
    pub const GPIO_INT_EDGE_BOTH: gpio_flags_t =
        GPIO_INT_ENABLE | GPIO_INT_EDGE | GPIO_INT_LOW_0 | GPIO_INT_HIGH_1;
    /// Low level (physical).
    pub const GPIO_INT_LEVEL_LOW: gpio_flags_t = GPIO_INT_ENABLE | GPIO_INT_LOW_0;
    /// High level (physical).
    pub const GPIO_INT_LEVEL_HIGH: gpio_flags_t = GPIO_INT_ENABLE | GPIO_INT_HIGH_1;
    /// Edge to the inactive level (logical).
    pub const GPIO_INT_EDGE_TO_INACTIVE: gpio_flags_t =
        GPIO_INT_ENABLE | GPIO_INT_LEVELS_LOGICAL | GPIO_INT_EDGE | GPIO_INT_LOW_0;
    /// Edge to the active level (logical).
    pub const GPIO_INT_EDGE_TO_ACTIVE: gpio_flags_t =
        GPIO_INT_ENABLE | GPIO_INT_LEVELS_LOGICAL | GPIO_INT_EDGE | GPIO_INT_HIGH_1;
    /// Inactive level (logical).
    pub const GPIO_INT_LEVEL_INACTIVE: gpio_flags_t =
        GPIO_INT_ENABLE | GPIO_INT_LEVELS_LOGICAL | GPIO_INT_LOW_0;
    /// Active level (logical).
    pub const GPIO_INT_LEVEL_ACTIVE: gpio_flags_t =
        GPIO_INT_ENABLE | GPIO_INT_LEVELS_LOGICAL | GPIO_INT_HIGH_1;
}

// ------------------------------------------------------------------ uart.h

/// A UART's line configuration (`struct uart_config`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct uart_config {
    /// Baud rate.
    pub baudrate: u32,
    /// `UART_CFG_PARITY_*`.
    pub parity: u8,
    /// `UART_CFG_STOP_BITS_*`.
    pub stop_bits: u8,
    /// `UART_CFG_DATA_BITS_*`.
    pub data_bits: u8,
    /// `UART_CFG_FLOW_CTRL_*`.
    pub flow_ctrl: u8,
}

/// A UART's interrupt callback (`uart_irq_callback_user_data_t`), called in ISR context.
pub type uart_irq_callback_user_data_t =
    Option<unsafe extern "C-unwind" fn(dev: *const device, user_data: *mut c_void)>;

/// Receive errors `uart_err_check` reports (`enum uart_rx_stop_reason`).
pub mod uart_errors {
    /// A character arrived with the receive FIFO full and was lost.
    pub const UART_ERROR_OVERRUN: i32 = 1 << 0;
    /// Parity error.
    pub const UART_ERROR_PARITY: i32 = 1 << 1;
    /// Framing error (no stop bit).
    pub const UART_ERROR_FRAMING: i32 = 1 << 2;
    /// Break condition.
    pub const UART_BREAK: i32 = 1 << 3;
}

/// Values of [`uart_config`]'s fields (`enum uart_config_parity`, `uart_config_stop_bits`,
/// `uart_config_data_bits`, `uart_config_flow_control`).
pub mod uart_cfg {
    /// No parity bit.
    pub const UART_CFG_PARITY_NONE: u8 = 0;
    /// Odd parity.
    pub const UART_CFG_PARITY_ODD: u8 = 1;
    /// Even parity.
    pub const UART_CFG_PARITY_EVEN: u8 = 2;
    /// Parity bit always 1.
    pub const UART_CFG_PARITY_MARK: u8 = 3;
    /// Parity bit always 0.
    pub const UART_CFG_PARITY_SPACE: u8 = 4;
    /// Half a stop bit.
    pub const UART_CFG_STOP_BITS_0_5: u8 = 0;
    /// One stop bit.
    pub const UART_CFG_STOP_BITS_1: u8 = 1;
    /// One and a half stop bits.
    pub const UART_CFG_STOP_BITS_1_5: u8 = 2;
    /// Two stop bits.
    pub const UART_CFG_STOP_BITS_2: u8 = 3;
    /// Five data bits.
    pub const UART_CFG_DATA_BITS_5: u8 = 0;
    /// Six data bits.
    pub const UART_CFG_DATA_BITS_6: u8 = 1;
    /// Seven data bits.
    pub const UART_CFG_DATA_BITS_7: u8 = 2;
    /// Eight data bits.
    pub const UART_CFG_DATA_BITS_8: u8 = 3;
    /// Nine data bits.
    pub const UART_CFG_DATA_BITS_9: u8 = 4;
    /// No flow control.
    pub const UART_CFG_FLOW_CTRL_NONE: u8 = 0;
    /// RTS/CTS flow control.
    pub const UART_CFG_FLOW_CTRL_RTS_CTS: u8 = 1;
    /// DTR/DSR flow control.
    pub const UART_CFG_FLOW_CTRL_DTR_DSR: u8 = 2;
}

// ------------------------------------------------------------------ i2c.h

/// One message of an I2C transfer (`struct i2c_msg`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct i2c_msg {
    /// The bytes to write, or the buffer to read into.
    pub buf: *mut u8,
    /// Length of `buf`.
    pub len: u32,
    /// `I2C_MSG_*`.
    pub flags: u8,
}

/// I2C message flags and configuration (`drivers/i2c.h`).
pub mod i2c_flags {
    /// Write message.
    pub const I2C_MSG_WRITE: u8 = 0;
    /// Read message.
    pub const I2C_MSG_READ: u8 = 1 << 0;
    /// The read/write bit.
    pub const I2C_MSG_RW_MASK: u8 = 1 << 0;
    /// Send a STOP after this message.
    pub const I2C_MSG_STOP: u8 = 1 << 1;
    /// Send a repeated START before this message.
    pub const I2C_MSG_RESTART: u8 = 1 << 2;
    /// 10-bit addressing.
    pub const I2C_MSG_ADDR_10_BITS: u8 = 1 << 3;
    /// Standard speed (100 kHz).
    pub const I2C_SPEED_STANDARD: u32 = 1;
    /// Fast speed (400 kHz).
    pub const I2C_SPEED_FAST: u32 = 2;
    /// Fast-plus speed (1 MHz).
    pub const I2C_SPEED_FAST_PLUS: u32 = 3;
    /// Shift of the speed field in a configuration word.
    pub const I2C_SPEED_SHIFT: u32 = 1;
    /// The speed field of a configuration word.
    pub const I2C_SPEED_MASK: u32 = 0x7 << I2C_SPEED_SHIFT;
    /// Controller mode.
    pub const I2C_MODE_MASTER: u32 = 1 << 4;

    /// A configuration word's speed field (`I2C_SPEED_SET`).
    pub const fn I2C_SPEED_SET(speed: u32) -> u32 {
        (speed << I2C_SPEED_SHIFT) & I2C_SPEED_MASK
    }
}

kernel_api! {
    /// Whether a device initialised successfully and may be used (`device_is_ready`).
    pub fn device_is_ready(dev: *const device) -> bool;

    /// Configures a pin (`gpio_pin_configure`): direction, initial level, pulls,
    /// `GPIO_ACTIVE_LOW`. 0, `-ENOTSUP`, `-EINVAL`, `-EIO`.
    pub fn gpio_pin_configure(port: *const device, pin: gpio_pin_t, flags: gpio_flags_t) -> c_int;
    /// A pin's physical level, 0 or 1 (`gpio_pin_get_raw`), or a negative errno.
    pub fn gpio_pin_get_raw(port: *const device, pin: gpio_pin_t) -> c_int;
    /// A pin's logical level, 0 or 1, honouring `GPIO_ACTIVE_LOW` (`gpio_pin_get`).
    pub fn gpio_pin_get(port: *const device, pin: gpio_pin_t) -> c_int;
    /// Sets an output's physical level (`gpio_pin_set_raw`).
    pub fn gpio_pin_set_raw(port: *const device, pin: gpio_pin_t, value: c_int) -> c_int;
    /// Sets an output's logical level (`gpio_pin_set`).
    pub fn gpio_pin_set(port: *const device, pin: gpio_pin_t, value: c_int) -> c_int;
    /// Toggles an output (`gpio_pin_toggle`).
    pub fn gpio_pin_toggle(port: *const device, pin: gpio_pin_t) -> c_int;
    /// Configures a pin's interrupt (`gpio_pin_interrupt_configure`, `GPIO_INT_*`).
    pub fn gpio_pin_interrupt_configure(
        port: *const device,
        pin: gpio_pin_t,
        flags: gpio_flags_t,
    ) -> c_int;
    /// Fills in a callback (`gpio_init_callback`).
    pub fn gpio_init_callback(
        callback: *mut gpio_callback,
        handler: gpio_callback_handler_t,
        pin_mask: gpio_port_pins_t,
    );
    /// Adds a callback to a port's list (`gpio_add_callback`; it must stay in place until
    /// removed).
    pub fn gpio_add_callback(port: *const device, callback: *mut gpio_callback) -> c_int;
    /// Removes a callback (`gpio_remove_callback`): 0, or `-EINVAL` if it was not added.
    pub fn gpio_remove_callback(port: *const device, callback: *mut gpio_callback) -> c_int;

    /// Reads a character if one is waiting (`uart_poll_in`): 0, -1 if none.
    pub fn uart_poll_in(dev: *const device, p_char: *mut u8) -> c_int;
    /// Writes a character, waiting for room (`uart_poll_out`).
    pub fn uart_poll_out(dev: *const device, out_char: u8);
    /// Receive errors since the last check (`uart_err_check`, `UART_ERROR_*` bits).
    pub fn uart_err_check(dev: *const device) -> c_int;
    /// Sets the line configuration (`uart_configure`).
    pub fn uart_configure(dev: *const device, cfg: *const uart_config) -> c_int;
    /// Reads the line configuration (`uart_config_get`).
    pub fn uart_config_get(dev: *const device, cfg: *mut uart_config) -> c_int;
    /// Puts up to `size` bytes into the TX FIFO (`uart_fifo_fill`, ISR): how many it took.
    pub fn uart_fifo_fill(dev: *const device, tx_data: *const u8, size: c_int) -> c_int;
    /// Takes up to `size` bytes from the RX FIFO (`uart_fifo_read`, ISR): how many it read.
    pub fn uart_fifo_read(dev: *const device, rx_data: *mut u8, size: c_int) -> c_int;
    /// Enables the TX-ready interrupt (`uart_irq_tx_enable`).
    pub fn uart_irq_tx_enable(dev: *const device);
    /// Disables the TX-ready interrupt (`uart_irq_tx_disable`).
    pub fn uart_irq_tx_disable(dev: *const device);
    /// Whether the TX FIFO takes a byte (`uart_irq_tx_ready`, after `uart_irq_update`).
    pub fn uart_irq_tx_ready(dev: *const device) -> c_int;
    /// Enables the RX interrupt (`uart_irq_rx_enable`).
    pub fn uart_irq_rx_enable(dev: *const device);
    /// Disables the RX interrupt (`uart_irq_rx_disable`).
    pub fn uart_irq_rx_disable(dev: *const device);
    /// Whether everything written has left the wire (`uart_irq_tx_complete`).
    pub fn uart_irq_tx_complete(dev: *const device) -> c_int;
    /// Whether the RX FIFO holds a byte (`uart_irq_rx_ready`, after `uart_irq_update`).
    pub fn uart_irq_rx_ready(dev: *const device) -> c_int;
    /// Enables the error interrupt (`uart_irq_err_enable`).
    pub fn uart_irq_err_enable(dev: *const device);
    /// Disables the error interrupt (`uart_irq_err_disable`).
    pub fn uart_irq_err_disable(dev: *const device);
    /// Whether an enabled interrupt is pending (`uart_irq_is_pending`).
    pub fn uart_irq_is_pending(dev: *const device) -> c_int;
    /// Latches the interrupt state for the `uart_irq_*_ready` calls (`uart_irq_update`).
    pub fn uart_irq_update(dev: *const device) -> c_int;
    /// Sets the interrupt callback (`uart_irq_callback_user_data_set`).
    pub fn uart_irq_callback_user_data_set(
        dev: *const device,
        cb: uart_irq_callback_user_data_t,
        user_data: *mut c_void,
    );

    /// Configures an I2C controller (`i2c_configure`: `I2C_MODE_MASTER`, speed).
    pub fn i2c_configure(dev: *const device, dev_config: u32) -> c_int;
    /// Runs a transfer of `num_msgs` messages to the target at `addr` (`i2c_transfer`,
    /// blocking): 0, or `-EIO` (NACK, bus error).
    pub fn i2c_transfer(dev: *const device, msgs: *mut i2c_msg, num_msgs: u8, addr: u16) -> c_int;
}

/// [`gpio_pin_configure`] on a devicetree pin, with its flags (`gpio_pin_configure_dt`).
///
/// # Safety
/// `spec.port` must be a GPIO device.
#[inline]
pub unsafe fn gpio_pin_configure_dt(spec: &gpio_dt_spec, extra_flags: gpio_flags_t) -> c_int {
    // SAFETY: caller contract.
    unsafe { gpio_pin_configure(spec.port, spec.pin, spec.dt_flags as gpio_flags_t | extra_flags) }
}

/// [`gpio_pin_get`] on a devicetree pin (`gpio_pin_get_dt`).
///
/// # Safety
/// `spec.port` must be a GPIO device.
#[inline]
pub unsafe fn gpio_pin_get_dt(spec: &gpio_dt_spec) -> c_int {
    // SAFETY: caller contract.
    unsafe { gpio_pin_get(spec.port, spec.pin) }
}

/// [`gpio_pin_set`] on a devicetree pin (`gpio_pin_set_dt`).
///
/// # Safety
/// `spec.port` must be a GPIO device.
#[inline]
pub unsafe fn gpio_pin_set_dt(spec: &gpio_dt_spec, value: c_int) -> c_int {
    // SAFETY: caller contract.
    unsafe { gpio_pin_set(spec.port, spec.pin, value) }
}

/// [`gpio_pin_toggle`] on a devicetree pin (`gpio_pin_toggle_dt`).
///
/// # Safety
/// `spec.port` must be a GPIO device.
#[inline]
pub unsafe fn gpio_pin_toggle_dt(spec: &gpio_dt_spec) -> c_int {
    // SAFETY: caller contract.
    unsafe { gpio_pin_toggle(spec.port, spec.pin) }
}

/// [`gpio_pin_interrupt_configure`] on a devicetree pin (`gpio_pin_interrupt_configure_dt`).
///
/// # Safety
/// `spec.port` must be a GPIO device.
#[inline]
pub unsafe fn gpio_pin_interrupt_configure_dt(spec: &gpio_dt_spec, flags: gpio_flags_t) -> c_int {
    // SAFETY: caller contract.
    unsafe { gpio_pin_interrupt_configure(spec.port, spec.pin, flags) }
}

/// Writes `num_bytes` to the target at `addr`, then STOP (`i2c_write`).
///
/// # Safety
/// `dev` must be an I2C controller; `buf` valid for `num_bytes` bytes.
#[inline]
pub unsafe fn i2c_write(dev: *const device, buf: *const u8, num_bytes: u32, addr: u16) -> c_int {
    let mut msg = i2c_msg {
        buf: buf as *mut u8,
        len: num_bytes,
        flags: i2c_flags::I2C_MSG_WRITE | i2c_flags::I2C_MSG_STOP,
    };
    // SAFETY: caller contract; a write message is only read from.
    unsafe { i2c_transfer(dev, &mut msg, 1, addr) }
}

/// Reads `num_bytes` from the target at `addr`, then STOP (`i2c_read`).
///
/// # Safety
/// `dev` must be an I2C controller; `buf` valid for writes of `num_bytes` bytes.
#[inline]
pub unsafe fn i2c_read(dev: *const device, buf: *mut u8, num_bytes: u32, addr: u16) -> c_int {
    let mut msg =
        i2c_msg { buf, len: num_bytes, flags: i2c_flags::I2C_MSG_READ | i2c_flags::I2C_MSG_STOP };
    // SAFETY: caller contract.
    unsafe { i2c_transfer(dev, &mut msg, 1, addr) }
}

/// Writes then, after a repeated START, reads (`i2c_write_read`).
///
/// # Safety
/// `dev` must be an I2C controller; the buffers valid for their lengths.
#[inline]
pub unsafe fn i2c_write_read(
    dev: *const device,
    addr: u16,
    write_buf: *const c_void,
    num_write: usize,
    read_buf: *mut c_void,
    num_read: usize,
) -> c_int {
    use i2c_flags::*;
    let mut msgs = [
        i2c_msg { buf: write_buf as *mut u8, len: num_write as u32, flags: I2C_MSG_WRITE },
        i2c_msg {
            buf: read_buf as *mut u8,
            len: num_read as u32,
            flags: I2C_MSG_RESTART | I2C_MSG_READ | I2C_MSG_STOP,
        },
    ];
    // SAFETY: caller contract.
    unsafe { i2c_transfer(dev, msgs.as_mut_ptr(), 2, addr) }
}

// ------------------------------------------------------------------ devicetree lookup

#[cfg(not(any(zephyr_real, zephyr_unconfigured)))]
extern "C-unwind" {
    /// The device of the devicetree node labelled `label` (NUL-terminated), or null if no
    /// such node has a device. Not Zephyr API: the board description answers on the
    /// simulator; the module generates it from the devicetree on real Zephyr.
    pub fn zr_device_by_label(label: *const c_char) -> *const device;
    /// The GPIO pin of the node labelled `label` (its `gpios` property, as
    /// `GPIO_DT_SPEC_GET(node, gpios)`): 0, or `-ENOENT` if there is none. Not Zephyr API.
    pub fn zr_gpio_dt_spec_by_label(label: *const c_char, spec: *mut gpio_dt_spec) -> c_int;
}
#[cfg(zephyr_real)]
extern "C" {
    /// The device of the devicetree node labelled `label` (NUL-terminated), or null if no
    /// such node has a device. Not Zephyr API: generated from the devicetree by the module.
    pub fn zr_device_by_label(label: *const c_char) -> *const device;
    /// The GPIO pin of the node labelled `label` (its `gpios` property): 0, or `-ENOENT`.
    pub fn zr_gpio_dt_spec_by_label(label: *const c_char, spec: *mut gpio_dt_spec) -> c_int;
}
#[cfg(zephyr_unconfigured)]
extern "C" {
    /// The device of the devicetree node labelled `label` (needs a Zephyr build).
    #[link_name = "zephyr_sys_needs_a_zephyr_build__zr_device_by_label"]
    pub fn zr_device_by_label(label: *const c_char) -> *const device;
    /// The GPIO pin of the node labelled `label` (needs a Zephyr build).
    #[link_name = "zephyr_sys_needs_a_zephyr_build__zr_gpio_dt_spec_by_label"]
    pub fn zr_gpio_dt_spec_by_label(label: *const c_char, spec: *mut gpio_dt_spec) -> c_int;
}
