//! Tells the crate which kernel `zephyr-sys` was built for (its `DEP_ZEPHYR_PROVIDER`): on real
//! Zephyr (`cfg(zephyr_real)`) the crate also provides the program's panic handler and global
//! allocator (`rt.rs`); on the simulator (`cfg(zephyr_sim)`) per-boot statics are per
//! simulation, elsewhere they are plain statics. `cfg(zephyr_loom)` is set by hand
//! (`RUSTFLAGS="--cfg zephyr_loom"`) for the loom model checks (`tests/loom_executor.rs`,
//! `tests/loom_poll_wait.rs`).

fn main() {
    println!("cargo:rustc-check-cfg=cfg(zephyr_real, zephyr_sim, zephyr_loom)");
    println!("cargo:rerun-if-env-changed=DEP_ZEPHYR_PROVIDER");
    match std::env::var("DEP_ZEPHYR_PROVIDER").as_deref() {
        Ok("real") => println!("cargo:rustc-cfg=zephyr_real"),
        Ok("simulator") => println!("cargo:rustc-cfg=zephyr_sim"),
        _ => {}
    }
}
