#!/usr/bin/env bash
# Settings changes rerun what they change (issue #17): each option a rule passes to dnamba is a
# Snakemake `params:` of that rule (and the model/head/VCF files are inputs), so Snakemake's
# rerun triggers redo the affected jobs after a config change instead of keeping stale results.
# The genome workflow (embed, lambda phage): an unchanged rerun does nothing; `pool` changed
# reruns the shards but not the plan; `window`/`stride` changed rerun the plan and the shards;
# each result equals one `dnamba embed` run with the new settings. The variants workflow (vep
# fixture): `window` changed reruns the shards, equal to one `dnamba vep` run.
source "$(dirname "$0")/lib.sh"
require_pipeline_tools
W=$(work_dir rerun)
gzip -dc "$LAMBDA_FA_GZ" > "$W/lambda.fa"

nothing_to_do() {  # nothing_to_do WORKFLOW CONFIG WHAT: a rerun runs no job
    run_snakemake "$1" "$2" --cores 2 > "$W/noop.log" 2>&1 || { tail -30 "$W/noop.log"; fail "$3: rerun failed"; }
    grep -q "Nothing to be done" "$W/noop.log" || { tail -30 "$W/noop.log"; fail "$3: an unchanged rerun ran jobs"; }
    echo "ok: $3: unchanged rerun does nothing"
}
mtimes() { stat -c '%n %Y' "$@"; }

cat > "$W/a.yaml" <<YAML
fasta: $LAMBDA_FA_GZ
model: $MODEL
dnamba: $DNAMBA
mode: embed
window: 1000
stride: 1000
pool: mean
rc: none
format: tsv
device: cpu
shard_bases: 12000
threads: 1
outdir: $W/out
YAML
run_snakemake genome "$W/a.yaml" --cores 2 -q > "$W/run1.log" 2>&1 || { tail -30 "$W/run1.log"; fail "first run failed"; }
cp "$W/out/embeddings.tsv" "$W/run1.tsv"
"$DNAMBA" embed --device cpu -m "$MODEL" -i "$W/lambda.fa" --window 1000 --stride 1000 --pool mean -q -o "$W/single1.tsv"
same_file "$W/out/embeddings.tsv" "$W/single1.tsv" "embeddings.tsv (window 1000, pool mean)"
sleep 1
nothing_to_do genome "$W/a.yaml" "genome"

# pool: the shards and everything after them rerun, the plan does not
sed 's/^pool: mean$/pool: max/' "$W/a.yaml" > "$W/b.yaml"
mtimes "$W/out/plan.tsv" > "$W/plan.mtime"
run_snakemake genome "$W/b.yaml" --cores 2 > "$W/run2.log" 2>&1 || { tail -30 "$W/run2.log"; fail "rerun after pool change failed"; }
grep -q "rule shard:" "$W/run2.log" || { tail -30 "$W/run2.log"; fail "pool changed but no shard reran"; }
mtimes "$W/out/plan.tsv" | cmp -s - "$W/plan.mtime" || fail "pool changed and the plan was rewritten"
! cmp -s "$W/out/embeddings.tsv" "$W/run1.tsv" || fail "pool changed but embeddings.tsv did not"
"$DNAMBA" embed --device cpu -m "$MODEL" -i "$W/lambda.fa" --window 1000 --stride 1000 --pool max -q -o "$W/single2.tsv"
same_file "$W/out/embeddings.tsv" "$W/single2.tsv" "embeddings.tsv after pool mean -> max"
# the report records what made the outputs
grep -qx $'dnamba_version\tdnamba [0-9.]*' "$W/out/report/summary.tsv" || fail "summary.tsv: no dnamba_version"
want=$(/usr/bin/python3 -c 'import hashlib, sys
h = hashlib.sha256()
for n in ("config.json", "model.safetensors"):
    h.update(n.encode() + b"\0" + open(sys.argv[1] + "/" + n, "rb").read() + b"\0")
print(h.hexdigest())' "$MODEL")
grep -qx $'model_sha256\t'"$want" "$W/out/report/summary.tsv" || fail "summary.tsv: no or wrong model_sha256"
grep -q -- "| options | \`embed .*--pool max" "$W/out/report/summary.md" || fail "summary.md: no options"
echo "ok: report provenance (version, model fingerprint, options)"
sleep 1
nothing_to_do genome "$W/b.yaml" "genome after pool change"

# window and stride: the plan and the shards rerun
sed -e 's/^window: 1000$/window: 800/' -e 's/^stride: 1000$/stride: 800/' "$W/b.yaml" > "$W/c.yaml"
run_snakemake genome "$W/c.yaml" --cores 2 > "$W/run3.log" 2>&1 || { tail -30 "$W/run3.log"; fail "rerun after window change failed"; }
grep -q "checkpoint plan:" "$W/run3.log" || { tail -30 "$W/run3.log"; fail "window changed but the plan did not rerun"; }
"$DNAMBA" embed --device cpu -m "$MODEL" -i "$W/lambda.fa" --window 800 --stride 800 --pool max -q -o "$W/single3.tsv"
same_file "$W/out/embeddings.tsv" "$W/single3.tsv" "embeddings.tsv after window 1000 -> 800"
sleep 1
nothing_to_do genome "$W/c.yaml" "genome after window change"

# variants: window
M=$REPO/testdata/golden/a_caduceus_ph
cp "$REPO/testdata/vep/genome.fa" "$W/genome.fa"
"$DNAMBA" vep --device cpu -q -m "$M" -i "$W/genome.fa" --vcf "$REPO/testdata/vep/variants.vcf" --scores emb-l2 \
    --window 16 -o "$W/variants.vcf.gz"
cat > "$W/v1.yaml" <<YAML
fasta: $W/genome.fa
vcf: $W/variants.vcf.gz
model: $M
dnamba: $DNAMBA
window: 64
scores: llr,emb-l2
rc: none
device: cpu
shard_bases: 100
threads: 1
output_format: tsv
outdir: $W/vout
YAML
run_snakemake variants "$W/v1.yaml" --cores 2 -q > "$W/vrun1.log" 2>&1 || { tail -30 "$W/vrun1.log"; fail "variants run failed"; }
cp "$W/vout/scored.tsv" "$W/vrun1.tsv"
sleep 1
nothing_to_do variants "$W/v1.yaml" "variants"
sed 's/^window: 64$/window: 32/' "$W/v1.yaml" > "$W/v2.yaml"
run_snakemake variants "$W/v2.yaml" --cores 2 > "$W/vrun2.log" 2>&1 || { tail -30 "$W/vrun2.log"; fail "variants rerun failed"; }
grep -q "rule shard:" "$W/vrun2.log" || { tail -30 "$W/vrun2.log"; fail "window changed but no variants shard reran"; }
! cmp -s "$W/vout/scored.tsv" "$W/vrun1.tsv" || fail "window changed but scored.tsv did not"
"$DNAMBA" vep --device cpu -q -m "$M" -i "$W/genome.fa" --vcf "$W/variants.vcf.gz" --window 32 --scores llr,emb-l2 \
    -o "$W/vsingle.tsv"
same_file "$W/vout/scored.tsv" "$W/vsingle.tsv" "scored.tsv after window 64 -> 32"
sleep 1
nothing_to_do variants "$W/v2.yaml" "variants after window change"
echo "PASS rerun"
