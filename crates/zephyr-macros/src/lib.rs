//! Procedural macros of the `zephyr` crate (skeleton; filled in by issue 10 work).
