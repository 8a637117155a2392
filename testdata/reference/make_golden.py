#!/usr/bin/env python3
"""Regenerate dnamba golden test data deterministically.

    python3 testdata/reference/make_golden.py [--device cpu|cuda]

Writes testdata/golden/ (inputs.fa, MANIFEST.json, one dir per case),
testdata/models/tiny-caduceus/ and testdata/example/example.fa.
Expected outputs are computed by re-loading each written checkpoint (so they
match exactly the stored values, bf16/f16 upcast to fp32) and running the
fp32 reference in dnamba_reference.py.
"""
import argparse
import json
import os
import random
import shutil
import sys
import time

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dnamba_reference as R  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(ROOT, "testdata", "golden")
MODELS = os.path.join(ROOT, "testdata", "models")
EXAMPLE = os.path.join(ROOT, "testdata", "example")

SHORT = ["len1", "len3", "len7", "len100", "len2047"]
ALL = SHORT + ["len2049", "len5000"]
LOGITS_MAX_LEN = 100
DT = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

BASE = dict(d_state=16, d_conv=4, expand=2, dt_rank="auto", bias=False, conv_bias=True, rms_norm=True,
            bidirectional=True, strategy="add", weight_tie=True, rcps=False, fused_add_norm=True,
            residual_in_fp32=True, eps=1e-5, untied_lm_head=False)


def case(name, layout, desc, seed, seqs, dtype="float32", keep_tied=False, **kw):
    spec = dict(BASE)
    spec.update(kw)
    return dict(name=name, layout=layout, desc=desc, seed=seed, seqs=seqs, dtype=dtype, keep_tied=keep_tied,
                spec=spec)


CASES = [
    case("a_caduceus_ph", "caduceus", "Caduceus-Ph shape: bidirectional add, tied in/out proj, RMSNorm, "
         "fused_add_norm, residual_in_fp32; tied duplicates dropped", 101, ALL, d_model=16, n_layer=2),
    case("b_caduceus_ewmul_ln", "caduceus", "ew_multiply, untied reverse projections, LayerNorm, fused_add_norm "
         "false, bias=true, conv_bias=false, d_model 24 expand 1.5 (d_inner 36) d_state 5 d_conv 3, eps 1e-6",
         102, SHORT, d_model=24, n_layer=2, d_state=5, d_conv=3, expand=1.5, strategy="ew_multiply",
         weight_tie=False, rms_norm=False, fused_add_norm=False, residual_in_fp32=False, bias=True,
         conv_bias=False, eps=1e-6),
    case("c_caduceus_ps_fused", "caduceus", "Caduceus-PS: RCPS, add, tied, RMSNorm, fused_add_norm TRUE "
         "(half swap every layer); complement_map buffers stored", 103, ALL, d_model=8, n_layer=3, d_state=8,
         rcps=True),
    case("d_caduceus_ps_ln_untied", "caduceus", "RCPS, fused_add_norm FALSE (RCPSAddNormWrapper), LayerNorm, "
         "untied reverse projections", 104, ALL, d_model=8, n_layer=2, d_state=4, rcps=True, rms_norm=False,
         fused_add_norm=False, weight_tie=False),
    case("e_caduceus_unidir", "caduceus", "bidirectional false (no mamba_rev), RMSNorm fused, explicit dt_rank 3 "
         "(auto would be 2); tied lm_head.weight duplicate KEPT in file", 105, SHORT, keep_tied=True,
         d_model=32, n_layer=2, bidirectional=False, dt_rank=3),
    case("f1_caduceus_ph_bf16", "caduceus", "Caduceus-Ph shape stored in BF16 (expected = fp32 run on the "
         "bf16 values)", 106, SHORT, dtype="bfloat16", d_model=16, n_layer=2),
    case("f2_caduceus_ps_f16", "caduceus", "RCPS fused_add_norm true, RMSNorm, tied, stored in F16 "
         "(expected = fp32 run on the f16 values)", 107, SHORT, dtype="float16", d_model=8, n_layer=2, d_state=8,
         rcps=True),
    case("g_caduceus_ps_dups", "caduceus", "RCPS, fused_add_norm false, RMSNorm, tied; ALL tied duplicates "
         "kept (mamba_rev in/out proj, lm_head.lm_head.weight) like a torch.save state_dict", 108, SHORT,
         keep_tied=True, d_model=12, n_layer=2, d_state=6, rcps=True, fused_add_norm=False, bias=True),
    case("h_mamba_ssm_rms", "mamba_ssm", "MambaLMHeadModel: RMSNorm, fused_add_norm true, tie_embeddings, "
         "lm_head omitted", 109, ALL, d_model=16, n_layer=2, bidirectional=False),
    case("i_mamba_ssm_ln_untied", "mamba_ssm", "MambaLMHeadModel: LayerNorm, fused_add_norm false, bias true, "
         "conv_bias false, explicit dt_rank 7, d_state 12, lm_head UNTIED (tie_embeddings false)", 110, SHORT,
         d_model=40, n_layer=2, d_state=12, dt_rank=7, bidirectional=False, rms_norm=False,
         fused_add_norm=False, bias=True, conv_bias=False, untied_lm_head=True),
    case("j_hf_mamba_tied", "hf_mamba", "HF MambaForCausalLM: tied, use_bias false, vocab 12 (HF does not pad)",
         111, ALL, d_model=16, n_layer=2, bidirectional=False, vocab_override=12),
    case("k_hf_mamba_bias_bf16", "hf_mamba", "HF MambaForCausalLM: use_bias true, conv bias, tied, d_state 8, "
         "vocab 16, stored BF16", 112, SHORT, dtype="bfloat16", d_model=24, n_layer=2, d_state=8,
         bidirectional=False, bias=True),
]

