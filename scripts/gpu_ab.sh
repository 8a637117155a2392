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
# scan: the chunked scan with dt_proj inside its first pass (the default) against scan_delta
#   first (DNAMBA_DELTA=separate), and the polynomial exp2's share of the states in each pass
#   (DNAMBA_SCAN_POLY=S,O, kernels/scan.cu): the scan [gpu] tests with the defaults, with
#   DNAMBA_DELTA=separate and the largest shares, and with the fused pass's largest; the conv test; the scan
#   alone (1 Mnt, bf16 and fp32) over (S, O) pairs; two rounds of the 1 Mnt bf16 forward over the
#   engine's configurations, then stages and 131k for the fastest and for the session-12 one
#   (separate, no polynomial); ncu on one 131k launch of the conv and of each scan pass. If the
#   tests passed, bench.env gets the fastest configuration. scan-sanitize: compute-sanitizer
#   memcheck and racecheck on a short forward of the engine in bf16 and fp32 (apart, so that
#   each fits the device tool's 10-minute calls).
# Logs go to OUT (gate-*.log, ncu-*.txt, san-*.log); the summary to stdout.
set -u
export PATH=/usr/local/cuda/bin:$PATH
mode=${1:?usage: gpu_ab.sh delta|gemm|scan|scan-sanitize}
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
scan)
    S=$B/tests/dnamba_bench_scan
    stamp "gate: the scan and conv tests (defaults; DNAMBA_DELTA=separate; the largest polynomial shares)"
    rc=0
    i=0
    tests="cuda: the*scan*,cuda: where the one-pass*"
    for cfg in "" "DNAMBA_DELTA=separate DNAMBA_SCAN_POLY=4,3" "DNAMBA_SCAN_POLY=2,3"; do
        i=$((i + 1))
        env $cfg timeout 200 $T "$tests" > "$OUT/gate-scan-$i.log" 2>&1
        r=$?
        echo "scan tests ${cfg:-(defaults)}: rc=$r $(passed "$OUT/gate-scan-$i.log")"
        [ $r = 0 ] || { rc=1; grep -E -B8 -A14 "FAILED" "$OUT/gate-scan-$i.log" | head -50; }
        tests="cuda: the scan with dt_proj*,cuda: the scan in chunks*"  # the others: the tests of what they change
    done
    timeout 100 $T "cuda: conv1d*" > "$OUT/gate-conv.log" 2>&1
    echo "conv test: rc=$? $(passed "$OUT/gate-conv.log")"
    stamp "scan alone, 1 Mnt, median of 20 (DNAMBA_SCAN_POLY=S,O)"
    for so in 0,0 2,0 4,0 0,1 0,2 0,3 2,1 4,1 2,2 4,2 4,3; do
        echo "bf16 $so: $(DNAMBA_SCAN_POLY=$so $S 1048576 512 16 20 0 bf16 chunked | grep -oE 'median [0-9.]+ ms')"
    done
    for so in 0,0 2,1 4,1 4,2; do
        echo "fp32 $so: $(DNAMBA_SCAN_POLY=$so $S 1048576 512 16 20 0 fp32 chunked | grep -oE 'median [0-9.]+ ms')"
    done
    stamp "engine, 1 Mnt bf16 forward (seconds, median of 5), two rounds"
    configs="separate:0,0 separate:2,1 fused:0,0 fused:1,1 fused:2,1 fused:0,2 fused:1,2 fused:2,2"
    : > "$OUT/ab-scan.tsv"
    for round in 1 2; do
        for c in $configs; do
            if [ "${c%%:*}" = separate ]; then export DNAMBA_DELTA=separate; else unset DNAMBA_DELTA; fi
            export DNAMBA_SCAN_POLY=${c#*:}
            m=$(b --precision bf16 --length 1048576 --warmup 1 --repeat 5)
            echo "$c $m"
            printf '%s\t%s\n' "$c" "$m" >> "$OUT/ab-scan.tsv"
        done
    done
    best=$(sort -k1,1 "$OUT/ab-scan.tsv" | awk '{ if ($1 != k) { if (k != "") print k, v; k = $1; v = $2 } else if ($2 > v) v = $2 }
        END { print k, v }' | sort -k2,2g | head -1 | cut -d' ' -f1)
    echo "fastest (by the slower of its two rounds): $best"
    for c in separate:0,0 "$best"; do
        if [ "${c%%:*}" = separate ]; then export DNAMBA_DELTA=separate; else unset DNAMBA_DELTA; fi
        export DNAMBA_SCAN_POLY=${c#*:}
        echo "$c stages: $(st 'x_proj|dt_proj|selective|conv')"
        echo "$c: 131k $(b --precision bf16 --length 131072 --warmup 1 --repeat 5); fp32 1 Mnt" \
             "$(b --precision fp32 --length 1048576 --warmup 1 --repeat 3)"
    done
    stamp "ncu: one 131k-row launch of the conv and of each scan pass (defaults)"
    unset DNAMBA_DELTA DNAMBA_SCAN_POLY
    for k in conv1d scan_pass; do
        timeout 90 ncu -k regex:$k -c 2 --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats \
            --section SchedulerStats --section Occupancy --section LaunchStats \
            $B/dnamba bench --device cuda --precision bf16 --pooled --length 131072 --warmup 0 --repeat 1 \
            > "$OUT/ncu-$k.txt" 2>&1
        grep -E 'scan_pass|conv1d|Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|Memory Throughput|Pipe' \
            "$OUT/ncu-$k.txt" | tr -s ' ' | cut -c1-150
    done
    if [ $rc = 0 ] && [ -n "$best" ]; then
        [ "${best%%:*}" = separate ] && echo "DNAMBA_DELTA=separate" >> "$OUT/bench.env"
        echo "DNAMBA_SCAN_POLY=${best#*:}" >> "$OUT/bench.env"
        echo "the benchmarks run with $best"
    else
        echo "DNAMBA_DELTA=separate" >> "$OUT/bench.env"
        echo "DNAMBA_SCAN_POLY=0,0" >> "$OUT/bench.env"
        echo "SCAN TESTS FAILED: the benchmarks run with DNAMBA_DELTA=separate DNAMBA_SCAN_POLY=0,0"
    fi
    ;;
scan-sanitize)  # the scan mode's sanitizer runs, apart (for bench_compare's EXTRA: the 10-minute limit)
    stamp "compute-sanitizer: a 2000-row forward, bf16 and fp32"
    for tool in memcheck racecheck; do
        for p in bf16 fp32; do
            timeout 75 compute-sanitizer --tool $tool --print-limit 5 $B/dnamba bench --device cuda --precision $p \
                --pooled --length 2000 --warmup 0 --repeat 1 > "$OUT/san-forward-$tool-$p.log" 2>&1
            echo "forward $p $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/san-forward-$tool-$p.log" | tail -1)"
        done
    done
    ;;
*)
    echo "gpu_ab.sh: unknown mode '$mode' (delta, gemm, scan or scan-sanitize)" >&2
    exit 2
    ;;
esac
stamp "pre done"
