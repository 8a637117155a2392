# Shared by the pipeline tests (sourced): prerequisites, the lambda phage data from Debian's
# bowtie2-examples package, a trained head, and running Snakemake.
# A missing prerequisite skips the test (exit 77) unless DNAMBA_STRICT_TESTS=1 (CI), where it fails.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DNAMBA=${DNAMBA:-$REPO/build/dnamba}
# Single-run references use the CPU engine, as the workflows configs do (device: cpu): only
# the CPU engine merges byte for byte across shards; the GPU engine agrees within rounding.
MODEL=$REPO/testdata/models/tiny-caduceus
LAMBDA_FA_GZ=/usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz
LAMBDA_BAM_GZ=/usr/share/doc/bowtie2/examples/reads/combined_reads.bam.gz
SNAKEMAKE=${SNAKEMAKE:-snakemake}
export USER=${USER:-$(id -un)}  # Snakemake's SLURM executor needs it; unset on some machines

skip_or_fail() {
    if [ "${DNAMBA_STRICT_TESTS:-0}" = 1 ]; then
        echo "FAIL: $* (DNAMBA_STRICT_TESTS=1: CI must have it; run scripts/setup.sh --test)" >&2
        exit 1
    fi
    echo "SKIP: $* (scripts/setup.sh --test installs it)" >&2
    exit 77
}

require_pipeline_tools() {
    command -v "$SNAKEMAKE" >/dev/null || skip_or_fail "snakemake not installed"
    [ -x "$DNAMBA" ] || skip_or_fail "$DNAMBA not built"
    [ -r "$LAMBDA_FA_GZ" ] && [ -r "$LAMBDA_BAM_GZ" ] || skip_or_fail "bowtie2-examples (lambda phage genome and reads) not installed"
    /usr/bin/python3 -c 'import numpy, matplotlib' 2>/dev/null || skip_or_fail "python3-numpy/python3-matplotlib not installed"
}

# A fresh work folder under the build tree, named after the test.
work_dir() {
    local d=$REPO/build/tests/tmp/pipeline_$1
    rm -rf "$d"
    mkdir -p "$d"
    echo "$d"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

same_file() {  # same_file GOT WANT WHAT
    cmp -s "$1" "$2" || { diff <(head -c 2000 "$1") <(head -c 2000 "$2") | head -20 >&2 || true; fail "$3: $1 differs from $2"; }
    echo "ok: $3 ($(wc -c < "$1") bytes identical)"
}

# A head that tells the two arms of lambda apart (left 0-24 kb, right 24-48.5 kb: the left
# arm is richer in GC), from 500-bp windows, with the tiny model's embeddings.
train_lambda_head() {  # train_lambda_head DIR -> DIR/arms.head
    local d=$1
    gzip -dc "$LAMBDA_FA_GZ" > "$d/lambda-train.fa"
    local chrom
    chrom=$(head -1 "$d/lambda-train.fa" | cut -c2- | cut -d' ' -f1)
    awk -v c="$chrom" 'BEGIN { for (s = 0; s + 500 <= 48500; s += 500) print c "\t" s "\t" s + 500 "\t" (s < 24000 ? "left" : "right") }' \
        > "$d/arms.bed"
    "$DNAMBA" train-head --device cpu -m "$MODEL" -i "$d/lambda-train.fa" --regions "$d/arms.bed" --folds 3 -q -o "$d/arms.head"
}

# run_snakemake WORKFLOW CONFIG [more snakemake options...]: runs in the config's folder, so
# that Snakemake's .snakemake/ state stays out of the repository and concurrent tests apart.
run_snakemake() {
    local workflow=$1 cfg=$2
    shift 2
    (cd "$(dirname "$cfg")" && "$SNAKEMAKE" -s "$REPO/pipelines/$workflow/Snakefile" --configfile "$cfg" "$@")
}
