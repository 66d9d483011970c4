#!/usr/bin/env bash
# Builds and runs the samples on real Zephyr, on native_posix_64 and on qemu_cortex_m3, checks
# their output, and ends with one summary line:
#
#   real zephyr: native_posix_64 ok, qemu_cortex_m3 ok, instructions per round trip: thread=N
#   thread-same-prio=N cs=N noop=N thread-task=N irq=N irq-task=N
#   thread-task+irq=N (thread-task again, in the build with executor-interrupt: see below)
#
# Needs a Zephyr tree (tested: 2.7.0) named by ZEPHYR_BASE; without one it prints
# `real zephyr: skipped (no ZEPHYR_BASE)` and exits 0. Defaults follow a west workspace:
# ZEPHYR_BASE=~/zephyrproject/zephyr if that exists, and ZEPHYR_MODULES=<workspace>/modules/hal/cmsis
# (the cmsis module, needed on Arm) if that exists. Host tools: cmake, ninja, dtc, gcc-multilib
# (native_posix_64), gcc-arm-none-eabi + libnewlib-arm-none-eabi, qemu-system-arm, and the
# Python packages Zephyr's build needs (pyelftools, PyYAML, pykwalify, packaging).
#
# Instructions are counted exactly: qemu runs with `-icount shift=0,sleep=off`, one instruction
# per nanosecond of virtual time, so a cycle of the board's 12 MHz SysTick is 1e9/12e6
# instructions; `sleep=off` makes an idle CPU jump to its next timer event instead of following
# the host's clock, so the board's timing is deterministic too.
# Each scenario's count is averaged over the sample's round trips (see samples/bench).
#
# Environment: ZEPHYR_TEST_BUILD (build directory; default target/zephyr-test). The run fails
# when an instruction count is over its limit (cs <= 1.2x thread, noop <= 1.0x thread,
# thread-task <= 1.3x thread-same-prio: a task switch must not cost more than a thread switch;
# irq-task <= 3.0x irq: a thread waking a task on an InterruptExecutor, see the check);
# ZEPHYR_TEST_LIMITS=0 only reports them (for trying other Zephyr versions or toolchains).
# ZEPHYR_TEST_ONLY="PART ..." runs only the named parts, for iterating on one: kernel-rules,
# mbox-rules, time-slicing, devices, drivers, embassy-demo, objects, bench, upstream-philosophers,
# upstream-work, upstream-embassy, interrupt, zero-latency, clippy (needs objects' builds),
# footprint; the summary line then says which parts ran, e.g.
# `ZEPHYR_TEST_ONLY="bench interrupt" bash scripts/zephyr-test.sh`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

if [[ -z "${ZEPHYR_BASE:-}" && -f "$HOME/zephyrproject/zephyr/VERSION" ]]; then
    ZEPHYR_BASE=$HOME/zephyrproject/zephyr
fi
if [[ -z "${ZEPHYR_BASE:-}" || ! -f "${ZEPHYR_BASE}/VERSION" ]]; then
    echo "real zephyr: skipped (no ZEPHYR_BASE)"
    exit 0
fi
export ZEPHYR_BASE
workspace=$(dirname "$ZEPHYR_BASE")
if [[ -z "${ZEPHYR_MODULES:-}" && -d "$workspace/modules/hal/cmsis" ]]; then
    ZEPHYR_MODULES=$workspace/modules/hal/cmsis
fi
version=$(awk -F' = ' '/^VERSION_MAJOR/{a=$2} /^VERSION_MINOR/{b=$2} /^PATCHLEVEL/{c=$2} END{print a"."b"."c}' \
    "$ZEPHYR_BASE/VERSION")
echo "== real Zephyr $version at $ZEPHYR_BASE"

build=${ZEPHYR_TEST_BUILD:-$root/target/zephyr-test}
mkdir -p "$build"
# One cargo target directory for every build: dependencies compile once per Rust target.
export CARGO_TARGET_DIR=$build/cargo
if command -v rustup >/dev/null; then
    rustup target add thumbv7m-none-eabi >/dev/null 2>&1 || true
fi

fail() {
    echo "real zephyr: FAILED: $*"
    exit 1
}

# want PART: whether ZEPHYR_TEST_ONLY (empty: every part) names PART.
want() {
    [[ -z "${ZEPHYR_TEST_ONLY:-}" || " $ZEPHYR_TEST_ONLY " == *" $1 "* ]]
}

