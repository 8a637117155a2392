#!/usr/bin/env bash
# The variants workflow on this machine (Snakemake --cores 2) over the vep fixture
# (testdata/vep: two contigs, ten records incl. multi-allelic, indels, symbolic, a REF mismatch)
# cut into 5 shards of 100 bases: the merged table equals one `dnamba vep` run byte for byte.
source "$(dirname "$0")/lib.sh"
command -v "$SNAKEMAKE" >/dev/null || skip_or_fail "snakemake not installed"
[ -x "$DNAMBA" ] || skip_or_fail "$DNAMBA not built"
W=$(work_dir variants_local)
M=$REPO/testdata/golden/a_caduceus_ph
cp "$REPO/testdata/vep/genome.fa" "$W/genome.fa"
# a bgzipped, indexed copy of the fixture (dnamba writes .vcf.gz + .tbi)
"$DNAMBA" vep --device cpu -q -m "$M" -i "$W/genome.fa" --vcf "$REPO/testdata/vep/variants.vcf" --scores emb-l2 \
    --window 16 -o "$W/variants.vcf.gz"
[ -s "$W/variants.vcf.gz.tbi" ] || fail "no index written"
cat > "$W/vep.yaml" <<YAML
fasta: $W/genome.fa
vcf: $W/variants.vcf.gz
model: $M
window: 64
scores: masked-llr,llr,emb-l2
rc: average
device: cpu
shard_bases: 100
threads: 1
outdir: $W/out
YAML
run_snakemake variants "$W/vep.yaml" --cores 2 -q
[ "$(wc -l < "$W/out/regions.tsv")" = 5 ] || fail "expected 5 shards"
"$DNAMBA" vep --device cpu -q -m "$M" -i "$W/genome.fa" --vcf "$W/variants.vcf.gz" --window 64 \
    --scores masked-llr,llr,emb-l2 --rc average -o "$W/single.tsv"
[ "$(wc -l < "$W/single.tsv")" = 13 ] || fail "single run: expected 12 rows"
same_file "$W/out/scored.tsv" "$W/single.tsv" "scored.tsv"
