//! Build-script helpers for Zephyr applications in Rust: Kconfig options as cfgs and constants.
//!
//! An application's `build.rs` calls [`export_bool_kconfig`] (zephyr-lang-rust's name and
//! behaviour), and every `CONFIG_X=y` of the build's configuration becomes `cfg(CONFIG_X)`:
//!
//! ```ignore
//! // build.rs, with `zephyr-build` under [build-dependencies]
//! fn main() {
//!     zephyr_build::export_bool_kconfig();
//! }
//! ```
//!
//! ```ignore
//! // src/lib.rs
//! #![allow(unexpected_cfgs)] // options that are off are cfgs nobody declared
//! #[cfg(CONFIG_PHIL_CHANNEL)]
//! fn forks() -> Forks { /* ... */ }
//! ```
//!
//! [`build_kconfig_mod`] writes the integer, hex and string options as constants to
//! `$OUT_DIR/kconfig.rs` (the `zephyr` crate's `zephyr::kconfig` is made this way), and
//! [`Config`] reads the configuration for a build script that wants to decide for itself.
//!
//! # Where the configuration comes from
//!
//! [`Config::load`] picks, in this order:
//!
//! 1. **Real Zephyr**: the `.config` named by `DOTCONFIG` (zephyr-lang-rust's variable) or
//!    `ZEPHYR_DOTCONFIG`. The Zephyr module's `rust_cargo_application()` sets both; it is the
//!    configuration Kconfig computed for the application and board, every `default` evaluated.
//! 2. **The simulator** (host builds, and `no_std` builds outside a Zephyr build): the simulated
//!    board's defconfig ([`SIMULATOR_DEFCONFIG`], shipped in this crate as
//!    `boards/zephyr_sim_defconfig`), then the application's `prj.conf` and
//!    `boards/zephyr_sim.conf` (beside its `Cargo.toml`, when present), then each file named in
//!    `ZEPHYR_SIM_CONF` (absolute paths separated by `:`, `;` on Windows), later files overriding earlier ones.
//!    `zephyr-sys` takes the simulated kernel's options (tick rate, priorities) from the same
//!    files, so `scripts/sim-run`, which sets `ZEPHYR_SIM_CONF` to the application's files, boots
//!    the kernel the application configured.
//!
//! On the simulator **Kconfig files are not evaluated**: an option that only has a `default` in
//! the application's `Kconfig` (`default y`, a `choice`'s default) is not set. Set it in
//! `prj.conf` (both kernels read it) or in `boards/zephyr_sim.conf` (the simulator only).
//!
//! # Rebuilds
//!
//! [`Config::load`] prints `cargo:rerun-if-env-changed` for the variables above and
//! `cargo:rerun-if-changed` for every file it read. A `prj.conf` or `boards/zephyr_sim.conf`
//! created after the first build is not watched until the build script runs again (`touch
//! build.rs`): cargo reruns a script on every build while it watches a path that does not
//! exist.
//!
//! # Fragments
//!
//! `.config` files and `.conf` fragments share one syntax: `CONFIG_NAME=value` lines, where a
//! value is `y`, `n` (the option is off, as `# CONFIG_NAME is not set` says in a `.config`), a
//! decimal or `0x` hex number, or a double-quoted string with `\"` and `\\` escapes. Other lines
//! and comments are ignored.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, io};

/// The simulated board's configuration, `boards/zephyr_sim_defconfig`: what a Zephyr build's
/// `.config` would hold for the `zephyr_sim` board (`CONFIG_BOARD="zephyr_sim"`, a 10 kHz tick,
/// Zephyr 2.7's scheduling defaults, `CONFIG_RUST=y`, `CONFIG_PRINTK=y`, ...).
pub const SIMULATOR_DEFCONFIG: &str = include_str!("../boards/zephyr_sim_defconfig");

/// The environment variables naming a real Zephyr build's `.config`, in the order they are
/// consulted: zephyr-lang-rust's `DOTCONFIG`, then this repository's `ZEPHYR_DOTCONFIG`.
pub const DOTCONFIG_VARS: [&str; 2] = ["DOTCONFIG", "ZEPHYR_DOTCONFIG"];

/// The environment variable listing extra fragments for the simulator, separated by `:`.
pub const SIM_CONF_VAR: &str = "ZEPHYR_SIM_CONF";

