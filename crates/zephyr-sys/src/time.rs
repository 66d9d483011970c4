//! Timeouts and unit conversions (`include/zephyr/sys_clock.h`, `include/zephyr/sys/time_units.h`).
//!
//! A [`k_timeout_t`] holds ticks: `0` is [`K_NO_WAIT`], `-1` is [`K_FOREVER`], and (with
//! `CONFIG_TIMEOUT_64BIT`, always on here) values `<= -2` encode an absolute tick, built by
//! [`K_TIMEOUT_ABS_TICKS`]. Conversions into ticks round up when they build a timeout (a
//! timeout never ends early) and the `_floor` variants round down, exactly as Zephyr's
//! `z_tmcvt` does.

use crate::sys_clock_ticks_per_sec;

/// A tick count (`k_ticks_t`; 64-bit as with `CONFIG_TIMEOUT_64BIT`).
pub type k_ticks_t = i64;

/// The tick value of [`K_FOREVER`].
pub const K_TICKS_FOREVER: k_ticks_t = -1;

/// A kernel timeout (`k_timeout_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct k_timeout_t {
    /// Relative ticks, `K_TICKS_FOREVER`, or an absolute tick encoded by [`Z_TICK_ABS`].
    pub ticks: k_ticks_t,
}

/// Do not wait.
pub const K_NO_WAIT: k_timeout_t = k_timeout_t { ticks: 0 };
/// Wait forever.
pub const K_FOREVER: k_timeout_t = k_timeout_t { ticks: K_TICKS_FOREVER };

/// Whether two timeouts are equal (`K_TIMEOUT_EQ`).
#[inline]
pub const fn K_TIMEOUT_EQ(a: k_timeout_t, b: k_timeout_t) -> bool {
    a.ticks == b.ticks
}

/// Maps an absolute tick to its encoding and back (`Z_TICK_ABS`); `< 0` means "not absolute".
///
/// Wrapping, where C would overflow: a relative timeout near `i64::MAX` ticks then reads as an
/// absolute tick near `i64::MAX`, which is as far away.
#[inline]
pub const fn Z_TICK_ABS(t: k_ticks_t) -> k_ticks_t {
    (K_TICKS_FOREVER - 1).wrapping_sub(t)
}

/// A timeout of `t` ticks (`K_TICKS`).
#[inline]
pub const fn K_TICKS(t: k_ticks_t) -> k_timeout_t {
    k_timeout_t { ticks: t }
}

/// A timeout that ends exactly at absolute tick `t` (`K_TIMEOUT_ABS_TICKS`).
#[inline]
pub const fn K_TIMEOUT_ABS_TICKS(t: k_ticks_t) -> k_timeout_t {
    let t = if t < 0 { 0 } else { t };
    k_timeout_t { ticks: Z_TICK_ABS(t) }
}

/// A timeout of at least `ms` milliseconds (`K_MSEC`).
#[inline]
pub fn K_MSEC(ms: i64) -> k_timeout_t {
    K_TICKS(k_ms_to_ticks_ceil64(ms.max(0) as u64) as k_ticks_t)
}

/// A timeout of at least `us` microseconds (`K_USEC`).
#[inline]
pub fn K_USEC(us: i64) -> k_timeout_t {
    K_TICKS(k_us_to_ticks_ceil64(us.max(0) as u64) as k_ticks_t)
}

/// A timeout of at least `ns` nanoseconds (`K_NSEC`).
#[inline]
pub fn K_NSEC(ns: i64) -> k_timeout_t {
    K_TICKS(k_ns_to_ticks_ceil64(ns.max(0) as u64) as k_ticks_t)
}

/// A timeout of `s` seconds (`K_SECONDS`).
#[inline]
pub fn K_SECONDS(s: i64) -> k_timeout_t {
    K_MSEC(s.saturating_mul(1000))
}

/// Converts `t` from `from_hz` to `to_hz`, rounding up or down (Zephyr's `z_tmcvt`).
#[inline]
pub const fn z_tmcvt(t: u64, from_hz: u64, to_hz: u64, round_up: bool) -> u64 {
    if from_hz == to_hz {
        return t;
    }
    let num = t as u128 * to_hz as u128;
    let den = from_hz as u128;
    let q = if round_up { num.div_ceil(den) } else { num / den };
    if q > u64::MAX as u128 {
        u64::MAX
    } else {
        q as u64
    }
}

