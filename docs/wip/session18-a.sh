# Session 18, first command of the lease (.deps, .stack and the prebuilt binaries carried):
#   timeout 570 bash docs/wip/session18-a.sh; tar czf $OUT/a.tgz -C /tmp/n18 .
# Builds the PyTorch stack and the session-16 patch (docs/wip/session17-s16-patch-on-fused.patch)
# in the background, while the landed tree runs: the [gpu] tests, the engine tests with the fused
# conv_proj kernel on, the A/B of the three kernels against conv_proj, stages, and
# compute-sanitizer on conv_proj's test. Writes $R/fused.env (DNAMBA_FUSED=0|1).
. docs/wip/session18-common.sh
rm -rf $R/*; nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee $R/device.txt
( BUILD_ONLY=1 OUT=$R nice -n 19 bash .stack/device.sh > $R/stack-build-only.log 2>&1; echo "stack build rc=$? [$(date +%T)]" > $R/stack-build.rc ) &
( rm -rf /tmp/new && mkdir -p /tmp/new && tar --exclude=./build-gpu --exclude=./.stack --exclude=./build -cf - . | tar -xf - -C /tmp/new &&
  cd /tmp/new && git apply docs/wip/session17-s16-patch-on-fused.patch &&
  DEPS_PREFIX=/opt/deps-new BUILD_TARGETS="dnamba_cli dnamba_bench_scan dnamba_tests" nice -n 10 timeout 420 bash scripts/gpu.sh build > $R/new-build.log 2>&1
  echo "patched build rc=$? [$(date +%T)]" > $R/new-build.rc ) &
bash scripts/gpu.sh deps > $R/deps.log 2>&1; echo "deps rc=$? [$(date +%T)]"
tests build-gpu landed "[gpu]"
DNAMBA_FUSED=1 tests build-gpu fused-engine "cuda engine*"
echo "[$(date +%T)] A/B: the three kernels (default) against the fused kernel (DNAMBA_FUSED=1)"
for r in 1 2; do
  echo "three: $(ab build-gpu)"
  echo "fused: $(DNAMBA_FUSED=1 ab build-gpu)"
done | tee $R/ab.log
{ echo "three stages: $(stages build-gpu)"; echo "fused stages: $(DNAMBA_FUSED=1 stages build-gpu)"; } | tee $R/stages.log
san conv_proj memcheck build-gpu/tests/dnamba_tests "cuda: conv_proj*"
san conv_proj racecheck build-gpu/tests/dnamba_tests "cuda: conv_proj*"
FZ=$(faster "$(mean1m $R/ab.log 'fused:')" "$(mean1m $R/ab.log 'three:')")
passed landed && passed fused-engine || FZ=0
grep -q "ERROR SUMMARY: 0 errors" $R/san-conv_proj-memcheck.log && grep -q "RACECHECK SUMMARY: 0 hazards" $R/san-conv_proj-racecheck.log || FZ=0
echo "DNAMBA_FUSED=$FZ" > $R/fused.env; echo "[$(date +%T)] $(cat $R/fused.env)"
for i in $(seq 50); do [ -f $R/stack-build.rc ] && [ -f $R/new-build.rc ] && break; sleep 5; done
cat $R/stack-build.rc $R/new-build.rc 2>&1; tail -3 $R/new-build.log
echo "[$(date +%T)] done"
