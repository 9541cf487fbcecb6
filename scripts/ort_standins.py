"""The two MLPerf Tiny stand-ins (bench/models, scripts/make_mlperf_style_models.py) quantized by onnxruntime's
quantize_static the way scripts/bench-host-batch.py runs them: MinMax on the first 256 calibration samples
(bench/data/{ic,vww}_calib.npy, uint8 pixels as float32), QUInt8 activations, QInt8 per-tensor weights, QDQ or
QOperator format. The QDQ file keeps onnxruntime's float Transpose NHWC -> NCHW of the graph input before its first
QuantizeLinear (docs/IMPORT.md, "Float data movement around the QDQ graph"). Dev-time only (numpy, onnxruntime).
"""
import os

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# stem -> (float model, calibration data, test data)
STANDINS = {
    "ic_resnet8_style": ("bench/models/ic_resnet8_style_float.onnx", "bench/data/ic_calib.npy", "bench/data/ic_test.npy"),
    "vww_mobilenetv1_style": ("bench/models/vww_mobilenetv1_style_float.onnx", "bench/data/vww_calib.npy",
                              "bench/data/vww_test.npy"),
}


class Reader(CalibrationDataReader):
    def __init__(self, name, data):
        self.name, self.data, self.i = name, data, 0

    def get_next(self):
        if self.i >= len(self.data):
            return None
        self.i += 1
        return {self.name: self.data[self.i - 1:self.i]}


def ort_quantize(src, dst, calib, qdq=True):
    """onnxruntime quantize_static of float model `src` into `dst` (QDQ or QOperator), calibrated on calib[:256]."""
    name = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).get_inputs()[0].name
    quantize_static(src, dst, Reader(name, np.asarray(calib, np.float32)[:256]),
                    quant_format=QuantFormat.QDQ if qdq else QuantFormat.QOperator,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return dst


def bench_inputs(calib, n, seed=7):
    """scripts/bench-host-batch.py's data: the calibration set tiled to n samples plus small noise."""
    calib = np.asarray(calib, np.float32)
    reps = (n + len(calib) - 1) // len(calib)
    x = np.concatenate([calib] * reps)[:n]
    rng = np.random.default_rng(seed)
    return (x + rng.normal(0, 0.01 * (float(np.std(calib)) or 1.0), x.shape)).astype(np.float32)
