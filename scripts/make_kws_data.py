#!/usr/bin/env python3
"""Calibration and test inputs for the MLPerf Tiny KWS model (DS-CNN, kws_ref_model_float.onnx) computed from
synthesized audio the way the MLPerf Tiny KWS training code computes its features (dev-time only; numpy).

Features (mlcommons/tiny benchmark/training/keyword_spotting/get_dataset.py, TensorFlow ops reimplemented here
from their documented definitions):
  1 s clips at 16 kHz (shorter clips zero-padded at the end to 16000 samples);
  |STFT|: frame 30 ms (480 samples), stride 20 ms (320), FFT length 512 (next power of 2), periodic Hann window,
    no end padding -> 49 frames x 257 bins (tf.signal.stft);
  40 mel bins, 20..4000 Hz, HTK mel scale, triangular filters (tf.signal.linear_to_mel_weight_matrix, the DC bin
    zeroed);
  log(mel + 1e-6);
  MFCC = DCT-II (unnormalized, 2 * sum) * 1/sqrt(2 * 40), first 10 coefficients
    (tf.signal.mfccs_from_log_mel_spectrograms) -> [49, 10, 1].
An all-zero frame gives c0 = 2 * 40 * log(1e-6) / sqrt(80) = -123.6, the bottom of the int8 model's input range
(scale 0.5847029, zero point 83: [-123.4, 25.7]).

Clips (deterministic, seed below), a mix like the Speech Commands training set with its background-noise
augmentation:
  - "words": 1-3 voiced syllables (glottal pulse train, f0 80-260 Hz with drift, through 3 formant resonators with
    moving formants) plus fricative bursts (high-passed noise), amplitude envelope, peak 0.05-0.9;
  - "noise": white / pink / brown noise, level 0.002-0.2;
  - "silence": digital silence or very low noise;
  - 80 % of the clips get background noise of level 0-0.1 (the training code's background_volume 0.1);
  - 40 % of the word clips are shorter than 1 s (0.4-0.95 s) and zero-padded, so whole frames sit at -123.6.
Writes bench/data/kws_mfcc_calib.npy [200, 49, 10, 1] and bench/data/kws_mfcc_test.npy [300, 49, 10, 1] (float32).

Usage: python3 scripts/make_kws_data.py
"""
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "data")
SR = 16000


def mel_matrix(num_mel=40, num_bins=257, sr=SR, lo=20.0, hi=4000.0):
    def hz_to_mel(f):
        return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)
    lin = np.linspace(0.0, sr / 2.0, num_bins)[1:]
    spec_mel = hz_to_mel(lin)[:, None]
    edges = np.linspace(hz_to_mel(lo), hz_to_mel(hi), num_mel + 2)
    lower, center, upper = edges[:-2][None, :], edges[1:-1][None, :], edges[2:][None, :]
    w = np.maximum(0.0, np.minimum((spec_mel - lower) / (center - lower), (upper - spec_mel) / (upper - center)))
    return np.concatenate([np.zeros((1, num_mel)), w], axis=0)   # [257, 40], DC bin zero


MEL = mel_matrix()
HANN = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(480) / 480.0)   # periodic
N_MEL = 40
DCT = np.array([[2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * N_MEL)) for k in range(10)] for n in range(N_MEL)]) / np.sqrt(2.0 * N_MEL)


def mfcc(audio):
    """audio: float [16000] in [-1, 1] -> [49, 10] float32."""
    frames = np.stack([audio[i * 320:i * 320 + 480] for i in range(49)]) * HANN
    spec = np.abs(np.fft.rfft(frames, n=512, axis=1))          # [49, 257]
    logmel = np.log(spec @ MEL + 1e-6)                         # [49, 40]
    return (logmel @ DCT).astype(np.float32)


def colored_noise(rng, n, kind):
    w = rng.standard_normal(n)
    if kind == "white":
        x = w
    else:
        f = np.fft.rfft(w)
        freqs = np.fft.rfftfreq(n, 1.0 / SR)
        freqs[0] = freqs[1]
        f = f / (np.sqrt(freqs) if kind == "pink" else freqs)
        x = np.fft.irfft(f, n)
    return x / (np.max(np.abs(x)) + 1e-12)


