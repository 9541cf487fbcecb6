#!/usr/bin/env python3
"""ai-edge-litert BUILTIN_REF outputs of the MLPerf Tiny int8 models on random int8 inputs, for the Swift
bit-exactness tests of the TFLite importer in TFLite's own rounding mode (Tests/TFLiteTests/ImportTests.swift).

    python3 scripts/make_tflite_references.py   # writes Tests/TFLiteTests/Fixtures/mlperf/litert_random.npz

The archive (numpy.savez: stored, uncompressed) holds <m>_inputs [N, ...] int8 and <m>_outputs [N, ...] int8
for m in kws, ad, N = 300, seed 20261204. One inference per sample (batch 1).
"""
import os

import numpy as np
import ai_edge_litert
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "..", "Tests", "TFLiteTests", "Fixtures", "mlperf")
MODELS = {"kws": "kws_ref_model_int8.tflite", "ad": "ad01_int8.tflite"}
N = 300


def main():
    rng = np.random.default_rng(20261204)
    arrays = {}
    for key, name in MODELS.items():
        it = Interpreter(model_path=os.path.join(DIR, name), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        it.allocate_tensors()
        d_in, d_out = it.get_input_details()[0], it.get_output_details()[0]
        x = rng.integers(-128, 128, [N] + list(d_in["shape"][1:]), dtype=np.int64).astype(np.int8)
        ys = []
        for i in range(N):
            it.set_tensor(d_in["index"], x[i:i + 1])
            it.invoke()
            ys.append(it.get_tensor(d_out["index"])[0].copy())
        arrays[f"{key}_inputs"] = x
        arrays[f"{key}_outputs"] = np.stack(ys)
        print(f"{key}: inputs {x.shape}, outputs {arrays[f'{key}_outputs'].shape}")
    out = os.path.join(DIR, "litert_random.npz")
    np.savez(out, **arrays)
    print(f"wrote {out} (ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')})")


if __name__ == "__main__":
    main()
