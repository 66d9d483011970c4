//! gpio driver (see the parent module).
