# rust_cargo_application([MANIFEST <Cargo.toml>] [LIB_NAME <name>] [FEATURES <f>...]
#                        [TARGET <rust-target>])
#
# Builds the application's Rust crate as a static library for this board and links it into the
# Zephyr image. The crate is a `#![no_std]` library exporting `#[no_mangle] extern "C" fn
# rust_main()`, depending on the `zephyr` crate of this repository (or on `zephyr-sys`).
#
#   MANIFEST  the crate's Cargo.toml (default: Cargo.toml beside the application's
#             CMakeLists.txt)
#   LIB_NAME  the crate's library name (default: read from Cargo.toml)
#   FEATURES  cargo features to enable
#   TARGET    the Rust target triple (default: chosen from the board's Kconfig)
#
# What it does:
#  1. compiles the layout probe (zr_layout.c) with the application's flags and turns its symbols
#     into zephyr-layout.txt: sizes, alignments and offsets of the kernel objects, constants;
#  2. runs `cargo rustc --crate-type staticlib --release` for the target, with
#     ZEPHYR_RUST_LAYOUT and ZEPHYR_DOTCONFIG pointing at that file and at the build's .config
#     (zephyr-sys's build.rs reads both), and DOTCONFIG, zephyr-lang-rust's name for the
#     .config (zephyr_build::export_bool_kconfig() in an application's build.rs reads either);
#     panic = "abort", opt-level CONFIG_RUST_OPT_LEVEL (by default Zephyr's own choice: -Os:
#     "s", -O2: 2, debug: 1), LTO on;
#  3. adds zr_shim.c (real symbols for inline and macro API), zr_devicetree.c (devices and GPIO
#     pins by node label, generated from the build's devicetree by gen_devicetree_lookup.py)
#     and zr_main.c (main() calling rust_main(), unless CONFIG_RUST_MAIN=n) to the app library,
#     and links the Rust library.
#
# CARGO_TARGET_DIR in the environment is honoured (share one between builds to reuse compiled
# dependencies); otherwise cargo builds under <build>/rust/target.

