#!/usr/bin/env python3
"""QDQ import agreement: MicroQuant packs onnxruntime's QDQ models (scripts/make_qdq_fixtures.py) with the qparams
from the graph (`calibrate MODEL_qdq.onnx --data X`, run by the C runtime) and onnxruntime runs the same QDQ models;
per model: share of identical output codes, largest code difference, SQNR (dB) of both against the float model.

The two MLPerf Tiny stand-ins (bench/models) are quantized here by onnxruntime's quantize_static as
scripts/bench-host-batch.py does (scripts/ort_standins.py: QDQ, uint8 activations, the float Transpose NHWC -> NCHW
of the input left before the first QuantizeLinear) and compared on their test inputs, their calibration inputs and
256 of the bench's noisy inputs (negative pixels too: the input quantization's clamp).

Usage: swift build --product calibrate && python3 scripts/compare_qdq_ort.py [CALIBRATE] [--rounding onnxruntime] [--strict]
       (dev-time: numpy, onnx, onnxruntime)
       --rounding onnxruntime: pack with `calibrate --rounding onnxruntime` (onnxruntime's float32 output stage);
       --strict: exit 1 unless every output code of every model equals onnxruntime's (the check of that mode).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_standins import STANDINS, bench_inputs, ort_quantize  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "MicroQuantTests", "Fixtures", "onnx_qdq")
NAMES = ["conv3x3_pad1", "depthwise_bn_relu6", "avgpool3x3_s2_pad", "maxpool3x3_s2_pad", "global_avgpool_head",
         "concat_channels", "mul_activations", "squeeze_excitation", "resnet_block", "mobilenet_block", "tf2onnx_nhwc",
         "input_transpose", "input_views"]
LABELS = {"kws_qdq": "KWS DS-CNN", "ad01_qdq": "AD", "tf2onnx_nhwc": "tf2onnx_nhwc (DQ -> ReduceMean -> Q)"}
# MLPerf Tiny models (scripts/make_qdq_fixtures.py): fixture stem -> test inputs
MLPERF = {"kws_qdq": os.path.join(ROOT, "bench", "data", "kws_mfcc_test.npy"),
          "ad01_qdq": os.path.join(ROOT, "bench", "data", "ad01_test.npy")}


def out_qparams(path):
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    out = m.graph.output[0].name
    producers = {n.output[0]: n for n in m.graph.node}
    while out in producers and producers[out].op_type in ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze"):
        out = producers[out].input[0]   # float data movement after the last DequantizeLinear: the same codes
    dq = next((n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == out), None)
    if dq is None:
        return None   # onnxruntime left the last op (a lone pool) in float: no output codes to compare
    return float(inits[dq.input[1]]), int(inits[dq.input[2]])


def sqnr(f, q):
    n = np.sum((f.astype(np.float64) - q) ** 2)
    return float("inf") if n == 0 else 10 * np.log10(np.sum(f.astype(np.float64) ** 2) / n)


EXTRA = []     # extra calibrate options (--rounding onnxruntime)
MISMATCH = []  # models with a code unlike onnxruntime's


def main():
    args = sys.argv[1:]
    strict = "--strict" in args
    args = [a for a in args if a != "--strict"]
    if "--rounding" in args:
        i = args.index("--rounding")
        EXTRA.extend(args[i:i + 2])
        del args[i:i + 2]
    exe = args[0] if args else os.path.join(ROOT, ".build", "debug", "calibrate")
    tmp = tempfile.mkdtemp()
    print("| model | activations | output codes | identical | largest difference (codes) | SQNR vs float: MicroQuant / ORT (dB) |")
    print("|---|---|---|---|---|---|")
    tot_same = tot = rest_same = rest = 0
    top1 = []
    for name in NAMES + list(MLPERF):
        for tag in ["u8", "s8"]:
            model = os.path.join(FIX, f"{name}_{tag}.onnx")
            x = MLPERF.get(name, os.path.join(FIX, f"{name}_input.npy"))
            out = os.path.join(tmp, "y.npy")
            n = np.load(x, mmap_mode="r").shape[0]
            if EXTRA and out_qparams(model) is None:
                print(f"| {name} | {'uint8' if tag == 'u8' else 'int8'} | (float model: no QDQ, --rounding onnxruntime does not apply) | | | |")
                continue
            r = subprocess.run([exe, model, "--data", x, "--eval-samples", str(n), "--eval-output", out, "-q",
                                "-o", os.path.join(tmp, "m.mqm")] + EXTRA, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"| {name} | {tag} | error: {r.stderr.strip()[:160]} | | | |")
                MISMATCH.append(f"{name}_{tag} (error)")
                continue
            if out_qparams(model) is None:
                print(f"| {name} | {'uint8' if tag == 'u8' else 'int8'} | (float output: onnxruntime leaves the lone pool unquantized) | | | |")
                continue
            s, z = out_qparams(model)
            ours = np.load(out).reshape(-1).astype(np.float64)
            ort = np.load(os.path.join(FIX, f"{name}_{tag}_ort.npy")).reshape(-1).astype(np.float64)
            f = np.load(os.path.join(FIX, f"{name}_float.npy")).reshape(-1)
            name_shown = LABELS.get(name, name)
            if name in MLPERF:
                name_shown += f" ({'per-channel' if tag == 'u8' else 'per-tensor'} weights)"
            elif name == "mobilenet_block":
                name_shown += f" (softmax at {'1/255' if tag == 'u8' else '1/256'})"
            co, ct = np.round(ours / s) + z, np.round(ort / s) + z
            same = int(np.sum(co == ct))
            if same != co.size:
                MISMATCH.append(f"{name}_{tag}")
            tot_same += same
            tot += co.size
            if name != "kws_qdq":
                rest_same += same
                rest += co.size
            else:
                k = co.reshape(n, -1)
                top1.append(f"{tag}: {np.mean(k.argmax(1) == ct.reshape(n, -1).argmax(1)) * 100:.1f}%")
            print(f"| {name_shown} | {'uint8' if tag == 'u8' else 'int8'} | {co.size} | {same / co.size * 100:.2f}% | "
                  f"{int(np.max(np.abs(co - ct)))} | {sqnr(f, ours):.2f} / {sqnr(f, ort):.2f} |")
    print(f"\nall models: {tot_same} of {tot} output codes identical ({tot_same / tot * 100:.2f}%); "
          f"all but KWS: {rest_same} of {rest} ({rest_same / rest * 100:.2f}%)")
    print(f"KWS top-1 class equal to onnxruntime's: {', '.join(top1)}")
    standins(exe, tmp)
    if strict:
        if MISMATCH:
            print(f"FAILED: output codes unlike onnxruntime's in {', '.join(MISMATCH)}")
            sys.exit(1)
        print("every output code equal to onnxruntime's")


def standins(exe, tmp):
    """The bench stand-ins, quantized by onnxruntime (QDQ, float input Transpose), MicroQuant vs onnxruntime."""
    import onnxruntime as ort
    print("\n| stand-in (onnxruntime QDQ, uint8) | inputs | output codes | identical | largest difference (codes) | top-1 equal |")
    print("|---|---|---|---|---|---|")
    tot_same = tot = 0
    for stem, (src, calib, test) in STANDINS.items():
        model = ort_quantize(os.path.join(ROOT, src), os.path.join(tmp, stem + "_qdq.onnx"), np.load(os.path.join(ROOT, calib)))
        c = np.load(os.path.join(ROOT, calib)).astype(np.float32)
        sets = {"test": np.load(os.path.join(ROOT, test)).astype(np.float32), "calibration": c,
                "bench (noisy)": bench_inputs(c, 256)}
        s, z = out_qparams(model)
        sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        iname = sess.get_inputs()[0].name
        for what, x in sets.items():
            xp, out = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
            np.save(xp, x)
            r = subprocess.run([exe, model, "--data", xp, "--eval-samples", str(len(x)), "--eval-output", out, "-q",
                                "-o", os.path.join(tmp, "m.mqm")] + EXTRA, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"| {stem} | {what} | error: {r.stderr.strip()[:200]} | | | |")
                MISMATCH.append(f"{stem} {what} (error)")
                continue
            ours = np.round(np.load(out).reshape(len(x), -1).astype(np.float64) / s) + z
            theirs = np.round(sess.run(None, {iname: x})[0].reshape(len(x), -1).astype(np.float64) / s) + z
            same = int(np.sum(ours == theirs))
            if same != ours.size:
                MISMATCH.append(f"{stem} {what}")
            tot_same += same
            tot += ours.size
            print(f"| {stem} | {what}: {len(x)} | {ours.size} | {same / ours.size * 100:.2f}% | "
                  f"{int(np.max(np.abs(ours - theirs)))} | {np.mean(ours.argmax(1) == theirs.argmax(1)) * 100:.1f}% |")
    if tot:
        print(f"\nstand-ins: {tot_same} of {tot} output codes identical ({tot_same / tot * 100:.2f}%)")


if __name__ == "__main__":
    main()
