#!/usr/bin/env python3
"""LOGISTIC and TANH, exhaustively, through both reference interpreters (Tests/TFLiteTests/Fixtures/tflite/lut_sweep.npz).

One-op int8 models built with the TFLite schema (scripts/gen_litert_fixtures.py's builder) at exact input qparams
(the converter cannot pick them): per op 200 input qparams (scale log-uniform in [2^-12, 2^4) as float32, zero
point uniform in [-128, 127], plus the edge scales 1/256, 1/128, 1/16, 0.5, 1, 15), output qparams fixed by the
kernels ((1/256, -128) LOGISTIC, (1/128, 0) TANH). Input: all 256 codes. Outputs of
  - ai-edge-litert (OpResolverType.BUILTIN_REF): {op}_outputs
  - TensorFlow Lite Micro (PyPI `tflite-micro`, its Python interpreter over the TFLM kernels): {op}_tflm_outputs
as int8 [200, 256] (column j = input code j - 128), with {op}_scales f32 [200], {op}_zero_points i32 [200].

Dev-time only (a virtual environment with numpy, flatbuffers, ai-edge-litert and tflite-micro):
    python3 -m venv /tmp/venv-tflm && /tmp/venv-tflm/bin/pip install numpy flatbuffers ai-edge-litert tflite-micro
    /tmp/venv-tflm/bin/python scripts/make_tflite_lut_sweep.py
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_litert_fixtures as g  # noqa: E402  (the schema builder and the litert runner)
from tflite_micro.python.tflite_micro import runtime as tflm  # noqa: E402

OUT = os.path.join(HERE, "..", "Tests", "TFLiteTests", "Fixtures", "tflite", "lut_sweep.npz")


def run_tflm(model, x):
    it = tflm.Interpreter.from_bytes(model)
    it.set_input(x, 0)
    it.invoke()
    return it.get_output(0)


def main(count=200):
    fb = g.fb
    rng = np.random.default_rng(6000)
    codes = np.arange(-128, 128, dtype=np.int64).astype(np.int8).reshape(1, 256)
    arrays = {}
    for name, opcode, out_q in (("logistic", fb.BuiltinOperator.LOGISTIC, (1.0 / 256.0, -128)),
                                ("tanh", fb.BuiltinOperator.TANH, (1.0 / 128.0, 0))):
        scales = [float(np.float32(2.0 ** rng.uniform(-12, 4))) for _ in range(count - 6)]
        scales += [1.0 / 256.0, 1.0 / 128.0, 1.0 / 16.0, 0.5, 1.0, 15.0]
        zps = [int(rng.integers(-128, 128)) for _ in range(count)]
        lite, micro = [], []
        for s, z in zip(scales, zps):
            ts = [g.tensor(None, "x", [1, 256], fb.TensorType.INT8, s, z),
                  g.tensor(None, "y", [1, 256], fb.TensorType.INT8, out_q[0], out_q[1])]
            model = g.build_model(opcode, ts, [0], [1], fb.BuiltinOptions.NONE, None)
            lite.append(g.run(model, [codes])[0])
            micro.append(run_tflm(model, codes)[0])
        lite, micro = np.stack(lite).astype(np.int8), np.stack(micro).astype(np.int8)
        arrays[f"{name}_scales"] = np.array(scales, dtype=np.float32)
        arrays[f"{name}_zero_points"] = np.array(zps, dtype=np.int32)
        arrays[f"{name}_outputs"] = lite
        arrays[f"{name}_tflm_outputs"] = micro
        diff = (lite != micro)
        print(f"{name}: litert vs TFLM: {int(diff.any(axis=1).sum())} of {count} tables differ, {int(diff.sum())} entries")
    np.savez(OUT, **arrays)
    print("wrote", OUT, {k: v.shape for k, v in arrays.items()})


if __name__ == "__main__":
    main()
