#!/usr/bin/env bash
# The genome workflow on this machine (Snakemake --cores 2) over the lambda phage genome:
# embed (BED regions tiled into windows, NPY output) and classify (whole-genome windows,
# calls + bedGraph track) equal single `dnamba` runs byte for byte; the reports exist.
source "$(dirname "$0")/lib.sh"
require_pipeline_tools
W=$(work_dir genome_local)
gzip -dc "$LAMBDA_FA_GZ" > "$W/lambda.fa"
CHROM=$(head -1 "$W/lambda.fa" | cut -c2- | cut -d' ' -f1)
# regions on both strands, one longer than the shard size
printf '%s\t0\t5200\tcos_left\t0\t+\n%s\t9000\t21000\ttail_genes\t0\t-\n%s\t30000\t30500\tcI\t0\t-\n%s\t40000\t48502\tright_end\t0\t+\n' \
    "$CHROM" "$CHROM" "$CHROM" "$CHROM" > "$W/regions.bed"

cat > "$W/embed.yaml" <<YAML
fasta: $LAMBDA_FA_GZ
regions: $W/regions.bed
model: $MODEL
mode: embed
window: 2000
stride: 1500
pool: mean
rc: average
format: npy
device: cpu
shard_bases: 4000
threads: 1
outdir: $W/embed
YAML
run_snakemake genome "$W/embed.yaml" --cores 2 -q
[ "$(tail -n +2 "$W/embed/plan.tsv" | wc -l)" -ge 5 ] || fail "expected at least 5 shards"
"$DNAMBA" embed --device cpu -m "$MODEL" -i "$W/lambda.fa" --regions "$W/regions.bed" --window 2000 --stride 1500 --pool mean \
    --rc average -q -o "$W/single.npy"
same_file "$W/embed/embeddings.npy" "$W/single.npy" "embeddings.npy"
same_file "$W/embed/embeddings.names.tsv" "$W/single.names.tsv" "embeddings.names.tsv"
grep -q $'^rows\t' "$W/embed/report/summary.tsv" || fail "report summary has no rows line"
[ -s "$W/embed/report/pca.png" ] || fail "no PCA plot"

train_lambda_head "$W"
cat > "$W/classify.yaml" <<YAML
fasta: $LAMBDA_FA_GZ
model: $MODEL
mode: classify
head: $W/arms.head
class: left
window: 1000
stride: 500
track_format: bedgraph
device: cpu
shard_bases: 12000
threads: 1
outdir: $W/classify
YAML
run_snakemake genome "$W/classify.yaml" --cores 2 -q
"$DNAMBA" classify --device cpu -m "$MODEL" --head "$W/arms.head" -i "$W/lambda.fa" --window 1000 --stride 500 -q -o "$W/single.tsv"
"$DNAMBA" classify --device cpu -m "$MODEL" --head "$W/arms.head" -i "$W/lambda.fa" --window 1000 --stride 500 --class left -q \
    -o "$W/single.bedgraph"
same_file "$W/classify/calls.tsv" "$W/single.tsv" "calls.tsv"
same_file "$W/classify/track.bedgraph" "$W/single.bedgraph" "track.bedgraph"
[ -s "$W/classify/report/track.png" ] || fail "no track plot"
# the left arm is called left more often than the right arm
awk -F'\t' 'NR > 1 { if ($3 < 20000) { l += ($NF == "left"); nl++ } else if ($3 >= 28000) { r += ($NF == "left"); nr++ } }
            END { printf "left calls: %.2f of left-arm windows, %.2f of right-arm windows\n", l / nl, r / nr; exit !(l / nl > r / nr) }' \
    "$W/classify/calls.tsv" || fail "the head does not tell the arms apart"
# the report refuses a malformed table, naming it, and leaves no report behind
printf 'name\tchrom\tstart\tend\tstrand\tp_left\tp_right\tpredicted\nw0\tc\t0\t10\t+\t0.5\n' > "$W/bad-calls.tsv"
if /usr/bin/python3 "$REPO/pipelines/common/report.py" --mode classify --plan "$W/classify/plan.tsv" \
        --calls "$W/bad-calls.tsv" --outdir "$W/bad-report" 2> "$W/bad-report.err"; then
    fail "report.py accepted a ragged table"
fi
grep -q "bad-calls.tsv:2" "$W/bad-report.err" || { cat "$W/bad-report.err"; fail "report.py did not name the file and line"; }
! compgen -G "$W/bad-report/*" > /dev/null || fail "report.py left files after failing"
echo "PASS genome_local"
