#!/usr/bin/env bash
# The whole GPU comparison behind README.md's Performance section, in one run on the GPU
# machine: dnamba and the PyTorch stack (mamba_ssm fused path + causal-conv1d + Triton
# add+RMSNorm, Caduceus modules; ../shared/stack/, prepared into the ignored .stack/) on the
# same device, then scripts/compare_stack.py joins the two into one TSV and prints the table.
#
#   here:  ../shared/stack/prepare.sh MAMBA_GITDIR CAUSAL_CONV1D_GITDIR CADUCEUS_GITDIR
#          scripts/gpu.sh --download
#   there (.deps and .stack carried):  scripts/bench_compare.sh [OUT_DIR (default $OUT or bench-out)]
#
# SCAN_HOW (default "auto one-pass"): the scan kernels timed alone (auto, one-pass, chunked).
# PREBUILT=1: no build; BUILD_DIR (default build-gpu) holds carried `scripts/gpu.sh prebuild` binaries.
# SANITIZE=1 also runs compute-sanitizer memcheck/racecheck (scripts/gpu_sanitize.sh).
# PRE: commands run right after the build (see below); EXTRA: commands run after the benchmarks.
# STACK=0 (with PHASE=dnamba): dnamba's side alone, the stack not built (when device time is short).
# PHASE splits the run in two commands of one lease (each under the device tool's 10-minute
# limit; the machine stays warm between them): PHASE=dnamba (the stack's build in the
# background, dnamba's build, tests and benchmarks, the commands in EXTRA after them, then the wait
# for the stack's build), then PHASE=stack (dnamba embed end to end, the stack's benchmark, the
# join). The default, PHASE=all, is both in one command.
# Steps: the stack's extensions build in the background (~4 min) while dnamba builds, runs its
# [gpu] tests (TESTS=0 skips them) and its benchmarks (the scan alone, the issue's workloads, the
# bf16 scaling series, per-stage times, `dnamba embed` end to end on a generated genome with a
# random checkpoint of the 131k shape made by the stack's Caduceus); then the stack's own
# benchmark (.stack/stack_bench.py), so the two never share the GPU. Every result is appended
# to OUT_DIR as it comes (dnamba.tsv, scan.tsv, embed.tsv, stack-h200.json, logs), so a run
# cut short still leaves what it measured.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-bench-out}}
mkdir -p "$out"
export OUT=$out
B=${BUILD_DIR:-build-gpu}
export LD_LIBRARY_PATH=${DEPS_PREFIX:-/opt/deps}/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
stamp() { echo "[$(date +%T)] $*"; }

phase=${PHASE:-all}
[ -f .stack/device.sh ] || { echo "bench_compare: no .stack/ (run ../shared/stack/prepare.sh here, carry .stack)" >&2; exit 2; }
if [ "$phase" != stack ]; then
stack_build=
if [ "${STACK:-1}" = 1 ]; then  # STACK=0: dnamba's side alone (no stack build; PHASE=dnamba only)
    ( BUILD_ONLY=1 bash .stack/device.sh > "$out/stack-build.log" 2>&1 ) &
    stack_build=$!
fi

if [ "${PREBUILT:-0}" = 1 ]; then  # binaries from `scripts/gpu.sh prebuild`, carried: unpack the libraries only
    [ -x "$B/dnamba" ] && [ -x "$B/tests/dnamba_bench_scan" ] || { echo "bench_compare: PREBUILT=1 but no $B/dnamba or $B/tests/dnamba_bench_scan" >&2; exit 2; }
    [ -d "${DEPS_PREFIX:-/opt/deps}/usr/lib" ] || scripts/gpu.sh deps > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
    stamp "prebuilt dnamba: $B"
else
stamp "building dnamba"
scripts/gpu.sh build > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$out/device.txt"
# PRE: commands run after the build, before the tests and benchmarks (checks that pick what to
# time); settings they write to $OUT/bench.env (e.g. DNAMBA_SCAN=chunked) hold for the rest.
# Their output is also kept in pre.log.
if [ -n "${PRE:-}" ]; then
    stamp "pre: $PRE"
    bash -c "$PRE" 2>&1 | tee "$out/pre.log"
fi
if [ -s "$out/bench.env" ]; then
    set -a; . "$out/bench.env"; set +a
    stamp "settings from pre: $(tr '\n' ' ' < "$out/bench.env")"
fi
if [ "${TESTS:-1}" = 1 ]; then
    timeout 240 "$B/tests/dnamba_tests" "[gpu]" > "$out/gpu-tests.log" 2>&1
    stamp "[gpu] tests: exit $? ($(grep -E 'All tests passed|test cases:' "$out/gpu-tests.log" | tail -1))"
fi

if [ "${SANITIZE:-0}" = 1 ]; then  # compute-sanitizer memcheck/racecheck over the kernels
    stamp "compute-sanitizer"
    scripts/gpu_sanitize.sh "$out/sanitize" | tee "$out/sanitize.txt"
fi

# a first GPU program in a fresh machine can take much longer than later ones: warm up
"$B/dnamba" bench --device cuda --precision bf16 --pooled --length 131072 --repeat 1 -q > /dev/null 2>&1

stamp "scan alone"
: > "$out/scan.tsv"
for dt in bf16 fp32; do
    for L in 131072 1048576; do
        for how in ${SCAN_HOW:-auto one-pass}; do
            line=$("$B/tests/dnamba_bench_scan" "$L" 512 16 20 0 "$dt" "$how")
            echo "$line"
            ms=$(sed -E 's/.*median ([0-9.]+) ms.*/\1/' <<< "$line")
            kind=scan; [ "$how" != auto ] && kind=scan-$how
            printf '%s\t%s\t%s\t%s\n' "$kind" "$dt" "$L" "$ms" >> "$out/scan.tsv"
        done
    done
