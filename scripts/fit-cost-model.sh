#!/usr/bin/env bash
# Refit boards/cost-model.json (instructions per layer, M3/M4/M7/M55) and the M3/M4 CPI per layer kind of
# boards/cycle-model.json to EXACT counts, in one command (issue 11; docs/PERFORMANCE.md "Cost model").
#
#   ./scripts/fit-cost-model.sh [--cmcount DIR] [--cores "m3 m4 m7 m55"] [--no-write] [--no-standins]
#
# 1. packs the fit models with `calibrate`'s DEFAULT options (tinyconv: --no-stream, ic: --no-row-stream, below): the MLPerf Tiny AD and KWS float ONNX
#    (../shared/models/mlperf-tiny, MQ_MODELS_DIR overrides; calibration data bench/data/), the bundled
#    example examples/tinyconv.onnx and the MLPerf Tiny IC / VWW same-architecture stand-ins of bench/models
#    (ResNet-8 and MobileNetV1 0.25, random weights; --no-standins leaves them out). The five models give the
#    KxK convolution's im2col terms the shapes they need (k = 27..576, 8..64 channels; 2026-12-04: every model
#    within 0.95-1.04x its exact count on every core; docs/PERFORMANCE.md "Cost model per core");
# 2. builds each model's board firmware for every core with 2 test samples and runs it under QEMU
#    (`simulate --qemu`: device outputs checked byte-identical to the host), so each firmware has two
#    mq_model_run calls;
# 3. runs scripts/fit-cost-model.py on them (the cmcount TCG plugin, one QEMU run per kernel entry point
#    the model uses) and writes boards/cost-model.json and boards/cycle-model.json (unless --no-write); the
#    M3/M4 CPI per kind of cycle-model.json stays fitted to AD, KWS and the example (fit-cost-model.py
#    --cpi-models). The counts go to build/fit-cost-model/fit.json: `scripts/fit-cost-model.py --from-json
#    build/fit-cost-model/fit.json [--write boards/cost-model.json]` refits from them without QEMU.
# The full fit report (per layer measured / old / new estimate, CPI per kind and model) goes to stdout and
# to build/fit-cost-model/fit.txt. DIR (default ../shared/tools/cmcount) is the dev-time cmcount tool: it is
# copied into the build directory and its plugin built there. Environment: SIMULATE / CALIBRATE = prebuilt
# binaries (default: swift build), MQ_BUILD_DIR (default build/fit-cost-model).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${MQ_BUILD_DIR:-$ROOT/build/fit-cost-model}
MODELS_DIR=${MQ_MODELS_DIR:-$ROOT/../shared/models/mlperf-tiny}
[ -d "$MODELS_DIR" ] || MODELS_DIR=$ROOT/../../shared/models/mlperf-tiny
CMCOUNT=${MQ_CMCOUNT:-$ROOT/../shared/tools/cmcount}
[ -d "$CMCOUNT" ] || CMCOUNT=$ROOT/../../shared/tools/cmcount
cores="m3 m4 m7 m55"
write=1
standins=1
while [ $# -gt 0 ]; do
  case "$1" in
    --cmcount) CMCOUNT=$2; shift ;;
    --cores) cores=$2; shift ;;
    --no-write) write=0 ;;
    --standins) standins=1 ;;  # the default (kept for old command lines)
    --no-standins) standins=0 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fit-cost-model: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for c in $cores; do
  case "$c" in m3|m4|m7|m55) ;; *) echo "fit-cost-model: unknown core '$c' (m3 m4 m7 m55)" >&2; exit 2 ;; esac
done
[ -f "$CMCOUNT/cmcount.py" ] || { echo "fit-cost-model: no cmcount.py in $CMCOUNT (--cmcount DIR)" >&2; exit 2; }
for f in ad01_float.onnx kws_ref_model_float.onnx; do
  [ -f "$MODELS_DIR/$f" ] || { echo "fit-cost-model: $MODELS_DIR/$f not found (MQ_MODELS_DIR)" >&2; exit 2; }
