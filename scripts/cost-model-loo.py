#!/usr/bin/env python3
"""Depthwise, average-pool and 1x1 convolution cost forms, in sample and leave one model out (docs/PERFORMANCE.md
"Depthwise and average pool terms", "1x1 convolution terms"): scripts/cost-model-loo.py [FIT_JSON] (default
build/fit-cost-model/fit.json, with geometry: fit-cost-model.py --geometry). old = per MAC + per pixel (depthwise) /
per tap alone (pool) / per MAC by k range + per output + per layer (1x1); new = dw_features / per tap + per output /
the old 1x1 columns + per microkernel call + per DSP pair-loop group set-up (conv1x1_features). Per model: the kind's
estimated / counted kernel instructions."""
import sys
import json, importlib.util, numpy as np, sys
spec = importlib.util.spec_from_file_location("f", "scripts/fit-cost-model.py"); f = importlib.util.module_from_spec(spec); spec.loader.exec_module(f)
d = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "build/fit-cost-model/fit.json")); cm = json.load(open("boards/cost-model.json"))
CN = {"m3": "cortex-m3", "m4": "cortex-m4", "m7": "cortex-m7", "m55": "cortex-m55"}
def fit(L, c, form):
    y = [l["measured_kernel"] for l in L]
    if form == "old":
        shapes = {(l["k"], l["outputs"], l["n"]) for l in L}
        cols = (lambda l: [l["macs"], f.pixels(l)]) if len(shapes) >= 2 else (lambda l: [l["macs"]])
    elif form == "pool":
        cols = lambda l: [l["outputs"] * l["k"], l["outputs"]]
    elif form == "pool1":
        cols = lambda l: [l["outputs"] * l["k"]]
    elif form in ("1x1", "1x1new"):
        nr = len(c.get("gemm_k_bounds") or []) + 1
        def cols(l):
            v = [f.chunked(l) if f.k_range(l, c) == i else 0 for i in range(nr)] + [l["outputs"], 1.0]
            if form == "1x1new":
                x = f.conv1x1_features(l, c)
                v += [x["calls"], x["group_blocks"]]
            return v
        y = [l["measured_kernel"] - (l["outputs"] * c["lut_epilogue_per_output"] if l["lut"] else 0) for l in L]
        sol = f.nnls_rel([cols(l) for l in L], y)
        return lambda l: float(np.dot(cols(l), sol)) + (l["outputs"] * c["lut_epilogue_per_output"] if l["lut"] else 0)
    else:
        feats = [f.dw_features(l, c) for l in L]
        if len({tuple(x.values()) for x in feats}) < 2:
            cols = lambda l: [l["macs"]]
        else:
            cols = lambda l: [f.dw_features(l, c)[t] for t in f.DW_TERMS]
    sol = f.nnls_rel([cols(l) for l in L], y)
    return lambda l: float(np.dot(cols(l), sol))
for kind, forms in (("depthwise_conv", ("old", "new")), ("average_pool", ("pool1", "pool")), ("conv_1x1", ("1x1", "1x1new"))):
    print(kind)
    for core in ["m3", "m4", "m7", "m55"]:
        c = cm["cores"][CN[core]]
        runs = d[core]
        L = {r["model"]: [l for l in r["layers"] if l["kind"] == kind] for r in runs}
        models = [m for m in L if L[m]]
        for form in forms:
            allL = [l for m in models for l in L[m]]
            e = fit(allL, c, form)
            ins = {m: sum(e(l) for l in L[m]) / sum(l["measured_kernel"] for l in L[m]) for m in models}
            worst = max(abs(e(l) / l["measured_kernel"] - 1) for l in allL)
            loo = {}
            for m in models:
                e2 = fit([l for mm in models if mm != m for l in L[mm]], c, form)
                loo[m] = sum(e2(l) for l in L[m]) / sum(l["measured_kernel"] for l in L[m])
            print("  %-4s %-5s in-sample %s (worst layer %.1f%%)  leave-one-model-out %s" % (core, form,
                  " ".join("%s %.3f" % kv for kv in ins.items()), 100 * worst, " ".join("%s %.3f" % kv for kv in loo.items())))
