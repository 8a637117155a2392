#!/usr/bin/env bash
# The GPU benchmark series behind README.md's Performance section (run on the GPU machine after
# `scripts/gpu.sh build`): the scan alone, the caduceus-131k preset in bf16 and fp32 from 1 knt to
# 16 Mnt (mean-pooled on the device: the scaling series), per-position outputs at 131k and 1M,
# fp32 at 1M as one chunk, and many short inputs through caduceus-1k. Every `dnamba bench` line
# is also appended to OUT_DIR/bench.tsv (preset, engine, length, count, median s, nt/s, peak
# device bytes, peak RSS bytes), which scripts/plot_scaling.py turns into the scaling plot.
#   scripts/bench_gpu.sh [OUT_DIR (default bench-out)]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-out}
mkdir -p "$out"
B=${BUILD_DIR:-build-gpu}
export LD_LIBRARY_PATH=${DEPS_PREFIX:-/opt/deps}/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
tsv=$out/bench.tsv
: > "$tsv"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
run() { echo "+ $*"; "$@" 2>&1 | grep -Ev '^(run [0-9]|checksum)'; }

for dtype in bf16 fp32; do
    for L in 131072 1048576; do run "$B/tests/dnamba_bench_scan" "$L" 512 16 20 0 "$dtype"; done
done
small=1024,4096,16384,65536,131072,262144,1048576,4194304
run "$B/dnamba" bench --device cuda --precision bf16 --pooled --lengths "$small" --warmup 1 --repeat 5 --tsv "$tsv"
run "$B/dnamba" bench --device cuda --precision bf16 --pooled --length 16777216 --warmup 1 --repeat 2 --tsv "$tsv"
run "$B/dnamba" bench --device cuda --precision fp32 --pooled --lengths "$small" --warmup 1 --repeat 3 --tsv "$tsv"
run "$B/dnamba" bench --device cuda --precision fp32 --pooled --length 16777216 --warmup 0 --repeat 1 --tsv "$tsv"
# per-position outputs (copied to the host), the default plan and fp32 as one chunk
run "$B/dnamba" bench --device cuda --precision bf16 --lengths 131072,1048576 --warmup 1 --repeat 5 --tsv "$tsv"
run "$B/dnamba" bench --device cuda --precision fp32 --lengths 131072,1048576 --warmup 1 --repeat 3 --tsv "$tsv"
run "$B/dnamba" bench --device cuda --precision fp32 --pooled --length 1048576 --chunk-rows 1048576 --warmup 1 --repeat 3 --tsv "$tsv"
run "$B/dnamba" bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 0 --repeat 1 --stages
# many short inputs: 65,536 x 1,000 nt through caduceus-1k, against one long sequence
run "$B/dnamba" bench --device cuda --precision bf16 --pooled --preset caduceus-1k --length 1000 --count 65536 \
    --batch-tokens 1048576 --warmup 1 --repeat 3 --tsv "$tsv"
run "$B/dnamba" bench --device cuda --precision bf16 --pooled --preset caduceus-1k --lengths 1048576,16777216 \
    --warmup 1 --repeat 3 --tsv "$tsv"
