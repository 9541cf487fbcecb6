#!/usr/bin/env python3
"""QDQ agreement layer by layer: cuts a QDQ fixture of scripts/make_qdq_fixtures.py after every QuantizeLinear ->
DequantizeLinear pair (the graph output becomes that DequantizeLinear's output), runs onnxruntime and MicroQuant
(`calibrate MODEL --data X`, the C runtime) on the cut model, and prints the share of identical codes and the
largest code difference per cut. Dev-time diagnosis only (numpy, onnx, onnxruntime).

Usage: swift build --product calibrate && python3 scripts/qdq_layer_agreement.py kws_qdq_u8 [max_samples]
       python3 scripts/qdq_layer_agreement.py MODEL.onnx DATA.npy [max_samples]   (any QDQ model and inputs)
       CALIBRATE=.build/release/calibrate picks another calibrate binary; ROUNDING=onnxruntime packs with
       `calibrate --rounding onnxruntime`.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

ort.set_default_logger_severity(3)
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx_qdq")
DATA = {"kws_qdq": os.path.join(ROOT, "bench", "data", "kws_mfcc_test.npy"),
        "ad01_qdq": os.path.join(ROOT, "bench", "data", "ad01_test.npy")}


def cut(model, out_name):
    """The model with out_name (a DequantizeLinear output) as its only output, unused nodes removed."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    producers = {o: n for n in m.graph.node for o in n.output}
    need, stack = set(), [out_name]
    while stack:
        t = stack.pop()
        n = producers.get(t)
        if n is None or id(n) in need:
            continue
        need.add(id(n))
        stack.extend(n.input)
    keep = [n for n in m.graph.node if id(n) in need]
    del m.graph.node[:]
    m.graph.node.extend(keep)
    del m.graph.output[:]
    m.graph.output.extend([onnx.helper.make_tensor_value_info(out_name, onnx.TensorProto.FLOAT, None)])
    return m


def main():
    stem = sys.argv[1] if len(sys.argv) > 1 else "kws_qdq_u8"
    exe = os.environ.get("CALIBRATE", os.path.join(ROOT, ".build", "debug", "calibrate"))
    if stem.endswith(".onnx"):
        limit = int(sys.argv[3]) if len(sys.argv) > 3 else 100
        x = np.load(sys.argv[2])[:limit].astype(np.float32)
        model = onnx.load(stem)
    else:
        limit = int(sys.argv[2]) if len(sys.argv) > 2 else 100
        base = stem.rsplit("_", 1)[0]
        x = np.load(DATA.get(base, os.path.join(FIX, f"{base}_input.npy")))[:limit].astype(np.float32)
        model = onnx.load(os.path.join(FIX, f"{stem}.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    tmp = tempfile.mkdtemp()
    xp = os.path.join(tmp, "x.npy")
    np.save(xp, x)
    producers = {o: n for n in model.graph.node for o in n.output}
    print("| after | node feeding the QuantizeLinear | codes | identical | largest difference | samples with a difference |")
    print("|---|---|---|---|---|---|")
    for n in model.graph.node:
        if n.op_type != "DequantizeLinear" or n.input[0] not in producers:
            continue
        q = producers[n.input[0]]
        if q.op_type != "QuantizeLinear" or q.input[0] not in producers:
            continue
        src = producers[q.input[0]]
        if src.op_type in ("DequantizeLinear", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten"):
            continue
        m = cut(model, n.output[0])
        mp = os.path.join(tmp, "cut.onnx")
        onnx.save(m, mp)
        so = ort.SessionOptions()
        so.log_severity_level = 3
        ref = ort.InferenceSession(mp, so, providers=["CPUExecutionProvider"]).run(None, {m.graph.input[0].name: x})[0]
        out = os.path.join(tmp, "y.npy")
        r = subprocess.run([exe, mp, "--data", xp, "--eval-samples", str(len(x)), "--eval-output", out, "-q",
                            "-o", os.path.join(tmp, "m.mqm")] + (["--rounding", os.environ["ROUNDING"]] if os.environ.get("ROUNDING") else []), capture_output=True, text=True)
        if r.returncode != 0:
            print(f"| {n.output[0]} | {src.op_type} | error: {r.stderr.strip()[:120]} | | |")
            continue
        s, z = float(inits[q.input[1]]), int(inits[q.input[2]]) if len(q.input) > 2 else 0
        ours = np.round(np.load(out).reshape(-1) / s) + z
        theirs = np.round(ref.reshape(-1) / s) + z
        same = np.mean(ours == theirs) * 100
        bad = np.nonzero(np.any((ours != theirs).reshape(len(x), -1), axis=1))[0]
        print(f"| {q.input[0]} | {src.op_type} {src.name} | {ours.size} | {same:.2f}% | {int(np.max(np.abs(ours - theirs)))} | "
              f"{' '.join(map(str, bad[:16]))}{' ...' if len(bad) > 16 else ''} |")


if __name__ == "__main__":
    main()
