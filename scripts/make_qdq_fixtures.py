#!/usr/bin/env python3
"""Pre-quantized ONNX (QDQ) fixtures: onnxruntime.quantization.quantize_static(..., quant_format=QuantFormat.QDQ) on
float fixtures (after ORT's quant_pre_process, which folds BatchNormalization) of scripts/make_conv_fixtures.py (run that first), in Tests/MicroQuantTests/Fixtures/onnx_qdq/.

For every fixture NAME and activation type ACT (u8: QUInt8, s8: QInt8; weights QInt8 per channel):
  NAME_ACT.onnx         the QDQ model (calibrated by ORT's MinMax on NAME_input.npy)
  NAME_input.npy        float32 inputs (copied from onnx_conv)
  NAME_float.npy        float outputs of the float model (onnxruntime)
  NAME_ACT_ort.npy      float outputs of the QDQ model run by onnxruntime (CPU EP)
Error fixture: err_qdq_float_island_u8.onnx (a float Sigmoid left between two QDQ layers: not representable).

MLPerf Tiny models (../shared/models/mlperf-tiny/, after quant_pre_process), calibrated on bench/data
(scripts/make_bench_data.py, scripts/make_kws_data.py), weights QInt8:
  kws_qdq_u8.onnx / ad01_qdq_u8.onnx   uint8 activations, per-channel weights
  kws_qdq_s8.onnx / ad01_qdq_s8.onnx   int8 activations, per-tensor weights
  MODEL_qdq_ACT_ort.npy                onnxruntime's outputs of the QDQ model on the test inputs
  MODEL_qdq_float.npy                  the float model's outputs on the test inputs
  test inputs: bench/data/kws_mfcc_test.npy (300 MFCC windows), bench/data/ad01_test.npy (8 frames)

Usage: python3 scripts/make_qdq_fixtures.py   (dev-time only; deterministic)
"""
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx_conv")
OUT = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx_qdq")
NAMES = ["conv3x3_pad1", "depthwise_bn_relu6", "avgpool3x3_s2_pad", "maxpool3x3_s2_pad", "global_avgpool_head",
         "concat_channels", "mul_activations", "squeeze_excitation", "resnet_block", "mobilenet_block", "tf2onnx_nhwc"]


class Reader(CalibrationDataReader):
    def __init__(self, name, x):
        self.items = [{name: x[i:i + 1]} for i in range(x.shape[0])]
        self.i = 0

    def get_next(self):
        if self.i >= len(self.items):
            return None
        self.i += 1
        return self.items[self.i - 1]


def run(path, x):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    n = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {n: x[i:i + 1]})[0] for i in range(x.shape[0])])


MLPERF = os.path.join(os.path.dirname(ROOT), "shared", "models", "mlperf-tiny")
if not os.path.isdir(MLPERF):
    MLPERF = os.path.join(os.path.dirname(os.path.dirname(ROOT)), "shared", "models", "mlperf-tiny")
BENCH = os.path.join(ROOT, "bench", "data")
# (fixture stem, float model, calibration data, test data)
MLPERF_MODELS = [("kws_qdq", "kws_ref_model_float.onnx", "kws_mfcc_calib.npy", "kws_mfcc_test.npy"),
                 ("ad01_qdq", "ad01_float.onnx", "ad01_calib.npy", "ad01_test.npy")]


def mlperf():
    for stem, model, calib, test in MLPERF_MODELS:
        src = os.path.join(MLPERF, model)
        xc = np.load(os.path.join(BENCH, calib)).astype(np.float32)
        xt = np.load(os.path.join(BENCH, test)).astype(np.float32)
        iname = onnx.load(src).graph.input[0].name
        pre = os.path.join(OUT, stem + "_pre.onnx")
        quant_pre_process(src, pre)
        np.save(os.path.join(OUT, stem + "_float.npy"), run(src, xt).astype(np.float32))
        for tag, act, per_channel in [("u8", QuantType.QUInt8, True), ("s8", QuantType.QInt8, False)]:
            dst = os.path.join(OUT, f"{stem}_{tag}.onnx")
            quantize_static(pre, dst, Reader(iname, xc), quant_format=QuantFormat.QDQ, activation_type=act,
                            weight_type=QuantType.QInt8, per_channel=per_channel)
            np.save(os.path.join(OUT, f"{stem}_{tag}_ort.npy"), run(dst, xt).astype(np.float32))
            ops = sorted({n.op_type for n in onnx.load(dst).graph.node})
            print(f"{stem}_{tag} ({'per-channel' if per_channel else 'per-tensor'} weights): {ops}")
        os.remove(pre)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    for name in NAMES:
        src = os.path.join(SRC, name + ".onnx")
        x = np.load(os.path.join(SRC, name + "_input.npy")).astype(np.float32)
        shutil.copy(os.path.join(SRC, name + "_input.npy"), os.path.join(OUT, name + "_input.npy"))
        np.save(os.path.join(OUT, name + "_float.npy"), run(src, x).astype(np.float32))
        iname = onnx.load(src).graph.input[0].name
        pre = os.path.join(OUT, name + "_pre.onnx")   # ORT's recommended pre-processing (folds BatchNormalization)
        quant_pre_process(src, pre)
        for tag, act in [("u8", QuantType.QUInt8), ("s8", QuantType.QInt8)]:
            dst = os.path.join(OUT, f"{name}_{tag}.onnx")
            quantize_static(pre, dst, Reader(iname, x), quant_format=QuantFormat.QDQ, activation_type=act,
                            weight_type=QuantType.QInt8, per_channel=True)
            np.save(os.path.join(OUT, f"{name}_{tag}_ort.npy"), run(dst, x).astype(np.float32))
            ops = sorted({n.op_type for n in onnx.load(dst).graph.node})
            print(f"{name}_{tag}: {ops}")
        os.remove(pre)
    # error fixture: remove the QDQ pair after a Sigmoid so a float tensor sits between quantized layers
    m = onnx.load(os.path.join(OUT, "squeeze_excitation_u8.onnx"))
    g = m.graph
    sig = next(n for n in g.node if n.op_type == "Sigmoid")
    q = next(n for n in g.node if n.op_type == "QuantizeLinear" and n.input[0] == sig.output[0])
    dq = next(n for n in g.node if n.op_type == "DequantizeLinear" and n.input[0] == q.output[0])
    for n in g.node:
        for i, v in enumerate(n.input):
            if v == dq.output[0]:
                n.input[i] = sig.output[0]
    g.node.remove(q)
    g.node.remove(dq)
    onnx.save(m, os.path.join(OUT, "err_qdq_float_island_u8.onnx"))
    print("error fixture: err_qdq_float_island_u8 (node", sig.name, "left in float)")
    mlperf()


if __name__ == "__main__":
    main()
