#!/usr/bin/env python3
"""Independent reference for the Swift TFLite reader (Tests/TFLiteTests): what ai-edge-litert's
interpreter reports about each MLPerf Tiny model (operators with their inputs/outputs, and every
tensor's name, shape, dtype and quantization), written as JSON next to the copied models.

    python3 scripts/tflite_tensor_details.py      # rewrites Tests/TFLiteTests/Fixtures/mlperf/*.details.json
"""
import json
import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "..", "Tests", "TFLiteTests", "Fixtures", "mlperf")


def details(path):
    it = Interpreter(model_path=path)
    tensors = []
    for t in it.get_tensor_details():
        qp = t["quantization_parameters"]
        tensors.append({
            "index": int(t["index"]),
            "name": t["name"],
            "shape": [int(d) for d in t["shape"]],
            "dtype": np.dtype(t["dtype"]).name,
            "scales": [float(s) for s in qp["scales"]],
            "zero_points": [int(z) for z in qp["zero_points"]],
            "quantized_dimension": int(qp["quantized_dimension"]),
        })
    ops = []
    for o in it._get_ops_details():
        ops.append({
            "index": int(o["index"]),
            "op_name": o["op_name"],
            "inputs": [int(i) for i in o["inputs"]],
            "outputs": [int(i) for i in o["outputs"]],
        })
    return {
        "inputs": [int(d["index"]) for d in it.get_input_details()],
        "outputs": [int(d["index"]) for d in it.get_output_details()],
        "tensors": tensors,
        "operators": ops,
    }


def main():
    for name in sorted(os.listdir(DIR)):
        if name.endswith(".tflite"):
            d = details(os.path.join(DIR, name))
            out = os.path.join(DIR, name[:-len(".tflite")] + ".details.json")
            with open(out, "w") as f:
                json.dump(d, f, indent=1, sort_keys=True)
                f.write("\n")
            print(f"wrote {out}: {len(d['tensors'])} tensors, {len(d['operators'])} operators")


if __name__ == "__main__":
    main()
