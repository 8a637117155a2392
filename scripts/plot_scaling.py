#!/usr/bin/env python3
"""The scaling plot of README.md's Performance section: forward time and peak device memory
against input length (caduceus-131k preset, batch 1, mean-pooled on the device), bf16 and fp32,
from the `dnamba bench --tsv` lines of one scripts/bench_compare.sh run, with the PyTorch
stack's points measured in the same run (compare.tsv of scripts/compare_stack.py).

    python3 scripts/plot_scaling.py docs/perf/bench-h200-2026-12-01.tsv \
        docs/perf/compare-h200-2026-12-01.tsv docs/perf/scaling.png
"""
import csv
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def stack_points(compare_tsv):
    """{dtype: [(length, seconds, GiB)]} of the caduceus-131k batch-1 rows of compare.tsv."""
    points = {"bf16": [], "fp32": []}
    with open(compare_tsv) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            m = re.match(r"caduceus-131k shape, (bf16|fp32), 1 x ([0-9,]+) nt", row["workload"])
            if m and row["stack_ms"]:
                points[m.group(1)].append((int(m.group(2).replace(",", "")), float(row["stack_ms"]) / 1e3,
                                           float(row["stack_peak_GiB"] or "nan")))
    return {k: sorted(v) for k, v in points.items()}


def main(tsv, compare_tsv, png):
    STACK = stack_points(compare_tsv)
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
    ax_m.axhline(141, color="red", linewidth=0.8)
    ax_m.text(1200, 105, "H200 141 GB", color="red", fontsize=8)
    for ax, title, ylabel in ((ax_t, "forward time (median)", "seconds"),
                              (ax_m, "peak device memory", "GiB")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("input length (nt), batch 1")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("caduceus-131k shape (d_model 256, 16 bidirectional layers), H200, mean-pooled on the device; "
                 "dotted: linear", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3])
