# session 16 call 1: build HEAD (+ a no-layout-cache copy and the session-15 scan-variants copy in
# the background); [gpu] tests; the layout cache A/B; stages with the host share; the variants sweep
set -u
export PATH=/usr/local/cuda/bin:$PATH
R=/tmp/r16; rm -rf $R; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee $R/device.txt
copy_to() { rm -rf $1 && mkdir -p $1 && tar --exclude=./build-gpu --exclude=./.stack --exclude=./build -cf - . | tar -xf - -C $1; }
( copy_to /tmp/var && cd /tmp/var && git apply docs/wip/session15-scan-variants.patch &&
  DEPS_PREFIX=/opt/deps-var BUILD_TARGETS="dnamba_cli dnamba_bench_scan" timeout 420 bash scripts/gpu.sh build > $R/var-build.log 2>&1
  echo "var build rc=$? [$(date +%T)]" > $R/var-build.rc ) &
( copy_to /tmp/nc && cd /tmp/nc && sed -i 's/if (!lengths.empty() \&\& lengths == layout_lengths_) return;/\/\/ no layout cache (A\/B)/' lib/src/cuda/engine_cuda.cpp &&
  grep -c "no layout cache" lib/src/cuda/engine_cuda.cpp > $R/nc-sed.txt &&
  DEPS_PREFIX=/opt/deps-nc BUILD_TARGETS="dnamba_cli" timeout 420 bash scripts/gpu.sh build > $R/nc-build.log 2>&1
  echo "nc build rc=$? [$(date +%T)]" > $R/nc-build.rc ) &
echo "[$(date +%T)] build"
BUILD_TARGETS="dnamba_cli dnamba_bench_scan dnamba_tests" timeout 400 bash scripts/gpu.sh build > $R/build.log 2>&1; echo "build rc=$? [$(date +%T)]"; tail -3 $R/build.log
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu
timeout 150 build-gpu/tests/dnamba_tests "[gpu]" > $R/gpu-tests.log 2>&1
echo "[$(date +%T)] [gpu] tests: exit $? ($(grep -E 'All tests passed|test cases' $R/gpu-tests.log | tail -1))"
grep -B5 -A25 "FAILED" $R/gpu-tests.log | head -60
for i in $(seq 60); do [ -f $R/nc-build.rc ] && break; sleep 5; done; cat $R/nc-build.rc $R/nc-sed.txt 2>/dev/null
b() { "$1/dnamba" bench --device cuda --precision bf16 --pooled --warmup 1 "${@:2}" 2>&1 | grep -E '^median' | cut -c1-16; }
echo "[$(date +%T)] layout cache A/B"
for r in 1 2; do for t in nocache cache; do
  B=build-gpu; [ $t = nocache ] && B=/tmp/nc/build-gpu
  echo "$t: 1k 1M $(b $B --preset caduceus-1k --length 1048576 --repeat 7) | 131k 1M $(b $B --length 1048576 --repeat 5) | 131k $(b $B --length 131072 --repeat 9) | 512x1k $(b $B --length 1000 --count 512 --batch-tokens 512000 --repeat 5)"
done; done 2>&1 | tee $R/layout-ab.log
echo "[$(date +%T)] stages"
for p in caduceus-1k caduceus-131k; do echo "== $p 1M"; timeout 60 build-gpu/dnamba bench --device cuda --precision bf16 --pooled --preset $p --length 1048576 --warmup 1 --repeat 1 --stages 2>&1 | grep -E '^stage|^median'; done | tee $R/stages.log
echo "[$(date +%T)] ncu of one 1k-shape forward, 262144 nt (4 layers: every kernel of a 131k-shape layer at its engine chunk)"
timeout 120 ncu --section SpeedOfLight --section Occupancy --section LaunchStats -c 45 build-gpu/dnamba bench --device cuda --precision bf16 --pooled --preset caduceus-1k --length 262144 --warmup 0 --repeat 1 > $R/ncu-fwd.txt 2>&1
grep -E "^  [a-z_A-Z].*\(|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\) Th|Achieved Occupancy|Registers Per" $R/ncu-fwd.txt | tr -s ' ' | cut -c1-110 | head -250 > $R/ncu-fwd-short.txt; wc -l $R/ncu-fwd-short.txt
for i in $(seq 60); do [ -f $R/var-build.rc ] && break; sleep 5; done; cat $R/var-build.rc
V=/tmp/var/build-gpu
if [ -x $V/dnamba ]; then
echo "[$(date +%T)] variants"
for r in 1 2; do
  for vm in "base 8" "base 7" "base 6" "base 5" "acc 8" "acc 6" "pairs 8" "pairs 6"; do
    set -- $vm
    export DNAMBA_SCAN_VARIANT=$1 DNAMBA_SCAN_SUM_MB=$2
    a=$($V/tests/dnamba_bench_scan 1048576 512 16 20 0 bf16 auto | grep -oE 'median [0-9.]+')
    c=$($V/tests/dnamba_bench_scan 1048576 512 16 20 0 fp32 auto | grep -oE 'median [0-9.]+')
    f=$(b $V --length 1048576 --repeat 5)
    echo "round $r variant $1 sum_mb $2: scan bf16 1M $a | fp32 1M $c ms | fwd 1M bf16 $f"
  done
done 2>&1 | tee $R/variants.log
unset DNAMBA_SCAN_VARIANT DNAMBA_SCAN_SUM_MB
for v in base pairs; do
  DNAMBA_SCAN_VARIANT=$v timeout 60 ncu -k regex:scan_pass -c 2 --section SpeedOfLight --section WarpStateStats \
    --section InstructionStats --section SchedulerStats $V/tests/dnamba_bench_scan 131072 512 16 1 0 bf16 auto > $R/ncu-$v.txt 2>&1
  echo "== ncu $v"; grep -E "scan_pass|Duration|Issued Warp|No Eligible|Eligible Warps|Stall|Executed Ipc" $R/ncu-$v.txt | tr -s ' ' | head -30
done
else tail -20 $R/var-build.log; fi
echo "[$(date +%T)] done"
cd $R && tar czf $OUT/r16.tgz .
