#!/usr/bin/env python3
"""Why mode tflite-micro differs from the PyPI tflite-micro interpreter on 2 of AD's 192,000 output bytes.

An int64 simulation of the MLPerf Tiny AD model (10 FULLY_CONNECTED, per-tensor weights, fused RELU except the
bottleneck and the last layer, see below) on the 300 random inputs of mlperf/litert_random.npz, with TFLite's double-rounding
requantization (RELU clamp on every layer but the bottleneck and the last; clamping those too gives the same
bytes) and the per-tensor multiplier formed either from float32(s_in * s_w) / s_out (the TFLM + CMSIS-NN
build whose outputs are shared/models/mlperf-tiny/tflm_reference_outputs.npz; what MicroQuant does) or from
double(s_in) * double(s_w) / s_out. Prints the differing bytes of each against mlperf/tflm_random.npz
(scripts/make_tflm_references.py) and against MicroQuant's outputs given as an .npy of int8 codes
(`simulate MODEL.mqm --input X.npy --output Y.npy --raw`).

    /tmp/venv-tflm/bin/python scripts/tflm_fc_multiplier_probe.py OURS.npy
"""
import math
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter

HERE = os.path.dirname(os.path.abspath(__file__))
M = os.path.join(HERE, "..", "Tests", "TFLiteTests", "Fixtures", "mlperf")


def quantize_multiplier(x):
    q, e = math.frexp(x)
    m = int(round(q * 2 ** 31))
    if m == 2 ** 31:
        m //= 2
        e += 1
    return m, e


def srdhm(a, b):
    ab = a.astype(np.int64) * b
    v = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    return np.sign(v) * (np.abs(v) // (1 << 31))


def rdbpot(x, e):
    mask = (1 << e) - 1
    return (x >> e) + ((x & mask) > ((mask >> 1) + (x < 0)))


def main():
    it = Interpreter(model_path=os.path.join(M, "ad01_int8.tflite"))
    it.allocate_tensors()
    td = {t["index"]: t for t in it.get_tensor_details()}
    ops = [o for o in it._get_ops_details() if o["op_name"] == "FULLY_CONNECTED"][:10]
    X = np.load(os.path.join(M, "litert_random.npz"))["ad_inputs"].astype(np.int64)
    T = np.load(os.path.join(M, "tflm_random.npz"))["ad_outputs"]
    ours = np.load(sys.argv[1]) if len(sys.argv) > 1 else None
    for variant in ("float32 product", "double product"):
        x = X
        for k, o in enumerate(ops):
            i, w, b = o["inputs"][:3]
            si, zi = td[i]["quantization"]
            sw, _ = td[w]["quantization"]
            so, zo = td[o["outputs"][0]]["quantization"]
            si, sw, so = np.float32(si), np.float32(sw), np.float32(so)
            acc = (x - zi) @ it.get_tensor(w).astype(np.int64).T + it.get_tensor(b).astype(np.int64)
            real = float(np.float32(si * sw)) / float(so) if variant.startswith("float32") else float(si) * float(sw) / float(so)
            m, s = quantize_multiplier(real)
            y = zo + rdbpot(srdhm(acc * (1 << max(s, 0)), m), max(-s, 0))
            x = np.clip(y, zo if k not in (4, 9) else -128, 127)
        line = f"{variant}: {int((x != T).sum())} bytes differ from the pip TFLite Micro"
        if ours is not None:
            line += f", {int((x != ours).sum())} from MicroQuant"
        print(line)


if __name__ == "__main__":
    main()
