#!/usr/bin/env bash
# Row-streamed segments (ROW_STREAM, op type 20) on the four QEMU Cortex-M boards against the host's layer-by-layer
# run. bench/rows_qemu_gen.c (built here for the host) writes random residual segments (IC stage blocks, bottlenecks,
# inverted residuals, random chains; uint8/int8, per-channel, ReLU/LUT, odd sizes, k across the DSP pair-loop bounds
# 288 / 640) packed as one ROW_STREAM op, with random inputs and the outputs of the same segments packed layer by
# layer and run by the host's kernels. bench/test_rows_qemu.c, linked with each board's startup and linker script
# (boards/<board>, 12 KiB stack reserve) and the runtime compiled for its core, runs every model and requires
# byte-identical outputs; it prints each model's peak stack and fails when the reserve is used up.
#   MQ_ROWS_CORES="m4 m55"   limit the cores (default m3 m4 m7 m55)
#   MQ_ROWS_SEED=<n>         generator seed of bundle 0 (bundle b: seed + b; default fixed)
#   MQ_ROWS_BUNDLES=<n>      bundles (one firmware each; default 8); MQ_ROWS_CASES=<n> cases per bundle at most
#   MQ_ROWS_BYTES=<n>        bytes per bundle at most (default 380000: the M55 board's 512 KiB ITCM holds code + one)
#   MQ_ROWS_JOBS=<n>         builds / cores run at once (default 2)
#   MQ_ROWS_OPT=-Os          the firmware's optimisation (default -O2; -Os builds the compact kernels)
# Exit status non-zero on any failure. Needs a host cc, arm-none-eabi-gcc (+ newlib nano), qemu-system-arm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${MQ_BUILD_DIR:-$ROOT/build/test-rows-qemu}
mkdir -p "$OUT"
for tool in arm-none-eabi-gcc qemu-system-arm "${CC:-cc}"; do
  command -v "$tool" >/dev/null || { echo "test-rows-qemu: $tool not found in PATH" >&2; exit 2; }
