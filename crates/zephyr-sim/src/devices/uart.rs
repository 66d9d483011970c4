//! Simulated uart (see the parent module).
