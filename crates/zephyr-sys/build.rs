//! Chooses who provides the kernel, and generates what depends on it.
//!
//! Three providers, one API (see the crate docs):
//!
//! * **simulator** (feature `simulator`, turned on by `zephyr-sim`): the simulator's object
//!   layouts; Kconfig constants from the simulated board's configuration (`zephyr-build`'s
//!   `boards/zephyr_sim_defconfig`, then the fragments named in `ZEPHYR_SIM_CONF`), each
//!   overridable by an environment variable of the same name
//!   (`CONFIG_SYS_CLOCK_TICKS_PER_SEC=100 cargo build`).
//! * **real Zephyr** (`ZEPHYR_RUST_LAYOUT` set, by the Zephyr module's CMake): object sizes,
//!   alignments, field offsets and constants from the layout probe compiled for the application
//!   (`zephyr/src/zr_layout.c`), Kconfig constants from the application's `.config`
//!   (`ZEPHYR_DOTCONFIG`), and every function linked to its `zr_*` wrapper in
//!   `zephyr/src/zr_shim.c`.
//! * **unconfigured** (neither): the crate compiles (for `cargo check`, docs, CI builds of the
//!   `no_std` crates) with the simulator's layouts, but every function links to a symbol named
//!   `zephyr_sys_needs_a_zephyr_build__<name>`, so an application linked this way fails to link
//!   with that name instead of running with wrong layouts.

use std::collections::BTreeMap;
use std::{env, fs, path::PathBuf};

/// Kconfig options Rust code reads: name, Rust type, doc. On the simulator their values come from
/// the simulated board's configuration (`zephyr-build`'s `boards/zephyr_sim_defconfig`, with the
/// files of `ZEPHYR_SIM_CONF` over it), each overridable by an environment variable of its name.
const OPTIONS: &[(&str, &str, &str)] = &[
    (
        "CONFIG_SYS_CLOCK_TICKS_PER_SEC",
        "u32",
        "Kernel ticks per second (the system clock tick rate).",
    ),
    (
        "CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC",
        "u32",
        "Hardware cycle counter rate, in Hz (1 MHz on the simulator, as on native_posix).",
    ),
    (
        "CONFIG_NUM_IRQS",
        "u32",
        "Number of interrupt lines (`irq_connect_dynamic` takes 0..CONFIG_NUM_IRQS; \
         native_posix, which has no such option, has 32: `N_IRQS` of \
         boards/posix/native_posix/irq_ctrl.h).",
    ),
    ("CONFIG_MAIN_THREAD_PRIORITY", "i32", "Priority of the thread that runs `main`."),
    ("CONFIG_NUM_COOP_PRIORITIES", "i32", "Number of cooperative (negative) priorities."),
    (
        "CONFIG_NUM_PREEMPT_PRIORITIES",
        "i32",
        "Number of preemptible (non-negative) priorities, not counting the idle thread's.",
    ),
    (
        "CONFIG_PRIORITY_CEILING",
        "i32",
        "Highest priority a mutex owner can be raised to by priority inheritance (Zephyr 2.7's \
         default: no limit in practice).",
    ),
    ("CONFIG_SYSTEM_WORKQUEUE_PRIORITY", "i32", "Priority of the system work queue's thread."),
    (
        "CONFIG_SCHED_DEADLINE",
        "bool",
        "Earliest-deadline-first ordering among threads of equal priority \
         (`k_thread_deadline_set`); off when absent.",
    ),
    (
        "CONFIG_ZERO_LATENCY_IRQS",
        "bool",
        "Zero-latency interrupts (Cortex-M with BASEPRI only): a line connected with \
         `IRQ_ZERO_LATENCY` runs at hardware priority 0, above the system clock and never masked \
         by `irq_lock`, and may not use the kernel; every other line's priority moves down one \
         level (`IRQ_PRIO_LOWEST` one less). Off when absent.",
    ),
    (
        "CONFIG_HEAP_MEM_POOL_SIZE",
        "usize",
        "Bytes of the system heap (`k_malloc`, `k_free`, threads' resource pools, the Rust \
         global allocator on real Zephyr); 0: no system heap.",
    ),
    (
        "CONFIG_NUM_MBOX_ASYNC_MSGS",
        "usize",
        "Asynchronous mailbox messages in flight at once, across all mailboxes (the pool of \
         `k_mbox_async_put`'s descriptors; Zephyr 2.7's default: 10, kernel/Kconfig:489); 0: no \
         `k_mbox_async_put`.",
    ),
    (
        "CONFIG_THREAD_MAX_NAME_LEN",
        "usize",
        "Maximum thread name length, including the NUL (1 when `CONFIG_THREAD_NAME` is off).",
    ),
    (
        "CONFIG_TIMESLICING",
        "bool",
        "Time slicing between preemptible threads of equal priority (Zephyr 2.7's default: on; \
         `k_sched_time_slice_set` exists only with it).",
    ),
    (
        "CONFIG_TIMESLICE_SIZE",
        "u32",
        "The time slice at boot, in milliseconds; 0 (the default) turns slicing off. 0 when \
         `CONFIG_TIMESLICING` is off.",
    ),
    (
        "CONFIG_TIMESLICE_PRIORITY",
        "i32",
        "The slice priority at boot: threads more urgent than it are never sliced (default 0). \
         0 when `CONFIG_TIMESLICING` is off.",
    ),
];