done
t0=$(date +%s)
# The firmware runtime: every op, as a board firmware without an op build list (the deepest stack).
RUNTIME=$(ls csrc/src/*/*.c | tr '\n' ' ')
BUNDLES=${MQ_ROWS_BUNDLES:-8}
SEED=${MQ_ROWS_SEED:-0x5EED5}
JOBS=${MQ_ROWS_JOBS:-2}
CORES=${MQ_ROWS_CORES:-m3 m4 m7 m55}
CFLAGS="-std=c99 ${MQ_ROWS_OPT:--O2} -Wall -Wextra -Wpedantic -Wconversion -Werror -ffunction-sections -fdata-sections"
board_of() { case $1 in m3) echo mps2-an385 ;; m4) echo mps2-an386 ;; m7) echo mps2-an500 ;; m55) echo mps3-an547 ;; esac; }
cpu_of() {
  case $1 in
    m3) echo "-mcpu=cortex-m3 -mfloat-abi=soft" ;; m4) echo "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard" ;;
    m7) echo "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard" ;; m55) echo "-mcpu=cortex-m55 -mfloat-abi=hard" ;;
  esac
}
for name in $CORES; do
  [ -n "$(board_of "$name")" ] || { echo "test-rows-qemu: unknown core '$name' (m3 m4 m7 m55)" >&2; exit 2; }
done
wait_slot() { while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.1; done; }
# 1. builds, JOBS at once: the host generator (the whole library, every op, at -O1: it only builds and runs small
# models) and, per core, the firmware objects (bench/test_rows_qemu.c, boards/common, the board's startup, runtime)
gen_build() {
  # shellcheck disable=SC2086
  "${CC:-cc}" -std=c99 -D_POSIX_C_SOURCE=200112L -O1 -Wall -Wextra -Wpedantic -Wconversion -Werror \
     -Icsrc/include -Icsrc/src -Icsrc/tests -o "$OUT/rows_qemu_gen" bench/rows_qemu_gen.c csrc/src/*/*.c csrc/host/*.c \
     -lm > "$OUT/gen-build.log" 2>&1
}
core_build() { # name
  local dir=$OUT/$1 board
  board=$(board_of "$1")
  rm -rf "$dir"; mkdir -p "$dir"
  # shellcheck disable=SC2046,SC2086
  (cd "$dir" && arm-none-eabi-gcc $(cpu_of "$1") -mthumb $CFLAGS -I"$ROOT/csrc/include" -I"$ROOT/csrc/src" \
       -I"$ROOT/boards/common" -c "$ROOT/bench/test_rows_qemu.c" "$ROOT/boards/common/mq_startup.c" \
       "$ROOT/boards/common/mq_fwio.c" "$ROOT/boards/common/mq_semihost.c" "$ROOT/boards/common/mq_timer.c" \
       "$ROOT/boards/$board/startup.c" $(for f in $RUNTIME; do echo "$ROOT/$f"; done)) > "$OUT/$1-build.log" 2>&1
}
gen_build & gen_pid=$!
declare -A build_pid
for name in $CORES; do
  wait_slot
  core_build "$name" & build_pid[$name]=$!
done
if ! wait "$gen_pid"; then
  tail -n 20 "$OUT/gen-build.log"; echo "test-rows-qemu: host generator build FAILED"; wait; exit 1
fi
# 2. one bundle per seed (each fits the M55's ITCM next to the code)
for ((b = 0; b < BUNDLES; b++)); do
  "$OUT/rows_qemu_gen" "$OUT/bundle_$b.bin" "$OUT/cases_$b.txt" $((SEED + b)) "${MQ_ROWS_CASES:-400}" \
    "${MQ_ROWS_BYTES:-380000}" 131072 | sed "s/^/  [bundle $b] /"
  cat > "$OUT/bundle_$b.S" <<ASM
    .section .rodata.mq_rs_bundle, "a", %progbits
    .balign 16
    .global mq_rs_bundle
mq_rs_bundle:
    .incbin "$OUT/bundle_$b.bin"
mq_rs_bundle_end:
    .balign 4
    .global mq_rs_bundle_size
mq_rs_bundle_size:
    .word mq_rs_bundle_end - mq_rs_bundle
    .section .note.GNU-stack, "", %progbits
ASM
done
# 3. per core: link one firmware per bundle, run each under QEMU
one_core() { # name
  local name=$1 board dir=$OUT/$1 rc b elf log runs=0 cases=0 stack=0 b_stack reserve=0
  board=$(board_of "$name")
  # boards/common/mq_sections.ld INCLUDEs the RAM check that boards/CMakeLists.txt writes per build
  printf 'ASSERT(__mq_stack_limit >= __mq_bss_end, "RAM overflow on board %s (test-rows-qemu)")\n' "$board" \
    > "$dir/mq_board_check.ld"
  for ((b = 0; b < BUNDLES; b++)); do
    elf=$dir/rows_$b.elf log=$dir/bundle_$b.log
    # shellcheck disable=SC2046
    if ! arm-none-eabi-gcc $(cpu_of "$name") -mthumb -o "$elf" "$dir"/*.o "$OUT/bundle_$b.S" -nostartfiles \
         --specs=nano.specs -L"$dir" -L"$ROOT/boards/common" -T"$ROOT/boards/$board/$board.ld" -Wl,--gc-sections \
         -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack >> "$OUT/$name-build.log" 2>&1; then
      tail -n 20 "$OUT/$name-build.log"; echo "test-rows-qemu: $name ($board): link of bundle $b FAILED"; return 1
    fi
    set +e
    timeout 120 qemu-system-arm -M "$board" -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" > "$log" 2>&1
    rc=$?
    set -e
    if [ $rc -ne 0 ] || ! grep -q '^PASS:' "$log"; then
      grep -v '^RS .* ok$' "$log" | head -n 20 | sed "s/^/  [$name bundle $b] /"
      grep -E '^RS [0-9]+ (MISMATCH|status|STACK)' "$log" | head -n 5 | while read -r _ c _; do
        grep "^case $c:" "$OUT/cases_$b.txt" | sed "s/^/  [$name bundle $b] /"
      done
      echo "test-rows-qemu: $name ($board): bundle $b FAILED (exit $rc, log $log)"; return 1
    fi
    cases=$((cases + $(sed -n 's/^PASS: \([0-9]*\) cases.*/\1/p' "$log")))
    runs=$((runs + $(sed -n 's/^PASS: [0-9]* cases, \([0-9]*\) runs.*/\1/p' "$log")))
    b_stack=$(sed -n 's/.*max stack \([0-9]*\).*/\1/p' "$log")
    reserve=$(sed -n 's/.*reserve \([0-9]*\).*/\1/p' "$log")
    if [ "$b_stack" -gt "$stack" ]; then stack=$b_stack; fi
  done
  echo "test-rows-qemu: $name ($board): ok, $cases models, $runs runs byte-identical, peak stack $stack B of $reserve"
}
fail=0
declare -A run_pid
for name in $CORES; do
  if ! wait "${build_pid[$name]}"; then
    tail -n 20 "$OUT/$name-build.log"; echo "test-rows-qemu: $name: build FAILED"; fail=1; continue
  fi
  wait_slot
  one_core "$name" > "$OUT/$name.report" 2>&1 & run_pid[$name]=$!
done
for name in $CORES; do
  [ -n "${run_pid[$name]:-}" ] || continue
  if ! wait "${run_pid[$name]}"; then fail=1; fi
  cat "$OUT/$name.report"
done
echo "test-rows-qemu: $(($(date +%s) - t0)) s"
if [ $fail -ne 0 ]; then echo "test-rows-qemu: FAILED"; exit 1; fi
echo "test-rows-qemu: all cores passed"
