#!/usr/bin/env python3
"""Same-architecture stand-ins for two MLPerf Tiny models (issue 11 benchmark; dev-time tool, not run by tests).

    /work/venv-tf/bin/python scripts/make_mlperf_style_models.py [--out bench/models] [--data bench/data]

needs tensorflow (2.x), numpy, onnx, onnxruntime. Writes, for each model KEY in {ic, vww}:

    bench/models/KEY_..._float.onnx    float ONNX (NHWC input + Transpose, as tf2onnx writes it; own exporter below)
    bench/models/KEY_..._int8.tflite   full-integer TFLite (int8 input/output, per-channel weights)
    bench/data/KEY_calib.npy           calibration inputs (uint8 pixel values 0..255, NHWC; also the
                                       TFLite converter's representative dataset)
    bench/data/KEY_test.npy            test inputs (the same kind, another seed, stored as float32)

The architectures are the MLPerf Tiny reference models (mlcommons/tiny, benchmark/training):
  ic : image_classification/keras_model.py resnet_v1_eembc: ResNet-8 for CIFAR-10, input 32x32x3;
       conv 3x3 16 (stride 1) + three stacks of two 3x3 convs (16, 32, 64 filters; the first conv of stacks
       2 and 3 has stride 2, and their shortcut is a 1x1 stride-2 conv without BatchNorm); residual add + ReLU;
       AveragePooling2D over the 8x8 map; Flatten; Dense 10 + softmax. 'same' padding everywhere.
  vww: visual_wake_words/vww_model.py mobilenet_v1: MobileNetV1 alpha 0.25, input 96x96x3; conv 3x3 8 stride 2;
       13 depthwise-3x3 + pointwise-1x1 pairs (pointwise filters 16, 32, 32, 64, 64, 128, 128 x5, 256, 256;
       depthwise stride 2 in pairs 2, 4, 6, 12); AveragePooling2D over the 3x3 map; Flatten; Dense 2 + softmax.
Every conv is followed by BatchNorm + ReLU in the originals; here BatchNorm is already folded: each conv has
weights (he-normal times a per-channel scale in [0.5, 1.5], the folded BN gamma / sqrt(var)) and a bias.
WEIGHTS ARE RANDOM (seeded): accuracy is meaningless, but the operator list, shapes and therefore the
instruction counts of int8 kernels and the tensor arena are those of the published models.
"""
import argparse
import os
import sys

import numpy as np

SEED_WEIGHTS = {"ic": 1101, "vww": 1102}
SEED_CALIB = {"ic": 2101, "vww": 2102}
SEED_TEST = {"ic": 3101, "vww": 3102}
N_CALIB = {"ic": 32, "vww": 8}
N_TEST = {"ic": 4, "vww": 2}
FILES = {"ic": "ic_resnet8_style", "vww": "vww_mobilenetv1_style"}


# ---- the architectures as a small layer list -------------------------------------------------------------------
# node: (name, kind, inputs, attrs); kinds: conv (filters, k, stride, relu), dw (k, stride, relu),
# add (relu), avgpool (global), flatten, dense (units), softmax
def resnet8():
    g = [("input", "input", [], {"shape": (32, 32, 3)})]
    g.append(("conv0", "conv", ["input"], dict(filters=16, k=3, stride=1, relu=True)))
    x = "conv0"
    for s, (f, st) in enumerate([(16, 1), (32, 2), (64, 2)], start=1):
        g.append((f"s{s}_conv1", "conv", [x], dict(filters=f, k=3, stride=st, relu=True)))
        g.append((f"s{s}_conv2", "conv", [f"s{s}_conv1"], dict(filters=f, k=3, stride=1, relu=False)))
        sc = x
        if st != 1:
            g.append((f"s{s}_shortcut", "conv", [x], dict(filters=f, k=1, stride=st, relu=False)))
            sc = f"s{s}_shortcut"
        g.append((f"s{s}_add", "add", [sc, f"s{s}_conv2"], dict(relu=True)))
        x = f"s{s}_add"
    g += [("pool", "avgpool", [x], {}), ("flatten", "flatten", ["pool"], {}),
          ("dense", "dense", ["flatten"], dict(units=10)), ("softmax", "softmax", ["dense"], {})]
    return g