done

tsv=$out/dnamba.tsv
: > "$tsv"
run() { echo "+ dnamba bench $*"; "$B/dnamba" bench --device cuda --pooled --tsv "$tsv" "$@" 2>&1 | grep -E 'median|peak device'; }
stamp "the issue's workloads"
run --precision bf16 --length 1048576 --warmup 1 --repeat 5
run --precision bf16 --length 131072 --warmup 1 --repeat 5
run --precision bf16 --length 1000 --count 512 --batch-tokens 512000 --warmup 1 --repeat 5
run --precision fp32 --length 1048576 --warmup 1 --repeat 3
run --precision bf16 --preset caduceus-ps-131k --length 1048576 --warmup 1 --repeat 3
run --precision bf16 --preset caduceus-1k --length 1048576 --warmup 1 --repeat 5
run --precision bf16 --preset caduceus-1k --length 1000 --count 512 --batch-tokens 512000 --warmup 1 --repeat 5
stamp "bf16 scaling series"
run --precision bf16 --lengths 1024,4096,16384,65536,262144,4194304 --warmup 1 --repeat 3
stamp "stages at 1 Mnt, bf16"
"$B/dnamba" bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 1 --stages 2>&1 |
    grep '^stage' | tee "$out/stages.txt"

if [ -n "${EXTRA:-}" ]; then
    stamp "extra: $EXTRA"
    bash -c "$EXTRA" 2>&1 | tee "$out/extra.log"
fi
[ -z "$stack_build" ] && exit 0
stamp "waiting for the stack's build"
wait "$stack_build"
stamp "stack built: $(ls /tmp/stack/mamba/selective_scan_cuda*.so /tmp/stack/causal-conv1d/causal_conv1d_cuda*.so 2>/dev/null | wc -l) of 2 extensions"
[ "$phase" = dnamba ] && exit 0
fi  # phase dnamba

if [ "$phase" = stack ]; then
    [ -x "$B/dnamba" ] || { echo "bench_compare: PHASE=stack needs the PHASE=dnamba command's build in this lease" >&2; exit 2; }
    ls /tmp/stack/mamba/selective_scan_cuda*.so > /dev/null 2>&1 || { echo "bench_compare: the stack is not built in this lease" >&2; exit 2; }
fi

# dnamba embed end to end: a random checkpoint of the 131k shape, written by the stack's own
# Caduceus (save_pretrained: config.json + model.safetensors), over a generated genome
mbp=${EMBED_MBP:-64}
fa=/tmp/genome_${mbp}M.fa
python3 scripts/make_genome.py "$fa" "$mbp"
PYTHONPATH=/tmp/stack/mamba:/tmp/stack/causal-conv1d:/tmp/stack/caduceus python3 - /tmp/caduceus-131k-random > "$out/save-model.log" 2>&1 <<'PY'
import sys, torch
from safetensors.torch import save_file
from caduceus.configuration_caduceus import CaduceusConfig
from caduceus.modeling_caduceus import Caduceus
torch.manual_seed(0)
cfg = CaduceusConfig(d_model=256, n_layer=16, vocab_size=12, ssm_cfg={'d_state': 16, 'd_conv': 4, 'expand': 2,
                     'dt_rank': 'auto', 'dt_init_floor': 1e-4, 'conv_bias': True, 'bias': False}, rms_norm=True,
                     residual_in_fp32=True, fused_add_norm=True, pad_vocab_size_multiple=8, norm_epsilon=1e-5,
                     bidirectional=True, bidirectional_strategy='add', bidirectional_weight_tie=True, rcps=False,
                     complement_map=None)
# save_pretrained refuses the tied in/out projections (shared tensors it was not told of):
# the config through it, the weights as separate copies (dnamba reads duplicated tied tensors)
model = Caduceus(cfg)
cfg.save_pretrained(sys.argv[1])
save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()},
          sys.argv[1] + "/model.safetensors")
print("saved", sys.argv[1])
PY
: > "$out/embed.tsv"
if [ -s /tmp/caduceus-131k-random/model.safetensors ]; then
    for w in ${EMBED_WINDOWS:-1000000 131072}; do
        stamp "embed ${mbp} Mbp in ${w}-nt windows"
        "$B/dnamba" embed --model /tmp/caduceus-131k-random --input "$fa" --window "$w" --pool mean --device cuda \
            --precision bf16 --batch-tokens 1048576 --output /tmp/embed-$w.tsv > "$out/embed-$w.log" 2>&1
        grep '^dnamba embed' "$out/embed-$w.log" | tee -a "$out/embed.log"
        rate=$(grep -oE 'in [0-9.]+ s \([0-9]+ nt/s\)' "$out/embed-$w.log" | head -1 | sed -E 's/in ([0-9.]+) s \(([0-9]+) nt\/s\)/\1\t\2/')
        printf 'embed\tcaduceus-131k\tbf16\t%s\t%s\t%s\n' "$w" "$mbp" "$rate" >> "$out/embed.tsv"
    done
else
    echo "no random checkpoint (see save-model.log): embed end to end skipped"
fi

stamp "the PyTorch stack"
bash .stack/device.sh 2>&1 | grep -Ev '^(Warn|warn)' | tail -20
stamp "compare"
python3 scripts/compare_stack.py "$out" | tee "$out/compare.md"
