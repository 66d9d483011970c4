//! i2c driver (see the parent module).
