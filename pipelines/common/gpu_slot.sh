#!/usr/bin/env bash
# Runs a command on one GPU that no other job holds: what gives each GPU shard job of a local
# Snakemake run its own card (Snakemake's `gpu` resource only counts GPUs; it does not say which).
#
#   gpu_slot.sh [--gpus 0,1,...] -- COMMAND [ARGS...]
#
# The GPUs to choose from: --gpus, else the CUDA_VISIBLE_DEVICES the job inherited, else every
# GPU nvidia-smi lists. The first one whose lock file it can take (flock, in
# DNAMBA_GPU_LOCK_DIR, default $TMPDIR/dnamba-gpu-locks-$UID) becomes the command's only visible
# device (CUDA_VISIBLE_DEVICES=ID, so `--device cuda` means that card); the lock lives as long as
# the command (its open descriptor is inherited through exec), so a crashed job frees its GPU.
# With --resources gpu=N no larger than the number of GPUs a slot is always free; otherwise the
# job waits for one (a line on stderr each minute). Under SLURM (--gres=gpu:1 has already set
# CUDA_VISIBLE_DEVICES for the job) the command runs as it is.
set -euo pipefail
usage() { echo "usage: gpu_slot.sh [--gpus 0,1,...] -- COMMAND [ARGS...]" >&2; exit 2; }
gpus=""
if [ "${1:-}" = --gpus ]; then
    [ $# -ge 2 ] || usage
    gpus=$2
    shift 2
fi
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || usage

if [ -n "${SLURM_JOB_ID:-}" ] && [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
    exec "$@"
fi
if [ -z "$gpus" ]; then
    if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
        gpus=$CUDA_VISIBLE_DEVICES
    elif command -v nvidia-smi > /dev/null 2>&1; then
        gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader 2> /dev/null | paste -sd, -)
    fi
fi
IFS=, read -ra ids <<< "$gpus"
[ ${#ids[@]} -gt 0 ] || {
    echo "gpu_slot: no GPU to run on (none given with --gpus or CUDA_VISIBLE_DEVICES, none listed by nvidia-smi)" >&2
    exit 5
}
dir=${DNAMBA_GPU_LOCK_DIR:-${TMPDIR:-/tmp}/dnamba-gpu-locks-$(id -u)}
mkdir -p "$dir"
waited=0
while :; do
    for id in "${ids[@]}"; do
        exec {fd}>> "$dir/gpu-$id.lock"
        if flock -n "$fd"; then
            export CUDA_VISIBLE_DEVICES=$id
            exec "$@"
        fi
        exec {fd}>&-
    done
    sleep 1
    waited=$((waited + 1))
    if [ $((waited % 60)) -eq 0 ]; then
        echo "gpu_slot: waiting ${waited} s for a free GPU of ${gpus} (more GPU jobs than --resources gpu=N allows?)" >&2
    fi
done
