//! Time in kernel ticks: [`Duration`], [`Instant`], [`Timeout`], [`sleep`].
//!
//! The kernel counts time in ticks (`CONFIG_SYS_CLOCK_TICKS_PER_SEC` per second), and every
//! timeout it takes is a tick count. [`Duration`] and [`Instant`] therefore hold ticks ([`Tick`],
//! 64 bits as with `CONFIG_TIMEOUT_64BIT`), so handing one to the kernel costs nothing.
//!
//! Conversions from human units round **up** to whole ticks (a timeout never ends early), and
//! conversions back round **down**, exactly as Zephyr's `K_MSEC()` and `k_ticks_to_ms_floor64()`
//! do. They read the tick rate at run time ([`ticks_per_sec`]): on real Zephyr that is the
//! Kconfig constant, but the simulator can boot boards at other rates, which is why the
//! constructors are not `const`.
//!
//! # Upstream (`fugit`) names
//!
//! Upstream zephyr-lang-rust's `Duration` and `Instant` are `fugit` types with the rate as a
//! const parameter ([`SYS_FREQUENCY`]). The fugit names upstream code calls exist here too, on
//! these types: [`Duration::millis_at_least`] (and `nanos`/`micros`/`secs`/`minutes`/`hours`
//! `_at_least`), [`Duration::millis`] (and the others), [`Duration::to_millis`] (and the others),
//! [`Duration::from_ticks`], [`Duration::ticks`], [`Instant::duration_since_epoch`],
//! [`Instant::checked_add_duration`], and [`now`]. Two differences:
//!
//! * fugit's `Duration::millis(n)` (no `_at_least`) rounds **down** to whole ticks; here it rounds
//!   up like everything else (a timeout never ends early). At 10 kHz, where every millisecond is
//!   whole ticks, both give the same; at 100 Hz `millis(5)` is 0 ticks in fugit and 1 here.
//! * The constructors from human units are not `const fn` (the rate is read at run time), so
//!   `const D: Duration = Duration::millis_at_least(5);` does not build; use a `fn` or
//!   [`Duration::from_ticks`] (which is `const`).
//!
//! Anything that takes a timeout takes `impl Into<`[`Timeout`]`>`: a [`Duration`] (relative),
//! an [`Instant`] (absolute, `K_TIMEOUT_ABS_TICKS`), [`Forever`] or [`NoWait`].
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::time::{sleep, Duration, Instant};
//!
//! let start = Instant::now();
//! sleep(Duration::from_millis(10));
//! // Absolute deadlines do not drift: wake at start + 20 ms, however long the work took.
//! sleep(start + Duration::from_millis(20));
//! ```

use core::fmt;
use core::ops::{Add, AddAssign, Div, Mul, Sub, SubAssign};

use zephyr_sys::{k_timeout_t, z_tmcvt, K_FOREVER, K_NO_WAIT, K_TICKS, K_TIMEOUT_ABS_TICKS};

/// A count of kernel ticks (unsigned; `k_ticks_t` is its signed twin).
pub type Tick = u64;

/// The largest tick count a kernel timeout can hold (`k_ticks_t::MAX`).
const MAX_KERNEL_TICKS: Tick = i64::MAX as Tick;

/// Ticks per second of the running kernel (`CONFIG_SYS_CLOCK_TICKS_PER_SEC`, or the simulated
/// board's rate).
#[inline]
pub fn ticks_per_sec() -> u32 {
    zephyr_sys::sys_clock_ticks_per_sec()
}

/// The system clock's ticks per second, as configured (`CONFIG_SYS_CLOCK_TICKS_PER_SEC`;
/// upstream zephyr-lang-rust's name).
///
/// On real Zephyr this is the rate the kernel runs at. On the simulator it is the build's
/// default board rate (10 000 unless `CONFIG_SYS_CLOCK_TICKS_PER_SEC` is set when building);
/// a board booted at another rate (`Sim::ticks_per_sec`) runs at [`ticks_per_sec()`], which
/// every conversion here reads.
pub const SYS_FREQUENCY: u32 = zephyr_sys::CONFIG_SYS_CLOCK_TICKS_PER_SEC;

/// The current uptime as an [`Instant`] (`k_uptime_ticks`): upstream's `zephyr::time::now()`,
/// the same as [`Instant::now`].
#[inline]
pub fn now() -> Instant {
    Instant::now()
}

/// A span of time, in kernel ticks.
///
/// Constructors from other units round up to whole ticks; `to_*` readers round down. Arithmetic
/// panics on overflow, like `core::time::Duration`'s (use the `checked_*`/`saturating_*` forms
/// to avoid that).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    ticks: Tick,
}