/// Makes every boolean option that is on (`CONFIG_X=y`) a cfg of the crate whose build script
/// calls it: `cargo:rustc-cfg=CONFIG_X`, and `cargo:rustc-check-cfg=cfg(CONFIG_X)` so that cfgs
/// which are on are not reported as unexpected (those that are off still are: crates add
/// `#![allow(unexpected_cfgs)]`, as in zephyr-lang-rust).
///
/// The configuration is [`Config::load`]'s: the application's `.config` on real Zephyr, the
/// simulated board's layered configuration otherwise.
///
/// # Panics
/// If a configuration file cannot be read (the message names it).
pub fn export_bool_kconfig() {
    for line in Config::load().bool_cfg_lines() {
        println!("{line}");
    }
}

/// Writes the integer, hex and string options of [`Config::load`]'s configuration as constants
/// to `$OUT_DIR/kconfig.rs`, for the crate to `include!` (see
/// [`Config::kconfig_module`] for the types).
///
/// ```ignore
/// pub mod kconfig {
///     include!(concat!(env!("OUT_DIR"), "/kconfig.rs"));
/// }
/// ```
///
/// # Panics
/// Outside a build script (no `OUT_DIR`), or if a file cannot be read or written.
pub fn build_kconfig_mod() {
    Config::load().write_kconfig_module();
}

/// A Zephyr configuration: option names (`CONFIG_...`) and their values as written in the
/// `.config` (strings keep their quotes), with where they came from.
///
/// ```
/// let mut config = zephyr_build::Config::simulator_defconfig();
/// config.apply("CONFIG_SYS_CLOCK_TICKS_PER_SEC=100\nCONFIG_MY_OPTION=y\nCONFIG_PRINTK=n\n");
/// assert_eq!(config.string("CONFIG_BOARD").as_deref(), Some("zephyr_sim"));
/// assert_eq!(config.int("CONFIG_SYS_CLOCK_TICKS_PER_SEC"), Some(100));
/// assert!(config.enabled("CONFIG_MY_OPTION"));
/// assert!(!config.enabled("CONFIG_PRINTK"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    values: BTreeMap<String, String>,
    sources: Vec<PathBuf>,
    kind: Kind,
}

/// Which kind of build a [`Config`] describes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// A real Zephyr build's `.config`.
    Dotconfig,
    /// The simulated board's defconfig and the fragments layered over it.
    #[default]
    Simulator,
}

impl Config {
    /// The configuration of the build this build script is part of, as described in the
    /// [crate docs](crate#where-the-configuration-comes-from): the `.config` named by
    /// `DOTCONFIG` or `ZEPHYR_DOTCONFIG`; otherwise the simulated board's defconfig, the
    /// package's `prj.conf` and `boards/zephyr_sim.conf` (from `CARGO_MANIFEST_DIR`) and the
    /// files of `ZEPHYR_SIM_CONF`. Prints the `cargo:rerun-if-*` lines for all of them.
    ///
    /// # Panics
    /// If a file cannot be read, or `ZEPHYR_SIM_CONF` names a relative path (the message says
    /// which).
    pub fn load() -> Config {
        let app = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let (config, rerun) = Self::load_with(&|name| env::var_os(name), app.as_deref());
        for line in rerun {
            println!("{line}");
        }
        config
    }

    /// The simulated board's own configuration: the defconfig, then the files of
    /// `ZEPHYR_SIM_CONF` (no application files). What `zephyr-sys` and the `zephyr` crate read
    /// on the simulator. Prints the `cargo:rerun-if-*` lines.
    ///
    /// # Panics
    /// As [`load`](Self::load).
    pub fn simulator_board() -> Config {
        let mut rerun = Vec::new();
        let config = Self::simulator_with(&|name| env::var_os(name), None, &mut rerun);
        for line in rerun {
            println!("{line}");
        }
        config
    }

    /// [`load`](Self::load) with the environment given as a function, returning the
    /// `cargo:rerun-if-*` lines instead of printing them.
    ///
    /// # Panics
    /// As [`load`](Self::load).
    pub fn load_with(
        env: &dyn Fn(&str) -> Option<OsString>,
        app_dir: Option<&Path>,
    ) -> (Config, Vec<String>) {
        let mut rerun: Vec<String> =
            DOTCONFIG_VARS.iter().map(|v| format!("cargo:rerun-if-env-changed={v}")).collect();
        let dotconfig = DOTCONFIG_VARS.iter().find_map(|v| env(v).filter(|p| !p.is_empty()));
        let config = match dotconfig {
            Some(path) => {
                let path = PathBuf::from(path);
                rerun.push(format!("cargo:rerun-if-changed={}", path.display()));
                Self::from_dotconfig(&path).unwrap_or_else(|e| {
                    panic!("cannot read the Zephyr build's .config {}: {e}", path.display())
                })
            }
            None => Self::simulator_with(env, app_dir, &mut rerun),
        };
        (config, rerun)
    }

