#!/usr/bin/env python3
"""Calibration and test inputs for the MLPerf Tiny models of ../shared/models/mlperf-tiny/, used by
scripts/bench-models.sh to run `calibrate` on the float ONNX models as a user would (dev-time only;
numpy). Deterministic (fixed seed); writes bench/data/:

  ad01_calib.npy  float32 [128, 640]        synthetic log-mel frames (5 frames x 128 mel bins, dB)
  ad01_test.npy   float32 [8, 640]          the 2 MLPerf inputs of tflm_reference_outputs.npz
                                            (dequantized with the int8 model's input scale 0.3910152,
                                            zero point 89), then 6 synthetic frames
  kws_calib.npy   float32 [128, 49, 10, 1]  synthetic MFCC windows (49 frames x 10 coefficients)
  kws_test.npy    float32 [4, 49, 10, 1]    kws_sample_inputs_int8.npy and the 2nd npz input
                                            (dequantized, scale 0.5847029, zero point 83), then 2
                                            synthetic windows

The synthetic data follow the statistics of the real inputs shipped with the models (the MLPerf
reference firmware's sample input and the npz inputs):
- AD (DCASE ToyCar log-mel, 10*log10 power): a spectral envelope falling from about -20..0 dB at
  the lowest mel bin to about -45..-65 dB at the highest, a few stationary machine harmonics
  (+4..+14 dB bumps at fixed bins per sample), slow gain drift over the 5 frames, 2.5 dB noise,
  clipped to the int8 model's input range [-84.9, 14.9].
- KWS (MFCC of 1 s of audio, 49 x 10): c0 (log energy) near -120 in silence and -40..+20 during a
  spoken word of 15-35 frames at a random position; c1..c9 small (std 2-3 during speech, 0.5 in
  silence), clipped to the int8 input range [-123.4, 25.7].

Usage: python3 scripts/make_bench_data.py   (needs ../shared/models/mlperf-tiny for the real inputs)
"""
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "data")
MODELS = os.path.join(os.path.dirname(ROOT), "shared", "models", "mlperf-tiny")
if not os.path.isdir(MODELS):
    MODELS = os.path.join(ROOT, "..", "..", "shared", "models", "mlperf-tiny")


def ad_frames(rng, n):
    bins = np.arange(128, dtype=np.float64) / 127.0
    x = np.empty((n, 5, 128))
    for i in range(n):
        top = rng.uniform(-20.0, 0.0)
        bottom = rng.uniform(-65.0, -45.0)
        curve = rng.uniform(0.5, 1.5)
        env = top + (bottom - top) * bins ** curve
        for _ in range(rng.integers(2, 7)):           # machine harmonics
            c = rng.uniform(3, 120)
            w = rng.uniform(1.0, 4.0)
            env = env + rng.uniform(4.0, 14.0) * np.exp(-0.5 * ((np.arange(128) - c) / w) ** 2)
        drift = np.cumsum(rng.normal(0.0, 1.0, 5))      # slow gain drift over the frames
        x[i] = env[None, :] + drift[:, None] + rng.normal(0.0, 2.5, (5, 128))
    return np.clip(x.reshape(n, 640), -84.85, 14.85).astype(np.float32)


def kws_windows(rng, n):
    x = np.empty((n, 49, 10))
    for i in range(n):
        c0 = -120.0 + rng.normal(0.0, 2.0, 49)
        rest = rng.normal(0.0, 0.5, (49, 9))
        length = rng.integers(15, 36)
        start = rng.integers(0, 49 - length + 1)
        level = rng.uniform(-40.0, 20.0)
        t = np.linspace(0.0, np.pi, length)
        c0[start:start + length] = level - 30.0 + 30.0 * np.sin(t) + rng.normal(0.0, 4.0, length)
        scale = np.linspace(3.0, 2.0, 9)
        rest[start:start + length] = rng.normal(0.0, 1.0, (length, 9)) * scale[None, :] + rng.normal(0.0, 1.5, 9)
        x[i, :, 0] = c0
        x[i, :, 1:] = rest
    return np.clip(x, -123.37, 25.72).astype(np.float32)[..., None]


def main():
    rng = np.random.default_rng(20261203)
    os.makedirs(OUT, exist_ok=True)
    ref = np.load(os.path.join(MODELS, "tflm_reference_outputs.npz"))
    ad_real = ((ref["ad_inputs"].astype(np.float32) - 89.0) * np.float32(0.3910152)).astype(np.float32)
    kws_sample = np.load(os.path.join(MODELS, "kws_sample_inputs_int8.npy"))
    kws_real = np.concatenate([kws_sample, ref["kws_inputs"][1:2]]).astype(np.float32)
    kws_real = ((kws_real - 83.0) * np.float32(0.5847029)).astype(np.float32)

    np.save(os.path.join(OUT, "ad01_calib.npy"), ad_frames(rng, 128))
    np.save(os.path.join(OUT, "ad01_test.npy"), np.concatenate([ad_real, ad_frames(rng, 6)]))
    np.save(os.path.join(OUT, "kws_calib.npy"), kws_windows(rng, 128))
    np.save(os.path.join(OUT, "kws_test.npy"), np.concatenate([kws_real, kws_windows(rng, 2)]))
    for f in sorted(os.listdir(OUT)):
        a = np.load(os.path.join(OUT, f))
        print("%-16s %-18s min %8.2f max %7.2f mean %8.2f" % (f, a.shape, a.min(), a.max(), a.mean()))


if __name__ == "__main__":
    main()
