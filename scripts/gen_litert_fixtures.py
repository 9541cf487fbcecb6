#!/usr/bin/env python3
"""Fixtures for the kernel tests: TFLite's reference kernels (ai-edge-litert, OpResolverType.BUILTIN_REF) on
(1) the MLPerf Tiny KWS int8 model: the AVERAGE_POOL_2D and SOFTMAX input/output tensors for random int8 inputs
    (experimental_preserve_all_tensors=True), -> csrc/tests/fixtures/litert_kws.bin
(2) one-op models built here with the TFLite flatbuffer schema (AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, MUL, SOFTMAX,
    QUANTIZE, ADD), random shapes/qparams/inputs -> csrc/tests/fixtures/litert_ops.bin

Deterministic (fixed seeds). Usage: python3 scripts/gen_litert_fixtures.py [--kws-pool N] [--kws-softmax N]

Record format (little-endian), read by csrc/tests/ref_litert.h:
  file: "MQLF", u32 version 1, u32 record count, then records
  record: i32 w[48] header, then num_samples x (in1 bytes, in2 bytes, out bytes)
  w0 op (1 AVG_POOL, 2 MAX_POOL, 3 MEAN, 4 MUL, 5 SOFTMAX, 6 QUANTIZE, 7 ADD)
  w1..w3 dtypes in1, in2, out (1 INT8, 2 UINT8, 0 none); w4..w6 zero points; w7..w9 scales (f32 bits)
  w10..w13 in1 shape NHWC, w14..w17 in2 shape, w18..w21 out shape (unused dims 1)
  w22..w29 kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right (TF SAME/VALID
  resolved: total = max((out-1)*stride + k - in, 0), before = total / 2)
  w30 fused activation (0 none, 1 RELU, 3 RELU6), w31 act_min, w32 act_max (TFLite's
  CalculateActivationRangeQuantized: zp + round_half_away(float32(v) / float32(scale)), clamped)
  w33 softmax beta (f32 bits), w34 num_samples, w35..w37 bytes per sample of in1, in2, out
"""
import argparse
import os
import struct
import sys

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as fb
from ai_edge_litert.interpreter import Interpreter, OpResolverType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KWS = os.path.join(ROOT, "..", "shared", "models", "mlperf-tiny", "kws_ref_model_int8.tflite")
if not os.path.exists(KWS):
    KWS = "/work/shared/models/mlperf-tiny/kws_ref_model_int8.tflite"
OUT = os.path.join(ROOT, "csrc", "tests", "fixtures")

OP_CODES = {1: fb.BuiltinOperator.AVERAGE_POOL_2D, 2: fb.BuiltinOperator.MAX_POOL_2D, 3: fb.BuiltinOperator.MEAN,
            4: fb.BuiltinOperator.MUL, 5: fb.BuiltinOperator.SOFTMAX, 6: fb.BuiltinOperator.QUANTIZE,
            7: fb.BuiltinOperator.ADD}
NP = {1: np.int8, 2: np.uint8}
TFL = {1: fb.TensorType.INT8, 2: fb.TensorType.UINT8}


def f32_bits(x):
    return struct.unpack("<i", struct.pack("<f", float(x)))[0]


def act_range(act, scale, zp, dt):
    qmin, qmax = (-128, 127) if dt == 1 else (0, 255)
    def q(v):  # TFLite: zero_point + round(v / scale) in float32, std::round = half away from zero
        r = np.float32(v) / np.float32(scale)
        return zp + int(np.sign(r) * np.floor(np.abs(r) + np.float32(0.5)))
    if act == 0:
        return qmin, qmax
    if act == 1:
        return max(qmin, q(0.0)), qmax
    if act == 3:
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    raise ValueError(act)


def same_pads(n, k, s):
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def header(op, dts, zps, scales, s1, s2, so, win=(0,) * 8, act=0, amin=0, amax=0, beta=0.0, ns=0, sizes=(0, 0, 0)):
    w = [0] * 48
    w[0] = op
    w[1:4] = dts
    w[4:7] = zps
    w[7:10] = [f32_bits(s) if s else 0 for s in scales]
    w[10:14] = s1
    w[14:18] = s2
    w[18:22] = so
    w[22:30] = win
    w[30], w[31], w[32] = act, amin, amax
    w[33] = f32_bits(beta) if beta else 0
    w[34] = ns
    w[35:38] = sizes
    return struct.pack("<48i", *w)


