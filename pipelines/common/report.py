#!/usr/bin/env python3
"""Report step of the dnamba Snakemake workflows (pipelines/common/shards.smk).

Summarises a sharded `dnamba embed` or `dnamba classify` run: the shard plan, the merged
output and, when given, the per-shard Snakemake benchmark files. Writes into --outdir:

  summary.tsv   key<TAB>value lines (deterministic: no timestamps, no paths)
  summary.md    the same as a Markdown page, with the plot embedded by relative link
  pca.png       embed mode: PC1 vs PC2 of the pooled embeddings, coloured by chromosome
  track.png     classify mode: one class's probability along the longest chromosomes

Every file is written under a temporary name and renamed when all are complete. Bad input
(a missing file, a wrong header, a ragged or non-numeric row) is reported on stderr with the
file and line, the exit status is 1 and none of the final names is left in --outdir.
Uses only the standard library, numpy and matplotlib (Agg); runs under /usr/bin/python3.
"""
import argparse
import array
import hashlib
import math
import os
import re
import sys
import zipfile

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

PROG = "report.py"
PLAN_HEADER = ["shard", "first_row", "end_row", "rows", "bases", "first", "last"]
ROW_COLUMNS = ["name", "chrom", "start", "end", "strand"]
MAX_LEGEND_CHROMS = 20
MAX_TRACK_PANELS = 6
MAX_LISTED_CHROMS = 100          # chrom:<name> lines in summary.tsv (read sets: one per read)
MAX_MD_CHROMS = 30               # rows of the chromosome table in summary.md
NPZ_POOL_BYTES = 4 << 30         # at most this many array bytes read to pool an .npz
TRACK_BINS = 2000                # a panel with more segments is drawn binned (mean, min-max)
SEED = 0                         # PCA subsample


class InputError(Exception):
    """Bad input: a message naming the file (and line)."""

    def __init__(self, path, msg, line=None):
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {msg}")


def warn(msg):
    print(f"{PROG}: warning: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# small helpers

def open_text(path):
    if not os.path.exists(path):
        raise InputError(path, "no such file")
    if os.path.isdir(path):
        raise InputError(path, "is a directory, expected a file")
    try:
        return open(path, "r", encoding="utf-8", newline="")
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror}")


def lines_of(path):
    """Yields (line number, line without its end of line), leaving out dnamba's provenance
    lines ('#dnamba {...}' first, '#dnamba-end {...}' last; README: Provenance)."""
    with open_text(path) as f:
        try:
            for no, line in enumerate(f, 1):
                if line.startswith("#dnamba ") or line.startswith("#dnamba-end "):
                    continue
                yield no, line.rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise InputError(path, f"not UTF-8 text ({e.reason})")


def parse_int(path, no, field, value):
    try:
        return int(value)
    except ValueError:
        raise InputError(path, f"column '{field}': '{value}' is not an integer", no)


def parse_float(path, no, field, value):
    try:
        return float(value)
    except ValueError:
        raise InputError(path, f"column '{field}': '{value}' is not a number", no)


def expect_header(path, no, got, want, what):
    if got[: len(want)] != want:
        raise InputError(path, f"{what} header expected to start with '{chr(9).join(want)}', "
                               f"got '{chr(9).join(got[:len(want) + 1])}'", no)


def ragged(path, no, got, want):
    return InputError(path, f"{got} column(s), the header has {want}", no)


def fmt_num(x):
    """Integers as integers, others with up to 6 significant digits."""
    if x is None:
        return "NA"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if not math.isfinite(x):
        return "NA"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def clean(s):
    return str(s).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def md_escape(s):
    return str(s).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def top_groups(counts, k):
    """The k groups with most rows (ties: first seen), kept in first-seen order."""
    order = {g: i for i, g in enumerate(counts)}
    best = sorted(counts, key=lambda g: (-counts[g], order[g]))[:k]
    keep = set(best)
    return [g for g in counts if g in keep]


def human_bases(n):
    n = float(n)
    for unit, div in (("Gb", 1e9), ("Mb", 1e6), ("kb", 1e3)):
        if n >= div:
            return f"{n / div:.3g} {unit}"
    return f"{int(n)} bp"


# --------------------------------------------------------------------------------------------
# inputs

def read_plan(path):
    it = lines_of(path)
    first = next(it, None)
    if first is None:
        raise InputError(path, "empty file (expected the header of a `dnamba plan` table)")
    no, line = first
    header = line.split("\t")
    if header != PLAN_HEADER:
        raise InputError(path, f"plan header expected '{chr(9).join(PLAN_HEADER)}', got '{line}'", no)
    shards = []
    for no, line in it:
        f = line.split("\t")
        if len(f) != len(PLAN_HEADER):
            raise ragged(path, no, len(f), len(PLAN_HEADER))
        s = {k: parse_int(path, no, k, f[i]) for i, k in enumerate(PLAN_HEADER[:5])}
        if s["end_row"] - s["first_row"] != s["rows"] or s["rows"] < 0 or s["bases"] < 0:
            raise InputError(path, "inconsistent shard (end_row - first_row != rows, or a negative count)", no)
        s["first"], s["last"] = f[5], f[6]
        shards.append(s)
    if not shards:
        raise InputError(path, "no shard lines after the header")
    return shards


