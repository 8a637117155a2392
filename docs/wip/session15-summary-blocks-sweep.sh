# session 15, prepared for the next lease (not run: no device time left): apply docs/wip/session15-summary-blocks-sweep.patch, carry .deps, run this; the summary pass's blocks an SM (DNAMBA_SCAN_SUM_MB 8 = landed, 7, 6, 5), scan alone and the forward
set -u
export PATH=/usr/local/cuda/bin:$PATH
rm -rf /tmp/bd; mkdir -p /tmp/bd
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
echo "[$(date +%T)] build"
BUILD_TARGETS="dnamba_cli dnamba_bench_scan" timeout 200 bash scripts/gpu.sh build > /tmp/bd/build.log 2>&1; echo "build rc=$? [$(date +%T)]"
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu
for r in 1 2; do for mb in 8 7 6 5; do
  export DNAMBA_SCAN_SUM_MB=$mb
  a=$(build-gpu/tests/dnamba_bench_scan 1048576 512 16 20 0 bf16 auto | grep -oE 'median [0-9.]+')
  b=$(build-gpu/tests/dnamba_bench_scan 131072 512 16 20 0 bf16 auto | grep -oE 'median [0-9.]+')
  c=$(build-gpu/tests/dnamba_bench_scan 1048576 512 16 20 0 fp32 auto | grep -oE 'median [0-9.]+')
  f=$(build-gpu/dnamba bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 5 2>&1 | grep -E '^median' | cut -c1-16)
  echo "sum_mb $mb: scan bf16 1M $a | 131k $b | fp32 1M $c | fwd 1M bf16 $f"
done; done 2>&1 | tee /tmp/bd/sweep.log
echo "[$(date +%T)] done"
cp /tmp/bd/sweep.log $OUT/
