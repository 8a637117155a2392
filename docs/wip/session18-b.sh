# Session 18, second command of the lease, after session18-a.sh (same carried paths):
#   timeout 580 bash docs/wip/session18-b.sh; tar czf $OUT/b.tgz -C /tmp/n18 . /tmp/bc
# The session-16 patch's tests and A/B (with conv_proj as session18-a.sh decided), then writes
# $R/decision.env and runs scripts/bench_compare.sh PHASE=dnamba with it (PREBUILT=1).
. docs/wip/session18-common.sh
set -a; . $R/fused.env; set +a
echo "[$(date +%T)] $(cat $R/fused.env)"
: > $R/decision.env; echo "DNAMBA_FUSED=$DNAMBA_FUSED" >> $R/decision.env
if [ -x $N/tests/dnamba_tests ]; then
  tests $N patched "[gpu]"
  DNAMBA_SCAN_SUM_T=2 tests $N patched-long-tiles "cuda: the sel*,cuda: the scan*,cuda engine: awkward*"
  echo "[$(date +%T)] A/B: the patch, with and without the summaries' long tiles (DNAMBA_FUSED=$DNAMBA_FUSED)"
  for r in 1 2; do echo "unpatched: $(ab build-gpu)"; echo "patched: $(ab $N)"; echo "patched-sum2: $(DNAMBA_SCAN_SUM_T=2 ab $N)"; done | tee $R/ab-patch.log
  echo "patched stages: $(stages $N)" | tee -a $R/stages.log
  for tool in memcheck racecheck; do
    san "y+=-bf16" $tool $N/tests/dnamba_bench_scan 5000 64 16 1 97 bf16 chunked 0 acc
    DNAMBA_SCAN_SUM_T=2 san "long-tiles-bf16" $tool $N/tests/dnamba_bench_scan 5000 64 16 1 97 bf16 chunked
  done
  u=$(mean1m $R/ab-patch.log 'unpatched:'); p=$(mean1m $R/ab-patch.log 'patched:'); q=$(mean1m $R/ab-patch.log 'patched-sum2:')
  clean() { grep -q "ERROR SUMMARY: 0 errors" $R/san-$1-memcheck.log && grep -q "RACECHECK SUMMARY: 0 hazards" $R/san-$1-racecheck.log; }
  if passed patched && clean "y+=-bf16" && [ "$(faster $p $u)" = 1 ]; then
    echo "BUILD_DIR=$N" >> $R/decision.env
    passed patched-long-tiles && clean long-tiles-bf16 && [ "$(faster $q $p)" = 1 ] && echo "DNAMBA_SCAN_SUM_T=2" >> $R/decision.env
  fi
fi
echo "[$(date +%T)] decision: $(tr '\n' ' ' < $R/decision.env)"
set -a; . $R/decision.env; set +a
mkdir -p /tmp/bc/cmp
EMBED_MBP=16 EMBED_WINDOWS=1000000 TESTS=0 SCAN_HOW=auto PREBUILT=1 PHASE=dnamba timeout 240 scripts/bench_compare.sh /tmp/bc/cmp
echo "[$(date +%T)] done"