def read_row_table(path, allow_index=True):
    """A names table (.names.tsv of an .npy): optional index column then name chrom start end strand."""
    it = lines_of(path)
    first = next(it, None)
    if first is None:
        raise InputError(path, "empty file (expected a header 'name\tchrom\tstart\tend\tstrand')")
    no, line = first
    header = line.split("\t")
    off = 1 if allow_index and header[:1] == ["index"] else 0
    expect_header(path, no, header[off:], ROW_COLUMNS, "names table")
    ncol = len(header)
    chroms = []
    for no, line in it:
        f = line.split("\t")
        if len(f) != ncol:
            raise ragged(path, no, len(f), ncol)
        if off:
            idx = parse_int(path, no, "index", f[0])
            if idx != len(chroms):
                raise InputError(path, f"index {idx}, expected {len(chroms)}", no)
        parse_int(path, no, "start", f[off + 2])
        parse_int(path, no, "end", f[off + 3])
        chroms.append(f[off + 1])
    return chroms


def subsample(n, k):
    """Deterministic subsample of k of n row indices (sorted)."""
    if n <= k:
        return np.arange(n)
    rng = np.random.default_rng(SEED)
    return np.sort(rng.choice(n, size=k, replace=False))


def load_embeddings(path, max_rows):
    """Returns dict: format, rows, channels, groups (list per row), X (sampled pooled rows,
    float64), sample (their row indices), group_kind, notes."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".tsv":
        return load_embeddings_tsv(path, max_rows)
    if ext == ".npy":
        return load_embeddings_npy(path, max_rows)
    if ext == ".npz":
        return load_embeddings_npz(path, max_rows)
    raise InputError(path, f"unknown embeddings format '{ext}' (expected .tsv, .npy or .npz)")


def load_embeddings_tsv(path, max_rows):
    # pass 1: header, field counts and row columns of every line
    it = lines_of(path)
    first = next(it, None)
    if first is None:
        raise InputError(path, "empty file (expected a header 'name\tchrom\tstart\tend\tstrand\te0...')")
    no, line = first
    header = line.split("\t")
    expect_header(path, no, header, ROW_COLUMNS, "embeddings")
    ncol = len(header)
    channels = ncol - len(ROW_COLUMNS)
    chroms = []
    for no, line in it:
        f = line.split("\t", 5)
        n = line.count("\t") + 1
        if n != ncol:
            raise ragged(path, no, n, ncol)
        parse_int(path, no, "start", f[2])
        parse_int(path, no, "end", f[3])
        chroms.append(f[1])
    n = len(chroms)
    sample = subsample(n, max_rows)
    X = np.zeros((len(sample), max(channels, 0)), dtype=np.float64)
    # pass 2: the values of the sampled rows (all rows when there are at most max_rows)
    if channels > 0 and len(sample):
        want = iter(sample.tolist())
        nxt = next(want, None)
        k = 0
        for i, (no, line) in enumerate(lines_of(path)):
            row = i - 1  # the header is the first line yielded
            if row != nxt:
                continue
            vals = line.split("\t")[5:]
            try:
                X[k] = np.array(vals, dtype=np.float32)  # as .npy holds them: same PCA
            except ValueError:
                for j, v in enumerate(vals):
                    parse_float(path, no, header[5 + j], v)
                raise InputError(path, "a value is not a number", no)
            k += 1
            nxt = next(want, None)
            if nxt is None:
                break
    return dict(format="tsv", rows=n, channels=channels, groups=chroms, X=X, sample=sample,
                group_kind="chrom", notes=[])


def npy_names_path(path):
    return path[: -len(".npy")] + ".names.tsv"


def load_embeddings_npy(path, max_rows):
    with open_text(path):  # exists, is a file, is readable
        pass
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise InputError(path, "not an .npy file (no NUMPY magic)")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(path, f"not a readable .npy array ({e})")
    if arr.ndim != 2:
        raise InputError(path, f"expected a 2-D (rows x channels) array, got shape {arr.shape}")
    if arr.dtype.kind != "f":
        raise InputError(path, f"expected a float array, got dtype {arr.dtype}")
    names = npy_names_path(path)
    chroms = read_row_table(names)
    if len(chroms) != arr.shape[0]:
        raise InputError(names, f"{len(chroms)} row(s), but {path} has {arr.shape[0]}")
    n, channels = int(arr.shape[0]), int(arr.shape[1])
    sample = subsample(n, max_rows)
    X = np.asarray(arr[sample], dtype=np.float64) if n else np.zeros((0, channels))
    return dict(format="npy", rows=n, channels=channels, groups=chroms, X=X, sample=sample,
                group_kind="chrom", notes=[])


_WINDOW_SUFFIX = re.compile(r"^(.+)_\d+$")


def key_group(key):
    """Colour group of an .npz key: the prefix before the first '/' or ':'. dnamba stores
    window names 'chrom/i' as 'chrom_i' (no '/' in archive keys), so failing those a trailing
    '_<number>' is dropped."""
    m = re.search(r"[/:]", key)
    if m and m.start() > 0:
        return key[: m.start()]
    m = _WINDOW_SUFFIX.match(key)
    return m.group(1) if m else key


def load_embeddings_npz(path, max_rows):
    if not os.path.exists(path):
        raise InputError(path, "no such file")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(path, f"not a readable .npz archive ({e})")
    keys, lengths, nbytes = [], [], []
    channels = None
    with zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy") or info.filename.startswith("dnamba/"):
                continue  # dnamba/...: the archive's row table and provenance, not records
            key = info.filename[:-4]
            try:
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
                raise InputError(path, f"member '{info.filename}': not a readable .npy array ({e})")
            if len(shape) != 2 or np.dtype(dtype).kind != "f":
                raise InputError(path, f"member '{info.filename}': expected a 2-D float (positions x "
                                       f"channels) array, got {np.dtype(dtype)} {shape}")
            if channels is None:
                channels = int(shape[1])
            elif shape[1] != channels:
                raise InputError(path, f"member '{info.filename}': {shape[1]} channels, the first has {channels}")
            keys.append(key)
            lengths.append(int(shape[0]))
            nbytes.append(int(shape[0]) * int(shape[1]) * np.dtype(dtype).itemsize)
    n = len(keys)
    channels = channels or 0
    notes = []
    k = max_rows
    total = sum(nbytes)
    if n and total > NPZ_POOL_BYTES:
        k = max(2, min(k, int(NPZ_POOL_BYTES / (total / n))))
        if k < min(n, max_rows):
            notes.append(f"PCA pooled {k} of {n} per-position arrays (read budget {NPZ_POOL_BYTES >> 30} GiB)")
    sample = subsample(n, k)
    X = np.zeros((len(sample), channels), dtype=np.float64)
    empty = 0
    if len(sample):
        try:
            with np.load(path, allow_pickle=False) as z:
                for i, r in enumerate(sample.tolist()):
                    a = z[keys[r]]
                    if a.shape[0] == 0:
                        X[i] = np.nan
                        empty += 1
                    else:
                        X[i] = a.mean(axis=0, dtype=np.float64)
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
            raise InputError(path, f"cannot read an array ({e})")
    if empty:
        notes.append(f"{empty} zero-length array(s) left out of the PCA")
    return dict(format="npz", rows=n, channels=channels, groups=[key_group(k) for k in keys], X=X,
                sample=sample, group_kind="key prefix", notes=notes, positions=sum(lengths))


def read_calls(path):
    it = lines_of(path)
    first = next(it, None)
    if first is None:
        raise InputError(path, "empty file (expected the header of a `dnamba classify` table)")
    no, line = first
    header = line.split("\t")
    expect_header(path, no, header, ROW_COLUMNS, "calls")
    pcols = header[5:-1]
    if header[-1] != "predicted" or not pcols or not all(c.startswith("p_") and len(c) > 2 for c in pcols):
        raise InputError(path, "calls header expected 'name chrom start end strand p_<class>... predicted', "
                               f"got '{line}'", no)
    classes = [c[2:] for c in pcols]
    ncol = len(header)
    nc = len(classes)
    chroms, starts, ends = [], array.array("q"), array.array("q")
    probs = array.array("d")
    predicted = []
    for no, line in it:
        f = line.split("\t")
        if len(f) != ncol:
            raise ragged(path, no, len(f), ncol)
        chroms.append(f[1])
        starts.append(parse_int(path, no, "start", f[2]))
        ends.append(parse_int(path, no, "end", f[3]))
        try:
            probs.extend(float(v) for v in f[5:5 + nc])
        except ValueError:
            for j in range(nc):
                parse_float(path, no, header[5 + j], f[5 + j])
            raise InputError(path, "a probability is not a number", no)
        predicted.append(f[-1])
    n = len(chroms)
    P = np.frombuffer(probs, dtype=np.float64).reshape(n, nc) if n else np.zeros((0, nc))
    return dict(classes=classes, chroms=chroms, starts=np.frombuffer(starts, dtype=np.int64),
                ends=np.frombuffer(ends, dtype=np.int64), P=P, predicted=predicted, rows=n)


_TRACK_NAME = re.compile(r'name=("([^"]*)"|(\S+))')


def read_bedgraph(path):
    """Returns (track name or None, {chrom: (starts, ends, values)} in file order)."""
    name = None
    data = {}
    header_done = False
    for no, line in lines_of(path):
        if not header_done:
            if line.startswith("track") or line.startswith("browser") or line.startswith("#") or not line.strip():
                if line.startswith("track"):
                    m = _TRACK_NAME.search(line)
                    if m:
                        name = m.group(2) if m.group(2) is not None else m.group(3)
                continue
            header_done = True
        f = line.split("\t")
        if len(f) != 4:
            raise InputError(path, f"{len(f)} column(s), a bedGraph line has 4 (chrom start end value)", no)
        s = parse_int(path, no, "start", f[1])
        e = parse_int(path, no, "end", f[2])
        v = parse_float(path, no, "value", f[3])
        if e < s:
            raise InputError(path, f"end {e} before start {s}", no)
        d = data.get(f[0])
        if d is None:
            d = data[f[0]] = (array.array("q"), array.array("q"), array.array("d"))
        d[0].append(s)
        d[1].append(e)
        d[2].append(v)
    out = {}
    for c, (s, e, v) in data.items():
        out[c] = (np.frombuffer(s, dtype=np.int64), np.frombuffer(e, dtype=np.int64),
                  np.frombuffer(v, dtype=np.float64))
    return name, out


def read_shard_logs(d):
    """Snakemake benchmark files (one per shard). Returns a list of dicts, one per file, with
    seconds, cpu_time and max_rss (MB) (None where not recorded); repeated runs are averaged."""
    if not os.path.exists(d):
        raise InputError(d, "no such directory")
    if not os.path.isdir(d):
        raise InputError(d, "not a directory")
    files = sorted(f for f in os.listdir(d) if f.endswith(".tsv") and not f.startswith("."))
    out = []
    for fn in files:
        path = os.path.join(d, fn)
        it = lines_of(path)
        first = next(it, None)
        if first is None:
            raise InputError(path, "empty file (expected a Snakemake benchmark header 's\th:m:s\t...')")
        no, line = first
        header = line.split("\t")
        if header[:2] != ["s", "h:m:s"]:
            raise InputError(path, f"benchmark header expected to start with 's\th:m:s', got '{line}'", no)
        col = {h: i for i, h in enumerate(header)}
        vals = {"s": [], "cpu_time": [], "max_rss": []}
        for no, line in it:
            f = line.split("\t")
            if len(f) != len(header):
                raise ragged(path, no, len(f), len(header))
            for k in vals:
                if k in col:
                    v = f[col[k]].strip()
                    if v in ("", "-", "NA", "nan", "NaN"):
                        continue
                    vals[k].append(parse_float(path, no, k, v))
        if not vals["s"]:
            raise InputError(path, "no benchmark line with a time in column 's'")
        mean = {k: (sum(v) / len(v) if v else None) for k, v in vals.items()}
        out.append(dict(file=fn, seconds=mean["s"], cpu_time=mean["cpu_time"], max_rss=mean["max_rss"]))
    return out


# --------------------------------------------------------------------------------------------
# plots

def note_png(path, title, note):
    fig = plt.figure(figsize=(7, 2.6), dpi=100)
    fig.text(0.5, 0.72, title, ha="center", va="center", fontsize=13, weight="bold", wrap=True)
    fig.text(0.5, 0.38, note, ha="center", va="center", fontsize=11, wrap=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def pca(X):
    """PC scores (n x 2) and variance fractions of the centered matrix (numpy SVD). Signs are
    fixed so that each component's largest-magnitude loading is positive."""
    Xc = X - X.mean(axis=0)
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    var = S ** 2
    total = var.sum()
    if not np.isfinite(total) or total <= 0:
        return None, None
    for i in range(min(2, Vt.shape[0])):
        if Vt[i, np.argmax(np.abs(Vt[i]))] < 0:
            Vt[i] = -Vt[i]
    scores = Xc @ Vt[:2].T
    return scores, var[:2] / total