get_filename_component(ZEPHYR_RUST_MODULE_DIR ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
set(ZEPHYR_RUST_MODULE_DIR ${ZEPHYR_RUST_MODULE_DIR} CACHE INTERNAL "The repository root")

function(zephyr_rust_target out)
  if(CONFIG_CPU_CORTEX_M0 OR CONFIG_CPU_CORTEX_M0PLUS OR CONFIG_CPU_CORTEX_M1
     OR CONFIG_CPU_CORTEX_M23)
    set(t thumbv6m-none-eabi)
  elseif(CONFIG_CPU_CORTEX_M3)
    set(t thumbv7m-none-eabi)
  elseif(CONFIG_CPU_CORTEX_M4 OR CONFIG_CPU_CORTEX_M7)
    if(CONFIG_FP_HARDABI)
      set(t thumbv7em-none-eabihf)
    else()
      set(t thumbv7em-none-eabi)
    endif()
  elseif(CONFIG_CPU_CORTEX_M33 OR CONFIG_CPU_CORTEX_M55)
    if(CONFIG_FP_HARDABI)
      set(t thumbv8m.main-none-eabihf)
    else()
      set(t thumbv8m.main-none-eabi)
    endif()
  elseif(CONFIG_RISCV AND NOT CONFIG_64BIT)
    if(CONFIG_RISCV_ISA_EXT_A OR NOT DEFINED CONFIG_RISCV_ISA_EXT_A)
      set(t riscv32imac-unknown-none-elf)
    else()
      set(t riscv32imc-unknown-none-elf)
    endif()
  elseif(CONFIG_ARCH_POSIX)
    # native_posix runs the kernel as a Linux process: the host's Rust target.
    if(CONFIG_64BIT)
      set(t x86_64-unknown-linux-gnu)
    else()
      set(t i686-unknown-linux-gnu)
    endif()
  else()
    message(FATAL_ERROR "rust_cargo_application: no Rust target known for this board's CPU; "
                        "pass TARGET <triple>")
  endif()
  set(${out} ${t} PARENT_SCOPE)
endfunction()

function(rust_cargo_application)
  cmake_parse_arguments(RUST "" "MANIFEST;LIB_NAME;TARGET" "FEATURES" ${ARGN})
  if(NOT RUST_MANIFEST)
    set(RUST_MANIFEST ${APPLICATION_SOURCE_DIR}/Cargo.toml)
  endif()
  if(NOT EXISTS ${RUST_MANIFEST})
    message(FATAL_ERROR "rust_cargo_application: no ${RUST_MANIFEST}")
  endif()
  if(NOT RUST_TARGET)
    zephyr_rust_target(RUST_TARGET)
  endif()
  if(NOT RUST_LIB_NAME)
    # The [lib] name, else the package name with '-' as '_' (cargo's rule).
    file(READ ${RUST_MANIFEST} toml)
    string(REGEX MATCH "\\[lib\\][^[]*name[ \t]*=[ \t]*\"([^\"]+)\"" m "${toml}")
    if(NOT m)
      string(REGEX MATCH "\\[package\\][^[]*name[ \t]*=[ \t]*\"([^\"]+)\"" m "${toml}")
    endif()
    if(NOT m)
      message(FATAL_ERROR "rust_cargo_application: no package name in ${RUST_MANIFEST}")
    endif()
    string(REPLACE "-" "_" RUST_LIB_NAME "${CMAKE_MATCH_1}")
  endif()

  find_program(CARGO cargo HINTS $ENV{CARGO_HOME}/bin $ENV{HOME}/.cargo/bin REQUIRED)
  set(rust_dir ${CMAKE_BINARY_DIR}/rust)
  if(DEFINED ENV{CARGO_TARGET_DIR})
    set(target_dir $ENV{CARGO_TARGET_DIR})
  else()
    set(target_dir ${rust_dir}/target)
  endif()
  set(rust_lib ${target_dir}/${RUST_TARGET}/release/lib${RUST_LIB_NAME}.a)

  # Zephyr 2.7 names its Python PYTHON_EXECUTABLE; newer releases also Python3_EXECUTABLE.
  if(PYTHON_EXECUTABLE)
    set(python ${PYTHON_EXECUTABLE})
  else()
    set(python ${Python3_EXECUTABLE})
  endif()

  # 1. The layout probe, compiled exactly as the application's C code is.
  add_library(zephyr_rust_layout OBJECT ${ZEPHYR_RUST_MODULE_DIR}/zephyr/src/zr_layout.c)
  target_link_libraries(zephyr_rust_layout PRIVATE zephyr_interface)
  add_dependencies(zephyr_rust_layout zephyr_generated_headers)
  set(layout ${rust_dir}/zephyr-layout.txt)
  add_custom_command(
    OUTPUT ${layout}
    COMMAND ${python} ${ZEPHYR_RUST_MODULE_DIR}/zephyr/scripts/gen_rust_layout.py
            $<TARGET_OBJECTS:zephyr_rust_layout> ${layout}
    DEPENDS zephyr_rust_layout $<TARGET_OBJECTS:zephyr_rust_layout>
            ${ZEPHYR_RUST_MODULE_DIR}/zephyr/scripts/gen_rust_layout.py
    COMMENT "Measuring kernel object layouts for Rust"
    COMMAND_EXPAND_LISTS)

  # 2. cargo. It decides itself what is stale, so the target always runs.
  # CONFIG_RUST_OPT_LEVEL: "s"/"z" are TOML strings, digits are integers.
  if(CONFIG_RUST_OPT_LEVEL MATCHES "^[0-9]$")
    set(opt ${CONFIG_RUST_OPT_LEVEL})
  else()
    set(opt "'${CONFIG_RUST_OPT_LEVEL}'")
  endif()
  set(features)
  if(RUST_FEATURES)
    string(REPLACE ";" "," f "${RUST_FEATURES}")
    set(features --features ${f})
  endif()
  add_custom_target(zephyr_rust_cargo
    COMMAND ${CMAKE_COMMAND} -E env
            ZEPHYR_RUST_LAYOUT=${layout}
            ZEPHYR_DOTCONFIG=${DOTCONFIG}
            DOTCONFIG=${DOTCONFIG}
            ${CARGO} rustc --manifest-path ${RUST_MANIFEST} --lib --crate-type staticlib
            --release --target ${RUST_TARGET} --target-dir ${target_dir} ${features}
            --config "profile.release.panic='abort'"
            --config "profile.release.opt-level=${opt}"
            --config profile.release.lto=true
            --config profile.release.codegen-units=1
            --config profile.release.debug=true
    DEPENDS ${layout}
    BYPRODUCTS ${rust_lib}
    WORKING_DIRECTORY ${APPLICATION_SOURCE_DIR}
    COMMENT "Building the Rust application (${RUST_TARGET})"
    USES_TERMINAL
    VERBATIM)

  # 3. The C side, and the link. zr_devicetree.c answers the devicetree lookups
  # (zr_device_by_label, zr_gpio_dt_spec_by_label) for every node label of this build's
  # devicetree, which is generated when Zephyr is configured, before this runs.
  # (Zephyr 2.7 names the header devicetree_unfixed.h, newer releases devicetree_generated.h.)
  set(dt_header ${ZEPHYR_BINARY_DIR}/include/generated/devicetree_unfixed.h)
  if(NOT EXISTS ${dt_header})
    set(dt_header ${ZEPHYR_BINARY_DIR}/include/generated/zephyr/devicetree_generated.h)
  endif()
  set(dt_lookup ${rust_dir}/zr_devicetree.c)
  add_custom_command(
    OUTPUT ${dt_lookup}
    COMMAND ${python} ${ZEPHYR_RUST_MODULE_DIR}/zephyr/scripts/gen_devicetree_lookup.py
            ${dt_header} ${dt_lookup}
    DEPENDS ${dt_header} ${ZEPHYR_RUST_MODULE_DIR}/zephyr/scripts/gen_devicetree_lookup.py
    COMMENT "Generating the devicetree lookups for Rust")
  target_sources(app PRIVATE ${dt_lookup})
  target_include_directories(app PRIVATE ${ZEPHYR_RUST_MODULE_DIR}/zephyr/src)
  target_sources(app PRIVATE ${ZEPHYR_RUST_MODULE_DIR}/zephyr/src/zr_shim.c)
  if(CONFIG_RUST_MAIN)
    target_sources(app PRIVATE ${ZEPHYR_RUST_MODULE_DIR}/zephyr/src/zr_main.c)
  endif()
  add_library(zephyr_rust_app STATIC IMPORTED GLOBAL)
  set_target_properties(zephyr_rust_app PROPERTIES IMPORTED_LOCATION ${rust_lib})
  add_dependencies(zephyr_rust_app zephyr_rust_cargo)
  add_dependencies(app zephyr_rust_cargo)
  target_link_libraries(app PUBLIC zephyr_rust_app)
endfunction()
