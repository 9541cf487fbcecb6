#!/usr/bin/env bash
# Host benchmark (issue 6): throughput of the simulator (release build, one thread) vs ONNX Runtime
# running the same model quantized by its own quantize_static (QOperator, one intra-op thread),
# measured in the same run, on the bundled example (tinyconv) and the autoencoder (examples/).
#
#   ./scripts/bench-host.sh [ROUNDS]
#
# Three figures per model, all samples/s over the model's whole test set, batch 1, best of ROUNDS:
#   simulate   `swift run -c release simulate MODEL --input TEST --output ...` end to end, on the test
#              set repeated to >= 6000 samples, minus a 1-sample run (process start, model load)
#   C runtime  bench/host_bench.c: the per-sample work the simulator does (quantize, mq_model_run,
#              dequantize) without the Swift array plumbing, compiled -O2 like SwiftPM's release C
#   ORT        bench/ort_bench.py: onnxruntime quantize_static (QOperator, QUInt8/QInt8, MinMax on the
#              calibration set), 1 intra-op + 1 inter-op thread, sequential, batch 1
# Runs alternate (ours, ORT, ours, ORT) so both see the same machine load. Needs swift, a C compiler,
# python3 with numpy + onnxruntime (dev-time only).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-5}
OUT=${MQ_BUILD_DIR:-$ROOT/build/bench-host}
SCRATCH=${MQ_SWIFT_SCRATCH:-$ROOT/.build}
mkdir -p "$OUT"
python3 -c "import numpy, onnxruntime" 2>/dev/null || { echo "bench-host: python3 with numpy and onnxruntime needed" >&2; exit 2; }

echo "== swift build -c release (scratch $SCRATCH)"
swift build -c release --scratch-path "$SCRATCH" --product calibrate >/dev/null
swift build -c release --scratch-path "$SCRATCH" --product simulate >/dev/null
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)

echo "== host_bench (cc -O2)"
# shellcheck disable=SC2046
${CC:-cc} -std=c99 -O2 -I"$ROOT/csrc/include" -I"$ROOT/csrc/src" -o "$OUT/host_bench" bench/host_bench.c \
  $(find csrc/src csrc/host -name "*.c" | sort) -lm

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

echo
{ printf '| model | test samples | simulate (samples/s) | C runtime (samples/s) | ORT QOperator 1 thread (samples/s) | simulate / ORT | C runtime / ORT |\n'
  printf '|---|---|---|---|---|---|---|\n'; } | tee "$OUT/table.md"
for model in tinyconv autoencoder; do
  onnx=examples/$model.onnx calib=examples/${model}_calib.npy test=examples/${model}_test.npy
  mqm=$OUT/$model.mqm
  "$BIN/calibrate" "$onnx" --data "$calib" -o "$mqm" >"$OUT/$model.calibrate.log" 2>&1 ||
    { echo "bench-host: calibrate $model failed, see $OUT/$model.calibrate.log"; exit 1; }
  n=$(python3 -c "import numpy as np; print(len(np.load('$test')))")
  reps=$(( (6000 + n - 1) / n ))
  big=$OUT/${model}_x$reps.npy
  python3 -c "import numpy as np; x=np.load('$test'); np.save('$big', np.concatenate([x]*$reps))"
  best_sim=0 best_c=0 best_ort=0
  for r in $(seq "$ROUNDS"); do
    t_all=$(secs "$BIN/simulate" "$mqm" --input "$big" --output "$OUT/sim_out.npy")
    t_one=$(secs "$BIN/simulate" "$mqm" --input "$big" --output "$OUT/sim_out.npy" --limit 1)
    sim=$(echo "($n * $reps - 1) / ($t_all - $t_one)" | bc -l)
    c=$("$OUT/host_bench" "$mqm" "$test" 5 | sed -n 's/.* \([0-9]*\) samples\/s.*/\1/p')
    ort=$(python3 bench/ort_bench.py "$onnx" "$calib" "$test" "$OUT/ort" 3 2>/dev/null | sed -n 's/.* \([0-9]*\) samples\/s.*/\1/p')
    best_sim=$(echo "if ($sim > $best_sim) $sim else $best_sim" | bc -l)
    best_c=$(( c > best_c ? c : best_c ))
    best_ort=$(( ort > best_ort ? ort : best_ort ))
  done
  printf '| %s | %d | %.0f | %d | %d | %.2f | %.2f |\n' "$model" "$n" "$best_sim" "$best_c" "$best_ort" \
    "$(echo "$best_sim / $best_ort" | bc -l)" "$(echo "$best_c / $best_ort" | bc -l)" | tee -a "$OUT/table.md"
done
echo
echo "onnxruntime $(python3 -c 'import onnxruntime; print(onnxruntime.__version__)'), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
