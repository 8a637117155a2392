#!/usr/bin/env bash
# Issue #16's scaling measurement, on a machine with several GPUs (after scripts/gpu.sh build, or
# it builds): `dnamba embed` over a generated genome in 1 Mbp windows, mean-pooled, bf16, with
# 1, 2, 4, ... N GPUs in one process (--device cuda:0, cuda:0,1, ..., cuda:all), each run's rate and
# its ratio to N times the one-GPU rate (the target is >= 0.9). One line per run goes to
# OUT_DIR/multi-gpu.tsv (gpus, device, Mbp, seconds, Mbp/s, efficiency), the logs beside it.
#   scripts/bench_multi_gpu.sh [OUT_DIR (default $OUT or multi-gpu-out)]
# Environment: MBP (genome size, default 1000: 1 Gbp), WINDOW (default 1048576), PRECISION (bf16),
# DEVICES (space-separated --device values; default: cuda:0, then the first 2, 4, 8 GPUs up to all
# of them), DNAMBA (default build-gpu/dnamba, else build/dnamba). The checkpoint is the 131k
# preset's shape (d_model 256, 16 layers, Caduceus layout) with random weights, written by numpy
# (no PyTorch needed). A local smoke run: MBP=2 WINDOW=100000 PRECISION=fp32 DEVICES="cpu" ...
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-multi-gpu-out}}
mkdir -p "$out"
mbp=${MBP:-1000}
window=${WINDOW:-1048576}
precision=${PRECISION:-bf16}
dnamba=${DNAMBA:-}
if [ -z "$dnamba" ]; then
    if [ -x build-gpu/dnamba ]; then dnamba=build-gpu/dnamba
    elif [ -x build/dnamba ]; then dnamba=build/dnamba
    else scripts/gpu.sh build > "$out/build.log" 2>&1; dnamba=build-gpu/dnamba
    fi
fi
export LD_LIBRARY_PATH=${DEPS_PREFIX:-/opt/deps}/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
tmp=${TMPDIR:-/tmp}/dnamba-multi-gpu
mkdir -p "$tmp"

# the genome: 4 records of MBP/4 Mbp, 60-column lines
fa=$tmp/genome_${mbp}M.fa
[ -s "$fa" ] || python3 scripts/make_genome.py "$fa" "$mbp"

# the checkpoint: Caduceus layout of the caduceus-131k preset, random weights (numpy)
model=$tmp/caduceus-131k-random
[ -s "$model/model.safetensors" ] || python3 - "$model" <<'PY'
import json, os, struct, sys
import numpy as np
d, n_layer, n_state, d_conv, vocab = 256, 16, 16, 4, 12
di, rank = 2 * d, (256 + 15) // 16
rng = np.random.default_rng(0)
tensors = {"caduceus.backbone.embeddings.word_embeddings.weight": rng.normal(0, 0.02, (16, d))}
for l in range(n_layer):
    p = f"caduceus.backbone.layers.{l}."
    for m in ("mamba_fwd", "mamba_rev"):
        q = p + "mixer." + m + "."
        tensors[q + "A_log"] = np.log(np.tile(np.arange(1, n_state + 1, dtype=np.float64), (di, 1)))
        tensors[q + "D"] = np.ones(di)
        tensors[q + "conv1d.weight"] = rng.normal(0, 0.3, (di, 1, d_conv))
        tensors[q + "conv1d.bias"] = rng.normal(0, 0.02, di)
        tensors[q + "dt_proj.weight"] = rng.normal(0, rank ** -0.5, (di, rank))
        tensors[q + "dt_proj.bias"] = np.log(np.expm1(np.exp(rng.uniform(np.log(1e-3), np.log(0.1), di))))
        tensors[q + "x_proj.weight"] = rng.normal(0, di ** -0.5, (rank + 2 * n_state, di))
        if m == "mamba_fwd":  # tied: the reverse direction shares in_proj and out_proj
            tensors[q + "in_proj.weight"] = rng.normal(0, d ** -0.5, (2 * di, d))
            tensors[q + "out_proj.weight"] = rng.normal(0, di ** -0.5 / n_layer ** 0.5, (d, di))
    tensors[p + "norm.weight"] = np.ones(d)
tensors["caduceus.backbone.norm_f.weight"] = np.ones(d)
header, blobs, at = {}, [], 0
for name in sorted(tensors):
    a = np.ascontiguousarray(tensors[name], dtype="<f4")
    header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [at, at + a.nbytes]}
    blobs.append(a.tobytes())
    at += a.nbytes
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
os.makedirs(sys.argv[1], exist_ok=True)
with open(sys.argv[1] + "/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
config = {"model_type": "caduceus", "d_model": d, "n_layer": n_layer, "vocab_size": vocab,
          "ssm_cfg": {"d_state": n_state, "d_conv": d_conv, "expand": 2, "dt_rank": "auto", "conv_bias": True,
                      "bias": False},
          "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 8,
          "norm_epsilon": 1e-5, "bidirectional": True, "bidirectional_strategy": "add",
          "bidirectional_weight_tie": True, "rcps": False}
with open(sys.argv[1] + "/config.json", "w") as f:
    json.dump(config, f, indent=1)
PY

# the device lists: cuda:0, then the first 2, 4, 8 GPUs, up to all of them
if [ -z "${DEVICES:-}" ]; then
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
    [ "$gpus" -ge 1 ] || { echo "bench_multi_gpu: no GPU (nvidia-smi -L lists none); set DEVICES" >&2; exit 5; }
    DEVICES=cuda:0
    for n in 2 4 8; do
        [ "$n" -le "$gpus" ] || break
        DEVICES="$DEVICES cuda:$(seq -s, 0 $((n - 1)))"
    done
    [ "$gpus" -gt 1 ] && ! grep -qw "cuda:$(seq -s, 0 $((gpus - 1)))" <<< "$DEVICES" && DEVICES="$DEVICES cuda:all"
fi

tsv=$out/multi-gpu.tsv
printf 'gpus\tdevice\tMbp\tseconds\tMbp_per_s\tefficiency\n' > "$tsv"
one=
# a short warm-up run: the first GPU program of a fresh machine starts slowly
"$dnamba" embed -q -m "$model" -i "$fa" --region chr1:1-2000000 --window "$window" --device "${DEVICES%% *}" \
    --precision "$precision" -o "$tmp/warm.npy" > /dev/null 2>&1 || true
for dev in $DEVICES; do
    case "$dev" in
        cuda:all) n=$(nvidia-smi -L | grep -c '^GPU') ;;
        cuda:*) n=$(tr ',' '\n' <<< "${dev#cuda:}" | wc -l) ;;
        *) n=1 ;;
    esac
    log=$out/embed-$(tr ':,' '__' <<< "$dev").log
    start=$(date +%s.%N)
    "$dnamba" embed -m "$model" -i "$fa" --window "$window" --pool mean --device "$dev" --precision "$precision" \
        -o "$tmp/out.npy" > "$log" 2>&1
    end=$(date +%s.%N)
    rate=$(python3 -c "print(f'{$mbp / ($end - $start):.2f}')")
    [ -z "$one" ] && one=$rate
    eff=$(python3 -c "print(f'{$rate / ($n * $one):.3f}')")
    printf '%s\t%s\t%s\t%.1f\t%s\t%s\n' "$n" "$dev" "$mbp" "$(python3 -c "print($end - $start)")" "$rate" "$eff" | tee -a "$tsv"
done
rm -f "$tmp/out.npy" "$tmp/warm.npy"
