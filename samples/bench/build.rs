//! The application's boolean Kconfig options as cfgs: the board picks the interrupt lines
//! (`#[cfg(CONFIG_BOARD_QEMU_CORTEX_M3)]`, src/lib.rs), from the build's .config on real Zephyr
//! and from the simulated board's configuration on the host.
fn main() {
    for board in
        ["CONFIG_BOARD_QEMU_CORTEX_M3", "CONFIG_BOARD_NATIVE_POSIX", "CONFIG_BOARD_ZEPHYR_SIM"]
    {
        println!("cargo:rustc-check-cfg=cfg({board})");
    }
    zephyr_build::export_bool_kconfig();
}
