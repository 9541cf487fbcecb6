#!/usr/bin/env python3
"""TensorFlow Lite Micro's outputs for the per-op fixtures (Tests/TFLiteTests/Fixtures/tflite/NAME_tflm_output.npy).

For every int8-I/O case of manifest.json (scripts/make_tflite_fixtures.py): the committed NAME.tflite run on the
committed NAME_input*.npy, one inference per sample, by TensorFlow Lite Micro's Python interpreter (PyPI
`tflite-micro`: the TFLM kernels, reference versions). The Swift tests compare rounding mode tflite-micro with these
(and mode tflite with the ai-edge-litert outputs NAME_output.npy). Also the MLPerf Tiny KWS and AD models on the
300 random inputs of mlperf/litert_random.npz -> mlperf/tflm_random.npz ({kws,ad}_outputs).

Dev-time only:
    python3 -m venv /tmp/venv-tflm && /tmp/venv-tflm/bin/pip install numpy tflite-micro
    /tmp/venv-tflm/bin/python scripts/make_tflm_references.py
"""
import json
import os

import numpy as np
from tflite_micro.python.tflite_micro import runtime as tflm

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "..", "Tests", "TFLiteTests", "Fixtures", "tflite")


def main():
    man = json.load(open(os.path.join(DIR, "manifest.json")))
    differ = []
    for c in man["cases"]:
        if c["float_io"]:
            continue
        name = c["name"]
        model = open(os.path.join(DIR, name + ".tflite"), "rb").read()
        xs = [np.load(os.path.join(DIR, f"{name}_input{'' if k == 0 else k}.npy")) for k in range(c["inputs"])]
        it = tflm.Interpreter.from_bytes(model)
        ys = []
        for i in range(len(xs[0])):
            for k, x in enumerate(xs):
                it.set_input(x[i:i + 1], k)
            it.invoke()
            ys.append(it.get_output(0)[0].copy())
        y = np.stack(ys)
        np.save(os.path.join(DIR, f"{name}_tflm_output.npy"), y)
        lite = np.load(os.path.join(DIR, f"{name}_output.npy"))
        nd = int((lite != y).sum())
        if nd:
            differ.append((name, nd))
        print(f"{name}: {y.shape}, differs from ai-edge-litert in {nd} bytes")
    print("cases where TFLite Micro and ai-edge-litert differ:", differ)

    # the MLPerf Tiny models on the 300 random inputs of mlperf/litert_random.npz -> mlperf/tflm_random.npz
    mdir = os.path.join(DIR, "..", "mlperf")
    r = np.load(os.path.join(mdir, "litert_random.npz"))
    out = {}
    for key, fname in (("kws", "kws_ref_model_int8.tflite"), ("ad", "ad01_int8.tflite")):
        it = tflm.Interpreter.from_bytes(open(os.path.join(mdir, fname), "rb").read())
        x = r[f"{key}_inputs"]
        ys = []
        for i in range(len(x)):
            it.set_input(x[i:i + 1], 0)
            it.invoke()
            ys.append(it.get_output(0)[0].copy())
        out[f"{key}_outputs"] = np.stack(ys)
        lite = r[f"{key}_outputs"]
        print(f"{key}: TFLite Micro vs ai-edge-litert on {len(x)} inputs: {int((lite != out[key + '_outputs']).any(axis=tuple(range(1, lite.ndim))).sum())} samples differ")
    np.savez(os.path.join(mdir, "tflm_random.npz"), **out)


if __name__ == "__main__":
    main()
