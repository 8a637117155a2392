#!/usr/bin/env python3
"""Compare two golden directories (e.g. expected outputs made on the CPU and on a GPU).

    python3 testdata/reference/compare_golden.py DIR_A DIR_B [--tol 1e-5]

For every case present in both, every `hidden.*` / `logits.*` tensor of expected.safetensors is
compared by relative Frobenius error ||a-b|| / ||a||. Prints the worst per case and exits 1 if
any exceeds --tol. Used to check that the reference gives the same answers on the GPU machine
(TF32 off) as on the CPU.
"""
import argparse
import os
import sys

import torch
from safetensors.torch import load_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    worst_all = 0.0
    n = 0
    for case in sorted(os.listdir(args.a)):
        pa = os.path.join(args.a, case, "expected.safetensors")
        pb = os.path.join(args.b, case, "expected.safetensors")
        if not (os.path.exists(pa) and os.path.exists(pb)):
            continue
        ta, tb = load_file(pa), load_file(pb)
        worst = 0.0
        for k, va in ta.items():
            if not (k.startswith("hidden.") or k.startswith("logits.")):
                continue
            vb = tb[k].double()
            va = va.double()
            err = ((va - vb).norm() / va.norm().clamp_min(1e-30)).item()
            worst = max(worst, err)
            n += 1
        worst_all = max(worst_all, worst)
        print(f"{case:28s} max relative error {worst:.3e}")
    print(f"{n} tensors compared; worst {worst_all:.3e} (tolerance {args.tol:g})")
    sys.exit(0 if n > 0 and worst_all <= args.tol else 1)


if __name__ == "__main__":
    main()
