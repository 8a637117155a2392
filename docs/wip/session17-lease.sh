# Session 17: one command on the GPU machine from the repository root, with .deps and the binaries
# of `scripts/gpu.sh prebuild` carried (build-gpu/dnamba, build-gpu/tests/dnamba_tests,
# build-gpu/tests/dnamba_bench_scan):
#   timeout 480 bash docs/wip/session17-lease.sh; tar czf $OUT/n.tgz -C /tmp/n17 .
# Prepared in session 17; no GPU could be started then, so none of it has run yet.
# 1. The tree (the fused conv + x_proj + dt_proj kernel, conv_proj.cu, opt-in with DNAMBA_FUSED=1):
#    the [gpu] tests (its kernel test runs it regardless), the engine tests with it on, then an
#    A/B of the fused kernel against the three kernels on the issue's bf16 workloads.
# 2. docs/wip/session17-s16-patch-on-fused.patch (session 16's staged y +=, conv prefetch and the
#    summaries' long-tile switch, its NS 64 build error mended) built beside it in the background:
#    its [gpu] tests, then the same workloads, with and without the long tiles.
# 3. compute-sanitizer memcheck and racecheck on conv_proj's test (after step 1), and on the patch's new scan paths.
set -u
export PATH=/usr/local/cuda/bin:$PATH
R=/tmp/n17; rm -rf $R; mkdir -p $R
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee $R/device.txt
( rm -rf /tmp/new && mkdir -p /tmp/new && tar --exclude=./build-gpu --exclude=./.stack --exclude=./build -cf - . | tar -xf - -C /tmp/new &&
  cd /tmp/new && git apply docs/wip/session17-s16-patch-on-fused.patch &&
  DEPS_PREFIX=/opt/deps-new BUILD_TARGETS="dnamba_cli dnamba_bench_scan dnamba_tests" timeout 300 bash scripts/gpu.sh build > $R/new-build.log 2>&1
  echo "patched build rc=$? [$(date +%T)]" > $R/new-build.rc ) &
bash scripts/gpu.sh deps > $R/deps.log 2>&1; echo "deps rc=$? [$(date +%T)]"
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu
tests() { local B=$1 name=$2; shift 2
  timeout 150 "$B/tests/dnamba_tests" "$@" > $R/$name-tests.log 2>&1
  echo "[$(date +%T)] $name tests: exit $? ($(grep -E 'All tests passed|test cases' $R/$name-tests.log | tail -1))"
  grep -B5 -A25 "FAILED" $R/$name-tests.log | head -60; }
b() { timeout 60 "$1/dnamba" bench --device cuda --precision bf16 --pooled --warmup 1 "${@:2}" 2>&1 | grep -E '^median' | cut -c1-16; }
ab() { local B=$1; echo "1M $(b $B --length 1048576 --repeat 5) | 131k $(b $B --length 131072 --repeat 9) | 512x1k $(b $B --length 1000 --count 512 --batch-tokens 512000 --repeat 5) | 1k-shape 1M $(b $B --preset caduceus-1k --length 1048576 --repeat 5)"; }
stages() { timeout 60 "$1/dnamba" bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 1 --stages 2>&1 | grep -E '^stage' | awk '{$1=""; printf "%s; ", $0}'; echo; }
tests build-gpu fused "[gpu]"
DNAMBA_FUSED=1 tests build-gpu fused-engine "cuda engine*"
echo "[$(date +%T)] A/B: the three kernels (default) against the fused kernel (DNAMBA_FUSED=1)"
for r in 1 2; do
  echo "three kernels: $(ab build-gpu)"
  echo "fused:         $(DNAMBA_FUSED=1 ab build-gpu)"
done | tee $R/ab.log
{ echo "three kernels: $(stages build-gpu)"; echo "fused: $(DNAMBA_FUSED=1 stages build-gpu)"; } | tee $R/stages.log
san() { local name=$1 tool=$2; shift 2
  timeout 75 compute-sanitizer --tool $tool --print-limit 5 "$@" > "$R/san-$name-$tool.log" 2>&1
  echo "[$(date +%T)] $name $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$R/san-$name-$tool.log" | tail -1)"; }
san conv_proj memcheck build-gpu/tests/dnamba_tests "cuda: conv_proj*"
san conv_proj racecheck build-gpu/tests/dnamba_tests "cuda: conv_proj*"
for i in $(seq 60); do [ -f $R/new-build.rc ] && break; sleep 5; done; cat $R/new-build.rc
N=/tmp/new/build-gpu
if [ -x $N/tests/dnamba_tests ]; then
  tests $N patched "[gpu]"
  DNAMBA_SCAN_SUM_T=2 tests $N patched-long-tiles "cuda: the sel*,cuda: the scan*,cuda engine: awkward*"
  echo "[$(date +%T)] A/B: the patch, with and without the summaries' long tiles"
  { echo "patched:        $(ab $N)"; echo "patched, SUM_T 2: $(DNAMBA_SCAN_SUM_T=2 ab $N)"; echo "fused (again):  $(DNAMBA_FUSED=1 ab build-gpu)"; } | tee $R/ab-patch.log
  echo "patched stages: $(stages $N)" | tee -a $R/stages.log
else tail -30 $R/new-build.log; fi
if [ -x $N/tests/dnamba_bench_scan ]; then
  for tool in memcheck racecheck; do
    san "y+=-bf16" $tool $N/tests/dnamba_bench_scan 5000 64 16 1 97 bf16 chunked 0 acc
    DNAMBA_SCAN_SUM_T=2 san "long-tiles-bf16" $tool $N/tests/dnamba_bench_scan 5000 64 16 1 97 bf16 chunked
  done
fi
echo "[$(date +%T)] done"
