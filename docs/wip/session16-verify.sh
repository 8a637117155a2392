# Session 16 (prepared, not yet run): on the GPU machine from the repository root, .deps carried;
# `timeout 560 bash docs/wip/session16-verify.sh; tar czf $OUT/v.tgz -C /tmp/v16 .` in one command
# (PREBUILT=1 with the landed tree's binaries from `scripts/gpu.sh prebuild` carried: no device build).
# 1. The landed tree (48c2db1 or later: summaries at 5 blocks an SM, accumulate a template
#    parameter, never through the [gpu] tests) built and tested.
# 2. docs/wip/session16-scan-staged-acc-and-conv-prefetch.patch built beside it (background),
#    tested, timed against it alternately (the accumulating scan at 131k, the scan at 1 Mnt, the
#    131k forward, the stages at 1 Mnt), and its two kernels under memcheck and racecheck.
# scripts/gpu_sanitize.sh over the landed tree takes a command of its own.
set -u
export PATH=/usr/local/cuda/bin:$PATH
R=/tmp/v16; rm -rf $R; mkdir -p $R
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee $R/device.txt
( rm -rf /tmp/new && mkdir -p /tmp/new && tar --exclude=./build-gpu --exclude=./.stack --exclude=./build -cf - . | tar -xf - -C /tmp/new &&
  cd /tmp/new && git apply docs/wip/session16-scan-staged-acc-and-conv-prefetch.patch &&
  DEPS_PREFIX=/opt/deps-new BUILD_TARGETS="dnamba_cli dnamba_bench_scan dnamba_tests" timeout 300 bash scripts/gpu.sh build > $R/new-build.log 2>&1
  echo "new build rc=$? [$(date +%T)]" > $R/new-build.rc ) &
echo "[$(date +%T)] build"
if [ "${PREBUILT:-0}" = 1 ] && [ -x build-gpu/dnamba ] && [ -x build-gpu/tests/dnamba_tests ]; then
  # binaries built on the dev machine (`scripts/gpu.sh prebuild`) and carried: unpack the packages only
  bash scripts/gpu.sh deps > $R/build.log 2>&1; echo "prebuilt binaries, deps rc=$? [$(date +%T)]"
else
  BUILD_TARGETS="dnamba_cli dnamba_bench_scan dnamba_tests" timeout 300 bash scripts/gpu.sh build > $R/build.log 2>&1; echo "build rc=$? [$(date +%T)]"
fi
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu
tests() { timeout 150 "$1/tests/dnamba_tests" "[gpu]" > $R/$2-gpu-tests.log 2>&1
  echo "[$(date +%T)] $2 [gpu] tests: exit $? ($(grep -E 'All tests passed|test cases' $R/$2-gpu-tests.log | tail -1))"
  grep -B5 -A25 "FAILED" $R/$2-gpu-tests.log | head -40; }
tests build-gpu landed
for i in $(seq 40); do [ -f $R/new-build.rc ] && break; sleep 5; done; cat $R/new-build.rc
N=/tmp/new/build-gpu
tests $N patched
sc() { timeout 30 "$1/tests/dnamba_bench_scan" "${@:2}" | grep -oE 'median [0-9.]+'; }
b() { timeout 40 "$1/dnamba" bench --device cuda --precision bf16 --pooled --warmup 1 "${@:2}" 2>&1 | grep -E '^median' | cut -c1-16; }
for r in 1 2; do for t in landed patched; do B=build-gpu; [ $t = patched ] && B=$N
  echo "$t: scan 131k y+= $(sc $B 131072 512 16 20 0 bf16 chunked 0 acc) | 1M $(sc $B 1048576 512 16 20 0 bf16 auto) | fwd 131k $(b $B --length 131072 --repeat 9)"
done; done | tee $R/ab.log
for t in landed patched; do B=build-gpu; [ $t = patched ] && B=$N
  echo "$t: $(timeout 40 $B/dnamba bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 1 --stages 2>&1 | grep -E '^stage' | awk '{printf "%s %s; ", $2, $(NF-3)}')"; done | tee $R/stages.log
for tool in memcheck racecheck; do
  for dt in bf16 fp32; do timeout 60 compute-sanitizer --tool $tool --print-limit 5 $N/tests/dnamba_bench_scan 5000 64 16 1 97 $dt chunked 0 acc > $R/acc-$dt-$tool.log 2>&1
    echo "patched scan y+= $dt $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $R/acc-$dt-$tool.log | tail -1)"; done
  timeout 60 compute-sanitizer --tool $tool --print-limit 5 $N/tests/dnamba_tests "cuda: conv1d*" > $R/conv-$tool.log 2>&1
  echo "patched conv $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $R/conv-$tool.log | tail -1)"
done
echo "[$(date +%T)] done"
