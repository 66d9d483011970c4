//! Simulated i2c (see the parent module).
