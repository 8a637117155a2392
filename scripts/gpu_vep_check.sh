#!/usr/bin/env bash
# On the GPU machine (scripts/gpu.sh --download first, .deps carried): builds with CUDA, runs the
# [vep] tests on the GPU engine (--device auto), writes CPU / CUDA fp32 / CUDA bf16 vep tables of
# the golden models to $OUT and prints bench_vep.py throughputs. Used for README "Scoring ... on the GPU".
set -e
P=/opt/deps; mkdir -p $P; for f in .deps/*.deb; do dpkg -x $f $P; done
export LD_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu; export PATH=/usr/local/cuda/bin:$PATH
cmake -S . -B bg -DCMAKE_BUILD_TYPE=Release -DDNAMBA_CUDA=ON -DDNAMBA_TESTS=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_PREFIX_PATH=$P/usr -DCMAKE_INCLUDE_PATH=$P/usr/include -DCMAKE_LIBRARY_PATH=$P/usr/lib/x86_64-linux-gnu > $OUT/cmake.log 2>&1
t0=$(date +%s); cmake --build bg -j16 --target dnamba_tests > $OUT/build.log 2>&1 || { tail -30 $OUT/build.log; exit 1; }; echo "build $(( $(date +%s)-t0 )) s"
nvidia-smi --query-gpu=name --format=csv,noheader
bg/tests/dnamba_tests "[vep]" > $OUT/tests_vep.log 2>&1; tail -4 $OUT/tests_vep.log
for m in a_caduceus_ph c_caduceus_ps_fused h_mamba_ssm_rms; do
  s=masked-llr,llr,emb-l2,emb-cos; [ $m = h_mamba_ssm_rms ] && s=llr,delta-ll,emb-l2,emb-cos
  for d in cpu cuda; do bg/dnamba vep -q -m testdata/golden/$m -i testdata/vep/genome.fa --vcf testdata/vep/variants.vcf --window 64 --rc average --scores $s --device $d -o $OUT/$m.$d.tsv; done
  bg/dnamba vep -q -m testdata/golden/$m -i testdata/vep/genome.fa --vcf testdata/vep/variants.vcf --window 64 --rc average --scores $s --device cuda --precision bf16 -o $OUT/$m.bf16.tsv
done
python3 scripts/bench_vep.py --dnamba bg/dnamba --variants 2000 --device cuda --dir /tmp/bv 2>&1 | tail -1
python3 scripts/bench_vep.py --dnamba bg/dnamba --variants 20000 --device cuda --dir /tmp/bv2 2>&1 | tail -1
python3 scripts/bench_vep.py --dnamba bg/dnamba --variants 20000 --device cuda --batch-tokens 1048576 --dir /tmp/bv3 2>&1 | tail -1
python3 scripts/bench_vep.py --dnamba bg/dnamba --variants 20000 --device cuda --precision bf16 --batch-tokens 1048576 --dir /tmp/bv4 2>&1 | tail -1
python3 scripts/bench_vep.py --dnamba bg/dnamba --variants 20000 --scores llr --device cuda --dir /tmp/bv5 2>&1 | tail -1