# build SAMPLE BOARD [NAME [CMAKE-ARGS...]]: configures and builds samples/SAMPLE for BOARD into
# $build/NAME-BOARD (NAME defaults to SAMPLE).
build() {
    local sample=$1 board=$2 name=${3:-$1}
    local dir=$build/$name-$board
    shift $(($# < 3 ? $# : 3))
    # This repository is a Zephyr module. Without west, Zephyr 2.7 reads ZEPHYR_EXTRA_MODULES only
    # together with ZEPHYR_MODULES, so it goes in the list itself.
    local modules=$root
    local -a env=()
    case $board in
    native_posix_64) env=(ZEPHYR_TOOLCHAIN_VARIANT=host) ;;
    qemu_cortex_m3)
        env=(ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb GNUARMEMB_TOOLCHAIN_PATH=${GNUARMEMB_TOOLCHAIN_PATH:-/usr})
        [[ -n "${ZEPHYR_MODULES:-}" ]] && modules="$ZEPHYR_MODULES;$root"
        ;;
    esac
    echo "== build $sample for $board"
    if ! env "${env[@]}" cmake -GNinja -S "$root/samples/$sample" -B "$dir" -DBOARD="$board" \
        "-DZEPHYR_MODULES=$modules" "$@" >"$dir.configure.log" 2>&1; then
        tail -n 30 "$dir.configure.log"
        fail "configuring $sample for $board (log: $dir.configure.log)"
    fi
    if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        grep -E "error|Error|undefined" -A5 "$dir.build.log" | head -n 40
        fail "building $sample for $board (log: $dir.build.log)"
    fi
}

# run SAMPLE BOARD END [SHIFT]: runs the built image until a line matching END (or 120 s of wall
# time), into $build/SAMPLE-BOARD.out; on qemu with `-icount shift=SHIFT` (default 0: one
# instruction per nanosecond).
run() {
    local sample=$1 board=$2 end=$3 shift=${4:-0} dir=$build/$1-$2 out=$build/$1-$2.out pid
    case $board in
    native_posix_64) "$dir/zephyr/zephyr.exe" --stop_at=30 >"$out" 2>&1 &
        pid=$! ;;
    qemu_cortex_m3) qemu-system-arm -machine lm3s6965evb -icount "shift=$shift,sleep=off" -nographic -monitor none \
        -serial stdio -kernel "$dir/zephyr/zephyr.elf" </dev/null >"$out" 2>&1 &
        pid=$! ;;
    esac
    for _ in $(seq 1200); do
        grep -q -- "$end" "$out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -q -- "$end" "$out" || { cat "$out"; fail "$sample on $board did not print '$end'"; }
}

# The demo must print exactly the simulator's output (its golden file, without the simulator's
# closing summary): the same lines, in the same order, at the same virtual microsecond.
golden=$root/examples/tests/golden/embassy-demo.txt
check_demo() {
    local board=$1 out=$build/embassy-demo-$1.out
    if ! diff <(grep -E '^\[' "$golden") <(grep -E '^\[' "$out" | tr -d '\r') >"$out.diff"; then
        cat "$out.diff"
        fail "embassy-demo on $board differs from the simulator's output"
    fi
    echo "   embassy-demo on $board: the simulator's output, line for line and microsecond for microsecond"
}

# The applications in the upstream zephyr-lang-rust style (samples/upstream: philosophers, work,
# embassy), whose Rust source builds unchanged for the simulator and for Zephyr. Each must print
# exactly its simulator golden output (examples/tests/golden/upstream-NAME.txt), with the board's
# name where the simulator prints zephyr_sim: every line from Zephyr's boot banner to END, in the
# same order and with the same millisecond time stamps (both kernels run in virtual time, and the
# samples set the simulator's 10 kHz tick). The Kconfig-chosen parts (philosophers' two rounds,
# work's timer) come from the build's real .config.
# upstream SAMPLE BOARD END [SHIFT]: builds, runs and checks samples/upstream/SAMPLE on BOARD.
upstream() {
    local sample=$1 board=$2 end=$3 shift=${4:-0} name=upstream-$1
    local out=$build/$name-$board.out golden=$root/examples/tests/golden/$name.txt
    build "upstream/$sample" "$board" "$name"
    run "$name" "$board" "$end" "$shift"
    check_golden "$name" "$board" "$out" "$golden" "$end"
}