TINY = case("tiny-caduceus", "caduceus", "demo: Caduceus-PS RCPS fused_add_norm true, tied, RMSNorm", 2024,
            [], d_model=32, n_layer=2, rcps=True)


# ----------------------------------------------------------------------------
def rand_dna(rng, n, gc=0.5, n_rate=0.0, lower_rate=0.0, iupac_rate=0.0):
    out = []
    for _ in range(n):
        r = rng.random()
        if r < n_rate:
            c = "N"
        elif r < n_rate + iupac_rate:
            c = rng.choice("RY")
        else:
            c = rng.choice("GC") if rng.random() < gc else rng.choice("AT")
        out.append(c)
    # lower-case in short runs
    i = 0
    while i < n:
        if rng.random() < lower_rate:
            k = rng.randint(1, 12)
            for j in range(i, min(n, i + k)):
                out[j] = out[j].lower()
            i += k
        i += 1
    return "".join(out)


def make_inputs():
    rng = random.Random(7)
    recs = []
    for name in ALL:
        L = int(name[3:])
        if L == 3:
            s = "TgA"
        elif L == 7:
            s = "AcgTNRy"  # upper/lower, N, IUPAC R/Y -> [UNK]
        else:
            s = rand_dna(rng, L, n_rate=0.02, lower_rate=0.03, iupac_rate=0.005)
        recs.append((name, s))
    R.write_fasta(os.path.join(GOLDEN, "inputs.fa"), recs)
    return dict(recs)


def make_example():
    rng = random.Random(11)
    recs = [("gc30_1", rand_dna(rng, 600, gc=0.30)), ("gc40_1", rand_dna(rng, 1500, gc=0.40)),
            ("gc50_1", rand_dna(rng, 250, gc=0.50, n_rate=0.01)), ("gc60_1", rand_dna(rng, 1000, gc=0.60)),
            ("gc70_1", rand_dna(rng, 2000, gc=0.70, lower_rate=0.01))]
    os.makedirs(EXAMPLE, exist_ok=True)
    R.write_fasta(os.path.join(EXAMPLE, "example.fa"), recs)


def build(c, outdir):
    """Init random weights, write the checkpoint in c's layout, return the written state dict."""
    spec = dict(c["spec"])
    spec["vocab_size"] = R.VOCAB_SIZE
    spec["vocab_padded"] = spec.pop("vocab_override", None) or R.pad_vocab(R.VOCAB_SIZE, 8)
    m = R.init_model(spec, c["seed"])
    dt = DT[c["dtype"]]
    if c["layout"] == "caduceus":
        sd = R.caduceus_state_dict(m, spec, dt, keep_tied=c["keep_tied"])
        cfg = R.caduceus_config(spec, c["dtype"])
    elif c["layout"] == "mamba_ssm":
        sd = R.mamba_ssm_state_dict(m, spec, dt)
        cfg = R.mamba_ssm_config(spec)
    else:
        sd = R.hf_mamba_state_dict(m, spec, dt)
        cfg = R.hf_mamba_config(spec, c["dtype"])
    R.write_checkpoint(outdir, sd, cfg)
    return spec, sd


