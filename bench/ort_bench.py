#!/usr/bin/env python3
"""ONNX Runtime side of scripts/bench-host.sh (dev-time comparison only; the product needs no Python).

  ort_bench.py MODEL.onnx CALIB.npy TEST.npy WORKDIR [ROUNDS]

Quantizes MODEL with onnxruntime.quantization.quantize_static (QOperator format, QUInt8 activations,
QInt8 weights, MinMax calibration on CALIB), then runs the quantized model on TEST one sample at a
time (batch 1, as the simulator does) with one intra-op and one inter-op thread, sequential execution,
and prints samples/s of the best of ROUNDS passes over the test set.
"""
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


class Reader(CalibrationDataReader):
    def __init__(self, name, data):
        self.name = name
        self.data = data
        self.i = 0

    def get_next(self):
        if self.i >= len(self.data):
            return None
        x = self.data[self.i:self.i + 1]
        self.i += 1
        return {self.name: x}


def main():
    model, calib, test, work = sys.argv[1:5]
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    os.makedirs(work, exist_ok=True)
    calib_x = np.load(calib).astype(np.float32)
    test_x = np.load(test).astype(np.float32)
    base = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    in_name = base.get_inputs()[0].name
    qpath = os.path.join(work, os.path.basename(model).replace(".onnx", ".ort-qop.onnx"))
    quantize_static(model, qpath, Reader(in_name, calib_x[:256]), quant_format=QuantFormat.QOperator,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(qpath, so, providers=["CPUExecutionProvider"])
    samples = [test_x[i:i + 1] for i in range(len(test_x))]
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for x in samples:
            sess.run(None, {in_name: x})
        best = min(best, time.perf_counter() - t0)
    print("ort_bench %s: %d samples, best of %d rounds %.6f s, %.0f samples/s (onnxruntime %s, QOperator, "
          "1 intra-op thread)" % (model, len(samples), rounds, best, len(samples) / best, ort.__version__))


if __name__ == "__main__":
    main()
