#!/usr/bin/env python3
"""Generates the robustness fixtures (issue 13) in Tests/MicroQuantTests/Fixtures/onnx/.

Dev-time only (python3 + onnx + numpy + onnxruntime); the product never needs Python. Separate from
make_fixtures.py so that script's fixtures stay byte-identical.

  dead_units          Gemm 8 -> 8 whose rows are: normal; all zero (bias 5.0, large); ~1e-25 (bias -0.238,
                      the scikit-learn case); 1e-40 float32 denormals (bias 1e-3, small); ~1e-25 (bias 0);
                      all zero (bias -3.0); 1e-40 (bias 40.0, large); all zero (no bias: 0). The output of
                      every dead channel is its bias (onnxruntime's output is the reference).
  sklearn_mlp         a scikit-learn-like MLPClassifier exported the way skl2onnx writes it
                      (MatMul + Add + Relu, MatMul + Add + Softmax), trained here with numpy (full-batch
                      Adam, L2 penalty alpha = 1e-4 as sklearn's default) on a synthetic 3-class problem;
                      hidden unit 7 is dead: its weights are ~1e-25 (what the L2 decay leaves of a unit whose
                      ReLU never fires) and its bias -0.238. Before the weight-scale floor, calibrate refused
                      it with "bias[7] = -0.238 does not fit int32".
  dfl_head_336        the YOLOv8 DFL head of make_fixtures.py with A = 84 anchors: a 336-value (4 x 84) regression
                      output (the report must not headline argmax agreement for it)
  err_nan_weight      Gemm + Relu whose weight 'fc.weight' holds a NaN at flat index 5
  err_inf_bias        Gemm whose bias 'fc.bias' holds +inf at index 2
  err_nan_bn_var      Gemm + BatchNormalization whose 'bn.running_var' holds a NaN at index 1
  err_two_inputs      two graph inputs 'a' and 'b' added (calibrate supports one input for now)
  err_int64_input     an int64 graph input (token ids)
  err_zero_dim        an input [batch, 0, 4]: a zero-sized (not dynamic) dimension

Usage: python3 scripts/make_robustness_fixtures.py   (deterministic: fixed seeds)
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx")
RNG = np.random.default_rng(1313)


def finish(g, opset=17):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch",
                          producer_version="2.5.0")
    m.ir_version = 8
    return m


def save(name, m, x, check=True):
    if check:
        onnx.checker.check_model(m, full_check=True)
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(m, path)
    if x is None:
        print(f"{name:20s} (error fixture)")
        return
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = x.astype(np.float32)
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.save(os.path.join(OUT, name + "_input.npy"), x)
    np.save(os.path.join(OUT, name + "_output.npy"), y.astype(np.float32))
    print(f"{name:20s} in {tuple(x.shape)} -> out {tuple(y.shape)}")


def io(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def dead_units():
    k, n = 8, 8
    w = np.zeros((n, k), np.float32)
    b = np.zeros(n, np.float32)
    w[0] = RNG.standard_normal(k) * 0.5; b[0] = 0.1
    w[1] = 0.0;                           b[1] = 5.0
    w[2] = RNG.standard_normal(k) * 1e-25; b[2] = -0.238
    w[3] = 1e-40;                          b[3] = 1e-3
    w[3, ::2] = -1e-40
    w[4] = RNG.standard_normal(k) * 1e-25; b[4] = 0.0
    w[5] = 0.0;                           b[5] = -3.0
    w[6] = 1e-40;                          b[6] = 40.0
    w[7] = 0.0;                           b[7] = 0.0
    assert w[3, 1] != 0 and abs(w[3, 1]) < np.finfo(np.float32).tiny  # a float32 denormal
    g = helper.make_graph(
        [helper.make_node("Gemm", ["input", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transB=1)],
        "main_graph", [io("input", ["batch_size", k])], [io("output", ["batch_size", n])],
        initializer=[numpy_helper.from_array(w, "fc.weight"), numpy_helper.from_array(b, "fc.bias")])
    save("dead_units", finish(g), RNG.standard_normal((32, k)))


def sklearn_mlp():
    d, h, c, n = 10, 16, 3, 600
    centers = RNG.standard_normal((c, d)) * 1.5
    labels = RNG.integers(0, c, n)
    x = (centers[labels] + RNG.standard_normal((n, d))).astype(np.float64)
    w1 = RNG.standard_normal((d, h)) * np.sqrt(2.0 / (d + h)); b1 = RNG.standard_normal(h) * 0.1
    w2 = RNG.standard_normal((h, c)) * np.sqrt(2.0 / (h + c)); b2 = RNG.standard_normal(c) * 0.1
    params = [w1, b1, w2, b2]
    m = [np.zeros_like(p) for p in params]; v = [np.zeros_like(p) for p in params]
    alpha, lr = 1e-4, 0.01
    onehot = np.eye(c)[labels]
    for t in range(1, 301):
        z1 = x @ w1 + b1; a1 = np.maximum(z1, 0); z2 = a1 @ w2 + b2
        p = np.exp(z2 - z2.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
        dz2 = (p - onehot) / n
        gw2 = a1.T @ dz2 + alpha * w2 / n; gb2 = dz2.sum(0)
        dz1 = (dz2 @ w2.T) * (z1 > 0)
        gw1 = x.T @ dz1 + alpha * w1 / n; gb1 = dz1.sum(0)
        for i, gr in enumerate([gw1, gb1, gw2, gb2]):
            m[i] = 0.9 * m[i] + 0.1 * gr; v[i] = 0.999 * v[i] + 0.001 * gr * gr
            params[i] -= lr * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
    acc = float((np.argmax(np.maximum(x @ w1 + b1, 0) @ w2 + b2, 1) == labels).mean())
    # the dead unit: sklearn's L2 penalty leaves ~1e-25 of the weights of a unit that never fires
    w1[:, 7] = RNG.standard_normal(d) * 1e-25
    b1[7] = -0.238
    w2[7, :] = RNG.standard_normal(c) * 1e-25
    f = np.float32
    inits = [numpy_helper.from_array(w1.astype(f), "coefficient"), numpy_helper.from_array(b1.astype(f), "intercepts"),
             numpy_helper.from_array(w2.astype(f), "coefficient1"), numpy_helper.from_array(b2.astype(f), "intercepts1")]
    nodes = [
        helper.make_node("MatMul", ["input", "coefficient"], ["mul_result"], name="MatMul"),
        helper.make_node("Add", ["mul_result", "intercepts"], ["add_result"], name="Add"),
        helper.make_node("Relu", ["add_result"], ["next_activations"], name="Relu"),
        helper.make_node("MatMul", ["next_activations", "coefficient1"], ["mul_result1"], name="MatMul1"),
        helper.make_node("Add", ["mul_result1", "intercepts1"], ["add_result1"], name="Add1"),
        helper.make_node("Softmax", ["add_result1"], ["probabilities"], name="Softmax", axis=1),
    ]
    g = helper.make_graph(nodes, "mlp_classifier", [io("input", ["batch_size", d])], [io("probabilities", ["batch_size", c])],
                          initializer=inits)
    save("sklearn_mlp", finish(g), x[:64])
    print(f"  (float train accuracy {acc:.3f})")


def gemm_relu(name, w, b, extra_nodes=(), extra_inits=(), out="output"):
    n, k = w.shape
    nodes = [helper.make_node("Gemm", ["input", "fc.weight", "fc.bias"], ["/fc/Gemm_output_0"], name="/fc/Gemm", transB=1)]
    nodes += list(extra_nodes)
    g = helper.make_graph(nodes, "main_graph", [io("input", ["batch_size", k])], [io(out, ["batch_size", n])],
                          initializer=[numpy_helper.from_array(w, "fc.weight"), numpy_helper.from_array(b, "fc.bias")] + list(extra_inits))
    save(name, finish(g), None)


def error_fixtures():
    w = (RNG.standard_normal((4, 6)) * 0.3).astype(np.float32)
    b = (RNG.standard_normal(4) * 0.1).astype(np.float32)
    wn = w.copy(); wn.flat[5] = np.nan
    gemm_relu("err_nan_weight", wn, b, [helper.make_node("Relu", ["/fc/Gemm_output_0"], ["output"], name="/relu/Relu")])
    bi = b.copy(); bi[2] = np.inf
    gemm_relu("err_inf_bias", w, bi, [helper.make_node("Identity", ["/fc/Gemm_output_0"], ["output"], name="/id")])
    var = np.abs(RNG.standard_normal(4)).astype(np.float32) + 0.5; var[1] = np.nan
    bn = [numpy_helper.from_array(np.ones(4, np.float32), "bn.weight"), numpy_helper.from_array(np.zeros(4, np.float32), "bn.bias"),
          numpy_helper.from_array(np.zeros(4, np.float32), "bn.running_mean"), numpy_helper.from_array(var, "bn.running_var")]
    gemm_relu("err_nan_bn_var", w, b, [helper.make_node("BatchNormalization", ["/fc/Gemm_output_0", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                                                        ["output"], name="/bn/BatchNormalization")], bn)
    g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["output"], name="/add/Add")], "main_graph",
                          [io("a", ["batch_size", 4]), io("b", ["batch_size", 4])], [io("output", ["batch_size", 4])])
    save("err_two_inputs", finish(g), None)
    g = helper.make_graph([helper.make_node("Cast", ["ids"], ["output"], name="/cast/Cast", to=TensorProto.FLOAT)], "main_graph",
                          [io("ids", ["batch_size", 4], TensorProto.INT64)], [io("output", ["batch_size", 4])])
    save("err_int64_input", finish(g), None)
    g = helper.make_graph([helper.make_node("Relu", ["input"], ["output"], name="/relu/Relu")], "main_graph",
                          [io("input", ["batch_size", 0, 4])], [io("output", ["batch_size", 0, 4])])
    save("err_zero_dim", finish(g), None)


def dfl_head_336():
    a = 84
    nodes = [
        helper.make_node("Constant", [], ["/dfl/Constant_output_0"], name="/dfl/Constant",
                         value=numpy_helper.from_array(np.array([1, 4, 16, a], np.int64))),
        helper.make_node("Reshape", ["input", "/dfl/Constant_output_0"], ["/dfl/Reshape_output_0"], name="/dfl/Reshape"),
        helper.make_node("Transpose", ["/dfl/Reshape_output_0"], ["/dfl/Transpose_output_0"], name="/dfl/Transpose", perm=[0, 2, 1, 3]),
        helper.make_node("Softmax", ["/dfl/Transpose_output_0"], ["/dfl/Softmax_output_0"], name="/dfl/Softmax", axis=1),
        helper.make_node("Conv", ["/dfl/Softmax_output_0", "model.22.dfl.conv.weight"], ["/dfl/conv/Conv_output_0"],
                         name="/dfl/conv/Conv", kernel_shape=[1, 1]),
        helper.make_node("Constant", [], ["/dfl/Constant_1_output_0"], name="/dfl/Constant_1",
                         value=numpy_helper.from_array(np.array([1, 4, a], np.int64))),
        helper.make_node("Reshape", ["/dfl/conv/Conv_output_0", "/dfl/Constant_1_output_0"], ["output"], name="/dfl/Reshape_1"),
    ]
    w = np.arange(16, dtype=np.float32).reshape(1, 16, 1, 1)
    g = helper.make_graph(nodes, "main_graph", [io("input", [1, 64, a])], [io("output", [1, 4, a])],
                          initializer=[numpy_helper.from_array(w, "model.22.dfl.conv.weight")])
    m = finish(g)
    onnx.checker.check_model(m, full_check=True)
    path = os.path.join(OUT, "dfl_head_336.onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = (RNG.standard_normal((8, 64, a)) * 3).astype(np.float32)
    y = np.concatenate([sess.run(None, {"input": x[i:i + 1]})[0] for i in range(x.shape[0])], axis=0)
    np.save(os.path.join(OUT, "dfl_head_336_input.npy"), x)
    np.save(os.path.join(OUT, "dfl_head_336_output.npy"), y.astype(np.float32))
    print(f"{'dfl_head_336':20s} in {tuple(x.shape)} -> out {tuple(y.shape)}")


if __name__ == "__main__":
    dead_units()
    sklearn_mlp()
    error_fixtures()
    dfl_head_336()