/// Options that a `.config` leaves out when their dependency is off (Kconfig `depends on`),
/// and the value Rust then sees.
const DEPENDENT_DEFAULTS: &[(&str, &str)] =
    &[("CONFIG_TIMESLICE_SIZE", "0"), ("CONFIG_TIMESLICE_PRIORITY", "0")];

/// Kernel object types the layout probe measures. Those with a hand-written constructor in
/// `real_layout.rs` get a private `zeroed()` instead of `new()`.
const TYPES: &[(&str, bool)] = &[
    ("k_thread", true),
    ("k_sem", true),
    ("k_mutex", true),
    ("k_condvar", true),
    ("k_timer", true),
    ("k_work", true),
    ("k_work_delayable", true),
    ("k_work_sync", true),
    ("k_work_q", true),
    ("k_work_queue_config", false),
    ("k_work_poll", true),
    ("k_poll_event", false),
    ("k_poll_signal", true),
    ("k_queue", true),
    ("k_msgq", true),
    ("k_stack", true),
    ("k_mem_slab", true),
    ("k_heap", true),
    ("k_pipe", true),
    ("k_mbox", true),
];

/// Constants the probe reads from the headers: name, Rust type.
const CONSTS: &[(&str, &str)] = &[
    ("K_POLL_TYPE_IGNORE", "u32"),
    ("K_POLL_TYPE_SIGNAL", "u32"),
    ("K_POLL_TYPE_SEM_AVAILABLE", "u32"),
    ("K_POLL_TYPE_DATA_AVAILABLE", "u32"),
    ("K_POLL_TYPE_MSGQ_DATA_AVAILABLE", "u32"),
    ("K_POLL_STATE_NOT_READY", "u32"),
    ("K_POLL_STATE_SIGNALED", "u32"),
    ("K_POLL_STATE_SEM_AVAILABLE", "u32"),
    ("K_POLL_STATE_DATA_AVAILABLE", "u32"),
    ("K_POLL_STATE_CANCELLED", "u32"),
    ("K_POLL_STATE_MSGQ_DATA_AVAILABLE", "u32"),
    ("K_POLL_MODE_NOTIFY_ONLY", "core::ffi::c_int"),
    ("K_SEM_MAX_LIMIT", "core::ffi::c_uint"),
    ("K_KERNEL_STACK_RESERVED", "usize"),
    ("Z_KERNEL_STACK_OBJ_ALIGN", "usize"),
    ("ARCH_STACK_PTR_ALIGN", "usize"),
];

