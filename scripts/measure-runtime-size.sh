#!/usr/bin/env bash
# Measures, per core, the flash and RAM the firmware needs besides the model, from the real
# cross-compiled firmware (boards/CMakeLists.txt, -O2, the demo model), and writes
# boards/runtime-size.json, which `swift run simulate --board` uses for its fit report.
#
#   ./scripts/measure-runtime-size.sh            # rewrite boards/runtime-size.json
#   ./scripts/measure-runtime-size.sh --check    # compare with the committed table, print differences
#
# firmware_code_bytes   = text + data of mq_firmware.elf minus the embedded model and inputs
#                         (runtime loader + interpreter + every kernel + startup + app)
# runtime_library_bytes = text + data of libmicroquant.a (all runtime objects, arm-none-eabi-size -t)
# static_ram_bytes      = data + bss of the firmware minus the arena and output buffer
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = "--check" ] && check=1
# core -> board used for the measurement
pairs="cortex-m0plus:rpi-pico cortex-m3:mps2-an385 cortex-m4:mps2-an386 cortex-m7:mps2-an500 cortex-m55:mps3-an547"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
  echo "{"
  echo "  \"generated_by\": \"scripts/measure-runtime-size.sh\","
  echo "  \"compiler\": \"$(arm-none-eabi-gcc --version | head -1)\","
  echo "  \"flags\": \"-O2 -ffunction-sections -fdata-sections, --gc-sections, newlib-nano\","
  echo "  \"cores\": {"
  first=1
  for pair in $pairs; do
    core=${pair%%:*}; board=${pair##*:}
    dir=build/runtime-size/$board
    cmake -S boards -B "$dir" -DBOARD="$board" -DMQ_EMBED=incbin >/dev/null
    cmake --build "$dir" -j2 >/dev/null
    elf=$dir/mq_firmware.elf
    read -r text data bss _ < <(arm-none-eabi-size "$elf" | tail -1)
    sym() { local h; h=$(arm-none-eabi-nm -S "$elf" | awk -v s="$1" '$4 == s { print $2 }'); [ -n "$h" ] || { echo "measure-runtime-size: symbol $1 not in $elf" >&2; exit 1; }; echo $((16#$h)); }
    blobs=$(( $(sym mq_fw_model) + $(sym mq_fw_input) ))
    bufs=$(( $(sym mq_fw_arena) + $(sym mq_fw_outputs) ))
    lib=$(arm-none-eabi-size -t "$dir/csrc/libmicroquant.a" | tail -1 | awk '{ print $1 + $2 }')
    [ $first = 1 ] || echo ","
    first=0
    printf '    "%s": { "board": "%s", "firmware_code_bytes": %d, "runtime_library_bytes": %d, "static_ram_bytes": %d }' \
      "$core" "$board" $((text + data - blobs)) "$lib" $((data + bss - bufs))
  done
  echo ""
  echo "  }"
  echo "}"
} > "$out"
if [ $check = 1 ]; then
  if diff -u boards/runtime-size.json "$out"; then
    echo "runtime-size: boards/runtime-size.json is up to date"
  else
    echo "runtime-size: WARNING: boards/runtime-size.json differs from this build (above); regenerate with scripts/measure-runtime-size.sh"
  fi
else
  cp "$out" boards/runtime-size.json
  cat boards/runtime-size.json
fi
