#!/usr/bin/env python3
"""MicroQuant's float-calibrated int8 models of the MLPerf Tiny KWS (DS-CNN) and AD (autoencoder) float ONNX models
next to the TFLite converter's own int8 models, both against the float model on the same inputs (dev-time only:
numpy, onnxruntime, ai-edge-litert).

For each model:
  float      onnxruntime on ../shared/models/mlperf-tiny/<model>_float.onnx
  tflite     the shipped int8 .tflite (TFLite converter), ai-edge-litert reference kernels (BUILTIN_REF, as TFLite
             Micro except FC rounding), input quantized with the file's input qparams, output dequantized
  microquant `calibrate MODEL --data CALIB --test TEST --eval-output OUT` (the packed model run by the C runtime,
             dequantized output), for each observer given
Metrics on the test inputs: SQNR (dB) of the output against float, 10 log10(sum f^2 / sum (f - q)^2), and for KWS
the share of samples whose argmax equals the float model's.

Data: KWS bench/data/kws_mfcc_calib.npy (200) / kws_mfcc_test.npy (300) from scripts/make_kws_data.py (MFCC of
synthesized audio); AD bench/data/ad01_calib.npy (128, scripts/make_bench_data.py) and 300 test frames from the same
generator with another seed.

Usage: swift build --product calibrate && python3 scripts/compare_mlperf_tflite.py [--calibrate PATH] [--observers a,b]
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter, OpResolverType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_models():
    d = ROOT
    for _ in range(6):
        cand = os.path.join(d, "shared", "models", "mlperf-tiny")
        if os.path.exists(os.path.join(cand, "kws_ref_model_float.onnx")):
            return cand
        d = os.path.dirname(d)
    sys.exit("shared/models/mlperf-tiny not found")


def sqnr(f, q):
    f = f.astype(np.float64).ravel()
    q = q.astype(np.float64).ravel()
    n = np.sum((f - q) ** 2)
    return float("inf") if n == 0 else 10 * np.log10(np.sum(f ** 2) / n)


def tflite_run(path, x):
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    s, z = inp["quantization"]
    os_, oz = out["quantization"]
    ys = []
    for i in range(x.shape[0]):
        q = np.clip(np.round(x[i:i + 1] / s) + z, -128, 127).astype(np.int8).reshape(inp["shape"])
        it.set_tensor(inp["index"], q)
        it.invoke()
        ys.append((it.get_tensor(out["index"]).astype(np.float64) - oz) * os_)
    return np.concatenate(ys).reshape(x.shape[0], -1), (s, z)


def ad_test_data(n):
    spec = importlib.util.spec_from_file_location("make_bench_data", os.path.join(ROOT, "scripts", "make_bench_data.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ad_frames(np.random.default_rng(20261205), n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calibrate", default=os.path.join(ROOT, ".build", "debug", "calibrate"))
    ap.add_argument("--observers", default="percentile,minmax,entropy,mse")
    ap.add_argument("--activations", default="int8", help="comma-separated: int8, uint8")
    args = ap.parse_args()
    models = find_models()
    tmp = tempfile.mkdtemp()
    ad_test = os.path.join(tmp, "ad01_test300.npy")
    np.save(ad_test, ad_test_data(300))
    cases = [
        ("KWS DS-CNN", "kws_ref_model_float.onnx", "kws_ref_model_int8.tflite",
         os.path.join(ROOT, "bench", "data", "kws_mfcc_calib.npy"), os.path.join(ROOT, "bench", "data", "kws_mfcc_test.npy"), True),
        ("AD autoencoder", "ad01_float.onnx", "ad01_int8.tflite",
         os.path.join(ROOT, "bench", "data", "ad01_calib.npy"), ad_test, False),
    ]
    rows = []
    for label, fmodel, tmodel, calib, test, classifier in cases:
        x = np.load(test).astype(np.float32)
        sess = ort.InferenceSession(os.path.join(models, fmodel), providers=["CPUExecutionProvider"])
        f = sess.run(None, {sess.get_inputs()[0].name: x})[0].reshape(x.shape[0], -1)
        t, _ = tflite_run(os.path.join(models, tmodel), x)
        def top1(q):
            return f"{np.mean(q.argmax(1) == f.argmax(1)) * 100:.2f}%" if classifier else "-"
        rows.append((label, "TFLite converter int8 (file)", "-", x.shape[0], sqnr(f, t), top1(t)))
        for obs in args.observers.split(","):
            for act in args.activations.split(","):
                out = os.path.join(tmp, f"{fmodel}_{obs}_{act}.npy")
                cmd = [args.calibrate, os.path.join(models, fmodel), "--data", calib, "--test", test, "--eval-samples",
                       str(x.shape[0]), "--eval-output", out, "--observer", obs, "--activations", act, "-q",
                       "-o", os.path.join(tmp, "m.mqm")]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    print(r.stderr, file=sys.stderr)
                    rows.append((label, f"MicroQuant {obs} {act}", "error", x.shape[0], float("nan"), "-"))
                    continue
                q = np.load(out).reshape(x.shape[0], -1)
                rows.append((label, f"MicroQuant {obs}", act, x.shape[0], sqnr(f, q), top1(q)))
        print(f"{label}: float top-1 classes on the test set: {np.bincount(f.argmax(1))}" if classifier else "", file=sys.stderr)
    print("| model | quantized by | activations | test samples | output SQNR vs float (dB) | top-1 = float |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]} |")


if __name__ == "__main__":
    main()
