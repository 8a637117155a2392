#!/usr/bin/env bash
# Opt-in: builds dnamba and its tests with AddressSanitizer + UndefinedBehaviorSanitizer (GCC) in
# build-sanitize/ and runs the Catch2 suite (unit and end-to-end tests on the sanitized binary)
# under ctest. Any ASan/UBSan report fails the test that triggered it (halt_on_error). Not part
# of .ci/run; README "Tests" says how long it takes. The libFuzzer targets (already ASan+UBSan
# under clang), the pipeline tests and the Python package's test are left out.
# Environment: BUILD_DIR (default build-sanitize), JOBS (default: number of cores).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-sanitize}
JOBS=${JOBS:-$(nproc)}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNAMBA_TESTS=ON -DDNAMBA_CUDA=OFF -DDNAMBA_FUZZ=OFF \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
      -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >"$BUILD_DIR.cmake.log" 2>&1 \
    || { cat "$BUILD_DIR.cmake.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j "$JOBS"
built=$(date +%s)
# detect_leaks=0: htslib and libgomp keep process-lifetime allocations that LeakSanitizer reports.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" -E '^(pipeline_|python_package|fuzz_)' || status=$?
done_at=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((done_at - built)) s"
exit "$status"
