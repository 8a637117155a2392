#!/usr/bin/python3
"""Real-data check of `dnamba vep` (issue #14, item 4): on the held-out test genomes of the
pretraining corpus, substitute N random positions with each of the three other bases and count
how often the true base has the higher likelihood, by the shipped pretrained model's masked-llr
and llr, against the order-k Markov baselines fitted on the training corpus (markov_baseline.py).

A position is eligible when markov_baseline.py evaluates it (an A/C/G/T base with K A/C/G/T bases
on each side inside its record) and the whole --window around it lies inside its record, so the
model sees a full window. One VCF record per position: REF the true base, ALT the three others.
"True base preferred" for one (position, alt) pair: score < 0 (log p(alt) - log p(ref)); a tie
counts one half.

Run from the repository root after prepare_corpus.py (numpy; ~2 min for the Markov counts plus
the dnamba run):
    /usr/bin/python3 models/train/vep_check.py --dnamba build/dnamba --out models/train/vep-check-results.json
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import markov_baseline as mb  # noqa: E402

BASES = "ACGT"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.path.join(here, "corpus"))
    ap.add_argument("--model", default=os.path.join(here, "..", "caduceus-ps-1m-debian"))
    ap.add_argument("--dnamba", default="build/dnamba")
    ap.add_argument("--positions", type=int, default=10000)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--kmax", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--work", default="/tmp/dnamba-vep-check")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.work, exist_ok=True)
    K, W = a.kmax, a.window

    # ---- the positions and their VCF --------------------------------------------------
    codes, recs = mb.load_split(a.corpus, "test")
    pos = mb.Positions(codes, recs)
    half = max(K, W // 2 + 1)
    idx = np.nonzero(pos.valid(half, half))[0]
    rng = np.random.default_rng(a.seed)
    idx = np.sort(rng.choice(idx, size=min(a.positions, len(idx)), replace=False))
    rec_of = pos.rec_id[idx]
    used = sorted(set(rec_of.tolist()))
    fa, vcf = os.path.join(a.work, "test.fa"), os.path.join(a.work, "test.vcf")
    with open(fa, "w") as f:
        for r in used:
            s = codes[recs[r]["offset"]:recs[r]["offset"] + recs[r]["length"]]
            seq = "".join("ACGTN"[c] for c in s.tolist())
            f.write(f">r{r}\n")
            for i in range(0, len(seq), 60):
                f.write(seq[i:i + 60] + "\n")
    for ext in (".fai",):
        if os.path.exists(fa + ext):
            os.remove(fa + ext)
    with open(vcf, "w") as f:
        f.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i, r in zip(idx.tolist(), rec_of.tolist()):
            b = int(codes[i])
            alts = ",".join(x for x in BASES if x != BASES[b])
            f.write(f"r{r}\t{i - recs[r]['offset'] + 1}\t.\t{BASES[b]}\t{alts}\t.\t.\t.\n")
    print(f"{len(idx)} positions on {len(used)} test windows ({time.time() - t0:.0f}s)", file=sys.stderr)

    # ---- the model --------------------------------------------------------------------
    out_tsv = os.path.join(a.work, "scored.tsv")
    cmd = [a.dnamba, "vep", "-m", a.model, "-i", fa, "--vcf", vcf, "--window", str(W), "--scores",
           "masked-llr,llr", "--device", a.device, "-o", out_tsv]
    t1 = time.time()
    run = subprocess.run(cmd, capture_output=True, text=True)
    vep_s = time.time() - t1
    if run.returncode != 0:
        sys.exit(run.stderr)
    print(run.stderr.strip(), file=sys.stderr)
    scores = {"masked-llr": [], "llr": []}
    with open(out_tsv) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            c = line.rstrip("\n").split("\t")
            for name in scores:
                scores[name].append(float(c[head.index(name)]))
    scores = {k: np.array(v) for k, v in scores.items()}

    # ---- the Markov baselines: log2 p(alt|ctx) - log2 p(ref|ctx) -------------------------
    tcodes, trecs = mb.load_split(a.corpus, "train")
    tpos = mb.Positions(tcodes, trecs)
    ref_b = codes[idx].astype(np.int64)
    alt_b = np.array([[x for x in range(4) if x != b] for b in ref_b.tolist()], np.int64)  # VCF order
    for mode in ("two_sided", "causal"):
        counts = [mb.count_table(tcodes, tpos, k, mode)[0] for k in range(K + 1)]
        logp = mb.smoothed_tables(counts, mode, a.alpha)[K]
        ctx = mb.context_codes(codes, idx, mb.context_offsets(K, mode))
        scores[f"markov-{mode}-k{K}"] = (logp[ctx[:, None], alt_b] - logp[ctx, ref_b][:, None]).reshape(-1)
        print(f"markov {mode} k={K} ({time.time() - t0:.0f}s)", file=sys.stderr)

    genomes = [recs[r]["genome"] for r in rec_of.tolist()]
    pair_genome = np.repeat(np.array(genomes), 3)
    res = {"positions": int(len(idx)), "pairs": int(3 * len(idx)), "window": W, "model": os.path.relpath(a.model),
           "device": a.device, "vep_seconds": round(vep_s, 1),
           "variants_per_second": round(3 * len(idx) / vep_s, 1),
           "definition": "fraction of (position, other base) pairs where the true base is preferred: score < 0, ties 1/2",
           "true_base_preferred": {}, "per_genome": {}}
    for name, s in scores.items():
        res["true_base_preferred"][name] = float(np.mean((s < 0) + 0.5 * (s == 0)))
        for g in sorted(set(genomes), key=genomes.index):
            m = pair_genome == g
            res["per_genome"].setdefault(g, {"pairs": int(m.sum())})[name] = float(
                np.mean((s[m] < 0) + 0.5 * (s[m] == 0)))
    res["runtime_s"] = round(time.time() - t0, 1)
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
