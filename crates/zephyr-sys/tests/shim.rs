//! The real-Zephyr provider links every function `zephyr-sys` declares to a `zr_<name>`
//! wrapper in `zephyr/src/zr_shim.c`. This checks, without a Zephyr tree, that the two lists
//! name the same functions with the same number of parameters: a missing wrapper would only
//! show up as a link error in an application's build.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// `name -> parameter count` of every function inside `kernel_api! { ... }` blocks.
fn rust_decls() -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in ["lib.rs", "work.rs", "kobjects.rs", "real_layout.rs", "drivers.rs"] {
        let text = fs::read_to_string(src.join(file)).unwrap();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("kernel_api! {") {
            let block = &rest[start..];
            let end = block.find("\n}").expect("unterminated kernel_api! block");
            for decl in block[..end].split("pub fn ").skip(1) {
                let name = decl[..decl.find('(').unwrap()].trim().to_string();
                let params = &decl[decl.find('(').unwrap() + 1..decl.find(')').unwrap()];
                let count = params.split(',').filter(|p| !p.trim().is_empty()).count();
                assert!(out.insert(name.clone(), count).is_none(), "{name} declared twice");
            }
            rest = &block[end..];
        }
    }
    out
}

/// `name -> argument count` of every `zr_<name>` wrapper in the C file.
fn c_wrappers() -> BTreeMap<String, usize> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../zephyr/src/zr_shim.c");
    let mut text = fs::read_to_string(path).unwrap();
    // Drop /* comments */ (they quote wrapper shapes), then join lines so that a macro call
    // spanning several lines reads as one.
    while let Some(start) = text.find("/*") {
        let end = start + text[start..].find("*/").expect("unterminated comment") + 2;
        text.replace_range(start..end, " ");
    }
    let text = text.replace(['\n', '\t'], " ");
    let mut out = BTreeMap::new();
    fn add(out: &mut BTreeMap<String, usize>, name: &str, params: &str) {
        let params = params.trim();
        let count =
            if params == "void" || params.is_empty() { 0 } else { params.split(',').count() };
        out.insert(name.trim().to_string(), count);
    }
    // ZR_FN(ret, name, (params), (args)) and ZR_VOID(name, (params), (args)).
    for (macro_, skip) in [("ZR_FN(", 1), ("ZR_VOID(", 0)] {
        for call in text.split(macro_).skip(1) {
            if call.starts_with("ret,") || call.starts_with("name,") {
                continue; // the macro definitions themselves
            }
            let fields: Vec<&str> = call.splitn(skip + 2, ',').collect();
            let name = fields[skip];
            let params = &fields[skip + 1];
            let open = params.find('(').unwrap();
            let close = params.find(')').unwrap();
            add(&mut out, name, &params[open + 1..close]);
        }
    }
    // Hand-written wrappers: `<ret> zr_<name>(<params>)` definitions.
    for def in text.split(" zr_").skip(1) {
        let Some(open) = def.find('(') else { continue };
        let name = &def[..open];
        if name.contains(' ') || name.contains("##") || out.contains_key(name) {
            continue;
        }
        let close = def.find(')').unwrap();
        add(&mut out, name, &def[open + 1..close]);
    }
    out
}

/// Extensions `zephyr-sys` declares by hand as `zr_<name>`, with their parameter counts.
const EXTENSIONS: &[(&str, usize)] = &[("irq_pend", 1)];

#[test]
fn every_declared_function_has_a_c_wrapper_of_the_same_arity() {
    let rust = rust_decls();
    let mut c = c_wrappers();
    // Extensions declared outside `kernel_api!` (a `zr_` Rust name, linked to the C function
    // of the same name): the wrapper exists with the Rust function's arity.
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for (name, count) in EXTENSIONS {
        assert!(lib.contains(&format!("pub unsafe fn zr_{name}(")), "lib.rs lacks zr_{name}");
        assert_eq!(c.remove(*name), Some(*count), "zr_shim.c: zr_{name} missing or wrong arity");
    }
    assert!(rust.len() > 80, "found only {} declarations: is the parser broken?", rust.len());
    for (name, count) in &rust {
        match c.get(name) {
            None => panic!("zephyr-sys declares {name} but zr_shim.c has no zr_{name}"),
            Some(n) => assert_eq!(n, count, "{name}: {count} parameters in Rust, {n} in C"),
        }
    }
    for name in c.keys() {
        assert!(
            rust.contains_key(name),
            "zr_shim.c wraps {name}, which zephyr-sys does not declare"
        );
    }
}
