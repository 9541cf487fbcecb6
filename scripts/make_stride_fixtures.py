#!/usr/bin/env python3
"""Generates the stride-hoisting ONNX fixtures (issue 12) in Tests/MicroQuantTests/Fixtures/onnx_stride/.

Dev-time only (python3 + onnx + numpy + onnxruntime); the product never needs Python.
Small torch-style (NCHW, opset 17) graphs ending in, or containing, a strided 1x1 convolution. The Swift test
(StrideHoistTests) imports each one, applies `Graph.hoistingStrides()`, checks which nodes were rewritten
(pos_*: the stride moves; neg_*: nothing is rewritten) and runs the rewritten float graph against the outputs
onnxruntime computed here on the original model.

For every fixture NAME it writes
  NAME.onnx              the model
  NAME_input.npy         float32 samples [4, ...]
  NAME_output.npy        float32 outputs of onnxruntime (NAME_output_K.npy for output K > 0)

Usage: python3 scripts/make_stride_fixtures.py   (deterministic: fixed seed)
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx_stride")
RNG = np.random.default_rng(20261204)
BATCH = 4


def w(*shape):
    fan_in = int(np.prod(shape[1:]))
    return (RNG.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)


class G:
    """A small graph builder: conv / activation helpers that name nodes like torch.onnx.export."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, op):
        self.n += 1
        return f"/n{self.n}/{op}", f"/n{self.n}/{op}_output_0"

    def conv(self, x, cin, cout, k=1, stride=1, pads=(0, 0, 0, 0), group=1):
        nm, out = self.name("Conv")
        wn, bn = nm + ".weight", nm + ".bias"
        self.inits += [numpy_helper.from_array(w(cout, cin // group, k, k), wn),
                       numpy_helper.from_array((RNG.standard_normal(cout) * 0.3).astype(np.float32), bn)]
        self.nodes.append(helper.make_node("Conv", [x, wn, bn], [out], name=nm, kernel_shape=[k, k],
                                           strides=[stride, stride], pads=list(pads), dilations=[1, 1], group=group))
        return out

    def op(self, op_type, *inputs, **attrs):
        nm, out = self.name(op_type)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=nm, **attrs))
        return out

    def const(self, arr):
        nm, out = self.name("Constant")
        self.inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), out))
        return out

    def silu(self, x):
        return self.op("Mul", x, self.op("Sigmoid", x))

    def model(self, x_shape, outputs):
        g = helper.make_graph(self.nodes, "main_graph",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size"] + x_shape)],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                              initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch")
        m.ir_version = 8
        inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
        for o in m.graph.output:
            o.type.CopyFrom(known[o.name].type)
        onnx.checker.check_model(m, full_check=True)
        return m


def save(name, m, x_shape):
    os.makedirs(OUT, exist_ok=True)
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    x = RNG.standard_normal([BATCH] + x_shape).astype(np.float32)
    np.save(os.path.join(OUT, name + "_input.npy"), x)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ys = sess.run(None, {"input": x})
    for k, y in enumerate(ys):
        np.save(os.path.join(OUT, name + ("_output.npy" if k == 0 else f"_output_{k}.npy")), y.astype(np.float32))


