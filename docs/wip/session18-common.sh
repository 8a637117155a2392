# Session 18: helpers that docs/wip/session18-a.sh and -b.sh source (on the GPU machine).
set -u
export PATH=/usr/local/cuda/bin:$PATH
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu
R=/tmp/n18; N=/tmp/new/build-gpu
mkdir -p $R
tests() { local B=$1 name=$2; shift 2
  timeout 240 "$B/tests/dnamba_tests" "$@" > $R/$name-tests.log 2>&1
  echo "[$(date +%T)] $name tests: exit $? ($(grep -E 'All tests passed|test cases' $R/$name-tests.log | tail -1))"
  grep -B5 -A25 "FAILED" $R/$name-tests.log | head -60; }
passed() { grep -q "All tests passed" "$R/$1-tests.log" 2>/dev/null; }
b() { timeout 60 "$1/dnamba" bench --device cuda --precision bf16 --pooled --warmup 1 "${@:2}" 2>&1 | grep -E '^median' | cut -c1-16; }
ab() { local B=$1; echo "1M $(b $B --length 1048576 --repeat 5) | 131k $(b $B --length 131072 --repeat 9) | 512x1k $(b $B --length 1000 --count 512 --batch-tokens 512000 --repeat 5) | 1k-shape 1M $(b $B --preset caduceus-1k --length 1048576 --repeat 5)"; }
stages() { timeout 60 "$1/dnamba" bench --device cuda --precision bf16 --pooled --length 1048576 --warmup 1 --repeat 1 --stages 2>&1 | grep -E '^stage' | awk '{$1=""; printf "%s; ", $0}'; echo; }
san() { local name=$1 tool=$2; shift 2
  timeout 90 compute-sanitizer --tool $tool --print-limit 5 "$@" > "$R/san-$name-$tool.log" 2>&1
  echo "[$(date +%T)] $name $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$R/san-$name-$tool.log" | tail -1)"; }
# mean of the 1 Mnt medians (field 4 after the label) on the lines of log $1 that start with label $2
mean1m() { awk -v l="$2" 'index($0, l) == 1 { sub(l, ""); s += $3; n++ } END { if (n) printf "%.5f", s / n; else print "nan" }' "$1"; }
# 1 when mean $1 is below 0.99 * mean $2
faster() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "nan" && b != "nan" && a < 0.99 * b) ? 1 : 0 }'; }
