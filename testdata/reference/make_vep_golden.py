#!/usr/bin/env python3
"""Expected `dnamba vep` and `dnamba score` values from the PyTorch reference (fp32).

One variant, one window, one forward pass at a time (no packing), written independently of the
C++ code from the definitions in README.md ("Scoring variants and sequences"):

  window     [max(0, pos - W//2), min(len, pos - W//2 + W)), extended to hold REF
  masked-llr log p(alt) - log p(ref) at the variant, ref window with [MASK]=3 there (SNVs)
  llr        the same, unmasked; causal models: from the logits of the position before
  emb-l2     ||mean H(alt) - mean H(ref)||_2          emb-cos  1 - cos(mean H(alt), mean H(ref))
  delta-ll   sum_{t>=1, x_t in ACGT} log p(x_t | x_<t), alt window minus ref window (causal)
  log p      log-softmax over the four base logits (A, C, G, T = ids 7..10)
  rc average mean over both strands of each score (non-RCPS: the reverse-complement window;
             RCPS: LM scores are equivariant, embedding scores use the two halves)

Inputs: testdata/vep/genome.fa, testdata/vep/variants.vcf (both made by hand-written code below,
kept as files). Writes testdata/vep/expected/*.tsv. Run from the repo root:

    python3 testdata/reference/make_vep_golden.py
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnamba_reference as ref  # noqa: E402

GOLDEN = "testdata/golden"
VEP = "testdata/vep"
BASES = "ACGT"
COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}

# (case, layout kind, window, rc) -> expected file
CASES = [
    ("a_caduceus_ph", "mlm", 64, "none"),
    ("a_caduceus_ph", "mlm", 64, "average"),
    ("a_caduceus_ph", "mlm", 1000, "none"),  # window larger than every contig
    ("c_caduceus_ps_fused", "mlm", 64, "none"),
    ("c_caduceus_ps_fused", "mlm", 64, "average"),
    ("h_mamba_ssm_rms", "causal", 64, "none"),
    ("h_mamba_ssm_rms", "causal", 64, "average"),
]
SCORES = {"mlm": ["masked-llr", "llr", "emb-l2", "emb-cos"], "causal": ["llr", "delta-ll", "emb-l2", "emb-cos"]}


def revcomp(s):
    return "".join(COMP.get(c.upper(), c) for c in reversed(s))


def base_lp(logits_row):
    return torch.log_softmax(logits_row[7:11].double(), dim=0)


def read_vcf(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            c = line.rstrip("\n").split("\t")
            out.append((c[0], int(c[1]) - 1, c[3], c[4].split(",")))
    return out


def symbolic(a):
    return a in ("*", ".") or any(ch in a for ch in "<>[]")


def causal_ll(logits, ids):
    ll = 0.0
    for t in range(1, len(ids)):
        b = int(ids[t]) - 7
        if 0 <= b <= 3:
            ll += float(base_lp(logits[t - 1])[b])
    return ll


def strand_scores(m, kind, rcps, rc_mode, window, off, ref_allele, alt, alt_window, strand_rc):
    """Scores of one ALT on one strand (dict name -> float or None)."""
    seq = revcomp(window) if strand_rc else window
    aseq = revcomp(alt_window) if strand_rc else alt_window
    L = len(seq)
    o = L - off - len(ref_allele) if strand_rc else off
    snv = len(ref_allele) == 1 and len(alt) == 1 and ref_allele.upper() in BASES and alt.upper() in BASES
    rb = ab = None
    if snv:
        r, a = ref_allele.upper(), alt.upper()
        if strand_rc:
            r, a = COMP[r], COMP[a]
        rb, ab = BASES.index(r), BASES.index(a)
    ids = ref.tokenize(seq)
    h = ref.forward(ids, m)
    lg = ref.lm_logits(h, m)
    aids = ref.tokenize(aseq)
    ha = ref.forward(aids, m)
    out = {}
    # masked-llr
    if kind == "mlm" and snv:
        mids = ids.clone()
        mids[o] = 3
        lp = base_lp(ref.lm_logits(ref.forward(mids, m), m)[o])
        out["masked-llr"] = float(lp[ab] - lp[rb])
    else:
        out["masked-llr"] = None
    # llr
    if snv and not (kind == "causal" and o == 0):
        lp = base_lp(lg[o - 1] if kind == "causal" else lg[o])
        out["llr"] = float(lp[ab] - lp[rb])
    else:
        out["llr"] = None
    # embeddings
    er, ea = h.double().mean(0), ha.double().mean(0)
    def l2(x, y):
        return float((x - y).norm())
    def cosd(x, y):
        return float(1 - torch.dot(x, y) / (x.norm() * y.norm()))
    if rcps and rc_mode == "average":
        d = er.shape[0] // 2
        out["emb-l2"] = 0.5 * (l2(ea[:d], er[:d]) + l2(ea[d:], er[d:]))
        out["emb-cos"] = 0.5 * (cosd(ea[:d], er[:d]) + cosd(ea[d:], er[d:]))
    else:
        out["emb-l2"] = l2(ea, er)
        out["emb-cos"] = cosd(ea, er)
    if kind == "causal":
        out["delta-ll"] = causal_ll(ref.lm_logits(ha, m), aids) - causal_ll(lg, ids)
    return out


def fmt(v):
    return "NA" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(float(v))


def vep_case(case, kind, W, rc_mode, genome, variants):
    m = ref.load_checkpoint(os.path.join(GOLDEN, case))
    rcps = m["cfg"]["rcps"]
    names = SCORES[kind]
    rows = ["\t".join(["chrom", "pos", "ref", "alt"] + names)]
    strands = [False, True] if (rc_mode == "average" and not rcps) else [False]
    for chrom, pos, ra, alts in variants:
        g = genome[chrom]
        mismatch = pos + len(ra) > len(g) or g[pos:pos + len(ra)].upper() != ra.upper()
        start = max(0, pos - W // 2)
        end = max(min(len(g), pos - W // 2 + W), pos + len(ra))
        win = g[start:end]
        off = pos - start
        for alt in alts:
            vals = {n: None for n in names}
            if not mismatch and not symbolic(alt):
                aw = win[:off] + alt + win[off + len(ra):]
                acc = {n: [] for n in names}
                for s in strands:
                    sc = strand_scores(m, kind, rcps, rc_mode, win, off, ra, alt, aw, s)
                    for n in names:
                        if sc[n] is not None and not math.isnan(sc[n]):
                            acc[n].append(sc[n])
                vals = {n: (sum(v) / len(v) if v else None) for n, v in acc.items()}
            rows.append("\t".join([chrom, str(pos + 1), ra, alt] + [fmt(vals[n]) for n in names]))
    return "\n".join(rows) + "\n"


def score_case(case, kind, masked, genome, chrom):
    """Per-base logp and entropy of a whole contig (no rc)."""
    m = ref.load_checkpoint(os.path.join(GOLDEN, case))
    seq = genome[chrom]
    ids = ref.tokenize(seq)
    lg = ref.lm_logits(ref.forward(ids, m), m)
    rows = ["pos\tlogp\tentropy"]
    for t in range(len(ids)):
        if masked:
            mids = ids.clone()
            mids[t] = 3
            lp = base_lp(ref.lm_logits(ref.forward(mids, m), m)[t])
        elif kind == "causal":
            lp = base_lp(lg[t - 1]) if t > 0 else torch.full((4,), math.log(0.25), dtype=torch.float64)
        else:
            lp = base_lp(lg[t])
        p = lp.exp()
        b = BASES.find(seq[t].upper())
        logp = float(lp[b]) if b >= 0 else None
        ent = float(-(p * lp).sum())
        rows.append(f"{t + 1}\t{fmt(logp)}\t{ent!r}")
    return "\n".join(rows) + "\n"


def main():
    torch.set_grad_enabled(False)
    genome = dict(ref.read_fasta(os.path.join(VEP, "genome.fa")))
    variants = read_vcf(os.path.join(VEP, "variants.vcf"))
    outdir = os.path.join(VEP, "expected")
    os.makedirs(outdir, exist_ok=True)
    for case, kind, W, rc_mode in CASES:
        name = f"vep_{case}_w{W}_rc{rc_mode}.tsv"
        with open(os.path.join(outdir, name), "w") as f:
            f.write(vep_case(case, kind, W, rc_mode, genome, variants))
        print("wrote", name)
    for case, kind, masked in [("a_caduceus_ph", "mlm", False), ("a_caduceus_ph", "mlm", True),
                               ("c_caduceus_ps_fused", "mlm", False), ("h_mamba_ssm_rms", "causal", False)]:
        name = f"score_{case}_chr2{'_masked' if masked else ''}.tsv"
        with open(os.path.join(outdir, name), "w") as f:
            f.write(score_case(case, kind, masked, genome, "chr2"))
        print("wrote", name)


if __name__ == "__main__":
    main()
