#!/usr/bin/env bash
# compute-sanitizer memcheck and racecheck over the device kernels, on the GPU machine after
# scripts/gpu.sh build (issue #12: "compute-sanitizer memcheck and racecheck clean on the new
# kernels"). Each line printed is one run's verdict (its last line: "ERROR SUMMARY: 0 errors" or
# "RACECHECK SUMMARY: 0 hazards displayed ..."); the full logs go to OUT_DIR.
#   scripts/gpu_sanitize.sh [OUT_DIR]
# What runs: the scan alone (both kernels, both dtypes, a carried chunk length that leaves a
# short last chunk; the chunked one also adding to y), the scan's chunk test with memcheck
# (strided, in-place rows), the [gpu] kernel tests one op family at a time (the scan's delta, the
# conv, norms, GEMMs, gathers/combines/pooling), and two whole forwards of the CUDA engine (bf16,
# pooled; one chunk, whose reverse scan adds to y, and two chunks) with memcheck.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-sanitize-out}}
mkdir -p "$out"
B=${BUILD_DIR:-build-gpu}
export LD_LIBRARY_PATH=${DEPS_PREFIX:-/opt/deps}/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fails=0
run() {  # run NAME TOOL CMD...: one sanitizer run, its verdict line
    local name=$1 tool=$2
    shift 2
    local log="$out/$(tr -c 'A-Za-z0-9_.-' _ <<< "$name-$tool").log"
    timeout 300 compute-sanitizer --tool "$tool" --print-limit 5 "$@" > "$log" 2>&1
    local rc=$? verdict
    verdict=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$log" | tail -1)
    grep -qE '(ERROR SUMMARY: 0 errors|RACECHECK SUMMARY: 0 hazards)' <<< "$verdict" && [ $rc = 0 ] || fails=$((fails + 1))
    echo "$name $tool: exit $rc, ${verdict:-no summary (see $log)}"
}
for tool in memcheck racecheck; do
    for dt in bf16 fp32; do
        for how in "97 $dt chunked" "0 $dt one-pass 4" "0 $dt one-pass 8"; do
            run "scan 5000x64 $how" $tool "$B/tests/dnamba_bench_scan" 5000 64 16 1 $how
        done
        # y += (the one-chunk bidirectional add: the output pass's ACC kernels)
        run "scan 5000x64 97 $dt chunked y+=" $tool "$B/tests/dnamba_bench_scan" 5000 64 16 1 97 $dt chunked 0 acc
    done
    for t in "cuda ops: the scan's delta*" "cuda: conv1d*" "cuda: fused residual*" "cuda ops: GEMMs*" \
             "cuda ops: embedding gather*"; do
        run "$t" $tool "$B/tests/dnamba_tests" "$t"
    done
done
# the scan's strided, in-place form (delta and y rows 2 d_inner apart, y over z: the engine's
# shared chunk arrays) against global memory; its shared-memory use is the contiguous form's, which
# racecheck covers above through dnamba_bench_scan
run "cuda: the scan in chunks*" memcheck "$B/tests/dnamba_tests" "cuda: the scan in chunks*"
run "forward bf16 1 chunk" memcheck "$B/dnamba" bench --device cuda --precision bf16 --pooled --length 70001 --repeat 1 -q
run "forward bf16 2 chunks" memcheck "$B/dnamba" bench --device cuda --precision bf16 --pooled --length 300000 \
    --chunk-rows 131072 --repeat 1 -q
echo "gpu_sanitize: $fails run(s) not clean"
[ $fails = 0 ]
