#!/usr/bin/env python3
"""Joins one run of scripts/bench_compare.sh: dnamba's results (dnamba.tsv from `dnamba bench
--tsv`, scan.tsv, embed.tsv) and the PyTorch stack's (stack-h200.json from .stack/stack_bench.py,
same machine, same run) into OUT_DIR/compare.tsv (one row per workload of the GPU-speed issue:
both times, stack / dnamba, both peak memories, the issue's target and whether it is met), and
prints the same as a Markdown table for README.md.

    python3 scripts/compare_stack.py OUT_DIR
"""
import csv
import json
import os
import sys

# (workload, dnamba preset, dtype, batch, length, stack model, target ms or None)
MODEL_ROWS = [
    ("caduceus-131k shape, bf16, 1 x 1,048,576 nt", "caduceus-131k", "bf16", 1, 1048576, "caduceus-131k", 150),
    ("caduceus-131k shape, bf16, 1 x 131,072 nt", "caduceus-131k", "bf16", 1, 131072, "caduceus-131k", 22),
    ("caduceus-131k shape, bf16, 512 x 1,000 nt", "caduceus-131k", "bf16", 512, 1000, "caduceus-131k", 110),
    ("caduceus-131k shape, bf16, 1 x 4,194,304 nt", "caduceus-131k", "bf16", 1, 4194304, "caduceus-131k", None),
    ("caduceus-131k shape, fp32, 1 x 1,048,576 nt", "caduceus-131k", "fp32", 1, 1048576, "caduceus-131k", 500),
    ("RCPS (PS), 131k shape, bf16, 1 x 1,048,576 nt", "caduceus-ps-131k", "bf16", 1, 1048576, "caduceus-131k-ps", 330),
    ("caduceus-1k shape, bf16, 1 x 1,048,576 nt", "caduceus-1k", "bf16", 1, 1048576, "caduceus-1k", 40),
    ("caduceus-1k shape, bf16, 512 x 1,000 nt", "caduceus-1k", "bf16", 512, 1000, "caduceus-1k", None),
]
SCAN_TARGETS = {("bf16", 1048576): 4.0, ("fp32", 1048576): 5.0}
MEMORY_TARGET_GIB = 2.6  # bf16, 1 Mnt: no regression
EMBED_TARGET_NT_S = 6e6
TORCH_DTYPE = {"bf16": "bfloat16", "fp32": "float32"}


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [row for row in csv.reader(f, delimiter="\t") if row]


def dnamba_row(rows, preset, dtype, batch, length):
    """The last `dnamba bench --tsv` line for this workload: (median ms, peak GiB)."""
    found = None
    for label, engine, L, count, median_s, _rate, peak, *_ in rows:
        if label == preset and f", {dtype})" in engine and int(L) == length and int(count) == batch:
            found = (float(median_s) * 1e3, int(peak) / 2**30)
    return found


def stack_row(stack, model, dtype, batch, length):
    for r in stack.get("caduceus", []):
        if (r.get("model") == model and r.get("dtype") == TORCH_DTYPE[dtype] and r.get("batch") == batch
                and r.get("L") == length and "ms" in r):
            return r["ms"], r.get("peak_GiB")
    return None


def fmt(v, unit="ms"):
    if v is None:
        return "-"
    if unit == "ms":
        return f"{v / 1e3:.2f} s" if v >= 1000 else f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"
    return f"{v:.2f} GiB"