impl Duration {
    /// No time at all (as a timeout: do not wait).
    pub const ZERO: Duration = Duration { ticks: 0 };
    /// The longest duration.
    pub const MAX: Duration = Duration { ticks: Tick::MAX };

    /// A duration of exactly `ticks` ticks.
    #[inline]
    pub const fn from_ticks(ticks: Tick) -> Duration {
        Duration { ticks }
    }

    /// At least `ms` milliseconds, rounded up to whole ticks (as `K_MSEC`).
    #[inline]
    pub fn from_millis(ms: u64) -> Duration {
        Duration::from_ticks(zephyr_sys::k_ms_to_ticks_ceil64(ms))
    }

    /// At least `us` microseconds, rounded up to whole ticks (as `K_USEC`).
    #[inline]
    pub fn from_micros(us: u64) -> Duration {
        Duration::from_ticks(zephyr_sys::k_us_to_ticks_ceil64(us))
    }

    /// At least `ns` nanoseconds, rounded up to whole ticks (as `K_NSEC`).
    #[inline]
    pub fn from_nanos(ns: u64) -> Duration {
        Duration::from_ticks(zephyr_sys::k_ns_to_ticks_ceil64(ns))
    }

    /// `s` seconds, in ticks (saturating at [`Duration::MAX`]).
    #[inline]
    pub fn from_secs(s: u64) -> Duration {
        Duration::from_ticks(z_tmcvt(s, 1, ticks_per_sec() as u64, true))
    }

    /// `m` minutes, in ticks (saturating at [`Duration::MAX`]).
    #[inline]
    pub fn from_minutes(m: u64) -> Duration {
        Duration::from_ticks(z_tmcvt(m.saturating_mul(60), 1, ticks_per_sec() as u64, true))
    }

    /// `h` hours, in ticks (saturating at [`Duration::MAX`]).
    #[inline]
    pub fn from_hours(h: u64) -> Duration {
        Duration::from_minutes(h.saturating_mul(60))
    }

