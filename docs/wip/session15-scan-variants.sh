# Session 15 (prepared, not yet run): on the GPU machine, after `git apply docs/wip/session15-scan-variants.patch`,
# with .deps carried. One build; the chunked scan's variants at d_state 16 timed alternately in two rounds (scan alone
# at 1 Mnt and 131k in bf16, 1 Mnt in fp32, the 1 Mnt bf16 forward), then ncu's stall breakdown of the output pass
# (base against pairs) and the [gpu] tests under the fastest setting given as BEST (e.g. BEST="acc 6").
set -u
export PATH=/usr/local/cuda/bin:$PATH
out=${OUT:-/tmp/variants}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee "$out/device.txt"
echo "[$(date +%T)] build"
timeout 400 bash scripts/gpu.sh build > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
echo "[$(date +%T)] built"
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu
B=build-gpu
for r in 1 2; do
  for vm in "base 8" "base 7" "base 6" "base 5" "acc 8" "acc 6" "pairs 8" "pairs 6"; do
    set -- $vm
    export DNAMBA_SCAN_VARIANT=$1 DNAMBA_SCAN_SUM_MB=$2
    a=$($B/tests/dnamba_bench_scan 1048576 512 16 20 0 bf16 auto | grep -oE 'median [0-9.]+')
    b=$($B/tests/dnamba_bench_scan 131072 512 16 20 0 bf16 auto | grep -oE 'median [0-9.]+')
    c=$($B/tests/dnamba_bench_scan 1048576 512 16 20 0 fp32 auto | grep -oE 'median [0-9.]+')
    f=$($B/dnamba bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 5 2>&1 | grep -E '^median' | cut -c1-16)
    echo "round $r variant $1 sum_mb $2: scan bf16 1M $a | 131k $b | fp32 1M $c ms | fwd 1M bf16 $f"
  done
done 2>&1 | tee "$out/variants.log"
unset DNAMBA_SCAN_VARIANT DNAMBA_SCAN_SUM_MB
for v in base pairs; do
  DNAMBA_SCAN_VARIANT=$v timeout 90 ncu -k regex:scan_pass -c 2 --section SpeedOfLight --section WarpStateStats \
    --section InstructionStats --section SchedulerStats $B/tests/dnamba_bench_scan 131072 512 16 1 0 bf16 auto > "$out/ncu-$v.txt" 2>&1
  echo "== ncu $v"; grep -E "scan_pass|Duration|Issued Warp|No Eligible|Eligible Warps|Stall|Executed Ipc" "$out/ncu-$v.txt" | tr -s ' ' | head -30
done
if [ -n "${BEST:-}" ]; then
  set -- $BEST
  DNAMBA_SCAN_VARIANT=$1 DNAMBA_SCAN_SUM_MB=$2 timeout 200 $B/tests/dnamba_tests "[gpu]" > "$out/gpu-tests.log" 2>&1
  echo "[$(date +%T)] [gpu] tests ($BEST): exit $? ($(grep -E 'All tests passed|test cases' "$out/gpu-tests.log" | tail -1))"
fi
