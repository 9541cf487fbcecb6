#!/usr/bin/env bash
# Batched host path (mq_model_run_batch, `simulate`'s default) vs mq_model_run per sample, every output byte,
# on the committed fixtures and on the models users deploy: the bundled examples (tinyconv, autoencoder) and
# the MLPerf Tiny AD and KWS models (../shared/models/mlperf-tiny/), each packed by `calibrate` from the float
# ONNX with default options and imported from the int8 .tflite, and four pre-quantized (QDQ) ONNX fixtures
# (SOFTMAX_TABLE, single-rounding MUL and convolutions). Runs csrc/tests/test_model_batch.c with
# MQ_BATCH_MODELS set to the packed files.
#
#   ./scripts/test-batch.sh            (MQ_BUILD_DIR, CALIBRATE = a prebuilt calibrate; MQ_MODELS_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${MQ_BUILD_DIR:-$ROOT/build/test-batch}
MODELS_DIR=${MQ_MODELS_DIR:-$ROOT/../shared/models/mlperf-tiny}
[ -d "$MODELS_DIR" ] || MODELS_DIR=$ROOT/../../shared/models/mlperf-tiny
mkdir -p "$OUT"
if [ -z "${CALIBRATE:-}" ]; then
  swift build --product calibrate >/dev/null
  CALIBRATE="$(swift build --show-bin-path)/calibrate"
fi
cmake -S csrc -B "$OUT/c" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$OUT/c" -j2 --target test_model_batch >/dev/null
models=()
pack() { # name, calibrate args...
  local name=$1; shift
  "$CALIBRATE" "$@" -o "$OUT/$name.mqm" >"$OUT/$name.log" 2>&1 || { echo "test-batch: calibrate $* failed (see $OUT/$name.log)"; exit 1; }
  models+=("$OUT/$name.mqm")
}
pack tinyconv examples/tinyconv.onnx --data examples/tinyconv_calib.npy
pack autoencoder examples/autoencoder.onnx --data examples/autoencoder_calib.npy
# pre-quantized ONNX (QDQ): SOFTMAX_TABLE, single-rounding MUL / convolutions, requantize tables
QDQ=Tests/MicroQuantTests/Fixtures/onnx_qdq
pack qdq-kws-u8 $QDQ/kws_qdq_u8.onnx --data bench/data/kws_mfcc_test.npy
pack qdq-mobilenet-s8 $QDQ/mobilenet_block_s8.onnx --data $QDQ/mobilenet_block_input.npy
pack qdq-squeeze-u8 $QDQ/squeeze_excitation_u8.onnx --data $QDQ/squeeze_excitation_input.npy
pack qdq-tf2onnx-u8 $QDQ/tf2onnx_nhwc_u8.onnx --data $QDQ/tf2onnx_nhwc_input.npy
if [ -d "$MODELS_DIR" ]; then
  pack ad01-calibrated "$MODELS_DIR/ad01_float.onnx" --data bench/data/ad01_calib.npy
  pack ad01-tflite "$MODELS_DIR/ad01_int8.tflite"
  pack kws-calibrated "$MODELS_DIR/kws_ref_model_float.onnx" --data bench/data/kws_calib.npy
  pack kws-tflite "$MODELS_DIR/kws_ref_model_int8.tflite"
else
  echo "test-batch: $MODELS_DIR absent: MLPerf Tiny models not checked"
fi
MQ_BATCH_MODELS="${models[*]}" "$OUT/c/test_model_batch"
