//! Simulated gpio (see the parent module).