const ERRNO: &[&str] = &[
    "EPERM",
    "ENOENT",
    "EINTR",
    "EIO",
    "ENXIO",
    "EAGAIN",
    "ENOMEM",
    "EFAULT",
    "EBUSY",
    "ENODEV",
    "EINVAL",
    "ENOMSG",
    "EDEADLK",
    "ENOSYS",
    "EADDRINUSE",
    "ETIMEDOUT",
    "EINPROGRESS",
    "EALREADY",
    "ENOTSUP",
    "ECANCELED",
];

/// Bit constants grouped in modules as on the simulator: module, type, names.
const BIT_MODULES: &[(&str, &str, &[&str])] = &[
    (
        "thread_state",
        "u8",
        &[
            "_THREAD_DUMMY",
            "_THREAD_PENDING",
            "_THREAD_PRESTART",
            "_THREAD_DEAD",
            "_THREAD_SUSPENDED",
            "_THREAD_ABORTING",
            "_THREAD_QUEUED",
        ],
    ),
    (
        "work_flags",
        "core::ffi::c_int",
        &["K_WORK_RUNNING", "K_WORK_CANCELING", "K_WORK_QUEUED", "K_WORK_DELAYED"],
    ),
    (
        "work_queue_flags",
        "u32",
        &["K_WORK_QUEUE_STARTED", "K_WORK_QUEUE_BUSY", "K_WORK_QUEUE_NO_YIELD"],
    ),
];

fn main() {
    println!(
        "cargo:rustc-check-cfg=cfg(zephyr_real, zephyr_unconfigured, zephyr_irq_basepri, \
         zephyr_cortex_m)"
    );
    println!("cargo:rerun-if-env-changed=ZEPHYR_RUST_LAYOUT");
    println!("cargo:rerun-if-env-changed=ZEPHYR_DOTCONFIG");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let simulator = env::var_os("CARGO_FEATURE_SIMULATOR").is_some();
    let layout = env::var_os("ZEPHYR_RUST_LAYOUT").filter(|_| !simulator);

    let (provider, kconfig) = match layout {
        Some(layout) => {
            let layout = PathBuf::from(layout);
            println!("cargo:rerun-if-changed={}", layout.display());
            let dotconfig = PathBuf::from(env::var_os("ZEPHYR_DOTCONFIG").expect(
                "ZEPHYR_RUST_LAYOUT is set but ZEPHYR_DOTCONFIG is not: build through the \
                 Zephyr module's rust_cargo_application()",
            ));
            println!("cargo:rerun-if-changed={}", dotconfig.display());
            fs::write(out.join("layout.rs"), real_layout(&layout)).unwrap();
            ("real", kconfig_from_dotconfig(&dotconfig))
        }
        None => (if simulator { "simulator" } else { "unconfigured" }, kconfig_defaults()),
    };
    match provider {
        "real" => println!("cargo:rustc-cfg=zephyr_real"),
        "unconfigured" => println!("cargo:rustc-cfg=zephyr_unconfigured"),
        _ => {}
    }
    // Read by dependents' build scripts as DEP_ZEPHYR_PROVIDER.
    println!("cargo:provider={provider}");
    fs::write(out.join("kconfig.rs"), kconfig).unwrap();
}

