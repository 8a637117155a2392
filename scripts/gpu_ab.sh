#!/usr/bin/env bash
# In-run A/B of a kernel choice that an environment variable switches, on the GPU machine: for
# bench_compare.sh's PRE (after the build, with OUT set) or on its own after `scripts/gpu.sh` has
# built build-gpu/:
#   PRE='bash scripts/gpu_ab.sh delta' TESTS=1 PHASE=dnamba scripts/bench_compare.sh /tmp/bc
#
# delta: scan_delta on the tensor cores (the bf16 default) against the FMA kernel
#   (DNAMBA_DELTA=simt): the scan_delta [gpu] test with each (if the tensor-core one fails,
#   bench.env says DNAMBA_DELTA=simt so that the benchmarks after it time a correct engine); two
#   rounds of (simt, tc): stages at 1 Mnt bf16, the forward at 1 Mnt and 131k; ncu on one
#   131k-row launch of each; compute-sanitizer memcheck and racecheck on the test.
#   (Sessions 11 and 12 ran it as .deps/s11pre.sh: docs/perf/bench-h100-2026-12-07-s12.log.)
# gemm: cuBLASLt's first heuristic algorithm against the fastest of its first eight
#   (DNAMBA_GEMM=tuned, kernels/gemm.cu): the GEMM and engine [gpu] tests with tuned plans and
#   memcheck on the GEMM test; the survey (every tuned plan's candidate times,
#   DNAMBA_GEMM_REPORT=1) for the 131k shape at 1 Mnt and 512 x 1k in bf16, 1 Mnt in fp32 and the
#   1k shape at 1 Mnt; two rounds of (heuristic, tuned): stages at 1 Mnt bf16, the forward at 1
#   Mnt, 131k and 512 x 1k in bf16 and 1 Mnt in fp32; if the tests passed and tuned won both
#   rounds at 1 Mnt bf16, bench.env says DNAMBA_GEMM=tuned.
# Logs go to OUT (gate-*.log, ncu-*.txt, san-*.log); the summary to stdout.
set -u
export PATH=/usr/local/cuda/bin:$PATH
mode=${1:?usage: gpu_ab.sh delta|gemm}
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
B=build-gpu
T=$B/tests/dnamba_tests
stamp() { echo "[$(date +%T)] $*"; }
passed() { grep -E 'All tests passed|test cases' "$1" | tail -1; }
# the median of a bench run, in seconds
b() { $B/dnamba bench --device cuda --pooled "$@" 2>&1 | grep median | awk '{print $2}'; }
# the named stages of one 1 Mnt bf16 forward, on one line
st() {
    $B/dnamba bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 1 --stages 2>&1 |
        grep -E "^stage ($1)" | tr -s ' ' | tr '\n' ';'
    echo
}

case $mode in
delta)
    stamp "gate: scan_delta test, tensor cores (default) and simt"
    timeout 150 $T "cuda ops: the scan's delta*" > "$OUT/gate-delta-tc.log" 2>&1; rc=$?
    echo "delta test, tensor cores: rc=$rc $(passed "$OUT/gate-delta-tc.log")"
    [ $rc = 0 ] || grep -E -B5 -A12 "FAILED" "$OUT/gate-delta-tc.log" | head -60
    DNAMBA_DELTA=simt timeout 150 $T "cuda ops: the scan's delta*" > "$OUT/gate-delta-simt.log" 2>&1
    echo "delta test, simt: rc=$? $(passed "$OUT/gate-delta-simt.log")"
    if [ $rc != 0 ]; then
        echo "DNAMBA_DELTA=simt" >> "$OUT/bench.env"
        echo "TENSOR-CORE DELTA FAILED: benchmarks run with simt"
    fi
    stamp "A/B (simt, tc) x 2: seconds, median of 5"
    for round in 1 2; do
        for k in simt tc; do
            if [ $k = simt ]; then export DNAMBA_DELTA=simt; else unset DNAMBA_DELTA; fi
            echo "$k stages: $(st 'x_proj|selective|conv|in_proj')"
            echo "$k: 1 Mnt bf16 $(b --precision bf16 --length 1048576 --warmup 1 --repeat 5);" \
                 "131k $(b --precision bf16 --length 131072 --warmup 1 --repeat 5)"
        done
    done
    unset DNAMBA_DELTA
    stamp "ncu: scan_delta (tc and simt), one 131k-row launch each"
    for k in tc simt; do
        if [ $k = simt ]; then export DNAMBA_DELTA=simt; else unset DNAMBA_DELTA; fi
        timeout 90 ncu -k regex:scan_delta -c 1 --section SpeedOfLight --section WarpStateStats \
            --section SchedulerStats --section Occupancy --section LaunchStats \
            $B/dnamba bench --device cuda --precision bf16 --pooled --length 131072 --warmup 0 --repeat 1 \
            > "$OUT/ncu-delta-$k.txt" 2>&1
        echo "$k: $(grep -E 'Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|Memory Throughput' \
            "$OUT/ncu-delta-$k.txt" | tr -s ' ' | tr '\n' ';')"
    done
    unset DNAMBA_DELTA
    stamp "compute-sanitizer on the tensor-core delta kernel"
    for tool in memcheck racecheck; do
        timeout 150 compute-sanitizer --tool $tool --print-limit 5 $T "cuda ops: the scan's delta*" \
            > "$OUT/san-delta-$tool.log" 2>&1
        echo "delta $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/san-delta-$tool.log" | tail -1)" \
             "$(passed "$OUT/san-delta-$tool.log")"
    done
    ;;
