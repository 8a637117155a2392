#!/usr/bin/env python3
"""The scaling plot of README.md's Performance section: forward time and peak device memory
against input length (caduceus-131k preset, batch 1, mean-pooled on the device), bf16 and fp32,
from the TSV that scripts/bench_gpu.sh writes, with the PyTorch stack's points from
../shared/DEVICE.md (same device type) for comparison.

    python3 scripts/plot_scaling.py docs/perf/bench-h100-2026-11-22.tsv docs/perf/scaling.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# DEVICE.md, H100 80GB HBM3, 2026-11-22: mamba_ssm + causal-conv1d + Triton add+RMSNorm
STACK = {
    "bf16": [(131072, 0.0698, 1.30), (1048576, 0.567, 10.2), (4194304, 2.22, 40.8)],
    "fp32": [(131072, 0.229, 2.29), (1048576, 1.83, 18.3)],
}


def main(tsv, png):
    series = {"bf16": [], "fp32": []}
    with open(tsv) as f:
        for row in csv.reader(f, delimiter="\t"):
            preset, engine, length, count, median = row[:5]
            if preset != "caduceus-131k" or not engine.endswith("pooled") or count != "1":
                continue
            dtype = "bf16" if "bf16" in engine else "fp32"
            series[dtype].append((int(length), float(median), int(row[6]) / 2**30))
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.3))
    colors = {"bf16": "tab:blue", "fp32": "tab:orange"}
    for dtype, points in series.items():
        # one point per length: the default memory plan (the series runs it first)
        seen, pts = set(), []
        for p in points:
            if p[0] not in seen:
                seen.add(p[0])
                pts.append(p)
        pts.sort()
        xs = [p[0] for p in pts]
        ax_t.plot(xs, [p[1] for p in pts], "o-", color=colors[dtype], label=f"dnamba {dtype}")
        ax_m.plot(xs, [p[2] for p in pts], "o-", color=colors[dtype], label=f"dnamba {dtype}")
        sx = [p[0] for p in STACK[dtype]]
        ax_t.plot(sx, [p[1] for p in STACK[dtype]], "x--", color=colors[dtype], label=f"PyTorch stack {dtype}")
        ax_m.plot(sx, [p[2] for p in STACK[dtype]], "x--", color=colors[dtype], label=f"PyTorch stack {dtype}")
        if xs:  # slope-1 guide through the longest point: linear time
            x1, t1 = xs[-1], pts[-1][1]
            ax_t.plot([xs[0], x1], [t1 * xs[0] / x1, t1], ":", color="grey", linewidth=1)
    ax_m.axhline(80, color="red", linewidth=0.8)
    ax_m.text(1200, 62, "H100 80 GB", color="red", fontsize=8)
    for ax, title, ylabel in ((ax_t, "forward time (median)", "seconds"),
                              (ax_m, "peak device memory", "GiB")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("input length (nt), batch 1")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("caduceus-131k shape (d_model 256, 16 bidirectional layers), H100, mean-pooled on the device; "
                 "dotted: linear", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