/// The simulator's (and the unconfigured build's) options: the simulated board's configuration,
/// then per-option environment overrides (`CONFIG_SYS_CLOCK_TICKS_PER_SEC=100 cargo build`).
fn kconfig_defaults() -> String {
    let board = zephyr_build::Config::simulator_board();
    let mut out = String::from(
        "// Generated by build.rs from the simulated board's configuration and environment \
         overrides.\n",
    );
    for (name, ty, doc) in OPTIONS {
        println!("cargo:rerun-if-env-changed={name}");
        let (value, from) = match env::var(name) {
            Ok(value) => (value, "the environment"),
            // As on real Zephyr: only defined (and names only stored) with CONFIG_THREAD_NAME.
            Err(_)
                if *name == "CONFIG_THREAD_MAX_NAME_LEN"
                    && !board.enabled("CONFIG_THREAD_NAME") =>
            {
                ("1".to_string(), "CONFIG_THREAD_NAME being off")
            }
            // A bool option that is not set is off (`# CONFIG_X is not set`).
            Err(_) if *ty == "bool" => {
                (board.enabled(name).to_string(), "the simulated board's configuration")
            }
            Err(_) => match board.get(name) {
                Some(value) => (value.to_string(), "the simulated board's configuration"),
                None if DEPENDENT_DEFAULTS.iter().any(|(n, _)| n == name)
                    && !board.enabled("CONFIG_TIMESLICING") =>
                {
                    let default = DEPENDENT_DEFAULTS.iter().find(|(n, _)| n == name).unwrap().1;
                    (default.to_string(), "CONFIG_TIMESLICING being off")
                }
                None => panic!(
                    "{name} is not set in the simulated board's configuration (zephyr-build's \
                     boards/zephyr_sim_defconfig, then ZEPHYR_SIM_CONF's files)"
                ),
            },
        };
        let value = bool_value(ty, value);
        check_value(name, ty, &value);
        out.push_str(&format!("/// {doc} From {from}.\npub const {name}: {ty} = {value};\n"));
    }
    out
}

fn kconfig_from_dotconfig(path: &PathBuf) -> String {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read ZEPHYR_DOTCONFIG={}: {e}", path.display()));
    let values: BTreeMap<&str, &str> =
        text.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split_once('=')).collect();
    let mut out = format!("// Generated by build.rs from {}.\n", path.display());
    for (name, ty, doc) in OPTIONS {
        let value = match (values.get(name), *name) {
            (Some(v), _) => (*v).to_string(),
            // A bool option that is not set is off (`# CONFIG_X is not set`).
            (None, _) if *ty == "bool" => "n".to_string(),
            (None, _) if DEPENDENT_DEFAULTS.iter().any(|(n, _)| n == name) => {
                DEPENDENT_DEFAULTS.iter().find(|(n, _)| n == name).unwrap().1.to_string()
            }
            // Only defined with CONFIG_THREAD_NAME; without it, names are not stored.
            (None, "CONFIG_THREAD_MAX_NAME_LEN") => "1".to_string(),
            // No system heap (the option is absent when nothing enables it).
            (None, "CONFIG_HEAP_MEM_POOL_SIZE") => "0".to_string(),
            // native_posix has no NUM_IRQS option: its controller has N_IRQS = 32 lines
            // (boards/posix/native_posix/irq_ctrl.h).
            (None, "CONFIG_NUM_IRQS") if values.contains_key("CONFIG_ARCH_POSIX") => {
                "32".to_string()
            }
            (None, _) => panic!("{name} is not in {}", path.display()),
        };
        let value = bool_value(ty, value);
        check_value(name, ty, &value);
        out.push_str(&format!(
            "/// {doc} From the application's `.config`.\npub const {name}: {ty} = {value};\n"
        ));
    }
    out
}

/// A bool option's Kconfig value (`y`, `n`, or already `true`/`false`) as Rust's.
fn bool_value(ty: &str, value: String) -> String {
    match (ty, value.as_str()) {
        ("bool", "y") => "true".to_string(),
        ("bool", "n") => "false".to_string(),
        _ => value,
    }
}

fn check_value(name: &str, ty: &str, value: &str) {
    let ok = match ty {
        "bool" => value.parse::<bool>().is_ok(),
        "u32" => value.parse::<u32>().is_ok(),
        "usize" => value.parse::<usize>().is_ok(),
        _ => value.parse::<i32>().is_ok(),
    };
    assert!(ok, "{name}={value} is not a valid {ty}");
}

/// The probe's output: `bits N`, then `NAME VALUE` lines.
struct Probe {
    bits: u32,
    syms: BTreeMap<String, u64>,
    path: String,
}

