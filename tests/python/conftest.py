"""Shared fixtures of the Python tests (pytest; run from the repository root: `pytest tests/python`).

The tests compare the package with the `dnamba` binary: set DNAMBA_BINARY to it (CTest does),
else build/dnamba or `dnamba` on PATH is used. A test whose prerequisite is missing is skipped,
or fails when DNAMBA_STRICT_TESTS=1 (CI)."""
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import dnamba

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "testdata"
GOLDEN = TESTDATA / "golden"
TINY = TESTDATA / "models" / "tiny-caduceus"
PRETRAINED = ROOT / "models" / "caduceus-ps-1m-debian"


def missing(why):
    """Skip for a missing prerequisite, or fail under DNAMBA_STRICT_TESTS=1."""
    if os.environ.get("DNAMBA_STRICT_TESTS") == "1":
        pytest.fail(why + " (DNAMBA_STRICT_TESTS=1)")
    pytest.skip(why)


def pytest_collection_modifyitems(config, items):
    if any(d.startswith("cuda") for d in dnamba.devices()):
        return
    skip = pytest.mark.skip(reason="no CUDA device (dnamba.devices() lists only the CPU)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cli():
    """Path of the dnamba binary."""
    candidates = [os.environ.get("DNAMBA_BINARY"), str(ROOT / "build" / "dnamba"), shutil.which("dnamba")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    missing("the dnamba binary was not found (set DNAMBA_BINARY)")


def run_cli(cli, *args):
    """Runs `dnamba ARGS...` quietly; fails the test with its stderr when it fails."""
    r = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, f"dnamba {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}"
    return r


def read_tsv(path):
    """A pooled TSV of `dnamba embed` (or a classify table): header, rows of fields."""
    # without the provenance lines (#dnamba {...} first, #dnamba-end {...} last)
    lines = [line for line in Path(path).read_text().splitlines() if not line.startswith("#dnamba")]
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:] if line]


def read_safetensors(path):
    """{name: numpy array} of a safetensors file (F32/I32/I64 tensors only)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    dtypes = {"F32": np.float32, "I32": np.int32, "I64": np.int64}
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] not in dtypes:
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a : 8 + n + b], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
    return out


def read_fasta(path):
    """[(name, sequence)] of a plain FASTA."""
    records = []
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            records.append([line[1:].split()[0], ""])
        elif line.strip():
            records[-1][1] += line.strip()
    return [tuple(r) for r in records]


def golden_cases():
    manifest = json.loads((GOLDEN / "MANIFEST.json").read_text())
    return [c["name"] for c in manifest["cases"]]


def rel_error(a, b):
    """Relative Frobenius error, as the C++ tests measure it (tests/test_util.hpp)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
