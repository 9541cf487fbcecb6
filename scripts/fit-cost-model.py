#!/usr/bin/env python3
"""Fit boards/cost-model.json's per-op coefficients to EXACT per-layer instruction counts (issue 11).

  scripts/fit-cost-model.py --cmcount build/cmcount --simulate SIMULATE [--write boards/cost-model.json]
                            NAME:MODEL.mqm:FIRMWARE_DIR [...]

FIRMWARE_DIR holds one firmware build per QEMU board as `simulate --qemu --work-dir` leaves it
(<dir>/<board>/build/mq_firmware.elf; scripts/bench-models.sh writes build/bench-models/fw-<name>). For each
model and core (m3 = mps2-an385, m4 = mps2-an386, m7 = mps2-an500, m55 = mps3-an547) the firmware runs under the
cmcount TCG plugin (`cmcount.py --func KERNEL`, exact, one QEMU run per kernel entry point): every call of each
op's kernel entry (mq_fully_connected_unchecked, mq_conv1x1_unchecked, mq_conv_unchecked,
mq_depthwise_conv_unchecked, mq_avg_pool_unchecked, mq_softmax_unchecked, mq_transpose_u8_unchecked, ...) in op
order, and the whole mq_model_run call; the first inference's calls are matched to the model's layers (op kind,
output shape, MACs from `simulate MODEL --board BOARD`). The interpreter's share per op is
(mq_model_run - sum of the kernel calls) / ops.

Fit per core (least squares where the layers give two independent shapes, else one coefficient):
  fully_connected   a x MACs (k rounded up to 16) + b x outputs + c per call (AD's five FC shapes, KWS's and the
                    example's FC; least squares on relative errors, so small layers count as much as big ones)
  conv_1x1          the same form (the example's three 1x1 layers, KWS's four); the first of the forms
                    (a, b, c), (a, b), (a, c) whose coefficients are all >= 0
  conv (KxK)        conv_per_mac of the 1x1 fit (the same GEMM) + convk_per_output x outputs (im2col and the
                    per-pixel set-up; KWS's first layer only)
  depthwise_conv    depthwise_per_mac x MACs (one shape measured: KWS's 3x3; per_output 0)
  average/max pool  pool_per_tap x outputs x taps;  softmax per element;  transpose per element
  per_op            the interpreter's instructions per op (mean over the models)
A fused LUT epilogue keeps the file's lut_epilogue_per_output (subtracted before the fit). Prints every layer's
measured count next to the old and the new estimate, and per model the totals. With --write the fitted values
replace the file's (other coefficients and the other cores untouched).
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

CORES = {"m3": ("mps2-an385", "cortex-m3"), "m4": ("mps2-an386", "cortex-m4"),
         "m7": ("mps2-an500", "cortex-m7"), "m55": ("mps3-an547", "cortex-m55")}
KERNEL = {"fully_connected": "mq_fully_connected_unchecked", "conv_1x1": "mq_conv1x1_unchecked",
          "conv": "mq_conv_unchecked", "depthwise_conv": "mq_depthwise_conv_unchecked",
          "average_pool": "mq_avg_pool_unchecked", "max_pool": "mq_max_pool_unchecked",
          "mean": "mq_mean_unchecked", "softmax": "mq_softmax_unchecked", "lut": "mq_lut_apply_unchecked",
          "add": "mq_add_unchecked", "transpose": "mq_transpose_u8_unchecked", "mul": "mq_mul_unchecked",
          "requantize": "mq_requantize_u8_unchecked", "pad": "mq_pad_unchecked", "concat": "mq_concat_unchecked"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def layers_of(simulate, mqm, board):
    out = subprocess.run([simulate, mqm, "--board", board], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"^\s+(\d+)\s+([a-z0-9_+]+)\s+\[([0-9x]+)\]\s+(\d+)\s+([0-9.]+)\s", line)
        if m:
            kind, _, lut = m.group(2).partition("+")
            outputs = int(np.prod([int(d) for d in m.group(3).split("x")]))
            macs = int(m.group(4))
            rows.append({"op": int(m.group(1)), "kind": kind, "lut": lut == "lut", "outputs": outputs, "macs": macs,
                         "k": macs // outputs if outputs else 0, "old_estimate": float(m.group(5))})
    if not rows:
        sys.exit("fit-cost-model: no layer table from simulate %s --board %s:\n%s" % (mqm, board, out))
    return rows


def calls(cmcount, machine, elf, func):
    r = subprocess.run([sys.executable, os.path.join(cmcount, "cmcount.py"), "-M", machine, "--func", func, "--json",
                        elf], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    try:
        return [reg["net"] for reg in json.loads(r.stdout)["regions"]]
    except (ValueError, KeyError):
        return None


def chunked(l):
    return l["outputs"] * ((l["k"] + 15) // 16 * 16)


def estimate(l, c):
    """boards/cost-model.json's formula (Sources/MQSimulation/FitReport.swift), instructions of one layer."""
    e = c["per_op"]
    kind, o = l["kind"], l["outputs"]
    if kind == "fully_connected":
        e += chunked(l) * c["fc_per_mac"] + o * c["fc_per_output"] + c.get("fc_per_call", 0.0)
    elif kind == "conv_1x1":
        e += chunked(l) * c["conv_per_mac"] + o * c["conv_per_output"] + c.get("conv_per_call", 0.0)
    elif kind == "conv":
        e += chunked(l) * c.get("convk_per_mac", c["conv_per_mac"]) + o * c.get("convk_per_output", c["conv_per_output"])
    elif kind == "depthwise_conv":
        e += l["macs"] * c.get("depthwise_per_mac", c["conv_per_mac"]) + o * c.get("depthwise_per_output", c["conv_per_output"])
    elif kind in ("average_pool", "max_pool"):
        e += o * l["k"] * c.get("pool_per_tap", c["add_per_element"])
    elif kind == "mean":
        e += o * l["k"] * c.get("mean_per_element", c["add_per_element"])
    elif kind in ("mul", "requantize"):
        e += o * c.get(kind + "_per_element", c["add_per_element"])
    elif kind in ("pad", "concat"):
        e += o * c["copy_per_byte"]
    elif kind in ("lut", "add", "softmax", "transpose"):
        e += o * c[kind + "_per_element"]
    if l["lut"] and kind in ("fully_connected", "conv_1x1", "conv", "depthwise_conv"):
        e += o * c["lut_epilogue_per_output"]
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cmcount", required=True)
    ap.add_argument("--simulate", required=True)
    ap.add_argument("--cores", default="m3 m4 m7 m55")
    ap.add_argument("--write")
    ap.add_argument("--json-out")
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    cm_path = os.path.join(ROOT, "boards", "cost-model.json")
    cost = json.load(open(cm_path))
    data = {}  # core -> list of (model, layers with "measured"), totals
    for spec in a.models:
        name, mqm, fwdir = spec.split(":")
        for core in a.cores.split():
            board, cname = CORES[core]
            elf = os.path.join(fwdir, board, "build", "mq_firmware.elf")
            if not os.path.exists(elf):
                print("fit-cost-model: %s on %s: no firmware %s (skipped)" % (name, core, elf))
                continue
            ls = layers_of(a.simulate, mqm, board)
            old = cost["cores"][cname]
            for l in ls:
                if l["kind"] in ("average_pool", "max_pool", "mean") and l["outputs"] > 0:
                    # the table prints no MACs for these: the window taps back from the file's own estimate
                    per = old.get("pool_per_tap" if l["kind"] != "mean" else "mean_per_element", old["add_per_element"])
                    l["k"] = int(round((l["old_estimate"] - old["per_op"]) / (l["outputs"] * per)))
            total = calls(a.cmcount, board, elf, "mq_model_run")
            if not total:
                sys.exit("fit-cost-model: %s on %s: cmcount found no mq_model_run call" % (name, core))
            kinds = sorted({l["kind"] for l in ls if l["kind"] in KERNEL})
            for kind in kinds:
                cs = calls(a.cmcount, board, elf, KERNEL[kind])
                if kind == "fully_connected" and not cs:
                    cs = calls(a.cmcount, board, elf, "mq_fully_connected_single_rounding")
                mine = [l for l in ls if l["kind"] == kind]
                if not cs or len(cs) < len(mine):
                    sys.exit("fit-cost-model: %s on %s: %d calls of %s for %d %s layers" %
                             (name, core, len(cs or []), KERNEL[kind], len(mine), kind))
                for l, n in zip(mine, cs):
                    l["measured_kernel"] = n
            kern = sum(l.get("measured_kernel", 0) for l in ls)
            data.setdefault(core, []).append({"model": name, "layers": ls, "total": total[0], "kernels": kern})
    fitted = {}
    for core, runs in data.items():
        cname = CORES[core][1]
        c = dict(cost["cores"][cname])
        old = dict(c)
        allL = [l for r in runs for l in r["layers"]]
        nops = sum(len(r["layers"]) for r in runs)
        c["per_op"] = round(sum(r["total"] - r["kernels"] for r in runs) / nops, 1)

        def kernel_only(l):  # measured kernel instructions minus the fixed LUT epilogue
            return l["measured_kernel"] - (l["outputs"] * c["lut_epilogue_per_output"] if l["lut"] else 0)

        def fit3(kind, pm, po, pc):
            """kernel = a x chunked MACs + b x outputs + c per call, least squares on RELATIVE errors (each layer
            weighs the same, whatever its size); fewer distinct shapes than 3: c = 0 (and b alone with one)."""
            L = [l for l in allL if l["kind"] == kind and "measured_kernel" in l]
            shapes = {(l["k"], l["outputs"]) for l in L}
            y = np.array([kernel_only(l) for l in L], dtype=float)
            # the first form whose coefficients are all >= 0 (a negative one would not extrapolate)
            forms = ([(0, 1, 2)] if len(shapes) >= 3 else []) + ([(0, 1), (0, 2)] if len(shapes) >= 2 else [])
            for form in forms:
                cols = {0: lambda l: chunked(l), 1: lambda l: l["outputs"], 2: lambda l: 1.0}
                A = np.array([[cols[j](l) for j in form] for l in L], dtype=float)
                sol, *_ = np.linalg.lstsq(A / y[:, None], np.ones(len(L)), rcond=None)
                if min(sol) < 0:
                    continue
                val = dict(zip(form, sol))
                c[pm] = round(float(val.get(0, 0.0)), 4)
                c[po] = round(float(val.get(1, 0.0)), 2)
                c[pc] = round(float(val.get(2, 0.0)), 1)
                break
            else:
                forms = []
            if forms:
                return
            if L:
                c[po] = round(float(np.mean([(kernel_only(l) - chunked(l) * c[pm]) / l["outputs"] for l in L])), 2)

        fit3("fully_connected", "fc_per_mac", "fc_per_output", "fc_per_call")
        fit3("conv_1x1", "conv_per_mac", "conv_per_output", "conv_per_call")
        L = [l for l in allL if l["kind"] == "conv" and "measured_kernel" in l]
        if L:
            c["convk_per_mac"] = c["conv_per_mac"]
            c["convk_per_output"] = round(float(np.mean([(kernel_only(l) - chunked(l) * c["conv_per_mac"]) / l["outputs"]
                                                         for l in L])), 2)
        L = [l for l in allL if l["kind"] == "depthwise_conv" and "measured_kernel" in l]
        if L:
            c["depthwise_per_mac"] = round(float(np.mean([kernel_only(l) / l["macs"] for l in L])), 4)
            c["depthwise_per_output"] = 0.0
        for kind, key, per in (("average_pool", "pool_per_tap", lambda l: l["outputs"] * l["k"]),
                               ("max_pool", "pool_per_tap", lambda l: l["outputs"] * l["k"]),
                               ("softmax", "softmax_per_element", lambda l: l["outputs"]),
                               ("transpose", "transpose_per_element", lambda l: l["outputs"])):
            L = [l for l in allL if l["kind"] == kind and "measured_kernel" in l]
            if L:
                c[key] = round(float(np.mean([l["measured_kernel"] / per(l) for l in L])), 3)
        fitted[cname] = c
        print("\n== %s (%s): coefficients old -> new ==" % (core, cname))
        for key in sorted(c):
            if key != "source" and old.get(key) != c[key]:
                print("  %-24s %10s -> %s" % (key, old.get(key, "-"), c[key]))
        print("  %-4s %-16s %-16s %10s %12s %12s %12s" % ("op", "kind", "k x outputs", "measured", "meas+interp",
                                                          "old est", "new est"))
        for r in runs:
            print(" model %s: mq_model_run %d instructions (kernels %d, interpreter %d = %.0f per op)" %
                  (r["model"], r["total"], r["kernels"], r["total"] - r["kernels"],
                   (r["total"] - r["kernels"]) / len(r["layers"])))
            new_total = 0.0
            old_total = 0.0
            for l in r["layers"]:
                ne, oe = estimate(l, c), estimate(l, old)
                new_total += ne
                old_total += oe
                print("  %-4d %-16s %-16s %10s %12s %12.0f %12.0f" % (
                    l["op"], l["kind"] + ("+lut" if l["lut"] else ""), "%dx%d" % (l["k"], l["outputs"]),
                    l.get("measured_kernel", "-"),
                    "%.0f" % (l.get("measured_kernel", 0) + c["per_op"]), oe, ne))
            print("  total: measured %d, old estimate %.0f (%.3fx), new estimate %.0f (%.3fx)" %
                  (r["total"], old_total, old_total / r["total"], new_total, new_total / r["total"]))
    if a.json_out:
        json.dump({core: runs for core, runs in data.items()}, open(a.json_out, "w"), indent=1)
    if a.write:
        for cname, c in fitted.items():
            cost["cores"][cname] = c
        with open(a.write, "w") as f:
            json.dump(cost, f, indent=2)
            f.write("\n")
        print("\nwrote %s" % a.write)


if __name__ == "__main__":
    main()