impl Probe {
    fn read(path: &PathBuf) -> Self {
        let text = fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read ZEPHYR_RUST_LAYOUT={}: {e}", path.display()));
        let mut bits = 0;
        let mut syms = BTreeMap::new();
        for line in text.lines() {
            let (k, v) = line.split_once(' ').expect("malformed layout line");
            let v: u64 = v.parse().expect("malformed layout value");
            if k == "bits" {
                bits = v as u32;
            } else {
                syms.insert(k.to_string(), v);
            }
        }
        assert!(bits == 32 || bits == 64, "layout file without a valid `bits` line");
        Probe { bits, syms, path: path.display().to_string() }
    }

    fn raw(&self, name: &str) -> u64 {
        *self.syms.get(name).unwrap_or_else(|| {
            panic!("{name} missing from {}: rebuild the layout probe", self.path)
        })
    }

    /// The value as the C expression had it (sign-extended from the address width).
    fn signed(&self, name: &str) -> i64 {
        let v = self.raw(name);
        if self.bits == 32 {
            v as u32 as i32 as i64
        } else {
            v as i64
        }
    }

    /// The value as an unsigned quantity of the address width.
    fn unsigned(&self, name: &str) -> u64 {
        let v = self.raw(name);
        if self.bits == 32 {
            v & 0xffff_ffff
        } else {
            v
        }
    }
}

