#!/usr/bin/env bash
# The Python package on the GPU machine (issue #15: "a wheel built with CUDA on the GPU machine
# works there too"): the CLI built as scripts/gpu.sh does (the tests compare the package with it),
# then `pip install .` with the CUDA kernels into a fresh venv, and pytest tests/python, the `gpu`
# tests included. The GPU machine reaches no package registry, so the build requirements and
# pytest travel as wheels in the ignored .whl/ (numpy comes from the machine's own Python 3.12).
#   scripts/gpu_python.sh --download   (here) fill .whl/
#   scripts/gpu_python.sh [OUT_DIR]    (there, with .deps and .whl carried) build, install, test
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--download" ]; then
    python3 -m pip download --quiet --dest .whl --only-binary=:all: --python-version 3.12 \
        --platform manylinux2014_x86_64 --implementation cp scikit-build-core pybind11 pytest
    du -sh .whl
    exit 0
fi
out=${1:-${OUT:-python-gpu-out}}
mkdir -p "$out"
DEPS_PREFIX=${DEPS_PREFIX:-/opt/deps}
export LD_LIBRARY_PATH="$DEPS_PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="/usr/local/cuda/bin:$PATH"
scripts/gpu.sh build > "$out/cli-build.log" 2>&1 || { tail -30 "$out/cli-build.log"; exit 1; }
export DNAMBA_BINARY=$PWD/${BUILD_DIR:-build-gpu}/dnamba
venv=${VENV:-/tmp/dnamba-venv}
rm -rf "$venv"
python3 -m venv --system-site-packages "$venv"
# the machine's python3 may itself be a virtual environment (torch's, with numpy): a venv made
# from it sees only the base interpreter's packages, so its site directory is added by a .pth
host_site=$(python3 -c 'import os, numpy; print(os.path.dirname(os.path.dirname(numpy.__file__)))')
"$venv/bin/python" -c 'import numpy' 2> /dev/null ||
    echo "$host_site" > "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/host-site.pth"
"$venv/bin/pip" install --quiet --no-index --find-links .whl scikit-build-core pybind11 pytest
# .deps has zlib's headers and static library only (libz.so there points into the runtime package,
# not carried): a shared module needs the machine's own libz.so.1, not the non-PIC libz.a
zlib=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')
start=$(date +%s)
"$venv/bin/pip" install --no-index --find-links .whl --no-build-isolation . \
    --config-settings=cmake.define.pybind11_DIR="$("$venv/bin/python" -m pybind11 --cmakedir)" \
    --config-settings=cmake.define.DNAMBA_CUDA=ON --config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES=90 \
    --config-settings=cmake.define.CMAKE_PREFIX_PATH="$DEPS_PREFIX/usr" \
    --config-settings=cmake.define.CMAKE_INCLUDE_PATH="$DEPS_PREFIX/usr/include" \
    --config-settings=cmake.define.CMAKE_LIBRARY_PATH="$DEPS_PREFIX/usr/lib/x86_64-linux-gnu" \
    ${zlib:+--config-settings=cmake.define.ZLIB_LIBRARY="$zlib"} \
    --config-settings=build-dir=/tmp/dnamba-pybuild > "$out/pip.log" 2>&1 || { tail -40 "$out/pip.log"; exit 1; }
echo "gpu_python: pip install took $(( $(date +%s) - start )) s"
cd /tmp  # not the checkout: `import dnamba` must find the installed package
"$venv/bin/python" -c 'import dnamba; print("dnamba", dnamba.__version__, dnamba.devices())'
"$venv/bin/python" -m pytest -q -p no:cacheprovider -c "$OLDPWD/pyproject.toml" --rootdir "$OLDPWD" "$OLDPWD/tests/python" \
    2>&1 | tee "$out/pytest.log" | tail -15
