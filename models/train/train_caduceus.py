#!/usr/bin/env python3
"""Masked-LM pretraining of a small Caduceus on real genomes, and its export for dnamba.

The model is the Caduceus architecture (bidirectional Mamba-1 blocks, tied reverse in/out
projections, RMSNorm, residual in fp32), either RC-equivariant (PS: RCPS, 2*d_model hidden
channels, fused_add_norm=True with its half swap) or plain (Ph: trained with random
reverse-complement augmentation). It is written here for training: batched [B, L, C]
tensors and a chunked selective scan in plain PyTorch (a prefix scan by doubling inside
chunks, then across chunks), so it needs no custom kernels. Checkpoints are exported in the
Hugging Face Caduceus layout (config.json + model.safetensors) through the project's own
reference code (testdata/reference/dnamba_reference.py), which `dnamba` loads.

Subcommands (all take --help):
  train   train or resume: python3 models/train/train_caduceus.py train --corpus models/train/corpus \
              --run runs/ps --variant ps --minutes 9 --total-steps 6000
  eval    masked-position accuracy and bits per base on a split (val/test), per genome
  export  write config.json + model.safetensors (+ training metadata) of a run's best checkpoint
  golden  hidden states and logits of this code's forward pass on a FASTA, for dnamba's test

Masking: 15% of the A/C/G/T positions are chosen; in training 80% of those become [MASK],
10% a random base, 10% stay; the loss is cross-entropy at the chosen positions. Evaluation
masks every chosen position (no answer visible) and reports the accuracy and the
cross-entropy in bits of the renormalised A/C/G/T probabilities there.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "testdata", "reference"))
sys.path.insert(0, HERE)
import dnamba_reference as ref  # noqa: E402  (the project's own reference: tokenizer, layouts)

MASK_ID = ref.VOCAB["[MASK]"]
BASE_IDS = torch.tensor([7, 8, 9, 10])  # A C G T
VOCAB_PADDED = 16


def model_spec(variant, d_model, n_layer, d_state=16):
    return {"d_model": d_model, "n_layer": n_layer, "d_state": d_state, "d_conv": 4, "expand": 2,
            "dt_rank": "auto", "bias": False, "conv_bias": True, "rms_norm": True, "bidirectional": True,
            "strategy": "add", "weight_tie": True, "rcps": variant == "ps", "fused_add_norm": True,
            "residual_in_fp32": True, "eps": 1e-5, "vocab_padded": VOCAB_PADDED, "untied_lm_head": False}


# ---------------------------------------------------------------------------------------------
# The selective scan: h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t, y_t = <h_t, C_t> + D u_t
# ---------------------------------------------------------------------------------------------
def _prefix_doubling(a, b, dim):
    """In-order composition of the affine maps h -> a_t h + b_t along `dim` (Hillis-Steele):
    returns (A_t, B_t) with h_t = A_t h_start + B_t. log2(size) elementwise passes."""
    n = a.shape[dim]
    k = 1
    while k < n:
        a_hi, a_lo = a.narrow(dim, k, n - k), a.narrow(dim, 0, n - k)
        b_hi, b_lo = b.narrow(dim, k, n - k), b.narrow(dim, 0, n - k)
        b = torch.cat([b.narrow(dim, 0, k), torch.addcmul(b_hi, a_hi, b_lo)], dim)
        a = torch.cat([a.narrow(dim, 0, k), a_hi * a_lo], dim)
        k *= 2
    return a, b


def selective_scan(u, delta, A, Bm, Cm, Dv, chunk=64):
    """u, delta: [B, L, Di]; A: [Di, N]; Bm, Cm: [B, L, N]; Dv: [Di]. fp32 throughout."""
    u, delta, Bm, Cm = u.float(), delta.float(), Bm.float(), Cm.float()
    bsz, L, di = u.shape
    n = A.shape[1]
    T = min(chunk, L)
    pad = (-L) % T
    if pad:  # delta = 0 on the padding: the identity map, nothing leaks back
        u, delta = F.pad(u, (0, 0, 0, pad)), F.pad(delta, (0, 0, 0, pad))
        Bm, Cm = F.pad(Bm, (0, 0, 0, pad)), F.pad(Cm, (0, 0, 0, pad))
    nc = (L + pad) // T
    a = torch.exp(delta.unsqueeze(-1) * A).view(bsz, nc, T, di, n)
    b = ((delta * u).unsqueeze(-1) * Bm.unsqueeze(2)).view(bsz, nc, T, di, n)
    a, b = _prefix_doubling(a, b, 2)  # within chunks, from a zero state
    if nc > 1:
        _, ends = _prefix_doubling(a[:, :, -1], b[:, :, -1], 1)  # state at the end of each chunk
        start = torch.cat([torch.zeros_like(ends[:, :1]), ends[:, :-1]], 1)
        b = torch.addcmul(b, a, start.unsqueeze(2))
    y = torch.einsum("bcldn,bcln->bcld", b, Cm.view(bsz, nc, T, n)).reshape(bsz, nc * T, di)
    return y[:, :L] + u[:, :L] * Dv


SCAN = "triton"  # on CUDA: the fused Triton scan (scan_triton.py); "torch": the chunked scan above


def selective_scan_fused(u, delta, A, Bm, Cm, Dv, chunk=64):
    from scan_triton import selective_scan_triton  # imported on first use: Triton only where CUDA is
    return selective_scan_triton(u, delta, A, Bm, Cm, Dv)


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------
class MixerCore(nn.Module):
    """The Mamba-1 mixer between in_proj and out_proj (conv, x_proj, dt_proj, scan, gate)."""

    def __init__(self, d_inner, d_state, d_conv, dt_rank, g):
        super().__init__()
        self.d_inner, self.d_state, self.dt_rank = d_inner, d_state, dt_rank
        bound = d_conv ** -0.5
        self.conv_weight = nn.Parameter((torch.rand(d_inner, 1, d_conv, generator=g) * 2 - 1) * bound)
        self.conv_bias = nn.Parameter((torch.rand(d_inner, generator=g) * 2 - 1) * bound)
        self.x_proj = nn.Parameter((torch.rand(dt_rank + 2 * d_state, d_inner, generator=g) * 2 - 1) * d_inner ** -0.5)
        self.dt_proj_weight = nn.Parameter((torch.rand(d_inner, dt_rank, generator=g) * 2 - 1) * dt_rank ** -0.5)
        dt = torch.exp(torch.rand(d_inner, generator=g) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
        dt = dt.clamp(min=1e-4)
        self.dt_proj_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))

    def forward(self, xz, chunk):
        L = xz.shape[1]
        x, z = xz.chunk(2, dim=-1)
        k = self.conv_weight.shape[-1]
        x = F.conv1d(x.transpose(1, 2), self.conv_weight.to(x.dtype), self.conv_bias.to(x.dtype), padding=k - 1,
                     groups=self.d_inner)[..., :L].transpose(1, 2)
        x = F.silu(x)
        dbc = F.linear(x, self.x_proj.to(x.dtype))
        dt, Bm, Cm = dbc.split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(F.linear(dt, self.dt_proj_weight.to(dt.dtype)).float() + self.dt_proj_bias)
        scan = selective_scan_fused if (SCAN == "triton" and x.is_cuda) else selective_scan
        y = scan(x, delta, -torch.exp(self.A_log.float()), Bm, Cm, self.D.float(), chunk)
        return y * F.silu(z.float())


class BiMambaLayer(nn.Module):
    """Caduceus BiMambaWrapper (strategy add, tied in/out projections) with its pre-norm."""

    def __init__(self, d_model, spec, g):
        super().__init__()
        di = spec["expand"] * d_model
        r = math.ceil(d_model / 16) if spec["dt_rank"] == "auto" else spec["dt_rank"]
        self.norm_weight = nn.Parameter(torch.ones(d_model))
        self.in_proj = nn.Parameter((torch.rand(2 * di, d_model, generator=g) * 2 - 1) * d_model ** -0.5)
        # out_proj scaled down by sqrt(2 n_layer), as mamba_ssm's rescale_prenorm_residual does
        self.out_proj = nn.Parameter((torch.rand(d_model, di, generator=g) * 2 - 1) * di ** -0.5
                                     / math.sqrt(2 * spec["n_layer"]))
        self.fwd = MixerCore(di, spec["d_state"], spec["d_conv"], r, g)
        self.rev = MixerCore(di, spec["d_state"], spec["d_conv"], r, g)

    def mix(self, x, chunk):
        xz = F.linear(x, self.in_proj.to(x.dtype))  # once: in_proj commutes with the flip
        y = self.fwd(xz, chunk) + self.rev(xz.flip(1), chunk).flip(1)
        return F.linear(y.to(x.dtype), self.out_proj.to(x.dtype))


def rms_norm(x, w, eps):
    xf = x.float()
    return xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * w


def rc(x):
    return x.flip([-2, -1])


class Caduceus(nn.Module):
    def __init__(self, spec, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.spec = spec
        d = spec["d_model"]
        self.embedding = nn.Parameter(torch.randn(VOCAB_PADDED, d, generator=g) * 0.02)
        self.layers = nn.ModuleList([BiMambaLayer(d, spec, g) for _ in range(spec["n_layer"])])
        self.norm_f = nn.Parameter(torch.ones(d))
        comp = ref.complement_tensor(ref.CADUCEUS_COMPLEMENT_MAP, VOCAB_PADDED)
        self.register_buffer("complement", comp, persistent=False)

    def forward(self, ids, chunk=64, checkpoint=False):
        """ids [B, L] -> hidden [B, L, C] (C = d_model, or 2*d_model for PS), fp32."""
        eps, d = self.spec["eps"], self.spec["d_model"]
        dtype = torch.bfloat16 if torch.is_autocast_enabled() else torch.float32

        def run(layer, x):
            if checkpoint and x.requires_grad:
                return torch.utils.checkpoint.checkpoint(layer.mix, x, chunk, use_reentrant=False)
            return layer.mix(x, chunk)

        if not self.spec["rcps"]:
            h, residual = self.embedding[ids], None
            for layer in self.layers:
                residual = h.float() if residual is None else h.float() + residual
                h = run(layer, rms_norm(residual, layer.norm_weight, eps).to(dtype))
            return rms_norm(h.float() + residual, self.norm_f, eps)
        # PS: channels [forward half | RC half]; the fused_add_norm block swaps the halves
        E = self.embedding
        h = torch.cat([E[ids], rc(E[self.complement[ids.flip(1)]])], -1)
        residual = None
        for layer in self.layers:
            h1, h2 = h[..., :d].float(), h[..., d:].float()
            s_f = h2 if residual is None else h2 + residual[..., d:]
            s_r = rc(h1) if residual is None else rc(h1) + rc(residual[..., :d])
            residual = torch.cat([s_f, rc(s_r)], -1)
            n_f, n_r = rms_norm(s_f, layer.norm_weight, eps), rms_norm(s_r, layer.norm_weight, eps)
            # both strands through the same mixer in one batch
            y = run(layer, torch.cat([n_f, n_r], 0).to(dtype))
            y_f, y_r = y.chunk(2, 0)
            h = torch.cat([y_f, rc(y_r)], -1)
        s = h.float() + residual
        return torch.cat([rms_norm(s[..., :d], self.norm_f, eps), rc(rms_norm(rc(s[..., d:]), self.norm_f, eps))], -1)

    def logits(self, hidden):
        W = self.embedding.float()
        if not self.spec["rcps"]:
            return F.linear(hidden, W)
        d = self.spec["d_model"]
        return F.linear(hidden[..., :d], W) + F.linear(hidden[..., d:].flip(-1), W[self.complement])

    # ---- export: the project's reference model dict, then its HF Caduceus writer ----
    def to_reference(self):
        def mixer(layer, core):
            return {"in_proj.weight": layer.in_proj, "in_proj.bias": None, "conv1d.weight": core.conv_weight,
                    "conv1d.bias": core.conv_bias, "x_proj.weight": core.x_proj,
                    "dt_proj.weight": core.dt_proj_weight, "dt_proj.bias": core.dt_proj_bias, "A_log": core.A_log,
                    "D": core.D, "out_proj.weight": layer.out_proj, "out_proj.bias": None}

        det = lambda t: None if t is None else t.detach().float().cpu()
        m = {"cfg": {"rcps": self.spec["rcps"], "fused_add_norm": True, "eps": self.spec["eps"], "strategy": "add"},
             "embedding": det(self.embedding), "norm_f": {"weight": det(self.norm_f), "bias": None},
             "lm_head": None, "complement_map": self.complement.cpu(), "layers": []}
        for layer in self.layers:
            m["layers"].append({"norm": {"weight": det(layer.norm_weight), "bias": None},
                                "fwd": {k: det(v) for k, v in mixer(layer, layer.fwd).items()},
                                "rev": {k: det(v) for k, v in mixer(layer, layer.rev).items()}})
        return m


def export_checkpoint(model, path, extra=None):
    m = model.to_reference()
    sd = ref.caduceus_state_dict(m, model.spec, torch.float32)
    cfg = ref.caduceus_config(model.spec, "float32")
    cfg["_name_or_path"] = os.path.basename(os.path.normpath(path))
    # no auto_map: it would name Caduceus' Python files, which the project does not ship
    cfg.pop("auto_map", None)
    if extra:
        cfg["dnamba_training"] = extra
    ref.write_checkpoint(path, sd, cfg)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
class Split:
    """A corpus split: uint8 codes (A0 C1 G2 T3 other 4) of records back to back."""

    def __init__(self, corpus, name):
        with gzip.open(os.path.join(corpus, f"{name}.u8.gz"), "rb") as f:
            self.codes = np.frombuffer(f.read(), dtype=np.uint8)
        self.records = []
        with open(os.path.join(corpus, f"{name}.records.tsv")) as f:
            header = f.readline().rstrip("\n").split("\t")
            for line in f:
                r = dict(zip(header, line.rstrip("\n").split("\t")))
                self.records.append((r["genome"], int(r["offset"]), int(r["length"])))
        total = sum(n for _, _, n in self.records)
        if total != len(self.codes):
            raise SystemExit(f"{corpus}/{name}: records cover {total} bases, the file has {len(self.codes)}")

    def sample(self, rng, batch, length):
        """Random windows of `length` inside records (records shorter than it are skipped)."""
        eligible = [(o, n) for _, o, n in self.records if n >= length]
        weights = np.array([n - length + 1 for _, n in eligible], dtype=np.float64)
        pick = rng.choice(len(eligible), size=batch, p=weights / weights.sum())
        out = np.empty((batch, length), dtype=np.int64)
        for i, j in enumerate(pick):
            o, n = eligible[j]
            s = o + int(rng.integers(0, n - length + 1))
            out[i] = self.codes[s:s + length]
        return out + 7  # codes -> token ids (A=7 ... N=11)

    def windows(self, length, max_bases):
        """Deterministic evaluation windows: every genome tiled at an even stride, at most
        max_bases in all (shared fairly between genomes)."""
        by_genome = {}
        for g, o, n in self.records:
            by_genome.setdefault(g, []).append((o, n))
        per_genome = max_bases // max(1, len(by_genome))
        out = []
        for g, recs in sorted(by_genome.items()):
            starts = [(o + s, o) for o, n in recs for s in range(0, n - length + 1, length)]
            if not starts:
                continue
            step = max(1, len(starts) * length // per_genome)
            for s, _ in starts[::step][: max(1, per_genome // length)]:
                out.append((g, self.codes[s:s + length].astype(np.int64) + 7))
        return out


def mask_batch(ids, gen, rate=0.15, mask_only=False):
    """BERT masking over A/C/G/T positions: returns (inputs, targets with -100 elsewhere).
    mask_only (evaluation): every chosen position becomes [MASK], so no answer is visible."""
    is_base = (ids >= 7) & (ids <= 10)
    chosen = (torch.rand(ids.shape, generator=gen, device=ids.device) < rate) & is_base
    targets = torch.where(chosen, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=gen, device=ids.device)
    inputs = ids.clone()
    if mask_only:
        inputs[chosen] = MASK_ID
        return inputs, targets
    inputs[chosen & (r < 0.8)] = MASK_ID
    rand_sel = chosen & (r >= 0.8) & (r < 0.9)
    inputs[rand_sel] = torch.randint(7, 11, ids.shape, generator=gen, device=ids.device)[rand_sel]
    return inputs, targets


def rc_ids(ids, complement):
    return complement[ids.flip(-1)]


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model, split, device, length=4096, max_bases=2_000_000, batch=8, seed=1234, chunk=64):
    """Masked-position accuracy and bits per base (A/C/G/T renormalised), overall and per genome."""
    model.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    wins = split.windows(length, max_bases)
    stats = {}
    for i in range(0, len(wins), batch):
        group = wins[i:i + batch]
        ids = torch.from_numpy(np.stack([w for _, w in group])).to(device)
        inputs, targets = mask_batch(ids, gen, mask_only=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            hidden = model(inputs, chunk=chunk)
        logits = model.logits(hidden.float())[..., 7:11]  # A C G T, renormalised
        logp = F.log_softmax(logits, -1)
        sel = targets >= 0
        t = (targets - 7).clamp(min=0)
        nll = -logp.gather(-1, t.unsqueeze(-1)).squeeze(-1)
        correct = logp.argmax(-1) == t
        for j, (genome, _) in enumerate(group):
            s = stats.setdefault(genome, [0.0, 0, 0])
            s[0] += nll[j][sel[j]].sum().item()
            s[1] += int(correct[j][sel[j]].sum().item())
            s[2] += int(sel[j].sum().item())
    model.train()
    tot = [sum(s[k] for s in stats.values()) for k in range(3)]
    per = {g: {"bits_per_base": s[0] / s[2] / math.log(2), "accuracy": s[1] / s[2], "masked": s[2]}
           for g, s in sorted(stats.items())}
    return {"bits_per_base": tot[0] / tot[2] / math.log(2), "accuracy": tot[1] / tot[2], "masked": tot[2],
            "windows": len(wins), "window": length, "per_genome": per}


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def cmd_train(a):
    global SCAN
    SCAN = a.scan
    torch.manual_seed(a.seed)
    device = torch.device(a.device if a.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    os.makedirs(a.run, exist_ok=True)
    state_path = os.path.join(a.run, "state.pt")
    spec = model_spec(a.variant, a.d_model, a.n_layer, a.d_state)
    model = Caduceus(spec, a.seed).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    step, log, best, train_seconds = 0, [], None, 0.0
    rng = np.random.default_rng(a.seed)
    gen = torch.Generator(device=device).manual_seed(a.seed)
    if os.path.exists(state_path):
        st = torch.load(state_path, map_location=device, weights_only=False)
        if st["args"]["variant"] != a.variant or st["spec"] != spec:
            raise SystemExit(f"{state_path}: a run of another model ({st['spec']}); use another --run")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, log, best, train_seconds = st["step"], st["log"], st["best"], st["train_seconds"]
        rng.bit_generator.state = st["rng"]
        gen.set_state(st["gen"].cpu())  # generator states are CPU byte tensors, whatever the device
        print(f"resumed {a.run} at step {step} ({train_seconds / 60:.1f} min trained)", flush=True)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {a.variant} d_model {a.d_model} n_layer {a.n_layer} d_state {a.d_state}: {params:,} parameters; "
          f"device {device}", flush=True)
    train = Split(a.corpus, "train")
    val = Split(a.corpus, "val")
    print(f"corpus: train {len(train.codes):,} bases, val {len(val.codes):,}", flush=True)

    def save(best_now):
        st = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "log": log, "best": best,
              "train_seconds": train_seconds, "rng": rng.bit_generator.state, "gen": gen.get_state(),
              "args": vars(a), "spec": spec}
        torch.save(st, state_path + ".part")
        os.replace(state_path + ".part", state_path)
        if best_now:
            torch.save({"model": model.state_dict(), "spec": spec, "step": step, "val": best},
                       os.path.join(a.run, "best.pt.part"))
            os.replace(os.path.join(a.run, "best.pt.part"), os.path.join(a.run, "best.pt"))

    def validate():  # evaluate on val, log, keep the best, save the state
        nonlocal best
        ev = evaluate(model, val, device, a.length, a.eval_bases, chunk=a.chunk)
        ev.pop("per_genome")
        ev["step"] = step
        log.append({"step": step, "val": ev})
        better = best is None or ev["bits_per_base"] < best["bits_per_base"]
        if better:
            best = ev
        save(better)
        return ev, better

    start = time.time()
    last_eval = time.time()
    tokens = 0
    model.train()
    while step < a.total_steps and time.time() - start < a.minutes * 60:
        t0 = time.time()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.total_steps, a.lr, a.warmup)
        ids = torch.from_numpy(train.sample(rng, a.batch, a.length)).to(device)
        if a.variant == "ph":  # post-hoc RC model: reverse-complement augmentation
            flip = torch.from_numpy(rng.random(a.batch) < 0.5).to(device)
            ids = torch.where(flip.unsqueeze(1), rc_ids(ids, model.complement), ids)
        inputs, targets = mask_batch(ids, gen)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            hidden = model(inputs, chunk=a.chunk, checkpoint=a.checkpoint)
        logits = model.logits(hidden.float())
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += ids.numel()
        train_seconds += time.time() - t0
        if step % a.log_every == 0:
            lv = loss.item()
            print(f"step {step} loss {lv:.4f} ({lv / math.log(2):.3f} bits) gnorm {gnorm:.2f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"{tokens / (time.time() - start):,.0f} tok/s"
                  + (f", peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if device.type == "cuda" else ""), flush=True)
            log.append({"step": step, "loss": lv, "seconds": round(train_seconds, 1)})
        if time.time() - last_eval > a.eval_minutes * 60 or step == a.total_steps:
            ev, better = validate()
            print(f"  val step {step}: {ev['bits_per_base']:.4f} bits/base, accuracy {ev['accuracy']:.4f}"
                  f"{' (best)' if better else ''}", flush=True)
            last_eval = time.time()
    ev, _ = validate()
    print(f"stopped at step {step}: val {ev['bits_per_base']:.4f} bits/base, accuracy {ev['accuracy']:.4f}; "
          f"best {best['bits_per_base']:.4f} at step {best['step']}; {train_seconds / 60:.1f} min trained", flush=True)


def load_best(run, device):
    st = torch.load(os.path.join(run, "best.pt"), map_location=device, weights_only=False)
    model = Caduceus(st["spec"], 0).to(device)
    model.load_state_dict(st["model"])
    return model, st


def cmd_eval(a):
    device = torch.device(a.device if a.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    model, st = load_best(a.run, device)
    res = evaluate(model, Split(a.corpus, a.split), device, a.length, a.eval_bases, chunk=a.chunk)
    res["split"], res["step"] = a.split, st["step"]
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


def cmd_export(a):
    model, st = load_best(a.run, torch.device("cpu"))
    state = torch.load(os.path.join(a.run, "state.pt"), map_location="cpu", weights_only=False)
    extra = {"step": st["step"], "val": st["val"], "train_minutes": round(state["train_seconds"] / 60, 1),
             "args": {k: v for k, v in state["args"].items() if k not in ("device",)}}
    export_checkpoint(model, a.out, extra)
    # the exported file, read back by the reference reader, gives this code's forward pass
    m = ref.load_checkpoint(a.out)
    ids = torch.randint(7, 12, (1, 300), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        mine = model(ids)[0]
    theirs = ref.forward(ids[0], m)
    err = ((mine - theirs).norm() / theirs.norm()).item()
    print(f"exported {a.out}: reference forward of the export vs this code: {err:.2e} relative")
    if err > 1e-5:
        raise SystemExit("export check failed")


def cmd_golden(a):
    """Expected outputs of this code's forward pass (fp32, CPU) for dnamba's golden test."""
    from safetensors.torch import save_file
    m = ref.load_checkpoint(a.model)
    spec = model_spec("ps" if m["cfg"]["rcps"] else "ph", m["embedding"].shape[1], len(m["layers"]),
                      m["layers"][0]["fwd"]["A_log"].shape[1])
    model = Caduceus(spec, 0)
    with torch.no_grad():  # load the exported weights into this code's modules
        model.embedding.copy_(m["embedding"])
        model.norm_f.copy_(m["norm_f"]["weight"])
        for layer, lr in zip(model.layers, m["layers"]):
            layer.norm_weight.copy_(lr["norm"]["weight"])
            layer.in_proj.copy_(lr["fwd"]["in_proj.weight"])
            layer.out_proj.copy_(lr["fwd"]["out_proj.weight"])
            for core, p in ((layer.fwd, lr["fwd"]), (layer.rev, lr["rev"])):
                core.conv_weight.copy_(p["conv1d.weight"])
                core.conv_bias.copy_(p["conv1d.bias"])
                core.x_proj.copy_(p["x_proj.weight"])
                core.dt_proj_weight.copy_(p["dt_proj.weight"])
                core.dt_proj_bias.copy_(p["dt_proj.bias"])
                core.A_log.copy_(p["A_log"])
                core.D.copy_(p["D"])
    out = {}
    for name, seq in ref.read_fasta(a.fasta):
        ids = ref.tokenize(seq)
        with torch.no_grad():
            h = model(ids.unsqueeze(0))[0]
            out[f"ids.{name}"] = ids.to(torch.int32)
            out[f"hidden.{name}"] = h.contiguous()
            if len(seq) <= 1000:
                out[f"logits.{name}"] = model.logits(h).contiguous()
    save_file(out, a.out)
    print(f"wrote {a.out}: {len(out)} tensors")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train or resume a run")
    t.add_argument("--corpus", required=True, help="folder from prepare_corpus.py")
    t.add_argument("--run", required=True, help="run folder (state.pt, best.pt); resumed when present")
    t.add_argument("--variant", choices=["ps", "ph"], default="ps", help="ps: RC-equivariant; ph: RC augmentation")
    t.add_argument("--d-model", type=int, default=128)
    t.add_argument("--n-layer", type=int, default=8)
    t.add_argument("--d-state", type=int, default=16)
    t.add_argument("--length", type=int, default=4096, help="context (bases per window)")
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--weight-decay", type=float, default=0.1)
    t.add_argument("--warmup", type=int, default=200)
    t.add_argument("--total-steps", type=int, default=6000, help="length of the schedule (over all resumes)")
    t.add_argument("--minutes", type=float, default=9.0, help="stop this call after this long (then resume)")
    t.add_argument("--eval-minutes", type=float, default=3.0)
    t.add_argument("--eval-bases", type=int, default=1_000_000)
    t.add_argument("--chunk", type=int, default=64, help="scan chunk (memory vs passes)")
    t.add_argument("--checkpoint", action="store_true", help="recompute each layer in the backward pass")
    t.add_argument("--scan", choices=["triton", "torch"], default="triton",
                   help="on CUDA: the fused Triton scan, or the chunked PyTorch scan (much more memory)")
    t.add_argument("--log-every", type=int, default=25)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")
    e = sub.add_parser("eval", help="masked accuracy and bits per base of a run's best checkpoint")
    e.add_argument("--corpus", required=True)
    e.add_argument("--run", required=True)
    e.add_argument("--split", default="test")
    e.add_argument("--length", type=int, default=4096)
    e.add_argument("--eval-bases", type=int, default=6_000_000)
    e.add_argument("--chunk", type=int, default=64)
    e.add_argument("--device", default="auto")
    e.add_argument("--out", help="JSON file for the results")
    x = sub.add_parser("export", help="config.json + model.safetensors of a run's best checkpoint")
    x.add_argument("--run", required=True)
    x.add_argument("--out", required=True)
    gd = sub.add_parser("golden", help="expected hidden states/logits of this code on a FASTA")
    gd.add_argument("--model", required=True, help="an exported model folder")
    gd.add_argument("--fasta", required=True)
    gd.add_argument("--out", required=True)
    a = p.parse_args(argv)
    {"train": cmd_train, "eval": cmd_eval, "export": cmd_export, "golden": cmd_golden}[a.cmd](a)


if __name__ == "__main__":
    main(sys.argv[1:])
