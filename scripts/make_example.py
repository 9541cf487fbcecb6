#!/usr/bin/env python3
"""Builds the bundled example models and their data in examples/ (dev-time; python3 + numpy + onnx,
onnxruntime only to check the exported models). Deterministic (fixed seeds).

1. examples/tinyconv.onnx: a 1x1-conv net with SiLU and a sigmoid head, trained here with numpy
   (hand-written backprop, Adam) on a synthetic vision task: an 8x8 RGB image holds one coloured
   Gaussian blob on noise; the label is 1 when (the blob is reddish, r > b) XOR (the blob is in the
   left half); colours and positions keep a margin from the two decision boundaries. Architecture (as torch.onnx.export writes nn.Conv2d/nn.SiLU/nn.Flatten/nn.Linear/
   nn.Sigmoid, opset 17, dynamic batch):
       input [N,3,8,8] -> Conv1x1 3->16 -> SiLU -> Conv1x1 16->32 stride 2 -> SiLU
       -> Conv1x1 32->16 -> SiLU -> Flatten -> Gemm 256->1 -> Sigmoid -> output [N,1]
   Data: tinyconv_calib.npy (1000 samples), tinyconv_test.npy (500), tinyconv_test_labels.npy.

2. examples/autoencoder.onnx: the MLPerf Tiny anomaly-detection autoencoder shape (Gemm 640->128,
   128->128 x3, 128->8, 8->128, 128->128 x3, 128->640, ReLU between, linear output), trained here
   with numpy (MSE, Adam) on synthetic "machine sound" log-mel frames: 5 frames x 128 mel bins
   made from a few harmonic spectral templates with slowly varying gains plus noise.
   Data: autoencoder_calib.npy (500), autoencoder_test.npy (300: 200 normal then 100 anomalous
   frames with an extra tonal component), autoencoder_test_labels.npy (0 normal, 1 anomalous).

Usage: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 scripts/make_example.py
(one BLAS thread makes the training, and so the committed files, byte-identical on rerun)
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "examples")


# ----------------------------------------------------------------------------------------------
# tinyconv
# ----------------------------------------------------------------------------------------------

def blob_images(rng, n):
    yy, xx = np.mgrid[0:8, 0:8].astype(np.float32)
    cy = rng.uniform(0.5, 6.5, n).astype(np.float32)
    # keep a margin around the decision boundaries (blob centre column 3.5, r = b)
    cx = np.where(rng.random(n) < 0.5, rng.uniform(0.5, 2.8, n), rng.uniform(4.2, 6.5, n)).astype(np.float32)
    color = rng.uniform(0, 1, (n, 3)).astype(np.float32)
    gap = color[:, 0] - color[:, 2]
    push = np.where(np.abs(gap) < 0.3, np.sign(gap + 1e-6) * (0.3 - np.abs(gap)) / 2, 0)
    color[:, 0] = np.clip(color[:, 0] + push, 0, 1)
    color[:, 2] = np.clip(color[:, 2] - push, 0, 1)
    amp = rng.uniform(1.0, 2.0, n).astype(np.float32)
    g = np.exp(-((yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2) / (2 * 1.3 ** 2))
    x = amp[:, None, None, None] * color[:, :, None, None] * g[:, None]
    x += rng.normal(0, 0.15, x.shape).astype(np.float32)
    label = ((color[:, 0] > color[:, 2]) ^ (cx < 3.5)).astype(np.float32)
    return x.astype(np.float32), label


def sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def tiny_forward(p, x):
    c = {}
    c["z1"] = np.einsum("oc,nchw->nohw", p["w1"], x) + p["b1"][None, :, None, None]
    c["s1"] = sigmoid(c["z1"]); c["a1"] = c["z1"] * c["s1"]
    c["a1s"] = c["a1"][:, :, ::2, ::2]
    c["z2"] = np.einsum("oc,nchw->nohw", p["w2"], c["a1s"]) + p["b2"][None, :, None, None]
    c["s2"] = sigmoid(c["z2"]); c["a2"] = c["z2"] * c["s2"]
    c["z3"] = np.einsum("oc,nchw->nohw", p["w3"], c["a2"]) + p["b3"][None, :, None, None]
    c["s3"] = sigmoid(c["z3"]); c["a3"] = c["z3"] * c["s3"]
    c["f"] = c["a3"].reshape(x.shape[0], -1)
    c["z4"] = c["f"] @ p["w4"].T + p["b4"]
    c["p"] = sigmoid(c["z4"])[:, 0]
    return c


def tiny_grads(p, x, y, c):
    n = x.shape[0]
    g = {}
    dz4 = ((c["p"] - y) / n)[:, None]
    g["w4"] = dz4.T @ c["f"]; g["b4"] = dz4.sum(0)
    da3 = (dz4 @ p["w4"]).reshape(c["a3"].shape)
    dsilu = lambda z, s: s * (1 + z * (1 - s))
    dz3 = da3 * dsilu(c["z3"], c["s3"])
    g["w3"] = np.einsum("nohw,nchw->oc", dz3, c["a2"]); g["b3"] = dz3.sum((0, 2, 3))
    da2 = np.einsum("oc,nohw->nchw", p["w3"], dz3)
    dz2 = da2 * dsilu(c["z2"], c["s2"])
    g["w2"] = np.einsum("nohw,nchw->oc", dz2, c["a1s"]); g["b2"] = dz2.sum((0, 2, 3))
    da1 = np.zeros_like(c["a1"])
    da1[:, :, ::2, ::2] = np.einsum("oc,nohw->nchw", p["w2"], dz2)
    dz1 = da1 * dsilu(c["z1"], c["s1"])
    g["w1"] = np.einsum("nohw,nchw->oc", dz1, x); g["b1"] = dz1.sum((0, 2, 3))
    return g


def adam(params, grads_fn, batches, lr=3e-3, epochs=1):
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    t = 0
    for _ in range(epochs):
        for xb, yb in batches():
            g = grads_fn(params, xb, yb)
            t += 1
            for k in params:
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
                params[k] -= lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return params


def batches_of(rng, x, y, bs):
    def gen():
        idx = rng.permutation(len(x))
        for i in range(0, len(x), bs):
            j = idx[i:i + bs]
            yield x[j], y[j]
    return gen


def opset_model(nodes, inits, in_shape, out_name, out_shape, graph_name):
    g = helper.make_graph(nodes, graph_name,
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch",
                          producer_version="2.5.0")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def conv(name, x, w, b, strides=(1, 1)):
    out = f"/{name}/Conv_output_0"
    node = helper.make_node("Conv", [x, f"{name}.weight", f"{name}.bias"], [out], name=f"/{name}/Conv",
                            dilations=[1, 1], group=1, kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=list(strides))
    inits = [numpy_helper.from_array(w.reshape(w.shape[0], w.shape[1], 1, 1).astype(np.float32), f"{name}.weight"),
             numpy_helper.from_array(b.astype(np.float32), f"{name}.bias")]
    return node, inits, out


def silu(name, x):
    s = f"/{name}/Sigmoid_output_0"
    out = f"/{name}/Mul_output_0"
    return [helper.make_node("Sigmoid", [x], [s], name=f"/{name}/Sigmoid"),
            helper.make_node("Mul", [x, s], [out], name=f"/{name}/Mul")], out


def gemm(name, x, w, b, out=None):
    out = out or f"/{name}/Gemm_output_0"
    node = helper.make_node("Gemm", [x, f"{name}.weight", f"{name}.bias"], [out], name=f"/{name}/Gemm",
                            alpha=1.0, beta=1.0, transB=1)
    return node, [numpy_helper.from_array(w.astype(np.float32), f"{name}.weight"),
                  numpy_helper.from_array(b.astype(np.float32), f"{name}.bias")], out


def export_tiny(p):
    nodes, inits = [], []
    n, i, y = conv("features.0", "input", p["w1"], p["b1"]); nodes.append(n); inits += i
    ns, y = silu("features.1", y); nodes += ns
    n, i, y = conv("features.2", y, p["w2"], p["b2"], strides=(2, 2)); nodes.append(n); inits += i
    ns, y = silu("features.3", y); nodes += ns
    n, i, y = conv("features.4", y, p["w3"], p["b3"]); nodes.append(n); inits += i
    ns, y = silu("features.5", y); nodes += ns
    nodes.append(helper.make_node("Flatten", [y], ["/flatten/Flatten_output_0"], name="/flatten/Flatten", axis=1))
    n, i, y = gemm("head", "/flatten/Flatten_output_0", p["w4"], p["b4"]); nodes.append(n); inits += i
    nodes.append(helper.make_node("Sigmoid", [y], ["output"], name="/sigmoid/Sigmoid"))
    return opset_model(nodes, inits, ["batch_size", 3, 8, 8], "output", ["batch_size", 1], "tinyconv")


def make_tinyconv():
    rng = np.random.default_rng(7)
    xtr, ytr = blob_images(rng, 4000)
    xcal, _ = blob_images(rng, 1000)
    xte, yte = blob_images(rng, 500)
    he = lambda o, i: (rng.standard_normal((o, i)) * np.sqrt(2.0 / i)).astype(np.float32)
    p = {"w1": he(16, 3), "b1": np.zeros(16, np.float32), "w2": he(32, 16), "b2": np.zeros(32, np.float32),
         "w3": he(16, 32), "b3": np.zeros(16, np.float32), "w4": he(1, 256) * 0.5, "b4": np.zeros(1, np.float32)}
    grads = lambda p, x, y: tiny_grads(p, x, y, tiny_forward(p, x))
    for lr in (3e-3, 1e-3, 3e-4):
        p = adam(p, grads, batches_of(rng, xtr, ytr, 64), lr=lr, epochs=20)
    acc = lambda x, y: float(((tiny_forward(p, x)["p"] > 0.5) == (y > 0.5)).mean())
    print(f"tinyconv: train accuracy {acc(xtr, ytr):.3f}, test accuracy {acc(xte, yte):.3f}")
    m = export_tiny(p)
    path = os.path.join(OUT, "tinyconv.onnx")
    onnx.save(m, path)
    y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": xte})[0][:, 0]
    ref = tiny_forward(p, xte)["p"]
    assert np.max(np.abs(y - ref)) < 1e-5, np.max(np.abs(y - ref))
    print(f"tinyconv: onnxruntime test accuracy {float(((y > 0.5) == (yte > 0.5)).mean()):.3f}, "
          f"{sum(v.size for v in p.values())} parameters")
    np.save(os.path.join(OUT, "tinyconv_calib.npy"), xcal)
    np.save(os.path.join(OUT, "tinyconv_test.npy"), xte)
    np.save(os.path.join(OUT, "tinyconv_test_labels.npy"), yte.astype(np.float32))


# ----------------------------------------------------------------------------------------------
# autoencoder
# ----------------------------------------------------------------------------------------------

AE_DIMS = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]


def machine_frames(rng, n, anomalous=False):
    mel = np.arange(128, dtype=np.float32)
    templates = []
    for f0 in (6.0, 9.5, 14.0):
        t = sum(np.exp(-((mel - f0 * h) ** 2) / (2 * (1.5 + 0.3 * h) ** 2)) / h for h in range(1, 8))
        templates.append(t)
    templates = np.stack(templates)  # [3, 128]
    gains = rng.uniform(0.5, 1.5, (n, 3)).astype(np.float32)
    drift = rng.normal(0, 0.05, (n, 5, 3)).astype(np.float32)
    spec = np.einsum("nft,tm->nfm", gains[:, None, :] + drift, templates)
    if anomalous:
        f = rng.uniform(20, 110, n)
        spec += 0.8 * np.exp(-((mel[None, :] - f[:, None]) ** 2) / 8.0)[:, None, :]
    logmel = np.log(spec + 0.05) + rng.normal(0, 0.05, spec.shape)
    return ((logmel + 1.5) / 1.5).reshape(n, 640).astype(np.float32)


def ae_forward(p, x):
    acts = [x]
    for i in range(10):
        z = acts[-1] @ p[f"w{i}"].T + p[f"b{i}"]
        acts.append(np.maximum(z, 0) if i < 9 else z)
    return acts


def ae_grads(p, x, _y):
    acts = ae_forward(p, x)
    g = {}
    d = 2 * (acts[-1] - x) / x.size
    for i in reversed(range(10)):
        if i < 9:
            d = d * (acts[i + 1] > 0)
        g[f"w{i}"] = d.T @ acts[i]
        g[f"b{i}"] = d.sum(0)
        d = d @ p[f"w{i}"]
    return g


def make_autoencoder():
    rng = np.random.default_rng(11)
    xtr = machine_frames(rng, 3000)
    xcal = machine_frames(rng, 500)
    xte = np.concatenate([machine_frames(rng, 200), machine_frames(rng, 100, anomalous=True)])
    lab = np.concatenate([np.zeros(200), np.ones(100)]).astype(np.float32)
    p = {}
    for i in range(10):
        fan_in, fan_out = AE_DIMS[i], AE_DIMS[i + 1]
        p[f"w{i}"] = (rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        p[f"b{i}"] = np.zeros(fan_out, np.float32)
    for lr in (1e-3, 3e-4):
        p = adam(p, ae_grads, batches_of(rng, xtr, xtr, 64), lr=lr, epochs=10)
    err = lambda x: ((ae_forward(p, x)[-1] - x) ** 2).mean(1)
    e = err(xte)
    # AUC of the reconstruction error as an anomaly score
    pos, neg = e[lab == 1], e[lab == 0]
    auc = float((pos[:, None] > neg[None, :]).mean())
    print(f"autoencoder: train MSE {err(xtr).mean():.4f}, test normal MSE {neg.mean():.4f}, "
          f"anomalous MSE {pos.mean():.4f}, AUC {auc:.3f}")
    nodes, inits = [], []
    x = "input"
    for i in range(10):
        last = i == 9
        n, ini, y = gemm(f"layers.{2 * i}", x, p[f"w{i}"], p[f"b{i}"], out="output" if last else None)
        nodes.append(n); inits += ini
        if not last:
            r = f"/layers.{2 * i + 1}/Relu_output_0"
            nodes.append(helper.make_node("Relu", [y], [r], name=f"/layers.{2 * i + 1}/Relu"))
            y = r
        x = y
    m = opset_model(nodes, inits, ["batch_size", 640], "output", ["batch_size", 640], "autoencoder")
    path = os.path.join(OUT, "autoencoder.onnx")
    onnx.save(m, path)
    y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": xte})[0]
    assert np.max(np.abs(y - ae_forward(p, xte)[-1])) < 1e-3
    np.save(os.path.join(OUT, "autoencoder_calib.npy"), xcal)
    np.save(os.path.join(OUT, "autoencoder_test.npy"), xte)
    np.save(os.path.join(OUT, "autoencoder_test_labels.npy"), lab)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_tinyconv()
    make_autoencoder()
