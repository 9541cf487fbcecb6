#!/usr/bin/env python3
"""Accuracy comparison: MicroQuant's calibrate vs ONNX Runtime's quantize_static (dev-time only).

For every model, both tools quantize the same float ONNX model with the same calibration data;
both quantized models then run on the same test data, and this script computes, in one place and
the same way for both, the SQNR of output 0 against the float model (run by ONNX Runtime) and,
for classifiers, top-1 accuracy against the labels.

  ONNX Runtime: quantize_static, QDQ format, per-channel, QUInt8 activations, QInt8 weights,
                calibrate methods MinMax, Entropy, Percentile (ORT defaults: 128 quantized bins /
                2048 bins, percentile 99.999), run with the CPU execution provider.
  MicroQuant:   `calibrate MODEL --data CALIB --observer X [--bias-correction] --test TEST --eval-output OUT.npy`,
                i.e. the packed model run by the C runtime (mq_model_run), the code the device runs; every
                observer with the default options and with --bias-correction (label "X+bc").

Models:
  mlp       examples/autoencoder.onnx (MLPerf-Tiny-style anomaly-detection autoencoder, Gemm+ReLU)
  tinyconv  examples/tinyconv.onnx (1x1-conv net with SiLU and a sigmoid head; binary labels)
  dfl       the YOLOv8 DFL head fixture (Reshape, Transpose, Softmax over 16 bins, 1x1 conv 0..15)
            with logits drawn from N(0, 3^2)
  digits    a 64-32-10 MLP trained here (numpy) on REAL data: the UCI optical handwritten digits
            (1797 8x8 images) as shipped inside the scikit-learn wheel (sklearn/datasets/data/digits.csv.gz;
            the wheel is fetched with `pip download scikit-learn --no-deps`, never installed)

Usage (from the repository root, after `swift build -c release --product calibrate`):
  python3 scripts/compare_ort.py [--calibrate .build/release/calibrate] [--work /tmp/mq-compare]
                                 [--models mlp,tinyconv,dfl,digits] [--markdown] [--extra "--weights mse"]
"""
import argparse
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_static)

# (label, calibrate arguments): every observer with its default, plus percentile at ORT's default 99.999
OBSERVERS = [("minmax", ["--observer", "minmax"]), ("moving-average", ["--observer", "moving-average"]),
             ("histogram", ["--observer", "histogram"]), ("percentile", ["--observer", "percentile"]),
             ("percentile:99.999", ["--observer", "percentile", "--percentile", "99.999"]),
             ("entropy", ["--observer", "entropy"]), ("mse", ["--observer", "mse"])]
# ... each also with --bias-correction (label "X+bc")
OBSERVERS += [(label + "+bc", extra + ["--bias-correction"]) for label, extra in OBSERVERS]
ORT_METHODS = {"MinMax": CalibrationMethod.MinMax, "Entropy": CalibrationMethod.Entropy,
               "Percentile": CalibrationMethod.Percentile}


