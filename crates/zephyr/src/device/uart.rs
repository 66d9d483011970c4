//! uart driver (see the parent module).
