#!/usr/bin/env bash
# Memory benchmark of the streaming input (issue: "embedding every 1 kb window of a 200 Mbp
# FASTA keeps peak RSS under 1 GB on the CPU path"). Generates a deterministic random genome
# (10 chromosomes, 60-column lines) once, embeds every 1,000-nt window with the bundled tiny
# model, and prints bases, rows, wall time, throughput and peak RSS.
#   scripts/bench_memory.sh [MBP (default 200)] [MODEL_DIR (default testdata/models/tiny-caduceus)]
set -euo pipefail
cd "$(dirname "$0")/.."
mbp=${1:-200}
model=${2:-testdata/models/tiny-caduceus}
work=${TMPDIR:-/tmp}/dnamba-bench-memory
mkdir -p "$work"
fa="$work/genome_${mbp}M.fa"
if [ ! -s "$fa" ]; then
    echo "generating $fa (${mbp} Mbp)" >&2
    python3 - "$fa" "$mbp" <<'PY'
import random, sys
path, mbp = sys.argv[1], int(sys.argv[2])
rng = random.Random(12345)
per = mbp * 1_000_000 // 10
with open(path + ".part", "w") as f:
    for c in range(10):
        f.write(f">chr{c + 1}\n")
        left = per
        while left:
            n = min(left, 60 * 10000)
            s = "".join(rng.choices("ACGT", k=n))
            f.write("\n".join(s[i:i + 60] for i in range(0, n, 60)) + "\n")
            left -= n
import os
os.replace(path + ".part", path)
PY
    rm -f "$fa.fai"
fi
out="$work/windows.tsv"
/usr/bin/time -v build/dnamba embed -m "$model" -i "$fa" --window 1000 -o "$out" 2>"$work/time.log"
rows=$(($(wc -l <"$out") - 1))
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.log")
wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$work/time.log")
grep '^dnamba embed' "$work/time.log" || true
echo "genome ${mbp} Mbp, ${rows} windows of 1000 nt, model ${model}"
echo "wall ${wall}, peak RSS $((rss_kb / 1024)) MiB"
