#!/usr/bin/env python3
"""Instruction-class mix and a cycle estimate of every call of one function in a bare-metal Cortex-M ELF,
from exact per-PC execution counts (the cmcount TCG plugin under qemu-system-arm; dev-time tool, the
project does not depend on it). Used by scripts/bench-models.sh --cmcount and for docs/PERFORMANCE.md.

    scripts/insn-mix.py --cmcount ../shared/tools/cmcount -M mps2-an386 --func mq_model_run --core m4 FIRMWARE.elf

The cmcount directory must have its plugin built (plugin/libcmcount.so). Counts cover one call of FUNC,
--call N from 0 (default 1, the second: a 2-sample firmware), from its first instruction to the instruction
after its bl/blx call site, sub-calls included. mix() is shared with scripts/fit-cost-model.py.

Cycle timings per class, zero-wait-state memory (Arm Cortex-M3 / M4 Technical Reference Manuals,
"instruction timings"; P = pipeline refill after a taken branch, 1..3 cycles, taken as 2 here):
  class         M4                                  M3
  alu           1 (incl. SXTB16, UADD8, USAT, QADD)  1
  it            1 (may fold: upper bound)            1
  mul           1 (MUL/MLA/SMLAD/SMLAL/SMULL ...)    MUL 1, MLA/MLS 2, long multiply 3-5 (4), long MAC 4-7 (5)
  div           2..12 (7)                           2..12 (7)
  load          2, or 1 when the next instruction    same
                is also a load/store (pipelined)
  load_dual     3 (LDRD/STRD)                       same
  load_multiple 1 + N (+P when PC is loaded)        same
  store         1 (write buffer)                    same
  branch        taken 1 + P, not taken 1            same
Taken conditional branches are estimated from the counts: executions of the branch minus executions of
the next instruction (the fall-through), clamped at 0. Other cores (M7 dual issue, M55 beats) have no
such table here: the script prints the M4 figure for them, labelled.
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

COND = ("eq", "ne", "cs", "cc", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")
MUL = {"mul", "mla", "mls", "smull", "umull", "smlal", "umlal", "smlad", "smladx", "smlald", "smlaldx", "smuad",
       "smuadx", "smlsd", "smlsdx", "smusd", "smulbb", "smulbt", "smultb", "smultt", "smlabb", "smlabt",
       "smlatb", "smlatt", "smulwb", "smulwt", "smlawb", "smlawt", "smmul", "smmulr", "smmla", "smmlar",
       "smmls", "smmlsr", "umaal", "smlalbb", "smlalbt", "smlaltb", "smlaltt"}
LONG_MUL = {"smull", "umull"}
LONG_MAC = {"smlal", "umlal", "smlald", "smlaldx", "umaal", "smlalbb", "smlalbt", "smlaltb", "smlaltt"}


def base_mnemonic(m):
    m = m.split(".")[0]
    for known in ("ldr", "str", "b", "bl", "bx", "blx"):
        pass
    return m


def strip_cond(m, known):
    if m in known:
        return m
    for c in COND:
        if m.endswith(c) and m[:-len(c)] in known:
            return m[:-len(c)]
    return m


def classify(mn, ops):
    """(class, extra) for one instruction; extra = register count for ldm/stm/push/pop."""
    m = mn.split(".")[0]
    known_branch = {"b", "bl", "bx", "blx", "cbz", "cbnz", "tbb", "tbh"}
    known_ls = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrd", "str", "strb", "strh", "strd", "ldm", "ldmia",
                "ldmdb", "stm", "stmia", "stmdb", "push", "pop", "ldrex", "strex", "ldrt", "strt"}
    mm = strip_cond(m, known_branch | known_ls | MUL | {"sdiv", "udiv", "it", "ite", "itt", "itte", "ittt",
                                                         "itee", "iteee", "ittee", "itett", "itet"})
    if mm.startswith("it") and len(mm) <= 4 and set(mm[2:]) <= {"t", "e"}:
        return "it", 0
    if mm in known_branch:
        return "branch", 0
    regs = len(re.findall(r"\b(r\d+|lr|pc|sp|ip|fp|sl|sb)\b", ops.split("{", 1)[1])) if "{" in ops else 0
    pc_loaded = "{" in ops and re.search(r"\bpc\b", ops.split("{", 1)[1]) is not None
    if mm in ("pop", "ldm", "ldmia", "ldmdb"):
        # count register ranges r4-r7 as 4
        inside = ops.split("{", 1)[1].split("}", 1)[0] if "{" in ops else ""
        n = 0
        for part in inside.split(","):
            part = part.strip()
            r = re.match(r"r(\d+)\s*-\s*r(\d+)", part)
            n += (int(r.group(2)) - int(r.group(1)) + 1) if r else (1 if part else 0)
        return ("load_multiple_pc" if pc_loaded else "load_multiple"), n
    if mm in ("push", "stm", "stmia", "stmdb"):
        inside = ops.split("{", 1)[1].split("}", 1)[0] if "{" in ops else ""
        n = 0
        for part in inside.split(","):
            part = part.strip()
            r = re.match(r"r(\d+)\s*-\s*r(\d+)", part)
            n += (int(r.group(2)) - int(r.group(1)) + 1) if r else (1 if part else 0)
        return "store_multiple", n
    if mm in ("ldrd", "strd"):
        return "load_dual", 0
    if mm.startswith("ldr"):
        if re.match(r"^\s*pc\b", ops):
            return "load_pc", 0
        return "load", 0
    if mm.startswith("str"):
        return "store", 0
    if mm in ("sdiv", "udiv"):
        return "div", 0
    if mm in MUL:
        if mm in LONG_MAC:
            return "mul_long_mac", 0
        if mm in LONG_MUL:
            return "mul_long", 0
        if mm in ("mla", "mls"):
            return "mul_mac", 0
        return "mul", 0
    if mm == "bx" or (mm in ("mov", "add") and re.match(r"^\s*pc\b", ops)):
        return "branch", 0
    if mm.startswith("v"):
        return "vector_fp", 0
    return "alu", 0


def cycles(core, cls, n_regs, pipelined, taken_frac):
    P = 2.0
    m3 = core == "m3"
    if cls == "alu" or cls == "it" or cls == "vector_fp":
        return 1.0
    if cls == "mul":
        return 1.0
    if cls == "mul_mac":
        return 2.0 if m3 else 1.0
    if cls == "mul_long":
        return 4.0 if m3 else 1.0
    if cls == "mul_long_mac":
        return 5.0 if m3 else 1.0
    if cls == "div":
        return 7.0
    if cls == "load":
        return 1.0 if pipelined else 2.0
    if cls == "load_pc":
        return 2.0 + P
    if cls == "load_dual":
        return 3.0
    if cls == "load_multiple":
        return 1.0 + n_regs
    if cls == "load_multiple_pc":
        return 1.0 + n_regs + P
    if cls == "store_multiple":
        return 1.0 + n_regs
    if cls == "store":
        return 1.0
    if cls == "branch":
        return 1.0 + P * taken_frac
    return 1.0


def disassembly(elf, objdump):
    """{pc: (pc, mnemonic, operands)} and {pc: next instruction} of ELF's code."""
    dis = subprocess.run([objdump, "-d", "--no-show-raw-insn", elf], capture_output=True, text=True, check=True).stdout
    insn_re = re.compile(r"^\s*([0-9a-f]+):\s+([a-z][a-z0-9.]*)\s*(.*)$")
    prog = []
    for line in dis.splitlines():
        mt = insn_re.match(line)
        if mt:
            prog.append((int(mt.group(1), 16), mt.group(2), mt.group(3)))
    return {p[0]: p for p in prog}, {prog[i][0]: prog[i + 1] for i in range(len(prog) - 1)}


