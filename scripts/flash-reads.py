#!/usr/bin/env python3
"""Flash data reads of the first inference, and what a flash interface makes of them (dev-time tool).

    scripts/flash-reads.py FIRMWARE.elf [--machine mps2-an386] [--ws 5] [--json OUT.json]

Runs a board firmware (built by `simulate MODEL --board mps2-an386 --qemu --work-dir DIR`) under
qemu-system-arm with scripts/flash-reads/mq_flashreads.c (built here with the host cc into build/flash-reads/),
records every data read from the firmware's flash image (the embedded packed model mq_fw_model and the rest:
literal pools, .rodata) between the first entry into mq_model_run and its return, and replays them through
the STM32L4+ flash interface's data side as documented (docs/PERFORMANCE.md "Flash wait states"):

  * each flash access reads one 64-bit word (DBANK = 1, dual bank, the factory setting) or 128-bit word
    (DBANK = 0) into a current buffer; a read inside the buffered word costs no access;
  * there is no prefetch on the data (DCode) bus;
  * with DCEN = 1 (reset value) the data cache keeps 8 lines of 256 bits (4 x 64 or 2 x 128), LRU; a read of
    a word the cache holds costs no access. Modelled per word (a miss fetches the missing word only).

Every access stalls the CPU for the flash wait states (ws) on top of the zero-wait-state instruction timing
the CPIs are built from; so `wait cycles = accesses x ws`. Printed: reads, accesses for DBANK 1/0 with and
without the data cache, by function (the loading instruction's symbol) and region (model / other).
QEMU's address map differs from the board's (flash at 0 on mps2, 0x08000000 on the STM32) but the layout
of the image (alignment of the model and its constants) is the same linker output, so the word and line
boundaries fall alike. Nothing in the project depends on this tool.
"""
import argparse
import bisect
import collections
import json
import os
import re
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nm_symbols(elf):
    out = subprocess.run(["arm-none-eabi-nm", "-S", "--defined-only", elf], check=True, capture_output=True,
                         text=True).stdout
    syms = {}
    funcs = []
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4:
            addr, size, kind, name = int(p[0], 16), int(p[1], 16), p[2], p[3]
        elif len(p) == 3:
            addr, size, kind, name = int(p[0], 16), 0, p[1], p[2]
        else:
            continue
        syms[name] = (addr, size)
        if kind in "tT":
            funcs.append((addr & ~1, name))
    funcs.sort()
    return syms, funcs


def call_returns(elf, func):
    """Addresses of the instructions after every bl/blx FUNC (the region's stop points)."""
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", elf], check=True, capture_output=True, text=True).stdout
    lines = [l for l in dis.splitlines() if re.match(r"^\s+[0-9a-f]+:\s", l)]
    stops = []
    for i, l in enumerate(lines):
        if re.search(r"\sblx?\s+[0-9a-f]+ <%s>" % re.escape(func), l) and i + 1 < len(lines):
            stops.append(int(lines[i + 1].split(":")[0], 16))
    return stops


def flash_end(elf):
    """End of the loadable image in the low (flash/CODE) region: every section below 0x20000000."""
    out = subprocess.run(["arm-none-eabi-objdump", "-h", elf], check=True, capture_output=True, text=True).stdout
    end = 0
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 7 and re.match(r"^\d+$", p[0]):
            size, lma = int(p[2], 16), int(p[4], 16)
            if lma < 0x20000000:
                end = max(end, lma + size)
    return end