def tensor(b, name, shape, dt, scale, zp, buf=0):
    t = fb.TensorT()
    t.shape = list(shape)
    t.type = dt
    t.buffer = buf
    t.name = name
    if scale is not None:
        qp = fb.QuantizationParametersT()
        qp.scale = [float(scale)]
        qp.zeroPoint = [int(zp)]
        t.quantization = qp
    return t


def build_model(opcode, tensors, inputs, outputs, opt_type, opt, buffers_extra=()):
    m = fb.ModelT()
    m.version = 3
    oc = fb.OperatorCodeT()
    oc.builtinCode = opcode
    oc.deprecatedBuiltinCode = min(opcode, 127)
    oc.version = 2
    m.operatorCodes = [oc]
    sg = fb.SubGraphT()
    sg.tensors = tensors
    sg.inputs = list(inputs)
    sg.outputs = list(outputs)
    op = fb.OperatorT()
    op.opcodeIndex = 0
    op.inputs = [i for i in range(len(tensors)) if i not in outputs]
    op.outputs = list(outputs)
    op.builtinOptionsType = opt_type
    op.builtinOptions = opt
    sg.operators = [op]
    m.subgraphs = [sg]
    empty = fb.BufferT()
    m.buffers = [empty] + list(buffers_extra)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def run(model, feeds):
    it = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    ins = it.get_input_details()
    for d, x in zip(ins, feeds):
        it.set_tensor(d["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def rand_codes(rng, dt, shape):
    lo, hi = (-128, 127) if dt == 1 else (0, 255)
    return rng.integers(lo, hi + 1, size=shape).astype(NP[dt])


def rand_scale(rng, lo=-9, hi=1):
    return float(np.float32(np.ldexp(0.5 + rng.random(), int(rng.integers(lo, hi + 1)))))


def rand_zp(rng, dt):
    return int(rng.integers(-128, 128)) if dt == 1 else int(rng.integers(0, 256))


def pool_records(rng, op, count):
    recs = []
    for i in range(count):
        dt = 1 if i % 3 else 2
        h, w, c = int(rng.integers(1, 12)), int(rng.integers(1, 12)), int(rng.integers(1, 10))
        kh, kw = int(rng.integers(1, min(h, 6) + 1)), int(rng.integers(1, min(w, 6) + 1))
        if i % 7 == 0:
            kh, kw = h, w                      # global pooling
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        same = i % 2 == 0
        if same:
            oh, pt, pb = same_pads(h, kh, sh)
            ow, pl, pr = same_pads(w, kw, sw)
        else:
            oh, pt, pb = (h - kh) // sh + 1, 0, 0
            ow, pl, pr = (w - kw) // sw + 1, 0, 0
        act = [0, 1, 3][i % 3]
        scale = rand_scale(rng, -7, -1)
        zp = rand_zp(rng, dt)
        amin, amax = act_range(act, scale, zp, dt)
        n = int(rng.integers(1, 3))
        opt = fb.Pool2DOptionsT()
        opt.padding = fb.Padding.SAME if same else fb.Padding.VALID
        opt.strideH, opt.strideW, opt.filterHeight, opt.filterWidth = sh, sw, kh, kw
        opt.fusedActivationFunction = act
        ts = [tensor(None, "x", [n, h, w, c], TFL[dt], scale, zp), tensor(None, "y", [n, oh, ow, c], TFL[dt], scale, zp)]
        model = build_model(OP_CODES[op], ts, [0], [1], fb.BuiltinOptions.Pool2DOptions, opt)
        samples = []
        for _ in range(4):
            x = rand_codes(rng, dt, (n, h, w, c))
            y = run(model, [x])
            assert y.shape == (n, oh, ow, c), (y.shape, (n, oh, ow, c))
            samples.append(x.tobytes() + y.tobytes())
        hdr = header(op, (dt, 0, dt), (zp, 0, zp), (scale, 0, scale), (n, h, w, c), (1, 1, 1, 1), (n, oh, ow, c),
                     (kh, kw, sh, sw, pt, pb, pl, pr), act, amin, amax, 0.0, len(samples), (n * h * w * c, 0, n * oh * ow * c))
        recs.append(hdr + b"".join(samples))
    return recs


def mean_records(rng, count):
    recs = []
    for i in range(count):
        dt = 1                                  # TFLite's integer Mean over [1,2] is the int8 kernel
        n, h, w, c = int(rng.integers(1, 3)), int(rng.integers(1, 14)), int(rng.integers(1, 14)), int(rng.integers(1, 9))
        si, zi = rand_scale(rng, -8, 0), rand_zp(rng, dt)
        if i % 2 == 0:
            so, zo = si, zi                     # same qparams
        else:
            so, zo = rand_scale(rng, -8, 0), rand_zp(rng, dt)
        axis_buf = fb.BufferT()
        axis_buf.data = list(np.array([1, 2], dtype=np.int32).tobytes())
        ts = [tensor(None, "x", [n, h, w, c], TFL[dt], si, zi),
              tensor(None, "axis", [2], fb.TensorType.INT32, None, 0, buf=1),
              tensor(None, "y", [n, 1, 1, c], TFL[dt], so, zo)]
        opt = fb.ReducerOptionsT()
        opt.keepDims = True
        model = build_model(OP_CODES[3], ts, [0], [2], fb.BuiltinOptions.ReducerOptions, opt, [axis_buf])
        samples = []
        for _ in range(4):
            x = rand_codes(rng, dt, (n, h, w, c))
            y = run(model, [x])
            samples.append(x.tobytes() + y.tobytes())
        hdr = header(3, (dt, 0, dt), (zi, 0, zo), (si, 0, so), (n, h, w, c), (1, 1, 1, 1), (n, 1, 1, c),
                     ns=len(samples), sizes=(n * h * w * c, 0, n * c))
        recs.append(hdr + b"".join(samples))
    return recs


def binary_records(rng, op, count):
    """MUL (broadcast none / channel / scalar) and ADD (fused ReLU / ReLU6 that bite)."""
    recs = []
    for i in range(count):
        d1 = 1 if i % 4 else 2
        d2, do = d1, d1                          # TFLite's MUL/ADD want one dtype for all three
        n, h, w, c = 1, int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 9))
        bc = i % 3 if op == 4 else 0             # 0 none, 1 channel, 2 scalar
        s2shape = [n, h, w, c] if bc == 0 else ([1, 1, 1, c] if bc == 1 else [1, 1, 1, 1])
        s1, s2, so = rand_scale(rng, -8, 0), rand_scale(rng, -8, 0), rand_scale(rng, -10, 0)
        z1, z2, zo = rand_zp(rng, d1), rand_zp(rng, d2), rand_zp(rng, do)
        if op == 7 and d1 == 1:
            z1, z2, zo = max(z1, -127), max(z2, -127), max(zo, -127)
        act = [0, 1, 3][i % 3] if op == 4 else [1, 3, 1, 0][i % 4]
        amin, amax = act_range(act, so, zo, do)
        ts = [tensor(None, "a", [n, h, w, c], TFL[d1], s1, z1), tensor(None, "b", s2shape, TFL[d2], s2, z2),
              tensor(None, "y", [n, h, w, c], TFL[do], so, zo)]
        if op == 4:
            opt = fb.MulOptionsT()
            opt.fusedActivationFunction = act
            model = build_model(OP_CODES[4], ts, [0, 1], [2], fb.BuiltinOptions.MulOptions, opt)
        else:
            opt = fb.AddOptionsT()
            opt.fusedActivationFunction = act
            model = build_model(OP_CODES[7], ts, [0, 1], [2], fb.BuiltinOptions.AddOptions, opt)
        samples = []
        for _ in range(4):
            a = rand_codes(rng, d1, (n, h, w, c))
            b = rand_codes(rng, d2, tuple(s2shape))
            y = run(model, [a, b])
            samples.append(a.tobytes() + b.tobytes() + y.tobytes())
        hdr = header(op, (d1, d2, do), (z1, z2, zo), (s1, s2, so), (n, h, w, c), tuple(s2shape), (n, h, w, c),
                     act=act, amin=amin, amax=amax, ns=len(samples),
                     sizes=(n * h * w * c, int(np.prod(s2shape)), n * h * w * c))
        recs.append(hdr + b"".join(samples))
    return recs


