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
#   MQ_ROWS_JOBS=<n>         cores built and run at once (default 2)
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
# 1. the host generator (the whole library, every op, at -O1: it only builds and runs small models); one bundle per seed (each fits the M55's ITCM)
# shellcheck disable=SC2086
if ! "${CC:-cc}" -std=c99 -D_POSIX_C_SOURCE=200112L -O1 -Wall -Wextra -Wpedantic -Wconversion -Werror \
     -Icsrc/include -Icsrc/src -Icsrc/tests -o "$OUT/rows_qemu_gen" bench/rows_qemu_gen.c csrc/src/*/*.c csrc/host/*.c \
     -lm 2>"$OUT/gen-build.log"; then
  tail -n 20 "$OUT/gen-build.log"; echo "test-rows-qemu: host generator build FAILED"; exit 1
fi
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
echo "  generated in $(($(date +%s) - t0)) s"
CFLAGS="-std=c99 -O2 -Wall -Wextra -Wpedantic -Wconversion -Werror -ffunction-sections -fdata-sections"
one_core() { # name board cpu-flags: compile once, link and run one firmware per bundle
  local name=$1 board=$2 cpu=${3//,/ } dir=$OUT/$1 rc b elf log pass=0 runs=0 cases=0 stack=0
  rm -rf "$dir"; mkdir -p "$dir"
  # shellcheck disable=SC2086
  if ! (cd "$dir" && arm-none-eabi-gcc $cpu -mthumb $CFLAGS -I"$ROOT/csrc/include" -I"$ROOT/csrc/src" \
       -I"$ROOT/boards/common" -c "$ROOT/bench/test_rows_qemu.c" "$ROOT/boards/common/mq_startup.c" \
       "$ROOT/boards/common/mq_fwio.c" "$ROOT/boards/common/mq_semihost.c" "$ROOT/boards/common/mq_timer.c" \
       "$ROOT/boards/$board/startup.c" $(for f in $RUNTIME; do echo "$ROOT/$f"; done)) > "$dir/build.log" 2>&1; then
    tail -n 20 "$dir/build.log"; echo "test-rows-qemu: $name ($board): build FAILED"; return 1
  fi
  for ((b = 0; b < BUNDLES; b++)); do
    elf=$dir/rows_$b.elf log=$dir/bundle_$b.log
    # shellcheck disable=SC2086
    if ! arm-none-eabi-gcc $cpu -mthumb -o "$elf" "$dir"/*.o "$OUT/bundle_$b.S" -nostartfiles --specs=nano.specs \
         -L"$ROOT/boards/common" -T"$ROOT/boards/$board/$board.ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments \
         -Wl,-z,noexecstack >> "$dir/build.log" 2>&1; then
      tail -n 20 "$dir/build.log"; echo "test-rows-qemu: $name ($board): link of bundle $b FAILED"; return 1
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
    [ "$b_stack" -gt "$stack" ] && stack=$b_stack
  done
  echo "test-rows-qemu: $name ($board): ok, $cases models, $runs runs byte-identical, peak stack $stack B of $(sed -n 's/.*reserve \([0-9]*\).*/\1/p' "$log")"
}
fail=0
pids=()
names=()
while read -r name board cpu; do
  [ -n "$name" ] || continue
  case " ${MQ_ROWS_CORES:-m3 m4 m7 m55} " in *" $name "*) ;; *) continue ;; esac
  while [ "$(jobs -rp | wc -l)" -ge "${MQ_ROWS_JOBS:-2}" ]; do sleep 0.2; done
  one_core "$name" "$board" "$cpu" > "$OUT/$name.report" 2>&1 &
  pids+=($!); names+=("$name")
done <<'LIST'
m3 mps2-an385 -mcpu=cortex-m3,-mfloat-abi=soft
m4 mps2-an386 -mcpu=cortex-m4,-mfpu=fpv4-sp-d16,-mfloat-abi=hard
m7 mps2-an500 -mcpu=cortex-m7,-mfpu=fpv5-d16,-mfloat-abi=hard
m55 mps3-an547 -mcpu=cortex-m55,-mfloat-abi=hard
LIST
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then fail=1; fi
  cat "$OUT/${names[$i]}.report"
done
echo "test-rows-qemu: $(($(date +%s) - t0)) s"
if [ $fail -ne 0 ]; then echo "test-rows-qemu: FAILED"; exit 1; fi
echo "test-rows-qemu: all cores passed"
