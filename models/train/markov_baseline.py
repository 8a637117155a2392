#!/usr/bin/python3
"""Order-k Markov baselines for the masked-LM corpus built by prepare_corpus.py.

For k = 0..K, counts of (context, base) are taken on train and turned into probabilities
with interpolated additive (Dirichlet) smoothing towards the order k-1 model:
    p_k(b | c) = (n(c, b) + alpha * p_{k-1}(b | c')) / (n(c) + alpha),   p_{-1}(b) = 1/4
where c' is c minus its farthest base (causal: the leftmost; two-sided: the base whose
removal gives the order k-1 two-sided context). Two context shapes:
  causal     predict base i from the k bases before it (i-k .. i-1);
  two-sided  predict base i from floor(k/2) bases on its left and ceil(k/2) on its right,
             the fair comparison for a masked LM, which sees both sides.
Positions that are N, or whose context holds an N or crosses a record boundary, are not
counted. Evaluation (val and test) uses ONE position set for every k and both shapes:
ACGT positions with K ACGT bases on each side inside the same record, so the numbers are
comparable across k (with 4,096-bp eval windows this drops 2*K positions per window).
Reported: bits per base (mean -log2 p of the true base) and accuracy (argmax == true base),
plus the uniform 2-bit baseline, and per-genome numbers for the k that is best on val.

Run (from the repository root, after prepare_corpus.py):
    /usr/bin/python3 models/train/markov_baseline.py --out models/train/corpus/markov_results.json
"""

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def load_split(corpus, split):
    """Return (codes uint8 array, records list of dicts) for one split of the corpus."""
    with gzip.open(os.path.join(corpus, f"{split}.u8.gz"), "rb") as f:
        codes = np.frombuffer(f.read(), np.uint8)
    recs = []
    with open(os.path.join(corpus, f"{split}.records.tsv")) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(head, line.rstrip("\n").split("\t")))
            r["offset"], r["length"] = int(r["offset"]), int(r["length"])
            recs.append(r)
    assert sum(r["length"] for r in recs) == len(codes), "records do not cover the file"
    return codes, recs


class Positions:
    """Per-position helpers for one split: distance to record start/end and N prefix sums."""

    def __init__(self, codes, recs):
        n = len(codes)
        self.codes = codes
        self.n = n
        starts = np.array([r["offset"] for r in recs], np.int64)
        lens = np.array([r["length"] for r in recs], np.int64)
        idx = np.arange(n, dtype=np.int64)
        self.rec_id = np.repeat(np.arange(len(recs), dtype=np.int32), lens)
        self.from_start = (idx - np.repeat(starts, lens)).astype(np.int32)
        self.to_end = (np.repeat(starts + lens, lens) - 1 - idx).astype(np.int32)
        del idx
        self.ncum = np.concatenate([[0], np.cumsum(codes == 4, dtype=np.int32)])

    def valid(self, left, right):
        """Mask of positions i with an ACGT base, `left` bases before and `right` after it in
        the same record, and no N in [i-left, i+right]."""
        n = self.n
        ok = (self.codes < 4) & (self.from_start >= left) & (self.to_end >= right)
        lo = np.clip(np.arange(n, dtype=np.int64) - left, 0, n)
        hi = np.clip(np.arange(n, dtype=np.int64) + right + 1, 0, n)
        ok &= (self.ncum[hi] - self.ncum[lo]) == 0
        return ok


def context_offsets(k, mode):
    """Offsets (relative to the predicted base) of a context, most significant first."""
    if mode == "causal":
        return list(range(-k, 0))
    left, right = k // 2, k - k // 2
    return list(range(-left, 0)) + list(range(1, right + 1))


def context_codes(codes, idx, offsets):
    """Base-4 code of the context at positions idx (int64 array): sum codes[idx+o]*4^..."""
    c = np.zeros(len(idx), np.int32)
    for o in offsets:
        c = c * 4 + (codes[idx + o] & 3)
    return c


def count_table(codes, pos, k, mode):
    """Counts n(context, base), shape (4^k, 4), over the train positions valid for (k, mode)."""
    offs = context_offsets(k, mode)
    left = -min(offs) if offs and min(offs) < 0 else 0
    right = max(offs) if offs and max(offs) > 0 else 0
    idx = np.nonzero(pos.valid(left, right))[0]
    ctx = context_codes(codes, idx, offs)
    joint = ctx.astype(np.int64) * 4 + codes[idx]
    return np.bincount(joint, minlength=4 ** (k + 1)).reshape(4 ** k, 4), len(idx)


def parent_index(k, mode):
    """For each order-k context code, the code of its order k-1 back-off context."""
    c = np.arange(4 ** k, dtype=np.int64)
    if mode == "causal" or k % 2 == 0:      # drop the leftmost (most significant) base
        return c % 4 ** (k - 1)
    return c // 4                            # two-sided, k odd: drop the rightmost base


def smoothed_tables(counts, mode, alpha):
    """log2 p_k(b|c) tables for k = 0..K from count tables, by interpolated smoothing."""
    tables, prev = [], None
    for k, n in enumerate(counts):
        prior = np.full((1, 4), 0.25) if k == 0 else prev[parent_index(k, mode)]
        p = (n + alpha * prior) / (n.sum(axis=1, keepdims=True) + alpha)
        tables.append(p)
        prev = p
    return [np.log2(p) for p in tables]


