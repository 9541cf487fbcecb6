#!/usr/bin/env python3
"""Host throughput over a whole test set (issue 11): `simulate` (batched host path) vs ONNX Runtime running the
same model, quantized by its own quantize_static, on the whole set in ONE call (batch N, one thread).
Dev-time comparison only (the product needs no Python).

  scripts/bench-host-batch.py --onnx M.onnx --calib CALIB.npy (--qdq-calibrate .build/release/calibrate | --mqm M.mqm)
                              [--n 20000] [--rounds 3]
                              [--bench build/bhb/host_batch_bench] [--simulate .build/release/simulate]
                              [--before-simulate OLD/simulate] [--before-bench OLD/host_batch_bench]

--qdq-calibrate CALIBRATE: the same file on both sides: ORT's QDQ export of M.onnx (the file the "ORT ... QDQ" row
runs) is packed by `CALIBRATE QDQ.onnx --data CALIB.npy` (qparams and weights from the file, not calibrated) and
that .mqm is what simulate / host_batch_bench run; the output codes of simulate and of ORT's QDQ session on the N
samples are compared too (untimed). --mqm M.mqm: the old mode, a model packed separately (e.g. calibrated by
`calibrate M.onnx`), so the two sides run different quantizations of the same float model.

--before-simulate / --before-bench: another build's binaries (e.g. main before a change), run in the SAME rounds
right after ours (rows marked "(before)"), so before, after and ORT see the same machine load; any model works
(the two MLPerf Tiny stand-ins in bench/models too: calib bench/data/{ic,vww}_calib.npy, uint8 pixels as float).

Figures, samples/s of CPU time (process_time / getrusage: the machine is shared by other jobs, wall time is
not ours), best of ROUNDS, rounds alternating ours / ORT so both see the same machine load:
  ORT batch N        onnxruntime quantize_static (QOperator, QUInt8 activations, QInt8 weights, MinMax on 256
                     calibration samples), intra_op_num_threads = 1, inter_op = 1, sequential; one sess.run on
                     all N float samples (float in, float out: its QuantizeLinear / DequantizeLinear included)
  ORT ... QDQ        the same quantization in QDQ format (ORT fuses it into its own quantized kernels)
  ORT batch 1        the QOperator session, one sample per call, over min(N, 2000) samples
  C, codes, batched  host_batch_bench: codes in, codes out, mq_model_run_batch over N samples (C, in-process)
  C, codes, per-sample  host_batch_bench: mq_model_run once per sample (the firmware's call)
  C, float in/out    host_batch_bench: mq_quantize_f32 + mq_model_run_batch + mq_dequantize_f32 over the N samples,
                     what Simulator.run(floats:) + SimulationResult.floats do, without Swift arrays and files
  simulate e2e       `simulate M --input X.npy --output Y.npy` CPU time for N samples minus the same command with
                     --limit 1 (process start, model load): .npy read, quantize, run, dequantize, .npy write
  simulate run       the "host: N sample(s) in T s" line simulate prints (codes in, codes out, through Swift;
                     WALL time: only meaningful on an idle machine)
  ORT e2e, .npy in/out  the same N samples through ORT with ITS file I/O in the timed region, like simulate e2e:
                     np.load(X.npy) + sess.run (batch N) + np.save(Y.npy) (process CPU time of this script)
The "ORT batch N" rows exclude file I/O (in-memory inputs and outputs); "simulate e2e" includes its .npy read and
write: compare it with both. The output file is removed before every timed run (untimed), so no run pays for
dropping another run's 256 MB file. Each round runs ours and ORT back to back; besides the best of the rounds the
table gives the median and the min..max of the rounds and the median of the per-round ratios to ORT batch N
(and to ORT e2e) of the same round. The load average is printed before and after.
The data: the calibration set tiled to N samples (+ small noise so no two samples are equal).
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_standins import bench_inputs, ort_quantize  # noqa: E402


def wall(cmd):
    """CPU time (user + sys) of a child process: the benchmark machine is shared, wall time is not its own."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mqm")
    ap.add_argument("--qdq-calibrate")
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bench")
    ap.add_argument("--simulate")
    ap.add_argument("--before-simulate")
    ap.add_argument("--before-bench")
    ap.add_argument("--work", default=tempfile.gettempdir())
    a = ap.parse_args()
    if (a.mqm is None) == (a.qdq_calibrate is None):
        ap.error("give one of --mqm M.mqm (a separately packed model) or --qdq-calibrate CALIBRATE (pack ORT's QDQ file)")
    os.makedirs(a.work, exist_ok=True)
    calib = np.load(a.calib).astype(np.float32)
    x = bench_inputs(calib, a.n)
    xpath = os.path.join(a.work, "bench_host_batch_x.npy")
    np.save(xpath, x)
    base = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
    in_name = base.get_inputs()[0].name
    qpath = os.path.join(a.work, os.path.basename(a.onnx).replace(".onnx", ".ort-qop.onnx"))
    ort_quantize(a.onnx, qpath, calib, qdq=False)
    qdqpath = os.path.join(a.work, os.path.basename(a.onnx).replace(".onnx", ".ort-qdq.onnx"))
    ort_quantize(a.onnx, qdqpath, calib, qdq=True)
    if a.qdq_calibrate:
        a.mqm = qdqpath.replace(".onnx", ".mqm")
        cpath = os.path.join(a.work, "bench_host_batch_calib.npy")
        np.save(cpath, calib)
        subprocess.run([a.qdq_calibrate, qdqpath, "--data", cpath, "-q", "-o", a.mqm], check=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(qpath, so, providers=["CPUExecutionProvider"])
    sess_qdq = ort.InferenceSession(qdqpath, so, providers=["CPUExecutionProvider"])
    sess.run(None, {in_name: x[:16]})  # warm-up
    sess_qdq.run(None, {in_name: x[:16]})
    n1 = min(a.n, 2000)
    runs = {}  # figure -> samples/s of every round
    order = []

    def keep(key, rate):
        if key not in runs:
            runs[key] = []
            order.append(key)
        runs[key].append(rate)

    ypath = os.path.join(a.work, "bench_host_batch_y.npy")
    yort = os.path.join(a.work, "bench_host_batch_y_ort.npy")

    def rm(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    load0 = os.getloadavg()
    for _ in range(a.rounds):
        t0 = time.process_time()
        sess.run(None, {in_name: x})
        keep("ORT batch N, 1 thread", a.n / (time.process_time() - t0))
        for sim, tag in ((a.simulate, ""), (a.before_simulate, " (before)")):
            if not sim:
                continue
            rm(ypath)
            t_all, out = wall([sim, a.mqm, "--input", xpath, "--output", ypath])
            rm(ypath)
            t_one, _ = wall([sim, a.mqm, "--input", xpath, "--output", ypath, "--limit", "1"])
            rm(ypath)
            keep("simulate e2e (CPU N - CPU 1)" + tag, (a.n - 1) / (t_all - t_one))
            m = re.search(r"host: (\d+) sample\(s\) in ([0-9.]+) s", out)
            keep("simulate run (its host: line, wall)" + tag, a.n / max(float(m.group(2)), 1e-6))
        rm(yort)
        t0 = time.process_time()
        y = sess.run(None, {in_name: np.load(xpath)})[0]
        np.save(yort, y)
        keep("ORT e2e, .npy in/out (np.load + run + np.save)", a.n / (time.process_time() - t0))
        del y
        rm(yort)
        t0 = time.process_time()
        sess_qdq.run(None, {in_name: x})
        keep("ORT batch N, 1 thread, QDQ format", a.n / (time.process_time() - t0))
        t0 = time.process_time()
        for i in range(n1):
            sess.run(None, {in_name: x[i:i + 1]})
        keep("ORT batch 1, 1 thread", n1 / (time.process_time() - t0))
        for bench, tag in ((a.bench, ""), (a.before_bench, " (before)")):
            if not bench:
                continue
            _, out = wall([bench, a.mqm, str(a.n), "1"])
            m = re.search(r"per-sample mq_model_run (\d+) samples/s, mq_model_run_batch (\d+) samples/s.*"
                          r"float in/out \(quantize \+ batch \+ dequantize\) (\d+) samples/s", out)
            keep("C, codes in/out, per-sample mq_model_run" + tag, float(m.group(1)))
            keep("C, codes in/out, mq_model_run_batch" + tag, float(m.group(2)))
            keep("C, float in/out: quantize + mq_model_run_batch + dequantize" + tag, float(m.group(3)))
    load1 = os.getloadavg()
    agree = None
    if a.qdq_calibrate and a.simulate:
        # untimed: simulate's output codes vs onnxruntime's QDQ session on the same N samples
        m = onnx.load(qdqpath)
        inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
        dq = next(n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == m.graph.output[0].name)
        sc, zp = float(inits[dq.input[1]]), int(inits[dq.input[2]])
        rm(ypath)
        subprocess.run([a.simulate, a.mqm, "--input", xpath, "--output", ypath], check=True, capture_output=True)
        ours = np.round(np.load(ypath).reshape(a.n, -1).astype(np.float64) / sc) + zp
        rm(ypath)
        theirs = np.round(sess_qdq.run(None, {in_name: x})[0].reshape(a.n, -1).astype(np.float64) / sc) + zp
        agree = (int(np.sum(ours == theirs)), ours.size, int(np.max(np.abs(ours - theirs))),
                 float(np.mean(ours.argmax(1) == theirs.argmax(1))) * 100)
    print("model %s (%s), %d samples, %d rounds, onnxruntime %s; load average before %.1f %.1f %.1f, after %.1f %.1f %.1f"
          % (a.mqm, a.onnx, a.n, a.rounds, ort.__version__, *load0, *load1))
    if a.qdq_calibrate:
        print("the same file on both sides: %s packed by %s into %s" % (qdqpath, a.qdq_calibrate, a.mqm))
    if agree:
        print("output codes of simulate equal to onnxruntime's QDQ session: %d of %d (%.2f%%), largest difference %d, "
              "top-1 equal %.2f%%" % (agree[0], agree[1], agree[0] / agree[1] * 100, agree[2], agree[3]))
    print("| figure (samples / CPU s) | best | / ORT batch N (best) | median | min..max | per-round / ORT batch N: median (min..max) | median of per-round / ORT e2e | median of per-round / ORT QDQ |")
    print("|---|---|---|---|---|---|---|---|")
    ref = runs["ORT batch N, 1 thread"]
    ref_qdq = runs["ORT batch N, 1 thread, QDQ format"]
    ref_e2e = runs["ORT e2e, .npy in/out (np.load + run + np.save)"]
    med = lambda v: float(np.median(v))
    for k in order:
        v = runs[k]
        ratio = [r / o for r, o in zip(v, ref)]
        print("| %s | %.0f | %.2f | %.0f | %.0f..%.0f | %.2f (%.2f..%.2f) | %.2f | %.2f |"
              % (k, max(v), max(v) / max(ref), med(v), min(v), max(v), med(ratio), min(ratio), max(ratio),
                 med([r / o for r, o in zip(v, ref_e2e)]), med([r / o for r, o in zip(v, ref_qdq)])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
