#!/usr/bin/env bash
# Failure and resume: one shard job is killed mid-write (SIGKILL, as the OOM killer or a
# SLURM time limit would), the run reports it, keeps the finished shards and leaves no final
# output; the rerun runs only the missing shard and the result equals one run.
#   resume.sh            on this machine (--cores 2)
#   resume.sh slurm      through the SLURM cluster of SLURM_CONF (see slurm.sh)
source "$(dirname "$0")/lib.sh"
require_pipeline_tools
EXECUTOR=${1:-local}
W=$(work_dir "resume_$EXECUTOR")
gzip -dc "$LAMBDA_FA_GZ" > "$W/lambda.fa"

# The plan is deterministic: the shard to kill is the third of the one the workflow will make.
"$DNAMBA" plan -i "$W/lambda.fa" --window 1000 --stride 1000 --shard-bases 6000 -q -o "$W/expected-plan.tsv"
KILL_ROW=$(awk -F'\t' '$1 == 2 { print $2 }' "$W/expected-plan.tsv")

# dnamba, except that the shard starting at row $KILL_ROW is killed mid-run while $W/kill
# exists: as soon as its (hidden, temporary) output file appears, before it can finish.
cat > "$W/flaky-dnamba" <<SH
#!/usr/bin/env bash
echo "\$*" >> "$W/calls.log"
if [ -e "$W/kill" ] && [[ " \$* " == *" --rows $KILL_ROW:"* ]]; then
    "$DNAMBA" "\$@" &
    child=\$!
    for i in \$(seq 500); do
        compgen -G "$W/out/shards/.shard-00002.tsv.tmp.*" > /dev/null && break
        sleep 0.01
    done
    kill -9 \$child
    echo "killed \$child" >> "$W/calls.log"
    kill -9 \$\$
fi
exec "$DNAMBA" "\$@"
SH
chmod +x "$W/flaky-dnamba"
touch "$W/kill"

cat > "$W/config.yaml" <<YAML
fasta: $LAMBDA_FA_GZ
model: $MODEL
dnamba: $W/flaky-dnamba
mode: embed
window: 1000
stride: 1000
format: tsv
device: cpu
shard_bases: 6000
threads: 1
mem_mb: 1000
runtime: 10
outdir: $W/out
YAML
if [ "$EXECUTOR" = slurm ]; then
    [ -n "${SLURM_CONF:-}" ] || fail "resume.sh slurm needs SLURM_CONF (run through slurm.sh)"
    RUN=(--profile "$REPO/pipelines/profiles/slurm" --jobs 4 --latency-wait 5)
else
    RUN=(--cores 2 --keep-going)
fi

echo "== first run: shard at row $KILL_ROW is killed"
set +e
run_snakemake genome "$W/config.yaml" "${RUN[@]}" > "$W/run1.log" 2>&1
code=$?
set -e
[ $code -ne 0 ] || fail "the first run succeeded although a shard was killed"
grep -q "Error in rule shard" "$W/run1.log" || { tail -40 "$W/run1.log"; fail "the failed shard is not reported"; }
same_file "$W/out/plan.tsv" "$W/expected-plan.tsv" "plan.tsv"
SHARDS=$(tail -n +2 "$W/out/plan.tsv" | wc -l)
BAD=$(awk -F'\t' -v r=$KILL_ROW '$2 == r { printf "shard-%05d", $1 }' "$W/out/plan.tsv")
[ -n "$BAD" ] || fail "no shard starts at row $KILL_ROW (plan changed?)"
grep -q "$BAD" "$W/run1.log" || fail "the report does not name $BAD"
grep -q '^killed' "$W/calls.log" || fail "the shard was not killed"
[ ! -e "$W/out/shards/$BAD.tsv" ] || fail "the killed shard left $BAD.tsv"
# dnamba never wrote the final name (Snakemake did not have to remove a partial file)
if grep -A3 "Removing output files of failed job shard" "$W/run1.log" | grep -q "$BAD.tsv"; then
    fail "a partial $BAD.tsv stood under its final name until Snakemake removed it"
fi
[ ! -e "$W/out/embeddings.tsv" ] || fail "a final output exists after a failed run"
kept=$(ls "$W/out/shards"/shard-*.tsv | wc -l)
[ "$kept" = $((SHARDS - 1)) ] || fail "expected $((SHARDS - 1)) finished shards kept, found $kept"
echo "ok: run 1 failed as expected, $kept of $SHARDS shards kept, $BAD missing"
stat -c '%n %Y' "$W/out/shards"/shard-*.tsv > "$W/kept.mtimes"
sleep 1

echo "== second run: only $BAD runs"
rm "$W/kill" "$W/calls.log"
run_snakemake genome "$W/config.yaml" "${RUN[@]}" > "$W/run2.log" 2>&1 || { tail -40 "$W/run2.log"; fail "the rerun failed"; }
embeds=$(grep -c '^embed ' "$W/calls.log" || true)
[ "$embeds" = 1 ] || { cat "$W/calls.log"; fail "the rerun ran $embeds embed jobs, expected 1"; }
grep -q -- "--rows $KILL_ROW:" "$W/calls.log" || fail "the rerun did not run the missing shard"
stat -c '%n %Y' $(cut -d' ' -f1 "$W/kept.mtimes") | cmp -s - "$W/kept.mtimes" || fail "finished shards were rewritten"
"$DNAMBA" embed --device cpu -m "$MODEL" -i "$W/lambda.fa" --window 1000 --stride 1000 -q -o "$W/single.tsv"
same_file "$W/out/embeddings.tsv" "$W/single.tsv" "embeddings.tsv after resume"
! compgen -G "$W/out/shards/.*tmp*" > /dev/null || fail "the rerun left the killed job's temporary file"
echo "PASS resume ($EXECUTOR)"
