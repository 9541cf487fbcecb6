#!/usr/bin/env bash
# Runtime code size on Cortex-M4 (issue 3): text bytes of the loader + interpreter + every op kernel,
# compiled with -Os, as a firmware would link them.
#
#   ./scripts/size.sh [cortex-m4|cortex-m7|cortex-m55|cortex-m3 ...]     (default cortex-m4)
#   (prints the figure for the default kernel dispatch, then again with -DMQ_FORCE_PORTABLE)
#   MQ_SIZE_OPS="FULLY_CONNECTED" ./scripts/size.sh    # with an op build list (only these ops compiled in)
#
# 1. Builds the device library (every csrc/src/*.c) with the project's CMake and cmake/arm-none-eabi.cmake
#    at MinSizeRel (-Os, -ffunction-sections) -- or, without them, arm-none-eabi-gcc directly with the
#    same flags -- and prints each object's text (arm-none-eabi-size).
# 2. Links them into a minimal application that calls mq_model_load, mq_model_run, the io-info and
#    metadata accessors and mq_status_str (the README example), with --gc-sections, and sums from the
#    linker map the .text and .rodata bytes each csrc object actually contributes. That sum is
#    "the runtime"; libc's memcpy/memmove/memset and the startup code are not counted.
# Target: < 8192 bytes (TFLite Micro's framework alone is ~9.7 KB on Cortex-M3 without kernels).
# Exit status 0; 1 on a build failure. MQ_SIZE_STRICT=1 also fails when the total is over target.
set -euo pipefail
cd "$(dirname "$0")/.."
cpu="${1:-cortex-m4}"
case "$cpu" in
  cortex-m0plus|cortex-m3) fpu="-mfloat-abi=soft" ;;
  cortex-m4) fpu="-mfpu=fpv4-sp-d16 -mfloat-abi=hard" ;;
  cortex-m7) fpu="-mfpu=fpv5-d16 -mfloat-abi=hard" ;;
  cortex-m33) fpu="-mfpu=fpv5-sp-d16 -mfloat-abi=hard" ;;
  cortex-m55) fpu="-mfloat-abi=hard" ;;
  *) echo "size.sh: unknown core $cpu" >&2; exit 1 ;;