def mobilenet_v1_025():
    g = [("input", "input", [], {"shape": (96, 96, 3)})]
    g.append(("conv0", "conv", ["input"], dict(filters=8, k=3, stride=2, relu=True)))
    x = "conv0"
    pairs = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]
    for i, (f, st) in enumerate(pairs, start=1):
        g.append((f"b{i}_dw", "dw", [x], dict(k=3, stride=st, relu=True)))
        g.append((f"b{i}_pw", "conv", [f"b{i}_dw"], dict(filters=f, k=1, stride=1, relu=True)))
        x = f"b{i}_pw"
    g += [("pool", "avgpool", [x], {}), ("flatten", "flatten", ["pool"], {}),
          ("dense", "dense", ["flatten"], dict(units=2)), ("softmax", "softmax", ["dense"], {})]
    return g


def shapes_and_macs(g):
    """NHWC shape of every node (batch left out) and the multiply-accumulates of each layer."""
    shp, macs = {}, {}
    for name, kind, ins, a in g:
        if kind == "input":
            shp[name] = a["shape"]; continue
        h, w, c = shp[ins[0]] if len(shp[ins[0]]) == 3 else (1, 1, shp[ins[0]][0])
        if kind in ("conv", "dw"):
            ho, wo = -(-h // a["stride"]), -(-w // a["stride"])
            co = a["filters"] if kind == "conv" else c
            shp[name] = (ho, wo, co)
            macs[name] = ho * wo * co * a["k"] * a["k"] * (c if kind == "conv" else 1)
        elif kind == "add":
            assert shp[ins[0]] == shp[ins[1]], name
            shp[name] = shp[ins[0]]
        elif kind == "avgpool":
            shp[name] = (1, 1, c)
        elif kind == "flatten":
            shp[name] = (int(np.prod(shp[ins[0]])),)
        elif kind == "dense":
            shp[name] = (a["units"],); macs[name] = shp[ins[0]][0] * a["units"]
        elif kind == "softmax":
            shp[name] = shp[ins[0]]
    return shp, macs


def random_weights(g, seed):
    """Seeded weights with BatchNorm folded: he-normal kernel x per-channel scale, small bias."""
    rng = np.random.default_rng(seed)
    shp, _ = shapes_and_macs(g)
    wts = {}
    for name, kind, ins, a in g:
        cin = shp[ins[0]][-1] if ins else 0
        if kind == "conv":
            k, co = a["k"], a["filters"]
            kern = rng.normal(0, np.sqrt(2.0 / (k * k * cin)), (k, k, cin, co)) * rng.uniform(0.5, 1.5, co)
            wts[name] = (kern.astype(np.float32), rng.normal(0, 0.1, co).astype(np.float32))
        elif kind == "dw":
            k = a["k"]
            kern = rng.normal(0, np.sqrt(2.0 / (k * k)), (k, k, cin, 1)) * rng.uniform(0.5, 1.5, (cin, 1))
            wts[name] = (kern.astype(np.float32), rng.normal(0, 0.1, cin).astype(np.float32))
        elif kind == "dense":
            kern = rng.normal(0, np.sqrt(2.0 / cin), (cin, a["units"]))
            wts[name] = (kern.astype(np.float32), rng.normal(0, 0.1, a["units"]).astype(np.float32))
    return wts


# ---- Keras model ----------------------------------------------------------------------------------------------
def keras_model(g, wts, batch=None):
    import tensorflow as tf
    L = tf.keras.layers
    t, layers = {}, {}
    for name, kind, ins, a in g:
        if kind == "input":
            t[name] = L.Input(shape=a["shape"], batch_size=batch, name=name); continue
        act = "relu" if a.get("relu") else None
        if kind == "conv":
            lay = L.Conv2D(a["filters"], a["k"], strides=a["stride"], padding="same", activation=act, name=name)
        elif kind == "dw":
            lay = L.DepthwiseConv2D(a["k"], strides=a["stride"], padding="same", activation=act, name=name)
        elif kind == "add":
            lay = L.Add(name=name)
        elif kind == "avgpool":
            lay = L.AveragePooling2D(pool_size=t[ins[0]].shape[1:3], name=name)
        elif kind == "flatten":
            lay = L.Flatten(name=name)
        elif kind == "dense":
            lay = L.Dense(a["units"], name=name)
        elif kind == "softmax":
            lay = L.Softmax(name=name)
        x = lay([t[i] for i in ins]) if kind == "add" else lay(t[ins[0]])
        if kind == "add" and a.get("relu"):
            x = L.ReLU(name=name + "_relu")(x)
        t[name] = x
        layers[name] = lay
    model = tf.keras.Model(t["input"], t[g[-1][0]])
    for name, (k, b) in wts.items():
        layers[name].set_weights([k, b])
    return model


# ---- own Keras-layer-list -> ONNX exporter (opset 13) -------------------------------------------------------------
def tf_same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2     # TF puts the odd pixel after


def export_onnx(g, model, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    shp, _ = shapes_and_macs(g)
    nodes, inits = [], []
    out = {}

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name)); return name

    for name, kind, ins, a in g:
        if kind == "input":
            nodes.append(helper.make_node("Transpose", ["input"], ["input_nchw"], perm=[0, 3, 1, 2], name="input_to_nchw"))
            out[name] = "input_nchw"; continue
        src = out[ins[0]]
        y = name + ("_pre" if a.get("relu") else "")
        if kind in ("conv", "dw"):
            k, b = model.get_layer(name).get_weights()
            h, w, c = shp[ins[0]]
            ph, pw = tf_same_pads(h, a["k"], a["stride"]), tf_same_pads(w, a["k"], a["stride"])
            if kind == "conv":
                wo, group = k.transpose(3, 2, 0, 1), 1              # HWIO -> OIHW
            else:
                wo, group = k.transpose(2, 3, 0, 1), c              # HW C 1 -> C 1 H W
            nodes.append(helper.make_node("Conv", [src, const(name + "_W", wo), const(name + "_B", b)], [y], name=name,
                                          kernel_shape=[a["k"], a["k"]], strides=[a["stride"]] * 2, group=group,
                                          pads=[ph[0], pw[0], ph[1], pw[1]]))
        elif kind == "add":
            nodes.append(helper.make_node("Add", [out[i] for i in ins], [y], name=name))
        elif kind == "avgpool":
            h, w, _ = shp[ins[0]]
            nodes.append(helper.make_node("AveragePool", [src], [y], name=name, kernel_shape=[h, w], strides=[h, w]))
        elif kind == "flatten":    # [N, C, 1, 1] -> [N, C]: the same order as Keras' NHWC flatten of 1x1xC
            nodes.append(helper.make_node("Flatten", [src], [y], name=name, axis=1))
        elif kind == "dense":
            k, b = model.get_layer(name).get_weights()
            nodes.append(helper.make_node("Gemm", [src, const(name + "_W", k), const(name + "_B", b)], [y], name=name))
        elif kind == "softmax":
            y = "output"
            nodes.append(helper.make_node("Softmax", [src], [y], name=name, axis=1))
        if a.get("relu"):
            nodes.append(helper.make_node("Relu", [y], [name], name=name + "_relu")); y = name
        out[name] = y
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *g[0][3]["shape"]])
    outp = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", shp[g[-1][0]][0]])
    graph = helper.make_graph(nodes, os.path.basename(path).split(".")[0], [inp], [outp], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_mlperf_style_models.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def to_tflite(model, calib, path):
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[None].astype(np.float32)] for x in calib)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = conv.convert()
    with open(path, "wb") as f:
        f.write(data)


