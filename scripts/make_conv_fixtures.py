#!/usr/bin/env python3
"""Generates the convolutional-op-set ONNX fixtures (issue 10) in Tests/MicroQuantTests/Fixtures/onnx_conv/.

Dev-time only (python3 + onnx + numpy + onnxruntime); the product never needs Python.
Graphs are built with onnx.helper the way the exporters write them: torch.onnx.export style (NCHW, opset 17,
node names like "/conv1/Conv") and tf2onnx style (NHWC input, Transpose pairs around every NCHW op, opset 13).

For every fixture NAME it writes
  NAME.onnx              the model
  NAME_input.npy         float32 samples, first axis = samples (NAME_input_K.npy for input K > 0)
  NAME_output.npy        float32 outputs computed by onnxruntime (NAME_output_K.npy for output K > 0)
Error fixtures (err_*.onnx) have no .npy files.

Usage: python3 scripts/make_conv_fixtures.py   (deterministic: fixed seeds)
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx_conv")
RNG = np.random.default_rng(20261203)
BATCH = 4
B = "batch_size"


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def w(*shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
    return (RNG.standard_normal(shape) * s).astype(np.float32)


def make(nodes, inits, inputs, outputs, opset=17, producer="pytorch"):
    """inputs / outputs: lists of (name, shape)."""
    g = helper.make_graph(nodes, "main_graph",
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name=producer)
    m.ir_version = 8
    if any(sh is None for _, sh in outputs):
        # output shapes as onnx's shape inference gives them (the symbolic batch dimension kept)
        inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
        for o in m.graph.output:
            if not o.type.tensor_type.HasField("shape"):
                o.type.CopyFrom(known[o.name].type)
    onnx.checker.check_model(m, full_check=True)
    return m


def save(name, m, xs):
    """xs: one float array per graph input (first axis = samples). Reference outputs from onnxruntime."""
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    xs = [np.asarray(x, np.float32) for x in xs]
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), xs)}
    ys = sess.run(None, feeds)
    for k, x in enumerate(xs):
        np.save(os.path.join(OUT, f"{name}_input{'' if k == 0 else '_' + str(k)}.npy"), x)
    for k, y in enumerate(ys):
        np.save(os.path.join(OUT, f"{name}_output{'' if k == 0 else '_' + str(k)}.npy"), y.astype(np.float32))
    print(f"{name:28s} in {[tuple(x.shape) for x in xs]} -> out {[tuple(y.shape) for y in ys]}")


def conv(prefix, x, cin, cout, k=(3, 3), group=1, bias=True, **attrs):
    k = tuple(k)
    inits = [init(f"{prefix}.weight", w(cout, cin // group, *k))]
    ins = [x, f"{prefix}.weight"]
    if bias:
        inits.append(init(f"{prefix}.bias", w(cout, scale=0.1)))
        ins.append(f"{prefix}.bias")
    a = {"kernel_shape": list(k), "group": group}
    if "auto_pad" not in attrs:
        a.update({"dilations": [1, 1], "pads": [0, 0, 0, 0], "strides": [1, 1]})
    a.update(attrs)
    out = f"/{prefix}/Conv_output_0"
    return helper.make_node("Conv", ins, [out], name=f"/{prefix}/Conv", **a), inits, out


def bn(prefix, x, c):
    inits = [init(f"{prefix}.weight", (1 + 0.3 * RNG.standard_normal(c)).astype(np.float32)),
             init(f"{prefix}.bias", w(c, scale=0.3)), init(f"{prefix}.running_mean", w(c, scale=0.3)),
             init(f"{prefix}.running_var", (0.5 + RNG.random(c)).astype(np.float32))]
    out = f"/{prefix}/BatchNormalization_output_0"
    n = helper.make_node("BatchNormalization", [x] + [i.name for i in inits], [out],
                         name=f"/{prefix}/BatchNormalization", epsilon=1e-5, momentum=0.9)
    return n, inits, out


def relu(prefix, x):
    out = f"/{prefix}/Relu_output_0"
    return helper.make_node("Relu", [x], [out], name=f"/{prefix}/Relu"), out


def relu6(prefix, x, consts):
    if "zero" not in [c.name for c in consts]:
        consts += [init("zero", np.array(0, np.float32)), init("six", np.array(6, np.float32))]
    out = f"/{prefix}/Clip_output_0"
    return helper.make_node("Clip", [x, "zero", "six"], [out], name=f"/{prefix}/Clip"), out


def x_nchw(c, h, wd, scale=1.0):
    return RNG.standard_normal((BATCH, c, h, wd)) * scale


def single_conv(name, cin, cout, h, wd, **kw):
    n, i, y = conv("conv", "input", cin, cout, **kw)
    m = make([n], i, [("input", [B, cin, h, wd])], [(y, None)])
    save(name, m, [x_nchw(cin, h, wd)])


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    # --- Conv variants ------------------------------------------------------------------------------
    single_conv("conv3x3_pad1", 3, 6, 7, 6, pads=[1, 1, 1, 1])
    single_conv("conv5x3_stride_dilation", 4, 5, 11, 9, k=(5, 3), strides=[2, 1], dilations=[1, 2], pads=[2, 1, 1, 0])
    single_conv("conv_same_upper", 3, 4, 9, 8, k=(4, 3), strides=[2, 2], auto_pad="SAME_UPPER")
    single_conv("conv_same_lower", 3, 4, 9, 8, k=(4, 3), strides=[2, 2], auto_pad="SAME_LOWER")
    single_conv("conv_valid_nobias", 2, 3, 8, 7, k=(3, 2), auto_pad="VALID", bias=False)
    single_conv("conv1x1_dilation_ignored", 3, 4, 5, 5, k=(1, 1), dilations=[2, 2])
    single_conv("depthwise3x3", 5, 5, 6, 7, group=5, pads=[1, 1, 1, 1])
    single_conv("depthwise_mult2_stride2", 3, 6, 9, 8, group=3, strides=[2, 2], pads=[1, 0, 1, 1])

    # Depthwise + BatchNormalization + ReLU6 (folded BN, Clip 0..6)
    n1, i1, y1 = conv("dw", "input", 4, 4, group=4, bias=False, pads=[1, 1, 1, 1])
    n2, i2, y2 = bn("bn", y1, 4)
    consts = []
    n3, y3 = relu6("act", y2, consts)
    m = make([n1, n2, n3], i1 + i2 + consts, [("input", [B, 4, 6, 6])], [(y3, None)])
    save("depthwise_bn_relu6", m, [x_nchw(4, 6, 6, 2)])

    # --- pooling, means ----------------------------------------------------------------------------
    for name, op, attrs in [
        ("avgpool3x3_s2_pad", "AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        ("avgpool_count_include_pad", "AveragePool",
         dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1], count_include_pad=1)),
        ("avgpool_same_upper", "AveragePool", dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
        ("maxpool3x3_s2_pad", "MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        ("maxpool2x2", "MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2])),
    ]:
        n = helper.make_node(op, ["input"], ["output"], name=f"/pool/{op}", **attrs)
        m = make([n], [], [("input", [B, 3, 7, 8])], [("output", None)])
        save(name, m, [x_nchw(3, 7, 8)])

    # Global average pool -> Flatten -> Gemm (a CNN head)
    n1, i1, y1 = conv("conv", "input", 3, 8, pads=[1, 1, 1, 1])
    n2, y2 = relu("relu", y1)
    nodes = [n1, n2, helper.make_node("GlobalAveragePool", [y2], ["/pool/GlobalAveragePool_output_0"], name="/pool/GlobalAveragePool"),
             helper.make_node("Flatten", ["/pool/GlobalAveragePool_output_0"], ["/Flatten_output_0"], name="/Flatten", axis=1),
             helper.make_node("Gemm", ["/Flatten_output_0", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transB=1)]
    m = make(nodes, i1 + [init("fc.weight", w(5, 8)), init("fc.bias", w(5, scale=0.1))],
             [("input", [B, 3, 6, 5])], [("output", None)])
    save("global_avgpool_head", m, [x_nchw(3, 6, 5)])

    n = helper.make_node("GlobalMaxPool", ["input"], ["output"], name="/pool/GlobalMaxPool")
    save("global_maxpool", make([n], [], [("input", [B, 4, 5, 3])], [("output", None)]), [x_nchw(4, 5, 3)])

    # ReduceMean over H, W: opset 13 attribute, keepdims 0; opset 18 axes input, keepdims 1
    n1, i1, y1 = conv("conv", "input", 3, 6, k=(1, 1))
    nodes = [n1, helper.make_node("ReduceMean", [y1], ["output"], name="/ReduceMean", axes=[2, 3], keepdims=0)]
    save("reducemean_hw_keepdims0", make(nodes, i1, [("input", [B, 3, 5, 4])], [("output", None)], opset=13),
         [x_nchw(3, 5, 4)])
    nodes = [n1, helper.make_node("ReduceMean", [y1, "axes"], ["output"], name="/ReduceMean", keepdims=1)]
    save("reducemean_hw_opset18", make(nodes, i1 + [init("axes", np.array([-1, -2], np.int64))],
                                       [("input", [B, 3, 5, 4])], [("output", None)], opset=18), [x_nchw(3, 5, 4)])

    # --- Pad, Concat, Squeeze / Unsqueeze -------------------------------------------------------------
    n1, i1, y1 = conv("conv", "/Pad_output_0", 3, 4, auto_pad="VALID")
    nodes = [helper.make_node("Pad", ["input", "pads", "value"], ["/Pad_output_0"], name="/Pad", mode="constant"), n1]
    m = make(nodes, i1 + [init("pads", np.array([0, 0, 2, 1, 0, 0, 1, 2], np.int64)), init("value", np.array(0.5, np.float32))],
             [("input", [B, 3, 5, 5])], [(y1, None)], opset=13)
    save("pad_constant_conv", m, [x_nchw(3, 5, 5)])

    na, ia, ya = conv("a", "input", 3, 4, pads=[1, 1, 1, 1])
    nb, ib, yb = conv("b", "input", 3, 2, k=(1, 1))
    nra, ra = relu("ra", ya)
    nc, ic, yc = conv("c", "/Concat_output_0", 6, 3, k=(1, 1))
    nodes = [na, nb, nra, helper.make_node("Concat", [ra, yb], ["/Concat_output_0"], name="/Concat", axis=1), nc]
    m = make(nodes, ia + ib + ic, [("input", [B, 3, 4, 5])], [(yc, None)])
    save("concat_channels", m, [x_nchw(3, 4, 5)])

    n1, i1, y1 = conv("conv", "input", 3, 6, k=(1, 1))
    nodes = [n1, helper.make_node("GlobalAveragePool", [y1], ["/gap_output_0"], name="/gap"),
             helper.make_node("Squeeze", ["/gap_output_0", "sq_axes"], ["/Squeeze_output_0"], name="/Squeeze"),
             helper.make_node("Unsqueeze", ["/Squeeze_output_0", "unsq_axes"], ["output"], name="/Unsqueeze")]
    m = make(nodes, i1 + [init("sq_axes", np.array([2, 3], np.int64)), init("unsq_axes", np.array([1], np.int64))],
             [("input", [B, 3, 4, 4])], [("output", None)])
    save("squeeze_unsqueeze", m, [x_nchw(3, 4, 4)])

    # --- Mul ---------------------------------------------------------------------------------------
    na, ia, ya = conv("a", "input", 3, 4, k=(1, 1))
    nb, ib, yb = conv("b", "input", 3, 4, pads=[1, 1, 1, 1])
    nodes = [na, nb, helper.make_node("Mul", [ya, yb], ["output"], name="/Mul")]
    save("mul_activations", make(nodes, ia + ib, [("input", [B, 3, 4, 5])], [("output", None)]), [x_nchw(3, 4, 5)])

    # Squeeze-and-excitation: x * Sigmoid(Conv(Relu(Conv(GAP(x))))) (per-channel broadcast)
    n0, i0, y0 = conv("stem", "input", 3, 8, pads=[1, 1, 1, 1])
    n0r, y0r = relu("stem", y0)
    n1, i1, y1 = conv("se.fc1", "/se/gap_output_0", 8, 4, k=(1, 1))
    n1r, y1r = relu("se", y1)
    n2, i2, y2 = conv("se.fc2", y1r, 4, 8, k=(1, 1))
    nodes = [n0, n0r, helper.make_node("GlobalAveragePool", [y0r], ["/se/gap_output_0"], name="/se/gap"), n1, n1r, n2,
             helper.make_node("Sigmoid", [y2], ["/se/Sigmoid_output_0"], name="/se/Sigmoid"),
             helper.make_node("Mul", [y0r, "/se/Sigmoid_output_0"], ["output"], name="/se/Mul")]
    save("squeeze_excitation", make(nodes, i0 + i1 + i2, [("input", [B, 3, 5, 6])], [("output", None)]), [x_nchw(3, 5, 6)])

    # Activation x constant (per channel and scalar) and input normalization (Sub, Div) not after a layer
    nodes = [helper.make_node("Sub", ["input", "mean"], ["/Sub_output_0"], name="/Sub"),
             helper.make_node("Div", ["/Sub_output_0", "std"], ["/Div_output_0"], name="/Div")]
    n1, i1, y1 = conv("conv", "/Div_output_0", 3, 4, pads=[1, 1, 1, 1])
    n1r, y1r = relu("relu", y1)
    nodes += [n1, n1r, helper.make_node("Mul", [y1r, "chscale"], ["/Mul_output_0"], name="/Mul"),
              helper.make_node("Mul", ["half", "/Mul_output_0"], ["output"], name="/Mul_1")]
    consts = [init("mean", np.array([0.5, -0.2, 0.1], np.float32).reshape(1, 3, 1, 1)),
              init("std", np.array([0.9, 1.3, 0.7], np.float32).reshape(3, 1, 1)),
              init("chscale", (1 + 0.5 * RNG.standard_normal((4, 1, 1))).astype(np.float32)),
              init("half", np.array(0.5, np.float32))]
    save("affine_not_folded", make(nodes, i1 + consts, [("input", [B, 3, 4, 4])], [("output", None)]), [x_nchw(3, 4, 4)])

    # Hard-swish as torch writes it before opset 14: x * HardSigmoid(x, 1/6, 0.5)
    n1, i1, y1 = conv("conv", "input", 3, 4, pads=[1, 1, 1, 1])
    nodes = [n1, helper.make_node("HardSigmoid", [y1], ["/act/HardSigmoid_output_0"], name="/act/HardSigmoid",
                                  alpha=1.0 / 6.0, beta=0.5),
             helper.make_node("Mul", [y1, "/act/HardSigmoid_output_0"], ["output"], name="/act/Mul")]
    save("hardswish_pattern", make(nodes, i1, [("input", [B, 3, 4, 4])], [("output", None)], opset=13),
         [x_nchw(3, 4, 4, 3)])

    # --- blocks ---------------------------------------------------------------------------------------
    # ResNet basic block (identity shortcut) then a downsampling block with a 1x1 projection, head.
    nodes, inits = [], []
    def add_block(prefix, x, cin, cout, stride):
        n, i, y = conv(f"{prefix}.conv1", x, cin, cout, bias=False, pads=[1, 1, 1, 1], strides=[stride, stride]); nodes.append(n); inits.extend(i)
        n, i, y = bn(f"{prefix}.bn1", y, cout); nodes.append(n); inits.extend(i)
        n, y = relu(f"{prefix}.relu1", y); nodes.append(n)
        n, i, y = conv(f"{prefix}.conv2", y, cout, cout, bias=False, pads=[1, 1, 1, 1]); nodes.append(n); inits.extend(i)
        n, i, y = bn(f"{prefix}.bn2", y, cout); nodes.append(n); inits.extend(i)
        sc = x
        if stride != 1 or cin != cout:
            n, i, sc = conv(f"{prefix}.down", x, cin, cout, k=(1, 1), bias=False, strides=[stride, stride]); nodes.append(n); inits.extend(i)
            n, i, sc = bn(f"{prefix}.downbn", sc, cout); nodes.append(n); inits.extend(i)
        out = f"/{prefix}/Add_output_0"
        nodes.append(helper.make_node("Add", [y, sc], [out], name=f"/{prefix}/Add"))
        n, y = relu(f"{prefix}.relu2", out); nodes.append(n)
        return y
    n, i, y = conv("stem", "input", 3, 8, bias=False, pads=[1, 1, 1, 1]); nodes.append(n); inits.extend(i)
    n, i, y = bn("stem.bn", y, 8); nodes.append(n); inits.extend(i)
    n, y = relu("stem", y); nodes.append(n)
    nodes.append(helper.make_node("MaxPool", [y], ["/maxpool_output_0"], name="/maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    y = add_block("layer1", "/maxpool_output_0", 8, 8, 1)
    y = add_block("layer2", y, 8, 16, 2)
    nodes += [helper.make_node("GlobalAveragePool", [y], ["/gap_output_0"], name="/gap"),
              helper.make_node("Flatten", ["/gap_output_0"], ["/flatten_output_0"], name="/flatten"),
              helper.make_node("Gemm", ["/flatten_output_0", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transB=1)]
    inits += [init("fc.weight", w(10, 16)), init("fc.bias", w(10, scale=0.1))]
    save("resnet_block", make(nodes, inits, [("input", [B, 3, 16, 16])], [("output", None)]), [x_nchw(3, 16, 16)])

    # MobileNetV2-style: stem conv s2 + BN + ReLU6, inverted residual (expand 1x1, dw 3x3, project 1x1 linear,
    # residual add), a strided one without residual, GAP, classifier, Softmax.
    nodes, inits = [], []
    consts = []
    n, i, y = conv("stem", "input", 3, 8, bias=False, pads=[1, 1, 1, 1], strides=[2, 2]); nodes.append(n); inits.extend(i)
    n, i, y = bn("stem.bn", y, 8); nodes.append(n); inits.extend(i)
    n, y = relu6("stem", y, consts); nodes.append(n)
    def inverted(prefix, x, cin, cout, t, stride):
        h = cin * t
        n, i, y = conv(f"{prefix}.expand", x, cin, h, k=(1, 1), bias=False); nodes.append(n); inits.extend(i)
        n, i, y = bn(f"{prefix}.bn1", y, h); nodes.append(n); inits.extend(i)
        n, y = relu6(f"{prefix}.act1", y, consts); nodes.append(n)
        n, i, y = conv(f"{prefix}.dw", y, h, h, group=h, bias=False, pads=[1, 1, 1, 1], strides=[stride, stride]); nodes.append(n); inits.extend(i)
        n, i, y = bn(f"{prefix}.bn2", y, h); nodes.append(n); inits.extend(i)
        n, y = relu6(f"{prefix}.act2", y, consts); nodes.append(n)
        n, i, y = conv(f"{prefix}.project", y, h, cout, k=(1, 1), bias=False); nodes.append(n); inits.extend(i)
        n, i, y = bn(f"{prefix}.bn3", y, cout); nodes.append(n); inits.extend(i)
        if stride == 1 and cin == cout:
            out = f"/{prefix}/Add_output_0"
            nodes.append(helper.make_node("Add", [x, y], [out], name=f"/{prefix}/Add"))
            y = out
        return y
    y = inverted("block1", y, 8, 8, 3, 1)
    y = inverted("block2", y, 8, 12, 3, 2)
    nodes += [helper.make_node("GlobalAveragePool", [y], ["/gap_output_0"], name="/gap"),
              helper.make_node("Flatten", ["/gap_output_0"], ["/flatten_output_0"], name="/flatten"),
              helper.make_node("Gemm", ["/flatten_output_0", "fc.weight", "fc.bias"], ["/fc/Gemm_output_0"], name="/fc/Gemm", transB=1),
              helper.make_node("Softmax", ["/fc/Gemm_output_0"], ["output"], name="/Softmax", axis=1)]
    inits += [init("fc.weight", w(6, 12)), init("fc.bias", w(6, scale=0.1))]
    save("mobilenet_block", make(nodes, inits + consts, [("input", [B, 3, 16, 16])], [("output", None)]), [x_nchw(3, 16, 16, 1.5)])

    # tf2onnx style: NHWC input, every NCHW op wrapped in Transpose pairs, ReduceMean over NHWC axes 1, 2,
    # Relu between the transposes, MatMul + Add head. The transposes must cancel.
    def tconv(prefix, x, cin, cout, **kw):
        t_in = f"{prefix}__t_in:0"
        nodes.append(helper.make_node("Transpose", [x], [t_in], name=f"{prefix}__t_in", perm=[0, 3, 1, 2]))
        n, i, y = conv(prefix, t_in, cin, cout, **kw); nodes.append(n); inits.extend(i)
        t_out = f"{prefix}__t_out:0"
        nodes.append(helper.make_node("Transpose", [y], [t_out], name=f"{prefix}__t_out", perm=[0, 2, 3, 1]))
        r = f"Relu_{prefix}:0"
        nodes.append(helper.make_node("Relu", [t_out], [r], name=f"Relu_{prefix}"))
        return r
    nodes, inits = [], []
    y = tconv("conv2d", "input_1", 1, 8, k=(5, 3), strides=[2, 2], pads=[2, 1, 2, 1])
    y = tconv("dw", y, 8, 8, group=8, pads=[1, 1, 1, 1])
    y = tconv("pw", y, 8, 8, k=(1, 1))
    nodes += [helper.make_node("ReduceMean", [y], ["mean:0"], name="mean", axes=[1, 2], keepdims=0),
              helper.make_node("MatMul", ["mean:0", "dense_w"], ["dense:0"], name="dense/MatMul"),
              helper.make_node("Add", ["dense:0", "dense_b"], ["Identity"], name="dense/Add")]
    inits += [init("dense_w", w(8, 4)), init("dense_b", w(4, scale=0.1))]
    m = make(nodes, inits, [("input_1", ["unk__1", 12, 10, 1])], [("Identity", ["unk__2", 4])], opset=13, producer="tf2onnx")
    save("tf2onnx_nhwc", m, [RNG.standard_normal((BATCH, 12, 10, 1))])

    # Two inputs, two outputs: a conv trunk per input, concatenated; outputs the concat's conv and a pooled head.
    na, ia, ya = conv("a", "image", 3, 4, pads=[1, 1, 1, 1])
    nb, ib, yb = conv("b", "mask", 1, 2, k=(1, 1))
    nc, ic, yc = conv("c", "/Concat_output_0", 6, 3, k=(1, 1))
    nodes = [na, nb, helper.make_node("Concat", [ya, yb], ["/Concat_output_0"], name="/Concat", axis=1), nc,
             helper.make_node("Relu", [yc], ["features"], name="/Relu"),
             helper.make_node("GlobalAveragePool", ["features"], ["pooled"], name="/gap")]
    m = make(nodes, ia + ib + ic, [("image", [B, 3, 4, 4]), ("mask", [B, 1, 4, 4])], [("features", None), ("pooled", None)])
    save("two_inputs_two_outputs", m, [x_nchw(3, 4, 4), x_nchw(1, 4, 4)])
    # the same inputs as one .npz (np.savez: stored ZIP64 members), a compressed one and a truncated one
    xi = np.load(os.path.join(OUT, "two_inputs_two_outputs_input.npy"))
    xm = np.load(os.path.join(OUT, "two_inputs_two_outputs_input_1.npy"))
    np.savez(os.path.join(OUT, "two_inputs_two_outputs_inputs.npz"), image=xi, mask=xm)
    np.savez_compressed(os.path.join(OUT, "npz_compressed.npz"), image=xi, mask=xm)
    with open(os.path.join(OUT, "two_inputs_two_outputs_inputs.npz"), "rb") as f:
        data = f.read()
    with open(os.path.join(OUT, "npz_truncated.npz"), "wb") as f:
        f.write(data[: len(data) - 40])

    # MLPerf Tiny float models (tf2onnx) from shared/models/mlperf-tiny: onnxruntime outputs for random inputs
    # drawn from the int8 models' input ranges (dequantized int8 codes), 8 samples each.
    mlperf = None
    d = ROOT
    for _ in range(6):
        if os.path.exists(os.path.join(d, "shared", "models", "mlperf-tiny", "kws_ref_model_float.onnx")):
            mlperf = os.path.join(d, "shared", "models", "mlperf-tiny")
            break
        d = os.path.dirname(d)
    if mlperf:
        for name, shape, scale, zp in [("kws_ref_model_float", (8, 49, 10, 1), 0.5847029, 83),
                                       ("ad01_float", (8, 640), 0.3910152, 89)]:
            codes = RNG.integers(-128, 128, size=shape)
            x = ((codes - zp) * scale).astype(np.float32)
            sess = ort.InferenceSession(os.path.join(mlperf, name + ".onnx"), providers=["CPUExecutionProvider"])
            y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
            np.save(os.path.join(OUT, name + "_input.npy"), x)
            np.save(os.path.join(OUT, name + "_output.npy"), y.astype(np.float32))
            print(f"{name:28s} in {x.shape} -> out {y.shape}")
    else:
        print("shared/models/mlperf-tiny not found: MLPerf Tiny references not written")

    # --- error fixtures --------------------------------------------------------------------------------
    n, i, y = conv("conv", "input", 4, 6, group=2, pads=[1, 1, 1, 1])
    onnx.save(make([n], i, [("input", [B, 4, 5, 5])], [(y, None)]), os.path.join(OUT, "err_grouped_conv.onnx"))
    n = helper.make_node("Pad", ["input", "pads"], ["output"], name="/Pad", mode="reflect")
    onnx.save(make([n], [init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))], [("input", [B, 3, 4, 4])], [("output", None)]),
              os.path.join(OUT, "err_pad_reflect.onnx"))
    n = helper.make_node("MaxPool", ["input"], ["output"], name="/MaxPool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    onnx.save(make([n], [], [("input", [B, 3, 5, 5])], [("output", None)]), os.path.join(OUT, "err_pool_ceil_mode.onnx"))
    print("error fixtures: err_grouped_conv, err_pad_reflect, err_pool_ceil_mode")


if __name__ == "__main__":
    sys.exit(main())