def sqnr(f, q):
    f = f.astype(np.float64).ravel()
    q = q.astype(np.float64).ravel()
    noise = np.sum((f - q) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(np.sum(f * f) / noise)


def input_info(path):
    m = onnx.load(path)
    inits = {i.name for i in m.graph.initializer}
    inp = [i for i in m.graph.input if i.name not in inits][0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    return inp.name, dims


def run_ort(path, x):
    """Runs a model on all samples x [N, ...]; per sample when the batch dimension is fixed to 1."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name, dims = input_info(path)
    if dims and dims[0] == 1 and len(dims) == x.ndim:
        return np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])
    if dims and dims[0] == 1:
        return np.concatenate([sess.run(None, {name: x[i][None]})[0] for i in range(len(x))])
    return sess.run(None, {name: x})[0]


class Reader(CalibrationDataReader):
    def __init__(self, path, x):
        self.name, dims = input_info(path)
        self.fixed = bool(dims) and dims[0] == 1
        self.x = x
        self.i = 0

    def get_next(self):
        if self.i >= len(self.x):
            return None
        if self.fixed:
            batch = self.x[self.i:self.i + 1]
            self.i += 1
        else:
            batch = self.x[self.i:self.i + 50]
            self.i += 50
        return {self.name: batch}


def metrics(ref, q, labels):
    ref = ref.reshape(len(ref), -1)
    q = q.reshape(len(q), -1)
    out = {"sqnr": sqnr(ref, q)}
    if labels is not None:
        if ref.shape[1] == 1:
            pred = (q[:, 0] > 0.5).astype(np.int64)
        else:
            pred = q.argmax(1)
        out["top1"] = float(np.mean(pred == labels.astype(np.int64)))
    return out


# ---------------------------------------------------------------- models

def digits_data(work):
    """The UCI optical digits as shipped in the scikit-learn wheel (real data)."""
    cache = os.path.join(work, "digits.csv.gz")
    if not os.path.exists(cache):
        wdir = os.path.join(work, "wheel")
        os.makedirs(wdir, exist_ok=True)
        if not any(f.endswith(".whl") for f in os.listdir(wdir)):
            subprocess.run([sys.executable, "-m", "pip", "download", "scikit-learn", "--no-deps", "-d", wdir, "-q"], check=True)
        whl = [f for f in os.listdir(wdir) if f.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(wdir, whl)) as z:
            open(cache, "wb").write(z.read("sklearn/datasets/data/digits.csv.gz"))
    data = np.loadtxt(io.StringIO(gzip.open(cache).read().decode()), delimiter=",")
    x = (data[:, :64] / 16.0).astype(np.float32)
    y = data[:, 64].astype(np.int64)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(x))
    return x[perm], y[perm]


def make_digits(work):
    x, y = digits_data(work)
    xtr, ytr, xte, yte = x[:1200], y[:1200], x[1200:], y[1200:]
    rng = np.random.default_rng(1)
    w1 = rng.normal(0, np.sqrt(2 / 64), (32, 64)).astype(np.float64)
    b1 = np.zeros(32)
    w2 = rng.normal(0, np.sqrt(1 / 32), (10, 32))
    b2 = np.zeros(10)
    params = [w1, b1, w2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(10)[ytr]
    for step in range(1, 601):  # full-batch Adam, softmax cross-entropy
        h = np.maximum(xtr @ w1.T + b1, 0)
        z = h @ w2.T + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dz = (p - onehot) / len(xtr)
        gw2 = dz.T @ h
        gb2 = dz.sum(0)
        dh = (dz @ w2) * (h > 0)
        gw1 = dh.T @ xtr
        gb1 = dh.sum(0)
        for i, g in enumerate([gw1 + 1e-4 * w1, gb1, gw2 + 1e-4 * w2, gb2]):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            params[i] -= 0.01 * (m[i] / (1 - 0.9 ** step)) / (np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
    w1, b1, w2, b2 = params
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in
             [(w1, "fc1.weight"), (b1, "fc1.bias"), (w2, "fc2.weight"), (b2, "fc2.bias")]]
    nodes = [helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h"], name="/fc1/Gemm", transB=1),
             helper.make_node("Relu", ["h"], ["hr"], name="/relu/Relu"),
             helper.make_node("Gemm", ["hr", "fc2.weight", "fc2.bias"], ["output"], name="/fc2/Gemm", transB=1)]
    g = helper.make_graph(nodes, "digits_mlp",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 64])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 10])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="compare_ort.py")
    path = os.path.join(work, "digits_mlp.onnx")
    onnx.save(model, path)
    np.save(os.path.join(work, "digits_calib.npy"), xtr[:500])
    np.save(os.path.join(work, "digits_test.npy"), xte)
    np.save(os.path.join(work, "digits_test_labels.npy"), yte)
    return path, xtr[:500], xte, yte


def models(work, which):
    out = {}
    if "mlp" in which:
        out["mlp"] = ("examples/autoencoder.onnx", np.load("examples/autoencoder_calib.npy"),
                      np.load("examples/autoencoder_test.npy"), None)
    if "tinyconv" in which:
        out["tinyconv"] = ("examples/tinyconv.onnx", np.load("examples/tinyconv_calib.npy"),
                           np.load("examples/tinyconv_test.npy"), np.load("examples/tinyconv_test_labels.npy"))
    if "dfl" in which:
        rng = np.random.default_rng(7)
        path = "Tests/MicroQuantTests/Fixtures/onnx/dfl_head.onnx"
        _, dims = input_info(path)
        shape = [d for d in dims[1:]]
        out["dfl"] = (path, (3 * rng.standard_normal([500] + shape)).astype(np.float32),
                      (3 * rng.standard_normal([200] + shape)).astype(np.float32), None)
    if "digits" in which:
        p, c, t, l = make_digits(work)
        out["digits"] = (p, c, t, l)
    return out


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calibrate", default=".build/release/calibrate")
    ap.add_argument("--work", default="/tmp/mq-compare")
    ap.add_argument("--models", default="mlp,tinyconv,dfl,digits")
    ap.add_argument("--markdown", action="store_true", help="print the summary as a Markdown table")
    ap.add_argument("--extra", default="", help="extra calibrate arguments for every MicroQuant run, e.g. '--weights minmax'")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if not os.path.exists(args.calibrate):
        sys.exit(f"{args.calibrate} not found: run `swift build -c release --product calibrate` first")
    results = {}
    for name, (path, calib, test, labels) in models(args.work, args.models.split(",")).items():
        calib_path = os.path.join(args.work, f"{name}_calib.npy")
        test_path = os.path.join(args.work, f"{name}_test.npy")
        np.save(calib_path, calib)
        np.save(test_path, test)
        ref = run_ort(path, test)
        rows = []
        for mname, method in ORT_METHODS.items():
            qpath = os.path.join(args.work, f"{name}_ort_{mname}.onnx")
            quantize_static(path, qpath, Reader(path, calib), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method)
            rows.append(("onnxruntime", mname, metrics(ref, run_ort(qpath, test), labels)))
        for obs, extra in OBSERVERS:
            outp = os.path.join(args.work, f"{name}_mq_{obs}.npy")
            cmd = [args.calibrate, path, "--data", calib_path] + extra + ["--test", test_path,
                   "--eval-samples", str(len(test)), "--eval-output", outp, "-o", os.path.join(args.work, f"{name}_{obs}.mqm"), "-q"] + args.extra.split()
            res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if res.returncode != 0:
                sys.exit(f"calibrate failed ({' '.join(cmd)}):\n{res.stderr.strip()}\n"
                         "(an old binary? rebuild with `swift build -c release --product calibrate`)")
            rows.append(("microquant", obs, metrics(ref, np.load(outp), labels)))
        float_top1 = None
        if labels is not None:
            float_top1 = metrics(ref, ref, labels)["top1"]
        results[name] = {"rows": rows, "float_top1": float_top1, "test_samples": len(test), "calib_samples": len(calib)}
        print(f"\n== {name}: {path}, {len(calib)} calibration / {len(test)} test samples"
              + (f", float top-1 {100 * float_top1:.2f}%" if float_top1 is not None else ""))
        for tool, method, m in rows:
            print(f"  {tool:12s} {method:20s} SQNR {m['sqnr']:7.2f} dB" + (f"   top-1 {100 * m['top1']:.2f}%" if "top1" in m else ""))
    # summary: best of each tool
    lines = ["| model | test samples | ORT best (method) SQNR dB | MicroQuant best (observer) SQNR dB | gap dB | top-1 float / ORT best / MicroQuant best |",
             "|---|---|---|---|---|---|"]
    ok = True
    for name, r in results.items():
        ortb = max((x for x in r["rows"] if x[0] == "onnxruntime"), key=lambda x: x[2]["sqnr"])
        mqb = max((x for x in r["rows"] if x[0] == "microquant"), key=lambda x: x[2]["sqnr"])
        gap = mqb[2]["sqnr"] - ortb[2]["sqnr"]
        ok &= gap >= 0
        top = "–"
        if r["float_top1"] is not None:
            top = f"{100 * r['float_top1']:.2f}% / {100 * ortb[2]['top1']:.2f}% / {100 * mqb[2]['top1']:.2f}%"
        lines.append(f"| {name} | {r['test_samples']} | {ortb[2]['sqnr']:.2f} ({ortb[1]}) | {mqb[2]['sqnr']:.2f} ({mqb[1]}) | {gap:+.2f} | {top} |")
    print("\nSummary (SQNR of output 0 vs the float model on the test samples):")
    print("\n".join(lines))
    full = ["| model | tool | method | SQNR dB | top-1 |", "|---|---|---|---|---|"]
    for name, r in results.items():
        for tool, method, m in r["rows"]:
            full.append(f"| {name} | {tool} | {method} | {m['sqnr']:.2f} | " + (f"{100 * m['top1']:.2f}%" if "top1" in m else "–") + " |")
    if args.markdown:
        print("\nAll runs:")
        print("\n".join(full))
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)
    print("\nour best observer >= ORT's best on every model:", "yes" if ok else "NO")


if __name__ == "__main__":
    main()
