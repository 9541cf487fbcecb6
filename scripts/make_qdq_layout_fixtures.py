#!/usr/bin/env python3
"""QDQ fixtures with float data movement around the quantized graph, as onnxruntime's quantize_static writes it for
models whose graph input is NHWC (its Transpose to NCHW stays in float before the first QuantizeLinear), in
Tests/MicroQuantTests/Fixtures/onnx_qdq/ (scripts/make_qdq_fixtures.py's conventions):

  input_transpose_ACT.onnx  input [N, 4, 4, 4] -> float Transpose perm (0, 3, 2, 1) (H and W swapped: dropping the
                            transpose, or applying the usual (0, 3, 1, 2), gives the same shapes and other codes)
                            -> QDQ Conv 3x3 + Relu -> QDQ Conv 1x1 -> DequantizeLinear -> float Transpose (0, 2, 3, 1)
  input_views_ACT.onnx      input [N, 16, 3] -> float Unsqueeze (1) -> Reshape (1, 4, 4, 3) -> Transpose (0, 3, 1, 2)
                            -> QDQ Conv 3x3 -> QDQ Flatten -> QDQ Gemm -> DequantizeLinear -> float Reshape (2, 5)
  ACT: u8 (QUInt8, calibrated on the inputs clipped at 0: the input's zero point is 0, so the test inputs' negative
  values exercise the input quantization's clamp) and s8 (QInt8, calibrated on the inputs as they are).
  NAME_input.npy (24 samples, values in [-0.5, 3)), NAME_float.npy, NAME_ACT_ort.npy as in make_qdq_fixtures.py.
Error fixtures (onnxruntime leaves the op in float; MicroQuant must reject it naming the node):
  err_qdq_float_input_mul_u8.onnx   input -> float Mul by 1/255 ('scale_input') -> QuantizeLinear -> QDQ Conv
  err_qdq_float_output_sigmoid_u8.onnx   QDQ Conv -> DequantizeLinear -> float Sigmoid ('out_sigmoid') -> output

The IC stand-in as scripts/bench-host-batch.py has onnxruntime quantize it (scripts/ort_standins.py; QDQ, uint8, float
input Transpose NHWC -> NCHW before the first QuantizeLinear):
  ic_standin_qdq_u8.onnx, ic_standin_qdq_u8_ort.npy (onnxruntime's outputs on bench/data/ic_calib.npy, 32 images)

Usage: /work/venv-tf/bin/python scripts/make_qdq_layout_fixtures.py   (dev-time only; deterministic)
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_standins import STANDINS, ort_quantize  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx_qdq")


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
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def init(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def model(nodes, inits, in_shape, out_shape, name):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N"] + in_shape)],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N"] + out_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def input_transpose(rng):
    w1 = rng.normal(0, 0.4, (6, 4, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 6).astype(np.float32)
    w2 = rng.normal(0, 0.4, (5, 6, 1, 1)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 5).astype(np.float32)
    nodes = [helper.make_node("Transpose", ["input"], ["x_t"], "input_transpose", perm=[0, 3, 2, 1]),
             helper.make_node("Conv", ["x_t", "w1", "b1"], ["c1"], "conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], "relu1"),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], "conv2"),
             helper.make_node("Transpose", ["c2"], ["output"], "output_transpose", perm=[0, 2, 3, 1])]
    return model(nodes, [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2)], [4, 4, 4], [4, 4, 5],
                 "input_transpose")


def input_views(rng):
    w1 = rng.normal(0, 0.4, (4, 3, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 4).astype(np.float32)
    w2 = rng.normal(0, 0.2, (64, 10)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 10).astype(np.float32)
    nodes = [helper.make_node("Unsqueeze", ["input", "ax1"], ["x_u"], "input_unsqueeze"),
             helper.make_node("Reshape", ["x_u", "shape_nhwc"], ["x_r"], "input_reshape"),
             helper.make_node("Transpose", ["x_r"], ["x_t"], "input_transpose", perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["x_t", "w1", "b1"], ["c1"], "conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Flatten", ["c1"], ["f"], "flatten"),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["g"], "dense"),
             helper.make_node("Reshape", ["g", "shape_out"], ["output"], "output_reshape")]
    inits = [init("ax1", np.array([1], np.int64)), init("shape_nhwc", np.array([-1, 4, 4, 3], np.int64)),
             init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2), init("shape_out", np.array([-1, 2, 5], np.int64))]
    return model(nodes, inits, [16, 3], [2, 5], "input_views")


def err_input_mul(rng):
    w1 = rng.normal(0, 0.4, (4, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Mul", ["input", "k"], ["x_s"], "scale_input"),
             helper.make_node("Conv", ["x_s", "w1"], ["output"], "conv1", pads=[1, 1, 1, 1])]
    return model(nodes, [init("k", np.array(1 / 255, np.float32)), init("w1", w1)], [3, 4, 4], [4, 4, 4], "err_input_mul")


def err_output_sigmoid(rng):
    w1 = rng.normal(0, 0.4, (4, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["input", "w1"], ["c1"], "conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c1"], ["output"], "out_sigmoid")]
    return model(nodes, [init("w1", w1)], [3, 4, 4], [4, 4, 4], "err_output_sigmoid")


def main():
    rng = np.random.default_rng(20261205)
    tmp = os.path.join(OUT, "_layout_float.onnx")
    for name, make, shape in [("input_transpose", input_transpose, (24, 4, 4, 4)), ("input_views", input_views, (24, 16, 3))]:
        m = make(rng)
        onnx.save(m, tmp)
        xi = rng.uniform(-0.5, 3.0, shape).astype(np.float32)
        np.save(os.path.join(OUT, f"{name}_input.npy"), xi)
        np.save(os.path.join(OUT, f"{name}_float.npy"), run(tmp, xi).astype(np.float32))
        for tag, act in [("u8", QuantType.QUInt8), ("s8", QuantType.QInt8)]:
            x = np.maximum(xi, 0) if tag == "u8" else xi
            dst = os.path.join(OUT, f"{name}_{tag}.onnx")
            quantize_static(tmp, dst, Reader("input", x), quant_format=QuantFormat.QDQ, activation_type=act,
                            weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["Conv", "Gemm", "Relu", "Flatten"])
            np.save(os.path.join(OUT, f"{name}_{tag}_ort.npy"), run(dst, xi).astype(np.float32))
            q = onnx.load(dst)
            print(f"{name}_{tag}:", [n.op_type for n in q.graph.node if n.op_type != "DequantizeLinear" or "W" not in n.name and "B" not in n.name])
    for name, make in [("err_qdq_float_input_mul_u8", err_input_mul), ("err_qdq_float_output_sigmoid_u8", err_output_sigmoid)]:
        m = make(rng)
        onnx.save(m, tmp)
        x = rng.uniform(0, 255, (8, 3, 4, 4)).astype(np.float32)
        dst = os.path.join(OUT, name + ".onnx")
        quantize_static(tmp, dst, Reader("input", x), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])
        print(name + ":", [n.op_type for n in onnx.load(dst).graph.node])
    os.unlink(tmp)
    src, calib, _ = STANDINS["ic_resnet8_style"]
    c = np.load(os.path.join(ROOT, calib)).astype(np.float32)
    dst = ort_quantize(os.path.join(ROOT, src), os.path.join(OUT, "ic_standin_qdq_u8.onnx"), c)
    np.save(os.path.join(OUT, "ic_standin_qdq_u8_ort.npy"), run(dst, c).astype(np.float32))
    print("ic_standin_qdq_u8:", sorted({n.op_type for n in onnx.load(dst).graph.node}))


if __name__ == "__main__":
    main()
