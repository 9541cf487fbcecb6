#!/usr/bin/env python3
"""A QDQ benchmark model whose convolutions have k = 576 (3x3 x 64 input channels: past the DSP GEMM's blocked-pair
limit k <= 512, so the C-level 2x2 / 1x4 row loops run them, as in the 3x3 64-channel layers of ResNet-style image
models). Dev-time tool (the product needs no Python).

  scripts/make_qdq_conv576.py [OUT_DIR]     (default build/qdq)

Writes OUT_DIR/conv576_float.onnx (Conv 3x3 64 -> 64, pads 1, bias, Relu, Conv 3x3 64 -> 32, pads 1; input
1x64x8x8, seeded random weights), OUT_DIR/conv576_input.npy (8 samples) and OUT_DIR/conv576_qdq_u8.onnx
(onnxruntime quantize_static, QDQ, uint8 activations, int8 per-channel weights, MinMax over 64 samples). Then e.g.
  calibrate OUT_DIR/conv576_qdq_u8.onnx --data OUT_DIR/conv576_input.npy -o OUT_DIR/conv576_qdq_u8.mqm
  simulate OUT_DIR/conv576_qdq_u8.mqm --input OUT_DIR/conv576_input.npy --limit 2 --board mps2-an386 --qemu
(and `calibrate OUT_DIR/conv576_float.onnx --data OUT_DIR/conv576_input.npy` for the double-rounding twin).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/qdq"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    w1 = (rng.standard_normal((64, 64, 3, 3)) * 0.05).astype(np.float32)
    b1 = (rng.standard_normal(64) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((32, 64, 3, 3)) * 0.05).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Conv", ["r", "W2"], ["y"], pads=[1, 1, 1, 1])]
    g = helper.make_graph(nodes, "conv576", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 8, 8])],
                          [numpy_helper.from_array(w1, "W"), numpy_helper.from_array(b1, "B"),
                           numpy_helper.from_array(w2, "W2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    fl = os.path.join(out, "conv576_float.onnx")
    onnx.save(m, fl)
    x = rng.standard_normal((64, 1, 64, 8, 8)).astype(np.float32)
    np.save(os.path.join(out, "conv576_input.npy"), x[:8, 0])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= len(x):
                return None
            self.i += 1
            return {"x": x[self.i - 1]}

    quantize_static(fl, os.path.join(out, "conv576_qdq_u8.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
    print("wrote", out + "/conv576_{float,qdq_u8}.onnx, conv576_input.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
