#!/usr/bin/env bash
# On the GPU machine (scripts/gpu.sh --download first, .deps carried): builds with CUDA (scripts/gpu.sh), runs the
# [vep] tests on the GPU engine (--device auto), writes CPU / CUDA fp32 / CUDA bf16 vep tables of
# the golden models to $OUT and prints bench_vep.py throughputs. Used for README "Scoring ... on the GPU".
set -e
cd "$(dirname "$0")/.."
OUT=${OUT:-vep-gpu-out}; mkdir -p "$OUT"
B=${BUILD_DIR:-build-gpu}
export LD_LIBRARY_PATH=${DEPS_PREFIX:-/opt/deps}/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# the build scripts/gpu.sh makes (reused when this lease has it already)
[ -x "$B/tests/dnamba_tests" ] || { t0=$(date +%s); scripts/gpu.sh build > $OUT/build.log 2>&1 || { tail -30 $OUT/build.log; exit 1; }; echo "build $(( $(date +%s)-t0 )) s"; }
nvidia-smi --query-gpu=name --format=csv,noheader
$B/tests/dnamba_tests "[vep]" > $OUT/tests_vep.log 2>&1 || true; tail -4 $OUT/tests_vep.log
for m in a_caduceus_ph c_caduceus_ps_fused h_mamba_ssm_rms; do
  s=masked-llr,llr,emb-l2,emb-cos; [ $m = h_mamba_ssm_rms ] && s=llr,delta-ll,emb-l2,emb-cos
  for d in cpu cuda; do $B/dnamba vep -q -m testdata/golden/$m -i testdata/vep/genome.fa --vcf testdata/vep/variants.vcf --window 64 --rc average --scores $s --device $d -o $OUT/$m.$d.tsv; done
  $B/dnamba vep -q -m testdata/golden/$m -i testdata/vep/genome.fa --vcf testdata/vep/variants.vcf --window 64 --rc average --scores $s --device cuda --precision bf16 -o $OUT/$m.bf16.tsv
done
# CPU against the GPU engine: the largest difference of each score column (fp32 and bf16)
python3 - "$OUT" <<'PY'
import csv, os, sys
out = sys.argv[1]
for m in ("a_caduceus_ph", "c_caduceus_ps_fused", "h_mamba_ssm_rms"):
    rows = {}
    for d in ("cpu", "cuda", "bf16"):
        with open(os.path.join(out, f"{m}.{d}.tsv")) as f:
            rows[d] = [r for r in csv.reader((l for l in f if not l.startswith("#")), delimiter="\t")]
    head, cpu = rows["cpu"][0], rows["cpu"][1:]
    for d in ("cuda", "bf16"):
        worst = {}
        for a, b in zip(cpu, rows[d][1:]):
            for k in range(4, len(head)):
                if a[k] not in ("", "NA", ".") and b[k] not in ("", "NA", "."):
                    worst[head[k]] = max(worst.get(head[k], 0.0), abs(float(a[k]) - float(b[k])))
        print(f"vep cpu vs {d}: {m}: {len(cpu)} rows;",
              ", ".join(f"{k} max |diff| {v:.2e}" for k, v in worst.items()))
PY
python3 scripts/bench_vep.py --dnamba $B/dnamba --variants 2000 --device cuda --dir /tmp/bv 2>&1 | tail -1
python3 scripts/bench_vep.py --dnamba $B/dnamba --variants 20000 --device cuda --dir /tmp/bv2 2>&1 | tail -1
python3 scripts/bench_vep.py --dnamba $B/dnamba --variants 20000 --device cuda --precision bf16 --batch-tokens 1048576 --dir /tmp/bv4 2>&1 | tail -1
python3 scripts/bench_vep.py --dnamba $B/dnamba --variants 20000 --scores llr --device cuda --dir /tmp/bv5 2>&1 | tail -1
