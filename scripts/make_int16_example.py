#!/usr/bin/env python3
"""Writes examples/bandlevels.onnx and its data (numpy + onnx only; fixed seed): a small regression model where
8-bit activations cost accuracy, for `calibrate --precision int16|auto` (docs/CALIBRATION.md, issue 12).

The model, a vibration / audio "band level" regressor:
    input [N, 256]  one log-magnitude spectrum frame in [-1, 1]
    Gemm 256->32 + ReLU        front-end features (narrow range)
    Gemm 32->32  + ReLU        the wide-range layer: 4 "energy" channels respond to broadband level with ~100x the
                               range of the other 28 (as loudness / energy features do in audio front ends)
    Gemm 32->16  + ReLU        4 channels read the energy channels (scaled down by 1/100), 12 the quiet ones
    Gemm 16->4                 4 regression outputs (band levels), mostly from the quiet channels
With one per-tensor scale per activation, int8 gives the quiet channels of the wide-range layer only a few codes;
int16 resolves them. The weights are synthetic (seeded), not trained: the float model is the reference the SQNR is
measured against, which is all the precision choice needs.

Outputs: examples/bandlevels.onnx, bandlevels_calib.npy [512, 256], bandlevels_test.npy [256, 256] (float32).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
rng = np.random.default_rng(1216)


def frames(n):
    """Smooth random spectra: a few harmonic bumps on a sloped floor, plus a broadband level that varies a lot."""
    f = np.linspace(0.0, 1.0, 256)
    x = np.zeros((n, 256))
    for i in range(n):
        level = rng.uniform(-0.6, 0.6)                 # broadband level (what the energy channels see)
        floor = -0.3 - 0.3 * f + level
        s = floor.copy()
        for _ in range(rng.integers(2, 6)):
            c, w, a = rng.uniform(0.05, 0.95), rng.uniform(0.01, 0.05), rng.uniform(0.1, 0.5)
            s += a * np.exp(-0.5 * ((f - c) / w) ** 2)
        s += rng.normal(0.0, 0.03, 256)
        x[i] = np.clip(s, -1.0, 1.0)
    return x.astype(np.float32)


def main():
    w1 = rng.normal(0.0, 1.0 / np.sqrt(256), (32, 256))
    b1 = rng.normal(0.0, 0.05, 32) + 0.1
    w2 = rng.normal(0.0, 1.0 / np.sqrt(32), (32, 32))
    b2 = rng.normal(0.0, 0.05, 32) + 0.05
    # energy channels: broadband response (every input feature), 100x the gain
    w2[:4] = np.abs(w2[:4]) * 100.0
    b2[:4] = 50.0
    w3 = rng.normal(0.0, 1.0 / np.sqrt(28), (16, 32))
    # mix channels 0..3 read the energy channels only (scaled back down by 1/100), 4..15 the quiet ones only
    # (per output channel weight scales then fit each row)
    w3[:4, 4:] = 0.0
    w3[:4, :4] = rng.normal(0.0, 0.01, (4, 4))
    w3[4:, :4] = 0.0
    b3 = rng.normal(0.0, 0.05, 16) + 0.05
    w4 = rng.normal(0.0, 1.0 / np.sqrt(16), (4, 16))
    b4 = rng.normal(0.0, 0.02, 4)

    def gemm(name, x, w, b, relu):
        out = name + "_out"
        nodes = [helper.make_node("Gemm", [x, name + ".weight", name + ".bias"], [out], name=name, transB=1)]
        inits = [numpy_helper.from_array(w.astype(np.float32), name + ".weight"),
                 numpy_helper.from_array(b.astype(np.float32), name + ".bias")]
        if relu:
            nodes.append(helper.make_node("Relu", [out], [name + "_relu"], name=name + "_relu"))
            out = name + "_relu"
        return nodes, inits, out

    nodes, inits = [], []
    x = "input"
    for name, w, b, relu in [("frontend", w1, b1, True), ("energy", w2, b2, True), ("mix", w3, b3, True),
                             ("levels", w4, b4, False)]:
        n, i, x = gemm(name, x, w, b, relu)
        nodes += n
        inits += i
    nodes.append(helper.make_node("Identity", [x], ["output"], name="output_id"))
    graph = helper.make_graph(nodes, "bandlevels",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 256])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_int16_example.py")
    onnx.checker.check_model(model)
    ex = os.path.join(ROOT, "examples")
    onnx.save(model, os.path.join(ex, "bandlevels.onnx"))
    calib, test = frames(512), frames(256)
    np.save(os.path.join(ex, "bandlevels_calib.npy"), calib)
    np.save(os.path.join(ex, "bandlevels_test.npy"), test)

    # numpy float reference: the ranges the text above describes
    def fwd(x):
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        h3 = np.maximum(h2 @ w3.T + b3, 0)
        return h1, h2, h3 @ w4.T + b4

    h1, h2, y = fwd(calib.astype(np.float64))
    print("energy layer: |energy channels| up to %.1f, other channels up to %.2f; outputs in [%.3f, %.3f]"
          % (np.abs(h2[:, :4]).max(), np.abs(h2[:, 4:]).max(), y.min(), y.max()))


if __name__ == "__main__":
    main()
