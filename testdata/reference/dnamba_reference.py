#!/usr/bin/env python3
"""dnamba reference implementation (pure PyTorch, fp32, no custom kernels).

Single-sequence (no batch dimension) reference for the Mamba-family DNA models
that the dnamba C++ engine runs:

  * Mamba-1 mixer (state-spaces/mamba `Mamba` slow path + `selective_scan_ref`)
  * Caduceus BiMamba wrapper (add / ew_multiply, optional in/out projection tie)
  * Caduceus backbone, plain (Caduceus-Ph) and RCPS (Caduceus-PS), both
    fused_add_norm variants (the fused RCPS block swaps halves, see README.md)
  * mamba_ssm MambaLMHeadModel and HF transformers MambaForCausalLM backbones
  * the Caduceus character tokenizer
  * checkpoint writers / readers for the three on-disk layouts

Tensors are [L, C] (length first, channels last).  rc(x) = x.flip([-2, -1]).

Command line use (compare a checkpoint on a FASTA file):
    python3 dnamba_reference.py MODEL_DIR FASTA [--out expected.safetensors]
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

# ----------------------------------------------------------------------------
# Vocabulary / tokenizer (Caduceus character tokenizer)
# ----------------------------------------------------------------------------
SPECIAL_TOKENS = ["[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]"]
CHARS = ["A", "C", "G", "T", "N"]
VOCAB = {t: i for i, t in enumerate(SPECIAL_TOKENS + CHARS)}  # A=7 C=8 G=9 T=10 N=11
UNK_ID = VOCAB["[UNK]"]
PAD_ID = VOCAB["[PAD]"]
VOCAB_SIZE = len(VOCAB)  # 12 (unpadded, as in published configs)
# ids: 0..6 -> themselves, A<->T, C<->G, N->N
CADUCEUS_COMPLEMENT_MAP = {i: i for i in range(VOCAB_SIZE)}
CADUCEUS_COMPLEMENT_MAP.update({7: 10, 10: 7, 8: 9, 9: 8})


def tokenize(seq):
    """Upper-case every char; A C G T N -> 7..11; anything else -> [UNK]=6.
    No special tokens are added.  Returns LongTensor [L]."""
    return torch.tensor([VOCAB.get(c, UNK_ID) if c in "ACGTN" else UNK_ID
                         for c in seq.upper()], dtype=torch.long)


def pad_vocab(vocab_size, multiple):
    if multiple and vocab_size % multiple:
        vocab_size += multiple - vocab_size % multiple
    return vocab_size


def complement_tensor(cmap, vocab_padded):
    """dict (int or str keys) -> LongTensor [vocab_padded]; ids beyond the map map to themselves."""
    out = list(range(vocab_padded))
    for k, v in cmap.items():
        if int(k) < vocab_padded:
            out[int(k)] = int(v)
    return torch.tensor(out, dtype=torch.long)


def rc(x):
    """Reverse-complement a hidden tensor [L, C]: flip length and channels."""
    return x.flip(dims=[-2, -1])


def rc_ids(ids, comp):
    return comp[ids.flip(-1)]


# ----------------------------------------------------------------------------
# Norms
# ----------------------------------------------------------------------------
def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def layer_norm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def apply_norm(x, p, eps):
    """p: {'weight', optional 'bias'}; a bias present means LayerNorm, absent RMSNorm."""
    if p.get("bias") is not None:
        return layer_norm(x, p["weight"], p["bias"], eps)
    return rms_norm(x, p["weight"], eps)


# ----------------------------------------------------------------------------
# Mamba-1 mixer
# ----------------------------------------------------------------------------
MAMBA_KEYS = ["in_proj.weight", "in_proj.bias", "conv1d.weight", "conv1d.bias", "x_proj.weight",
              "dt_proj.weight", "dt_proj.bias", "A_log", "D", "out_proj.weight", "out_proj.bias"]


def selective_scan(u, delta, A, B, C, D):
    """u, delta: [L, di]; A: [di, N]; B, C: [L, N]; D: [di].  Sequential fp32 scan.
    h_t = exp(delta_t*A) * h_{t-1} + delta_t * B_t * u_t ;  y_t = <h_t, C_t> + D*u_t"""
    L, di = u.shape
    dA = torch.exp(delta.unsqueeze(-1) * A)                       # [L, di, N]
    dBu = (delta * u).unsqueeze(-1) * B.unsqueeze(1)              # [L, di, N]
    h = torch.zeros(di, A.shape[1], dtype=u.dtype, device=u.device)
    ys = []
    for t in range(L):
        h = dA[t] * h + dBu[t]
        ys.append((h * C[t]).sum(-1))
    y = torch.stack(ys) if L else u.new_zeros(0, di)
    return y + u * D


def mamba_mixer(x, p):
    """x: [L, d_model] -> [L, d_model].  p: dict with MAMBA_KEYS (biases may be None)."""
    L = x.shape[0]
    xz = F.linear(x, p["in_proj.weight"], p.get("in_proj.bias"))
    di = xz.shape[-1] // 2
    xs, z = xz[:, :di], xz[:, di:]
    w = p["conv1d.weight"]                                         # [di, 1, k]
    k = w.shape[-1]
    xs = F.conv1d(xs.t().unsqueeze(0), w, p.get("conv1d.bias"), padding=k - 1, groups=di)[0, :, :L].t()
    xs = F.silu(xs)
    dt_rank = p["dt_proj.weight"].shape[1]
    n = p["A_log"].shape[1]
    x_dbl = F.linear(xs, p["x_proj.weight"])
    dt, B, C = x_dbl[:, :dt_rank], x_dbl[:, dt_rank:dt_rank + n], x_dbl[:, dt_rank + n:]
    delta = F.linear(dt, p["dt_proj.weight"])                      # no bias here
    delta = F.softplus(delta + p["dt_proj.bias"])                  # threshold 20
    A = -torch.exp(p["A_log"])
    y = selective_scan(xs, delta, A, B, C, p["D"])
    y = y * F.silu(z)
    return F.linear(y, p["out_proj.weight"], p.get("out_proj.bias"))


def bimamba(x, layer, strategy):
    """Caduceus BiMambaWrapper; layer['rev'] None => unidirectional.
    Weight tying is represented by layer['rev'] sharing the fwd tensors."""
    out = mamba_mixer(x, layer["fwd"])
    if layer.get("rev") is None:
        return out
    out_rev = mamba_mixer(x.flip(0), layer["rev"]).flip(0)
    if strategy == "add":
        return out + out_rev
    if strategy == "ew_multiply":
        return out * out_rev
    raise ValueError(strategy)


# ----------------------------------------------------------------------------
# Backbones.  model = {
#   'cfg': {'rcps', 'fused_add_norm', 'eps', 'strategy', ...},
#   'embedding': [V, d], 'layers': [{'norm': {...}, 'fwd': {...}, 'rev': {...}|None}],
#   'norm_f': {...}, 'lm_head': [V, d] or None (= tied to embedding),
#   'complement_map': LongTensor [V] }
# ----------------------------------------------------------------------------
def forward_plain(ids, m):
    """mamba_ssm Block stack (also non-RCPS Caduceus).  fused_add_norm true/false are the same math."""
    eps, strat = m["cfg"]["eps"], m["cfg"].get("strategy", "add")
    h = m["embedding"][ids]
    residual = None
    for lyr in m["layers"]:
        residual = h if residual is None else h + residual
        h = bimamba(apply_norm(residual, lyr["norm"], eps), lyr, strat)
    residual = h if residual is None else h + residual
    return apply_norm(residual, m["norm_f"], eps)


def forward_rcps(ids, m):
    """Caduceus-PS backbone; hidden has 2*d channels."""
    cfg = m["cfg"]
    eps, strat, fused = cfg["eps"], cfg.get("strategy", "add"), cfg["fused_add_norm"]
    E, comp = m["embedding"], m["complement_map"]
    d = E.shape[1]
    h = torch.cat([E[ids], rc(E[rc_ids(ids, comp)])], -1)
    residual = None
    for lyr in m["layers"]:
        nrm = lyr["norm"]
        h1, h2 = h[:, :d], h[:, d:]
        if fused:
            # fused_add_norm=True path of RCPSMambaBlock: the "fwd" call reads the SECOND half,
            # the "rc" call reads rc(FIRST half) -> halves are swapped every layer.
            s_f = h2 if residual is None else h2 + residual[:, d:]
            s_r = rc(h1) if residual is None else rc(h1) + rc(residual[:, :d])
            out = torch.cat([apply_norm(s_f, nrm, eps), rc(apply_norm(s_r, nrm, eps))], -1)
            residual = torch.cat([s_f, rc(s_r)], -1)
        else:
            # RCPSAddNormWrapper (prenorm=True)
            if residual is None:
                residual = h
                out = torch.cat([apply_norm(h1, nrm, eps), rc(apply_norm(rc(h2), nrm, eps))], -1)
            else:
                r1 = h1 + residual[:, :d]
                r2 = rc(h2) + rc(residual[:, d:])
                out = torch.cat([apply_norm(r1, nrm, eps), rc(apply_norm(r2, nrm, eps))], -1)
                residual = torch.cat([r1, rc(r2)], -1)
        # RCPSWrapper around the BiMamba mixer
        h = torch.cat([bimamba(out[:, :d], lyr, strat), rc(bimamba(rc(out[:, d:]), lyr, strat))], -1)
    s = h if residual is None else h + residual   # final norm: no swap, fused or not
    return torch.cat([apply_norm(s[:, :d], m["norm_f"], eps), rc(apply_norm(rc(s[:, d:]), m["norm_f"], eps))], -1)


def lm_logits(hidden, m):
    W = m["lm_head"] if m.get("lm_head") is not None else m["embedding"]
    if m["cfg"]["rcps"]:
        d = W.shape[1]
        return F.linear(hidden[:, :d], W) + F.linear(hidden[:, d:].flip(-1), W[m["complement_map"]])
    return F.linear(hidden, W)


def forward(ids, m):
    return forward_rcps(ids, m) if m["cfg"]["rcps"] else forward_plain(ids, m)


# ----------------------------------------------------------------------------
# Random (non-default) initialisation
# ----------------------------------------------------------------------------
def _u(g, shape, bound):
    return (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * bound


def _n(g, shape, std=1.0):
    return torch.randn(shape, generator=g, dtype=torch.float64) * std


def init_mamba(g, d_model, d_inner, d_state, d_conv, dt_rank, bias, conv_bias):
    p = {}
    p["in_proj.weight"] = _u(g, (2 * d_inner, d_model), d_model ** -0.5)
    p["in_proj.bias"] = _n(g, (2 * d_inner,), 0.1) if bias else None
    p["conv1d.weight"] = _u(g, (d_inner, 1, d_conv), d_conv ** -0.5)
    p["conv1d.bias"] = _u(g, (d_inner,), d_conv ** -0.5) if conv_bias else None
    # x_proj is 4x the nn.Linear default bound: makes B, C and the data-dependent part of dt larger so
    # the SSM path contributes ~10% of the mixer output (at 1x, y = u*D dominates at >99%).
    p["x_proj.weight"] = _u(g, (dt_rank + 2 * d_state, d_inner), 4.0 * d_inner ** -0.5)
    p["dt_proj.weight"] = _u(g, (d_inner, dt_rank), dt_rank ** -0.5)
    dt = torch.exp(torch.rand(d_inner, generator=g, dtype=torch.float64)
                   * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
    p["dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt)) + _n(g, (d_inner,), 0.05)  # inverse softplus + noise
    p["A_log"] = torch.log(1 + 15 * torch.rand((d_inner, d_state), generator=g, dtype=torch.float64)) \
        + _n(g, (d_inner, d_state), 0.1)
    p["D"] = 1 + _n(g, (d_inner,), 0.5)
    p["out_proj.weight"] = _u(g, (d_model, d_inner), d_inner ** -0.5)
    p["out_proj.bias"] = _n(g, (d_model,), 0.1) if bias else None
    return p


def _norm_params(g, d, rms):
    return {"weight": 1 + _n(g, (d,), 0.2), "bias": None if rms else _n(g, (d,), 0.1)}


def init_model(spec, seed):
    """spec keys: d_model n_layer d_state d_conv expand dt_rank('auto'|int) bias conv_bias rms_norm
    bidirectional strategy weight_tie rcps fused_add_norm eps vocab_padded untied_lm_head."""
    g = torch.Generator().manual_seed(seed)
    d = spec["d_model"]
    di = int(spec["expand"] * d)
    r = math.ceil(d / 16) if spec["dt_rank"] == "auto" else int(spec["dt_rank"])
    V = spec["vocab_padded"]
    m = {"cfg": {"rcps": spec.get("rcps", False), "fused_add_norm": spec["fused_add_norm"],
                 "eps": spec["eps"], "strategy": spec.get("strategy", "add")}}
    m["embedding"] = _n(g, (V, d))
    m["layers"] = []
    for _ in range(spec["n_layer"]):
        mk = lambda: init_mamba(g, d, di, spec["d_state"], spec["d_conv"], r, spec["bias"], spec["conv_bias"])
        lyr = {"norm": _norm_params(g, d, spec["rms_norm"]), "fwd": mk(), "rev": None}
        if spec.get("bidirectional", False):
            lyr["rev"] = mk()
            if spec["weight_tie"]:
                for k in ["in_proj.weight", "in_proj.bias", "out_proj.weight", "out_proj.bias"]:
                    lyr["rev"][k] = lyr["fwd"][k]
        m["layers"].append(lyr)
    m["norm_f"] = _norm_params(g, d, spec["rms_norm"])
    m["lm_head"] = _n(g, (V, d), 0.5) if spec.get("untied_lm_head") else None
    m["complement_map"] = complement_tensor(CADUCEUS_COMPLEMENT_MAP, V)
    return m


def cast_model(m, dtype, device=None):
    """Cast every float tensor (keeping shared tensors shared)."""
    memo = {}

    def c(t):
        if t is None or not torch.is_floating_point(t):
            return t.to(device) if (t is not None and device is not None) else t
        if id(t) not in memo:
            memo[id(t)] = t.to(device=device, dtype=dtype)
        return memo[id(t)]

    out = {"cfg": dict(m["cfg"]), "embedding": c(m["embedding"]), "norm_f": {k: c(v) for k, v in m["norm_f"].items()},
           "lm_head": c(m["lm_head"]), "complement_map": c(m["complement_map"]), "layers": []}
    for lyr in m["layers"]:
        out["layers"].append({"norm": {k: c(v) for k, v in lyr["norm"].items()},
                              "fwd": {k: c(v) for k, v in lyr["fwd"].items()},
                              "rev": None if lyr["rev"] is None else {k: c(v) for k, v in lyr["rev"].items()}})
    return out


# ----------------------------------------------------------------------------
# Checkpoint layouts
# ----------------------------------------------------------------------------
def _put(sd, name, t, dtype):
    if t is not None:
        sd[name] = t.detach().to(dtype).contiguous().clone()


def _put_norm(sd, prefix, p, dtype):
    _put(sd, prefix + ".weight", p["weight"], dtype)
    _put(sd, prefix + ".bias", p.get("bias"), dtype)


def _put_mamba(sd, prefix, p, dtype, skip=()):
    for k in MAMBA_KEYS:
        if k not in skip:
            _put(sd, f"{prefix}.{k}", p.get(k), dtype)


TIED_REV = ("in_proj.weight", "in_proj.bias", "out_proj.weight", "out_proj.bias")


def caduceus_state_dict(m, spec, dtype, keep_tied=False, rcps_buffers=True):
    sd = {}
    rcps = spec.get("rcps", False)
    emb = "caduceus.backbone.embeddings.word_embeddings" + (".embedding" if rcps else "")
    # RCPS with fused_add_norm=False wraps every norm (incl. norm_f) in RCPSAddNormWrapper -> ".submodule"
    nsub = ".submodule" if (rcps and not spec["fused_add_norm"]) else ""
    _put(sd, emb + ".weight", m["embedding"], dtype)
    for i, lyr in enumerate(m["layers"]):
        pre = f"caduceus.backbone.layers.{i}"
        mix = pre + (".mixer.submodule" if rcps else ".mixer")
        _put_mamba(sd, mix + ".mamba_fwd", lyr["fwd"], dtype)
        if lyr["rev"] is not None:
            skip = TIED_REV if (spec["weight_tie"] and not keep_tied) else ()
            _put_mamba(sd, mix + ".mamba_rev", lyr["rev"], dtype, skip)
        _put_norm(sd, pre + ".norm" + nsub, lyr["norm"], dtype)
    _put_norm(sd, "caduceus.backbone.norm_f" + nsub, m["norm_f"], dtype)
    head = "lm_head.lm_head.weight" if rcps else "lm_head.weight"
    if m["lm_head"] is not None:
        _put(sd, head, m["lm_head"], dtype)
    elif keep_tied:
        _put(sd, head, m["embedding"], dtype)
    if rcps and rcps_buffers:  # persistent buffers, present in HF save_pretrained output
        sd["caduceus.backbone.embeddings.word_embeddings.complement_map"] = m["complement_map"].clone()
        sd["lm_head.complement_map"] = m["complement_map"].clone()
    return sd


def caduceus_config(spec, dtype_name):
    ssm = {"d_state": spec["d_state"], "d_conv": spec["d_conv"], "expand": spec["expand"],
           "dt_rank": spec["dt_rank"], "dt_min": 0.001, "dt_max": 0.1, "dt_init": "random",
           "dt_scale": 1.0, "dt_init_floor": 1e-4, "conv_bias": spec["conv_bias"], "bias": spec["bias"]}
    return {
        "_name_or_path": "dnamba-golden", "architectures": ["CaduceusForMaskedLM"],
        "auto_map": {"AutoConfig": "configuration_caduceus.CaduceusConfig",
                     "AutoModelForMaskedLM": "modeling_caduceus.CaduceusForMaskedLM"},
        "model_type": "caduceus", "d_model": spec["d_model"], "n_layer": spec["n_layer"],
        "vocab_size": VOCAB_SIZE, "ssm_cfg": ssm, "rms_norm": spec["rms_norm"],
        "residual_in_fp32": spec.get("residual_in_fp32", True), "fused_add_norm": spec["fused_add_norm"],
        "pad_vocab_size_multiple": 8, "norm_epsilon": spec["eps"], "initializer_cfg": {
            "initializer_range": 0.02, "rescale_prenorm_residual": True, "n_residuals_per_layer": 1},
        "bidirectional": spec["bidirectional"], "bidirectional_strategy": spec.get("strategy", "add"),
        "bidirectional_weight_tie": spec.get("weight_tie", True), "rcps": spec.get("rcps", False),
        "complement_map": {str(k): v for k, v in CADUCEUS_COMPLEMENT_MAP.items()},
        "torch_dtype": dtype_name, "transformers_version": "4.38.1",
    }


def mamba_ssm_state_dict(m, spec, dtype):
    sd = {}
    _put(sd, "backbone.embedding.weight", m["embedding"], dtype)
    for i, lyr in enumerate(m["layers"]):
        _put_mamba(sd, f"backbone.layers.{i}.mixer", lyr["fwd"], dtype)
        _put_norm(sd, f"backbone.layers.{i}.norm", lyr["norm"], dtype)
    _put_norm(sd, "backbone.norm_f", m["norm_f"], dtype)
    _put(sd, "lm_head.weight", m["lm_head"], dtype)
    return sd


def mamba_ssm_config(spec):
    return {"d_model": spec["d_model"], "d_intermediate": 0, "n_layer": spec["n_layer"],
            "vocab_size": spec["vocab_size"],
            "ssm_cfg": {"layer": "Mamba1", "d_state": spec["d_state"], "d_conv": spec["d_conv"],
                        "expand": spec["expand"], "dt_rank": spec["dt_rank"], "conv_bias": spec["conv_bias"],
                        "bias": spec["bias"]},
            "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": spec["rms_norm"],
            "residual_in_fp32": spec.get("residual_in_fp32", True), "fused_add_norm": spec["fused_add_norm"],
            "pad_vocab_size_multiple": 8, "tie_embeddings": not spec.get("untied_lm_head", False)}


def hf_mamba_state_dict(m, spec, dtype):
    sd = {}
    _put(sd, "backbone.embeddings.weight", m["embedding"], dtype)
    for i, lyr in enumerate(m["layers"]):
        _put_mamba(sd, f"backbone.layers.{i}.mixer", lyr["fwd"], dtype)
        _put_norm(sd, f"backbone.layers.{i}.norm", lyr["norm"], dtype)
    _put_norm(sd, "backbone.norm_f", m["norm_f"], dtype)
    _put(sd, "lm_head.weight", m["lm_head"], dtype)
    return sd


def hf_mamba_config(spec, dtype_name):
    d = spec["d_model"]
    r = math.ceil(d / 16) if spec["dt_rank"] == "auto" else spec["dt_rank"]
    return {"architectures": ["MambaForCausalLM"], "model_type": "mamba", "hidden_size": d,
            "num_hidden_layers": spec["n_layer"], "state_size": spec["d_state"], "conv_kernel": spec["d_conv"],
            "expand": spec["expand"], "intermediate_size": int(spec["expand"] * d), "time_step_rank": r,
            "use_bias": spec["bias"], "use_conv_bias": spec["conv_bias"], "layer_norm_epsilon": spec["eps"],
            "residual_in_fp32": True, "vocab_size": spec["vocab_padded"],
            "tie_word_embeddings": not spec.get("untied_lm_head", False), "hidden_act": "silu",
            "pad_token_id": PAD_ID, "bos_token_id": 2, "eos_token_id": 1, "initializer_range": 0.1,
            "rescale_prenorm_residual": False, "time_step_scale": 1.0, "time_step_min": 0.001,
            "time_step_max": 0.1, "time_step_init_scheme": "random", "time_step_floor": 1e-4,
            "use_cache": True, "torch_dtype": dtype_name, "transformers_version": "4.39.0"}


def write_checkpoint(path, sd, config):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    save_file(sd, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})


# ----------------------------------------------------------------------------
# Reader (any of the three layouts) -> fp32 model dict
# ----------------------------------------------------------------------------
def _get_mamba(sd, prefix):
    return {k: sd.get(f"{prefix}.{k}") for k in MAMBA_KEYS}


def _get_norm(sd, prefix):
    if prefix + ".weight" not in sd and prefix + ".submodule.weight" in sd:
        prefix += ".submodule"  # RCPSAddNormWrapper (Caduceus RCPS, fused_add_norm=False)
    return {"weight": sd[prefix + ".weight"], "bias": sd.get(prefix + ".bias")}


def load_checkpoint(path, dtype=torch.float32):
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    raw = load_file(os.path.join(path, "model.safetensors"))
    sd = {k: (v.to(dtype) if torch.is_floating_point(v) else v) for k, v in raw.items()}
    mt = cfg.get("model_type")
    m = {"layers": []}
    if mt == "caduceus":
        rcps = bool(cfg.get("rcps", False))
        m["cfg"] = {"rcps": rcps, "fused_add_norm": cfg["fused_add_norm"], "eps": cfg["norm_epsilon"],
                    "strategy": cfg.get("bidirectional_strategy") or "add"}
        emb = "caduceus.backbone.embeddings.word_embeddings" + (".embedding" if rcps else "")
        m["embedding"] = sd[emb + ".weight"]
        V = pad_vocab(cfg["vocab_size"], cfg.get("pad_vocab_size_multiple", 8))
        assert m["embedding"].shape[0] == V
        for i in range(cfg["n_layer"]):
            pre = f"caduceus.backbone.layers.{i}"
            mix = pre + (".mixer.submodule" if rcps else ".mixer")
            lyr = {"norm": _get_norm(sd, pre + ".norm"), "fwd": _get_mamba(sd, mix + ".mamba_fwd"), "rev": None}
            if cfg.get("bidirectional", True):
                lyr["rev"] = _get_mamba(sd, mix + ".mamba_rev")
                if cfg.get("bidirectional_weight_tie", True):
                    for k in TIED_REV:
                        lyr["rev"][k] = lyr["fwd"][k]
            m["layers"].append(lyr)
        m["norm_f"] = _get_norm(sd, "caduceus.backbone.norm_f")
        m["lm_head"] = None  # CaduceusForMaskedLM always ties lm_head to the embedding
        m["complement_map"] = complement_tensor(cfg.get("complement_map") or {}, V)
    elif mt == "mamba":
        m["cfg"] = {"rcps": False, "fused_add_norm": True, "eps": cfg.get("layer_norm_epsilon", 1e-5)}
        m["embedding"] = sd["backbone.embeddings.weight"]
        for i in range(cfg["num_hidden_layers"]):
            m["layers"].append({"norm": _get_norm(sd, f"backbone.layers.{i}.norm"),
                                "fwd": _get_mamba(sd, f"backbone.layers.{i}.mixer"), "rev": None})
        m["norm_f"] = _get_norm(sd, "backbone.norm_f")
        m["lm_head"] = None if cfg.get("tie_word_embeddings", True) else sd["lm_head.weight"]
        m["complement_map"] = complement_tensor({}, m["embedding"].shape[0])
    else:  # mamba_ssm MambaLMHeadModel
        m["cfg"] = {"rcps": False, "fused_add_norm": cfg.get("fused_add_norm", True), "eps": 1e-5}
        m["embedding"] = sd["backbone.embedding.weight"]
        for i in range(cfg["n_layer"]):
            m["layers"].append({"norm": _get_norm(sd, f"backbone.layers.{i}.norm"),
                                "fwd": _get_mamba(sd, f"backbone.layers.{i}.mixer"), "rev": None})
        m["norm_f"] = _get_norm(sd, "backbone.norm_f")
        m["lm_head"] = None if cfg.get("tie_embeddings", True) else sd["lm_head.weight"]
        m["complement_map"] = complement_tensor({}, m["embedding"].shape[0])
    return m


# ----------------------------------------------------------------------------
# FASTA
# ----------------------------------------------------------------------------
def read_fasta(path):
    recs, name, buf = [], None, []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    recs.append((name, "".join(buf)))
                name, buf = line[1:].split()[0], []
            elif line:
                buf.append(line)
    if name is not None:
        recs.append((name, "".join(buf)))
    return recs


def write_fasta(path, recs, width=60):
    with open(path, "w") as f:
        for name, seq in recs:
            f.write(f">{name}\n")
            for i in range(0, len(seq), width):
                f.write(seq[i:i + width] + "\n")


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("fasta")
    ap.add_argument("--out", help="write ids.S / hidden.S / logits.S to this safetensors file")
    a = ap.parse_args(argv)
    m = load_checkpoint(a.model_dir)
    out = {}
    with torch.no_grad():
        for name, seq in read_fasta(a.fasta):
            ids = tokenize(seq)
            h = forward(ids, m)
            lg = lm_logits(h, m)
            print(f"{name}\tL={len(ids)}\thidden={tuple(h.shape)}\tmean|h|={h.abs().mean():.6f}"
                  f"\tlogits[0,:4]={lg[0, :4].tolist() if len(ids) else []}")
            out[f"ids.{name}"] = ids.to(torch.int32)
            out[f"hidden.{name}"] = h.contiguous()
            out[f"logits.{name}"] = lg.contiguous()
    if a.out:
        save_file(out, a.out)


if __name__ == "__main__":
    main(sys.argv[1:])
