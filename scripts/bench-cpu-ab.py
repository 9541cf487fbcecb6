#!/usr/bin/env python3
"""A/B of whole commands by process CPU time (user and sys apart), rounds alternating the commands so every
variant sees the same machine load. Dev-time tool (the product needs no Python).

  scripts/bench-cpu-ab.py ROUNDS OUT NAME1 'CMD1' NAME2 'CMD2' ...

Each CMD runs through the shell with {OUT} replaced by OUT; OUT is removed (untimed) before every run and at
the end, so no run pays for dropping another run's output file. Prints the load average and, per command, the
median and min..max of user, sys and user + sys seconds (getrusage of the children: microsecond resolution).
Example (before / after binaries of simulate on the same model and input):
  scripts/bench-cpu-ab.py 6 /tmp/y.npy before 'old/simulate AD.mqm --input X.npy --output {OUT}' \\
                                      after 'new/simulate AD.mqm --input X.npy --output {OUT}'
"""
import os
import resource
import statistics
import subprocess
import sys


def rm(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def main():
    if len(sys.argv) < 5 or len(sys.argv) % 2 == 0:
        print(__doc__, file=sys.stderr)
        return 2
    rounds, out = int(sys.argv[1]), sys.argv[2]
    pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
    res = {n: [] for n, _ in pairs}
    load0 = os.getloadavg()
    for _ in range(rounds):
        for n, c in pairs:
            rm(out)
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(c.replace("{OUT}", out), shell=True, check=True, stdout=subprocess.DEVNULL)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res[n].append((r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime))
    rm(out)
    print("load average before %.1f %.1f %.1f, after %.1f %.1f %.1f; %d rounds" % (*load0, *os.getloadavg(), rounds))
    for n, v in res.items():
        cols = []
        for label, xs in (("user", [a for a, _ in v]), ("sys", [b for _, b in v]), ("user+sys", [a + b for a, b in v])):
            cols.append("%s median %.3f s (%.3f..%.3f)" % (label, statistics.median(xs), min(xs), max(xs)))
        print("%-16s %s" % (n, "   ".join(cols)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
