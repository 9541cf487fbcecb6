#!/usr/bin/env bash
# Long libFuzzer run of the packed-model loader + interpreter (issue 3), for the benchmark/check
# command; the test command runs the same target for ~60 s (scripts/test-runtime.sh).
#
#   ./scripts/fuzz-long.sh                 # 30 minutes, 1 job
#   MQ_FUZZ_SECONDS=7200 ./scripts/fuzz-long.sh
#
# The corpus persists in ${MQ_BUILD_DIR:-build}/runtime-fuzz-long/corpus (seeded with the committed
# fixture), so repeated runs continue where the last stopped. Crash reproducers are written next to it
# as crash-*/leak-*/timeout-*; replay one with: build/runtime-fuzz-long/mq_fuzz_model <file>.
# Prints the executions run and the coverage reached; exits non-zero when the fuzzer finds anything.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
out="${MQ_BUILD_DIR:-build}/runtime-fuzz-long"
seconds="${MQ_FUZZ_SECONDS:-1800}"
mkdir -p "$out/corpus"
cp csrc/tests/fixtures/model.mqm "$out/corpus/seed-fixture.mqm"
"${MQ_CLANG:-clang}" -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Werror -g -O1 \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Icsrc/include -Icsrc/src $(find csrc/src -name "*.c" | sort) csrc/fuzz/mq_fuzz_model.c -o "$out/mq_fuzz_model" \
  > "$out/link.log" 2>&1 || { cat "$out/link.log"; exit 1; }
echo "fuzzing mq_model_load + mq_model_run for ${seconds} s (corpus $out/corpus)"
status=0
"$out/mq_fuzz_model" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$root/$out/" "$out/corpus" > "$out/fuzz.log" 2>&1 || status=$?
grep -o 'Done [0-9]* runs in [0-9]* second' "$out/fuzz.log" | tail -1 || true
grep -o 'cov: [0-9]* ft: [0-9]*' "$out/fuzz.log" | tail -1 || true
echo "corpus: $(ls "$out/corpus" | wc -l) inputs"
if [ "$status" -ne 0 ]; then
  tail -60 "$out/fuzz.log"
  echo "FUZZER FOUND A PROBLEM (exit $status); artifacts in $out/"
  exit 1
fi
echo "no crash, no sanitizer report"
