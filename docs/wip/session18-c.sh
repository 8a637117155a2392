# Session 18, a second lease (the landed tree 648fa24 prebuilt and carried with .deps):
#   timeout 500 bash docs/wip/session18-c.sh; tar czf $OUT/c2.tgz -C /tmp/n18c .
# The [gpu] tests on the landed tree (the staged y += and the conv prefetch without the patch's
# long-tile switch), then ncu (--set full, SASS source page) on one 262,144-row call of the fused
# conv_proj kernel (DNAMBA_FUSED=1) and of the kernels it replaces, at 1 Mnt bf16 (131k shape).
. docs/wip/session18-common.sh
R=/tmp/n18c; rm -rf $R; mkdir -p $R
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee $R/device.txt
bash scripts/gpu.sh deps > $R/deps.log 2>&1; echo "deps rc=$? [$(date +%T)]"
[ "${NOTESTS:-0}" = 1 ] || tests build-gpu landed "[gpu]"
prof() { local name=$1 fused=$2 regex=$3 count=$4
  DNAMBA_FUSED=$fused timeout 150 ncu --set full --import-source no -k "regex:$regex" -s 8 -c $count -o $R/$name \
    build-gpu/dnamba bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 0 --repeat 1 > $R/$name.run.log 2>&1
  echo "[$(date +%T)] ncu $name: exit $?"
  ncu -i $R/$name.ncu-rep --page details > $R/$name.txt 2>&1
  ncu -i $R/$name.ncu-rep --page source --print-source sass --csv > $R/$name-sass.csv 2>&1
  grep -E "^  [a-z_A-Z]|Duration|Issue Slots Busy|Achieved Occupancy|Registers Per|Memory Throughput|DRAM Throughput|Compute \(SM\) Throughput|Eligible Warps|Warp Cycles Per Issued|Theoretical Occupancy|Block Limit" $R/$name.txt | head -60; }
prof conv_proj 1 conv_proj_kernel 1
prof conv 0 conv1d_silu_kernel 1
prof delta 0 scan_delta_tc_kernel 1
prof gemm 0 'gemm|xmma|cutlass|sm90' 3
echo "[$(date +%T)] done"