def build():
    fx = {}
    # tinyconv's pattern, odd sizes (9 x 7: floor in the output size): conv -> SiLU -> conv 1x1 stride 2
    g = G(); x = [3, 9, 7]
    y = g.conv(g.silu(g.conv("input", 3, 8)), 8, 6, stride=2)
    fx["pos_silu_chain"] = (g, x, [y])
    # two chains in a row: the stride moves through conv2 into conv1 (two rewrites), then clip/relu on fewer pixels
    g = G(); x = [4, 8, 8]
    a = g.op("Relu", g.conv("input", 4, 8))
    b = g.op("Clip", g.conv(a, 8, 8), g.const(0.0), g.const(6.0))
    y = g.conv(b, 8, 5, stride=2)
    fx["pos_two_chains"] = (g, x, [y])
    # a DAG: add of two convs of the input, tanh, residual add of the tanh and a conv of it, per-channel Mul
    # by a constant (not foldable after the add), channel concat, then the strided conv; also a second output
    # computed from the strided conv's output (it is not part of the chain)
    g = G(); x = [3, 6, 10]
    s = g.op("Tanh", g.op("Add", g.conv("input", 3, 6), g.conv("input", 3, 6)))
    r = g.op("Add", s, g.conv(s, 6, 6))
    m = g.op("Mul", r, g.const(RNG.uniform(0.5, 1.5, (1, 6, 1, 1))))
    c = g.op("Concat", m, g.op("HardSigmoid", g.conv("input", 3, 2)), axis=1)
    y = g.conv(c, 8, 4, stride=2)
    z = g.op("GlobalAveragePool", y)
    fx["pos_dag"] = (g, x, [y, z])
    # mul by a per-channel gate computed from the input elsewhere (squeeze-excitation style): the gate stays
    g = G(); x = [4, 8, 8]
    gate = g.op("Sigmoid", g.conv(g.op("GlobalAveragePool", "input"), 4, 8))
    y = g.conv(g.op("Mul", g.op("Relu", g.conv("input", 4, 8)), gate), 8, 8, stride=2)
    fx["pos_gate"] = (g, x, [y])
    # depthwise 1x1 as the source (group = channels, kernel 1x1), HardSwish in the chain
    g = G(); x = [6, 7, 9]
    y = g.conv(g.op("HardSwish", g.conv("input", 6, 6, group=6)), 6, 4, stride=2)
    fx["pos_depthwise_source"] = (g, x, [y])

    # --- must NOT be rewritten ---
    # the activation is also read by a second branch (a second graph output)
    g = G(); x = [3, 8, 8]
    a = g.op("Relu", g.conv("input", 3, 8))
    fx["neg_second_consumer"] = (g, x, [g.conv(a, 8, 4, stride=2), g.op("GlobalAveragePool", a)])
    # the intermediate tensor is itself a graph output
    g = G(); x = [3, 8, 8]
    a = g.op("Relu", g.conv("input", 3, 8))
    fx["neg_chain_output"] = (g, x, [g.conv(a, 8, 4, stride=2), a])
    # padding on the strided 1x1 conv
    g = G(); x = [3, 8, 8]
    fx["neg_padded"] = (g, x, [g.conv(g.op("Relu", g.conv("input", 3, 8)), 8, 4, stride=2, pads=(1, 1, 1, 1))])
    # padding on the source conv
    g = G(); x = [3, 8, 8]
    fx["neg_padded_source"] = (g, x, [g.conv(g.op("Relu", g.conv("input", 3, 8, pads=(1, 1, 1, 1))), 8, 4, stride=2)])
    # the strided conv is 3x3 (reads neighbours)
    g = G(); x = [3, 8, 8]
    fx["neg_conv3x3_strided"] = (g, x, [g.conv(g.op("Relu", g.conv("input", 3, 8)), 8, 4, k=3, stride=2, pads=(1, 1, 1, 1))])
    # a 3x3 conv starts the chain
    g = G(); x = [3, 8, 8]
    fx["neg_conv3x3_source"] = (g, x, [g.conv(g.op("Relu", g.conv("input", 3, 8, k=3, pads=(1, 1, 1, 1))), 8, 4, stride=2)])
    # the chain starts at the graph input (no strided-slice op)
    g = G(); x = [3, 8, 8]
    fx["neg_graph_input"] = (g, x, [g.conv(g.op("Relu", "input"), 3, 4, stride=2)])
    # the source already has stride 2: the move would need stride 4 (the device's 1x1 conv runs 1 and 2)
    g = G(); x = [3, 16, 16]
    fx["neg_stride4"] = (g, x, [g.conv(g.op("Relu", g.conv("input", 3, 8, stride=2)), 8, 4, stride=2)])
    # a max pool (reads neighbours) in the chain
    g = G(); x = [3, 8, 8]
    p = g.op("MaxPool", g.op("Relu", g.conv("input", 3, 8)), kernel_shape=[2, 2], strides=[1, 1], pads=[0, 0, 1, 1])
    fx["neg_pool_in_chain"] = (g, x, [g.conv(p, 8, 4, stride=2)])
    for name, (g, x, outs) in fx.items():
        save(name, g.model(x, outs), x)
        print("wrote", name)
    # QDQ (onnxruntime quantize_static, per-channel int8 weights) of the tinyconv pattern and of the DAG:
    # the rewrite must keep every tensor's qparams, so the packed outputs equal the unrewritten model's
    for name in ["pos_silu_chain", "pos_two_chains"]:
        src = os.path.join(OUT, name + ".onnx")
        x = np.load(os.path.join(OUT, name + "_input.npy"))
        for tag, act in [("u8", QuantType.QUInt8), ("s8", QuantType.QInt8)]:
            dst = os.path.join(OUT, f"{name}_qdq_{tag}.onnx")
            quantize_static(src, dst, Reader(x), quant_format=QuantFormat.QDQ, activation_type=act,
                            weight_type=QuantType.QInt8, per_channel=True)
            sess = ort.InferenceSession(dst, providers=["CPUExecutionProvider"])
            y = np.concatenate([sess.run(None, {"input": x[i:i + 1]})[0] for i in range(x.shape[0])])
            np.save(os.path.join(OUT, f"{name}_qdq_{tag}_ort.npy"), y.astype(np.float32))
            print("wrote", f"{name}_qdq_{tag}")


class Reader(CalibrationDataReader):
    def __init__(self, x):
        self.items = [{"input": x[i:i + 1]} for i in range(x.shape[0])]
        self.i = 0

    def get_next(self):
        if self.i >= len(self.items):
            return None
        self.i += 1
        return self.items[self.i - 1]


if __name__ == "__main__":
    build()
