#!/usr/bin/env bash
# Device benchmark (issue 6): builds bench/bench_main.c for each QEMU-emulated core (mps2-an385 M3,
# mps2-an386 M4, mps2-an500 M7, mps3-an547 M55), twice: the dispatched fast path and the portable C
# path (-DMQ_FORCE_PORTABLE), runs each under qemu-system-arm -icount shift=0 and prints the
# instruction table (SysTick-measured, see bench/bench_main.c) next to the CMSIS-NN reference figures.
# Fails if any output differs from the portable kernels. Also prints the runtime code size per core.
#   ./scripts/bench-device.sh [m3|m4|m7|m55 ...]     (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${MQ_BUILD_DIR:-$ROOT/build/bench-device}
mkdir -p "$OUT"
for tool in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
  command -v "$tool" >/dev/null || { echo "bench-device: $tool not found in PATH" >&2; exit 2; }
done
OPT=${MQ_BENCH_OPT:--O2}
CFLAGS="-std=c99 $OPT -g -Wall -Wextra -Wpedantic -Wconversion -Werror -ffunction-sections -fdata-sections"
INC="-I$ROOT/csrc/include -I$ROOT/csrc/src -I$ROOT/bench -I$ROOT/csrc/tests"
# The operators the benchmark calls and the microkernels they dispatch to.
RUNTIME="csrc/src/gemm/mq_fully_connected.c csrc/src/conv/mq_conv1x1.c csrc/src/conv/mq_conv1x1_output_size.c
         csrc/src/conv/mq_conv1x1_scratch_size.c csrc/src/gemm/mq_fc_params_check.c csrc/src/lut/mq_lut_apply.c
         csrc/src/gemm/mq_gemm_s8_n4k16_c.c csrc/src/gemm/mq_gemm_s8_n4k16_dsp.c csrc/src/gemm/mq_gemm_s8_n4k16_mve.c csrc/src/gemm/mq_gemm_s8_n4k16_v7m.c
         csrc/src/lut/mq_lut_u8_c.c csrc/src/lut/mq_lut_u8_dsp.c csrc/src/lut/mq_lut_u8_mve.c
         csrc/src/conv/mq_conv.c csrc/src/conv/mq_conv_check.c csrc/src/conv/mq_conv_scratch_size.c csrc/src/conv/mq_window_check.c
         $(ls csrc/src/depthwise/*.c)
         csrc/host/mq_depthwise_pack_weights.c csrc/host/mq_depthwise_prepare_bias.c csrc/host/mq_fold_bias.c
         $(ls csrc/src/pool/*.c | tr '\n' ' ') csrc/src/softmax/mq_softmax.c"
want=" ${*:-m3 m4 m7 m55} "
fail=0
while read -r name machine core tpi cpu ld; do
  [ -n "$name" ] || continue
  case "$want" in *" $name "*) ;; *) continue ;; esac
  flags="${cpu//,/ } -mthumb"
  for variant in fast portable; do
    defs="-DMQ_BENCH_CORE=$core -DMQ_BENCH_INSNS_PER_TICK_X100=$tpi"
    [ $variant = portable ] && defs="$defs -DMQ_FORCE_PORTABLE"
    elf=$OUT/bench_${name}_$variant.elf
    # shellcheck disable=SC2086
    if ! arm-none-eabi-gcc $flags $CFLAGS $defs $INC -o "$elf" bench/startup.c bench/bench_main.c $RUNTIME \
         -nostartfiles --specs=rdimon.specs -L"$ROOT/bench" -T"$ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments; then
      echo "bench-device: $name $variant: build FAILED"; fail=1; continue
    fi
    echo
    set +e
    timeout 300 qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
        -icount shift=0,align=off,sleep=off -semihosting-config enable=on,target=native -kernel "$elf" \
        | tee "$OUT/bench_${name}_$variant.txt"
    rc=${PIPESTATUS[0]}
    set -e
    if [ "$rc" -ne 0 ]; then echo "bench-device: $name $variant: FAILED (exit $rc)"; fail=1; fi
  done
  # Runtime code size: every mq_* function linked into the fast-path benchmark firmware (operators,
  # dispatched kernels, the portable kernels they fall back to), as the benchmark builds them.
  elf=$OUT/bench_${name}_fast.elf
  if [ -f "$elf" ]; then
    echo "runtime code size, $name ($OPT), mq_* functions linked in $(basename "$elf"):"
    arm-none-eabi-nm -S --defined-only "$elf" | awk '$3 ~ /^[tT]$/ && $4 ~ /^mq_/ && $4 !~ /^mq_(bench|vector)/ {print $2, $4}' |
      while read -r hex sym; do echo "$((16#$hex)) $sym"; done | sort -n |
      awk '{tot += $1; printf "   %6d  %s\n", $1, $2} END {printf "   %6d  TOTAL bytes\n", tot}'
  fi
done <<'LIST'
m3 mps2-an385 3 4000 -mcpu=cortex-m3,-mfloat-abi=soft mps2.ld
m4 mps2-an386 4 4000 -mcpu=cortex-m4,-mfpu=fpv4-sp-d16,-mfloat-abi=hard mps2.ld
m7 mps2-an500 7 4000 -mcpu=cortex-m7,-mfpu=fpv5-d16,-mfloat-abi=hard mps2.ld
m55 mps3-an547 55 3125 -mcpu=cortex-m55,-mfloat-abi=hard an547.ld
LIST
if [ $fail -ne 0 ]; then echo "bench-device: FAILED"; exit 1; fi
echo "bench-device: all outputs identical to the portable kernels"