def mix(counts, info, nxt, core, fname=None):
    """Instructions, cycles (the TRM table above, core m3 or m4), per-class and per-function [instructions,
    cycles] of one region's per-PC counts {pc: executions} (also used by scripts/fit-cost-model.py)."""
    by_class = {}
    by_func = {}
    total_insns = 0
    total_cycles = 0.0
    for pc, n in counts.items():
        if pc not in info or n == 0:
            continue
        _, mn, ops = info[pc]
        cls, nregs = classify(mn, ops)
        pipelined = False
        taken = 1.0
        if cls == "load" and pc in nxt:
            ncls, _ = classify(nxt[pc][1], nxt[pc][2])
            pipelined = ncls in ("load", "store", "load_dual")
        if cls == "branch":
            m = mn.split(".")[0]
            conditional = m in ("cbz", "cbnz") or (m.startswith("b") and m[1:] in COND)
            if conditional and pc in nxt:
                fall = counts.get(nxt[pc][0], 0)
                taken = max(0, n - fall) / n
        c = cycles(core, cls, nregs, pipelined, taken) * n
        key = cls + (" (pipelined)" if pipelined else "")
        if cls == "branch":
            key = "branch"
        bc = by_class.setdefault(key, [0, 0.0])
        bc[0] += n
        bc[1] += c
        if fname is not None:
            bf = by_func.setdefault(fname(pc), [0, 0.0])
            bf[0] += n
            bf[1] += c
        total_insns += n
        total_cycles += c
    return total_insns, total_cycles, by_class, by_func


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("elf")
    ap.add_argument("--cmcount", required=True, help="cmcount directory (cmcount.py, plugin/libcmcount.so)")
    ap.add_argument("-M", "--machine", required=True)
    ap.add_argument("--func", required=True)
    ap.add_argument("--core", default="m4", choices=["m3", "m4", "m7", "m55"])
    ap.add_argument("--by-function", action="store_true", help="also print cycles per function")
    ap.add_argument("--call", type=int, default=1,
                    help="which call of FUNC to count, from 0 (default 1: the second, so a firmware needs >= 2)")
    args = ap.parse_args()

    spec = importlib.util.spec_from_file_location("cmcount", os.path.join(args.cmcount, "cmcount.py"))
    cm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cm)
    plugin = os.path.join(args.cmcount, "plugin", "libcmcount.so")
    if not os.path.exists(plugin):
        sys.exit("insn-mix: %s not built (make -C %s/plugin)" % (plugin, args.cmcount))
    syms = cm.symbols(args.elf)
    if args.func not in syms:
        sys.exit("insn-mix: %s not in %s" % (args.func, args.elf))
    a, sz, _ = syms[args.func]
    stops, _tails = cm.call_return_sites(args.elf, args.func, (a, a + max(sz, 1)))
    if not stops:
        sys.exit("insn-mix: no direct call of %s" % args.func)
    fd, outfile = tempfile.mkstemp(prefix="insnmix.", suffix=".txt")
    os.close(fd)
    plug = "%s,start=0x%x,stop=%s,out=%s,prof=on" % (plugin, a, ":".join("0x%x" % s for s in stops), outfile)
    subprocess.run(["qemu-system-arm", "-M", args.machine, "-nographic", "-monitor", "none",
                    "-semihosting-config", "enable=on,target=native", "-plugin", plug, "-kernel", args.elf],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    counts = {}
    total_region = None
    for line in open(outfile):
        f = line.split()
        if f[0] == "@pc" and f[1] == str(args.call):
            counts[int(f[2], 16)] = counts.get(int(f[2], 16), 0) + int(f[3])
        elif f[0] == "@cmcount" and f[1] == str(args.call):
            total_region = int(f[2])
    os.unlink(outfile)
    if not counts:
        sys.exit("insn-mix: nothing counted (call #%d of %s: a firmware with fewer calls?)" % (args.call, args.func))

    info, nxt = disassembly(args.elf, cm.TOOL + "objdump")
    ftab = cm.func_table(syms)
    starts = [s for s, _, _ in ftab]
    import bisect

    def fname(pc):
        i = bisect.bisect_right(starts, pc) - 1
        return ftab[i][2] if i >= 0 and pc < ftab[i][1] else "?"

    total_insns, total_cycles, by_class, by_func = mix(counts, info, nxt, args.core, fname)
    if not total_insns:
        sys.exit("insn-mix: nothing counted")
    label = args.core if args.core in ("m3", "m4") else "m4 timings applied to %s (no table)" % args.core
    print("insn-mix: %s, call #%d (from 0) of %s: %d instructions (plugin region count %s), %.0f cycles at zero wait states"
          " (%s), CPI %.3f" % (os.path.basename(args.elf), args.call, args.func, total_insns, total_region, total_cycles, label,
                                total_cycles / total_insns))
    print("  %-24s %12s %7s %12s %6s" % ("class", "instructions", "share", "cycles", "c/insn"))
    for k, (n, c) in sorted(by_class.items(), key=lambda kv: -kv[1][0]):
        print("  %-24s %12d %6.1f%% %12.0f %6.2f" % (k, n, 100.0 * n / total_insns, c, c / n))
    if args.by_function:
        print("  %-34s %12s %12s %6s" % ("function", "instructions", "cycles", "CPI"))
        for k, (n, c) in sorted(by_func.items(), key=lambda kv: -kv[1][0]):
            print("  %-34s %12d %12.0f %6.2f" % (k, n, c, c / n))


if __name__ == "__main__":
    main()
