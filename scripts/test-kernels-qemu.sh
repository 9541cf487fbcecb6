#!/usr/bin/env bash
# Fast-path kernel test on the QEMU Cortex-M machines (issue 6).
# For each core: builds bench/test_kernels.c with the microkernels (portable + the variant the
# core dispatches to: v7m on M3, DSP on M4/M7, MVE on M55), runs it under qemu-system-arm with
# semihosting and fails on any mismatch against mq_gemm_s8_n4k16_c / mq_lut_u8_c or the int64
# reference (and the conv/depthwise and mq_avg_pool / mq_max_pool / mq_mean fast paths against their portable
# versions and int64 references, the tabulated ADD output loop (MVE on M55) against the portable one and an int64 reference, and the 16x8 FC / conv paths against an int64 reference, bench/test_kernels_s16.h); then the same test natively on the host (its SSE2 path on x86-64) under ASan+UBSan.
# MQ_KERNEL_TEST_CORES="m4 m55" limits the cores. Exit status non-zero on any failure. Needs arm-none-eabi-gcc
# (+ newlib), qemu-system-arm, a host cc.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${MQ_BUILD_DIR:-$ROOT/build/test-kernels-qemu}
mkdir -p "$OUT"
for tool in arm-none-eabi-gcc qemu-system-arm; do
  command -v "$tool" >/dev/null || { echo "test-kernels-qemu: $tool not found in PATH" >&2; exit 2; }
done
CFLAGS="-std=c99 -O2 -g -Wall -Wextra -Wpedantic -Wconversion -Werror -ffunction-sections -fdata-sections"
INC="-I$ROOT/csrc/include -I$ROOT/csrc/src -I$ROOT/bench -I$ROOT/csrc/tests"
KERNELS="csrc/src/gemm/mq_gemm_s8_n4k16_c.c csrc/src/gemm/mq_gemm_s8_n4k16_dsp.c csrc/src/gemm/mq_gemm_s8_n4k16_mve.c csrc/src/gemm/mq_gemm_s8_n4k16_v7m.c
         csrc/src/lut/mq_lut_u8_c.c csrc/src/lut/mq_lut_u8_dsp.c csrc/src/lut/mq_lut_u8_mve.c
         $(ls csrc/src/conv/*.c csrc/src/depthwise/*.c) csrc/src/gemm/mq_fc_params_check.c
         csrc/host/mq_depthwise_pack_weights.c csrc/host/mq_depthwise_prepare_bias.c csrc/host/mq_fold_bias.c
         $(ls csrc/src/pool/*.c | tr '\n' ' ') $(ls csrc/src/int16/*.c | tr '\n' ' ') $(ls csrc/src/add/*.c | tr '\n' ' ')"
fail=0
# name machine cpu-flags linker-script
while read -r name machine cpu ld; do
  [ -n "$name" ] || continue
  case " ${MQ_KERNEL_TEST_CORES:-m3 m4 m7 m55} " in *" $name "*) ;; *) continue ;; esac
  elf=$OUT/test_kernels_$name.elf
  # shellcheck disable=SC2086
  if ! arm-none-eabi-gcc ${cpu//,/ } -mthumb $CFLAGS ${MQ_KERNEL_TEST_DEFS:-} $INC -o "$elf" \
       bench/startup.c bench/test_kernels.c $KERNELS \
       -nostartfiles --specs=rdimon.specs -L"$ROOT/bench" -T"$ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments; then
    echo "test-kernels-qemu: $name: build FAILED"; fail=1; continue
  fi
  set +e
  timeout 150 qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
      -semihosting-config enable=on,target=native -kernel "$elf" > "$OUT/$name.log" 2>&1
  rc=$?
  set -e
  tail -n 5 "$OUT/$name.log" | sed "s/^/  [$name] /"
  if [ $rc -ne 0 ] || ! grep -q '^PASS:' "$OUT/$name.log"; then
    echo "test-kernels-qemu: $name ($machine): FAILED (exit $rc, log $OUT/$name.log)"; fail=1
  else
    echo "test-kernels-qemu: $name ($machine): ok"
  fi
done <<'LIST'
m3 mps2-an385 -mcpu=cortex-m3,-mfloat-abi=soft mps2.ld
m4 mps2-an386 -mcpu=cortex-m4,-mfpu=fpv4-sp-d16,-mfloat-abi=hard mps2.ld
m7 mps2-an500 -mcpu=cortex-m7,-mfpu=fpv5-d16,-mfloat-abi=hard mps2.ld
m55 mps3-an547 -mcpu=cortex-m55,-mfloat-abi=hard an547.ld
LIST
# The host's own fast path (x86-64: the run-time dispatched AVX-512 VNNI / AVX2 / SSE2 kernel; else portable),
# the one the simulator runs, same test. MQ_HOST_GEMM=sse2|avx2|avx512vnni forces a variant the CPU has.
HOSTCC=${CC:-cc}
if command -v "$HOSTCC" >/dev/null; then
  # shellcheck disable=SC2086
  if "$HOSTCC" -std=c99 -O2 -g -Wall -Wextra -Wpedantic -Wconversion -Werror -fsanitize=address,undefined \
       -fno-sanitize-recover=all $INC -o "$OUT/test_kernels_host" bench/test_kernels.c $KERNELS \
       csrc/src/gemm/mq_gemm_s8_n4k16_sse2.c csrc/src/gemm/mq_gemm_s8_n4k16_avx2.c csrc/src/gemm/mq_gemm_s8_n4k16_avx512vnni.c \
       csrc/src/gemm/mq_gemm_s8_n4k16_x86.c 2>"$OUT/host-build.log" && "$OUT/test_kernels_host" > "$OUT/host.log" 2>&1 &&
     grep -q '^PASS:' "$OUT/host.log"; then
    tail -n 2 "$OUT/host.log" | sed "s/^/  [host] /"
    echo "test-kernels-qemu: host ($HOSTCC, ASan+UBSan): ok"
  else
    tail -n 5 "$OUT/host-build.log" "$OUT/host.log" 2>/dev/null | sed "s/^/  [host] /"
    echo "test-kernels-qemu: host ($HOSTCC): FAILED"; fail=1
  fi
fi
if [ $fail -ne 0 ]; then echo "test-kernels-qemu: FAILED"; exit 1; fi
echo "test-kernels-qemu: all cores passed"
