#!/usr/bin/env bash
# The variants workflow on this machine (Snakemake --cores 2) over the vep fixture
# (testdata/vep: two contigs, ten records incl. multi-allelic, indels, symbolic, a REF mismatch)
# cut into 5 shards of 100 bases: the merged, bgzipped and indexed VCF (output_format vcf, the
# default) and the merged table (output_format tsv) equal one `dnamba vep` run: the VCF's
# records, INFO values and header line for line, the table byte for byte.
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
write_config() {  # write_config FILE OUTDIR [more keys...]
    local cfg=$1 out=$2
    shift 2
    cat > "$cfg" <<YAML
fasta: $W/genome.fa
vcf: $W/variants.vcf.gz
model: $M
window: 64
scores: masked-llr,llr,emb-l2
rc: average
device: cpu
shard_bases: 100
threads: 1
outdir: $out
YAML
    for kv in "$@"; do echo "$kv" >> "$cfg"; done
}
VEP=(--device cpu -q -m "$M" -i "$W/genome.fa" --vcf "$W/variants.vcf.gz" --window 64 --scores masked-llr,llr,emb-l2 --rc average)

# the default: the annotated VCF
write_config "$W/vep.yaml" "$W/out"
run_snakemake variants "$W/vep.yaml" --cores 2 -q
[ "$(wc -l < "$W/out/regions.tsv")" = 5 ] || fail "expected 5 shards"
[ -s "$W/out/scored.vcf.gz.tbi" ] || fail "no index beside scored.vcf.gz"
[ ! -e "$W/out/scored.tsv" ] || fail "output_format vcf wrote a table too"
"$DNAMBA" vep "${VEP[@]}" -o "$W/single.vcf.gz"
gzip -dc "$W/out/scored.vcf.gz" > "$W/merged.vcf"
gzip -dc "$W/single.vcf.gz" > "$W/single.vcf"
[ "$(grep -vc '^#' "$W/merged.vcf")" = 10 ] || fail "merged VCF: expected the fixture's 10 records"
# every scored ALT has its values: 8 records with DNAMBA_EMB_L2 (not the symbolic-only one or
# the REF mismatch), 6 with a masked-llr value (the SNV records)
[ "$(grep -v '^#' "$W/merged.vcf" | grep -c 'DNAMBA_EMB_L2=[-0-9]')" = 8 ] || fail "merged VCF: DNAMBA_EMB_L2 missing"
[ "$(grep -v '^#' "$W/merged.vcf" | grep -c 'DNAMBA_MASKED_LLR=[-0-9]')" = 6 ] || fail "merged VCF: DNAMBA_MASKED_LLR missing"
grep -q '^##dnamba_vep_window=64$' "$W/merged.vcf" || fail "merged VCF: no ##dnamba_vep_window header line"
same_file "$W/merged.vcf" "$W/single.vcf" "scored.vcf.gz, decompressed"

# output_format tsv: the table
write_config "$W/tsv.yaml" "$W/out-tsv" "output_format: tsv"
run_snakemake variants "$W/tsv.yaml" --cores 2 -q
"$DNAMBA" vep "${VEP[@]}" -o "$W/single.tsv"
[ "$(wc -l < "$W/single.tsv")" = 13 ] || fail "single run: expected 12 rows"
same_file "$W/out-tsv/scored.tsv" "$W/single.tsv" "scored.tsv"