def resonator(x, freq, bw):
    """Two-pole resonator at `freq` Hz (arrays per sample allowed) with bandwidth `bw` Hz."""
    y = np.zeros_like(x)
    freq = np.broadcast_to(freq, x.shape)
    r = np.exp(-np.pi * bw / SR)
    y1 = y2 = 0.0
    for i in range(len(x)):
        a1 = 2.0 * r * np.cos(2.0 * np.pi * freq[i] / SR)
        v = x[i] + a1 * y1 - r * r * y2
        y[i] = v
        y2, y1 = y1, v
    return y


def word(rng, n):
    """1-3 syllables of voiced sound with formants, plus fricative bursts; length n samples."""
    out = np.zeros(n)
    syllables = rng.integers(1, 4)
    pos = int(rng.uniform(0.0, 0.15) * n)
    for _ in range(syllables):
        length = int(rng.uniform(0.12, 0.35) * SR)
        if pos + length > n:
            length = n - pos
        if length < 400:
            break
        t = np.arange(length) / SR
        f0 = rng.uniform(80, 260) * (1.0 + rng.uniform(-0.2, 0.2) * t / max(t[-1], 1e-3))
        phase = np.cumsum(f0 / SR)
        pulses = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(np.float64)
        src = pulses + 0.02 * rng.standard_normal(length)
        v = np.zeros(length)
        for (lo, hi), bw in zip([(300, 900), (900, 2400), (2200, 3400)], [80, 120, 160]):
            fa, fb = rng.uniform(lo, hi), rng.uniform(lo, hi)
            v += resonator(src, np.linspace(fa, fb, length), bw) * rng.uniform(0.3, 1.0)
        env = np.sin(np.pi * np.linspace(0, 1, length)) ** rng.uniform(0.5, 2.0)
        seg = v * env
        if rng.random() < 0.5:   # fricative onset or coda
            fl = min(int(rng.uniform(0.03, 0.12) * SR), length)
            fr = np.diff(rng.standard_normal(fl + 1)) * np.hanning(fl) * rng.uniform(0.1, 0.5)
            if rng.random() < 0.5:
                seg[:fl] += fr * np.max(np.abs(seg))
            else:
                seg[-fl:] += fr * np.max(np.abs(seg))
        out[pos:pos + length] += seg
        pos += length + int(rng.uniform(0.0, 0.08) * SR)
        if pos >= n:
            break
    return out / (np.max(np.abs(out)) + 1e-12)


def clip(rng):
    kind = rng.choice(["word", "word", "word", "noise", "silence"])
    audio = np.zeros(SR)
    if kind == "word":
        n = SR if rng.random() >= 0.4 else int(rng.uniform(0.4, 0.95) * SR)
        audio[:n] = word(rng, n) * rng.uniform(0.05, 0.9)
    elif kind == "noise":
        audio = colored_noise(rng, SR, rng.choice(["white", "pink", "brown"])) * rng.uniform(0.002, 0.2)
    elif rng.random() < 0.5:
        audio = colored_noise(rng, SR, "white") * rng.uniform(0.0, 0.001)
    if rng.random() < 0.8:   # background noise augmentation over the whole second (also over the padding)
        audio = audio + colored_noise(rng, SR, rng.choice(["white", "pink", "brown"])) * rng.uniform(0.0, 0.1)
        if kind == "word" and rng.random() < 0.5:
            audio[int(rng.uniform(0.4, 0.95) * SR):] = 0.0   # a short clip padded after the augmentation
    return np.clip(audio, -1.0, 1.0)


def make(rng, n):
    return np.stack([mfcc(clip(rng)) for _ in range(n)])[..., None]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261204)
    calib = make(rng, 200)
    test = make(rng, 300)
    for name, x in [("kws_mfcc_calib", calib), ("kws_mfcc_test", test)]:
        np.save(os.path.join(OUT, name + ".npy"), x.astype(np.float32))
        c0 = x[..., 0, 0]
        print(f"{name}: {x.shape}, range [{x.min():.1f}, {x.max():.1f}], c0 [{c0.min():.1f}, {c0.max():.1f}], "
              f"frames at -123.6: {np.mean(np.abs(c0 + 123.58) < 0.05) * 100:.1f} %")


if __name__ == "__main__":
    main()
