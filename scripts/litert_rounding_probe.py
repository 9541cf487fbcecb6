#!/usr/bin/env python3
"""Which requantization does ai-edge-litert's FULLY_CONNECTED use? Layer by layer on the MLPerf Tiny AD
model (experimental_preserve_all_tensors): the int32 accumulators are recomputed from each layer's int8
input, weights and bias, then requantized with TensorFlow Lite Micro's multiplier
(double(float(s_in * s_w)) / double(s_out)) both ways, double rounding (SRDHM then RDBPOT) and single
rounding ((acc * M + 2^(30 - shift)) >> (31 - shift)); the script prints the output bytes each way gets
wrong. Result on this machine: single rounding matches every byte of every layer, double rounding does not.
The other kernels were checked through the per-op fixtures (Tests/TFLiteTests: every fixture is
byte-identical with ai-edge-litert in the mode that single-rounds FULLY_CONNECTED only).

    python3 scripts/litert_rounding_probe.py [N_INPUTS]
"""
import math
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "Tests", "TFLiteTests", "Fixtures", "mlperf", "ad01_int8.tflite")


def quantize_multiplier(m):
    if m == 0:
        return 0, 0
    q, e = math.frexp(m)
    qf = int(math.floor(q * (1 << 31) + 0.5))
    if qf == 1 << 31:
        qf //= 2
        e += 1
    return qf, e


def srdhm(a, b):
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    return v // (1 << 31) if v >= 0 else -((-v) // (1 << 31))


def rdbpot(x, e):
    mask = (1 << e) - 1
    return (x >> e) + (1 if (x & mask) > (mask >> 1) + (1 if x < 0 else 0) else 0)


def double_rounding(acc, m, s):
    return rdbpot(srdhm(acc * (1 << max(s, 0)), m), max(-s, 0))


def single_rounding(acc, m, s):
    t = 31 - s
    return (acc * m + (1 << (t - 1))) >> t


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    it = Interpreter(model_path=MODEL, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    td = {t["index"]: t for t in it.get_tensor_details()}
    rng = np.random.default_rng(7)
    wrong = {"double": 0, "single": 0}
    total = 0
    for _ in range(n):
        it.set_tensor(it.get_input_details()[0]["index"], rng.integers(-128, 128, (1, 640)).astype(np.int8))
        it.invoke()
        for op in it._get_ops_details():
            i, w, b = op["inputs"]
            o = op["outputs"][0]
            (si, zi), (sw, _), (so, zo) = td[i]["quantization"], td[w]["quantization"], td[o]["quantization"]
            acc = (it.get_tensor(i).astype(np.int64) - zi) @ it.get_tensor(w).astype(np.int64).T + it.get_tensor(b)
            m, s = quantize_multiplier(float(np.float32(np.float32(si) * np.float32(sw))) / float(np.float32(so)))
            lo = zo if op["index"] < 9 else -128     # ReLU fused into all but the last layer
            y = it.get_tensor(o)[0].astype(np.int64)
            for mode, f in (("double", double_rounding), ("single", single_rounding)):
                got = np.array([min(127, max(lo, zo + f(int(a), m, s))) for a in acc[0]])
                wrong[mode] += int((got != y).sum())
            total += y.size
    print(f"AD, {n} random inputs, {total} FULLY_CONNECTED output bytes: "
          f"double rounding wrong in {wrong['double']}, single rounding wrong in {wrong['single']}")


if __name__ == "__main__":
    main()
