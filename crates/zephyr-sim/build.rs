//! Turns on `zsim_signals` on the hosts where `src/signals.rs` reports a simulated thread's
//! stack overflow and lets the watchdog interrupt a spinning thread: Linux on x86_64 and
//! aarch64 (not under miri, which runs no simulation).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(zsim_signals)");
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let miri = std::env::var_os("CARGO_CFG_MIRI").is_some();
    if os == "linux" && (arch == "x86_64" || arch == "aarch64") && !miri {
        println!("cargo::rustc-cfg=zsim_signals");
    }
}