def run_case(c, seqs, device):
    d = os.path.join(GOLDEN, c["name"])
    if os.path.isdir(d):
        shutil.rmtree(d)
    t0 = time.time()
    spec, sd = build(c, d)
    m32 = R.cast_model(R.load_checkpoint(d, torch.float32), torch.float32, device)
    m64 = R.cast_model(R.load_checkpoint(d, torch.float64), torch.float64, "cpu")
    rcps = m32["cfg"]["rcps"]
    comp = m32["complement_map"]
    exp, err64, rcerr = {}, 0.0, 0.0
    with torch.no_grad():
        for s in c["seqs"]:
            ids = R.tokenize(seqs[s])
            h = R.forward(ids.to(device), m32)
            exp[f"ids.{s}"] = ids.to(torch.int32)
            exp[f"hidden.{s}"] = h.float().cpu().contiguous()
            lg = R.lm_logits(h, m32) if len(ids) <= LOGITS_MAX_LEN else None
            if lg is not None:
                exp[f"logits.{s}"] = lg.float().cpu().contiguous()
            h64 = R.forward(ids, m64)
            err64 = max(err64, (h64 - h.double().cpu()).abs().max().item())
            if rcps:  # reverse-complement equivariance self-check
                rids = R.rc_ids(ids.to(device), comp)
                hr = R.forward(rids, m32)
                e = (hr - R.rc(h)).abs().max().item()
                if lg is not None:
                    lr = R.lm_logits(hr, m32)
                    e = max(e, (lr.flip(0)[:, comp] - lg).abs().max().item())
                rcerr = max(rcerr, e)
                assert e <= 1e-5, f"{c['name']}/{s}: RC equivariance violated: {e}"
    save_file(exp, os.path.join(d, "expected.safetensors"), metadata={"case": c["name"]})
    dm = spec["d_model"]
    shapes = {"d_model": dm, "n_layer": spec["n_layer"], "d_inner": int(spec["expand"] * dm),
              "d_state": spec["d_state"], "d_conv": spec["d_conv"],
              "dt_rank": -(-dm // 16) if spec["dt_rank"] == "auto" else spec["dt_rank"],
              "vocab_size_config": spec["vocab_padded"] if c["layout"] == "hf_mamba" else R.VOCAB_SIZE,
              "vocab_padded": spec["vocab_padded"], "hidden_channels": 2 * dm if rcps else dm}
    flags = {k: spec[k] for k in ["bidirectional", "strategy", "weight_tie", "rcps", "rms_norm", "fused_add_norm",
                                  "residual_in_fp32", "bias", "conv_bias", "eps", "untied_lm_head"]}
    if c["layout"] != "caduceus":
        for k in ["bidirectional", "strategy", "weight_tie", "rcps"]:
            flags.pop(k)
    nbytes = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    return {"name": c["name"], "layout": c["layout"], "description": c["desc"], "dtype": c["dtype"],
            "tied_duplicates_kept": c["keep_tied"], "flags": flags, "shapes": shapes, "sequences": c["seqs"],
            "logits_for": [s for s in c["seqs"] if int(s[3:]) <= LOGITS_MAX_LEN],
            "tensors": sorted(sd.keys()),
            "max_abs_err_fp32_vs_fp64": err64, "rc_check_max_abs_err": rcerr if rcps else None,
            "bytes": nbytes, "_seconds": round(time.time() - t0, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--only", nargs="*", help="regenerate only these cases (manifest still rewritten from all)")
    a = ap.parse_args()
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(min(2, torch.get_num_threads()))
    t_start = time.time()
    os.makedirs(GOLDEN, exist_ok=True)
    seqs = make_inputs()
    make_example()
    tiny_dir = os.path.join(MODELS, TINY["name"])
    if os.path.isdir(tiny_dir):
        shutil.rmtree(tiny_dir)
    build(TINY, tiny_dir)
    manifest = []
    print(f"{'case':26s} {'layout':9s} {'dtype':8s} {'d':>3s} {'L':>2s} {'di':>3s} {'N':>2s} {'k':>2s} {'r':>2s} "
          f"{'C':>3s} {'V':>3s} {'bytes':>8s} {'f32-f64':>8s} {'rc_err':>8s} {'sec':>6s}")
    for c in CASES:
        if a.only and c["name"] not in a.only:
            continue
        e = run_case(c, seqs, a.device)
        manifest.append({k: v for k, v in e.items() if k != "_seconds"})  # keep MANIFEST deterministic
        s = e["shapes"]
        rce = "-" if e["rc_check_max_abs_err"] is None else f"{e['rc_check_max_abs_err']:.1e}"
        print(f"{e['name']:26s} {e['layout']:9s} {e['dtype']:8s} {s['d_model']:3d} {s['n_layer']:2d} "
              f"{s['d_inner']:3d} {s['d_state']:2d} {s['d_conv']:2d} {s['dt_rank']:2d} {s['hidden_channels']:3d} "
              f"{s['vocab_padded']:3d} {e['bytes']:8d} {e['max_abs_err_fp32_vs_fp64']:8.1e} {rce:>8s} "
              f"{e['_seconds']:6.1f}", flush=True)
    if not a.only:
        with open(os.path.join(GOLDEN, "MANIFEST.json"), "w") as f:
            json.dump({"generator": "testdata/reference/make_golden.py", "inputs": "inputs.fa",
                       "expected_tensors": "ids.S I32 [L]; hidden.S F32 [L,C] (after norm_f); "
                                           f"logits.S F32 [L,V] for L<={LOGITS_MAX_LEN}",
                       "cases": manifest}, f, indent=1)
            f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(GOLDEN) for fn in fns)
    print(f"golden total {total} bytes; elapsed {time.time() - t_start:.1f}s")


if __name__ == "__main__":
    main()
