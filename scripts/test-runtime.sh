#!/usr/bin/env bash
# Runtime robustness checks (issue 3), part of the test command (scripts/test-c.sh calls this).
#
#   ./scripts/test-runtime.sh            # ~1.5 min on 1 core
#   MQ_FUZZ_SECONDS=10 ./scripts/test-runtime.sh
#
# 1. Fixture determinism: rebuilds csrc/tools/mq_gen_fixture and regenerates the fixture into a
#    temporary directory; it must equal the committed csrc/tests/fixtures/ byte for byte.
# 2. Robustness under clang -fsanitize=address,undefined (-fno-sanitize-recover): the cmocka suites
#    test_model* (both fixtures -- model.mqm: FC/1x1/LUT/ADD/softmax/transpose; convnet.mqm: 2 inputs,
#    2 outputs, conv KxK, depthwise, pools, mean, pad, concat, mul, requantize -- bit-exact vs their
#    independent references, every truncation, every single-bit flip of the whole blob with CRC on and
#    off, targeted corruptions, the writer).
# 3. libFuzzer (clang -fsanitize=fuzzer,address,undefined) on mq_model_load + mq_model_run,
#    seeded with the fixture and the writer tests' blobs, for MQ_FUZZ_SECONDS (default 60); prints
#    the executions run.
# Exits non-zero on any failure. Build directory: ${MQ_BUILD_DIR:-build}/runtime-*.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
bdir="${MQ_BUILD_DIR:-build}"
fuzz_seconds="${MQ_FUZZ_SECONDS:-60}"
CC_CLANG="${MQ_CLANG:-clang}"
WFLAGS=(-std=c99 -Wall -Wextra -Wpedantic -Wconversion -Werror)
command -v "$CC_CLANG" > /dev/null ||
  { echo "test-runtime.sh: $CC_CLANG not found (clang with libFuzzer + ASan/UBSan, e.g. the Swift toolchain's)"; exit 1; }

echo "== [runtime 1/3] fixture regenerates byte-identically"
mkdir -p "$bdir/runtime-tools"
gcc "${WFLAGS[@]}" -O1 -Icsrc/include -Icsrc/src csrc/tools/mq_gen_fixture.c $(find csrc/src -name "*.c" | sort) csrc/host/*.c -lm \
  -o "$bdir/runtime-tools/mq_gen_fixture"
regen="$(mktemp -d)"
trap 'rm -rf "$regen"' EXIT
"$bdir/runtime-tools/mq_gen_fixture" "$regen"
for f in model.mqm input_0.bin expected_0.bin expected_1.bin \
         convnet.mqm convnet_input_0.bin convnet_input_1.bin convnet_expected_0.bin convnet_expected_1.bin; do
  cmp "$regen/$f" "csrc/tests/fixtures/$f"
done
echo "   fixture files identical"

echo "== [runtime 2/3] cmocka robustness suites under $CC_CLANG ASan+UBSan"
cmake -S csrc -B "$bdir/runtime-asan" -DCMAKE_C_COMPILER="$CC_CLANG" -DCMAKE_BUILD_TYPE=Debug \
  -DMQ_SANITIZE=address,undefined > "$bdir/runtime-asan.configure.log"
tests=()
for src in csrc/tests/test_model*.c; do
  tests+=("$(basename "$src" .c)")
done
for t in "${tests[@]}"; do
  cmake --build "$bdir/runtime-asan" -j2 --target "$t" > "$bdir/runtime-asan.build-$t.log" 2>&1 ||
    { cat "$bdir/runtime-asan.build-$t.log"; exit 1; }
done
corpus="$(mktemp -d)"
trap 'rm -rf "$regen" "$corpus"' EXIT
for t in "${tests[@]}"; do
  echo "-- $t"
  # MQ_SEED_DIR: test_model_writer saves the blobs it builds there (extra fuzzer seeds).
  MQ_SEED_DIR="$corpus" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$bdir/runtime-asan/$t"
done

echo "== [runtime 3/3] libFuzzer: mq_model_load + mq_model_run, ${fuzz_seconds} s"
mkdir -p "$bdir/runtime-fuzz"
"$CC_CLANG" "${WFLAGS[@]}" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Icsrc/include -Icsrc/src $(find csrc/src -name "*.c" | sort) csrc/fuzz/mq_fuzz_model.c -o "$bdir/runtime-fuzz/mq_fuzz_model" \
  > "$bdir/runtime-fuzz/link.log" 2>&1 || { cat "$bdir/runtime-fuzz/link.log"; exit 1; }
cp csrc/tests/fixtures/model.mqm csrc/tests/fixtures/convnet.mqm "$corpus/"
echo "   seeds: $(ls "$corpus" | wc -l) blobs (the two fixtures, MLP/1x1 and convnet with every format-2 op, + the writer tests' models)"
(
  cd "$bdir/runtime-fuzz"
  ./mq_fuzz_model -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$root/$bdir/runtime-fuzz/" "$corpus" > fuzz.log 2>&1
) || { tail -60 "$bdir/runtime-fuzz/fuzz.log"; echo "FUZZER FAILED (artifact in $bdir/runtime-fuzz/)"; exit 1; }
runs="$(grep -o 'Done [0-9]* runs in [0-9]* second' "$bdir/runtime-fuzz/fuzz.log" | tail -1)"
echo "   libFuzzer: ${runs:-?}s, no crash, no sanitizer report ($(grep -o 'cov: [0-9]*' "$bdir/runtime-fuzz/fuzz.log" | tail -1))"
echo "== runtime checks passed"
