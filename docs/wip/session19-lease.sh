# For session 19's first lease (prepared in session 18, when no device time was left to run it):
# with .deps and the binaries of `scripts/gpu.sh prebuild` (built in /work/main) carried:
#   timeout 560 bash docs/wip/session19-lease.sh; tar czf $OUT/s19.tgz -C /tmp/n19 .
# 1. The segments scan (ce2d052 onward, opt-in with DNAMBA_SEGMENTS=1): its kernel test (which
#    forces it), the engine test on a batch of equal sequences with it on, the other scan tests;
# 2. the A/B on the batch workloads (512 x 1k in both shapes) with and without it, two rounds, and
#    the scan stage; the long single inputs as a check that nothing else moved;
# 3. the whole [gpu] suite; 4. ncu of conv_proj and the kernels it replaces (session18-c.sh's
#    step, never run) for its next version (PERF_NOTES entry 55).
# If 1 passes and 2 wins: make scan_segments_enabled() default on (DNAMBA_SEGMENTS=0 off) and
# run compute-sanitizer memcheck and racecheck on "cuda: the scan over whole segments*".
. docs/wip/session18-common.sh
R=/tmp/n19; rm -rf $R; mkdir -p $R
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee $R/device.txt
bash scripts/gpu.sh deps > $R/deps.log 2>&1; echo "deps rc=$? [$(date +%T)]"
tests build-gpu segments "cuda: the scan over whole segments*"
DNAMBA_SEGMENTS=1 tests build-gpu segments-auto "cuda: the scan over whole segments*"
DNAMBA_SEGMENTS=1 tests build-gpu engine-full "cuda engine: the full-width*"
bb() { b build-gpu --length 1000 --count 512 --batch-tokens 512000 --repeat 5 "$@"; }
echo "[$(date +%T)] A/B: without and with DNAMBA_SEGMENTS=1"
for r in 1 2; do
  echo "without: 512x1k $(bb) | 1k-shape 512x1k $(bb --preset caduceus-1k)"
  echo "with:    512x1k $(DNAMBA_SEGMENTS=1 bb) | 1k-shape 512x1k $(DNAMBA_SEGMENTS=1 bb --preset caduceus-1k)"
done | tee $R/ab.log
echo "with, 1M: $(DNAMBA_SEGMENTS=1 b build-gpu --length 1048576 --repeat 3) | 131k $(DNAMBA_SEGMENTS=1 b build-gpu --length 131072 --repeat 5)" | tee -a $R/ab.log
for L in 198000 512000; do  # the scan alone: one wave of 1,000-row sequences at d_inner 512, and 512 of them
  for how in "0 bf16 chunked" "1000 bf16 segments"; do build-gpu/tests/dnamba_bench_scan $L 512 16 20 $how; done
done | tee $R/scan-alone.log
for s in 0 1; do
  DNAMBA_SEGMENTS=$s timeout 60 build-gpu/dnamba bench --device cuda --precision bf16 --pooled --length 1000 --count 512 \
    --batch-tokens 512000 --warmup 1 --repeat 1 --stages 2>&1 | grep -E '^stage' | sed "s/^/segments $s: /" | tee -a $R/stages.log
done
DNAMBA_SEGMENTS=1 tests build-gpu scan "cuda: the sel*,cuda: the scan in*,cuda engine: awkward*"
tests build-gpu all "[gpu]"
R0=$R; NOTESTS=1 timeout 200 bash docs/wip/session18-c.sh > $R0/ncu.log 2>&1; cp -r /tmp/n18c $R0/ncu 2>/dev/null
echo "[$(date +%T)] done"
