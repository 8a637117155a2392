#!/usr/bin/env python3
"""Overhead of the Python package against the CLI: N random sequences of LEN nt (seed 1) embedded,
mean-pooled, on the CPU engine, by
  cli:      `dnamba embed --input seqs.fa --output out.tsv` (load, read, embed, write the TSV)
  list:     dnamba.Model(...) then one Model.embed(list of N strings) call
  file:     dnamba.Model(...) then Model.embed_file(seqs.fa, as_table=True)
  loop:     one Model.embed(str) call per sequence (model loaded once, not counted)
Each timed R times (median printed). Prints what it ran and on what.

usage: scripts/bench_python.py --dnamba build/dnamba --model DIR [--n 10000] [--length 100] [--repeat 3]
(run with the Python of an environment where the package is installed)"""
import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time

import numpy as np

import dnamba


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dnamba", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()

    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), a.length)) for _ in range(a.n)]
    with tempfile.TemporaryDirectory() as tmp:
        fasta = os.path.join(tmp, "seqs.fa")
        with open(fasta, "w") as f:
            for i, s in enumerate(seqs):
                f.write(f">s{i}\n{s}\n")
        out = os.path.join(tmp, "out.tsv")
        cli = [a.dnamba, "embed", "--model", a.model, "--input", fasta, "--output", out, "--device", "cpu",
               "--threads", str(a.threads), "--quiet"]
        t_cli = timed(lambda: subprocess.run(cli, check=True), a.repeat)
        t_list = timed(lambda: dnamba.Model(a.model, device="cpu", threads=a.threads).embed(seqs), a.repeat)
        t_file = timed(lambda: dnamba.Model(a.model, device="cpu", threads=a.threads).embed_file(fasta, as_table=True),
                       a.repeat)
        m = dnamba.Model(a.model, device="cpu", threads=a.threads)
        t_loop = timed(lambda: [m.embed(s) for s in seqs], a.repeat)
        # the values are the CLI's
        with open(out) as f:
            want = np.array([line.split("\t")[5:] for line in f.read().splitlines()[1:]], dtype=np.float32)
        assert np.array_equal(m.embed(seqs), want)

    print(f"bench_python: {a.n} x {a.length} nt, model {a.model}, cpu ({m.info['engine']}), median of {a.repeat}, "
          f"dnamba {dnamba.__version__}, Python {platform.python_version()}, {os.cpu_count()} cores")
    for name, t in [("cli (dnamba embed -> TSV)", t_cli), ("Model.embed(list), load included", t_list),
                    ("Model.embed_file(as_table=True)", t_file), ("Model.embed(str) x N, a loop", t_loop)]:
        print(f"  {name:34s} {t:8.3f} s  {t / t_cli:5.2f}x cli  {a.n / t:9.0f} seqs/s")


if __name__ == "__main__":
    main()
