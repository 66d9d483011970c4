//! Tells the crate which kernel `zephyr-sys` was built for (its `DEP_ZEPHYR_PROVIDER`): on real
//! Zephyr (`cfg(zephyr_real)`) the crate also provides the program's panic handler and global
//! allocator (`rt.rs`); on the simulator (`cfg(zephyr_sim)`) per-boot statics are per
//! simulation, elsewhere they are plain statics. `cfg(zephyr_loom)` is set by hand
//! (`RUSTFLAGS="--cfg zephyr_loom"`) for the loom model checks (`tests/loom_executor.rs`,
//! `tests/loom_poll_wait.rs`).
//!
//! It also writes `zephyr::kconfig` (`$OUT_DIR/kconfig.rs`, through `zephyr-build`): from the
//! application's `.config` on real Zephyr (`ZEPHYR_DOTCONFIG`, or zephyr-lang-rust's
//! `DOTCONFIG`), from the simulated board's configuration otherwise (its defconfig and the
//! fragments named in `ZEPHYR_SIM_CONF`; not the application's own files, which this crate's
//! build script cannot see: `scripts/sim-run` names them in `ZEPHYR_SIM_CONF`).

fn main() {
    println!("cargo:rustc-check-cfg=cfg(zephyr_real, zephyr_sim, zephyr_loom)");
    println!("cargo:rerun-if-env-changed=DEP_ZEPHYR_PROVIDER");
    let provider = std::env::var("DEP_ZEPHYR_PROVIDER");
    match provider.as_deref() {
        Ok("real") => println!("cargo:rustc-cfg=zephyr_real"),
        Ok("simulator") => println!("cargo:rustc-cfg=zephyr_sim"),
        _ => {}
    }
    kconfig(provider.as_deref() == Ok("real"));
}

/// Writes `zephyr::kconfig`'s constants.
fn kconfig(real: bool) {
    let config = if real {
        let (config, rerun) = zephyr_build::Config::load_with(&|name| std::env::var_os(name), None);
        for line in rerun {
            println!("{line}");
        }
        assert!(
            config.kind() == zephyr_build::Kind::Dotconfig,
            "zephyr-sys was built for real Zephyr but neither ZEPHYR_DOTCONFIG nor DOTCONFIG is \
             set: build through the Zephyr module's rust_cargo_application()"
        );
        config
    } else {
        zephyr_build::Config::simulator_board()
    };
    config.write_kconfig_module();
}