fn real_layout(path: &PathBuf) -> String {
    let p = Probe::read(path);
    assert_eq!(
        p.unsigned("ZR_SIZE__k_timeout_t"),
        8,
        "k_timeout_t is not 64 bits: enable CONFIG_TIMEOUT_64BIT"
    );
    assert_eq!(p.unsigned("ZR_SIZE__k_ticks_t"), 8, "k_ticks_t is not 64 bits");
    assert_eq!(
        p.signed("ZR_CONST__ZR_STACK_POW2"),
        0,
        "MPU stack guards that need power-of-two stack alignment are not supported yet"
    );
    assert_eq!(
        p.signed("ZR_CONST__ZR_SMP"),
        0,
        "CONFIG_SMP is not supported yet (critical sections are irq_lock, one CPU's lock)"
    );
    assert_eq!(
        p.signed("ZR_CONST__ZR_USERSPACE"),
        0,
        "CONFIG_USERSPACE is not supported yet (Rust threads are kernel threads)"
    );
    for field in ["ZR_OFFSET__k_work_poll__work", "ZR_OFFSET__k_work_delayable__work"] {
        assert_eq!(p.unsigned(field), 0, "{field} is not 0: the work item is not the first field");
    }

    let mut out = format!("// Generated by build.rs from the layout probe {}.\n", p.path);
    if p.signed("ZR_CONST__ZR_CORTEX_M") == 1 {
        // k_is_in_isr is a read of IPSR: real_layout.rs does it inline.
        println!("cargo:rustc-cfg=zephyr_cortex_m");
    }
    if p.signed("ZR_CONST__ZR_IRQ_BASEPRI") == 1 {
        // irq_lock is a BASEPRI raise: real_layout.rs does it inline.
        println!("cargo:rustc-cfg=zephyr_irq_basepri");
        out.push_str(&format!(
            "/// The BASEPRI value `irq_lock` raises to (`_EXC_IRQ_DEFAULT_PRIO`).\n\
             pub const ZR_EXC_IRQ_DEFAULT_PRIO: u32 = {};\n",
            p.unsigned("ZR_CONST___EXC_IRQ_DEFAULT_PRIO") as u32
        ));
    }
    out.push_str(&format!(
        "/// Address width of the target, in bits.\npub const ZR_BITS: u32 = {};\n",
        p.bits
    ));
    out.push_str(&format!(
        "/// The least urgent interrupt priority `irq_connect_dynamic` accepts (0 is the most \
         urgent): `IRQ_PRIO_LOWEST` on Cortex-M (include/arch/arm/aarch32/exc.h), 255 on \
         native_posix, 0 on other architectures (the layout probe).\n\
         pub const zr_IRQ_PRIO_LOWEST: core::ffi::c_uint = {};\n",
        p.unsigned("ZR_CONST__ZR_IRQ_PRIO_LOWEST") as u32
    ));
    for (ty, plain_new) in TYPES {
        let size = p.unsigned(&format!("ZR_SIZE__{ty}"));
        let align = p.unsigned(&format!("ZR_ALIGN__{ty}"));
        out.push_str(&format!(
            "/// `struct {ty}` of the application's Zephyr build ({size} bytes, aligned to \
             {align}): opaque to Rust, used only through kernel calls.\n\
             #[repr(C, align({align}))]\npub struct {ty} {{\n    _opaque: [u8; {size}],\n}}\n\
             impl {ty} {{\n"
        ));
        if *plain_new {
            out.push_str(
                "    /// Zeroed storage (as in `.bss`): pass it to its `k_*_init` before any \
                 other use.\n    pub const fn new() -> Self {\n",
            );
        } else {
            out.push_str("    const fn zeroed() -> Self {\n");
        }
        out.push_str(&format!("        Self {{ _opaque: [0; {size}] }}\n    }}\n}}\n"));
        if *plain_new {
            out.push_str(&format!(
                "impl Default for {ty} {{\n    fn default() -> Self {{\n        Self::new()\n    }}\n}}\n"
            ));
        }
        out.push_str(&format!(
            "impl core::fmt::Debug for {ty} {{\n    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) \
             -> core::fmt::Result {{\n        f.write_str(\"{ty} {{ .. }}\")\n    }}\n}}\n"
        ));
    }
    out.push_str(&format!(
        "/// A zero-sized type with the alignment of a kernel stack object \
         (`Z_KERNEL_STACK_OBJ_ALIGN`).\n#[repr(C, align({}))]\npub struct z_stack_obj_align;\n",
        p.unsigned("ZR_CONST__Z_KERNEL_STACK_OBJ_ALIGN")
    ));
    for (name, value) in &p.syms {
        if let Some(rest) = name.strip_prefix("ZR_OFFSET__") {
            out.push_str(&format!(
                "/// Offset of `{}` in its struct.\npub const ZR_OFFSET_{rest}: usize = {value};\n",
                rest.replace("__", "::")
            ));
        }
    }
    for (name, ty) in CONSTS {
        out.push_str(&format!(
            "/// `{name}` of the application's headers.\npub const {name}: {ty} = "
        ));
        if ty.contains("uint") || *ty == "u32" {
            // A 32-bit C value: the assembler may have widened it to the address width.
            out.push_str(&format!("{};\n", p.unsigned(&format!("ZR_CONST__{name}")) as u32));
        } else if *ty == "usize" {
            out.push_str(&format!("{};\n", p.unsigned(&format!("ZR_CONST__{name}"))));
        } else {
            out.push_str(&format!("{};\n", p.signed(&format!("ZR_CONST__{name}"))));
        }
    }
    out.push_str(
        "/// Error numbers of the application's C library (Zephyr's numbering).\npub mod errno {\n",
    );
    for name in ERRNO {
        out.push_str(&format!(
            "    /// `{name}`.\n    pub const {name}: core::ffi::c_int = {};\n",
            p.signed(&format!("ZR_CONST__{name}"))
        ));
    }
    out.push_str("}\n");
    for (module, ty, names) in BIT_MODULES {
        out.push_str(&format!(
            "/// `{module}` bits of the application's headers.\npub mod {module} {{\n"
        ));
        for name in *names {
            out.push_str(&format!(
                "    /// `{name}`.\n    pub const {name}: {ty} = {};\n",
                p.unsigned(&format!("ZR_CONST__{name}"))
            ));
        }
        out.push_str("}\n");
    }
    out
}