esac
extra="${MQ_SIZE_EXTRA:-}"   # e.g. -DMQ_FORCE_PORTABLE (portable C microkernels only)
ops="${MQ_SIZE_OPS:-}"       # op build list, e.g. "FULLY_CONNECTED" (csrc/src/mq_format.h); empty: every op
opsdefs=()
if [ -n "$ops" ]; then
  opsdefs=(-DMQ_OPS_SELECTED)
  for o in ${ops//;/ }; do opsdefs+=("-DMQ_OP_${o}_ENABLED=1"); done
fi
out="${MQ_BUILD_DIR:-build}/size-$cpu${extra:+-portable}${ops:+-ops}"
rm -rf "$out"
mkdir -p "$out/obj"
CFLAGS=(-std=c99 -Os -ffunction-sections -fdata-sections -mcpu="$cpu" -mthumb $fpu
        -Wall -Wextra -Wpedantic -Wconversion -Werror -Icsrc/include -Icsrc/src $extra ${opsdefs[@]+"${opsdefs[@]}"})

if [ -f cmake/arm-none-eabi.cmake ] && command -v cmake > /dev/null; then
  # The project's own device build (the core's CMake + toolchain file), at MinSizeRel (-Os).
  portable=OFF
  [ -n "$extra" ] && portable=ON
  cmake -S csrc -B "$out/cmake" -DCMAKE_TOOLCHAIN_FILE="$(pwd)/cmake/arm-none-eabi.cmake" -DMQ_CPU="$cpu" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DMQ_FORCE_PORTABLE="$portable" -DMQ_OPS="$ops" > "$out/cmake.log" 2>&1 ||
    { cat "$out/cmake.log"; exit 1; }
  cmake --build "$out/cmake" -j2 >> "$out/cmake.log" 2>&1 || { cat "$out/cmake.log"; exit 1; }
  (cd "$out/obj" && arm-none-eabi-ar x ../cmake/libmicroquant.a)
  for f in "$out"/obj/*.c.obj; do mv "$f" "${f%.c.obj}.o"; done
else
  for f in $(find csrc/src -name "*.c" | sort); do
    arm-none-eabi-gcc "${CFLAGS[@]}" -c "$f" -o "$out/obj/$(basename "$f" .c).o"
  done
fi

cat > "$out/app.c" <<'EOF'
/* Minimal firmware: what a user links (README example). */
#include <stdint.h>
#include "microquant/mq_model.h"
extern const uint8_t model_blob[];
extern uint8_t arena[];
volatile const char *sink;
int main(void)
{
    mq_model m;
    mq_tensor_info info;
    uint32_t len;
    static uint8_t in[16], out[16];
    const void *ins[1] = { in };
    void *outs[1] = { out };
    mq_status st = mq_model_load(model_blob, 4096u, MQ_LOAD_CHECK_CRC, &m);
    if (st == MQ_OK) {
        st = mq_model_input_info(&m, 0, &info);
    }
    if (st == MQ_OK) {
        st = mq_model_output_info(&m, mq_model_num_outputs(&m) - 1, &info);
    }
    if (st == MQ_OK && mq_model_num_inputs(&m) == 1) {
        st = mq_model_run(&m, arena, 1024u, ins, outs);
    }
    sink = mq_model_metadata(&m, MQ_META_PRODUCER, &len);
    sink = mq_status_str(st);
    return (int)st;
}
const uint8_t model_blob[4096] __attribute__((aligned(16))) = { 0 };
uint8_t arena[1024] __attribute__((aligned(16)));
EOF
arm-none-eabi-gcc -std=c99 -Os -mcpu="$cpu" -mthumb $fpu -Icsrc/include -c "$out/app.c" -o "$out/app.o"
arm-none-eabi-ar rcs "$out/libmq.a" "$out"/obj/*.o
arm-none-eabi-gcc -mcpu="$cpu" -mthumb $fpu --specs=nosys.specs -Wl,--gc-sections -Wl,-Map="$out/app.map" \
  "$out/app.o" "$out/libmq.a" -o "$out/app.elf"

echo "== object text (-Os, $cpu $extra${ops:+, ops $ops}), every csrc/src object as compiled =="
arm-none-eabi-size "$out"/obj/*.o | awk 'NR == 1 { printf "%8s  %s\n", "text", "object"; next }
  { n = split($6, p, "/"); printf "%8d  %s\n", $1, p[n]; t += $1 } END { printf "%8d  total (all objects, unlinked)\n", t }'

export MQ_SIZE_SUMMARY="$out/summary.txt"
echo "== linked into a minimal app with --gc-sections: .text + .rodata kept per object =="
# Map lines: " .text.name  0xADDR  0xSIZE  path(obj.o)" (or the name alone, then addr/size/path on the next line).
awk '
  /^Linker script and memory map/ { go = 1; next }
  !go { next }
  /^ \.(text|rodata)/ {
    if (NF >= 4) { size = $3; file = $4 } else { pend = 1; next }
    account(size, file); next
  }
  pend == 1 { pend = 0; if (NF >= 3) account($2, $3); next }
  function account(size, file,   n, p, name) {
    if (file !~ /libmq\.a\(/) return
    sub(/.*libmq\.a\(/, "", file); sub(/\)$/, "", file)
    kept[file] += hex(size)
  }
  function hex(s,   i, v) {
    s = tolower(s); sub(/^0x/, "", s); v = 0
    for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return v
  }
  END {
    for (f in kept) {
      printf "%8d  %s\n", kept[f], f; total += kept[f]
      if (f != "mq_status.o") core += kept[f]
      if (f ~ /^mq_model_|^mq_crc32/) rt += kept[f]; else if (f != "mq_status.o") kern += kept[f]
    }
    summary = ENVIRON["MQ_SIZE_SUMMARY"]
    printf "%8d  = loader + interpreter + io info + CRC (mq_model_*.o, mq_crc32.o)\n", rt > summary
    printf "%8d  = op kernels and microkernels\n", kern > summary
    printf "%8d  = mq_status_str strings (mq_status.o)\n", kept["mq_status.o"] > summary
    printf "%8d  TOTAL runtime, %s (loader + interpreter + op kernels + status strings)\n", total, cpu > summary
    printf "%8d  total without the mq_status_str strings (mq_status.o)\n", core > summary
    printf "target < 8192 bytes (total): %s\n", total < 8192 ? "met" : "NOT met" > summary
    if (ENVIRON["MQ_SIZE_STRICT"] == "1" && total >= 8192) exit 1
  }' cpu="$cpu" "$out/app.map" | sort -n
cat "$MQ_SIZE_SUMMARY"

# The same with the portable C microkernels (what a size-constrained build would pick).
if [ -z "$extra" ]; then
  echo "== with -DMQ_FORCE_PORTABLE (portable C microkernels instead of the DSP/MVE ones) =="
  MQ_SIZE_EXTRA=-DMQ_FORCE_PORTABLE "$0" "$cpu" | tail -6
fi