done
if [ -z "${SIMULATE:-}" ] || [ -z "${CALIBRATE:-}" ]; then
  swift build --product simulate >/dev/null
  swift build --product calibrate >/dev/null
  SIMULATE=$(swift build --show-bin-path)/simulate
  CALIBRATE=$(swift build --show-bin-path)/calibrate
fi
mkdir -p "$OUT"
tool=$OUT/cmcount
if [ ! -f "$tool/plugin/libcmcount.so" ]; then
  rm -rf "$tool"; cp -r "$CMCOUNT" "$tool"; chmod -R u+w "$tool"
  make -s -C "$tool/plugin" >/dev/null
fi
board_of() { case $1 in m3) echo mps2-an385 ;; m4) echo mps2-an386 ;; m7) echo mps2-an500 ;; m55) echo mps3-an547 ;; esac; }

# name|float ONNX|calibration data|test inputs|extra calibrate options
# tinyconv is packed layer by layer (--no-stream): the fit needs each 1x1 conv as one kernel call per layer; the
# default pixel-streamed plan runs the same kernels per pixel, and its estimate uses the same coefficients x pixels.
# The IC stand-in likewise layer by layer (--no-row-stream): its default plan runs the residual blocks row by row
# (ROW_STREAM), the same kernels once per output row; its estimate charges the layers' terms plus a call per row.
models=("ad|$MODELS_DIR/ad01_float.onnx|$ROOT/bench/data/ad01_calib.npy|$ROOT/bench/data/ad01_test.npy|"
        "kws|$MODELS_DIR/kws_ref_model_float.onnx|$ROOT/bench/data/kws_calib.npy|$ROOT/bench/data/kws_test.npy|"
        "tinyconv|$ROOT/examples/tinyconv.onnx|$ROOT/examples/tinyconv_calib.npy|$ROOT/examples/tinyconv_test.npy|--no-stream")
[ $standins = 1 ] && models+=(
        "ic|$ROOT/bench/models/ic_resnet8_style_float.onnx|$ROOT/bench/data/ic_calib.npy|$ROOT/bench/data/ic_test.npy|--no-row-stream"
        "vww|$ROOT/bench/models/vww_mobilenetv1_style_float.onnx|$ROOT/bench/data/vww_calib.npy|$ROOT/bench/data/vww_test.npy|")
specs=()
for m in "${models[@]}"; do
  IFS='|' read -r name onnx calib test extra <<<"$m"
  echo "fit-cost-model: calibrate $(basename "$onnx") (defaults${extra:+ $extra})"
  # shellcheck disable=SC2086 # extra: zero or more options
  "$CALIBRATE" "$onnx" --data "$calib" $extra -o "$OUT/$name.mqm" >"$OUT/$name.calibrate.log" 2>&1 \
    || { echo "fit-cost-model: calibrate $onnx failed (see $OUT/$name.calibrate.log)" >&2; exit 1; }
  for c in $cores; do
    b=$(board_of "$c")
    echo "fit-cost-model: $name firmware on $c ($b), 2 samples"
    "$SIMULATE" "$OUT/$name.mqm" --input "$test" --limit 2 --board "$b" --qemu --work-dir "$OUT/fw-$name" \
      --output "$OUT/$name-$c.npy" --raw >"$OUT/$name-$c.log" 2>&1 \
      || { echo "fit-cost-model: $name on $c failed:" >&2; tail -5 "$OUT/$name-$c.log" >&2; exit 1; }
    grep -q "byte-identical" "$OUT/$name-$c.log" \
      || { echo "fit-cost-model: $name on $c: device outputs not byte-identical to the host ($OUT/$name-$c.log)" >&2; exit 1; }
  done
  specs+=("$name:$OUT/$name.mqm:$OUT/fw-$name")
done
wargs=()
[ $write = 1 ] && wargs=(--write "$ROOT/boards/cost-model.json" --write-cycles "$ROOT/boards/cycle-model.json")
python3 "$ROOT/scripts/fit-cost-model.py" --cmcount "$tool" --simulate "$SIMULATE" --cores "$cores" \
  --json-out "$OUT/fit.json" "${wargs[@]}" "${specs[@]}" | tee "$OUT/fit.txt"
