#!/usr/bin/env bash
# 16x8 kernels on the QEMU cores: bench/bench_s16.c built for each core, dispatched path and -DMQ_FORCE_PORTABLE,
# run under qemu-system-arm -icount shift=0; prints instructions per call of the int8 and 16x8 operators of the same
# shapes and fails if any 16x8 output differs from the int64 reference computed in the firmware.
#   ./scripts/bench-s16.sh [m3|m4|m7|m55 ...]     (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${MQ_BUILD_DIR:-$ROOT/build/bench-s16}
mkdir -p "$OUT"
OPT=${MQ_BENCH_OPT:--O2}
CFLAGS="-std=c99 $OPT -g -Wall -Wextra -Wpedantic -Wconversion -Werror -ffunction-sections -fdata-sections"
INC="-I$ROOT/csrc/include -I$ROOT/csrc/src -I$ROOT/bench"
SRC="$(find csrc/src -name '*.c' | sort | tr '\n' ' ')"
want=" ${*:-m3 m4 m7 m55} "
fail=0
while read -r name machine tpi cpu ld; do
  [ -n "$name" ] || continue
  case "$want" in *" $name "*) ;; *) continue ;; esac
  for variant in fast portable; do
    defs="-DMQ_BENCH_INSNS_PER_TICK_X100=$tpi"
    [ $variant = portable ] && defs="$defs -DMQ_FORCE_PORTABLE"
    elf=$OUT/bench_s16_${name}_$variant.elf
    # shellcheck disable=SC2086
    if ! arm-none-eabi-gcc ${cpu//,/ } -mthumb $CFLAGS $defs $INC -o "$elf" bench/startup.c bench/bench_s16.c $SRC \
         -nostartfiles --specs=rdimon.specs -L"$ROOT/bench" -T"$ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments; then
      echo "bench-s16: $name $variant: build FAILED"; fail=1; continue
    fi
    echo "== $name ($machine) $variant"
    set +e
    timeout 600 qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
        -icount shift=0,align=off,sleep=off -semihosting-config enable=on,target=native -kernel "$elf" \
        | tee "$OUT/bench_s16_${name}_$variant.txt"
    rc=${PIPESTATUS[0]}
    set -e
    if [ "$rc" -ne 0 ]; then echo "bench-s16: $name $variant: FAILED (exit $rc)"; fail=1; fi
  done
done <<'LIST'
m3 mps2-an385 4000 -mcpu=cortex-m3,-mfloat-abi=soft mps2.ld
m4 mps2-an386 4000 -mcpu=cortex-m4,-mfpu=fpv4-sp-d16,-mfloat-abi=hard mps2.ld
m7 mps2-an500 4000 -mcpu=cortex-m7,-mfpu=fpv5-d16,-mfloat-abi=hard mps2.ld
m55 mps3-an547 3125 -mcpu=cortex-m55,-mfloat-abi=hard an547.ld
LIST
if [ $fail -ne 0 ]; then echo "bench-s16: FAILED"; exit 1; fi
echo "bench-s16: all 16x8 outputs identical to the int64 reference"
