#!/usr/bin/env python3
"""The polynomial behind the GPU softplus (kernels/scan_common.cuh: softplus).

log1p(x) = x * P(x) on [0, 1], P the degree-8 Chebyshev interpolant of log1p(x) / x (near
minimax: log1p's singularity at -1 keeps the error at ~rho^-n with rho = 3 + sqrt(8)). Prints
the coefficients (highest degree first, as the kernel's Horner loop takes them) and the largest
relative error of x * P(x) against log1p(x), evaluated in float32 with fused multiply-adds as
the kernel does, over a dense grid of [0, 1] and over x = exp(-|v|) for v in [-20, 20].

    python3 scripts/softplus_fit.py [degree (8)]
"""
import sys

import numpy as np
from numpy.polynomial import chebyshev as C
from numpy.polynomial import polynomial as P


def fit(degree):
    n = 256
    t = np.cos(np.pi * (np.arange(n) + 0.5) / n)  # Chebyshev nodes on [-1, 1]
    x = (t + 1) / 2
    c = C.chebfit(t, np.log1p(x) / x, degree)
    in_t = C.cheb2poly(c)
    in_x = np.zeros(1)
    for i, a in enumerate(in_t):  # t = 2x - 1
        in_x = P.polyadd(in_x, a * P.polypow([-1.0, 2.0], i))
    return in_x.astype(np.float32)  # lowest degree first


def horner_fma(coef, x):
    """x * P(x) in float32, one rounding per fused multiply-add (exact in float64, then rounded)."""
    x = x.astype(np.float32)
    p = np.full_like(x, coef[-1])
    for a in coef[-2::-1]:
        p = (p.astype(np.float64) * x + np.float64(a)).astype(np.float32)
    return (x.astype(np.float64) * p).astype(np.float32)


def main():
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    coef = fit(degree)
    print("coefficients, highest degree first:")
    for a in coef[::-1]:
        print(f"    {float(a)!r}f")
    x = np.linspace(0, 1, 2_000_001)[1:].astype(np.float32)
    exact = np.log1p(x.astype(np.float64))
    rel = np.abs(horner_fma(coef, x) - exact) / exact
    print(f"max relative error of x P(x) on (0, 1]: {rel.max():.3g}")
    v = np.linspace(-20, 20, 400_001)
    xv = np.exp(-np.abs(v)).astype(np.float32)
    sp = np.maximum(v, 0).astype(np.float32).astype(np.float64) + horner_fma(coef, xv)
    want = np.logaddexp(0, v)
    print(f"max relative error of softplus(v), v in [-20, 20] (x exact): {np.max(np.abs(sp - want) / want):.3g}")
    return 0 if rel.max() < 2.5e-7 else 1


if __name__ == "__main__":
    sys.exit(main())