    /// The simulator's layering (defconfig, the application's files when `app_dir` is given,
    /// then `ZEPHYR_SIM_CONF`), with the `cargo:rerun-if-*` lines pushed onto `rerun`.
    fn simulator_with(
        env: &dyn Fn(&str) -> Option<OsString>,
        app_dir: Option<&Path>,
        rerun: &mut Vec<String>,
    ) -> Config {
        rerun.push(format!("cargo:rerun-if-env-changed={SIM_CONF_VAR}"));
        let mut config = Self::simulator_defconfig();
        let mut files = Vec::new();
        if let Some(dir) = app_dir {
            // Absent files are not watched: a missing path makes cargo rerun every build.
            files.extend(
                [dir.join("prj.conf"), dir.join("boards").join("zephyr_sim.conf")]
                    .into_iter()
                    .filter(|p| p.is_file()),
            );
        }
        if let Some(list) = env(SIM_CONF_VAR) {
            for path in env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
                assert!(
                    path.is_absolute(),
                    "{SIM_CONF_VAR} names a relative path, {}: build scripts run in their own \
                     package's directory, so give absolute paths",
                    path.display()
                );
                files.push(path);
            }
        }
        for path in files {
            rerun.push(format!("cargo:rerun-if-changed={}", path.display()));
            config.apply_file(&path).unwrap_or_else(|e| {
                panic!("cannot read the Kconfig fragment {}: {e}", path.display())
            });
        }
        config
    }

    /// The simulated board's defconfig alone ([`SIMULATOR_DEFCONFIG`]).
    pub fn simulator_defconfig() -> Config {
        let mut config = Config::default();
        config.apply(SIMULATOR_DEFCONFIG);
        config
    }

    /// A real Zephyr build's `.config`.
    ///
    /// # Errors
    /// If the file cannot be read.
    pub fn from_dotconfig(path: &Path) -> io::Result<Config> {
        let mut config = Config { kind: Kind::Dotconfig, ..Config::default() };
        config.apply_file(path)?;
        Ok(config)
    }

    /// Applies a fragment's text: each `CONFIG_X=value` replaces the option's value, `=n` and
    /// `# CONFIG_X is not set` turn it off. Lines that are neither are ignored.
    pub fn apply(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if let Some(name) =
                line.strip_prefix("# ").and_then(|rest| rest.strip_suffix(" is not set"))
            {
                if is_option_name(name) {
                    self.values.remove(name);
                }
                continue;
            }
            let Some((name, value)) = line.split_once('=') else { continue };
            let (name, value) = (name.trim(), value.trim());
            if !is_option_name(name) {
                continue;
            }
            if value == "n" {
                self.values.remove(name);
            } else {
                self.values.insert(name.to_string(), value.to_string());
            }
        }
    }

    /// Applies a fragment file ([`apply`](Self::apply)) and records it in
    /// [`sources`](Self::sources).
    ///
    /// # Errors
    /// If the file cannot be read.
    pub fn apply_file(&mut self, path: &Path) -> io::Result<()> {
        let text = fs::read_to_string(path)?;
        self.apply(&text);
        self.sources.push(path.to_path_buf());
        Ok(())
    }

    /// Which kind of build this configuration describes.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The files read, in the order applied (the built-in defconfig is not listed).
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// The option's value as written (`y`, `42`, `0x1000`, `"text"` with its quotes), or `None`
    /// if it is not set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// True if the option is `y`.
    pub fn enabled(&self, name: &str) -> bool {
        self.get(name) == Some("y")
    }

    /// The option's value as an integer (decimal or `0x` hex), if it is set and one.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| match parse_value(v) {
            Value::Int(i) => Some(i),
            Value::Hex(h) => i64::try_from(h).ok(),
            _ => None,
        })
    }

    /// The option's string value without its quotes, escapes resolved, if it is set and a
    /// string.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|v| match parse_value(v) {
            Value::Str(s) => Some(s),
            _ => None,
        })
    }

    /// Every option that is set, by name, with its value as written.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The build-script lines [`export_bool_kconfig`] prints: for each option that is `y`,
    /// `cargo:rustc-check-cfg=cfg(CONFIG_X)` and `cargo:rustc-cfg=CONFIG_X`.
    pub fn bool_cfg_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (name, _) in self.iter().filter(|(_, v)| *v == "y") {
            lines.push(format!("cargo:rustc-check-cfg=cfg({name})"));
            lines.push(format!("cargo:rustc-cfg={name}"));
        }
        lines
    }

    /// Rust source declaring one constant per integer, hex and string option, with
    /// zephyr-lang-rust's types: decimal is `isize`, `0x` hex is `usize`, a string is `&str`.
    /// Booleans are cfgs ([`export_bool_kconfig`]), not constants. `pointer_width` is the
    /// target's (16, 32 or 64 bits): a number that does not fit its `isize`/`usize` is left out,
    /// with a comment saying so.
    ///
    /// ```
    /// let config = zephyr_build::Config::simulator_defconfig();
    /// let module = config.kconfig_module(32);
    /// assert!(module.contains("pub const CONFIG_BOARD: &str = \"zephyr_sim\";"));
    /// assert!(module.contains("pub const CONFIG_SYS_CLOCK_TICKS_PER_SEC: isize = 10000;"));
    /// ```
    pub fn kconfig_module(&self, pointer_width: u32) -> String {
        let bits = pointer_width.min(64);
        let umax = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
        let imax = (umax >> 1) as i64;
        let mut out = String::from("// Generated by zephyr-build from");
        match self.kind {
            Kind::Simulator => out.push_str(" the simulated board's defconfig"),
            Kind::Dotconfig => {}
        }
        for source in &self.sources {
            let _ = write!(out, " {}", source.display());
        }
        out.push_str(".\n");
        for (name, raw) in self.iter() {
            match parse_value(raw) {
                Value::Int(i) if i <= imax && i >= -imax - 1 => {
                    let _ = writeln!(out, "pub const {name}: isize = {i};");
                }
                Value::Hex(h) if h <= umax => {
                    let _ = writeln!(out, "pub const {name}: usize = {h:#x};");
                }
                Value::Int(_) | Value::Hex(_) => {
                    let _ = writeln!(
                        out,
                        "// {name}={raw} does not fit the target's {bits}-bit integers."
                    );
                }
                Value::Str(s) => {
                    let _ = writeln!(out, "pub const {name}: &str = {s:?};");
                }
                Value::Other => {}
            }
        }
        out
    }

    /// Writes [`kconfig_module`](Self::kconfig_module) for the target being built
    /// (`CARGO_CFG_TARGET_POINTER_WIDTH`) to `$OUT_DIR/kconfig.rs`.
    ///
    /// # Panics
    /// Outside a build script (no `OUT_DIR`), or if the file cannot be written.
    pub fn write_kconfig_module(&self) {
        let out = PathBuf::from(
            env::var_os("OUT_DIR").expect("OUT_DIR is not set: call this from a build script"),
        );
        let width = env::var("CARGO_CFG_TARGET_POINTER_WIDTH")
            .ok()
            .and_then(|w| w.parse().ok())
            .unwrap_or(usize::BITS);
        let path = out.join("kconfig.rs");
        fs::write(&path, self.kconfig_module(width))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

/// True for `CONFIG_` followed by letters, digits and underscores.
fn is_option_name(name: &str) -> bool {
    name.strip_prefix("CONFIG_").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// A value as its spelling types it.
#[derive(Debug, PartialEq, Eq)]
enum Value {
    Int(i64),
    Hex(u64),
    Str(String),
    /// `y`, `m`, or anything unrecognised.
    Other,
}

fn parse_value(raw: &str) -> Value {
    if let Some(hex) = raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).map_or(Value::Other, Value::Hex);
    }
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse().map_or(Value::Other, Value::Int);
    }
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut s = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => s.extend(chars.next()),
                c => s.push(c),
            }
        }
        return Value::Str(s);
    }
    Value::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of its own under the system's temporary directory.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = env::temp_dir().join(format!("zephyr-build-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("boards")).unwrap();
        dir
    }

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, OsString)> =
            vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn values_are_typed_by_their_spelling() {
        assert_eq!(parse_value("42"), Value::Int(42));
        assert_eq!(parse_value("0"), Value::Int(0));
        assert_eq!(parse_value("-127"), Value::Int(-127));
        assert_eq!(parse_value("0x2000"), Value::Hex(0x2000));
        assert_eq!(parse_value(r#""a \"b\" \\c""#), Value::Str(r#"a "b" \c"#.to_string()));
        assert_eq!(parse_value("y"), Value::Other);
        assert_eq!(parse_value("-"), Value::Other);
    }

    #[test]
    fn fragments_override_and_turn_options_off() {
        let mut config = Config::default();
        config.apply("CONFIG_A=y\nCONFIG_B=3\nCONFIG_C=y\n# comment\nNOT_CONFIG=y\nCONFIG_=y\n");
        config.apply("CONFIG_B=4\nCONFIG_A=n\n# CONFIG_C is not set\n CONFIG_D = \"x\" \n");
        assert_eq!(config.iter().collect::<Vec<_>>(), [("CONFIG_B", "4"), ("CONFIG_D", "\"x\"")]);
        assert_eq!(config.string("CONFIG_D").as_deref(), Some("x"));
        assert_eq!(config.int("CONFIG_D"), None);
    }

    /// The simulator's layers, in order: defconfig < prj.conf < boards/zephyr_sim.conf <
    /// ZEPHYR_SIM_CONF's files (in their order).
    #[test]
    fn simulator_layers_in_order() {
        let dir = temp_dir("layers");
        fs::write(dir.join("prj.conf"), "CONFIG_MAIN_THREAD_PRIORITY=3\nCONFIG_X=1\nCONFIG_Y=1\n")
            .unwrap();
        fs::write(dir.join("boards/zephyr_sim.conf"), "CONFIG_X=2\nCONFIG_PRINTK=n\n").unwrap();
        let extra1 = dir.join("extra1.conf");
        let extra2 = dir.join("extra2.conf");
        fs::write(&extra1, "CONFIG_Y=3\nCONFIG_Z=y\n").unwrap();
        fs::write(&extra2, "CONFIG_Y=4\n").unwrap();
        let list = format!("{}:{}", extra1.display(), extra2.display());
        let env = env_of(&[("ZEPHYR_SIM_CONF", &list)]);
        let (config, rerun) = Config::load_with(&env, Some(&dir));
        assert_eq!(config.kind(), Kind::Simulator);
        assert_eq!(config.int("CONFIG_MAIN_THREAD_PRIORITY"), Some(3));
        assert_eq!(config.int("CONFIG_X"), Some(2));
        assert_eq!(config.int("CONFIG_Y"), Some(4));
        assert!(config.enabled("CONFIG_Z"));
        assert!(!config.enabled("CONFIG_PRINTK"));
        assert!(config.enabled("CONFIG_RUST"));
        assert_eq!(config.int("CONFIG_SYS_CLOCK_TICKS_PER_SEC"), Some(10000));
        let files = [
            dir.join("prj.conf"),
            dir.join("boards/zephyr_sim.conf"),
            extra1.clone(),
            extra2.clone(),
        ];
        assert_eq!(config.sources(), files);
        let mut expected: Vec<String> = [
            "cargo:rerun-if-env-changed=DOTCONFIG",
            "cargo:rerun-if-env-changed=ZEPHYR_DOTCONFIG",
            "cargo:rerun-if-env-changed=ZEPHYR_SIM_CONF",
        ]
        .map(String::from)
        .into();
        expected.extend(files.iter().map(|f| format!("cargo:rerun-if-changed={}", f.display())));
        assert_eq!(rerun, expected);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Absent application files are neither read nor watched.
    #[test]
    fn absent_application_files_are_skipped() {
        let dir = temp_dir("absent");
        let (config, rerun) = Config::load_with(&env_of(&[]), Some(&dir));
        assert_eq!(config, Config::simulator_defconfig());
        assert!(rerun.iter().all(|l| !l.starts_with("cargo:rerun-if-changed")));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// On real Zephyr the .config is the whole truth: no defconfig, no application files.
    #[test]
    fn dotconfig_wins_over_everything() {
        let dir = temp_dir("dotconfig");
        fs::write(dir.join("prj.conf"), "CONFIG_FROM_PRJ=y\n").unwrap();
        let dotconfig = dir.join(".config");
        fs::write(&dotconfig, "CONFIG_BOARD=\"qemu_cortex_m3\"\n# CONFIG_LOG is not set\n")
            .unwrap();
        for var in DOTCONFIG_VARS {
            let env = env_of(&[(var, dotconfig.to_str().unwrap()), ("ZEPHYR_SIM_CONF", "/x")]);
            let (config, rerun) = Config::load_with(&env, Some(&dir));
            assert_eq!(config.kind(), Kind::Dotconfig);
            assert_eq!(config.iter().collect::<Vec<_>>(), [("CONFIG_BOARD", "\"qemu_cortex_m3\"")]);
            assert!(rerun.contains(&format!("cargo:rerun-if-changed={}", dotconfig.display())));
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[should_panic(expected = "ZEPHYR_SIM_CONF names a relative path")]
    fn relative_sim_conf_paths_are_refused() {
        Config::load_with(&env_of(&[("ZEPHYR_SIM_CONF", "prj.conf")]), None);
    }

    #[test]
    #[should_panic(expected = "cannot read the Kconfig fragment /nonexistent/zephyr.conf")]
    fn missing_sim_conf_files_are_named() {
        Config::load_with(&env_of(&[("ZEPHYR_SIM_CONF", "/nonexistent/zephyr.conf")]), None);
    }

    #[test]
    fn booleans_become_cfgs() {
        let mut config = Config::default();
        config.apply("CONFIG_A=y\nCONFIG_B=n\nCONFIG_C=1\nCONFIG_D=m\n");
        assert_eq!(
            config.bool_cfg_lines(),
            ["cargo:rustc-check-cfg=cfg(CONFIG_A)", "cargo:rustc-cfg=CONFIG_A"]
        );
    }

    #[test]
    fn module_has_upstream_types_and_skips_what_does_not_fit() {
        let mut config = Config::default();
        config.apply(concat!(
            "CONFIG_FLAG=y\n",
            "CONFIG_INT=-5\n",
            "CONFIG_ZERO=0\n",
            "CONFIG_ADDR=0x20000000\n",
            "CONFIG_BIG=0x100000000\n",
            "CONFIG_HUGE=9000000000\n",
            "CONFIG_NAME=\"say \\\"hi\\\"\"\n",
        ));
        assert_eq!(
            config.kconfig_module(32),
            concat!(
                "// Generated by zephyr-build from the simulated board's defconfig.\n",
                "pub const CONFIG_ADDR: usize = 0x20000000;\n",
                "// CONFIG_BIG=0x100000000 does not fit the target's 32-bit integers.\n",
                "// CONFIG_HUGE=9000000000 does not fit the target's 32-bit integers.\n",
                "pub const CONFIG_INT: isize = -5;\n",
                "pub const CONFIG_NAME: &str = \"say \\\"hi\\\"\";\n",
                "pub const CONFIG_ZERO: isize = 0;\n",
            )
        );
        let wide = config.kconfig_module(64);
        assert!(wide.contains("pub const CONFIG_BIG: usize = 0x100000000;\n"));
        assert!(wide.contains("pub const CONFIG_HUGE: isize = 9000000000;\n"));
    }

    /// The defconfig holds every option zephyr-sys reads, with the simulator's values.
    #[test]
    fn defconfig_has_the_kernel_options() {
        let config = Config::simulator_defconfig();
        for (name, value) in [
            ("CONFIG_SYS_CLOCK_TICKS_PER_SEC", 10000),
            ("CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC", 1_000_000),
            ("CONFIG_MAIN_THREAD_PRIORITY", 0),
            ("CONFIG_NUM_COOP_PRIORITIES", 16),
            ("CONFIG_NUM_PREEMPT_PRIORITIES", 15),
            ("CONFIG_PRIORITY_CEILING", -127),
            ("CONFIG_SYSTEM_WORKQUEUE_PRIORITY", -1),
            ("CONFIG_THREAD_MAX_NAME_LEN", 32),
        ] {
            assert_eq!(config.int(name), Some(value), "{name}");
        }
        assert_eq!(config.string("CONFIG_BOARD").as_deref(), Some("zephyr_sim"));
        for name in ["CONFIG_RUST", "CONFIG_PRINTK", "CONFIG_RUST_ALLOC", "CONFIG_THREAD_NAME"] {
            assert!(config.enabled(name), "{name}");
        }
    }
}
