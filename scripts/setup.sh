#!/usr/bin/env bash
# Installs what dnamba needs from Debian (idempotent, non-interactive), then configures and
# builds it in build/. Options:
#   --pipelines  also install what the Snakemake workflows of pipelines/ use: snakemake 7
#              and, for their reports, python3-numpy and python3-matplotlib (Debian)
#   --test     everything of --pipelines, plus what the test suite uses beyond the build
#              (numpy, to check that numpy.load reads our .npz/.npy; clang and
#              libclang-rt-14-dev for the libFuzzer targets of tests/fuzz; munge, slurmctld,
#              slurmd and slurm-client for the single-node SLURM of the pipeline tests;
#              bowtie2-examples for the lambda phage genome and reads they run on;
#              python3-venv for the Python package's test, which pip-installs it into a
#              fresh virtual environment from PyPI), and build the tests
#   --native   optimise for this machine's CPU (-march=native) instead of x86-64-v3
#   --no-cuda  do not compile the CUDA kernels even when nvcc is present
# Environment: BUILD_DIR (default build), JOBS (default: number of cores).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
want_tests=OFF
want_pipelines=OFF
native=OFF
cuda=AUTO
for arg in "$@"; do
    case "$arg" in
        --test) want_tests=ON; want_pipelines=ON ;;
        --pipelines) want_pipelines=ON ;;
        --native) native=ON ;;
        --no-cuda) cuda=OFF ;;
        *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

packages=(build-essential cmake pkg-config zlib1g-dev libhts-dev libbigwig-dev liblbfgspp-dev libeigen3-dev
          libboost-program-options-dev nlohmann-json3-dev catch2 gzip)
if [ "$want_tests" = ON ]; then
    # clang + the libFuzzer/sanitizer runtimes: tests/fuzz builds and runs the fuzz targets.
    # python3-venv: the Python package's test builds it into a fresh virtual environment.
    packages+=(clang libclang-rt-14-dev munge slurmctld slurmd slurm-client bowtie2-examples python3-venv)
fi
if [ "$want_pipelines" = ON ]; then
    packages+=(snakemake python3-numpy python3-matplotlib)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup.sh: installing ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "setup.sh: Debian packages already installed"
fi

if [ "$want_tests" = ON ] && command -v python3 >/dev/null; then
    if ! python3 -c 'import numpy' 2>/dev/null; then
        echo "setup.sh: installing numpy for the .npz/.npy round-trip tests"
        python3 -m pip install --quiet numpy || echo "setup.sh: numpy not installed; those checks will be skipped" >&2
    fi
fi

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDNAMBA_TESTS="$want_tests" \
      -DDNAMBA_NATIVE="$native" -DDNAMBA_CUDA="$cuda" >"$BUILD_DIR.cmake.log" 2>&1 \
    || { cat "$BUILD_DIR.cmake.log" >&2; exit 1; }
grep -E "dnamba: CUDA" "$BUILD_DIR.cmake.log" || true
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "setup.sh: built $BUILD_DIR/dnamba"
