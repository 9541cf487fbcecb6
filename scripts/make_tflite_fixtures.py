#!/usr/bin/env python3
"""Per-op int8 TFLite fixtures for the TFLite importer (Tests/TFLiteTests/Fixtures/tflite/).

For each case: a tiny Keras model, converted by TensorFlow's TFLiteConverter to a full-int8 model
(representative dataset, int8 input/output unless noted), written as NAME.tflite, with
NAME_input.npy (50 random inputs, [50, *input shape without batch], int8 codes) and
NAME_output.npy (ai-edge-litert's BUILTIN_REF outputs for them, one inference per sample).
Error fixtures: NAME.tflite only. manifest.json lists every case, its ops and the tool versions.

Dev-time only, needs TensorFlow (a virtual environment):
    python3 -m venv /work/venv-tf && /work/venv-tf/bin/pip install tensorflow numpy ai-edge-litert
    /work/venv-tf/bin/python scripts/make_tflite_fixtures.py
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
import ai_edge_litert
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "TFLiteTests", "Fixtures", "tflite")
SAMPLES = 50
L = tf.keras.layers


def seed(n):
    tf.keras.utils.set_random_seed(n)
    return np.random.default_rng(n)


def randomize_bias(model, rng):
    """Keras initializes biases to 0; give them values so the bias path is exercised."""
    for layer in model.layers:
        for w in layer.weights:
            if "bias" in w.name:
                w.assign(rng.normal(0, 0.3, w.shape).astype(np.float32))


def convert(model, shapes, rng, int8_io=True, quantize=True, spread=1.0):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        def rep():
            for _ in range(100):
                yield [rng.normal(0, spread, [1] + list(s)).astype(np.float32) for s in shapes]
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    return conv.convert()


def op_names(path):
    it = Interpreter(model_path=path)
    return [o["op_name"] for o in it._get_ops_details()]


def reference(path, inputs):
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    ys = []
    for i in range(len(inputs[0])):
        for d, x in zip(ins, inputs):
            it.set_tensor(d["index"], x[i:i + 1])
        it.invoke()
        ys.append(it.get_tensor(outs[0]["index"])[0].copy())
    return np.stack(ys)


def write_case(name, tfl, rng, manifest, float_io=False, given=None):
    path = os.path.join(OUT, name + ".tflite")
    with open(path, "wb") as f:
        f.write(tfl)
    it = Interpreter(model_path=path)
    inputs = []
    for k, d in enumerate(it.get_input_details()):
        shape = [SAMPLES] + list(d["shape"][1:])
        if given is not None:
            x = given[k]
        elif float_io:
            x = rng.normal(0, 1.0, shape).astype(np.float32)
        else:
            x = rng.integers(-128, 128, shape, dtype=np.int64).astype(np.int8)
        inputs.append(x)
        suffix = "" if k == 0 else str(k)
        np.save(os.path.join(OUT, f"{name}_input{suffix}.npy"), x)
    y = reference(path, inputs)
    np.save(os.path.join(OUT, f"{name}_output.npy"), y)
    manifest["cases"].append({"name": name, "ops": op_names(path), "inputs": len(inputs), "float_io": float_io,
                              "samples": int(len(inputs[0]))})
    print(f"{name}: {op_names(path)} output {y.shape} {y.dtype}")


def conv_model(shape, layers):
    x = L.Input(shape, batch_size=1)
    y = x
    for layer in layers:
        y = layer(y)
    return tf.keras.Model(x, y)


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"tensorflow": tf.__version__, "ai_edge_litert": getattr(ai_edge_litert, "__version__", "?"),
                "samples": SAMPLES, "cases": [], "errors": []}

    # --- single-op cases (shape, layers) ---
    single = {
        "fc": ([32], [L.Dense(16)]),
        "fc_relu": ([32], [L.Dense(16, activation="relu")]),
        "fc_relu6": ([20], [L.Dense(12, activation="relu6")]),
        "conv3x3_valid": ([8, 8, 3], [L.Conv2D(8, 3, padding="valid")]),
        "conv3x3_same_relu": ([7, 6, 4], [L.Conv2D(6, 3, padding="same", activation="relu")]),
        "conv4x4_same_stride2": ([9, 8, 2], [L.Conv2D(5, (4, 3), strides=2, padding="same")]),
        "conv1x1_relu6": ([5, 5, 8], [L.Conv2D(12, 1, activation="relu6")]),
        "conv_dilated": ([10, 10, 3], [L.Conv2D(4, 3, dilation_rate=2, padding="same")]),
        "depthwise3x3_same": ([8, 8, 6], [L.DepthwiseConv2D(3, padding="same", activation="relu")]),
        "depthwise_mult2_stride2": ([9, 7, 3], [L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same")]),
        "avgpool_valid": ([8, 8, 4], [L.AveragePooling2D(2)]),
        "avgpool_same": ([7, 7, 3], [L.AveragePooling2D(3, strides=2, padding="same")]),
        "maxpool_valid": ([8, 8, 4], [L.MaxPooling2D(2)]),
        "maxpool_same": ([7, 5, 3], [L.MaxPooling2D(3, strides=2, padding="same")]),
        "mean_hw": ([6, 5, 8], [L.GlobalAveragePooling2D()]),
        "mean_hw_keepdims": ([4, 4, 8], [L.GlobalAveragePooling2D(keepdims=True)]),
        "pad": ([5, 4, 3], [L.ZeroPadding2D(((1, 2), (2, 0)))]),
        "reshape": ([4, 4, 2], [L.Conv2D(3, 1), L.Reshape((48,))]),
        "softmax": ([10], [L.Dense(10), L.Softmax()]),
        "logistic": ([16], [L.Dense(16, activation="sigmoid")]),
        "tanh": ([16], [L.Dense(16, activation="tanh")]),
        "hard_swish": ([16], [L.Dense(16), L.Activation(tf.nn.relu6), L.Lambda(lambda t: t)]),
    }
    for i, (name, (shape, layers)) in enumerate(single.items()):
        rng = seed(1000 + i)
        if name == "hard_swish":
            x = L.Input(shape, batch_size=1)
            d = L.Dense(16)(x)
            y = L.Lambda(lambda t: t * tf.nn.relu6(t + 3.0) / 6.0)(d)
            model = tf.keras.Model(x, y)
        else:
            model = conv_model(shape, layers)
        randomize_bias(model, rng)
        write_case(name, convert(model, [shape], rng), rng, manifest)

    # --- multi-op cases ---
    rng = seed(2000)
    x = L.Input([6, 6, 4], batch_size=1)
    a = L.Conv2D(4, 3, padding="same")(x)
    b = L.Conv2D(4, 1)(x)
    m = tf.keras.Model(x, L.Add()([a, b]))
    randomize_bias(m, rng)
    write_case("add", convert(m, [[6, 6, 4]], rng), rng, manifest)

    rng = seed(2001)
    x = L.Input([6, 6, 4], batch_size=1)
    a = L.Conv2D(4, 3, padding="same")(x)
    b = L.Conv2D(4, 1)(x)
    m = tf.keras.Model(x, L.ReLU()(L.Add()([a, b])))
    randomize_bias(m, rng)
    write_case("add_relu", convert(m, [[6, 6, 4]], rng), rng, manifest)

    rng = seed(2002)   # squeeze-and-excitation: MEAN keepdims, FC-like 1x1 convs, LOGISTIC, MUL broadcast
    x = L.Input([5, 5, 8], batch_size=1)
    f = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    s = L.GlobalAveragePooling2D(keepdims=True)(f)
    s = L.Conv2D(8, 1, activation="sigmoid")(s)
    m = tf.keras.Model(x, L.Multiply()([f, s]))
    randomize_bias(m, rng)
    write_case("mul_broadcast", convert(m, [[5, 5, 8]], rng), rng, manifest)

    rng = seed(2003)
    x = L.Input([6, 6, 4], batch_size=1)
    a = L.Conv2D(4, 3, padding="same")(x)
    b = L.Conv2D(4, 1)(x)
    m = tf.keras.Model(x, L.Multiply()([a, b]))
    randomize_bias(m, rng)
    write_case("mul", convert(m, [[6, 6, 4]], rng), rng, manifest)

    rng = seed(2004)
    x = L.Input([5, 5, 3], batch_size=1)
    a = L.Conv2D(4, 3, padding="same")(x)
    b = L.Conv2D(6, 1, activation="relu")(x)
    m = tf.keras.Model(x, L.Concatenate(axis=-1)([a, b]))
    randomize_bias(m, rng)
    write_case("concat_channels", convert(m, [[5, 5, 3]], rng), rng, manifest)

    rng = seed(2005)
    x = L.Input([4, 6, 3], batch_size=1)
    a = L.Conv2D(4, 1)(x)
    b = L.Conv2D(4, 3, padding="same")(x)
    m = tf.keras.Model(x, L.Concatenate(axis=1)([a, b]))
    randomize_bias(m, rng)
    write_case("concat_height", convert(m, [[4, 6, 3]], rng), rng, manifest)

    rng = seed(2006)
    x = L.Input([1, 1, 10], batch_size=1)
    y = L.Dense(6)(L.Reshape((10,))(x))
    m = tf.keras.Model(x, L.Reshape((1, 6))(y))
    randomize_bias(m, rng)
    tfl = convert(m, [[1, 1, 10]], rng)
    write_case("fc_reshape", tfl, rng, manifest)

    rng = seed(2007)
    x = L.Input([1, 1, 8], batch_size=1)
    y = L.Conv2D(5, 1)(x)
    m = tf.keras.Model(x, L.Lambda(lambda t: tf.squeeze(t, axis=[1, 2]))(y))
    randomize_bias(m, rng)
    write_case("squeeze", convert(m, [[1, 1, 8]], rng), rng, manifest)

    rng = seed(2008)   # a small DS-CNN: conv SAME stride 2, depthwise, pointwise, avg pool, FC, softmax
    x = L.Input([20, 10, 1], batch_size=1)
    y = L.Conv2D(8, (6, 4), strides=2, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu")(y)
    y = L.Conv2D(8, 1, activation="relu")(y)
    y = L.AveragePooling2D((10, 5))(y)
    y = L.Flatten()(y)
    y = L.Dense(4)(y)
    m = tf.keras.Model(x, L.Softmax()(y))
    randomize_bias(m, rng)
    write_case("dscnn_small", convert(m, [[20, 10, 1]], rng, spread=2.0), rng, manifest)

    rng = seed(2009)   # float input/output: QUANTIZE and DEQUANTIZE at the model boundary
    m = conv_model([12], [L.Dense(8, activation="relu"), L.Dense(4)])
    randomize_bias(m, rng)
    write_case("float_io", convert(m, [[12]], rng, int8_io=False), rng, manifest, float_io=True)


    # --- constant operands and broadcasting (ADD / MUL / CONCATENATION) ---
    def const_case(name, n, shape, fn, spread=1.0):
        rng = seed(n)
        x = L.Input(shape, batch_size=1)
        m = tf.keras.Model(x, L.Lambda(fn)(x))
        write_case(name, convert(m, [shape], rng, spread=spread), rng, manifest)

    cv = np.random.default_rng(4000)
    c8 = tf.constant(cv.normal(0, 1.0, [8]).astype(np.float32))
    c6 = tf.constant(cv.uniform(0.2, 2.0, [6]).astype(np.float32))
    c5 = tf.constant(cv.normal(0, 0.5, [1, 4, 4, 3]).astype(np.float32))
    c3 = tf.constant(cv.normal(0, 1.0, [1, 1, 3]).astype(np.float32))
    const_case("add_const_channel", 4001, [4, 5, 8], lambda t: t + c8)            # bias-like add
    const_case("add_const_channel_relu", 4002, [4, 5, 8], lambda t: tf.nn.relu(c8 + t))
    const_case("mul_const_channel", 4003, [3, 4, 6], lambda t: t * c6)            # scale mul
    const_case("mul_const_2d", 4004, [5, 6], lambda t: t * c6)                    # [N, C] * [C]
    const_case("add_const_scalar", 4005, [4, 4, 3], lambda t: t + 0.75)
    const_case("mul_const_scalar", 4006, [4, 4, 3], lambda t: t * -1.5)
    const_case("add_const_full", 4007, [4, 4, 3], lambda t: t + c5[0])            # same shape constant
    const_case("concat_const", 4008, [4, 4, 3], lambda t: tf.concat([t, tf.broadcast_to(c3, [1, 4, 4, 3])], axis=-1))

    rng = seed(4010)   # ADD of two activations with broadcasting: [1,H,W,C] + [1,1,1,C] (SE-style residual)
    x = L.Input([5, 5, 8], batch_size=1)
    f = L.Conv2D(8, 3, padding="same")(x)
    s = L.GlobalAveragePooling2D(keepdims=True)(L.Conv2D(8, 1)(x))
    m = tf.keras.Model(x, L.Lambda(lambda ab: ab[0] + ab[1])([f, s]))
    randomize_bias(m, rng)
    write_case("add_broadcast_channel", convert(m, [[5, 5, 8]], rng), rng, manifest)

    rng = seed(4011)   # broadcast operand first: [1,1,1,C] + [1,H,W,C], fused RELU
    x = L.Input([4, 6, 4], batch_size=1)
    f = L.Conv2D(4, 1)(x)
    s = L.GlobalAveragePooling2D(keepdims=True)(x)
    m = tf.keras.Model(x, L.ReLU()(L.Lambda(lambda ab: ab[1] + ab[0])([f, s])))
    randomize_bias(m, rng)
    write_case("add_broadcast_first", convert(m, [[4, 6, 4]], rng), rng, manifest)

    rng = seed(4012)   # [N, C] * [C] of two activations
    x = L.Input([6], batch_size=1)
    a = L.Dense(6)(x)
    b = L.Dense(6, activation="sigmoid")(x)
    m = tf.keras.Model(x, L.Lambda(lambda ab: ab[0] * ab[1])([a, b]))
    randomize_bias(m, rng)
    write_case("mul_activations_2d", convert(m, [[6]], rng), rng, manifest)

    # --- LOGISTIC / TANH, exhaustive: the op straight on the int8 model input, all 256 codes as one sample,
    # at 8 input qparams each (the representative data's mean / spread set the input scale and zero point) ---
    every_code = np.arange(-128, 128, dtype=np.int64).astype(np.int8).reshape(1, 256)
    lut_qparams = [(0.0, 0.02), (0.0, 0.3), (0.0, 1.0), (1.5, 2.0), (-3.0, 4.0), (0.0, 8.0), (5.0, 20.0), (-0.2, 0.05)]
    for fname, fn in (("logistic", tf.math.sigmoid), ("tanh", tf.math.tanh)):
        for j, (mu, sd) in enumerate(lut_qparams):
            rng = seed(5000 + j)
            x = L.Input([256], batch_size=1)
            m = tf.keras.Model(x, L.Lambda(fn)(x))
            conv = tf.lite.TFLiteConverter.from_keras_model(m)
            def rep(mu=mu, sd=sd):
                for _ in range(50):
                    yield [rng.normal(mu, sd, [1, 256]).astype(np.float32)]
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = rep
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
            write_case(f"{fname}_exhaustive_{j}", conv.convert(), rng, manifest, given=[every_code])

    # (LOGISTIC / TANH at 200 exact input qparams each, through ai-edge-litert and TensorFlow Lite Micro:
    # scripts/make_tflite_lut_sweep.py -> lut_sweep.npz)

    # --- error fixtures ---
    rng = seed(3000)
    m = conv_model([8], [L.Dense(4)])
    with open(os.path.join(OUT, "error_float_model.tflite"), "wb") as f:
        f.write(convert(m, [[8]], rng, quantize=False))
    manifest["errors"].append({"name": "error_float_model", "ops": op_names(os.path.join(OUT, "error_float_model.tflite"))})
    rng = seed(3001)
    x = L.Input([8], batch_size=1)
    m = tf.keras.Model(x, L.Subtract()([L.Dense(8)(x), x]))
    with open(os.path.join(OUT, "error_unsupported_sub.tflite"), "wb") as f:
        f.write(convert(m, [[8]], rng))
    manifest["errors"].append({"name": "error_unsupported_sub", "ops": op_names(os.path.join(OUT, "error_unsupported_sub.tflite"))})

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("errors:", manifest["errors"])


if __name__ == "__main__":
    main()
