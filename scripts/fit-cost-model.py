#!/usr/bin/env python3
"""Fit boards/cost-model.json's per-op coefficients to EXACT per-layer instruction counts (issue 11).

  scripts/fit-cost-model.py --cmcount build/cmcount --simulate SIMULATE [--write boards/cost-model.json]
                            [--write-cycles boards/cycle-model.json] NAME:MODEL.mqm:FIRMWARE_DIR [...]

(scripts/fit-cost-model.sh runs the whole refit, firmware builds included: docs/PERFORMANCE.md 'Cost model'.)

FIRMWARE_DIR holds one firmware build per QEMU board as `simulate --qemu --work-dir` leaves it
(<dir>/<board>/build/mq_firmware.elf; scripts/bench-models.sh writes build/bench-models/fw-<name>). For each
model and core (m3 = mps2-an385, m4 = mps2-an386, m7 = mps2-an500, m55 = mps3-an547) the firmware runs under the
cmcount TCG plugin (exact, per-PC counts, one QEMU run per kernel entry point the model uses): every call of
the entry point csrc/src/runtime/mq_model_run.c calls for each op, chosen as the interpreter chooses it from
the op's in-place flag (the packed header flags single rounding FC / conv only switch the fast kernels' output
stage, mq_fc_params / mq_depthwise_params.single_rounding: same entry points):
  fully_connected   mq_fully_connected_unchecked
  conv_1x1          mq_conv1x1_unchecked | mq_conv1x1_inplace_unchecked
  conv (KxK)        mq_conv_unchecked
  depthwise_conv    mq_depthwise_conv_unchecked | mq_depthwise_conv_inplace_unchecked
  others            mq_avg_pool_unchecked, mq_max_pool_unchecked, mq_mean_unchecked, mq_softmax_unchecked,
                    mq_transpose_u8_unchecked, mq_add_unchecked, ... (KERNEL below)
and the whole mq_model_run call; the first inference's calls are matched to the model's layers in op order
(op kind, output shape, MACs from `simulate MODEL --board BOARD`). The interpreter's share per op is
(mq_model_run - sum of the kernel calls) / ops.

Cycles (M3 and M4 only: the cores with a TRM timing table in scripts/insn-mix.py): each counted call's per-PC
counts are weighted by scripts/insn-mix.py's class timings, giving CPI per layer kind (fully_connected, conv =
1x1 and KxK, depthwise, pool = average/max pool and mean, other = the interpreter's per-op share plus every
other kernel) over all the models' first inferences. With --write-cycles they go to boards/cycle-model.json
(cpi_by_kind, and cpi = the pooled whole-inference CPI); the other cores' entries are left as they are.

Fit per core (least squares where the layers give two independent shapes, else one coefficient):
  fully_connected   a x MACs (k rounded up to 16) + b x outputs + c per call (AD's five FC shapes, KWS's and the
                    example's FC; least squares on relative errors, so small layers count as much as big ones)
  conv_1x1          conv_per_mac_by_k[r] x MACs (k rounded up) + conv_per_output x outputs + conv_per_call +
                    conv_per_gemm_call x microkernel calls + conv_per_group_block x DSP pair-loop blocks x groups
                    (conv1x1_features, from the shapes), r = the
                    k range of the file's gemm_k_bounds (the core's GEMM loops; read, not fitted) that k falls in:
                    one per-MAC column per range the layers reach (a range without layers takes the one below);
                    least squares on relative errors, every coefficient >= 0 (nnls_rel); conv_per_mac = the range
                    with the most MACs (the 16x8 stand-in)
  conv (KxK)        convk_per_mac_by_k[r] x MACs + convk_per_output x outputs + convk_per_pixel x pixels +
                    convk_per_im2col_byte x pixels x k (the im2col gather; pixels = outputs / output channels), the
                    same least squares when the layers give 4 shapes or more (KWS's first conv, the IC / VWW
                    stand-ins'); else conv_per_mac of the 1x1 fit (the same GEMM) + the mean per-output residual
  depthwise_conv    depthwise_per_mac x MACs + the kernels' loop counts (dw_features: per pixel x channel group,
                    per pixel, per border pixel, per run, per run x group, per group set-up), least squares on
                    relative errors, every coefficient >= 0 (the best subset), from the layers' window geometry
                    (read from the .mqm; --geometry for counts saved without it); depthwise_group_channels and
                    depthwise_cached_groups are the kernels' constants (read, not fitted). Without geometry or with
                    one shape: per MAC + per pixel / per MAC alone, as before
  average pool      pool_per_tap x outputs x taps + pool_per_output x outputs (>= 2 shapes, both >= 0; max pool the
                    same coefficients); else per tap alone;  softmax, transpose, add per element (add_per_element is also
                    the stand-in of the ops without their own coefficient: MUL, REQUANTIZE, the 16x8 elementwise ops)
  per_op            the interpreter's instructions per op and io_per_byte per byte of the model's inputs and outputs
                    (its copies): least squares over the models' (mq_model_run - kernel calls); else the mean per op
--from-json FILE refits from the counts a run saved with --json-out (build/fit-cost-model/fit.json), without QEMU.
--exclude "NAME ..." leaves models out of the fit but still estimates them (the leave-one-model-out check).
--cpi-models (default "ad kws tinyconv") are the models whose instruction mixes give the M3/M4 CPI per kind.
A fused LUT epilogue keeps the file's lut_epilogue_per_output (subtracted before the fit). Prints every layer's
measured count next to the old and the new estimate, and per model the totals. With --write the fitted values
replace the file's (other coefficients and the other cores untouched).
"""
import argparse
import datetime
import importlib.util
import itertools
import json
import struct
import tempfile
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
# entries that another entry calls for each of its own calls (so their regions include those calls)
NESTED = {}
CPI_KIND = {"fully_connected": "fully_connected", "conv_1x1": "conv", "conv": "conv",
            "depthwise_conv": "depthwise", "average_pool": "pool", "max_pool": "pool", "mean": "pool"}