def evaluate(codes, idx, logp, k, mode):
    """(sum of -log2 p, number correct) per evaluated position, as arrays."""
    ctx = context_codes(codes, idx, context_offsets(k, mode))
    base = codes[idx].astype(np.int64)
    nll = -logp[ctx, base]
    correct = np.argmax(logp, axis=1)[ctx] == base
    return nll, correct


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(here, "corpus"))
    ap.add_argument("--kmax", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=4.0, help="smoothing pseudo-count mass")
    ap.add_argument("--out", default=None, help="write results JSON here")
    args = ap.parse_args()
    t0 = time.time()
    K = args.kmax
    modes = ("causal", "two_sided")

    codes, recs = load_split(args.corpus, "train")
    pos = Positions(codes, recs)
    log(f"train: {len(codes):,} bases, {len(recs)} records ({time.time() - t0:.0f}s)")
    tables, train_n = {}, {}
    for mode in modes:
        counts = []
        for k in range(K + 1):
            c, npos = count_table(codes, pos, k, mode)
            counts.append(c)
            train_n[(mode, k)] = npos
        tables[mode] = smoothed_tables(counts, mode, args.alpha)
        log(f"counted {mode} k=0..{K} ({time.time() - t0:.0f}s)")
    del pos, codes

    results = {"method": "order-k Markov, interpolated additive smoothing towards order k-1 "
                         f"(alpha={args.alpha}), p_-1 uniform; eval positions need {K} ACGT bases "
                         "on each side inside the record (same set for all k and both shapes)",
               "kmax": K, "alpha": args.alpha,
               "train_positions": {f"{m}_k{k}": v for (m, k), v in train_n.items()},
               "uniform": {"bits_per_base": 2.0, "accuracy": 0.25}, "splits": {}}
    per_pos = {}
    for split in ("val", "test"):
        codes, recs = load_split(args.corpus, split)
        pos = Positions(codes, recs)
        idx = np.nonzero(pos.valid(K, K))[0]
        genomes = sorted({r["genome"] for r in recs}, key=[r["genome"] for r in recs].index)
        gidx = np.array([genomes.index(r["genome"]) for r in recs], np.int32)[pos.rec_id[idx]]
        res = {"positions": int(len(idx)), "bases": int(len(codes)), "genomes": genomes, "k": {}}
        for mode in modes:
            for k in range(K + 1):
                nll, cor = evaluate(codes, idx, tables[mode][k], k, mode)
                per_pos[(split, mode, k)] = (nll, cor, gidx)
                res["k"][f"{mode}_k{k}"] = {"bits_per_base": float(nll.mean()),
                                            "accuracy": float(cor.mean())}
        results["splits"][split] = res
        log(f"evaluated {split}: {len(idx):,} positions ({time.time() - t0:.0f}s)")

    best = {}
    for mode in modes:
        kb = min(range(K + 1), key=lambda k: results["splits"]["val"]["k"][f"{mode}_k{k}"]["bits_per_base"])
        best[mode] = kb
    results["best_k_on_val"] = best
    results["per_genome_best_k"] = {}
    for split in ("val", "test"):
        out = {}
        for mode in modes:
            nll, cor, gidx = per_pos[(split, mode, best[mode])]
            for gi, g in enumerate(results["splits"][split]["genomes"]):
                m = gidx == gi
                out.setdefault(g, {"positions": int(m.sum())})
                out[g][mode] = {"k": best[mode], "bits_per_base": float(nll[m].mean()),
                                "accuracy": float(cor[m].mean())}
        results["per_genome_best_k"][split] = out
    results["runtime_s"] = round(time.time() - t0, 1)

    # ---- table
    print(f"uniform: 2.000 bits/base, accuracy 0.250")
    print(f"{'k':>2s} | {'causal val':>15s} {'causal test':>15s} | {'2-sided val':>15s} {'2-sided test':>15s}"
          "   (bits/base acc)")
    for k in range(K + 1):
        row = []
        for mode in modes:
            for split in ("val", "test"):
                r = results["splits"][split]["k"][f"{mode}_k{k}"]
                row.append(f"{r['bits_per_base']:.4f} {r['accuracy']:.4f}")
        print(f"{k:2d} | {row[0]:>15s} {row[1]:>15s} | {row[2]:>15s} {row[3]:>15s}")
    print(f"best k on val: causal {best['causal']}, two-sided {best['two_sided']}")
    for split in ("val", "test"):
        print(f"per genome ({split}), causal k={best['causal']} / two-sided k={best['two_sided']}:")
        for g, r in results["per_genome_best_k"][split].items():
            print(f"  {g:26s} {r['positions']:9,d}  causal {r['causal']['bits_per_base']:.4f} "
                  f"{r['causal']['accuracy']:.4f}   two-sided {r['two_sided']['bits_per_base']:.4f} "
                  f"{r['two_sided']['accuracy']:.4f}")
    print(f"runtime {results['runtime_s']}s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
