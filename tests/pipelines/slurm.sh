#!/usr/bin/env bash
# The genome workflow through a real single-node SLURM (munge, slurmctld, slurmd brought up
# by scripts/slurm-local.sh and torn down at the end, stopping only what it started): every
# job is an sbatch job of the SLURM profile; the merged calls and track equal one run; then
# the failure/resume test through SLURM.
source "$(dirname "$0")/lib.sh"
require_pipeline_tools
[ "$(id -u)" = 0 ] || skip_or_fail "the single-node SLURM runs slurmd as root"
for tool in munged slurmctld slurmd sbatch; do
    command -v $tool >/dev/null || skip_or_fail "$tool not installed (slurmctld slurmd slurm-client munge)"
done
W=$(work_dir slurm)
BASE=/tmp/dnamba-slurm-test.$$  # short: slurmd's socket paths live under it
trap '"$REPO/scripts/slurm-local.sh" stop "$BASE" || true; rm -rf "$BASE"' EXIT
"$REPO/scripts/slurm-local.sh" start "$BASE"
eval "$("$REPO/scripts/slurm-local.sh" env "$BASE")"
sinfo

gzip -dc "$LAMBDA_FA_GZ" > "$W/lambda.fa"
train_lambda_head "$W"
cat > "$W/config.yaml" <<YAML
fasta: $LAMBDA_FA_GZ
model: $MODEL
mode: classify
head: $W/arms.head
window: 1000
stride: 500
track_format: bedgraph
device: cpu
shard_bases: 20000
threads: 2
mem_mb: 1000
runtime: 10
outdir: $W/out
YAML
jobs_before=$(wc -l < "$BASE/log/jobcomp.txt" 2>/dev/null || echo 0)
run_snakemake genome "$W/config.yaml" --profile "$REPO/pipelines/profiles/slurm" --jobs 4 --latency-wait 5 \
    > "$W/run.log" 2>&1 || { tail -60 "$W/run.log"; fail "the workflow failed under SLURM"; }
SHARDS=$(tail -n +2 "$W/out/plan.tsv" | wc -l)
jobs_after=$(wc -l < "$BASE/log/jobcomp.txt")
ran=$((jobs_after - jobs_before))
# index, plan, shards, merge, track, report: each one an sbatch job that completed
grep -c 'JobState=COMPLETED' "$BASE/log/jobcomp.txt" >/dev/null || fail "no completed SLURM jobs recorded"
[ "$ran" -ge $((SHARDS + 5)) ] || { cat "$BASE/log/jobcomp.txt"; fail "expected at least $((SHARDS + 5)) SLURM jobs, saw $ran"; }
echo "ok: $ran SLURM jobs for $SHARDS shards"
"$DNAMBA" classify --device cpu -m "$MODEL" --head "$W/arms.head" -i "$W/lambda.fa" --window 1000 --stride 500 -q -o "$W/single.tsv"
"$DNAMBA" classify --device cpu -m "$MODEL" --head "$W/arms.head" -i "$W/lambda.fa" --window 1000 --stride 500 -q -o "$W/single.bedgraph"
same_file "$W/out/calls.tsv" "$W/single.tsv" "calls.tsv (SLURM)"
same_file "$W/out/track.bedgraph" "$W/single.bedgraph" "track.bedgraph (SLURM)"
[ -s "$W/out/report/track.png" ] || fail "no track plot"

bash "$REPO/tests/pipelines/resume.sh" slurm
echo "PASS slurm"
