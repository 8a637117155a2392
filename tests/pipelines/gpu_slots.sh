#!/usr/bin/env bash
# GPU-aware shard scheduling without GPUs: pipelines/common/gpu_slot.sh gives concurrent jobs
# distinct cards (CUDA_VISIBLE_DEVICES) of a list, makes later ones wait for a free card, frees a
# card when its job dies, passes SLURM's own choice and the exit status through; the genome
# workflow with `device: cuda` puts every shard command behind it.
source "$(dirname "$0")/lib.sh"
require_pipeline_tools
W=$(work_dir gpu_slots)
SLOT=$REPO/pipelines/common/gpu_slot.sh
export DNAMBA_GPU_LOCK_DIR=$W/locks
unset CUDA_VISIBLE_DEVICES SLURM_JOB_ID

# 4 jobs over 2 cards: each records its card and its start and end times
for j in 1 2 3 4; do
    "$SLOT" --gpus 0,1 -- bash -c 'echo "$CUDA_VISIBLE_DEVICES $(date +%s.%N)" > "$0"; sleep 1.5; date +%s.%N >> "$0"' \
        "$W/job$j" &
done
wait
python3 - "$W" <<'PY' || fail "gpu_slot: jobs on one card overlapped, or a card went unused"
import sys
jobs = []
for j in range(1, 5):
    first, end = open(f"{sys.argv[1]}/job{j}").read().split("\n")[:2]
    card, start = first.split()
    jobs.append((card, float(start), float(end)))
assert sorted({c for c, _, _ in jobs}) == ["0", "1"], jobs
for i, a in enumerate(jobs):
    for b in jobs[i + 1:]:
        if a[0] == b[0]:
            assert a[2] <= b[1] or b[2] <= a[1], (a, b)
print("ok: 4 jobs on 2 cards, never two at once on one card:", [c for c, _, _ in jobs])
PY

# SLURM already chose the card (--gres=gpu:1): kept
[ "$(SLURM_JOB_ID=1 CUDA_VISIBLE_DEVICES=7 "$SLOT" -- printenv CUDA_VISIBLE_DEVICES)" = 7 ] || fail "gpu_slot: SLURM's card not kept"
# the inherited list is the choice without --gpus
[ "$(CUDA_VISIBLE_DEVICES=5,6 "$SLOT" -- printenv CUDA_VISIBLE_DEVICES)" = 5 ] || fail "gpu_slot: inherited list not used"
# the exit status passes through
set +e
"$SLOT" --gpus 0 -- bash -c 'exit 3'
rc=$?
set -e
[ $rc = 3 ] || fail "gpu_slot: exit status $rc, expected 3"
# no command: a usage error (exit 2), nothing run
set +e
"$SLOT" --gpus 0 -- 2> "$W/usage.err"
rc=$?
set -e
[ $rc = 2 ] && grep -q "^usage: gpu_slot.sh" "$W/usage.err" || fail "gpu_slot: no command should exit 2 with its usage (got $rc)"
set +e
"$SLOT" --gpus 2> "$W/usage2.err"
rc=$?
set -e
[ $rc = 2 ] && grep -q "^usage: gpu_slot.sh" "$W/usage2.err" || fail "gpu_slot: --gpus without a list should exit 2 (got $rc)"
# a job killed outright frees its card
"$SLOT" --gpus 0 -- sleep 60 &
holder=$!
sleep 0.5
kill -9 $holder
wait $holder 2> /dev/null || true
card=$(timeout 10 "$SLOT" --gpus 0 -- printenv CUDA_VISIBLE_DEVICES) || fail "gpu_slot: card 0 not freed by a killed job"
[ "$card" = 0 ] || fail "gpu_slot: got card '$card' after the kill"
echo "ok: SLURM's card kept, inherited list used, exit status passed, a killed job's card freed"
if ! command -v nvidia-smi > /dev/null; then
    set +e
    "$SLOT" -- true 2> "$W/none.err"
    rc=$?
    set -e
    [ $rc = 5 ] && grep -q "no GPU to run on" "$W/none.err" || fail "gpu_slot: no GPU should exit 5 with a message (got $rc)"
fi

# the genome workflow, device cuda: every shard command runs behind gpu_slot.sh with the listed cards
gzip -dc "$LAMBDA_FA_GZ" > "$W/lambda.fa"
cat > "$W/cuda.yaml" <<YAML
fasta: $LAMBDA_FA_GZ
model: $MODEL
mode: embed
window: 2000
pool: mean
format: tsv
device: cuda
gpus: "0,1"
shard_bases: 10000
outdir: $W/cuda
YAML
run_snakemake genome "$W/cuda.yaml" --cores 2 -q --until plan
run_snakemake genome "$W/cuda.yaml" --cores 2 --resources gpu=2 -n -p > "$W/dry.txt" 2>&1 || { cat "$W/dry.txt" >&2; fail "dry run"; }
shards=$(tail -n +2 "$W/cuda/plan.tsv" | wc -l)
behind=$(grep -c "gpu_slot.sh --gpus 0,1 -- .* embed .* --device cuda " "$W/dry.txt" || true)
[ "$shards" -ge 3 ] && [ "$behind" = "$shards" ] || { cat "$W/dry.txt" >&2; fail "expected $shards shard commands behind gpu_slot.sh, found $behind"; }
echo "ok: $shards shard commands run behind gpu_slot.sh (--resources gpu=2: two at once, one card each)"
# a card named in the config (cuda:1) is used as given, not reassigned
sed -e 's/^device: cuda$/device: cuda:1/' "$W/cuda.yaml" > "$W/cuda1.yaml"
run_snakemake genome "$W/cuda1.yaml" --cores 2 -n -p > "$W/dry1.txt" 2>&1 || { cat "$W/dry1.txt" >&2; fail "dry run (cuda:1)"; }
grep -q -- "--device cuda:1 " "$W/dry1.txt" || { cat "$W/dry1.txt" >&2; fail "no shard command with --device cuda:1"; }
! grep -q "gpu_slot.sh" "$W/dry1.txt" || fail "device cuda:1: shard commands should not go through gpu_slot.sh"
echo "ok: device cuda:1 runs as given"
# the variants workflow takes the same placement (pipelines/common/gpu.smk; a dry run reads no VCF)
cat > "$W/vep.yaml" <<YAML
fasta: $W/lambda.fa
vcf: $REPO/testdata/vep/variants.vcf
model: $MODEL
device: cuda
gpus: "0,1"
shard_bases: 10000
outdir: $W/vep
YAML
run_snakemake variants "$W/vep.yaml" --cores 2 -q --until regions > "$W/vep-regions.txt" 2>&1 || { cat "$W/vep-regions.txt" >&2; fail "variants: regions"; }
run_snakemake variants "$W/vep.yaml" --cores 2 --resources gpu=2 -n -p > "$W/dry-vep.txt" 2>&1 || { cat "$W/dry-vep.txt" >&2; fail "variants dry run"; }
grep -q "gpu_slot.sh --gpus 0,1 -- .* vep " "$W/dry-vep.txt" || { cat "$W/dry-vep.txt" >&2; fail "variants: shard commands not behind gpu_slot.sh"; }
echo "ok: the variants workflow's shard commands run behind gpu_slot.sh"
