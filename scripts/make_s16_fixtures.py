#!/usr/bin/env python3
"""16x8 fixtures: TFLite's own reference kernels on tiny models, for csrc/tests/test_s16_tflite.c.

Dev-time only (needs TensorFlow + ai-edge-litert in a venv, e.g. /work/venv-tf):
    /work/venv-tf/bin/python scripts/make_s16_fixtures.py [--out csrc/tests/fixtures/s16]

Each tiny Keras model is converted with TFLite's 16x8 mode (OpsSet
EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 only, int16 model input/output, int64 bias), run with
ai-edge-litert's BUILTIN_REF op resolver (TFLite's reference kernels) and experimental_preserve_all_tensors, and
for the op under test the script records its int16 input(s) and output, int8 weights, int64 bias and the float32
scales exactly as stored in the .tflite file (the C test derives every multiplier from them with our host prepare).

File format (little endian), one file per op kind, a sequence of cases:
    case:  b"S16C", u32 op, u32 narrays, then narrays arrays
    array: name (16 bytes, NUL padded), u8 dtype (1 i8, 2 i16, 3 i32, 4 i64, 5 f64), u8 ndim, u16 0,
           u32 dims[ndim], data (prod(dims) elements)
"""
import argparse
import os
import struct
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

OPS = {"fc": 1, "conv": 2, "depthwise": 3, "add": 4, "mul": 5, "avgpool": 6, "maxpool": 7, "softmax": 8,
       "logistic": 9, "tanh": 10}
DT = {np.int8: 1, np.int16: 2, np.int32: 3, np.int64: 4, np.float64: 5}
TFL_NAMES = {"fc": "FULLY_CONNECTED", "conv": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D", "add": "ADD",
             "mul": "MUL", "avgpool": "AVERAGE_POOL_2D", "maxpool": "MAX_POOL_2D", "softmax": "SOFTMAX",
             "logistic": "LOGISTIC", "tanh": "TANH"}


def arr(name, a, dtype):
    a = np.ascontiguousarray(np.asarray(a).astype(dtype))
    dims = a.shape if a.ndim > 0 else (1,)
    head = name.encode().ljust(16, b"\0") + struct.pack("<BBH", DT[dtype], len(dims), 0)
    head += struct.pack("<%dI" % len(dims), *dims)
    return head + a.astype(a.dtype.newbyteorder("<")).tobytes()


def case(op, arrays):
    return b"S16C" + struct.pack("<II", OPS[op], len(arrays)) + b"".join(arrays)


def convert(model, rep_shapes, rng, rep_scale):
    def rep():
        for _ in range(64):
            yield [rng.standard_normal(s).astype(np.float32) * rep_scale for s in rep_shapes]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    conv.inference_input_type = tf.int16
    conv.inference_output_type = tf.int16
    return conv.convert()


def run(tfl, op, inputs_fn, rng):
    """Run the model on int16 inputs; return (interp, op details, tensor details by index)."""
    it = Interpreter(model_content=tfl, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs_fn(it.get_input_details())):
        it.set_tensor(d["index"], x)
    it.invoke()
    ops = [o for o in it._get_ops_details() if o["op_name"] == TFL_NAMES[op]]
    if len(ops) != 1:
        raise SystemExit("%s: expected one %s op, got %s" % (op, TFL_NAMES[op],
                                                            [o["op_name"] for o in it._get_ops_details()]))
    det = {d["index"]: d for d in it.get_tensor_details()}
    return it, ops[0], det


def qp(det, i):
    q = det[i]["quantization_parameters"]
    return np.asarray(q["scales"], np.float64), np.asarray(q["zero_points"], np.int64)


def random_codes(details, rng, span=20000):
    out = []
    for d in details:
        out.append(rng.integers(-span, span + 1, size=d["shape"]).astype(np.int16))
    return out


def act_range(act, out_scale):
    if act == "relu":
        return 0, 32767
    if act == "relu6":
        q = np.float32(6.0) / np.float32(out_scale)  # TfLiteRound(6 / scale) in float: half away from zero
        hi = int(np.floor(q + np.float32(0.5)))
        return 0, min(32767, hi)
    return -32768, 32767


def fc_cases(rng):
    cases = []
    for (k, n, batch, act, rs) in [(16, 8, 1, None, 1.0), (40, 13, 3, "relu", 2.0), (300, 5, 2, None, 4.0),
                                   (7, 33, 1, "relu6", 0.5)]:
        inp = tf.keras.Input((k,), batch_size=batch)
        y = tf.keras.layers.Dense(n, activation=act, bias_initializer="random_normal")(inp)
        tfl = convert(tf.keras.Model(inp, y), [(batch, k)], rng, rs)
        it, o, det = run(tfl, "fc", lambda d: random_codes(d, rng), rng)
        xi, wi, bi = o["inputs"][:3]
        yi = o["outputs"][0]
        ws, _ = qp(det, wi)
        lo, hi = act_range(act, qp(det, yi)[0][0])
        cases.append(case("fc", [
            arr("x", it.get_tensor(xi), np.int16), arr("w", it.get_tensor(wi), np.int8),
            arr("b", it.get_tensor(bi) if bi >= 0 else np.zeros(n), np.int64),
            arr("y", it.get_tensor(yi), np.int16), arr("s_in", qp(det, xi)[0], np.float64),
            arr("s_w", ws, np.float64), arr("s_out", qp(det, yi)[0], np.float64),
            arr("act", [lo, hi], np.int32)]))
    return cases


