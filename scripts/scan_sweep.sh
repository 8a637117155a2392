#!/usr/bin/env bash
# On the GPU machine, after scripts/gpu.sh build: the chunked scan's chunk-length sweep and the
# time of each of its kernels (ncu), for kernels/PERF_NOTES.md. bench_compare.sh runs it as EXTRA.
#   scripts/scan_sweep.sh [BUILD_DIR]      (SWEEP=0: the ncu times only)
set -uo pipefail
cd "$(dirname "$0")/.."
B=${1:-${BUILD_DIR:-build-gpu}}
export LD_LIBRARY_PATH=${DEPS_PREFIX:-/opt/deps}/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
S=$B/tests/dnamba_bench_scan
[ "${SWEEP:-1}" = 1 ] && for dt in bf16 fp32; do
    for L in 131072 1048576; do
        if [ "$L" = 131072 ]; then chunks="0 128 166 199 249 331 497 663 994"; else chunks="0 530 795 1060 1324 1589 2118 3177"; fi
        for c in $chunks; do "$S" "$L" 512 16 20 "$c" "$dt" chunked | sed 's/^/sweep /'; done
    done
done
# each kernel's time: the scan's three at 131k and 1M (bf16), and one 131k forward's kernels
if command -v ncu > /dev/null; then
    for L in 131072 1048576; do
        timeout 120 ncu --metrics gpu__time_duration.sum --kernel-name regex:scan "$S" "$L" 512 16 1 0 bf16 chunked 2>&1 |
            grep -E 'scan_pass|scan_carry|gpu__time_duration' | sed "s/^/ncu L=$L /" | head -12
    done
    timeout 150 ncu --metrics gpu__time_duration.sum --launch-skip 0 --launch-count 30 \
        "$B/dnamba" bench --device cuda --precision bf16 --pooled --length 131072 --warmup 0 --repeat 1 -q 2>&1 |
        grep -E '^  [a-zA-Z_].*\(|gpu__time_duration' | sed 's/^/ncu fwd131k /' | head -60
fi
