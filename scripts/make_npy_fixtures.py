#!/usr/bin/env python3
"""Writes the .npy fixtures of Tests/MicroQuantTests/NumPyTests.swift with numpy itself
(the independent reference for the Swift reader/writer). Run from the repository root:
    python3 scripts/make_npy_fixtures.py
"""
import os
import numpy as np
from numpy.lib import format as npf

out = "Tests/MicroQuantTests/Fixtures/npy"
os.makedirs(out, exist_ok=True)

def save(name, arr, version=None):
    path = os.path.join(out, name)
    with open(path, "wb") as f:
        npf.write_array(f, arr, version=version)

# values chosen so every element is exactly representable and easy to state in the test
f32 = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3.0)
save("f32_2x3x4.npy", f32)
save("f32_v2.npy", f32, version=(2, 0))
save("f32_v3.npy", f32, version=(3, 0))
save("f64_3.npy", np.array([1.5, -2.25, 1e-3], dtype=np.float64))
save("u8_2x2.npy", np.array([[0, 1], [254, 255]], dtype=np.uint8))
save("i8_4.npy", np.array([-128, -1, 0, 127], dtype=np.int8))
save("i32_3.npy", np.array([-2147483648, 0, 2147483647], dtype=np.int32))
save("scalar.npy", np.array(7.0, dtype=np.float32))
save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
save("big_endian.npy", np.arange(3, dtype=">f4"))
save("complex.npy", np.arange(3, dtype=np.complex64))
full = open(os.path.join(out, "f32_2x3x4.npy"), "rb").read()
open(os.path.join(out, "truncated.npy"), "wb").write(full[:-5])
# directory of parts, concatenated along axis 0 by the reader
os.makedirs(os.path.join(out, "parts"), exist_ok=True)
np.save(os.path.join(out, "parts", "a.npy"), np.arange(6, dtype=np.float32).reshape(2, 3))
np.save(os.path.join(out, "parts", "b.npy"), np.arange(6, 9, dtype=np.float32).reshape(1, 3))
os.makedirs(os.path.join(out, "parts_bad"), exist_ok=True)
np.save(os.path.join(out, "parts_bad", "a.npy"), np.zeros((2, 3), dtype=np.float32))
np.save(os.path.join(out, "parts_bad", "b.npy"), np.zeros((2, 4), dtype=np.float32))