/// Hardware cycle rate of the running kernel, in Hz.
#[inline]
fn hw_hz() -> u64 {
    // SAFETY: a plain getter with no preconditions, callable from any context.
    (unsafe { crate::sys_clock_hw_cycles_per_sec() }) as u64
}

macro_rules! conversions {
    ($($(#[$doc:meta])* $name:ident: ($from:expr, $to:expr, $up:expr);)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(t: u64) -> u64 {
            z_tmcvt(t, $from, $to, $up)
        }
    )*};
}

conversions! {
    /// Milliseconds to ticks, rounding up.
    k_ms_to_ticks_ceil64: (1_000, sys_clock_ticks_per_sec() as u64, true);
    /// Milliseconds to ticks, rounding down.
    k_ms_to_ticks_floor64: (1_000, sys_clock_ticks_per_sec() as u64, false);
    /// Microseconds to ticks, rounding up.
    k_us_to_ticks_ceil64: (1_000_000, sys_clock_ticks_per_sec() as u64, true);
    /// Microseconds to ticks, rounding down.
    k_us_to_ticks_floor64: (1_000_000, sys_clock_ticks_per_sec() as u64, false);
    /// Nanoseconds to ticks, rounding up.
    k_ns_to_ticks_ceil64: (1_000_000_000, sys_clock_ticks_per_sec() as u64, true);
    /// Ticks to milliseconds, rounding down.
    k_ticks_to_ms_floor64: (sys_clock_ticks_per_sec() as u64, 1_000, false);
    /// Ticks to milliseconds, rounding up.
    k_ticks_to_ms_ceil64: (sys_clock_ticks_per_sec() as u64, 1_000, true);
    /// Ticks to microseconds, rounding down.
    k_ticks_to_us_floor64: (sys_clock_ticks_per_sec() as u64, 1_000_000, false);
    /// Ticks to microseconds, rounding up.
    k_ticks_to_us_ceil64: (sys_clock_ticks_per_sec() as u64, 1_000_000, true);
    /// Ticks to nanoseconds, rounding down.
    k_ticks_to_ns_floor64: (sys_clock_ticks_per_sec() as u64, 1_000_000_000, false);
    /// Ticks to hardware cycles, rounding down.
    k_ticks_to_cyc_floor64: (sys_clock_ticks_per_sec() as u64, hw_hz(), false);
    /// Ticks to hardware cycles, rounding up.
    k_ticks_to_cyc_ceil64: (sys_clock_ticks_per_sec() as u64, hw_hz(), true);
    /// Hardware cycles to ticks, rounding down.
    k_cyc_to_ticks_floor64: (hw_hz(), sys_clock_ticks_per_sec() as u64, false);
    /// Hardware cycles to ticks, rounding up.
    k_cyc_to_ticks_ceil64: (hw_hz(), sys_clock_ticks_per_sec() as u64, true);
    /// Hardware cycles to nanoseconds, rounding down.
    k_cyc_to_ns_floor64: (hw_hz(), 1_000_000_000, false);
    /// Hardware cycles to microseconds, rounding down.
    k_cyc_to_us_floor64: (hw_hz(), 1_000_000, false);
}

/// Ticks to hardware cycles, rounding down, 32 bits (`k_ticks_to_cyc_floor32`).
#[inline]
pub fn k_ticks_to_cyc_floor32(t: u64) -> u32 {
    k_ticks_to_cyc_floor64(t) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmcvt_rounds_as_zephyr() {
        // 1 ms at 100 Hz is 0.1 tick: a timeout rounds up to 1 tick, a reading down to 0.
        assert_eq!(z_tmcvt(1, 1_000, 100, true), 1);
        assert_eq!(z_tmcvt(1, 1_000, 100, false), 0);
        assert_eq!(z_tmcvt(10, 1_000, 10_000, true), 100);
        assert_eq!(z_tmcvt(299, 10_000, 1_000, false), 29);
        assert_eq!(z_tmcvt(u64::MAX, 1, 1_000, false), u64::MAX);
    }

    #[test]
    fn absolute_timeouts_encode_below_forever() {
        assert_eq!(K_TIMEOUT_ABS_TICKS(0).ticks, -2);
        assert_eq!(Z_TICK_ABS(K_TIMEOUT_ABS_TICKS(1234).ticks), 1234);
        assert!(Z_TICK_ABS(K_TICKS(5).ticks) < 0);
        assert!(Z_TICK_ABS(K_FOREVER.ticks) < 0);
    }
}