def softmax_records(rng, count):
    recs = []
    for i in range(count):
        dt = 1 if i % 4 else 2
        rows, depth = int(rng.integers(1, 5)), int(rng.integers(1, 40))
        if i % 5 == 0:
            scale = float(np.float32(np.ldexp(1.0, int(rng.integers(-8, 3)))))   # powers of two
        else:
            scale = rand_scale(rng, -9, 3)
        beta = 1.0 if i % 6 else float(np.float32(0.25 + rng.random() * 2))
        zi = rand_zp(rng, dt)
        zo = -128 if dt == 1 else 0
        ts = [tensor(None, "x", [rows, depth], TFL[dt], scale, zi), tensor(None, "y", [rows, depth], TFL[dt], 1.0 / 256, zo)]
        opt = fb.SoftmaxOptionsT()
        opt.beta = beta
        model = build_model(OP_CODES[5], ts, [0], [1], fb.BuiltinOptions.SoftmaxOptions, opt)
        samples = []
        for k in range(6):
            if k % 2 == 0:
                x = rand_codes(rng, dt, (rows, depth))
            else:                                # values close to the row max: the sum and ties matter
                lo, hi = (-128, 127) if dt == 1 else (0, 255)
                top = int(rng.integers(lo + 8, hi + 1))
                x = np.clip(top - rng.integers(0, 8, size=(rows, depth)), lo, hi).astype(NP[dt])
            y = run(model, [x])
            samples.append(x.tobytes() + y.tobytes())
        hdr = header(5, (dt, 0, dt), (zi, 0, zo), (scale, 0, 1.0 / 256), (1, 1, rows, depth), (1, 1, 1, 1),
                     (1, 1, rows, depth), beta=beta, ns=len(samples), sizes=(rows * depth, 0, rows * depth))
        recs.append(hdr + b"".join(samples))
    return recs


