#!/usr/bin/env bash
# Build and test dnamba on the GPU machine (Ubuntu, CUDA at /usr/local/cuda, no htslib/Boost/
# Eigen/Catch2/nlohmann-json installed; see ../shared/DEVICE.md). The Debian packages travel
# in .deps/ (fetch them here with `scripts/gpu.sh --download`) and are unpacked into a
# prefix, never into /.
#   scripts/gpu.sh --download        (on the Debian dev machine) fill .deps/
#   scripts/gpu.sh [build|test]      (on the GPU machine) unpack, configure, build [, ctest]
#   scripts/gpu.sh deps              (on the GPU machine) unpack only (scripts/gpu_python.sh uses it)
#   scripts/gpu.sh prebuild          (on the Debian dev machine, CUDA at /usr/local/cuda) build the
#                                    GPU binaries here, against the packages that .deps/ carries, so
#                                    the device spends no time building: carry the three paths it
#                                    prints with .deps, run `scripts/gpu.sh deps` there and set
#                                    LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu. The tests
#                                    find testdata/ and the CLI by absolute paths, which match where
#                                    the device tool puts the tree (the same path as here).
# Environment: DEPS_PREFIX (default /opt/deps), BUILD_DIR (default build-gpu), BUILD_TARGETS (default all).
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS_PREFIX=${DEPS_PREFIX:-/opt/deps}
BUILD_DIR=${BUILD_DIR:-build-gpu}
packages=(libhts-dev libhts3 libhtscodecs2 libdeflate0 libbigwig-dev libbigwig0 libeigen3-dev
          libboost-program-options1.74-dev libboost-program-options1.74.0 libboost1.74-dev
          catch2 nlohmann-json3-dev liblbfgspp-dev zlib1g-dev)

if [ "${1:-}" = "--download" ]; then
    mkdir -p .deps && (cd .deps && apt-get download "${packages[@]}")
    du -sh .deps
    exit 0
fi

mode=${1:-test}
if [ "$mode" = prebuild ]; then
    export PATH="/usr/local/cuda/bin:$PATH"
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDNAMBA_CUDA=ON -DDNAMBA_TESTS=ON \
          -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}" > /dev/null
    cmake --build "$BUILD_DIR" -j "$(nproc)" --target ${BUILD_TARGETS:-dnamba_cli dnamba_tests dnamba_bench_scan}
    echo "carry: .deps $BUILD_DIR/dnamba $BUILD_DIR/tests/dnamba_tests $BUILD_DIR/tests/dnamba_bench_scan"
    du -ch "$BUILD_DIR/dnamba" "$BUILD_DIR/tests/dnamba_tests" "$BUILD_DIR/tests/dnamba_bench_scan" .deps | tail -1
    exit 0
fi
# Ubuntu's own libcurl-gnutls serves htslib and libBigWig; Debian's would pull in libssh2 &c.
rm -rf "$DEPS_PREFIX"
mkdir -p "$DEPS_PREFIX"
for f in .deps/*.deb; do dpkg -x "$f" "$DEPS_PREFIX"; done
[ "$mode" = deps ] && exit 0
export LD_LIBRARY_PATH="$DEPS_PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="/usr/local/cuda/bin:$PATH"
# sm_90 only here (the H200): half the device compile time of the default "80-real;90"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDNAMBA_CUDA=ON -DDNAMBA_TESTS=ON \
      -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}" \
      -DCMAKE_PREFIX_PATH="$DEPS_PREFIX/usr" -DCMAKE_INCLUDE_PATH="$DEPS_PREFIX/usr/include" \
      -DCMAKE_LIBRARY_PATH="$DEPS_PREFIX/usr/lib/x86_64-linux-gnu"
cmake --build "$BUILD_DIR" -j "$(nproc)" ${BUILD_TARGETS:+--target $BUILD_TARGETS}
if [ "$mode" = test ]; then
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
fi
