#!/usr/bin/env python3
"""Checks the Triton selective scan (scan_triton.py) against the chunked PyTorch scan of
train_caduceus.py, values and gradients, at awkward lengths. On a machine without a GPU run
it through Triton's interpreter:  TRITON_INTERPRET=1 python3 models/train/test_scan.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_triton  # noqa: E402
import train_caduceus as tc  # noqa: E402


def main():
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    worst = 0.0
    for (B, L, D, N, ch) in [(2, 1, 16, 4, 64), (1, 3, 20, 4, 64), (2, 130, 24, 8, 64), (1, 200, 16, 16, 16)]:
        scan_triton.CH_DEFAULT = ch
        u = torch.randn(B, L, D, device=dev, requires_grad=True)
        delta = (torch.rand(B, L, D, device=dev) * 0.3 + 0.01).requires_grad_()
        A = (-torch.rand(D, N, device=dev) * 4 - 0.1).requires_grad_()
        Bm = torch.randn(B, L, N, device=dev, requires_grad=True)
        Cm = torch.randn(B, L, N, device=dev, requires_grad=True)
        Dv = torch.randn(D, device=dev, requires_grad=True)
        dy = torch.randn(B, L, D, device=dev)
        ins = [u, delta, A, Bm, Cm, Dv]
        y1 = scan_triton.selective_scan_triton(*ins)
        g1 = torch.autograd.grad(y1, ins, dy)
        y2 = tc.selective_scan(*ins, chunk=64)
        g2 = torch.autograd.grad(y2, ins, dy, allow_unused=True)  # L=1: y does not depend on A
        g2 = [torch.zeros_like(x) if g is None else g for g, x in zip(g2, ins)]
        errs = [((y1 - y2).norm() / y2.norm()).item()]
        errs += [((a - b).norm() / b.norm().clamp(min=1e-30)).item() if b.norm() > 0 else a.norm().item() for a, b in zip(g1, g2)]
        worst = max(worst, max(errs))
        print(f"B{B} L{L} D{D} N{N} chunk{ch}: y {errs[0]:.1e}; grads u {errs[1]:.1e} delta {errs[2]:.1e} "
              f"A {errs[3]:.1e} B {errs[4]:.1e} C {errs[5]:.1e} D {errs[6]:.1e}")
    print("worst relative error", worst)
    if worst > 1e-4:
        raise SystemExit("FAIL")


if __name__ == "__main__":
    main()
