#!/usr/bin/env bash
# scan_delta's two kernels side by side on the GPU machine, for bench_compare.sh's PRE (after the
# build, with OUT set) or on its own after `scripts/gpu.sh` has built build-gpu/:
#   PRE='bash scripts/gpu_ab_delta.sh' TESTS=1 PHASE=dnamba scripts/bench_compare.sh /tmp/bc
# 1. the scan_delta [gpu] test with the tensor-core kernel (the bf16 default) and with the FMA
#    kernel (DNAMBA_DELTA=simt); if the tensor-core one fails, bench.env in OUT says
#    DNAMBA_DELTA=simt so that the benchmarks after it time a correct engine;
# 2. an in-run A/B, two rounds of (simt, tc): the stages at 1 Mnt bf16 and the forward at 1 Mnt
#    and 131k;
# 3. ncu on one 131k-row scan_delta launch with each kernel;
# 4. compute-sanitizer memcheck and racecheck on the scan_delta test.
# Logs go to OUT (gate-delta-*.log, ncu-delta-*.txt, san-delta-*.log); the summary to stdout.
# (Sessions 11 and 12 ran it as .deps/s11pre.sh; docs/perf/bench-h100-2026-12-07-s12.log.)
set -u
export PATH=/usr/local/cuda/bin:$PATH
OUT=${OUT:-bench-out}; mkdir -p "$OUT"
B=build-gpu; T=$B/tests/dnamba_tests
stamp() { echo "[$(date +%T)] $*"; }
stamp "gate: scan_delta test, tensor cores (default) and simt"
timeout 150 $T "cuda ops: the scan's delta*" > $OUT/gate-delta-tc.log 2>&1; tc=$?
echo "delta test, tensor cores: rc=$tc $(grep -E 'All tests passed|test cases' $OUT/gate-delta-tc.log | tail -1)"
[ $tc = 0 ] || grep -E -B5 -A12 "FAILED" $OUT/gate-delta-tc.log | head -60
DNAMBA_DELTA=simt timeout 150 $T "cuda ops: the scan's delta*" > $OUT/gate-delta-simt.log 2>&1
echo "delta test, simt: rc=$? $(grep -E 'All tests passed|test cases' $OUT/gate-delta-simt.log | tail -1)"
if [ $tc != 0 ]; then echo "DNAMBA_DELTA=simt" > $OUT/bench.env; echo "TENSOR-CORE DELTA FAILED: benchmarks run with simt"; fi
b() { $B/dnamba bench --device cuda --pooled "$@" 2>&1 | grep median; }
st() { $B/dnamba bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 1 --stages 2>&1 | grep -E '^stage (x_proj|selective|conv|in_proj)' | tr -s ' ' | tr '\n' ';'; echo; }
$B/dnamba bench --device cuda --precision bf16 --pooled --length 131072 --repeat 1 -q > /dev/null 2>&1
stamp "A/B (simt, tc, simt, tc)"
for round in 1 2; do
  for k in simt tc; do
    if [ $k = simt ]; then export DNAMBA_DELTA=simt; else unset DNAMBA_DELTA; fi
    echo "$k stages: $(st)"
    echo "$k 1 Mnt bf16: $(b --precision bf16 --length 1048576 --warmup 1 --repeat 5)"
    echo "$k 131k bf16: $(b --precision bf16 --length 131072 --warmup 1 --repeat 5)"
  done
done
unset DNAMBA_DELTA
stamp "ncu: scan_delta (tc and simt), one 131k-row launch each"
for k in tc simt; do
  if [ $k = simt ]; then export DNAMBA_DELTA=simt; else unset DNAMBA_DELTA; fi
  timeout 90 ncu -k regex:scan_delta -c 1 --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy --section LaunchStats \
    $B/dnamba bench --device cuda --precision bf16 --pooled --length 131072 --warmup 0 --repeat 1 > $OUT/ncu-delta-$k.txt 2>&1
  echo "$k: $(grep -E 'Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|Memory Throughput' $OUT/ncu-delta-$k.txt | tr -s ' ' | tr '\n' ';')"
done
unset DNAMBA_DELTA
stamp "compute-sanitizer on the tensor-core delta kernel"
for tool in memcheck racecheck; do
  timeout 150 compute-sanitizer --tool $tool --print-limit 5 $T "cuda ops: the scan's delta*" > $OUT/san-delta-$tool.log 2>&1
  echo "delta $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $OUT/san-delta-$tool.log | tail -1) $(grep -E 'All tests passed|test cases' $OUT/san-delta-$tool.log | tail -1)"
done
stamp "pre done"
