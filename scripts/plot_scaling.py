#!/usr/bin/env python3
"""The scaling plot of README.md's Performance section: forward time and peak device memory
against input length (caduceus-131k preset, batch 1, mean-pooled on the device), bf16 and fp32,
from the `dnamba bench --tsv` lines of one scripts/bench_compare.sh run, with the PyTorch
stack's points measured in the same run (compare.tsv of scripts/compare_stack.py).

    python3 scripts/plot_scaling.py docs/perf/bench-h100-2026-12-07-s12.tsv \
        docs/perf/compare-h100-2026-12-07-s12.tsv docs/perf/scaling.png
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


# Device memory of the cards the runs used (GiB, as nvidia-smi reports it), for the plot's ceiling.
CARD_GIB = {"H100 80GB": 81559 / 1024, "H200": 143771 / 1024}


def main(tsv, compare_tsv, png):
    STACK = stack_points(compare_tsv)
    series = {"bf16": [], "fp32": []}
    card = "GPU"
    with open(tsv) as f:
        for row in csv.reader(f, delimiter="\t"):
            preset, engine, length, count, median = row[:5]
            if preset != "caduceus-131k" or not engine.endswith("pooled") or count != "1":
                continue
            m = re.search(r"\((?:NVIDIA )?(.*?), (?:bf16|fp32)\)", engine)  # "cuda:0 (NVIDIA H100 80GB HBM3, bf16) pooled"
            card = m.group(1) if m else card
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
    ceiling = next((gib for name, gib in CARD_GIB.items() if name in card), None)
    if ceiling:
        ax_m.axhline(ceiling, color="red", linewidth=0.8)
        ax_m.text(1200, ceiling * 0.75, f"{card}: {ceiling:.0f} GiB", color="red", fontsize=8)
    for ax, title, ylabel in ((ax_t, "forward time (median)", "seconds"),
                              (ax_m, "peak device memory", "GiB")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("input length (nt), batch 1")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"caduceus-131k shape (d_model 256, 16 bidirectional layers), {card}, mean-pooled on the device; "
                 "dotted: linear", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3])
