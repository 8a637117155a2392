#!/usr/bin/env python3
"""The polynomial behind the GPU's FMA-pipe exp2 (kernels/scan_common.cuh: poly_exp2).

2^x = 2^n * 2^f with n = round(x) (float32 addition of 1.5 * 2^23 and back, as the kernel does)
and f in [-1/2, 1/2]; 2^f = 1 + f Q(f), Q the Chebyshev least-squares fit of (2^f - 1) / f
weighted for the relative error of 2^f (near minimax). The constant term is exactly 1, so the
clamped exponent -127 of a reset gives the bits of 0. Prints the coefficients (highest degree first, as the kernel's Horner loop takes
them) and the largest relative error of the whole evaluation, in float32 with fused
multiply-adds, over x in [-125, 0] (ex2.approx.f32, the SFU instruction it stands in for, is
documented at 2^-22 = 2.4e-7). Exits non-zero above 2.5e-7.

    python3 scripts/exp2_fit.py [degree (5)]
"""
import sys

import numpy as np
from numpy.polynomial import chebyshev as C
from numpy.polynomial import polynomial as P

SHIFT = np.float32(12582912.0)  # 1.5 * 2^23


def fit(degree):
    """1 + f Q(f), Q of degree - 1 fitted to (2^f - 1) / f: the constant term is exactly 1."""
    n = 512
    t = np.cos(np.pi * (np.arange(n) + 0.5) / n)  # Chebyshev nodes on [-1, 1], f = t / 2
    f = t / 2
    c = C.chebfit(t, np.expm1(f * np.log(2)) / f, degree - 1, w=np.abs(f) / np.exp2(f))
    q = np.zeros(1)
    for i, a in enumerate(C.cheb2poly(c)):  # t = 2 f
        q = P.polyadd(q, a * P.polypow([0.0, 2.0], i))
    return np.concatenate([[1.0], q]).astype(np.float32)  # lowest degree first


def poly_exp2(coef, x):
    """The kernel's evaluation in float32: one rounding per addition and fused multiply-add."""
    x = np.maximum(x.astype(np.float32), np.float32(-127))
    shifted = (x + SHIFT).astype(np.float32)
    f = (x - (shifted - SHIFT).astype(np.float32)).astype(np.float32)
    p = np.full_like(f, coef[-1])
    for a in coef[-2::-1]:
        p = (p.astype(np.float64) * f + np.float64(a)).astype(np.float32)
    # n into the exponent bits: shifted's low mantissa bits hold n, shifted left by 23
    bits = p.view(np.uint32).astype(np.uint64) + (shifted.view(np.uint32).astype(np.uint64) << 23)
    return (bits & 0xFFFFFFFF).astype(np.uint32).view(np.float32)


def main():
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    coef = fit(degree)
    print("coefficients, highest degree first:")
    for a in coef[::-1]:
        print(f"    {float(a)!r}f")
    x = np.linspace(-125, 0, 25_000_001).astype(np.float32)
    x = x[x <= 0]
    exact = np.exp2(x.astype(np.float64))
    rel = np.abs(poly_exp2(coef, x) - exact) / exact
    print(f"max relative error on [-125, 0]: {rel.max():.3g}")
    print(f"2^-127 (a reset's clamped exponent) -> {poly_exp2(coef, np.array([-np.inf]))[0]}")
    return 0 if rel.max() < 2.5e-7 else 1


if __name__ == "__main__":
    sys.exit(main())
