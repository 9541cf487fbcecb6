#!/usr/bin/env python3
"""Generates the ONNX importer/executor test fixtures in Tests/MicroQuantTests/Fixtures/onnx/.

Dev-time only (python3 + onnx + numpy + onnxruntime); the product never needs Python.
Graphs are built with onnx.helper the way torch.onnx.export writes them (opset 17 unless a
fixture tests another opset, ir_version 8, producer "pytorch", node names like "/fc1/Gemm",
values like "/fc1/Gemm_output_0", weights as initializers named "fc1.weight", input "input"
with a dynamic "batch_size" dimension where torch would have one).

For every fixture NAME it writes
  NAME.onnx          the model
  NAME_input.npy     float32 samples, first axis = samples (B samples stacked)
  NAME_output.npy    float32 outputs computed by onnxruntime (the independent reference)
Error fixtures (err_*.onnx) have no .npy files; err_external_data.onnx comes with its data file.

Usage: python3 scripts/make_fixtures.py   (deterministic: fixed seeds)
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx")
RNG = np.random.default_rng(20261123)
BATCH = 4


def init(name, arr, raw=True):
    """Initializer as torch writes it (raw_data) or with typed fields (float_data/int64_data)."""
    arr = np.asarray(arr)
    if raw:
        return numpy_helper.from_array(arr, name)
    dt = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}[arr.dtype]
    return helper.make_tensor(name, dt, arr.shape, arr.flatten().tolist(), raw=False)


def w(*shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
    return (RNG.standard_normal(shape) * s).astype(np.float32)


def model(nodes, inits, in_shape, out_name, out_shape, opset=17, in_name="input", name="main_graph"):
    inp = helper.make_tensor_value_info(in_name, TensorProto.FLOAT, in_shape)
    out = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)
    g = helper.make_graph(nodes, name, [inp], [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch",
                          producer_version="2.5.0")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def save(name, m, x, per_sample=False):
    """Writes NAME.onnx, NAME_input.npy and the onnxruntime outputs NAME_output.npy.
    per_sample: the model has a static batch of 1; run each sample separately."""
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    iname = sess.get_inputs()[0].name
    x = x.astype(np.float32)
    if per_sample:
        y = np.concatenate([sess.run(None, {iname: x[i:i + 1]})[0] for i in range(x.shape[0])], axis=0)
    else:
        y = sess.run(None, {iname: x})[0]
    np.save(os.path.join(OUT, name + "_input.npy"), x)
    np.save(os.path.join(OUT, name + "_output.npy"), y.astype(np.float32))
    print(f"{name:28s} in {tuple(x.shape)} -> out {tuple(y.shape)}")


B = "batch_size"


def unary_fixture(name, op, attrs=None, opset=17, scale=4.0):
    """input [batch, 6, 5] -> op -> output (standalone activation)."""
    n = helper.make_node(op, ["input"], ["output"], name=f"/act/{op}", **(attrs or {}))
    m = model([n], [], [B, 6, 5], "output", [B, 6, 5], opset=opset)
    save(name, m, RNG.standard_normal((BATCH, 6, 5)) * scale)


def gemm_layer(prefix, x, k, n, trans_b=1, raw=True, bias=True, alpha=None, beta=None):
    wt = w(n, k) if trans_b else w(k, n)
    inits = [init(f"{prefix}.weight", wt, raw)]
    ins = [x, f"{prefix}.weight"]
    if bias:
        inits.append(init(f"{prefix}.bias", w(n, scale=0.1), raw))
        ins.append(f"{prefix}.bias")
    attrs = {"transB": trans_b}
    if alpha is not None:
        attrs["alpha"] = alpha
    if beta is not None:
        attrs["beta"] = beta
    out = f"/{prefix}/Gemm_output_0"
    return helper.make_node("Gemm", ins, [out], name=f"/{prefix}/Gemm", **attrs), inits, out


def conv_layer(prefix, x, cin, cout, k=1, strides=None, pads=None, bias=True, raw=True):
    inits = [init(f"{prefix}.weight", w(cout, cin, k, k), raw)]
    ins = [x, f"{prefix}.weight"]
    if bias:
        inits.append(init(f"{prefix}.bias", w(cout, scale=0.1), raw))
        ins.append(f"{prefix}.bias")
    attrs = {"dilations": [1, 1], "group": 1, "kernel_shape": [k, k], "pads": pads or [0, 0, 0, 0],
             "strides": strides or [1, 1]}
    out = f"/{prefix}/Conv_output_0"
    return helper.make_node("Conv", ins, [out], name=f"/{prefix}/Conv", **attrs), inits, out


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    # --- Gemm variants ---------------------------------------------------------------------
    n, inits, y = gemm_layer("fc", "input", 10, 7)  # nn.Linear: transB=1, raw_data
    m = model([n], inits, [B, 10], y, [B, 7])
    save("gemm_transb_raw", m, RNG.standard_normal((BATCH, 10)))

    n, inits, y = gemm_layer("fc", "input", 10, 7, trans_b=0, raw=False, alpha=0.5, beta=2.0)  # float_data
    m = model([n], inits, [B, 10], y, [B, 7])
    save("gemm_notransb_alpha_beta_floatdata", m, RNG.standard_normal((BATCH, 10)))

    n, inits, y = gemm_layer("fc", "input", 9, 5, bias=False)
    m = model([n], inits, [B, 9], y, [B, 5])
    save("gemm_nobias", m, RNG.standard_normal((BATCH, 9)))

    # Gemm with a scalar C (broadcast bias) and int64 shape constants stored in int64_data.
    wt = w(6, 8)
    nodes = [helper.make_node("Gemm", ["input", "fc.weight", "c"], ["out"], name="/fc/Gemm", transB=1, beta=0.5)]
    m = model(nodes, [init("fc.weight", wt), init("c", np.array(1.5, np.float32))], [B, 8], "out", [B, 6])
    save("gemm_scalar_bias", m, RNG.standard_normal((BATCH, 8)))

    # --- MatMul + Add bias (rank 2 and rank 3 inputs) ------------------------------------------
    for rank3 in (False, True):
        in_shape = [B, 5, 12] if rank3 else [B, 12]
        out_shape = [B, 5, 6] if rank3 else [B, 6]
        nodes = [
            helper.make_node("MatMul", ["input", "onnx::MatMul_10"], ["/fc/MatMul_output_0"], name="/fc/MatMul"),
            helper.make_node("Add", ["fc.bias", "/fc/MatMul_output_0"], ["output"], name="/fc/Add"),
        ]
        m = model(nodes, [init("onnx::MatMul_10", w(12, 6)), init("fc.bias", w(6, scale=0.2))], in_shape, "output",
                  out_shape)
        save("matmul_add_rank3" if rank3 else "matmul_add", m, RNG.standard_normal([BATCH] + in_shape[1:]))

    # --- 1x1 convolutions ----------------------------------------------------------------------
    n, inits, y = conv_layer("conv", "input", 3, 8)
    m = model([n], inits, [B, 3, 6, 5], y, [B, 8, 6, 5])
    save("conv1x1", m, RNG.standard_normal((BATCH, 3, 6, 5)))

    n, inits, y = conv_layer("conv", "input", 4, 6, strides=[2, 2], pads=[1, 0, 0, 1], bias=False, raw=False)
    m = model([n], inits, [B, 4, 7, 6], y, [B, 6, 4, 4])
    save("conv1x1_stride2_pad", m, RNG.standard_normal((BATCH, 4, 7, 6)))

    # Conv + BatchNormalization (+ Relu): folding
    n, inits, y = conv_layer("conv", "input", 3, 5, bias=False)
    bn = [init("bn.weight", (1 + 0.3 * RNG.standard_normal(5)).astype(np.float32)),
          init("bn.bias", w(5, scale=0.5)), init("bn.running_mean", w(5, scale=0.5)),
          init("bn.running_var", (0.5 + RNG.random(5)).astype(np.float32))]
    nodes = [n,
             helper.make_node("BatchNormalization", [y, "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                              ["/bn/BatchNormalization_output_0"], name="/bn/BatchNormalization", epsilon=1e-5,
                              momentum=0.9),
             helper.make_node("Relu", ["/bn/BatchNormalization_output_0"], ["output"], name="/relu/Relu")]
    m = model(nodes, inits + bn, [B, 3, 4, 4], "output", [B, 5, 4, 4])
    save("conv_bn_relu", m, RNG.standard_normal((BATCH, 3, 4, 4)))

    # Gemm + BatchNormalization (BatchNorm1d)
    n, inits, y = gemm_layer("fc", "input", 6, 4)
    bn = [init("bn.weight", (1 + 0.3 * RNG.standard_normal(4)).astype(np.float32)),
          init("bn.bias", w(4, scale=0.5)), init("bn.running_mean", w(4, scale=0.5)),
          init("bn.running_var", (0.5 + RNG.random(4)).astype(np.float32))]
    nodes = [n, helper.make_node("BatchNormalization", [y, "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                                 ["output"], name="/bn/BatchNormalization", epsilon=1e-3)]
    m = model(nodes, inits + bn, [B, 6], "output", [B, 4])
    save("gemm_bn", m, RNG.standard_normal((BATCH, 6)))

    # --- activations --------------------------------------------------------------------------
    unary_fixture("relu", "Relu")
    unary_fixture("sigmoid", "Sigmoid")
    unary_fixture("tanh", "Tanh")
    unary_fixture("hardsigmoid_torch", "HardSigmoid", {"alpha": 1.0 / 6.0, "beta": 0.5})
    unary_fixture("hardsigmoid_default", "HardSigmoid")
    unary_fixture("hardswish", "HardSwish")
    unary_fixture("gelu_op", "Gelu", opset=20)

    # Clip forms: opset 13 inputs (ReLU6), min only, opset 6 attributes
    zero = helper.make_node("Constant", [], ["/act/Constant_output_0"], name="/act/Constant",
                            value=numpy_helper.from_array(np.array(0.0, np.float32)))
    six = helper.make_node("Constant", [], ["/act/Constant_1_output_0"], name="/act/Constant_1",
                           value=numpy_helper.from_array(np.array(6.0, np.float32)))
    clip = helper.make_node("Clip", ["input", "/act/Constant_output_0", "/act/Constant_1_output_0"], ["output"],
                            name="/act/Clip")
    m = model([zero, six, clip], [], [B, 6, 5], "output", [B, 6, 5])
    save("clip_relu6_inputs", m, RNG.standard_normal((BATCH, 6, 5)) * 5)
    clip = helper.make_node("Clip", ["input", "min"], ["output"], name="/act/Clip")
    m = model([clip], [init("min", np.array(-0.5, np.float32))], [B, 6, 5], "output", [B, 6, 5])
    save("clip_min_only", m, RNG.standard_normal((BATCH, 6, 5)) * 2)
    clip = helper.make_node("Clip", ["input"], ["output"], name="/act/Clip", min=-1.0, max=1.5)
    m = model([clip], [], [B, 6, 5], "output", [B, 6, 5], opset=6)
    save("clip_attrs_opset6", m, RNG.standard_normal((BATCH, 6, 5)) * 2)

    # SiLU as torch exports nn.SiLU: Sigmoid + Mul, after a 1x1 conv
    n, inits, y = conv_layer("conv", "input", 3, 4)
    nodes = [n, helper.make_node("Sigmoid", [y], ["/act/Sigmoid_output_0"], name="/act/Sigmoid"),
             helper.make_node("Mul", [y, "/act/Sigmoid_output_0"], ["output"], name="/act/Mul")]
    m = model(nodes, inits, [B, 3, 5, 5], "output", [B, 4, 5, 5])
    save("silu_pattern", m, RNG.standard_normal((BATCH, 3, 5, 5)) * 2)

    # GELU as torch (opset < 20) exports nn.GELU(): Div(sqrt2), Erf, Add(1), Mul(x), Mul(0.5)
    n, inits, y = gemm_layer("fc", "input", 8, 8)
    c = lambda nm, v: helper.make_node("Constant", [], [nm], name=nm.replace("_output_0", ""),
                                       value=numpy_helper.from_array(np.array(v, np.float32)))
    nodes = [n, c("/act/Constant_output_0", 1.4142135381698608),
             helper.make_node("Div", [y, "/act/Constant_output_0"], ["/act/Div_output_0"], name="/act/Div"),
             helper.make_node("Erf", ["/act/Div_output_0"], ["/act/Erf_output_0"], name="/act/Erf"),
             c("/act/Constant_1_output_0", 1.0),
             helper.make_node("Add", ["/act/Erf_output_0", "/act/Constant_1_output_0"], ["/act/Add_output_0"],
                              name="/act/Add"),
             helper.make_node("Mul", [y, "/act/Add_output_0"], ["/act/Mul_output_0"], name="/act/Mul"),
             c("/act/Constant_2_output_0", 0.5),
             helper.make_node("Mul", ["/act/Mul_output_0", "/act/Constant_2_output_0"], ["output"], name="/act/Mul_1")]
    m = model(nodes, inits, [B, 8], "output", [B, 8])
    save("gelu_erf_pattern", m, RNG.standard_normal((BATCH, 8)) * 2)

    # GELU with the other association: (x * 0.5) * (1 + erf(x * (1/sqrt2)))
    nodes = [c("/act/Constant_output_0", 0.7071067690849304),
             helper.make_node("Mul", ["input", "/act/Constant_output_0"], ["/act/Mul_output_0"], name="/act/Mul"),
             helper.make_node("Erf", ["/act/Mul_output_0"], ["/act/Erf_output_0"], name="/act/Erf"),
             c("/act/Constant_1_output_0", 1.0),
             helper.make_node("Add", ["/act/Constant_1_output_0", "/act/Erf_output_0"], ["/act/Add_output_0"],
                              name="/act/Add"),
             c("/act/Constant_2_output_0", 0.5),
             helper.make_node("Mul", ["input", "/act/Constant_2_output_0"], ["/act/Mul_1_output_0"], name="/act/Mul_1"),
             helper.make_node("Mul", ["/act/Mul_1_output_0", "/act/Add_output_0"], ["output"], name="/act/Mul_2")]
    m = model(nodes, [], [B, 6, 5], "output", [B, 6, 5])
    save("gelu_erf_pattern_alt", m, RNG.standard_normal((BATCH, 6, 5)) * 3)

    # --- residual Add, Flatten, Reshape, Transpose, Softmax, Identity ---------------------------
    n1, i1, y1 = conv_layer("conv1", "input", 4, 6)
    n2, i2, y2 = conv_layer("conv2", "/relu/Relu_output_0", 6, 4)
    nodes = [n1, helper.make_node("Relu", [y1], ["/relu/Relu_output_0"], name="/relu/Relu"), n2,
             helper.make_node("Add", [y2, "input"], ["output"], name="/Add")]
    m = model(nodes, i1 + i2, [B, 4, 3, 5], "output", [B, 4, 3, 5])
    save("add_residual", m, RNG.standard_normal((BATCH, 4, 3, 5)))

    # CNN head: conv -> relu -> Flatten -> Gemm (layout must follow NCHW flatten order)
    n1, i1, y1 = conv_layer("conv", "input", 3, 4, strides=[2, 2])
    n2, i2, y2 = gemm_layer("fc", "/Flatten_output_0", 4 * 3 * 2, 5)
    nodes = [n1, helper.make_node("Relu", [y1], ["/relu/Relu_output_0"], name="/relu/Relu"),
             helper.make_node("Flatten", ["/relu/Relu_output_0"], ["/Flatten_output_0"], name="/Flatten", axis=1), n2]
    m = model(nodes, i1 + i2, [B, 3, 6, 4], y2, [B, 5])
    save("flatten_cnn_head", m, RNG.standard_normal((BATCH, 3, 6, 4)))

    # Reshape with 0 and -1 (shape from a Constant node, int64), then Softmax over the last axis,
    # an Identity and a Transpose.
    n, inits, y = gemm_layer("fc", "input", 6, 12)
    nodes = [n, helper.make_node("Constant", [], ["/Constant_output_0"], name="/Constant",
                                 value=numpy_helper.from_array(np.array([0, 3, -1], np.int64))),
             helper.make_node("Reshape", [y, "/Constant_output_0"], ["/Reshape_output_0"], name="/Reshape"),
             helper.make_node("Identity", ["/Reshape_output_0"], ["/Identity_output_0"], name="/Identity"),
             helper.make_node("Softmax", ["/Identity_output_0"], ["/Softmax_output_0"], name="/Softmax", axis=-1),
             helper.make_node("Transpose", ["/Softmax_output_0"], ["output"], name="/Transpose", perm=[0, 2, 1])]
    m = model(nodes, inits, [B, 6], "output", [B, 4, 3])
    save("reshape_softmax_transpose", m, RNG.standard_normal((BATCH, 6)) * 2)

    # Softmax over the channel axis of an NCHW conv output, opset 13
    n, inits, y = conv_layer("conv", "input", 3, 5)
    nodes = [n, helper.make_node("Softmax", [y], ["output"], name="/Softmax", axis=1)]
    m = model(nodes, inits, [B, 3, 4, 3], "output", [B, 5, 4, 3], opset=13)
    save("softmax_conv_channels", m, RNG.standard_normal((BATCH, 3, 4, 3)) * 2)

    # Transpose of an NCHW conv output followed by Sigmoid and a user Transpose back out
    n, inits, y = conv_layer("conv", "input", 3, 4)
    nodes = [n, helper.make_node("Transpose", [y], ["/Transpose_output_0"], name="/Transpose", perm=[0, 3, 2, 1]),
             helper.make_node("Sigmoid", ["/Transpose_output_0"], ["output"], name="/Sigmoid")]
    m = model(nodes, inits, [B, 3, 2, 5], "output", [B, 5, 2, 4])
    save("conv_transpose_sigmoid", m, RNG.standard_normal((BATCH, 3, 2, 5)))

    # YOLOv8 DFL head: Reshape(1,4,16,A) -> Transpose(0,2,1,3) -> Softmax(1) -> Conv 16->1 (0..15) -> Reshape(1,4,A)
    A = 10
    nodes = [
        helper.make_node("Constant", [], ["/dfl/Constant_output_0"], name="/dfl/Constant",
                         value=numpy_helper.from_array(np.array([1, 4, 16, A], np.int64))),
        helper.make_node("Reshape", ["input", "/dfl/Constant_output_0"], ["/dfl/Reshape_output_0"], name="/dfl/Reshape"),
        helper.make_node("Transpose", ["/dfl/Reshape_output_0"], ["/dfl/Transpose_output_0"], name="/dfl/Transpose",
                         perm=[0, 2, 1, 3]),
        helper.make_node("Softmax", ["/dfl/Transpose_output_0"], ["/dfl/Softmax_output_0"], name="/dfl/Softmax", axis=1),
        helper.make_node("Conv", ["/dfl/Softmax_output_0", "model.22.dfl.conv.weight"], ["/dfl/conv/Conv_output_0"],
                         name="/dfl/conv/Conv", dilations=[1, 1], group=1, kernel_shape=[1, 1], pads=[0, 0, 0, 0],
                         strides=[1, 1]),
        helper.make_node("Constant", [], ["/dfl/Constant_1_output_0"], name="/dfl/Constant_1",
                         value=numpy_helper.from_array(np.array([1, 4, A], np.int64))),
        helper.make_node("Reshape", ["/dfl/conv/Conv_output_0", "/dfl/Constant_1_output_0"], ["output"],
                         name="/dfl/Reshape_1"),
    ]
    dfl_w = np.arange(16, dtype=np.float32).reshape(1, 16, 1, 1)
    m = model(nodes, [init("model.22.dfl.conv.weight", dfl_w)], [1, 64, A], "output", [1, 4, A])
    save("dfl_head", m, RNG.standard_normal((3, 64, A)) * 3, per_sample=True)

    # Dynamic batch MLP (dim_param "N"), torch-like names; run with 7 samples at once
    n1, i1, y1 = gemm_layer("fc1", "input", 16, 12)
    n2, i2, y2 = gemm_layer("fc2", "/relu/Relu_output_0", 12, 3)
    nodes = [n1, helper.make_node("Relu", [y1], ["/relu/Relu_output_0"], name="/relu/Relu"), n2]
    m = model(nodes, i1 + i2, ["N", 16], y2, ["N", 3])
    save("dynamic_batch_mlp", m, RNG.standard_normal((7, 16)))

    # --- error fixtures (no reference outputs) ---------------------------------------------------
    nodes = [helper.make_node("LeakyRelu", ["input"], ["output"], name="/act/LeakyRelu", alpha=0.1)]
    onnx.save(model(nodes, [], [B, 4], "output", [B, 4]), os.path.join(OUT, "err_unsupported_op.onnx"))

    n, inits, y = conv_layer("backbone.conv", "input", 3, 4, k=3, pads=[1, 1, 1, 1])
    onnx.save(model([n], inits, [B, 3, 6, 6], y, [B, 4, 6, 6]), os.path.join(OUT, "err_conv3x3.onnx"))

    n, inits, y = gemm_layer("fc", "input", 64, 32)
    m = model([n], inits, [B, 64], y, [B, 32])
    onnx.save(m, os.path.join(OUT, "err_external_data.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="err_external_data.weights", size_threshold=0)

    n, inits, y = gemm_layer("fc", "input", 32, 16)
    data = model([n], inits, [B, 32], y, [B, 16]).SerializeToString()
    with open(os.path.join(OUT, "err_truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    print("error fixtures: err_unsupported_op, err_conv3x3, err_external_data (+ .weights), err_truncated")

    # --- added later (kept after the error fixtures so earlier fixtures stay byte-identical) ------
    # x.view(x.size(0), -1) as torch exports it with a dynamic batch: Shape -> Gather -> Unsqueeze
    # -> Concat(-1) -> Reshape, then a Linear.
    n1, i1, y1 = conv_layer("conv", "input", 2, 3)
    n2, i2, y2 = gemm_layer("fc", "/Reshape_output_0", 3 * 4 * 2, 4)
    nodes = [n1,
             helper.make_node("Shape", [y1], ["/Shape_output_0"], name="/Shape"),
             helper.make_node("Constant", [], ["/Constant_output_0"], name="/Constant",
                              value=numpy_helper.from_array(np.array(0, np.int64))),
             helper.make_node("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"],
                              name="/Gather", axis=0),
             helper.make_node("Constant", [], ["/Constant_1_output_0"], name="/Constant_1",
                              value=numpy_helper.from_array(np.array([0], np.int64))),
             helper.make_node("Unsqueeze", ["/Gather_output_0", "/Constant_1_output_0"], ["/Unsqueeze_output_0"],
                              name="/Unsqueeze"),
             helper.make_node("Constant", [], ["/Constant_2_output_0"], name="/Constant_2",
                              value=numpy_helper.from_array(np.array([-1], np.int64))),
             helper.make_node("Concat", ["/Unsqueeze_output_0", "/Constant_2_output_0"], ["/Concat_output_0"],
                              name="/Concat", axis=0),
             helper.make_node("Reshape", [y1, "/Concat_output_0"], ["/Reshape_output_0"], name="/Reshape"), n2]
    m = model(nodes, i1 + i2, [B, 2, 4, 2], y2, [B, 4])
    save("view_size0_flatten", m, RNG.standard_normal((BATCH, 2, 4, 2)))

    # Gemm with transA = 1: A is [K, M] with a static M = 1 (the model has no batch axis, so the npy
    # is [B, K, 1]: B samples of the full input shape, run one at a time).
    wt = w(5, 10)
    nodes = [helper.make_node("Gemm", ["input", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transA=1,
                              transB=1)]
    m = model(nodes, [init("fc.weight", wt), init("fc.bias", w(5, scale=0.1))], [10, 1], "output", [1, 5])
    path = os.path.join(OUT, "gemm_transa.onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = RNG.standard_normal((BATCH, 10, 1)).astype(np.float32)
    y = np.stack([sess.run(None, {"input": x[i]})[0] for i in range(BATCH)])
    np.save(os.path.join(OUT, "gemm_transa_input.npy"), x)
    np.save(os.path.join(OUT, "gemm_transa_output.npy"), y.astype(np.float32))
    print(f"{'gemm_transa':28s} in {x.shape} -> out {y.shape}")

    # Two outputs sharing a conv trunk (a detection-head shape): scores = Sigmoid(conv_a), boxes = conv_b.
    n0, i0, y0 = conv_layer("stem", "input", 3, 8)
    na, ia, ya = conv_layer("cls", "/stem/Relu_output_0", 8, 2)
    nb, ib, yb = conv_layer("box", "/stem/Relu_output_0", 8, 4)
    nodes = [n0, helper.make_node("Relu", [y0], ["/stem/Relu_output_0"], name="/stem/Relu"), na, nb,
             helper.make_node("Sigmoid", [ya], ["scores"], name="/cls/Sigmoid"),
             helper.make_node("Identity", [yb], ["boxes"], name="/box/Identity")]
    g = helper.make_graph(nodes, "main_graph", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [B, 3, 4, 4])],
                          [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [B, 2, 4, 4]),
                           helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [B, 4, 4, 4])],
                          initializer=i0 + ia + ib)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    path = os.path.join(OUT, "two_outputs.onnx")
    onnx.save(m, path)
    x = RNG.standard_normal((BATCH, 3, 4, 4)).astype(np.float32)
    ys = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x})
    np.save(os.path.join(OUT, "two_outputs_input.npy"), x)
    np.save(os.path.join(OUT, "two_outputs_output.npy"), ys[0].astype(np.float32))
    np.save(os.path.join(OUT, "two_outputs_output_1.npy"), ys[1].astype(np.float32))
    print(f"{'two_outputs':28s} in {x.shape} -> out {ys[0].shape}, {ys[1].shape}")

    # Per-channel constant Mul / Sub / Div / Add after layers (folded into weights and bias)
    n, inits, y = gemm_layer("fc", "input", 6, 5)
    nodes = [n, helper.make_node("Mul", [y, "scale"], ["/Mul_output_0"], name="/Mul"),
             helper.make_node("Sub", ["/Mul_output_0", "shift"], ["/Sub_output_0"], name="/Sub"),
             helper.make_node("Div", ["/Sub_output_0", "div"], ["output"], name="/Div")]
    consts = [init("scale", (1 + 0.5 * RNG.standard_normal(5)).astype(np.float32)),
              init("shift", np.array(0.3, np.float32)),
              init("div", (1.5 + RNG.random((1, 5))).astype(np.float32))]
    m = model(nodes, inits + consts, [B, 6], "output", [B, 5])
    save("gemm_mul_sub_div_const", m, RNG.standard_normal((BATCH, 6)))
    n, inits, y = conv_layer("conv", "input", 3, 4, bias=False)
    nodes = [n, helper.make_node("Mul", ["scale", y], ["/Mul_output_0"], name="/Mul"),
             helper.make_node("Add", ["/Mul_output_0", "bias"], ["output"], name="/Add")]
    consts = [init("scale", (1 + 0.5 * RNG.standard_normal((1, 4, 1, 1))).astype(np.float32)),
              init("bias", w(4, 1, 1, scale=0.5))]
    m = model(nodes, inits + consts, [B, 3, 3, 3], "output", [B, 4, 3, 3])
    save("conv_mul_add_const", m, RNG.standard_normal((BATCH, 3, 3, 3)))

    # More error fixtures: Mul of two activations (not SiLU), BatchNormalization with no layer before it
    nodes = [helper.make_node("Relu", ["input"], ["/Relu_output_0"], name="/Relu"),
             helper.make_node("Mul", ["/Relu_output_0", "input"], ["output"], name="/Mul")]
    onnx.save(model(nodes, [], [B, 4], "output", [B, 4]), os.path.join(OUT, "err_mul_activations.onnx"))
    bn = [init("bn.weight", np.ones(3, np.float32)), init("bn.bias", np.zeros(3, np.float32)),
          init("bn.running_mean", np.zeros(3, np.float32)), init("bn.running_var", np.ones(3, np.float32))]
    nodes = [helper.make_node("BatchNormalization", ["input", "bn.weight", "bn.bias", "bn.running_mean",
                                                     "bn.running_var"], ["output"], name="/bn/BatchNormalization")]
    onnx.save(model(nodes, bn, [B, 3, 2, 2], "output", [B, 3, 2, 2]), os.path.join(OUT, "err_bn_on_input.onnx"))

    # Softmax at opset 11 (default axis 1, "flatten to 2-D" semantics): fine when the flattened
    # axes are a single axis; an error otherwise.
    nodes = [helper.make_node("Softmax", ["input"], ["output"], name="/Softmax")]
    m = model(nodes, [], [B, 7], "output", [B, 7], opset=11)
    save("softmax_opset11", m, RNG.standard_normal((BATCH, 7)) * 2)
    nodes = [helper.make_node("Softmax", ["input"], ["output"], name="/Softmax", axis=1)]
    onnx.save(model(nodes, [], [B, 3, 4], "output", [B, 3, 4], opset=11), os.path.join(OUT, "err_softmax_opset11_2axes.onnx"))


if __name__ == "__main__":
    sys.exit(main())
