//! Build-script helpers for Zephyr applications in Rust (skeleton; filled in by issue 10 work).