def check_tflite(path, x, ref):
    """The int8 file's operators, and its dequantized outputs next to the float model's (ai-edge-litert)."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        print("    (ai-edge-litert not installed: the int8 file is not checked)"); return
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)  # reference kernels
    it.allocate_tensors()
    ops = [d["op_name"] for d in it._get_ops_details()]
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    (si, zi), (so, zo) = i["quantization"], o["quantization"]
    got = []
    for xi in x:
        it.set_tensor(i["index"], np.clip(np.round(xi / si) + zi, -128, 127).astype(np.int8)[None])
        it.invoke()
        got.append((it.get_tensor(o["index"]).astype(np.float32) - zo) * so)
    d = float(np.max(np.abs(np.concatenate(got) - ref)))
    print(f"    int8 TFLite: {len(ops)} operators {sorted(set(ops))}; input scale {si} zero point {zi}; "
          f"outputs vs float: max |diff| {d:.3f}")
    bad = sorted(set(ops) - {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"})
    if bad or d > 0.1:
        sys.exit(f"{path}: unexpected operators {bad} or int8 outputs too far from float ({d})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="bench/models")
    ap.add_argument("--data", default="bench/data")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True); os.makedirs(args.data, exist_ok=True)
    import tensorflow as tf
    import onnxruntime as ort
    tf.keras.utils.set_random_seed(0)
    for key, builder in (("ic", resnet8), ("vww", mobilenet_v1_025)):
        g = builder()
        shp, macs = shapes_and_macs(g)
        print(f"{key}: {FILES[key]}: {sum(macs.values()):,} MACs in {len(macs)} layers "
              f"(input {shp['input']}, output {shp[g[-1][0]]})")
        for n, m in macs.items():
            print(f"    {n:12s} {str(shp[n]):16s} {m:>10,}")
        hw = shp["input"]
        calib = np.random.default_rng(SEED_CALIB[key]).integers(0, 256, (N_CALIB[key], *hw), dtype=np.uint8)
        test = np.random.default_rng(SEED_TEST[key]).integers(0, 256, (N_TEST[key], *hw), dtype=np.uint8)
        np.save(os.path.join(args.data, f"{key}_calib.npy"), calib)
        # test inputs as float32 (simulate quantizes floats with the model's input qparams; it takes integer
        # arrays only as int8 codes)
        np.save(os.path.join(args.data, f"{key}_test.npy"), test.astype(np.float32))
        model = keras_model(g, random_weights(g, SEED_WEIGHTS[key]))
        # scale the random dense head so the logits on the calibration inputs have standard deviation 2: a
        # softmax that is not saturated, so the int8 outputs differ between inputs (a meaningful device == host check)
        pre = tf.keras.Model(model.input, model.get_layer("dense").output).predict(calib.astype(np.float32), verbose=0)
        k, b = model.get_layer("dense").get_weights()
        s = np.float32(2.0 / np.std(pre))
        model.get_layer("dense").set_weights([k * s, b * s])
        onnx_path = os.path.join(args.out, FILES[key] + "_float.onnx")
        export_onnx(g, model, onnx_path)
        x = np.concatenate([calib, test]).astype(np.float32)
        ref = model.predict(x, verbose=0)
        got = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
        pre = tf.keras.Model(model.input, model.get_layer("dense").output).predict(x, verbose=0)
        d = float(np.max(np.abs(ref - got)))
        print(f"    ONNX (onnxruntime) vs Keras float: max |diff| {d:.2e} on {len(x)} inputs "
              f"(logits range {pre.min():.2f} .. {pre.max():.2f})")
        if not d < 1e-4:
            sys.exit(f"{onnx_path}: onnxruntime output differs from TensorFlow's by {d}")
        tfl_path = os.path.join(args.out, FILES[key] + "_int8.tflite")
        # converted with batch 1 fixed (as the deployed MLPerf Tiny files): Flatten becomes one RESHAPE, not
        # SHAPE / STRIDED_SLICE / PACK / RESHAPE; the same weights
        final = {n: tuple(model.get_layer(n).get_weights()) for n in random_weights(g, 0)}
        to_tflite(keras_model(g, final, batch=1), calib, tfl_path)
        check_tflite(tfl_path, test.astype(np.float32), model.predict(test.astype(np.float32), verbose=0))
        print(f"    wrote {onnx_path} ({os.path.getsize(onnx_path):,} B), {tfl_path} ({os.path.getsize(tfl_path):,} B), "
              f"{key}_calib.npy {calib.shape}, {key}_test.npy {test.shape}")


if __name__ == "__main__":
    main()
