// Exactly upstream's build script: the application's boolean Kconfig options become cfgs
// (`#[cfg(CONFIG_PHIL_CHANNEL)]`), from the build's .config on real Zephyr and from prj.conf
// over the simulated board's defaults on the host.
fn main() {
    zephyr_build::export_bool_kconfig();
}