def pads(in_size, k, s, d, padding):
    eff = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0, (in_size - eff) // s + 1
    out = (in_size + s - 1) // s
    total = max((out - 1) * s + eff - in_size, 0)
    return total // 2, total - total // 2, out


def conv_like_cases(rng, kind):
    cases = []
    configs = [((9, 7, 3), 4, (3, 3), (1, 1), (1, 1), "same", None, 1.0),
               ((8, 8, 5), 6, (3, 2), (2, 2), (1, 1), "same", "relu", 2.0),
               ((10, 9, 4), 3, (3, 3), (1, 1), (2, 2), "valid", None, 1.5),
               ((6, 6, 8), 8, (1, 1), (1, 1), (1, 1), "valid", "relu6", 0.7),
               ((7, 8, 3), 5, (5, 4), (2, 1), (1, 1), "same", None, 3.0)]
    for (shape, oc, ks, st, dil, padding, act, rs) in configs:
        inp = tf.keras.Input(shape, batch_size=1)
        if kind == "conv":
            layer = tf.keras.layers.Conv2D(oc, ks, strides=st, dilation_rate=dil, padding=padding, activation=act,
                                           bias_initializer="random_normal")
        else:
            layer = tf.keras.layers.DepthwiseConv2D(ks, strides=st, dilation_rate=dil, padding=padding,
                                                    depth_multiplier=max(1, oc // shape[2]), activation=act,
                                                    bias_initializer="random_normal")
        if st != (1, 1) and dil != (1, 1):
            continue
        tfl = convert(tf.keras.Model(inp, layer(inp)), [(1,) + shape], rng, rs)
        it, o, det = run(tfl, kind, lambda d: random_codes(d, rng), rng)
        xi, wi, bi = o["inputs"][:3]
        yi = o["outputs"][0]
        w = it.get_tensor(wi)
        y = it.get_tensor(yi)
        pt, pb, oh = pads(shape[0], ks[0], st[0], dil[0], padding)
        pl, pr, ow = pads(shape[1], ks[1], st[1], dil[1], padding)
        assert (oh, ow) == tuple(y.shape[1:3]), (oh, ow, y.shape)
        lo, hi = act_range(act, qp(det, yi)[0][0])
        geo = [1, shape[0], shape[1], oh, ow, ks[0], ks[1], st[0], st[1], dil[0], dil[1], pt, pb, pl, pr, shape[2]]
        cases.append(case(kind, [
            arr("x", it.get_tensor(xi), np.int16), arr("w", w, np.int8),
            arr("b", it.get_tensor(bi) if bi >= 0 else np.zeros(w.shape[0 if kind == "conv" else 3]), np.int64),
            arr("y", y, np.int16), arr("s_in", qp(det, xi)[0], np.float64), arr("s_w", qp(det, wi)[0], np.float64),
            arr("s_out", qp(det, yi)[0], np.float64), arr("act", [lo, hi], np.int32), arr("geo", geo, np.int32)]))
    return cases


def binary_cases(rng, kind):
    cases = []
    for (shape, r1, r2, act) in [((4, 33), 1.0, 1.0, None), ((2, 50), 3.0, 0.5, None), ((128,), 0.25, 8.0, "relu"),
                                 ((3, 21), 2.0, 2.0, None)]:
        a = tf.keras.Input(shape, batch_size=1)
        b = tf.keras.Input(shape, batch_size=1)
        # scale the inputs differently through the representative data: one Lambda-free way is two inputs
        y = tf.keras.layers.Add()([a, b]) if kind == "add" else tf.keras.layers.Multiply()([a, b])
        if act:
            y = tf.keras.layers.ReLU()(y)
        model = tf.keras.Model([a, b], y)

        def rep():
            for _ in range(64):
                yield [rng.standard_normal((1,) + shape).astype(np.float32) * r1,
                       rng.standard_normal((1,) + shape).astype(np.float32) * r2]

        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = tf.int16
        conv.inference_output_type = tf.int16
        tfl = conv.convert()
        it, o, det = run(tfl, kind, lambda d: random_codes(d, rng, 32767), rng)
        x1, x2 = o["inputs"][:2]
        yi = o["outputs"][0]
        lo, hi = act_range(act, qp(det, yi)[0][0])
        cases.append(case(kind, [
            arr("x1", it.get_tensor(x1), np.int16), arr("x2", it.get_tensor(x2), np.int16),
            arr("y", it.get_tensor(yi), np.int16), arr("s1", qp(det, x1)[0], np.float64),
            arr("s2", qp(det, x2)[0], np.float64), arr("s_out", qp(det, yi)[0], np.float64),
            arr("act", [lo, hi], np.int32)]))
    return cases


def pool_cases(rng, kind):
    cases = []
    for (shape, ks, st, padding) in [((9, 7, 3), (3, 3), (2, 2), "same"), ((8, 8, 4), (2, 2), (2, 2), "valid"),
                                     ((7, 9, 2), (3, 2), (1, 1), "same"), ((6, 5, 5), (4, 3), (2, 3), "same")]:
        inp = tf.keras.Input(shape, batch_size=1)
        L = tf.keras.layers.AveragePooling2D if kind == "avgpool" else tf.keras.layers.MaxPooling2D
        tfl = convert(tf.keras.Model(inp, L(ks, strides=st, padding=padding)(inp)), [(1,) + shape], rng, 2.0)
        it, o, det = run(tfl, kind, lambda d: random_codes(d, rng, 32767), rng)
        xi, yi = o["inputs"][0], o["outputs"][0]
        y = it.get_tensor(yi)
        pt, pb, oh = pads(shape[0], ks[0], st[0], 1, padding)
        pl, pr, ow = pads(shape[1], ks[1], st[1], 1, padding)
        assert (oh, ow) == tuple(y.shape[1:3])
        geo = [1, shape[0], shape[1], oh, ow, ks[0], ks[1], st[0], st[1], 1, 1, pt, pb, pl, pr, shape[2]]
        cases.append(case(kind, [arr("x", it.get_tensor(xi), np.int16), arr("y", y, np.int16),
                                 arr("s_in", qp(det, xi)[0], np.float64), arr("s_out", qp(det, yi)[0], np.float64),
                                 arr("geo", geo, np.int32)]))
    return cases


def softmax_cases(rng):
    cases = []
    for (shape, rs, span) in [((4, 10), 1.0, 32767), ((3, 100), 4.0, 32767), ((2, 7), 0.3, 20000),
                              ((5, 257), 10.0, 32767), ((1, 1000), 2.0, 3000)]:
        inp = tf.keras.Input(shape[1:], batch_size=shape[0])
        tfl = convert(tf.keras.Model(inp, tf.keras.layers.Softmax()(inp)), [shape], rng, rs)
        it, o, det = run(tfl, "softmax", lambda d: random_codes(d, rng, span), rng)
        xi, yi = o["inputs"][0], o["outputs"][0]
        cases.append(case("softmax", [arr("x", it.get_tensor(xi), np.int16), arr("y", it.get_tensor(yi), np.int16),
                                      arr("s_in", qp(det, xi)[0], np.float64), arr("beta", [1.0], np.float64),
                                      arr("s_out", qp(det, yi)[0], np.float64)]))
    return cases


def act_cases(rng, kind):
    """Every int16 input code, for several input scales."""
    cases = []
    codes = np.arange(-32768, 32768, dtype=np.int16).reshape(1, 65536)
    for rs in [0.05, 0.3, 1.0, 2.5, 6.0, 20.0, 100.0]:
        inp = tf.keras.Input((65536,), batch_size=1)
        f = tf.keras.activations.sigmoid if kind == "logistic" else tf.keras.activations.tanh
        tfl = convert(tf.keras.Model(inp, tf.keras.layers.Activation(f)(inp)), [(1, 65536)], rng, rs)
        it, o, det = run(tfl, kind, lambda d: [codes], rng)
        xi, yi = o["inputs"][0], o["outputs"][0]
        assert np.array_equal(it.get_tensor(xi), codes)
        # the input is every code -32768..32767 in order (not stored: the test regenerates it)
        cases.append(case(kind, [arr("y", it.get_tensor(yi), np.int16),
                                 arr("s_in", qp(det, xi)[0], np.float64), arr("s_out", qp(det, yi)[0], np.float64)]))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "csrc", "tests", "fixtures", "s16"))
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    gens = {"fc": fc_cases, "conv": lambda r: conv_like_cases(r, "conv"),
            "depthwise": lambda r: conv_like_cases(r, "depthwise"), "add": lambda r: binary_cases(r, "add"),
            "mul": lambda r: binary_cases(r, "mul"), "avgpool": lambda r: pool_cases(r, "avgpool"),
            "maxpool": lambda r: pool_cases(r, "maxpool"), "softmax": softmax_cases,
            "logistic": lambda r: act_cases(r, "logistic"), "tanh": lambda r: act_cases(r, "tanh")}
    for name, gen in gens.items():
        if args.only and name not in args.only:
            continue
        rng = np.random.default_rng(1000 + OPS[name])
        tf.keras.utils.set_random_seed(OPS[name])
        data = b"".join(gen(rng))
        with open(os.path.join(args.out, name + ".bin"), "wb") as f:
            f.write(data)
        print("%-10s %8d bytes  (tensorflow %s)" % (name, len(data), tf.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
