#!/usr/bin/env bash
# The Python package's test, as a user gets it: a fresh virtual environment of Debian's
# /usr/bin/python3, `pip install .` of this checkout (numpy and the build requirements from
# PyPI; then pytest and matplotlib), then pytest tests/python against the dnamba binary in
# $DNAMBA_BINARY.
# usage: run_in_venv.sh WORK_DIR [pip install options...]
# Exit 77 (skipped; a failure under DNAMBA_STRICT_TESTS=1) when venv or PyPI is unavailable.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:?usage: run_in_venv.sh WORK_DIR [pip options]}
shift
skip() {
    echo "python package test: $1" >&2
    if [ "${DNAMBA_STRICT_TESTS:-0}" = 1 ]; then exit 1; fi
    exit 77
}
python=/usr/bin/python3
[ -x "$python" ] || skip "no $python"
rm -rf "$work/venv"
mkdir -p "$work"
"$python" -m venv "$work/venv" 2>"$work/venv.log" || skip "cannot create a venv (Debian: apt-get install python3-venv): $(cat "$work/venv.log")"
venv="$work/venv/bin"
start=$(date +%s)
# the build tree is kept in WORK_DIR/build so that a rerun only rebuilds what changed
if ! "$venv/pip" install --quiet --disable-pip-version-check "$root" \
        --config-settings=build-dir="$work/build" "$@" >"$work/pip.log" 2>&1; then
    if grep -qiE "connection|resolve|network|no matching distribution" "$work/pip.log"; then
        skip "PyPI unreachable: $(tail -1 "$work/pip.log")"
    fi
    cat "$work/pip.log" >&2
    exit 1
fi
echo "python package test: pip install took $(( $(date +%s) - start )) s"
# matplotlib: the README's example plots
"$venv/pip" install --quiet --disable-pip-version-check pytest matplotlib >>"$work/pip.log" 2>&1 \
    || skip "cannot install pytest and matplotlib"
cd "$work"  # not the checkout: `import dnamba` must find the installed package
"$venv/python" -c 'import dnamba; print("dnamba", dnamba.__version__, dnamba.__file__, dnamba.devices())'
exec "$venv/python" -m pytest -q -p no:cacheprovider -c "$root/pyproject.toml" --rootdir "$root" "$root/tests/python"
