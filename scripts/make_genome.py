#!/usr/bin/env python3
"""A random genome for the GPU benchmarks (scripts/bench_compare.sh, scripts/bench_multi_gpu.sh):
4 records chr1..chr4 of MBP/4 million uniform random bases, 60-column lines, written under
PATH.part and renamed to PATH when complete.

    scripts/make_genome.py PATH MBP
"""
import os
import sys


def main() -> int:
    if len(sys.argv) != 3 or not sys.argv[2].isdigit() or int(sys.argv[2]) < 1:
        print("usage: make_genome.py PATH MBP (MBP a positive number of million bases)", file=sys.stderr)
        return 2
    path, mbp = sys.argv[1], int(sys.argv[2])
    table = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
    with open(path + ".part", "wb") as f:
        per = mbp * 1_000_000 // 4
        for c in range(4):
            f.write(b">chr%d\n" % (c + 1))
            left = per
            while left:
                n = min(left, 6_000_000)
                s = os.urandom(n).translate(table)
                f.write(b"\n".join(s[i:i + 60] for i in range(0, n, 60)) + b"\n")
                left -= n
    os.rename(path + ".part", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