def main(out):
    rows = read_tsv(os.path.join(out, "dnamba.tsv"))
    stack_path = os.path.join(out, "stack-h200.json")
    stack = json.load(open(stack_path)) if os.path.exists(stack_path) else {}
    table = []  # workload, stack ms, dnamba ms, ratio, stack GiB, dnamba GiB, target, verdict

    def verdict(value, target, lower_is_better=True):
        if target is None or value is None:
            return "-"
        ok = value <= target if lower_is_better else value >= target
        return "met" if ok else f"missed ({value / target:.2f}x)" if lower_is_better else f"missed ({target / value:.2f}x)"

    for workload, preset, dtype, batch, length, smodel, target in MODEL_ROWS:
        d = dnamba_row(rows, preset, dtype, batch, length)
        s = stack_row(stack, smodel, dtype, batch, length)
        dms, dgib = d if d else (None, None)
        sms, sgib = s if s else (None, None)
        ratio = sms / dms if sms and dms else None
        table.append([workload, sms, dms, ratio, sgib, dgib, target, verdict(dms, target)])
    for kind, dtype, L, ms in read_tsv(os.path.join(out, "scan.tsv")):
        # "scan": the kernel the engine runs (automatic: scan.hpp says which);
        # "scan-chunked" / "scan-one-pass": that kernel asked for by name
        L, dms = int(L), float(ms)
        sms = next((r["ms"] for r in stack.get("scan", []) if r["dtype"] == TORCH_DTYPE[dtype] and r["L"] == L), None)
        target = SCAN_TARGETS.get((dtype, L)) if kind == "scan" else None
        label = {"scan": "", "scan-chunked": " (chunked two-pass kernel, not the default)",
                 "scan-one-pass": " (one-pass kernel, not the default)"}.get(kind, f" ({kind})")
        table.append([f"scan alone, {dtype}, L = {L:,}, d_inner 512, N 16{label}", sms, dms, sms / dms if sms else None,
                      None, None, target, verdict(dms, target) if target else ""])
    d = dnamba_row(rows, "caduceus-131k", "bf16", 1, 1048576)
    s = stack_row(stack, "caduceus-131k", "bf16", 1, 1048576)
    if d:
        table.append(["peak device memory, bf16, 1 x 1,048,576 nt", None, None, None, s[1] if s else None, d[1],
                      MEMORY_TARGET_GIB, "met" if d[1] <= MEMORY_TARGET_GIB else f"missed ({d[1]:.2f} GiB)"])
    embeds = read_tsv(os.path.join(out, "embed.tsv"))

    with open(os.path.join(out, "compare.tsv"), "w") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["workload", "stack_ms", "dnamba_ms", "stack_over_dnamba", "stack_peak_GiB", "dnamba_peak_GiB",
                    "target", "verdict"])
        for r in table:
            w.writerow(["" if v is None else (f"{v:.4g}" if isinstance(v, float) else v) for v in r])
        for e in embeds:
            if len(e) >= 7:
                _, preset, dtype, window, mbp, secs, rate = e[:7]
                w.writerow([f"dnamba embed, {mbp} Mbp genome, {window}-nt windows, pooled, {dtype}", "", "",
                            "", "", "", "6e6 nt/s", verdict(float(rate), EMBED_TARGET_NT_S, False)])

    device = stack.get("device", "?")
    print(f"Device: {device}; PyTorch {stack.get('torch', '?')}\n")
    print("| workload | PyTorch stack | dnamba | stack / dnamba | issue target |")
    print("|---|---|---|---|---|")
    for workload, sms, dms, ratio, sgib, dgib, target, v in table:
        if workload.startswith("peak"):
            print(f"| {workload} | {fmt(sgib, 'GiB')} | {fmt(dgib, 'GiB')} | - | <= {target} GiB: {v} |")
            continue
        mem = f", {fmt(dgib, 'GiB')}" if dgib else ""
        smem = f", {fmt(sgib, 'GiB')}" if sgib else ""
        tgt = f"<= {fmt(target)}: {v}" if target else "-"
        print(f"| {workload} | {fmt(sms)}{smem} | {fmt(dms)}{mem} | {f'{ratio:.2f}' if ratio else '-'} | {tgt} |")
    for e in embeds:
        if len(e) >= 7:
            _, preset, dtype, window, mbp, secs, rate = e[:7]
            print(f"| `dnamba embed`, {mbp} Mbp genome, {int(window):,}-nt windows, pooled, {dtype} | (no such command) "
                  f"| {float(rate) / 1e6:.2f} Mnt/s ({float(secs):.1f} s) | - | >= 6 Mnt/s: "
                  f"{verdict(float(rate), EMBED_TARGET_NT_S, False)} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