gemm)
    stamp "gate: GEMM and engine tests with DNAMBA_GEMM=tuned"
    DNAMBA_GEMM=tuned timeout 240 $T \
        "cuda ops: GEMMs*,cuda engine: golden*,cuda engine: awkward*,cuda engine: the full-width*" \
        > "$OUT/gate-gemm-tuned.log" 2>&1; rc=$?
    echo "tuned tests: rc=$rc $(passed "$OUT/gate-gemm-tuned.log")"
    [ $rc = 0 ] || grep -E -B5 -A12 "FAILED" "$OUT/gate-gemm-tuned.log" | head -60
    DNAMBA_GEMM=tuned timeout 150 compute-sanitizer --tool memcheck --print-limit 5 $T "cuda ops: GEMMs*" \
        > "$OUT/san-gemm-tuned.log" 2>&1
    echo "GEMM test memcheck (tuned): exit $? $(grep -E 'ERROR SUMMARY' "$OUT/san-gemm-tuned.log" | tail -1)"
    stamp "survey (microseconds a call per candidate, in the heuristic's order)"
    for args in "--precision bf16 --length 1048576" "--precision bf16 --length 1000 --count 512 --batch-tokens 512000" \
                "--precision fp32 --length 1048576" "--precision bf16 --preset caduceus-1k --length 1048576"; do
        echo "-- $args"
        DNAMBA_GEMM=tuned DNAMBA_GEMM_REPORT=1 $B/dnamba bench --device cuda --pooled $args --warmup 0 --repeat 1 2>&1 |
            grep "dnamba: gemm"
    done
    stamp "A/B (heuristic, tuned) x 2: seconds, median of 5 (fp32: 3)"
    wins=0
    for round in 1 2; do
        for k in heuristic tuned; do
            if [ $k = tuned ]; then export DNAMBA_GEMM=tuned; else unset DNAMBA_GEMM; fi
            echo "$k stages: $(st 'in_proj|x_proj|out_proj|selective')"
            m=$(b --precision bf16 --length 1048576 --warmup 1 --repeat 5)
            echo "$k: 1 Mnt bf16 $m; 131k $(b --precision bf16 --length 131072 --warmup 1 --repeat 5);" \
                 "512x1k $(b --precision bf16 --length 1000 --count 512 --batch-tokens 512000 --warmup 1 --repeat 5);" \
                 "fp32 1 Mnt $(b --precision fp32 --length 1048576 --warmup 1 --repeat 3)"
            if [ $k = heuristic ]; then
                h=$m
            elif awk -v t="$m" -v h="$h" 'BEGIN { exit !(t < h) }'; then
                wins=$((wins + 1))
            fi
        done
    done
    unset DNAMBA_GEMM
    if [ $rc = 0 ] && [ $wins = 2 ]; then
        echo "DNAMBA_GEMM=tuned" >> "$OUT/bench.env"
        echo "tuned won both rounds at 1 Mnt bf16: the benchmarks run with DNAMBA_GEMM=tuned"
    else
        echo "tuned: tests rc=$rc, won $wins of 2 rounds: the benchmarks run with the heuristic's choice"
    fi
    ;;
*)
    echo "gpu_ab.sh: unknown mode '$mode' (delta or gemm)" >&2
    exit 2
    ;;
esac
stamp "pre done"
