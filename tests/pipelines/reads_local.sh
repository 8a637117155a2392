#!/usr/bin/env bash
# The reads workflow on this machine over 26,000 lambda phage reads (an unaligned BAM from
# bowtie2-examples), sharded by read count: the merged per-read embeddings equal one run.
source "$(dirname "$0")/lib.sh"
require_pipeline_tools
W=$(work_dir reads_local)
gzip -dc "$LAMBDA_BAM_GZ" > "$W/reads.bam"
cat > "$W/reads.yaml" <<YAML
reads: $W/reads.bam
model: $MODEL
mode: embed
pool: max
format: tsv
device: cpu
shard_reads: 5000
threads: 1
outdir: $W/out
YAML
run_snakemake reads "$W/reads.yaml" --cores 2 -q
[ "$(tail -n +2 "$W/out/plan.tsv" | wc -l)" = 6 ] || fail "expected 6 shards of about 5000 reads"
awk -F'\t' 'NR > 1 && $4 > 5000 { exit 1 }' "$W/out/plan.tsv" || fail "a shard has more than 5000 reads"
"$DNAMBA" embed --device cpu -m "$MODEL" -i "$W/reads.bam" --pool max -q -o "$W/single.tsv"
same_file "$W/out/embeddings.tsv" "$W/single.tsv" "embeddings.tsv"
[ "$(($(grep -vc '^#dnamba' "$W/out/embeddings.tsv") - 1))" = 26000 ] || fail "expected 26000 reads"
[ -s "$W/out/report/pca.png" ] || fail "no PCA plot"
echo "PASS reads_local"
