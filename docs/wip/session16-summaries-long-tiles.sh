# Session 16 (prepared, not yet run): on the GPU machine after `git apply docs/wip/session16-summaries-long-tiles.patch`
# (in a copy of the tree), .deps carried. One build; the summaries' tile length (DNAMBA_SCAN_SUM_T 1 = landed, 2 =
# twice) and blocks an SM (DNAMBA_SCAN_SUM_MB 5 = landed, 4) timed alternately in two rounds, then the
# [gpu] tests and the sanitizer's scan runs with the long tiles.
set -u
export PATH=/usr/local/cuda/bin:$PATH
out=${OUT:-/tmp/sumt}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee "$out/device.txt"
echo "[$(date +%T)] build"
timeout 300 bash scripts/gpu.sh build > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu
B=build-gpu
sc() { timeout 30 $B/tests/dnamba_bench_scan "$@" | grep -oE 'median [0-9.]+'; }
for r in 1 2; do
  for v in "1 5" "2 5" "1 4" "2 4"; do
    set -- $v
    export DNAMBA_SCAN_SUM_T=$1 DNAMBA_SCAN_SUM_MB=$2
    f=$(timeout 40 $B/dnamba bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 5 2>&1 | grep -E '^median' | cut -c1-16)
    echo "round $r sum_t $1 sum_mb $2: scan bf16 1M $(sc 1048576 512 16 20 0 bf16 auto) | 131k $(sc 131072 512 16 20 0 bf16 auto) | fp32 1M $(sc 1048576 512 16 10 0 fp32 auto) | fwd 1M bf16 $f"
  done
done 2>&1 | tee "$out/sum-tiles.log"
export DNAMBA_SCAN_SUM_T=2 DNAMBA_SCAN_SUM_MB=5
timeout 150 $B/tests/dnamba_tests "[gpu]" > "$out/gpu-tests.log" 2>&1
echo "[$(date +%T)] [gpu] tests with the long tiles: exit $? ($(grep -E 'All tests passed|test cases' "$out/gpu-tests.log" | tail -1))"
for tool in memcheck racecheck; do for dt in bf16 fp32; do
  timeout 60 compute-sanitizer --tool $tool --print-limit 5 $B/tests/dnamba_bench_scan 5000 64 16 1 97 $dt chunked > "$out/san-$dt-$tool.log" 2>&1
  echo "long tiles, scan 5000x64 97 $dt $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/san-$dt-$tool.log" | tail -1)"
done; done
echo "[$(date +%T)] done"
