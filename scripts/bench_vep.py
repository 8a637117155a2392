#!/usr/bin/env python3
"""Variants per second of `dnamba vep`: a random genome and N random SNVs on it, scored with
the shipped pretrained model (or --model), printed with where the numbers came from.

    python3 scripts/bench_vep.py --dnamba build/dnamba --variants 100 --device cpu
    python3 scripts/bench_vep.py --dnamba build/dnamba --variants 2000 --scores llr --device cpu
    python3 scripts/bench_vep.py --dnamba build-gpu/dnamba --variants 100000 --device cuda

Writes its inputs to --dir (default a temporary directory). Stdlib only.
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dnamba", default="build/dnamba")
    ap.add_argument("--model", default="models/caduceus-ps-1m-debian")
    ap.add_argument("--variants", type=int, default=2000)
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--scores", default="masked-llr,llr,emb-l2,emb-cos")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--batch-tokens", default="65536")
    ap.add_argument("--dir")
    a = ap.parse_args()
    d = a.dir or tempfile.mkdtemp(prefix="bench_vep_")
    os.makedirs(d, exist_ok=True)
    rng = random.Random(0)
    length = max(100_000, a.variants * 20)
    genome = "".join(rng.choice("ACGT") for _ in range(length))
    with open(os.path.join(d, "genome.fa"), "w") as f:
        f.write(">chr1\n")
        for i in range(0, length, 60):
            f.write(genome[i:i + 60] + "\n")
    positions = sorted(rng.sample(range(length), a.variants))
    with open(os.path.join(d, "variants.vcf"), "w") as f:
        f.write(f"##fileformat=VCFv4.2\n##contig=<ID=chr1,length={length}>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for p in positions:
            ref = genome[p]
            alt = rng.choice([b for b in "ACGT" if b != ref])
            f.write(f"chr1\t{p + 1}\t.\t{ref}\t{alt}\t.\t.\t.\n")
    cmd = [a.dnamba, "vep", "-m", a.model, "-i", os.path.join(d, "genome.fa"), "--vcf", os.path.join(d, "variants.vcf"),
           "--window", str(a.window), "--scores", a.scores, "--device", a.device, "--precision", a.precision,
           "--batch-tokens", a.batch_tokens, "-o", os.path.join(d, "scored.tsv")]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        sys.exit(r.returncode)
    print(r.stderr.strip())
    print(f"bench_vep: {a.variants} SNVs, window {a.window}, scores {a.scores}, {a.device} {a.precision}, "
          f"batch-tokens {a.batch_tokens}: {wall:.2f} s wall (model load included), {a.variants / wall:.3g} variants/s")


if __name__ == "__main__":
    main()