CPI_KINDS = ("fully_connected", "conv", "depthwise", "pool", "other")


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def dump_compact(table, path):
    """boards/*.json as kept in the tree: the note, then per core its numbers on one line and its source."""
    lines = ["{"]
    for key, val in table.items():
        if key != "cores":
            lines.append("  %s: %s," % (json.dumps(key), json.dumps(val)))
    lines.append('  "cores": {')
    cores = list(table["cores"].items())
    for i, (cname, c) in enumerate(cores):
        nums = ", ".join("%s: %s" % (json.dumps(k), json.dumps(v)) for k, v in c.items() if k != "source")
        lines.append("    %s: {" % json.dumps(cname))
        lines.append("      %s," % nums if "source" in c else "      %s" % nums)
        if "source" in c:
            lines.append("      \"source\": %s" % json.dumps(c["source"]))
        lines.append("    }" + ("," if i + 1 < len(cores) else ""))
    lines += ["  }", "}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def packed_flags(mqm):
    """(header flags, [in-place flag per op]) of a packed model (docs/FORMAT.md: header flags u32 @20, num_ops
    u16 @38, section table @64 with OPS second, op record 160 bytes, flags u8 @3)."""
    b = open(mqm, "rb").read()
    hflags = struct.unpack_from("<I", b, 20)[0]
    nops = struct.unpack_from("<H", b, 38)[0]
    sec_id, ops_off = struct.unpack_from("<II", b, 64 + 16)
    if sec_id != 2:
        sys.exit("fit-cost-model: %s: section 1 is not OPS" % mqm)
    return hflags, [b[ops_off + 160 * i + 3] & 1 for i in range(nops)]


def geometry(mqm):
    """Per op (in op order) its window block and the NHWC dims of its first input and output (docs/FORMAT.md: section
    table @64, 16 bytes per section, num_sections u16 @44; TENSORS (id 1) 48-byte records, rank u8 @1, dims 4 x u32
    @4; OPS (id 2) 160-byte records, inputs u16 @4, outputs u16 @20, params u32 @32; the window block is 10 words
    at p16 (DEPTHWISE_CONV), p17 (CONV), p0 (the pools)): {"win": [kh, kw, sh, sw, dh, dw, pt, pb, pl, pr],
    "in_shape": [...], "out_shape": [...]}."""
    b = open(mqm, "rb").read()
    nops = struct.unpack_from("<H", b, 38)[0]
    nsec = struct.unpack_from("<H", b, 44)[0]
    secs = {}
    for i in range(nsec):
        sid, off = struct.unpack_from("<II", b, 64 + 16 * i)
        secs[sid] = off

    def shape(t):
        r = secs[1] + 48 * t
        return [struct.unpack_from("<I", b, r + 4 + 4 * j)[0] for j in range(min(b[r + 1], 4))]
    res = []
    for i in range(nops):
        r = secs[2] + 160 * i
        params = struct.unpack_from("<32I", b, r + 32)
        at = {9: 16, 8: 17, 10: 0, 11: 0}.get(b[r])  # DEPTHWISE_CONV, CONV, AVERAGE_POOL, MAX_POOL
        res.append({"win": list(params[at:at + 10]) if at is not None else None,
                    "in_shape": shape(struct.unpack_from("<H", b, r + 4)[0]) if b[r + 1] else [],
                    "out_shape": shape(struct.unpack_from("<H", b, r + 20)[0])})
    return res


def entry_of(kind, in_place, hflags):
    """The kernel entry mq_model_run.c calls for an op (docs/FORMAT.md flags). The header flags (hflags: single
    rounding FC / conv) select the fast kernels' output stage, not the entry point."""
    del hflags
    if kind == "conv_1x1":
        return "mq_conv1x1_inplace_unchecked" if in_place else "mq_conv1x1_unchecked"
    if kind == "depthwise_conv":
        return "mq_depthwise_conv_inplace_unchecked" if in_place else "mq_depthwise_conv_unchecked"
    return KERNEL.get(kind)


DTYPE_BYTES = {"uint8": 1, "int8": 1, "int16": 2, "uint16": 2, "int32": 4, "float32": 4}


def layers_of(simulate, mqm, board):
    """(layers, io_bytes) from `simulate MODEL --board BOARD`: per layer op, kind, output shape (n = its last
    dimension, the output channels), MACs, k and the file's estimate; io_bytes = the model's input + output bytes
    (mq_model_run copies them in and out)."""
    out = subprocess.run([simulate, mqm, "--board", board], capture_output=True, text=True).stdout
    rows = []
    io_bytes = 0
    for line in out.splitlines():
        m = re.match(r"^  (input|output) \d+: .* ([a-z0-9]+)\[([0-9x]+)\]", line)
        if m and m.group(2) in DTYPE_BYTES:
            io_bytes += DTYPE_BYTES[m.group(2)] * int(np.prod([int(d) for d in m.group(3).split("x")]))
        m = re.match(r"^\s+(\d+)\s+([a-z0-9_+]+)\s+\[([0-9x]+)\]\s+(\d+)\s+([0-9.]+)\s", line)
        if m:
            kind, _, lut = m.group(2).partition("+")
            shape = [int(d) for d in m.group(3).split("x")]
            outputs = int(np.prod(shape))
            macs = int(m.group(4))
            rows.append({"op": int(m.group(1)), "kind": kind, "lut": lut == "lut", "outputs": outputs, "macs": macs,
                         "n": shape[-1], "k": macs // outputs if outputs else 0, "old_estimate": float(m.group(5))})
    if not rows:
        sys.exit("fit-cost-model: no layer table from simulate %s --board %s:\n%s" % (mqm, board, out))
    return rows, io_bytes


class Counter:
    """Runs one firmware under the cmcount plugin: exact instructions of every direct call of a function,
    and (core m3/m4) its cycles from scripts/insn-mix.py's TRM timings."""

    def __init__(self, cmcount, machine, elf, core):
        self.cm = load_module("cmcount", os.path.join(cmcount, "cmcount.py"))
        self.mix = load_module("insn_mix", os.path.join(ROOT, "scripts", "insn-mix.py"))
        self.plugin = os.path.join(cmcount, "plugin", "libcmcount.so")
        if not os.path.exists(self.plugin):
            sys.exit("fit-cost-model: %s not built (make -C %s/plugin)" % (self.plugin, cmcount))
        self.machine, self.elf, self.core = machine, elf, core
        self.syms = self.cm.symbols(elf)
        self.info, self.nxt = self.mix.disassembly(elf, self.cm.TOOL + "objdump")

    def calls(self, func):
        """[(instructions, cycles or None)] per call of func, in call order; None when func is not linked."""
        if func not in self.syms:
            return None
        a, sz, _ = self.syms[func]
        stops, _ = self.cm.call_return_sites(self.elf, func, (a, a + max(sz, 1)))
        if not stops or len(stops) > 64:
            return None
        timed = self.core in ("m3", "m4")
        fd, out = tempfile.mkstemp(prefix="fitcost.", suffix=".txt")
        os.close(fd)
        plug = "%s,start=0x%x,stop=%s,out=%s%s" % (self.plugin, a, ":".join("0x%x" % x for x in stops), out,
                                                   ",prof=on" if timed else "")
        subprocess.run(["qemu-system-arm", "-M", self.machine, "-nographic", "-monitor", "none",
                        "-semihosting-config", "enable=on,target=native", "-plugin", plug, "-kernel", self.elf],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
        counts, pcs = {}, {}
        for line in open(out):
            f = line.split()
            if f[0] == "@cmcount":
                counts[int(f[1])] = int(f[2])
            elif f[0] == "@pc":
                pcs.setdefault(int(f[1]), {})[int(f[2], 16)] = int(f[3])
        os.unlink(out)
        res = []
        for k in sorted(counts):
            cyc = None
            if timed:
                n, cyc, _, _ = self.mix.mix(pcs.get(k, {}), self.info, self.nxt, self.core)
                if n != counts[k]:
                    sys.exit("fit-cost-model: %s call %d: %d instructions counted, %d classified (pc outside the "
                             "disassembly?)" % (func, k, counts[k], n))
            res.append((counts[k], cyc))
        return res


def chunked(l):
    return l["outputs"] * ((l["k"] + 15) // 16 * 16)


def pixels(l):
    """Output pixels (rows of the GEMM): outputs / output channels."""
    return l["outputs"] // l["n"] if l.get("n") else 0


def k_range(l, c):
    """Index of the core's GEMM k range the layer's k falls in: the first of gemm_k_bounds >= k, else the last."""
    bounds = c.get("gemm_k_bounds") or []
    return next((i for i, b in enumerate(bounds) if l["k"] <= b), len(bounds))


def per_mac(c, by_k, plain, l):
    """The per-MAC coefficient of the layer's k range (by_k list), else the plain one."""
    v = c.get(by_k)
    i = k_range(l, c)
    return v[i] if v and i < len(v) else c.get(plain, c["conv_per_mac"])


MQ_DW_TAP_BUFFER = 144  # csrc/src/mq_microkernels.h: tap pointers per run (16 pixels of a 3x3 kernel)


def dw_features(l, c):
    """The depthwise kernel's loop counts (csrc/src/depthwise/mq_depthwise_conv*.c and the core's microkernel), from
    the layer's geometry (l["win"], l["in_shape"], l["out_shape"]: geometry()) and the core's channel group width
    depthwise_group_channels (DSP / v7m 4, MVE 16 then one of 8; read, not fitted) and cached groups
    depthwise_cached_groups (DSP / v7m 16: MQ_DW_DSP_CACHED / MQ_DW_V7M_CACHED; MVE 0, no cache):
      macs          output pixels x channels x taps (the group's tap block and output stage per pixel)
      pixel_groups  pixels x channel groups (the group loop per pixel: bias, output stage, store)
      pixels        the driver's tap pointers per output pixel (mq_dw_rows_nine / mq_dw_rows_any)
      border        output pixels with a tap outside the input (mq_dw_taps9_border: the padding pixel)
      runs          microkernel calls: runs of MQ_DW_TAP_BUFFER / taps pixels; in place (one mq_depthwise_rows call
                    per output row, the row ring flush) out_h x ceil(out_w / run), else ceil(pixels / run) per image
      group_runs    runs x channel groups (per run: each group's check and call)
      setups        group set-ups (requantization constants, 3x3 weight pairs, bias): every group on the first run,
                    then per later run the groups past the cache (DSP / v7m), every group every run (MVE)
    None when the layer has no geometry (a count saved before geometry was recorded)."""
    win, ins, outs = l.get("win"), l.get("in_shape") or [], l.get("out_shape") or []
    if not win or len(ins) != 4 or len(outs) != 4:
        return None
    kh, kw, sh, sw, dh, dw, pt, pb, pl, pr = win
    batch, in_h, in_w, cin = ins
    out_h, out_w, cout = outs[1], outs[2], outs[3]
    ntaps = max(1, kh * kw)
    chunk = max(1, MQ_DW_TAP_BUFFER // ntaps)

    def inside(n_out, pad, stride, k, d, n_in):
        # outputs whose taps are all inside along one axis: ceil(pad / stride) .. (n_in - 1 - (k - 1) d + pad) / stride
        lo = (pad + stride - 1) // stride
        last = n_in - 1 - (k - 1) * d + pad
        hi = min(n_out - 1, last // stride) if last >= 0 else -1
        return max(0, hi - lo + 1)
    pixels = out_h * out_w
    interior = inside(out_h, pt, sh, kh, dh, in_h) * inside(out_w, pl, sw, kw, dw, in_w)
    g = int(c.get("depthwise_group_channels", 4))
    if g >= 16:  # MVE: groups of 16, then one of 8, the tail by the portable kernel
        groups = cout // 16 + (1 if cout % 16 >= 8 else 0) + (1 if cout % 8 else 0)
    else:
        groups = (cout + g - 1) // g
    runs = (out_h * ((out_w + chunk - 1) // chunk) if l.get("entry", "").endswith("inplace_unchecked")
            else (pixels + chunk - 1) // chunk) * batch
    cached = int(c.get("depthwise_cached_groups", 0))
    setups = groups + max(0, runs - 1) * max(0, groups - cached) if cached > 0 else runs * groups
    return {"macs": l["macs"], "pixel_groups": pixels * groups * batch, "pixels": pixels * batch,
            "border": (pixels - interior) * batch, "runs": runs, "group_runs": runs * groups, "setups": setups}


MQ_CONV1X1_INPLACE_BLOCK = 32  # csrc/include/microquant/mq_kernels.h: pixels per GEMM call of the copying in-place path


def conv1x1_features(l, c):
    """The 1x1 convolution's GEMM calls and the DSP pair loop's group set-ups, from the layer's shapes and the core's
    kernel constants (not fitted; docs/PERFORMANCE.md "1x1 convolution terms"):
      calls         microkernel calls: one over all pixels for a stride-1 unpadded layer (mq_conv1x1); in place, one
                    when the core's GEMM may write over its input (MQ_GEMM_IN_PLACE: k <= conv1x1_inplace_max_k,
                    n % 4 == 0; the DSP pair loop's k; MVE's row-outer path: no LUT), else one per
                    MQ_CONV1X1_INPLACE_BLOCK pixels (scratch + copy); strided (or padded): one per output row
      group_blocks  DSP (gemm_pair_block_words, MQ_DSP_PX_WORDS): per call, the pair loop's blocks of words / k pairs
                    (each block's lanes expanded once) x the 4-channel groups, each set up per block (requantization
                    words, bias, weight lanes: mq_dsp_pairs_blocked); 0 where the pair loop does not run
    None without rank-4 shapes."""
    ins, outs = l.get("in_shape") or [], l.get("out_shape") or []
    if len(ins) != 4 or len(outs) != 4:
        return None
    b, ih, iw, k = ins
    oh, ow, n = outs[1], outs[2], outs[3]
    px = b * oh * ow
    words = int(c.get("gemm_pair_block_words", 0))
    pair_k = (k % 16 == 0 and k <= 512) or (k % 4 == 0 and k <= 128)
    if (oh, ow) != (ih, iw):
        calls = [ow] * (b * oh)
    elif l.get("entry", "").endswith("inplace_unchecked"):
        one = k <= int(c.get("conv1x1_inplace_max_k", 0)) and n % 4 == 0 and (pair_k if words else not l["lut"])
        blk = MQ_CONV1X1_INPLACE_BLOCK
        calls = [px] if one else [min(blk, px - i) for i in range(0, px, blk)]
    else:
        calls = [px]
    gb = 0
    if words and pair_k and n >= 4:
        per_block = max(1, words // k)
        gb = sum((m // 2 + per_block - 1) // per_block for m in calls if m >= 2) * ((n + 3) // 4)
    return {"calls": len(calls), "group_blocks": gb}


DW_TERMS = ("macs", "pixel_groups", "pixels", "border", "runs", "group_runs", "setups")
DW_KEYS = {"macs": "depthwise_per_mac", "pixel_groups": "depthwise_per_pixel_group", "pixels": "depthwise_per_pixel",
           "border": "depthwise_per_border_pixel", "runs": "depthwise_per_run", "group_runs": "depthwise_per_group_run",
           "setups": "depthwise_per_group_setup"}


def estimate(l, c, io_bytes=0):
    """boards/cost-model.json's formula (Sources/MQSimulation/FitReport.swift), instructions of one layer; io_bytes
    (the model's input + output bytes, io_per_byte each) is passed for the first layer only."""
    e = c["per_op"] + io_bytes * c.get("io_per_byte", 0.0)
    kind, o = l["kind"], l["outputs"]
    if kind == "fully_connected":
        e += chunked(l) * c["fc_per_mac"] + o * c["fc_per_output"] + c.get("fc_per_call", 0.0)
    elif kind == "conv_1x1":
        e += chunked(l) * per_mac(c, "conv_per_mac_by_k", "conv_per_mac", l) + o * c["conv_per_output"] \
            + c.get("conv_per_call", 0.0)
        f = conv1x1_features(l, c)
        if f is not None:
            e += f["calls"] * c.get("conv_per_gemm_call", 0.0) + f["group_blocks"] * c.get("conv_per_group_block", 0.0)
    elif kind == "conv":
        e += chunked(l) * per_mac(c, "convk_per_mac_by_k", "convk_per_mac", l) \
            + o * c.get("convk_per_output", c["conv_per_output"]) + pixels(l) * c.get("convk_per_pixel", 0.0) \
            + pixels(l) * l["k"] * c.get("convk_per_im2col_byte", 0.0)
    elif kind == "depthwise_conv":
        e += l["macs"] * c.get("depthwise_per_mac", c["conv_per_mac"]) + o * c.get("depthwise_per_output", c["conv_per_output"])
        f = dw_features(l, c)
        if f is None:
            e += pixels(l) * c.get("depthwise_per_pixel", 0.0)
        else:
            e += sum(f[t] * c.get(DW_KEYS[t], 0.0) for t in DW_TERMS if t != "macs")
    elif kind in ("average_pool", "max_pool"):
        e += o * l["k"] * c.get("pool_per_tap", c["add_per_element"]) + o * c.get("pool_per_output", 0.0)
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


def nnls_rel(A, y):
    """Least squares on RELATIVE errors (each layer weighs the same, whatever its size) with every coefficient >= 0:
    the best of the exact solutions over every subset of the columns (the others 0; a handful of columns here)."""
    A = np.asarray(A, dtype=float)
    y = np.asarray(y, dtype=float)
    As, ones = A / y[:, None], np.ones(len(y))
    best = None
    for r in range(1, A.shape[1] + 1):
        for cols in itertools.combinations(range(A.shape[1]), r):
            sol, *_ = np.linalg.lstsq(As[:, cols], ones, rcond=None)
            if min(sol) < 0:
                continue
            res = float(np.sum((As[:, cols] @ sol - ones) ** 2))
            if best is None or res < best[0] - 1e-12:
                x = np.zeros(A.shape[1])
                x[list(cols)] = sol
                best = (res, x)
    return best[1] if best else np.zeros(A.shape[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cmcount")
    ap.add_argument("--simulate")
    ap.add_argument("--cores", default="m3 m4 m7 m55")
    ap.add_argument("--write", help="write the fitted coefficients here (boards/cost-model.json)")
    ap.add_argument("--write-cycles", help="write M3/M4's CPI per layer kind here (boards/cycle-model.json)")
    ap.add_argument("--json-out", help="write the counts (per core, model and layer) here")
    ap.add_argument("--cpi-models", default="ad kws tinyconv",
                    help="the models whose instruction mixes give the M3/M4 CPI per kind (boards/cycle-model.json; "
                         "default: the MLPerf Tiny AD and KWS and the example, as before the stand-ins joined the "
                         "instruction fit)")
    ap.add_argument("--from-json", help="refit from the counts a previous run wrote with --json-out (no QEMU)")
    ap.add_argument("--geometry", action="append", default=[], metavar="NAME:MODEL.mqm",
                    help="with --from-json: the window geometry of NAME's layers from its packed model, for counts saved "
                         "before the fit recorded it (then written with --json-out)")
    ap.add_argument("--exclude", default="", help="models (space separated) left out of the fit but still estimated: "
                                                  "the leave-one-model-out check")
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    if not a.models and not a.from_json:
        ap.error("give NAME:MODEL.mqm:FIRMWARE_DIR specs or --from-json")
    if a.models and not (a.cmcount and a.simulate):
        ap.error("counting needs --cmcount and --simulate")
    cm_path = os.path.join(ROOT, "boards", "cost-model.json")
    cost = json.load(open(cm_path))
    data = {}  # core -> list of (model, layers with "measured"), totals
    if a.from_json:
        data = {core: runs for core, runs in json.load(open(a.from_json)).items() if core in a.cores.split()}
        for spec in a.geometry:
            name, mqm = spec.split(":", 1)
            geo = geometry(mqm)
            for runs in data.values():
                for r in runs:
                    if r["model"] == name:
                        for l in r["layers"]:
                            l.update(geo[l["op"]])
    for spec in ([] if a.from_json else a.models):
        name, mqm, fwdir = spec.split(":")
        hflags, inplace = packed_flags(mqm)
        for core in a.cores.split():
            board, cname = CORES[core]
            elf = os.path.join(fwdir, board, "build", "mq_firmware.elf")
            if not os.path.exists(elf):
                print("fit-cost-model: %s on %s: no firmware %s (skipped)" % (name, core, elf))
                continue
            ls, io_bytes = layers_of(a.simulate, mqm, board)
            geo = geometry(mqm)
            old = cost["cores"][cname]
            for l in ls:
                if l["kind"] in ("average_pool", "max_pool", "mean") and l["outputs"] > 0:
                    # the table prints no MACs for these: the window taps back from the file's own estimate
                    per = old.get("pool_per_tap" if l["kind"] != "mean" else "mean_per_element", old["add_per_element"])
                    l["k"] = int(round((l["old_estimate"] - old["per_op"]) / (l["outputs"] * per)))
                if l["op"] >= len(inplace):
                    sys.exit("fit-cost-model: %s: op %d beyond the packed op table" % (mqm, l["op"]))
                l["entry"] = entry_of(l["kind"], inplace[l["op"]], hflags)
                l.update(geo[l["op"]])
            counter = Counter(a.cmcount, board, elf, core)
            total = counter.calls("mq_model_run")
            if not total:
                sys.exit("fit-cost-model: %s on %s: cmcount found no mq_model_run call" % (name, core))
            for entry in sorted({l["entry"] for l in ls if l["entry"]}):
                cs = counter.calls(entry) or []
                # the regions of entry, in op order: its own layers and those whose entry calls it (NESTED)
                seq = [l for l in ls if l["entry"] == entry or l["entry"] in NESTED.get(entry, ())]
                if len(cs) < len(seq):
                    sys.exit("fit-cost-model: %s on %s: %d calls of %s for %d layers" % (name, core, len(cs), entry,
                                                                                       len(seq)))
                # calls before the inferences (the loader validates ADD by calling the kernel on the layer's
                # parameters): one call per layer and inference belongs to mq_model_run, the surplus comes first
                skip = len(cs) - len(total) * len(seq)
                if skip > 0:
                    cs = cs[skip:]
                for l, (n, cyc) in zip(seq, cs):
                    if l["entry"] == entry:
                        l["measured_kernel"], l["kernel_cycles"] = n, cyc
            kern = sum(l.get("measured_kernel", 0) for l in ls)
            kcyc = sum(l.get("kernel_cycles") or 0 for l in ls)
            data.setdefault(core, []).append({"model": name, "layers": ls, "io_bytes": io_bytes,
                                              "total": total[0][0], "kernels": kern,
                                              "total_cycles": total[0][1], "kernel_cycles": kcyc})
    fitted = {}
    cycles_fit = {}
    for core, runs in data.items():
        cname = CORES[core][1]
        c = dict(cost["cores"][cname])
        old = dict(c)
        # the fit set: every run but the --exclude'd models (estimated all the same: out of sample)
        fit_runs = [r for r in runs if r["model"] not in a.exclude.split()]
        allL = [l for r in fit_runs for l in r["layers"]]
        nops = sum(len(r["layers"]) for r in fit_runs)
        # the interpreter's share of each model (mq_model_run - its kernel calls) = per_op x ops + io_per_byte x
        # the model's input + output bytes (the copies in and out); both >= 0, else per_op alone
        interp = [r["total"] - r["kernels"] for r in fit_runs]
        sol = None
        if len({(len(r["layers"]), r.get("io_bytes", 0)) for r in fit_runs}) >= 2 and \
                all(r.get("io_bytes") for r in fit_runs):
            sol = nnls_rel([[len(r["layers"]), r["io_bytes"]] for r in fit_runs], interp)
            sol = sol if min(sol) > 0 else None
        if sol is not None:
            c["per_op"], c["io_per_byte"] = round(float(sol[0]), 1), round(float(sol[1]), 3)
        else:
            c["per_op"] = round(sum(interp) / nops, 1)
            c["io_per_byte"] = 0.0

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
        bounds = c.get("gemm_k_bounds") or []

        def fit_by_k(L, by_k, plain, cols):
            """per-MAC coefficient per k range of gemm_k_bounds (only the ranges with layers get a column) + the
            columns cols (name, feature): least squares on relative errors, all >= 0. A range without layers takes
            the coefficient of the nearest range below that has one (else above); `plain` (the 16x8 stand-in and
            the fallback without gemm_k_bounds) = the range with the most MACs."""
            ranges = sorted({k_range(l, c) for l in L})
            A = [[chunked(l) if k_range(l, c) == i else 0 for i in ranges] + [f(l) for _, f in cols] for l in L]
            sol = nnls_rel(A, [kernel_only(l) for l in L])
            got = dict(zip(ranges, sol[:len(ranges)]))
            c[by_k] = [round(float(got.get(i, got[max([j for j in ranges if j < i] or [min(ranges)])])), 4)
                       for i in range(len(bounds) + 1)]
            macs = {i: sum(chunked(l) for l in L if k_range(l, c) == i) for i in ranges}
            c[plain] = c[by_k][max(macs, key=macs.get)]
            for (key, _), v in zip(cols, sol[len(ranges):]):
                c[key] = round(float(v), 3)

        L = [l for l in allL if l["kind"] == "conv_1x1" and "measured_kernel" in l]
        if len({(l["k"], l["outputs"]) for l in L}) >= 3:
            # 1x1: the GEMM on the input rows (strided: gathered rows), per MAC by k range, per output, per layer, and
            # (with shapes) per microkernel call and per DSP pair-loop group set-up (conv1x1_features)
            cols = [("conv_per_output", lambda l: l["outputs"]), ("conv_per_call", lambda l: 1.0)]
            if all(conv1x1_features(l, c) for l in L):
                cols += [("conv_per_gemm_call", lambda l: conv1x1_features(l, c)["calls"]),
                         ("conv_per_group_block", lambda l: conv1x1_features(l, c)["group_blocks"])]
            else:
                c.pop("conv_per_gemm_call", None)
                c.pop("conv_per_group_block", None)
            fit_by_k(L, "conv_per_mac_by_k", "conv_per_mac", cols)
        else:
            fit3("conv_1x1", "conv_per_mac", "conv_per_output", "conv_per_call")
        L = [l for l in allL if l["kind"] == "conv" and "measured_kernel" in l]
        if len({(l["k"], l["outputs"], l["n"]) for l in L}) >= 4:
            # KxK: im2col of every output pixel (pixels x k bytes gathered, + a per-pixel set-up: kernel rows,
            # padding) then the GEMM on the gathered rows (per MAC by k range, per output: its output stage)
            fit_by_k(L, "convk_per_mac_by_k", "convk_per_mac",
                     [("convk_per_output", lambda l: l["outputs"]), ("convk_per_pixel", pixels),
                      ("convk_per_im2col_byte", lambda l: pixels(l) * l["k"])])
        elif L:
            # one to three shapes (KWS's first conv alone): the 1x1 GEMM's per-MAC cost + the mean per-output
            # residual (im2col and per-pixel set-up)
            for key in ("convk_per_mac_by_k", "convk_per_pixel", "convk_per_im2col_byte"):
                c.pop(key, None)
            c["convk_per_mac"] = c["conv_per_mac"]
            c["convk_per_output"] = round(float(np.mean([(kernel_only(l) - chunked(l) * c["conv_per_mac"])
                                                         / l["outputs"] for l in L])), 2)
        L = [l for l in allL if l["kind"] == "depthwise_conv" and "measured_kernel" in l]
        feats = [dw_features(l, c) for l in L]
        loop_form = bool(L) and all(feats) and len({tuple(f.values()) for f in feats}) >= 2
        if loop_form:
            # depthwise: the kernel's loop counts (dw_features), least squares on relative errors, all >= 0 (the
            # best subset of the terms); depthwise_per_output 0 (the tap block is per MAC)
            sol = nnls_rel([[f[t] for t in DW_TERMS] for f in feats], [kernel_only(l) for l in L])
            for t, v in zip(DW_TERMS, sol):
                c[DW_KEYS[t]] = round(float(v), 4 if t == "macs" else 2)
            c["depthwise_per_output"] = 0.0
        elif L:
            # no geometry (counts saved without it) or one shape: the older form, and the loop terms are dropped (the
            # evaluator would add them to a per-MAC cost fitted without them)
            for t in DW_TERMS:
                if t not in ("macs", "pixels"):
                    c.pop(DW_KEYS[t], None)
            c["depthwise_per_output"] = 0.0
            if len({(l["k"], l["outputs"], l["n"]) for l in L}) >= 2:
                # per MAC (tap x channel) + per output pixel
                sol = nnls_rel([[l["macs"], pixels(l)] for l in L], [kernel_only(l) for l in L])
                c["depthwise_per_mac"] = round(float(sol[0]), 4)
                c["depthwise_per_pixel"] = round(float(sol[1]), 2)
            else:
                c["depthwise_per_mac"] = round(float(np.mean([kernel_only(l) / l["macs"] for l in L])), 4)
                c.pop("depthwise_per_pixel", None)
        L = [l for l in allL if l["kind"] == "average_pool" and "measured_kernel" in l]
        pool_fitted = False
        if len({(l["outputs"], l["k"]) for l in L}) >= 2:
            # average pool (mq_avg_pool: per output pixel and channel block, MQ_POOL_SUM over the window's taps, 4
            # channels per pass; then per channel the rounding division, clamp and store): per tap x outputs +
            # per output, least squares on relative errors, both >= 0
            sol = nnls_rel([[l["outputs"] * l["k"], l["outputs"]] for l in L], [l["measured_kernel"] for l in L])
            c["pool_per_tap"], c["pool_per_output"] = round(float(sol[0]), 3), round(float(sol[1]), 3)
            pool_fitted = True
        pools = (("average_pool", "pool_per_tap", lambda l: l["outputs"] * l["k"]),
                 ("max_pool", "pool_per_tap", lambda l: l["outputs"] * l["k"]))
        for kind, key, per in (() if pool_fitted else pools) + (
                               ("softmax", "softmax_per_element", lambda l: l["outputs"]),
                               ("add", "add_per_element", lambda l: l["outputs"]),
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
            for i, l in enumerate(r["layers"]):
                io = r.get("io_bytes", 0) if i == 0 else 0
                ne, oe = estimate(l, c, io), estimate(l, old, io)
                new_total += ne
                old_total += oe
                print("  %-4d %-16s %-16s %10s %12s %12.0f %12.0f" % (
                    l["op"], l["kind"] + ("+lut" if l["lut"] else ""), "%dx%d" % (l["k"], l["outputs"]),
                    l.get("measured_kernel", "-"),
                    "%.0f" % (l.get("measured_kernel", 0) + c["per_op"]), oe, ne))
            print("  total: measured %d, old estimate %.0f (%.3fx), new estimate %.0f (%.3fx)" %
                  (r["total"], old_total, old_total / r["total"], new_total, new_total / r["total"]))
        cpi_runs = [r for r in runs if r["model"] in a.cpi_models.split()]
        if core in ("m3", "m4") and cpi_runs and all(r["total_cycles"] for r in cpi_runs):
            # CPI per layer kind: kernel calls by kind, the interpreter's share (and any other kernel) as "other";
            # over the --cpi-models only (the cycle model's own fit set, independent of the instruction fit's)
            runs = cpi_runs
            acc = {k: [0, 0.0] for k in CPI_KINDS}
            per_model = {}
            for r in runs:
                pm = {k: [0, 0.0] for k in CPI_KINDS}
                for l in r["layers"]:
                    if l.get("kernel_cycles") is not None:
                        k = CPI_KIND.get(l["kind"], "other")
                        pm[k][0] += l["measured_kernel"]
                        pm[k][1] += l["kernel_cycles"]
                pm["other"][0] += r["total"] - r["kernels"]
                pm["other"][1] += r["total_cycles"] - r["kernel_cycles"]
                per_model[r["model"]] = pm
                for k in CPI_KINDS:
                    acc[k][0] += pm[k][0]
                    acc[k][1] += pm[k][1]
            cpis = {k: round(acc[k][1] / acc[k][0], 3) for k in CPI_KINDS if acc[k][0] > 0}
            pooled = sum(r["total_cycles"] for r in runs) / sum(r["total"] for r in runs)
            cycles_fit[CORES[core][1]] = {"cpi": round(pooled, 3), "cpi_by_kind": cpis,
                                          "models": {r["model"]: (r["total"], r["total_cycles"]) for r in runs}}
            print(" CPI at zero wait states (scripts/insn-mix.py %s timings), first inference:" % core)
            print("  %-10s %22s" % ("model", "whole inference") +
                  "".join(" %18s" % k for k in CPI_KINDS))
            for r in runs:
                pm = per_model[r["model"]]
                print("  %-10s %12d x %.3f" % (r["model"], r["total"], r["total_cycles"] / r["total"]) +
                      "".join(" %18s" % ("%d x %.3f" % (pm[k][0], pm[k][1] / pm[k][0]) if pm[k][0] else "-")
                              for k in CPI_KINDS))
            print("  %-10s %12d x %.3f" % ("pooled", sum(r["total"] for r in runs), pooled) +
                  "".join(" %18s" % ("%.3f" % cpis[k] if k in cpis else "-") for k in CPI_KINDS))
            # the cycle model on the measured instructions: one CPI vs CPI per kind, against the mix's cycles
            for r in runs:
                pm = per_model[r["model"]]
                by_kind = sum(pm[k][0] * cpis[k] for k in CPI_KINDS if pm[k][0])
                print("  %-10s mix cycles %d; measured instructions x pooled CPI %.0f (%.3fx), x CPI per kind %.0f"
                      " (%.3fx)" % (r["model"], r["total_cycles"], r["total"] * pooled,
                                    r["total"] * pooled / r["total_cycles"], by_kind, by_kind / r["total_cycles"]))
    if a.json_out:
        json.dump({core: runs for core, runs in data.items()}, open(a.json_out, "w"), indent=1)
    if a.write:
        for cname, c in fitted.items():
            c["source"] = re.sub(r"20\d\d-\d\d-\d\d", datetime.date.today().isoformat(), c["source"])
            cost["cores"][cname] = c
        # Cortex-M33 (no QEMU board here) is labelled a GUESS: the Cortex-M4 fit (same DSP kernels)
        m33 = cost["cores"].get("cortex-m33")
        if "cortex-m4" in fitted and m33 is not None and m33.get("source", "").startswith("GUESS: the Cortex-M4"):
            cost["cores"]["cortex-m33"] = dict(fitted["cortex-m4"], source=m33["source"])
        dump_compact(cost, a.write)
        print("\nwrote %s" % a.write)
    if a.write_cycles:
        cyc = json.load(open(a.write_cycles))
        for cname, f in cycles_fit.items():
            e = cyc["cores"].setdefault(cname, {"rows_per_weight_pass": 2})
            e["cpi"] = f["cpi"]
            e["cpi_by_kind"] = f["cpi_by_kind"]
            if cname == "cortex-m4" and cyc["cores"].get("cortex-m33", {}).get("source", "").startswith("GUESS"):
                cyc["cores"]["cortex-m33"].update(cpi=f["cpi"], cpi_by_kind=f["cpi_by_kind"],
                                                  source="GUESS: the Cortex-M4 figures (same DSP kernels, similar "
                                                         "3-stage pipeline); not measured")
            e["source"] = ("instruction-class mix of the first inference of %s (exact per-PC counts, cmcount plugin) x "
                           "Cortex-%s TRM timings (scripts/insn-mix.py), per layer kind over the kernel calls and "
                           "the interpreter's share (other); cpi = pooled whole inferences (%s); "
                           "scripts/fit-cost-model.py, %s" % (
                               ", ".join(f["models"]), cname.split("-")[1].upper(),
                               ", ".join("%s %d instructions x %.3f" % (m, n, c / n)
                                         for m, (n, c) in f["models"].items()),
                               datetime.date.today().isoformat()))
        dump_compact(cyc, a.write_cycles)
        print("wrote %s" % a.write_cycles)


if __name__ == "__main__":
    main()
