"""The README's Python example runs as written (from the repository root) and its PCA tells
the two species apart."""
import os
import re

import numpy as np
import pytest

from conftest import ROOT, missing


def readme_example():
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return blocks[0]


def test_readme_example_runs(tmp_path, monkeypatch):
    try:
        import matplotlib
    except ImportError:
        missing("matplotlib is not installed")
    matplotlib.use("Agg")
    monkeypatch.chdir(ROOT)
    code = readme_example().replace('"two-species-pca.png"', repr(str(tmp_path / "pca.png")))
    scope = {}
    exec(compile(code, "README.md (Python example)", "exec"), scope)
    assert (tmp_path / "pca.png").stat().st_size > 10000
    pcs, species = scope["pcs"], scope["species"]
    assert pcs.shape == (80, 2) and sorted(set(species)) == ["C.elegans", "P.knowlesi"]
    # the first component separates the species for most windows
    a, b = (pcs[species == s, 0] for s in ("C.elegans", "P.knowlesi"))
    threshold = (a.mean() + b.mean()) / 2
    agree = ((a > threshold).sum() + (b <= threshold).sum()) / 80
    assert max(agree, 1 - agree) > 0.8
