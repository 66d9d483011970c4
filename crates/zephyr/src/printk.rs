//! Console output: `printk!` and `printkln!`, formatted in Rust, written with `k_str_out`.

/// Prints to the Zephyr console, like `printk` (Rust formatting, no newline added).
#[macro_export]
macro_rules! printk {
    ($($arg:tt)*) => { $crate::raw::printk_fmt(::core::format_args!($($arg)*)) };
}

/// Prints a line to the Zephyr console.
#[macro_export]
macro_rules! printkln {
    () => { $crate::raw::printk_fmt(::core::format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::raw::printk_fmt(::core::format_args!($($arg)*));
        $crate::raw::printk_fmt(::core::format_args!("\n"));
    }};
}