def replay(reads, width, dcache_lines, line_bytes=32):
    """Flash accesses of `reads` [(addr, size)] for a `width`-byte flash word, a one-word current buffer and
    an LRU data cache of `dcache_lines` lines of `line_bytes` (0 lines: no cache)."""
    cur = None
    cache = collections.OrderedDict()  # line -> set of words present
    accesses = 0
    for addr, size in reads:
        for w in range(addr // width, (addr + size - 1) // width + 1):
            if w == cur:
                continue
            line = (w * width) // line_bytes
            if dcache_lines:
                words = cache.get(line)
                if words is not None and w in words:
                    cache.move_to_end(line)
                    cur = w
                    continue
            accesses += 1
            cur = w
            if dcache_lines:
                if words is None:
                    if len(cache) >= dcache_lines:
                        cache.popitem(last=False)
                    words = cache[line] = set()
                words.add(w)
                cache.move_to_end(line)
    return accesses


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("elf")
    ap.add_argument("--machine", default="mps2-an386")
    ap.add_argument("--ws", type=int, default=5, help="flash wait states per access (STM32L4R5 at 120 MHz: 5)")
    ap.add_argument("--json", help="write the figures as JSON")
    ap.add_argument("--qemu", default="qemu-system-arm")
    a = ap.parse_args()

    bdir = os.path.join(ROOT, "build", "flash-reads")
    os.makedirs(bdir, exist_ok=True)
    plugin = os.path.join(bdir, "libmqflashreads.so")
    src = os.path.join(ROOT, "scripts", "flash-reads", "mq_flashreads.c")
    if not os.path.exists(plugin) or os.path.getmtime(plugin) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", plugin, src], check=True)

    syms, funcs = nm_symbols(a.elf)
    if "mq_model_run" not in syms or "mq_fw_model" not in syms:
        sys.exit("flash-reads: %s has no mq_model_run / mq_fw_model (a board firmware is needed)" % a.elf)
    start = syms["mq_model_run"][0] & ~1
    stops = call_returns(a.elf, "mq_model_run")
    if not stops:
        sys.exit("flash-reads: no call of mq_model_run found in %s" % a.elf)
    model_lo, model_size = syms["mq_fw_model"]
    if model_size == 0 and "mq_fw_model_size" in syms:
        sys.exit("flash-reads: mq_fw_model has no size in the symbol table")
    hi = flash_end(a.elf)
    trace = os.path.join(bdir, os.path.basename(a.elf) + ".reads")
    cmd = [a.qemu, "-M", a.machine, "-nographic", "-monitor", "none", "-serial", "null",
           "-semihosting-config", "enable=on,target=native", "-kernel", a.elf,
           "-plugin", "%s,start=0x%x,stop=%s,lo=0x0,hi=0x%x,out=%s" % (
               plugin, start, ":".join("0x%x" % s for s in stops), hi, trace)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if "region closed" not in r.stderr:
        sys.exit("flash-reads: the first mq_model_run was not recorded:\n" + r.stderr[-2000:])

    data = open(trace, "rb").read()
    recs = [struct.unpack_from("<III", data, i) for i in range(0, len(data), 12)]
    model_hi = model_lo + model_size
    reads = [(ad, sz) for ad, sz, _ in recs]
    model_reads = [(ad, sz) for ad, sz in reads if model_lo <= ad < model_hi]
    starts = [f[0] for f in funcs]

    def func_of(pc):
        i = bisect.bisect_right(starts, pc) - 1
        return funcs[i][1] if i >= 0 else "?"

    res = {"elf": a.elf, "ws": a.ws, "reads": len(reads), "model_reads": len(model_reads),
           "bytes_read": sum(sz for _, sz in reads), "model_bytes_read": sum(sz for _, sz in model_reads),
           "model_size": model_size, "accesses": {}, "by_function": {}}
    for width, bank in ((8, "dbank1"), (16, "dbank0")):
        for lines, dc in ((0, "dcache_off"), (8, "dcache_on")):
            res["accesses"]["%s_%s" % (bank, dc)] = replay(reads, width, lines)
    # by function (the loading instruction), DBANK 1, data cache on, each function's reads replayed alone
    byf = collections.defaultdict(list)
    for ad, sz, pc in recs:
        byf[func_of(pc)].append((ad, sz))
    for f, rs in sorted(byf.items(), key=lambda kv: -len(kv[1])):
        res["by_function"][f] = {"reads": len(rs), "bytes": sum(s for _, s in rs),
                                 "accesses_dbank1_dcache_on_alone": replay(rs, 8, 8)}

    print("flash-reads: %s (first mq_model_run, %s)" % (os.path.basename(a.elf), a.machine))
    print("  data reads from flash: %d (%d bytes), of which the packed model: %d (%d bytes; model %d bytes)" % (
        res["reads"], res["bytes_read"], res["model_reads"], res["model_bytes_read"], model_size))
    print("  flash accesses (x %d wait states = wait cycles):" % a.ws)
    for k, v in res["accesses"].items():
        print("    %-20s %9d  -> %9d wait cycles" % (k, v, v * a.ws))
    print("  by loading function (DBANK 1, data cache on, replayed alone):")
    for f, v in list(res["by_function"].items())[:12]:
        print("    %-40s reads %8d  bytes %9d  accesses %8d" % (f, v["reads"], v["bytes"],
                                                               v["accesses_dbank1_dcache_on_alone"]))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
