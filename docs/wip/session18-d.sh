# Session 18, a last short lease (the tree with the segments scan prebuilt and carried with .deps):
#   timeout 290 bash docs/wip/session18-d.sh; tar czf $OUT/d.tgz -C /tmp/n18d .
# The new tests first (the scan over whole segments; the engine on a batch of equal sequences),
# then the A/B on the batch workloads (DNAMBA_SCAN=chunked never takes segments), then the other
# scan tests and the whole [gpu] suite as time allows.
. docs/wip/session18-common.sh
R=/tmp/n18d; rm -rf $R; mkdir -p $R
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee $R/device.txt
bash scripts/gpu.sh deps > $R/deps.log 2>&1; echo "deps rc=$? [$(date +%T)]"
tests build-gpu segments "cuda: the scan over whole segments*"
tests build-gpu engine-full "cuda engine: the full-width*"
bb() { b build-gpu --length 1000 --count 512 --batch-tokens 512000 --repeat 5 "$@"; }
echo "[$(date +%T)] A/B: DNAMBA_SCAN=chunked (no segments) against the default"
for r in 1 2; do
  echo "chunked: 512x1k $(DNAMBA_SCAN=chunked bb) | 1k-shape 512x1k $(DNAMBA_SCAN=chunked bb --preset caduceus-1k)"
  echo "default: 512x1k $(bb) | 1k-shape 512x1k $(bb --preset caduceus-1k)"
done | tee $R/ab.log
echo "default 1M: $(b build-gpu --length 1048576 --repeat 3) | 131k $(b build-gpu --length 131072 --repeat 5)" | tee -a $R/ab.log
timeout 60 build-gpu/dnamba bench --device cuda --precision bf16 --pooled --length 1000 --count 512 --batch-tokens 512000 --warmup 1 --repeat 1 --stages 2>&1 | grep -E '^stage' | tee $R/stages.log
DNAMBA_SCAN=chunked timeout 60 build-gpu/dnamba bench --device cuda --precision bf16 --pooled --length 1000 --count 512 --batch-tokens 512000 --warmup 1 --repeat 1 --stages 2>&1 | grep -E 'selective scan' | sed 's/^/chunked: /' | tee -a $R/stages.log
tests build-gpu scan "cuda: the sel*,cuda: the scan in*,cuda engine: awkward*"
tests build-gpu all "[gpu]"
echo "[$(date +%T)] done"