# check_golden NAME BOARD OUT GOLDEN END: OUT from the boot banner to the line matching END must
# be GOLDEN (the simulator's output) line for line, with the board's name where the simulator
# prints zephyr_sim.
check_golden() {
    local name=$1 board=$2 out=$3 golden=$4 end=$5
    if ! diff <(sed "s/zephyr_sim/$board/" "$golden") \
        <(tr -d '\r' <"$out" | awk -v end="$end" 'go { print; if ($0 ~ end) exit } /^\*\*\* Booting Zephyr OS/ { go = 1 }') \
        >"$out.diff"; then
        cat "$out.diff"
        fail "$name on $board differs from the simulator's output ($golden)"
    fi
    echo "   $name on $board: the simulator's output ($(grep -c '' "$golden") lines), line for line and" \
        "millisecond for millisecond"
}

# interrupt_demo BOARD SHIFT: builds, runs and checks samples/interrupt on BOARD: an
# InterruptExecutor's ticker task preempting a cooperative thread's 35 ms computation at 10, 20
# and 30 ms, a SendSpawner from a thread, k_is_in_isr() in its task. Its output from the boot
# banner to "interrupt: done" must be the simulator's (examples/tests/golden/interrupt-demo.txt)
# line for line, with the board's name where the simulator prints zephyr_sim.
interrupt_demo() {
    local board=$1 shift=$2 end="interrupt: done"
    local out=$build/interrupt-$board.out golden=$root/examples/tests/golden/interrupt-demo.txt
    build interrupt "$board"
    run interrupt "$board" "$end" "$shift"
    check_golden interrupt "$board" "$out" "$golden" "$end"
}

# check_expected NAME BOARD EXPECTED LINES: the lines of NAME's output on BOARD that match the
# regex LINES must be samples/EXPECTED, line for line (a C program whose steps a simulator test
# runs against the same file).
check_expected() {
    local name=$1 board=$2 expected=$3 lines=$4
    if ! diff "$root/samples/$expected" \
        <(grep -E "$lines" "$build/$name-$board.out" | tr -d '\r') >"$build/$name.diff"; then
        cat "$build/$name.diff"
        fail "$name on $board differs from samples/$expected"
    fi
}

# Kernel rules the simulator reproduces (a C program; the simulator runs the same steps in
# crates/zephyr-sim/tests/work_poll.rs against the same expected output).
if want kernel-rules; then
build kernel-rules native_posix_64
run kernel-rules native_posix_64 "^done"
check_expected kernel-rules native_posix_64 kernel-rules/expected.txt '^(T=|done)'
echo "   kernel-rules on native_posix_64: triggered work and queue start as the simulator has them"
fi

# k_mbox_async_put's rules (a C program; the simulator runs the same steps in
# crates/zephyr-sim/tests/mbox.rs against the same expected output).
if want mbox-rules; then
build mbox-rules native_posix_64
run mbox-rules native_posix_64 "^done"
check_expected mbox-rules native_posix_64 mbox-rules/expected.txt '^(T=|done)'
echo "   mbox-rules on native_posix_64: asynchronous mailbox sends as the simulator has them"
fi

# Time slicing at 10 kHz and 100 Hz (a C program; the simulator runs the same steps in
# crates/zephyr-sim/tests/timeslicing.rs against the same expected output).
if want time-slicing; then
build time-slicing native_posix_64
build time-slicing native_posix_64 time-slicing-100hz \
    "-DOVERLAY_CONFIG=$root/samples/time-slicing/100hz.conf"