def group_colours(n):
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    if n > 10:  # tab20 in the order dark0..dark9, light0..light9: neighbours differ more
        idx = list(range(0, 20, 2)) + list(range(1, 20, 2))
        return [cmap(idx[i]) for i in range(n)]
    return [cmap(i) for i in range(n)]


def plot_pca(path, title, scores, var, groups, counts, group_kind, n_rows):
    shown = [] if unaligned(counts) else top_groups(counts, MAX_LEGEND_CHROMS)
    single = not shown
    colours = dict(zip(shown, group_colours(len(shown))))
    grey = (0.12, 0.47, 0.71, 1.0) if single else (0.6, 0.6, 0.6, 1.0)
    n = scores.shape[0]
    other = np.array([g not in colours for g in groups], dtype=bool)
    cols = np.array([colours.get(g, grey) for g in groups])
    # grey first, then the coloured points in a fixed shuffled order (no group hides another)
    order = np.concatenate([np.flatnonzero(other),
                            np.random.default_rng(SEED).permutation(np.flatnonzero(~other))])
    size = float(np.clip(4000.0 / max(n, 1) ** 0.75, 2.0, 40.0))
    fig, ax = plt.subplots(figsize=(9.5, 6.5), dpi=110)
    ax.scatter(scores[order, 0], scores[order, 1], c=cols[order], s=size, alpha=0.75,
               linewidths=0)
    ax.set_xlabel(f"PC1 ({100 * var[0]:.1f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * var[1]:.1f}% of variance)")
    sub = f"{n:,} of {n_rows:,} rows" if n < n_rows else f"{n:,} rows"
    ax.grid(True, alpha=0.3)
    handles = [Line2D([], [], marker="o", linestyle="", markersize=7, color=colours[g],
                      label=f"{'* (unmapped)' if g == '*' else g} ({counts[g]:,})") for g in shown]
    n_other = len(counts) - len(shown)
    if n_other and not single:
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=7, color=grey,
                              label=f"{n_other:,} other {group_kind}s"))
    if single:
        sub += f"; one {group_kind} per row: not coloured"
    else:
        ax.legend(handles=handles, title=group_kind, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8, title_fontsize=9, frameon=False, borderaxespad=0.0)
    ax.set_title(f"{title}\nPCA of pooled embeddings ({sub})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def axis_unit(length):
    if length >= 1e6:
        return 1e6, "Mb"
    if length >= 1e3:
        return 1e3, "kb"
    return 1.0, "bp"


def step_xy(s, e, v):
    """Step outline of bedGraph segments, broken (NaN) at gaps."""
    order = np.argsort(s, kind="stable")
    s, e, v = s[order], e[order], v[order]
    xs, ys = [], []
    for i in range(len(s)):
        if i and s[i] > e[i - 1]:
            xs.append(np.nan)
            ys.append(np.nan)
        xs += [s[i], e[i]]
        ys += [v[i], v[i]]
    return np.array(xs, dtype=float), np.array(ys, dtype=float)


def binned(x, v, w, length, bins):
    """Weighted mean, min and max of v per bin of x over [0, length)."""
    edges = np.linspace(0, length, bins + 1)
    b = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    ws = np.bincount(b, weights=w, minlength=bins)
    vs = np.bincount(b, weights=w * v, minlength=bins)
    lo = np.full(bins, np.inf)
    hi = np.full(bins, -np.inf)
    np.minimum.at(lo, b, v)
    np.maximum.at(hi, b, v)
    has = np.bincount(b, minlength=bins) > 0
    mid = (edges[:-1] + edges[1:]) / 2
    mean = np.where(has, vs / np.where(ws > 0, ws, 1), np.nan)
    return mid, mean, np.where(has, lo, np.nan), np.where(has, hi, np.nan)


def plot_track(path, title, series, label, source, class_counts):
    """series: {chrom: dict(kind='segments'|'points', s, e, v, length)}; draws the longest
    MAX_TRACK_PANELS chromosomes, and a bar chart of predicted classes."""
    by_len = sorted(series, key=lambda c: -series[c]["length"])  # stable: ties keep input order
    chosen = set(by_len[:MAX_TRACK_PANELS])
    panels = [c for c in series if c in chosen]
    n = len(panels)
    height = 1.0 + 1.75 * n
    fig = plt.figure(figsize=(12, max(height, 4.0)), dpi=100)
    gs = fig.add_gridspec(n, 2, width_ratios=[4.2, 1.0], hspace=0.55, wspace=0.18)
    for i, c in enumerate(panels):
        d = series[c]
        ax = fig.add_subplot(gs[i, 0])
        scale, unit = axis_unit(d["length"])
        s, e, v = d["s"], d["e"], d["v"]
        colour = "tab:blue"
        if d["kind"] == "segments":
            if len(s) > TRACK_BINS:
                x, m, lo, hi = binned((s + e) / 2.0, v, np.maximum(e - s, 1).astype(float), d["length"], TRACK_BINS)
                ax.fill_between(x / scale, lo, hi, color=colour, alpha=0.25, linewidth=0, label="min-max")
                ax.plot(x / scale, m, color=colour, linewidth=0.8)
            else:
                x, y = step_xy(s, e, v)
                ax.plot(x / scale, y, color=colour, linewidth=1.0)
        else:
            x = (s + e) / 2.0
            order = np.argsort(x, kind="stable")
            x, v = x[order], v[order]
            if len(x) > TRACK_BINS:
                bx, m, lo, hi = binned(x, v, np.ones_like(v), d["length"], TRACK_BINS)
                ax.fill_between(bx / scale, lo, hi, color=colour, alpha=0.25, linewidth=0)
                ax.plot(bx / scale, m, color=colour, linewidth=0.8)
            else:
                ax.plot(x / scale, v, color=colour, linewidth=0.9, marker="o" if len(x) <= 200 else None,
                        markersize=2.5)
        ax.axhline(0.5, color="0.5", linewidth=0.6, linestyle="--")
        ax.set_ylim(-0.04, 1.04)
        ax.set_xlim(0, d["length"] / scale)
        ax.set_yticks([0, 0.5, 1])
        ax.set_ylabel(label, fontsize=9)
        ax.set_title(f"{c}  ({human_bases(d['length'])})", fontsize=10, loc="left")
        ax.set_title(f"position ({unit})", fontsize=8, loc="right", color="0.3")
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
    # predicted classes
    class_bars(fig.add_subplot(gs[:, 1] if n <= 2 else gs[: min(n, 3), 1]), class_counts)
    more = f"; {MAX_TRACK_PANELS} longest of {len(series)} chromosomes" if len(series) > n else ""
    fig.suptitle(f"{title}\n{label} along the genome (from {source}{more})", fontsize=11)
    fig.subplots_adjust(left=0.07, right=0.97, top=1 - 0.9 / max(height, 4.0), bottom=0.55 / max(height, 4.0))
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def class_bars(ax, class_counts):
    names = list(class_counts)
    vals = [class_counts[k] for k in names]
    ax.barh(range(len(names)), vals, color=group_colours(len(names)))
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_title("predicted class (rows)", fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    for j, val in enumerate(vals):
        ax.text(val, j, f" {val:,}", va="center", fontsize=8)
    ax.set_xlim(0, max(vals + [1]) * 1.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: f"{x / 1e6:g}M" if x >= 1e6 else f"{x / 1e3:g}k" if x >= 1e4 else f"{x:g}"))


def plot_distribution(path, title, values, label, source, class_counts):
    """Rows without positions along a chromosome (e.g. unaligned reads): a histogram of the
    class probability instead of a track."""
    fig = plt.figure(figsize=(12, 4.2), dpi=100)
    gs = fig.add_gridspec(1, 2, width_ratios=[4.2, 1.0], wspace=0.18)
    ax = fig.add_subplot(gs[0, 0])
    ax.hist(values, bins=np.linspace(0, 1, 51), color="tab:blue", alpha=0.85)
    ax.set_xlim(0, 1)
    ax.set_xlabel(label, fontsize=9)
    ax.set_ylabel("rows", fontsize=9)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
    class_bars(fig.add_subplot(gs[0, 1]), class_counts)
    fig.suptitle(f"{title}\ndistribution of {label} (from {source})", fontsize=11)
    fig.subplots_adjust(left=0.07, right=0.97, top=0.82, bottom=0.14)
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# report

def plan_summary(shards):
    bases = [s["bases"] for s in shards]
    rows = [s["rows"] for s in shards]
    return [
        ("shards", len(shards)),
        ("rows", sum(rows)),
        ("bases", sum(bases)),
        ("shard_bases_min", min(bases)),
        ("shard_bases_median", float(np.median(bases))),
        ("shard_bases_max", max(bases)),
        ("shard_rows_min", min(rows)),
        ("shard_rows_median", float(np.median(rows))),
        ("shard_rows_max", max(rows)),
    ]


def count_groups(groups):
    counts = {}
    for g in groups:
        counts[g] = counts.get(g, 0) + 1
    return counts


def unaligned(counts):
    """Every row its own chromosome: unaligned reads or records (dnamba names the chromosome
    after the record), nothing to group by."""
    return len(counts) > 1 and max(counts.values()) < 2


def chrom_lines(counts, prefix="chrom:"):
    out = [("chroms", len(counts))]
    if unaligned(counts):
        return out + [("chrom_note", "one row per chrom (unaligned records): not listed")]
    listed = top_groups(counts, MAX_LISTED_CHROMS)
    out += [(f"{prefix}{clean(c)}", counts[c]) for c in listed]
    if len(listed) < len(counts):
        keep = set(listed)
        out.append(("chrom_other_rows", sum(v for c, v in counts.items() if c not in keep)))
    return out


def timing_lines(logs):
    if logs is None:
        return []
    out = [("shard_logs", len(logs))]
    if not logs:
        return out
    secs = [l["seconds"] for l in logs]
    out += [("shard_seconds_min", round(min(secs), 3)), ("shard_seconds_median", round(float(np.median(secs)), 3)),
            ("shard_seconds_max", round(max(secs), 3)), ("shard_seconds_total", round(sum(secs), 3))]
    cpu = [l["cpu_time"] for l in logs if l["cpu_time"] is not None]
    if cpu:
        out.append(("shard_cpu_seconds_total", round(sum(cpu), 3)))
    rss = [l["max_rss"] for l in logs if l["max_rss"] is not None]
    if rss:
        out.append(("shard_max_rss_mb_max", round(max(rss), 2)))
    return out


def files_sha256(paths):
    """SHA-256 over the files' names (basename) and contents, in the order given."""
    h = hashlib.sha256()
    for path in paths:
        h.update(os.path.basename(path).encode() + b"\0")
        try:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except OSError as e:
            raise InputError(path, f"cannot read: {e.strerror}")
        h.update(b"\0")
    return h.hexdigest()


def provenance(args):
    """What made the outputs: dnamba's version and fingerprints of the model's and head's files."""
    items = []
    if args.dnamba_version:
        items.append(("dnamba_version", clean(args.dnamba_version)))
    if args.model_files:
        items.append(("model_sha256", files_sha256(sorted(args.model_files))))
    if args.head_file:
        items.append(("head_sha256", files_sha256([args.head_file])))
    return items


def build(args):
    """Reads and checks every input, returns (summary items, markdown sections, plot writer)."""
    shards = read_plan(args.plan)
    logs = read_shard_logs(args.shard_logs) if args.shard_logs else None
    items = [("mode", args.mode), ("title", clean(args.title))] + provenance(args) + plan_summary(shards)
    notes = []
    plan_rows = sum(s["rows"] for s in shards)
    if logs is not None and len(logs) != len(shards):
        notes.append(f"{len(logs)} shard benchmark file(s) for {len(shards)} shard(s)")

    if args.mode == "embed":
        emb = load_embeddings(args.embeddings, args.max_pca_rows)
        notes += emb["notes"]
        counts = count_groups(emb["groups"])
        items += [("output_rows", emb["rows"]), ("format", emb["format"]), ("channels", emb["channels"])]
        if "positions" in emb:
            items.append(("positions", emb["positions"]))
        if emb["rows"] != plan_rows:
            notes.append(f"the embeddings have {emb['rows']} row(s), the plan {plan_rows}")
        items += chrom_lines(counts)
        X = emb["X"]
        finite = np.all(np.isfinite(X), axis=1) if X.size else np.ones(X.shape[0], dtype=bool)
        bad = int((~finite).sum())
        if bad and emb["format"] != "npz":  # (npz: zero-length arrays, noted when pooled)
            notes.append(f"{bad} sampled row(s) with non-finite values left out of the PCA")
        X = X[finite]
        groups = [emb["groups"][i] for i, ok in zip(emb["sample"].tolist(), finite.tolist()) if ok]
        scores = var = None
        if X.shape[0] < 2 or emb["channels"] < 2:
            pca_note = (f"no PCA: {X.shape[0]} usable row(s) and {emb['channels']} channel(s) "
                        "(need at least 2 of each)")
        else:
            scores, var = pca(X)
            pca_note = None if scores is not None else "no PCA: all sampled rows are identical (zero variance)"
        items.append(("pca_rows", X.shape[0] if scores is not None else 0))
        if scores is not None:
            items += [("pca_pc1_variance", round(float(var[0]), 6)), ("pca_pc2_variance", round(float(var[1]), 6))]
        else:
            items.append(("pca_note", pca_note))
        plot_name = "pca.png"

        def plot(path):
            if scores is None:
                note_png(path, args.title, pca_note)
            else:
                plot_pca(path, args.title, scores, var, groups, counts, emb["group_kind"], emb["rows"])

        md = dict(kind="embed", emb=emb, counts=counts, var=var, pca_note=pca_note, pca_n=X.shape[0])
    else:
        calls = read_calls(args.calls)
        classes = calls["classes"]
        if args.cls is not None and args.cls not in classes:
            raise InputError(args.calls, f"--class '{args.cls}' is not a class of this table ({', '.join(classes)})")
        counts = count_groups(calls["chroms"])
        pred = count_groups(calls["predicted"])
        unknown = [p for p in pred if p not in classes]
        class_counts = {c: pred.get(c, 0) for c in classes}
        for p in unknown:
            class_counts[p] = pred[p]
        if unknown:
            notes.append(f"predicted value(s) not among the classes: {', '.join(unknown)}")
        if calls["rows"] != plan_rows:
            notes.append(f"the calls have {calls['rows']} row(s), the plan {plan_rows}")
        items += [("output_rows", calls["rows"]), ("classes", len(classes))]
        items += [(f"predicted:{clean(c)}", v) for c, v in class_counts.items()]
        means = calls["P"].mean(axis=0) if calls["rows"] else np.full(len(classes), np.nan)
        items += [(f"mean_p:{clean(c)}", round(float(m), 6) if np.isfinite(m) else None) for c, m in zip(classes, means)]
        items += chrom_lines(counts)
        # the track drawn: the bedGraph, or window midpoints of one class column
        track_cls = args.cls or (classes[1] if len(classes) >= 2 else classes[0])
        series, source, label, dist = {}, None, None, None
        track_used = None
        if args.track and args.track.lower().endswith((".bw", ".bigwig")):
            if not os.path.exists(args.track):
                raise InputError(args.track, "no such file")
            notes.append(f"bigWig track {os.path.basename(args.track)} not drawn (bedGraph only); "
                         f"drawn from {os.path.basename(args.calls)} instead")
        elif args.track:
            name, bg = read_bedgraph(args.track)
            if name and name.startswith("dnamba "):
                name = name[len("dnamba "):]
            label = f"P({name})" if name else "track value"
            source = os.path.basename(args.track)
            track_used = name or "?"
            for c, (s, e, v) in bg.items():
                if c == "*" or not len(s):
                    continue
                series[c] = dict(kind="segments", s=s, e=e, v=v, length=int(e.max()))
            if not series:
                notes.append(f"track {os.path.basename(args.track)} has no lines; "
                             f"drawn from {os.path.basename(args.calls)} instead")
                source = None
        if source is None:
            ci = classes.index(track_cls)
            label = f"P({track_cls})"
            source = f"{os.path.basename(args.calls)} window midpoints"
            track_used = track_cls
            chroms = calls["chroms"]
            idx = {}
            for i, c in enumerate(chroms):
                if c != "*":
                    idx.setdefault(c, []).append(i)
            for c, rows in idx.items():
                r = np.array(rows)
                s, e = calls["starts"][r], calls["ends"][r]
                series[c] = dict(kind="points", s=s, e=e, v=calls["P"][r, ci], length=int(max(e.max(), 1)))
            if calls["rows"] and max((len(x["s"]) for x in series.values()), default=0) < 2:
                # unaligned reads or records (chrom = the record's own name): no track to draw
                series = {}
                dist = calls["P"][:, ci]
                source = f"{os.path.basename(args.calls)}, all rows (no chromosome with 2 or more rows)"
        items += [("track_class", clean(track_used)), ("track_source", clean(source))]
        plot_name = "track.png"

        def plot(path):
            if dist is not None:
                plot_distribution(path, args.title, dist, label, source, class_counts)
            elif not series:
                note_png(path, args.title, "no positions to draw (no rows)")
            else:
                plot_track(path, args.title, series, label, source, class_counts)

        md = dict(kind="classify", classes=classes, class_counts=class_counts, means=means, counts=counts,
                  rows=calls["rows"], track_cls=track_used, source=source, n_series=len(series))

    items += timing_lines(logs)
    for n in notes:
        items.append(("note", clean(n)))
    return items, md, notes, logs, shards, plot_name, plot


def markdown(args, items, md, notes, logs, shards, plot_name):
    v = dict(items)
    L = [f"# {args.title}", ""]
    L += ["## Run", "", "| | |", "|---|---|",
          f"| mode | {args.mode} |",
          f"| shards | {v['shards']:,} |",
          f"| rows (plan) | {v['rows']:,} |",
          f"| rows (output) | {v['output_rows']:,} |",
          f"| bases | {v['bases']:,} ({human_bases(v['bases'])}) |",
          f"| bases per shard (min / median / max) | {v['shard_bases_min']:,} / {fmt_num(v['shard_bases_median'])} / {v['shard_bases_max']:,} |",
          f"| rows per shard (min / median / max) | {v['shard_rows_min']:,} / {fmt_num(v['shard_rows_median'])} / {v['shard_rows_max']:,} |",
          ""]
    if md["kind"] == "embed":
        emb = md["emb"]
        L += ["## Embeddings", "", "| | |", "|---|---|",
              f"| format | {emb['format']} |", f"| channels | {emb['channels']:,} |"]
        if "positions" in emb:
            L.append(f"| positions (all arrays) | {emb['positions']:,} |")
        if md["var"] is not None:
            L += [f"| PCA rows | {md['pca_n']:,}{' (subsample)' if md['pca_n'] < emb['rows'] else ''} |",
                  f"| PC1 variance explained | {100 * md['var'][0]:.2f}% |",
                  f"| PC2 variance explained | {100 * md['var'][1]:.2f}% |"]
        L.append("")
        if md["var"] is not None:
            L += [f"![PCA of the pooled embeddings]({plot_name})", ""]
        else:
            L += [f"*{md['pca_note']}*", "", f"![note]({plot_name})", ""]
    else:
        L += ["## Classes", "", "| class | predicted rows | fraction | mean probability |", "|---|---:|---:|---:|"]
        n = max(md["rows"], 1)
        for i, c in enumerate(md["class_counts"]):
            m = f"{md['means'][i]:.4f}" if i < len(md["classes"]) and np.isfinite(md["means"][i]) else "—"
            L.append(f"| {md_escape(c)} | {md['class_counts'][c]:,} | {md['class_counts'][c] / n:.3f} | {m} |")
        L += ["", f"Plot: P({md_escape(md['track_cls'])}) from {md_escape(md['source'])}.", "",
              f"![class probability along the genome]({plot_name})", ""]
    counts = md["counts"]
    kind = "key prefix" if md["kind"] == "embed" and md["emb"]["group_kind"] != "chrom" else "chromosome"
    L += [f"## Rows per {kind}", ""]
    if unaligned(counts):
        L += [f"Every row has its own {kind} ({len(counts):,} rows): unaligned reads or records.", ""]
    else:
        L += [f"| {kind} | rows |", "|---|---:|"]
        listed = top_groups(counts, MAX_MD_CHROMS)
        L += [f"| {md_escape(c)} | {counts[c]:,} |" for c in listed]
        if len(listed) < len(counts):
            keep = set(listed)
            L.append(f"| *{len(counts) - len(listed):,} others* | "
                     f"{sum(x for c, x in counts.items() if c not in keep):,} |")
        L.append("")
    if logs is not None:
        L += ["## Shard jobs", ""]
        if logs:
            L += ["| | |", "|---|---|",
                  f"| benchmark files | {len(logs):,} |",
                  f"| wall time per shard (min / median / max) | {v['shard_seconds_min']:.1f} s / "
                  f"{v['shard_seconds_median']:.1f} s / {v['shard_seconds_max']:.1f} s |",
                  f"| wall time, all shards | {v['shard_seconds_total']:.1f} s |"]
            if "shard_cpu_seconds_total" in v:
                L.append(f"| CPU time, all shards | {v['shard_cpu_seconds_total']:.1f} s |")
            if "shard_max_rss_mb_max" in v:
                L.append(f"| largest max RSS | {v['shard_max_rss_mb_max']:.1f} MB |")
        else:
            L.append("No benchmark files.")
        L.append("")
    prov = [(k, v[k]) for k in ("dnamba_version", "model_sha256", "head_sha256") if k in v]
    if prov or args.options:
        L += ["## Provenance", "", "| | |", "|---|---|"] + [f"| {k} | `{val}` |" for k, val in prov]
        if args.options:
            L.append(f"| options | `{args.options}` |")
        L.append("")
    if notes:
        L += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(L)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Report of a sharded dnamba embed/classify run (pipelines/common/shards.smk): "
                    "summary.tsv, summary.md and pca.png (embed) or track.png (classify) in OUTDIR. "
                    "Bad input: a message naming the file and line, exit status 1, no output left.")
    p.add_argument("--mode", required=True, choices=["embed", "classify"])
    p.add_argument("--plan", required=True, metavar="PLAN.tsv", help="shard plan from `dnamba plan`")
    p.add_argument("--outdir", required=True, metavar="REPORT_DIR", help="created if missing")
    p.add_argument("--embeddings", metavar="FILE",
                   help="embed mode: merged .tsv, .npy (+ FILE minus .npy + .names.tsv) or .npz "
                        "(per-position arrays, mean-pooled; coloured by key prefix)")
    p.add_argument("--calls", metavar="CALLS.tsv", help="classify mode: merged `dnamba classify` table")
    p.add_argument("--track", metavar="TRACK", help="classify mode, optional: the bedGraph drawn "
                   "(a .bw is not drawn: the calls' window midpoints are used instead)")
    p.add_argument("--class", dest="cls", metavar="NAME",
                   help="classify mode without a bedGraph: the class drawn (default: the second class column)")
    p.add_argument("--shard-logs", metavar="DIR",
                   help="folder of per-shard Snakemake benchmark files (*.tsv)")
    p.add_argument("--title", default=None, help="title of the page and plot (default: 'dnamba MODE')")
    p.add_argument("--dnamba-version", metavar="TEXT", help="provenance: `dnamba --version` of the run")
    p.add_argument("--model-files", nargs="*", default=[], metavar="FILE",
                   help="provenance: the model's files (config.json, *.safetensors), fingerprinted (SHA-256)")
    p.add_argument("--head-file", metavar="FILE", help="provenance: the head file, fingerprinted (SHA-256)")
    p.add_argument("--options", metavar="TEXT", help="provenance: the dnamba options of the shard jobs (summary.md)")
    p.add_argument("--max-pca-rows", type=int, default=20000, metavar="N",
                   help="PCA on a deterministic subsample of at most N rows (default 20000)")
    args = p.parse_args(argv)
    if args.mode == "embed" and not args.embeddings:
        p.error("--mode embed needs --embeddings")
    if args.mode == "classify" and not args.calls:
        p.error("--mode classify needs --calls")
    if args.mode == "embed" and (args.calls or args.track or args.cls):
        p.error("--calls, --track and --class are for --mode classify")
    if args.mode == "classify" and args.embeddings:
        p.error("--embeddings is for --mode embed")
    if args.max_pca_rows < 2:
        p.error("--max-pca-rows must be at least 2")
    if args.title is None:
        args.title = f"dnamba {args.mode}"

    plot_name = "pca.png" if args.mode == "embed" else "track.png"
    finals = [plot_name, "summary.md", "summary.tsv"]
    tmps = {}
    try:
        items, md, notes, logs, shards, plot_name, plot = build(args)
        try:
            os.makedirs(args.outdir, exist_ok=True)
        except OSError as e:
            raise InputError(args.outdir, f"cannot create the output folder: {e.strerror}")
        tag = f".tmp.{os.getpid()}"
        tmps = {f: os.path.join(args.outdir, f".{f}{tag}") for f in finals}
        plot(tmps[plot_name])
        with open(tmps["summary.md"], "w", encoding="utf-8") as f:
            f.write(markdown(args, items, md, notes, logs, shards, plot_name))
        with open(tmps["summary.tsv"], "w", encoding="utf-8") as f:
            f.writelines(f"{k}\t{fmt_num(v) if not isinstance(v, str) else v}\n" for k, v in items)
        for name in finals:  # summary.tsv (the pipeline's target) last
            os.replace(tmps[name], os.path.join(args.outdir, name))
        tmps = {}
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return fail(args.outdir, finals, tmps)
    except OSError as e:
        print(f"{PROG}: error: {e.filename or args.outdir}: {e.strerror}", file=sys.stderr)
        return fail(args.outdir, finals, tmps)
    except BaseException:
        fail(args.outdir, finals, tmps)
        raise
    for n in notes:
        warn(n)
    return 0


def fail(outdir, finals, tmps):
    """Removes the temporaries and any final output (a stale report must not stand)."""
    for t in tmps.values():
        try:
            os.remove(t)
        except OSError:
            pass
    for name in finals:
        path = os.path.join(outdir, name)
        try:
            if os.path.isfile(path):
                os.remove(path)
        except OSError:
            pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
