#!/usr/bin/env bash
# The project's whole test suite (the README's test command). Exits non-zero on any failure.
#   1. C core and runtime: cmocka suites (gcc, clang, ASan+UBSan), Arm cross builds, fuzzing
#   2. fast-path microkernels (DSP, MVE, v7m, host SIMD) vs the portable ones and an int64 reference, under QEMU;
#      random row-streamed (ROW_STREAM) segments on the QEMU cores vs the host's layer-by-layer run, peak stack
#   3. swift test, the host input-reader fuzzer (scripts: fuzz-readers), the documentation check (check-docs.sh)
#   4. boards: firmware for every board, QEMU runs byte-identical to the host simulator
#   5. whole-model benchmark, short mode (AD autoencoder calibrated, Cortex-M4): scripts/bench-models.sh --quick
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== C core and runtime =="
./scripts/test-c.sh
echo "== fast-path kernels on the four QEMU cores and the host =="
./scripts/test-kernels-qemu.sh
echo "== row-streamed segments (random residual blocks) on the four QEMU cores vs the host's layer-by-layer run =="
./scripts/test-rows-qemu.sh
echo "== Swift =="
swift build
swift test
echo "== fuzzing the host input readers (ONNX, .npy, packed model, TFLite; ~20 s; longer: swift run fuzz-readers --seconds 600 --seed N) =="
./.build/debug/fuzz-readers --seconds "${FUZZ_SECONDS:-20}" --seed "${FUZZ_SEED:-$(date -u +%Y%m%d)}" --crash-dir build/fuzz-crashes
echo "== documented example outputs match the commands =="
./scripts/check-docs.sh
echo "== boards =="
./scripts/test-boards.sh
echo "== whole-model benchmark (short mode) =="
SIMULATE=$(swift build --show-bin-path)/simulate CALIBRATE=$(swift build --show-bin-path)/calibrate \
  ./scripts/bench-models.sh --quick