    /// Same as [`Duration::from_millis`]: rounds **up** to whole ticks, where fugit's `millis`
    /// rounds down (see the [module docs](self)).
    #[inline]
    pub fn millis(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Same as [`Duration::from_micros`] (rounds up; fugit's rounds down).
    #[inline]
    pub fn micros(us: u64) -> Duration {
        Duration::from_micros(us)
    }

    /// Same as [`Duration::from_nanos`] (rounds up; fugit's rounds down).
    #[inline]
    pub fn nanos(ns: u64) -> Duration {
        Duration::from_nanos(ns)
    }

    /// Same as [`Duration::from_secs`] (the `fugit` name upstream code uses).
    #[inline]
    pub fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Same as [`Duration::from_minutes`] (the `fugit` name).
    #[inline]
    pub fn minutes(m: u64) -> Duration {
        Duration::from_minutes(m)
    }

    /// Same as [`Duration::from_hours`] (the `fugit` name).
    #[inline]
    pub fn hours(h: u64) -> Duration {
        Duration::from_hours(h)
    }

    /// At least `ms` milliseconds, rounded up to whole ticks (fugit's name; the same as
    /// [`Duration::from_millis`]).
    ///
    /// ```no_run
    /// # use zephyr_sim as _;
    /// use zephyr::time::{sleep, Duration, Tick};
    ///
    /// let period = 25;
    /// sleep(Duration::millis_at_least(period as Tick)); // 250 ticks at 10 kHz, 3 at 100 Hz
    /// ```
    #[inline]
    pub fn millis_at_least(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// At least `us` microseconds, rounded up to whole ticks (fugit's name).
    #[inline]
    pub fn micros_at_least(us: u64) -> Duration {
        Duration::from_micros(us)
    }

    /// At least `ns` nanoseconds, rounded up to whole ticks (fugit's name).
    #[inline]
    pub fn nanos_at_least(ns: u64) -> Duration {
        Duration::from_nanos(ns)
    }

    /// At least `s` seconds, in ticks (fugit's name; whole seconds are whole ticks).
    #[inline]
    pub fn secs_at_least(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// At least `m` minutes, in ticks (fugit's name).
    #[inline]
    pub fn minutes_at_least(m: u64) -> Duration {
        Duration::from_minutes(m)
    }

    /// At least `h` hours, in ticks (fugit's name).
    #[inline]
    pub fn hours_at_least(h: u64) -> Duration {
        Duration::from_hours(h)
    }

    /// The tick count.
    #[inline]
    pub const fn ticks(self) -> Tick {
        self.ticks
    }

    /// Whole milliseconds (rounded down).
    #[inline]
    pub fn to_millis(self) -> u64 {
        zephyr_sys::k_ticks_to_ms_floor64(self.ticks)
    }

    /// Whole microseconds (rounded down).
    #[inline]
    pub fn to_micros(self) -> u64 {
        zephyr_sys::k_ticks_to_us_floor64(self.ticks)
    }

    /// Whole nanoseconds (rounded down, saturating).
    #[inline]
    pub fn to_nanos(self) -> u64 {
        zephyr_sys::k_ticks_to_ns_floor64(self.ticks)
    }

    /// Whole seconds (rounded down).
    #[inline]
    pub fn to_secs(self) -> u64 {
        z_tmcvt(self.ticks, ticks_per_sec() as u64, 1, false)
    }

    /// Whole minutes (rounded down).
    #[inline]
    pub fn to_minutes(self) -> u64 {
        self.to_secs() / 60
    }

    /// Whole hours (rounded down).
    #[inline]
    pub fn to_hours(self) -> u64 {
        self.to_secs() / 3600
    }

    /// Whether this is zero ticks.
    #[inline]
    pub const fn is_zero(self) -> bool {
        self.ticks == 0
    }

    /// `self + rhs`, or `None` on overflow.
    #[inline]
    pub const fn checked_add(self, rhs: Duration) -> Option<Duration> {
        match self.ticks.checked_add(rhs.ticks) {
            Some(ticks) => Some(Duration { ticks }),
            None => None,
        }
    }

    /// `self - rhs`, or `None` if `rhs` is longer.
    #[inline]
    pub const fn checked_sub(self, rhs: Duration) -> Option<Duration> {
        match self.ticks.checked_sub(rhs.ticks) {
            Some(ticks) => Some(Duration { ticks }),
            None => None,
        }
    }

    /// `self + rhs`, at most [`Duration::MAX`].
    #[inline]
    pub const fn saturating_add(self, rhs: Duration) -> Duration {
        Duration { ticks: self.ticks.saturating_add(rhs.ticks) }
    }

    /// `self - rhs`, at least [`Duration::ZERO`].
    #[inline]
    pub const fn saturating_sub(self, rhs: Duration) -> Duration {
        Duration { ticks: self.ticks.saturating_sub(rhs.ticks) }
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duration({} ticks)", self.ticks)
    }
}

impl Add for Duration {
    type Output = Duration;
    /// # Panics
    /// On overflow.
    fn add(self, rhs: Duration) -> Duration {
        self.checked_add(rhs).expect("overflow when adding durations")
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub for Duration {
    type Output = Duration;
    /// # Panics
    /// If `rhs` is longer than `self`.
    fn sub(self, rhs: Duration) -> Duration {
        self.checked_sub(rhs).expect("overflow when subtracting durations")
    }
}

impl SubAssign for Duration {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Mul<u32> for Duration {
    type Output = Duration;
    /// # Panics
    /// On overflow.
    fn mul(self, rhs: u32) -> Duration {
        let ticks = self.ticks.checked_mul(rhs as Tick);
        Duration { ticks: ticks.expect("overflow when multiplying duration by scalar") }
    }
}

impl Div<u32> for Duration {
    type Output = Duration;
    /// Divides, rounding down.
    ///
    /// # Panics
    /// If `rhs` is zero.
    fn div(self, rhs: u32) -> Duration {
        Duration { ticks: self.ticks / rhs as Tick }
    }
}

/// A point in time: ticks since boot.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    ticks: Tick,
}

impl Instant {
    /// The current uptime (`k_uptime_ticks`); in a timer handler, the tick being handled.
    #[inline]
    pub fn now() -> Instant {
        Instant { ticks: uptime_ticks() }
    }

    /// The instant `ticks` ticks after boot.
    #[inline]
    pub const fn from_ticks(ticks: Tick) -> Instant {
        Instant { ticks }
    }

    /// Ticks since boot.
    #[inline]
    pub const fn ticks(self) -> Tick {
        self.ticks
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later (as `std`'s, since Rust 1.60).
    #[inline]
    pub const fn duration_since(self, earlier: Instant) -> Duration {
        Duration { ticks: self.ticks.saturating_sub(earlier.ticks) }
    }

    /// `self - earlier`, or `None` if `earlier` is later.
    #[inline]
    pub const fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        match self.ticks.checked_sub(earlier.ticks) {
            Some(ticks) => Some(Duration { ticks }),
            None => None,
        }
    }

    /// Time since `self` ([`Instant::now`] minus `self`, zero if `self` is in the future).
    #[inline]
    pub fn elapsed(self) -> Duration {
        Instant::now().duration_since(self)
    }

    /// `self + d`, or `None` on overflow.
    #[inline]
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.ticks.checked_add(d.ticks) {
            Some(ticks) => Some(Instant { ticks }),
            None => None,
        }
    }

    /// `self - d`, or `None` if that is before boot.
    #[inline]
    pub const fn checked_sub(self, d: Duration) -> Option<Instant> {
        match self.ticks.checked_sub(d.ticks) {
            Some(ticks) => Some(Instant { ticks }),
            None => None,
        }
    }

    /// Time since boot (fugit's name).
    #[inline]
    pub const fn duration_since_epoch(self) -> Duration {
        Duration { ticks: self.ticks }
    }

    /// Same as [`Instant::checked_add`] (fugit's name).
    #[inline]
    pub const fn checked_add_duration(self, d: Duration) -> Option<Instant> {
        self.checked_add(d)
    }

    /// Same as [`Instant::checked_sub`] (fugit's name).
    #[inline]
    pub const fn checked_sub_duration(self, d: Duration) -> Option<Instant> {
        self.checked_sub(d)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant(tick {})", self.ticks)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// On overflow.
    fn add(self, rhs: Duration) -> Instant {
        self.checked_add(rhs).expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// If the result would be before boot.
    fn sub(self, rhs: Duration) -> Instant {
        self.checked_sub(rhs).expect("overflow when subtracting duration from instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub for Instant {
    type Output = Duration;
    /// The time between two instants; zero if `rhs` is later (see [`Instant::duration_since`]).
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

/// A kernel timeout (`k_timeout_t`): relative ticks, an absolute tick, forever or no wait.
///
/// Build one with `.into()` from a [`Duration`], [`Instant`], [`Forever`] or [`NoWait`]; the raw
/// value is public for code that already has a `k_timeout_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timeout(pub k_timeout_t);

impl Timeout {
    /// Whether this is [`NoWait`] (a zero timeout never blocks, so it is allowed in an ISR).
    #[inline]
    pub fn is_no_wait(self) -> bool {
        self.0 == K_NO_WAIT
    }

    /// Whether this is [`Forever`].
    #[inline]
    pub fn is_forever(self) -> bool {
        self.0 == K_FOREVER
    }
}

impl From<Duration> for Timeout {
    /// A relative timeout; zero ticks is [`NoWait`]. Durations beyond what a kernel timeout holds
    /// (2^63 - 1 ticks, hundreds of years) saturate there.
    fn from(d: Duration) -> Timeout {
        Timeout(K_TICKS(d.ticks.min(MAX_KERNEL_TICKS) as i64))
    }
}

impl From<Instant> for Timeout {
    /// An absolute timeout (`K_TIMEOUT_ABS_TICKS`): ends at that tick, or at the next tick if it
    /// has passed.
    fn from(i: Instant) -> Timeout {
        // The encoding (-2 - t) fits in an i64 for t <= i64::MAX - 1.
        Timeout(K_TIMEOUT_ABS_TICKS(i.ticks.min(MAX_KERNEL_TICKS - 1) as i64))
    }
}

/// Wait as long as it takes (`K_FOREVER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Forever;

impl From<Forever> for Timeout {
    fn from(_: Forever) -> Timeout {
        Timeout(K_FOREVER)
    }
}

/// Do not wait (`K_NO_WAIT`): fail with `EBUSY` at once if the operation would block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct NoWait;

impl From<NoWait> for Timeout {
    fn from(_: NoWait) -> Timeout {
        Timeout(K_NO_WAIT)
    }
}

/// Ticks since boot (`k_uptime_ticks`).
#[inline]
pub fn uptime_ticks() -> Tick {
    // SAFETY: a plain read of the kernel clock, valid from any context once the kernel runs
    // (which code using this crate always does).
    let t = unsafe { zephyr_sys::k_uptime_ticks() };
    t.max(0) as Tick
}

/// Puts the calling thread to sleep until `timeout` (`k_sleep`); returns the time that was left
/// if it was woken early ([`ThreadId::wakeup`](crate::thread::ThreadId::wakeup)), else zero.
///
/// The kernel reports what was left in whole milliseconds (rounded down); this converts it back
/// to ticks (rounding up). [`NoWait`] yields. [`Forever`] suspends the thread until
/// [`ThreadId::resume`](crate::thread::ThreadId::resume), and then returns zero.
///
/// # Panics
/// In an interrupt handler (a sleep blocks).
pub fn sleep<T: Into<Timeout>>(timeout: T) -> Duration {
    let timeout: Timeout = timeout.into();
    crate::thread::assert_may_block("sleep");
    // SAFETY: thread context (checked above); k_sleep takes any timeout.
    let left = unsafe { zephyr_sys::k_sleep(timeout.0) };
    // Negative is `K_TICKS_FOREVER`, what a `Forever` sleep returns once resumed.
    if left <= 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(left as u64)
    }
}

/// Spins for at least `duration` without giving up the CPU (`k_busy_wait`): interrupts still
/// run, other threads do not (except more urgent ones an interrupt readies, when the caller is
/// preemptible).
///
/// The duration is converted to microseconds rounding up; waits longer than `u32::MAX`
/// microseconds (about 71 minutes) are split.
pub fn busy_wait(duration: Duration) {
    let mut us = zephyr_sys::k_ticks_to_us_ceil64(duration.ticks);
    while us > 0 {
        let chunk = us.min(u32::MAX as u64);
        busy_wait_us(chunk as u32);
        us -= chunk;
    }
}

/// Spins for `us` microseconds (`k_busy_wait`); see [`busy_wait`].
#[inline]
pub fn busy_wait_us(us: u32) {
    // SAFETY: k_busy_wait has no preconditions; it is valid in threads and ISRs.
    unsafe { zephyr_sys::k_busy_wait(us) }
}

#[cfg(test)]
mod tests {
    //! Ticks, instants and timeouts need no kernel: these run without a simulation (and under
    //! miri). Conversions from and to human units read the running board's tick rate, so
    //! `tests/safe_api_time.rs` checks them on simulated boards.

    extern crate std;

    use std::format;

    use zephyr_sys::{K_FOREVER, K_NO_WAIT, K_TICKS, K_TIMEOUT_ABS_TICKS};

    use super::*;

    /// Arithmetic on ticks needs no kernel.
    #[test]
    fn duration_and_instant_arithmetic() {
        let a = Duration::from_ticks(30);
        let b = Duration::from_ticks(12);
        assert_eq!(a + b, Duration::from_ticks(42));
        assert_eq!(a - b, Duration::from_ticks(18));
        assert_eq!(a * 3, Duration::from_ticks(90));
        assert_eq!(a / 4, Duration::from_ticks(7));
        assert_eq!(b.checked_sub(a), None);
        assert_eq!(b.saturating_sub(a), Duration::ZERO);
        assert_eq!(Duration::MAX.checked_add(b), None);
        assert_eq!(Duration::MAX.saturating_add(b), Duration::MAX);
        assert!(b < a && Duration::ZERO.is_zero());
        let mut d = a;
        d += b;
        d -= Duration::from_ticks(2);
        assert_eq!(d.ticks(), 40);

        let t = Instant::from_ticks(1_000);
        assert_eq!((t + a).ticks(), 1_030);
        assert_eq!((t - a).ticks(), 970);
        assert_eq!((t + a) - t, a);
        assert_eq!(t - (t + a), Duration::ZERO, "an earlier minus a later instant saturates");
        assert_eq!(t.checked_duration_since(t + a), None);
        assert_eq!(Instant::from_ticks(5).checked_sub(a), None);
        assert_eq!(format!("{a:?} {t:?}"), "Duration(30 ticks) Instant(tick 1000)");
    }

    #[test]
    #[should_panic(expected = "overflow when subtracting durations")]
    fn duration_subtraction_overflow_panics() {
        let _ = Duration::from_ticks(1) - Duration::from_ticks(2);
    }

    /// Every timeout flavour maps to the kernel's encoding; huge values saturate instead of
    /// wrapping into `K_FOREVER` or a relative timeout.
    #[test]
    fn timeout_conversions() {
        let t = |x: Timeout| x.0;
        assert_eq!(t(Duration::from_ticks(5).into()), K_TICKS(5));
        assert_eq!(t(Duration::ZERO.into()), K_NO_WAIT);
        assert_eq!(t(Duration::MAX.into()), K_TICKS(i64::MAX));
        assert_eq!(t(NoWait.into()), K_NO_WAIT);
        assert_eq!(t(Forever.into()), K_FOREVER);
        assert_eq!(t(Instant::from_ticks(100).into()), K_TIMEOUT_ABS_TICKS(100));
        assert_eq!(t(Instant::from_ticks(u64::MAX).into()).ticks, i64::MIN);
        assert!(Timeout::from(NoWait).is_no_wait() && Timeout::from(Forever).is_forever());
    }
}