for variant in time-slicing:10000 time-slicing-100hz:100; do
    name=${variant%:*} hz=${variant#*:}
    run "$name" native_posix_64 "^done"
    check_expected "$name" native_posix_64 "time-slicing/expected-$hz.txt" '^(T=|==|slice|done)'
    echo "   $name on native_posix_64: time slicing at $hz Hz as the simulator has it"
done
fi

# Devices by node label, from the lookups the module generates from the devicetree (the same
# rust_main runs on the simulator in examples/tests/devices_app.rs).
if want devices; then
build devices native_posix_64
run devices native_posix_64 "devices: all ok"
echo "   devices on native_posix_64: devices and GPIO pins found by devicetree node label"
fi

# The zephyr crate's drivers against Zephyr's own (samples/drivers; the same driver code the
# simulator tests). drivers_checks BOARD CHECK...: each check's "drivers: CHECK: ... ok" line of
# the sample's output, as one line here; a check missing is a failure naming it.
drivers_checks() {
    local board=$1 out=$build/drivers-$1.out check line
    shift
    for check; do
        line=$(tr -d '\r' <"$out" | grep -m1 -E "^drivers: $check: .*: ok$") ||
            fail "drivers on $board: the '$check' check did not pass (output: $out)"
        echo "   drivers on $board: ${line#drivers: }"
    done
}

# native_posix_64: GPIO against the GPIO emulator (zephyr,gpio-emul), whose inputs a C thread of
# the sample drives, and I2C against Zephyr's AT24 EEPROM emulator on the I2C emulator. A failed
# check panics, printing why, and the run fails here with the sample's output.
if want drivers; then
build drivers native_posix_64
run drivers native_posix_64 "drivers: all ok"
drivers_checks native_posix_64 "gpio output" "gpio output active-low" "gpio input" "gpio wait" \
    "gpio unregister" "gpio cancel" "gpio two pins" "i2c blocking" "i2c async" "i2c nack"
fi

for board in native_posix_64 qemu_cortex_m3; do
    if want embassy-demo; then
        build embassy-demo "$board"
        # qemu at two nanoseconds per instruction: at one, Zephyr 2.7's SysTick driver under
        # qemu's SysTick model once counts a whole programmed timeout twice (k_uptime_ticks()
        # jumps ahead, seen in plain C too), which shifts a time stamp and makes a k_timer
        # expire late.
        run embassy-demo "$board" "main      done" 1
        check_demo "$board"
    fi
    if want objects || want clippy; then
        build objects "$board"
        run objects "$board" "objects: all ok"
        echo "   objects on $board: every static kernel object kind and async wait ok"
    fi
    if want bench; then
        build bench "$board"
        run bench "$board" "bench done"
        # Again with zephyr's executor-interrupt, for the irq-task scenario (the feature makes
        # every thread executor's wake dearer, so the other scenarios are counted without it).
        build bench "$board" bench-irq -DZEPHYR_BENCH_FEATURES=irq
        run bench-irq "$board" "bench done"
    fi
    # On qemu at two nanoseconds per instruction, as the demo: at one, the SysTick issue above hits
    # the philosophers (a plain k_sleep of 400 ticks measures 801 by k_uptime_ticks()), and as
    # their delays follow the uptime, every later time stamp differs (work and embassy match at
    # either).
    icount_shift=$([[ $board == qemu_cortex_m3 ]] && echo 1 || echo 0)
    if want upstream-philosophers; then upstream philosophers "$board" "All rounds done" "$icount_shift"; fi
    if want upstream-work; then upstream work "$board" "All done" "$icount_shift"; fi
    if want upstream-embassy; then upstream embassy "$board" "Embassy tests passed" "$icount_shift"; fi
    # The InterruptExecutor's rules on the board (samples/interrupt): its golden output
    # (examples/tests/golden/interrupt-demo.txt) compared as the upstream samples' are, at the
    # same qemu shift.
    if want interrupt; then interrupt_demo "$board" "$icount_shift"; fi
done

# Zero-latency interrupts (qemu_cortex_m3 only: native_posix has none): a C program whose output
# the simulator must print too (crates/zephyr-sim/tests/irq_lines.rs reads the expected file).
if want zero-latency; then
build zero-latency qemu_cortex_m3
run zero-latency qemu_cortex_m3 "^done"
check_expected zero-latency qemu_cortex_m3 zero-latency/expected.txt \
    '^(IRQ_PRIO_LOWEST|locked|unlocked|pended|done)'
echo "   zero-latency on qemu_cortex_m3: zero-latency interrupts as the simulator has them"
fi

# qemu_cortex_m3: the UART driver on uart1. qemu connects the lm3s6965's UARTs to its -serial
# options in order: uart0 stays the console on stdio, uart1 goes to a pair of FIFOs
# (`-serial pipe:P` reads P.in and writes P.out). Once the sample has written its blocking line
# and says it is ready, the script sends lines (one longer than the driver's 16-byte rings) and
# reads back the blocking write and each line uppercased. Zephyr 2.7's Stellaris driver sends
# one NUL byte through its loopback mode at its first uart_irq_tx_enable, to raise the TX
# interrupt; qemu 7's UART model has no loopback, so the NUL goes out on the line: NULs are
# dropped before comparing.
if want drivers; then
build drivers qemu_cortex_m3
uart1_lines=("hello, zephyr" "embassy on zephyr"
    "a line of 80 characters, five times the driver's receive and transmit rings: ok!" "bye")
uart1_expected=$(printf 'uart1 blocking write\n'; printf '%s\n' "${uart1_lines[@]^^}")
drivers_uart1() {
    local dir=$build/drivers-qemu_cortex_m3 out=$build/drivers-qemu_cortex_m3.out
    local pipe=$build/drivers-uart1 qemu_pid cat_pid ok=0
    rm -f "$pipe.in" "$pipe.out"
    mkfifo "$pipe.in" "$pipe.out"
    qemu-system-arm -machine lm3s6965evb -icount shift=0,sleep=off -nographic -monitor none \
        -serial stdio -serial "pipe:$pipe" -kernel "$dir/zephyr/zephyr.elf" </dev/null >"$out" 2>&1 &
    qemu_pid=$!
    cat "$pipe.out" >"$out.uart1" &
    cat_pid=$!
    drivers_wait_for() { # PATTERN: until the console shows it (qemu running, no panic, 60 s)
        for _ in $(seq 600); do
            grep -q -- "$1" "$out" && return 0
            kill -0 "$qemu_pid" 2>/dev/null || break
            grep -qE "^rust panic:|ZEPHYR FATAL ERROR" "$out" && break
            sleep 0.1
        done
        grep -q -- "$1" "$out"
    }
    if drivers_wait_for "drivers: uart echo ready"; then
        # qemu holds the FIFO open; the timeout only guards against it having gone.
        printf '%s\n' "${uart1_lines[@]}" | timeout 10 tee "$pipe.in" >/dev/null &&
            drivers_wait_for "drivers: all ok" && ok=1
    fi
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
    # qemu was the FIFO's only writer: the reader drains it and ends (unless qemu never opened it).
    for _ in $(seq 50); do
        kill -0 "$cat_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$cat_pid" 2>/dev/null || true
    wait "$cat_pid" 2>/dev/null || true
    rm -f "$pipe.in" "$pipe.out"
    if [[ $ok != 1 ]]; then
        cat "$out"
        fail "drivers on qemu_cortex_m3 did not print 'drivers: all ok'"
    fi
    if ! diff <(echo "$uart1_expected") <(tr -d '\0\r' <"$out.uart1") >"$out.uart1.diff"; then
        cat "$out.uart1.diff"
        fail "drivers on qemu_cortex_m3: uart1 did not carry the blocking write and the echoes"
    fi
}
drivers_uart1
drivers_checks qemu_cortex_m3 "uart blocking write" "uart echo"
echo "   drivers on qemu_cortex_m3: uart1, read by the script: the blocking write, then each of" \
    "its ${#uart1_lines[@]} lines uppercased: ok"
fi

# The code only real-Zephyr builds compile (zephyr-sys's real layouts and inline Cortex-M
# primitives, the zephyr crate's runtime) linted as `cargo clippy` lints the rest, against each
# board's measured layout.
if want clippy; then
echo "== clippy on the real-Zephyr builds"
for board in native_posix_64:x86_64-unknown-linux-gnu qemu_cortex_m3:thumbv7m-none-eabi; do
    dir=$build/objects-${board%%:*}
    if ! ZEPHYR_RUST_LAYOUT=$dir/rust/zephyr-layout.txt ZEPHYR_DOTCONFIG=$dir/zephyr/.config \
        CARGO_TARGET_DIR=$build/clippy cargo clippy --manifest-path "$root/Cargo.toml" -q \
        -p zephyr --target "${board##*:}" --features executor-zephyr,time-driver-convert,log \
        -- -D warnings; then
        fail "clippy on the ${board%%:*} build"
    fi
done
fi

# Flash and RAM of the executor and time driver on thumbv7m: the footprint sample linked with and
# without them. Flash is text + data, RAM data + bss (`size`'s Berkeley columns) of zephyr.elf.
if want footprint; then
build footprint qemu_cortex_m3 footprint-base
build footprint qemu_cortex_m3 footprint-embassy -DFOOTPRINT_FEATURES=embassy
size_tool=${GNUARMEMB_TOOLCHAIN_PATH:-/usr}/bin/arm-none-eabi-size
sizes() { # NAME: "flash ram" of $build/NAME-qemu_cortex_m3/zephyr/zephyr.elf
    "$size_tool" "$build/$1-qemu_cortex_m3/zephyr/zephyr.elf" | awk 'NR == 2 { print $1 + $2, $2 + $3 }'
}
read -r base_flash base_ram < <(sizes footprint-base)
read -r with_flash with_ram < <(sizes footprint-embassy)
flash=$((with_flash - base_flash))
ram=$((with_ram - base_ram))
echo "== executor + time driver (+ one timer task) on qemu_cortex_m3 (thumbv7m): flash +$flash B, RAM +$ram B"
fi

# Instructions per round trip on qemu_cortex_m3: cycles * (1e9 / hw_cycles_per_sec) / round_trips.
summary=""
if want bench; then
bench_out=$build/bench-qemu_cortex_m3.out
hz=$(sed -nE 's/^bench hw_cycles_per_sec=([0-9]+).*/\1/p' "$bench_out" | tr -d '\r')
[[ -n "$hz" ]] || fail "bench printed no hw_cycles_per_sec"
declare -A ipr
irq_out=$build/bench-irq-qemu_cortex_m3.out
for name in thread thread-same-prio cs noop thread-task irq irq-task thread-task+irq; do
    out=$bench_out
    case $name in irq | irq-task) out=$irq_out ;; esac
    key=$name
    [[ $name == thread-task+irq ]] && { out=$irq_out; key=thread-task; }
    line=$(grep -E "^bench $key round_trips=" "$out" | tr -d '\r') ||
        fail "bench printed no '$key' line ($out)"
    n=$(sed -nE 's/.*round_trips=([0-9]+).*/\1/p' <<<"$line")
    c=$(sed -nE 's/.*cycles=([0-9]+).*/\1/p' <<<"$line")
    ipr[$name]=$(awk -v c="$c" -v n="$n" -v hz="$hz" 'BEGIN { printf "%.0f", c * 1e9 / hz / n }')
    summary+=" $name=${ipr[$name]}"
