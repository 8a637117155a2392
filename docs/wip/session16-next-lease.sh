# SUPERSEDED (session 17) by docs/wip/session17-lease.sh: its patch no longer applies.
# Session 16 (prepared, not yet run): the next lease's first command, on the GPU machine from the
# repository root with .deps carried (and, with PREBUILT=1, the binaries of `scripts/gpu.sh prebuild`:
# build-gpu/dnamba, build-gpu/tests/dnamba_tests, build-gpu/tests/dnamba_bench_scan):
#   timeout 570 bash docs/wip/session16-next-lease.sh; tar czf $OUT/n.tgz -C /tmp/n16 .
# 1. The landed tree (the summaries at 5 blocks and ACC as a template parameter, timed in session 16
#    but never through the tests): the [gpu] tests.
# 2. docs/wip/session16-next-lease.patch built in a copy (in the background): the [gpu] tests, the
#    scan's and the conv's tests again with the long summary tiles, compute-sanitizer on its new
#    paths, an A/B against the landed tree, and a sweep of the summaries' tiles and blocks an SM.
# scripts/gpu_sanitize.sh over the landed tree and the stack's comparison take commands of their own.
set -u
export PATH=/usr/local/cuda/bin:$PATH
R=/tmp/n16; rm -rf $R; mkdir -p $R
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee $R/device.txt
( rm -rf /tmp/new && mkdir -p /tmp/new && tar --exclude=./build-gpu --exclude=./.stack --exclude=./build -cf - . | tar -xf - -C /tmp/new &&
  cd /tmp/new && git apply docs/wip/session16-next-lease.patch &&
  DEPS_PREFIX=/opt/deps-new BUILD_TARGETS="dnamba_cli dnamba_bench_scan dnamba_tests" timeout 300 bash scripts/gpu.sh build > $R/new-build.log 2>&1
  echo "patched build rc=$? [$(date +%T)]" > $R/new-build.rc ) &
echo "[$(date +%T)] landed tree"
if [ "${PREBUILT:-0}" = 1 ] && [ -x build-gpu/dnamba ] && [ -x build-gpu/tests/dnamba_tests ]; then
  bash scripts/gpu.sh deps > $R/build.log 2>&1; echo "prebuilt binaries, deps rc=$? [$(date +%T)]"
else
  BUILD_TARGETS="dnamba_cli dnamba_bench_scan dnamba_tests" timeout 300 bash scripts/gpu.sh build > $R/build.log 2>&1; echo "build rc=$? [$(date +%T)]"
fi
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu
tests() { local B=$1 name=$2; shift 2
  timeout 150 "$B/tests/dnamba_tests" "$@" > $R/$name-tests.log 2>&1
  echo "[$(date +%T)] $name tests: exit $? ($(grep -E 'All tests passed|test cases' $R/$name-tests.log | tail -1))"
  grep -B5 -A25 "FAILED" $R/$name-tests.log | head -40; }
tests build-gpu landed "[gpu]"
for i in $(seq 60); do [ -f $R/new-build.rc ] && break; sleep 5; done; cat $R/new-build.rc
N=/tmp/new/build-gpu
[ -x $N/tests/dnamba_tests ] || { tail -30 $R/new-build.log; exit 1; }
tests $N patched "[gpu]"
DNAMBA_SCAN_SUM_T=2 tests $N patched-long-tiles "cuda: the sel*,cuda: the scan*,cuda engine: awkward*"
san() { local name=$1 tool=$2; shift 2
  timeout 60 compute-sanitizer --tool $tool --print-limit 5 "$@" > "$R/san-$name-$tool.log" 2>&1
  echo "$name $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$R/san-$name-$tool.log" | tail -1)"; }
for tool in memcheck racecheck; do
  for dt in bf16 fp32; do
    san "y+=-$dt" $tool $N/tests/dnamba_bench_scan 5000 64 16 1 97 $dt chunked 0 acc
    DNAMBA_SCAN_SUM_T=2 san "long-tiles-$dt" $tool $N/tests/dnamba_bench_scan 5000 64 16 1 97 $dt chunked
  done
  san conv $tool $N/tests/dnamba_tests "cuda: conv1d*"
done
sc() { timeout 30 "$1/tests/dnamba_bench_scan" "${@:2}" | grep -oE 'median [0-9.]+'; }
b() { timeout 40 "$1/dnamba" bench --device cuda --precision bf16 --pooled --warmup 1 "${@:2}" 2>&1 | grep -E '^median' | cut -c1-16; }
echo "[$(date +%T)] A/B"
for r in 1 2; do for t in landed patched; do B=build-gpu; [ $t = patched ] && B=$N
  echo "$t: scan 131k y+= $(sc $B 131072 512 16 20 0 bf16 chunked 0 acc) | 1M $(sc $B 1048576 512 16 20 0 bf16 auto) | fwd 131k $(b $B --length 131072 --repeat 9)"
done; done | tee $R/ab.log
for t in landed patched; do B=build-gpu; [ $t = patched ] && B=$N
  echo "$t: $(timeout 40 $B/dnamba bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 1 --stages 2>&1 | grep -E '^stage' | awk '{printf "%s %s; ", $2, $(NF-3)}')"; done | tee $R/stages.log
echo "[$(date +%T)] the summaries' tiles and blocks an SM (patched)"
for v in "1 5" "2 5" "1 4" "2 4"; do set -- $v
  export DNAMBA_SCAN_SUM_T=$1 DNAMBA_SCAN_SUM_MB=$2
  echo "sum_t $1 sum_mb $2: scan bf16 1M $(sc $N 1048576 512 16 20 0 bf16 auto) | 131k $(sc $N 131072 512 16 20 0 bf16 auto) | fp32 1M $(sc $N 1048576 512 16 10 0 fp32 auto) | fwd 1M $(b $N --length 1048576 --repeat 5)"
done | tee $R/sum-tiles.log
echo "[$(date +%T)] done"