def quantize_records(rng, count):
    recs = []
    for i in range(count):
        di, do = [(1, 1), (1, 2), (2, 1), (1, 1)][i % 4]
        si, so = rand_scale(rng, -8, 0), rand_scale(rng, -8, 0)
        if i % 5 == 0:
            so = si
        zi, zo = rand_zp(rng, di), rand_zp(rng, do)
        if di != do and i % 2 == 0:
            so = si
            zo = zi + 128 if do == 2 else zi - 128
        ne = 256
        ts = [tensor(None, "x", [ne], TFL[di], si, zi), tensor(None, "y", [ne], TFL[do], so, zo)]
        model = build_model(fb.BuiltinOperator.QUANTIZE, ts, [0], [1], 0, None)
        x = np.arange(256, dtype=np.uint8).view(NP[di]).copy()        # every code
        y = run(model, [x])
        hdr = header(6, (di, 0, do), (zi, 0, zo), (si, 0, so), (1, 1, 1, ne), (1, 1, 1, 1), (1, 1, 1, ne),
                     ns=1, sizes=(ne, 0, ne))
        recs.append(hdr + x.tobytes() + y.tobytes())
    return recs


def kws_records(n_pool, n_softmax, seed):
    it = Interpreter(model_path=KWS, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    ops = it._get_ops_details()
    tdet = {d["index"]: d for d in it.get_tensor_details()}
    pool = [o for o in ops if o["op_name"] == "AVERAGE_POOL_2D"][0]
    soft = [o for o in ops if o["op_name"] == "SOFTMAX"][0]
    # pool geometry and fused activation from the flatbuffer
    m = fb.ModelT.InitFromPackedBuf(open(KWS, "rb").read(), 0)
    sg = m.subgraphs[0]
    fop = sg.operators[pool["index"]]
    po = fop.builtinOptions
    sop = sg.operators[soft["index"]].builtinOptions
    xin = it.get_input_details()[0]
    rng = np.random.default_rng(seed)
    samples_pool, samples_soft = [], []
    for k in range(max(n_pool, n_softmax)):
        x = rng.integers(-128, 128, size=xin["shape"]).astype(np.int8)
        it.set_tensor(xin["index"], x)
        it.invoke()
        if k < n_pool:
            samples_pool.append(it.get_tensor(pool["inputs"][0]).tobytes() + it.get_tensor(pool["outputs"][0]).tobytes())
        if k < n_softmax:
            samples_soft.append(it.get_tensor(soft["inputs"][0]).tobytes() + it.get_tensor(soft["outputs"][0]).tobytes())
    pi, pout = tdet[pool["inputs"][0]], tdet[pool["outputs"][0]]
    (n, h, w, c), (_, oh, ow, _) = pi["shape"], pout["shape"]
    sc, zp = pi["quantization"]
    assert pout["quantization"] == pi["quantization"]
    if po.padding == fb.Padding.SAME:
        _, pt, pb = same_pads(h, po.filterHeight, po.strideH)
        _, pl, pr = same_pads(w, po.filterWidth, po.strideW)
    else:
        pt = pb = pl = pr = 0
    amin, amax = act_range(po.fusedActivationFunction, sc, zp, 1)
    recs = [header(1, (1, 0, 1), (zp, 0, zp), (sc, 0, sc), (n, h, w, c), (1, 1, 1, 1), (n, oh, ow, c),
                   (po.filterHeight, po.filterWidth, po.strideH, po.strideW, pt, pb, pl, pr),
                   po.fusedActivationFunction, amin, amax, 0.0, len(samples_pool),
                   (n * h * w * c, 0, n * oh * ow * c)) + b"".join(samples_pool)]
    si, so = tdet[soft["inputs"][0]], tdet[soft["outputs"][0]]
    rows, depth = si["shape"]
    recs.append(header(5, (1, 0, 1), (si["quantization"][1], 0, so["quantization"][1]),
                       (si["quantization"][0], 0, so["quantization"][0]), (1, 1, rows, depth), (1, 1, 1, 1),
                       (1, 1, rows, depth), beta=sop.beta, ns=len(samples_soft), sizes=(rows * depth, 0, rows * depth))
                + b"".join(samples_soft))
    print(f"KWS: AVERAGE_POOL_2D {h}x{w}x{c} k {po.filterHeight}x{po.filterWidth} -> {oh}x{ow}, "
          f"scale {sc} zp {zp}, {len(samples_pool)} samples; SOFTMAX {rows}x{depth} scale {si['quantization'][0]} "
          f"zp {si['quantization'][1]} beta {sop.beta}, {len(samples_soft)} samples")
    return recs


def write(path, recs):
    with open(path, "wb") as f:
        f.write(b"MQLF" + struct.pack("<II", 1, len(recs)))
        for r in recs:
            f.write(r)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes, {len(recs)} records)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kws-pool", type=int, default=8)
    ap.add_argument("--kws-softmax", type=int, default=400)
    a = ap.parse_args()
    import ai_edge_litert
    print("ai-edge-litert", getattr(ai_edge_litert, "__version__", "?"), "numpy", np.__version__)
    write(os.path.join(OUT, "litert_kws.bin"), kws_records(a.kws_pool, a.kws_softmax, 9))
    rng = np.random.default_rng(2026)
    recs = pool_records(rng, 1, 60) + pool_records(rng, 2, 60) + mean_records(rng, 40) + binary_records(rng, 4, 60)
    recs += softmax_records(rng, 60) + quantize_records(rng, 24) + binary_records(rng, 7, 24)
    write(os.path.join(OUT, "litert_ops.bin"), recs)


if __name__ == "__main__":
    sys.exit(main())