done
for out in bench bench-irq; do
    grep -E "^bench " "$build/$out-native_posix_64.out" | grep -q "bench done" ||
        fail "$out on native_posix_64 did not finish"
done

# The limits (issue 7): the seed's promise is that a task switch costs less than a thread switch.
limits_ok=1
check_limit() { # NAME REFERENCE FACTOR
    local ratio
    ratio=$(awk -v a="${ipr[$1]}" -v b="${ipr[$2]}" 'BEGIN { printf "%.2f", a / b }')
    if awk -v r="$ratio" -v f="$3" 'BEGIN { exit !(r <= f) }'; then
        echo "   $1 = ${ratio}x $2 (limit ${3}x): ok"
    else
        echo "   $1 = ${ratio}x $2 (limit ${3}x): OVER"
        limits_ok=0
    fi
}
echo "== instructions per round trip on qemu_cortex_m3 (-icount shift=0,sleep=off):$summary"
check_limit cs thread 1.2
check_limit noop thread 1.0
check_limit thread-task thread-same-prio 1.3
# A thread waking a task on an InterruptExecutor (Signal, the pender's zr_irq_pend, the handler's
# poll, the task's k_sem_give) against the kernel's own pend, ISR, give, take. Neither switches
# threads, so irq is small (~105) and the executor's fixed costs (~170: the Signal's critical
# sections, one run-queue poll, the task's future) make the ratio: measured 2.61x on Zephyr 2.7.0
# (irq ~105, irq-task ~274). The limit leaves ~15 % headroom (~40 instructions) for toolchain and
# embassy-executor versions; a thread switch on the wake path (~450) would go far over it.
check_limit irq-task irq 3.0
if [[ $limits_ok == 0 && ${ZEPHYR_TEST_LIMITS:-1} != 0 ]]; then
    fail "instruction counts over their limits:$summary"
fi
fi
if [[ -n "${ZEPHYR_TEST_ONLY:-}" ]]; then
    echo "real zephyr: native_posix_64 ok, qemu_cortex_m3 ok (only: $ZEPHYR_TEST_ONLY)${summary:+, instructions per round trip:$summary}"
    exit 0
fi
echo "real zephyr: native_posix_64 ok, qemu_cortex_m3 ok, instructions per round trip:$summary"
