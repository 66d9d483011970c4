//! Tells the crate which kernel `zephyr-sys` was built for (its `DEP_ZEPHYR_PROVIDER`): on real
//! Zephyr (`cfg(zephyr_real)`) the crate also provides the program's panic handler and global
//! allocator (`rt.rs`).

fn main() {
    println!("cargo:rustc-check-cfg=cfg(zephyr_real)");
    println!("cargo:rerun-if-env-changed=DEP_ZEPHYR_PROVIDER");
    if std::env::var("DEP_ZEPHYR_PROVIDER").as_deref() == Ok("real") {
        println!("cargo:rustc-cfg=zephyr_real");
    }
}
