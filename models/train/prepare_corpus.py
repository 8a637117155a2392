#!/usr/bin/python3
"""Build the masked-LM pretraining corpus for a small Caduceus model from real genomes
shipped in Debian example/data packages.

What it does
  1. `apt-get download`s the packages below into a cache folder (skipped when the .deb is
     already there) and unpacks them with `dpkg-deb -x` (no dependencies get installed).
  2. Reads every listed genome (FASTA, plain/.gz/.xz, standard library only), upper-cases
     it and deduplicates: a genome whose whole sequence (sha1 of the concatenated records)
     was already seen is dropped, and so is any single record identical (either strand) to
     a record of an already kept genome. Held-out genomes are processed first, so a
     duplicate is removed from train, never from val/test. ragout's *_contigs files (drafts
     of listed strains) and unlisted files are not read at all (listed in the manifest).
  3. Puts each genome in exactly one split (train / val / test; see GENOMES). Val and test
     are deterministic samples of non-overlapping EVAL_WINDOW-bp windows (every genome of a
     split gets the same number of windows, spread evenly along the genome); train takes
     genomes whole, except that the largest ones are capped ("water-filling") so train fits
     --train-bp, by taking evenly spread --train-block-bp blocks.
  4. Encodes A=0 C=1 G=2 T=3, anything else (N, IUPAC) = 4, and writes
     {split}.u8.gz (gzip of raw uint8, records back to back), {split}.records.tsv
     (genome, record, species, offset, length, n_count, src_start) and manifest.json
     (copied to models/train/corpus-manifest.json, which is tracked by git).
  5. Measures leakage: for every val/test genome, the fraction of its canonical 31-mers
     that also occur in train (a near-identical strain in train shows up here).

Output is deterministic: same packages -> same bytes (gzip written with mtime=0, no name).

Rerun (from the repository root):
    /usr/bin/python3 models/train/prepare_corpus.py
    # or: --debs /tmp/dnamba-corpus-debs --root /tmp/dnamba-corpus-root --out models/train/corpus
"""

import argparse
import gzip
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import time

import numpy as np

PACKAGES = ["ragout-examples", "kleborate-examples", "smalt-examples", "spaln-data",
            "r-bioc-bsgenome", "maffilter-examples"]

RAG = "usr/share/doc/ragout/examples"
KLEB = "usr/share/doc/kleborate/examples/data"
SMALT = "usr/share/doc/smalt/test/data"

# (genome id, package, path inside package, species, strain, split, record filter or None)
GENOMES = [
    # --- test: one strain per bacterial species + held-out species + C. elegans chrX
    ("Ecoli_DH1", "ragout-examples", f"{RAG}/E.Coli/references/DH1.fasta.gz",
     "Escherichia coli", "DH1", "test", None),
    ("Vcholerae_O1_Inaba", "ragout-examples", f"{RAG}/V.Cholerae/references/O1_Inaba.fasta.gz",
     "Vibrio cholerae", "O1 Inaba G4222", "test", None),
    ("Saureus_USA300_FPR3757", "ragout-examples",
     f"{RAG}/S.Aureus/references/USA300_FPR3757.fasta.gz",
     "Staphylococcus aureus", "USA300_FPR3757", "test", None),
    ("Hpylori_G27", "ragout-examples", f"{RAG}/H.Pylori/references/G27.fasta.gz",
     "Helicobacter pylori", "G27", "test", None),
    ("Kpneumoniae_1084", "kleborate-examples", f"{KLEB}/Klebs_Kp1084.fna.xz",
     "Klebsiella pneumoniae", "1084", "test", None),
    ("Pknowlesi", "smalt-examples", f"{SMALT}/cigar_ref.fa.gz",
     "Plasmodium knowlesi", "H (smalt test reference)", "test", None),
    ("Celegans_chrX", "r-bioc-bsgenome", "usr/lib/R/site-library/BSgenome/extdata/ce2chrX.fa.gz",
     "Caenorhabditis elegans", "ce2 chrX", "test", None),
    # --- val: another strain per species with >= 3 strains + U. maydis
    ("Vcholerae_H1", "ragout-examples", f"{RAG}/V.Cholerae/references/H1.fasta.gz",
     "Vibrio cholerae", "H1", "val", None),
    ("Saureus_RF122", "ragout-examples", f"{RAG}/S.Aureus/references/RF122.fasta.gz",
     "Staphylococcus aureus", "RF122", "val", None),
    ("Hpylori_Puno120", "ragout-examples", f"{RAG}/H.Pylori/references/Puno120.fasta.gz",
     "Helicobacter pylori", "Puno120", "val", None),
    ("Kpneumoniae_NTUH-K2044", "kleborate-examples", f"{KLEB}/NTUH-K2044.fna.xz",
     "Klebsiella pneumoniae", "NTUH-K2044", "val", None),
    ("Umaydis", "maffilter-examples", "usr/share/doc/maffilter/examples/Umaydis/Umaydis.fasta.gz",
     "Ustilago maydis", "521", "val", None),
    # --- train
    ("Ecoli_MG1655", "ragout-examples", f"{RAG}/E.Coli/references/MG1655-K12.fasta.gz",
     "Escherichia coli", "K-12 MG1655", "train", None),
    ("Vcholerae_O395", "ragout-examples", f"{RAG}/V.Cholerae/references/O395.fasta.gz",
     "Vibrio cholerae", "O395", "train", None),
    ("Vcholerae_N16961", "ragout-examples", f"{RAG}/V.Cholerae/references/O1_biovar.fasta.gz",
     "Vibrio cholerae", "O1 biovar El Tor N16961", "train", None),
    ("Saureus_COL", "ragout-examples", f"{RAG}/S.Aureus/references/COL.fasta.gz",
     "Staphylococcus aureus", "COL", "train", None),
    ("Saureus_JKD6008", "ragout-examples", f"{RAG}/S.Aureus/references/JKD6008.fasta.gz",
     "Staphylococcus aureus", "JKD6008", "train", None),
    ("Saureus_N315", "ragout-examples", f"{RAG}/S.Aureus/references/N315.fasta.gz",
     "Staphylococcus aureus", "N315", "train", None),
    ("Hpylori_ELS37", "ragout-examples", f"{RAG}/H.Pylori/references/ELS37.fasta.gz",
     "Helicobacter pylori", "ELS37", "train", None),
    ("Hpylori_SJM180", "ragout-examples", f"{RAG}/H.Pylori/references/SJM180.fasta.gz",
     "Helicobacter pylori", "SJM180", "train", None),
    ("Hpylori_Gambia94_24", "ragout-examples", f"{RAG}/H.Pylori/references/Gambia94_24.fasta.gz",
     "Helicobacter pylori", "Gambia94/24", "train", None),
    ("Kpneumoniae_HS11286", "kleborate-examples", f"{KLEB}/Klebs_HS11286.fna.xz",
     "Klebsiella pneumoniae", "HS11286", "train", None),
    ("Kpneumoniae_MGH78578", "kleborate-examples", f"{KLEB}/MGH78578.fna.xz",
     "Klebsiella pneumoniae", "MGH 78578", "train", None),
    ("Pfalciparum", "smalt-examples", f"{SMALT}/genome_1.fa.gz",
     "Plasmodium falciparum", "3D7 (smalt test genome_1)", "train", None),
    ("Ddiscoideum", "spaln-data", "usr/share/spaln/seqdb/dictdisc_g.gf.gz",
     "Dictyostelium discoideum", "AX4", "train", None),
    ("Hsapiens_chrX", "smalt-examples", f"{SMALT}/hs37chrXtrunc.fa.gz",
     "Homo sapiens", "GRCh37 chrX (first 70 Mbp)", "train", None),
]

EXCLUDED = [
    ("ragout-examples", f"{RAG}/E.Coli/mg1655_contigs.fasta.gz", "draft contigs of MG1655 (listed strain)"),
    ("ragout-examples", f"{RAG}/V.Cholerae/h1_contigs.fasta.gz", "draft contigs of H1 (listed strain)"),
    ("ragout-examples", f"{RAG}/S.Aureus/usa300_contigs.fasta.gz", "draft contigs of USA300 (listed strain)"),
    ("ragout-examples", f"{RAG}/H.Pylori/SJM180_contigs.fasta.gz", "draft contigs of SJM180 (listed strain)"),
    ("smalt-examples", f"{SMALT}/contigs.fa.gz", "117 Mbp of assembly contigs of undocumented origin"),
    ("smalt-examples", f"{SMALT}/sequence_test_1.fa.gz", "2 Mbp test fragment, undocumented origin"),
    ("smalt-examples", f"{SMALT}/sequence_test_2.fa.gz", "1-bp test file"),
    ("r-bioc-bsgenome", "usr/lib/R/site-library/BSgenome/extdata/ce2chrM.fa.gz", "14 kbp mitochondrion, too small"),
    ("r-bioc-bsgenome", "usr/lib/R/site-library/BSgenome/extdata/ce2dict0.fa", "short-probe dictionary, not a genome"),
]

SPLITS = ("train", "val", "test")
EVAL_WINDOW = 4096
MAX_N_FRAC = 0.01          # windows/blocks with more N than this are not sampled
KMER = 31                  # k for the leakage measurement

ENC = np.full(256, 4, dtype=np.uint8)
for _i, _c in enumerate(b"ACGT"):
    ENC[_c] = _i
    ENC[ord(chr(_c).lower())] = _i
RC_TABLE = bytes.maketrans(b"ACGTRYKMBVDH", b"TGCAYRMKVBHD")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def fetch_packages(debs, root):
    """apt-get download each package into `debs` (unless its .deb is there) and dpkg-deb -x
    it into `root`. Returns {package: {"version", "deb", "licence"}}."""
    os.makedirs(debs, exist_ok=True)
    os.makedirs(root, exist_ok=True)
    info = {}
    for pkg in PACKAGES:
        have = sorted(f for f in os.listdir(debs) if f.startswith(pkg + "_") and f.endswith(".deb"))
        if not have:
            log(f"apt-get download {pkg}")
            subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True,
                           stdout=subprocess.DEVNULL)
            have = sorted(f for f in os.listdir(debs) if f.startswith(pkg + "_") and f.endswith(".deb"))
        deb = os.path.join(debs, have[-1])
        ver = subprocess.run(["dpkg-deb", "-f", deb, "Version"], check=True, capture_output=True,
                             text=True).stdout.strip()
        stamp = os.path.join(root, f".extracted-{have[-1]}")
        if not os.path.exists(stamp):
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
            open(stamp, "w").close()
        info[pkg] = {"version": ver, "deb": have[-1], "deb_sha256": sha256_file(deb),
                     "licence": package_licence(root, pkg)}
    return info


def package_licence(root, pkg):
    """The 'License:' of the 'Files: *' stanza of the package's Debian copyright file."""
    path = os.path.join(root, "usr/share/doc", pkg, "copyright")
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        return "unknown (no copyright file)"
    in_star = False
    for ln in lines:
        if ln.startswith("Files:"):
            in_star = ln.split(":", 1)[1].strip() == "*"
        elif in_star and ln.startswith("License:"):
            return ln.split(":", 1)[1].strip()
    return "unknown"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def open_any(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def read_fasta(path):
    """[(first word of header, upper-cased sequence bytes)] in file order."""
    recs, name, parts = [], None, []
    with open_any(path) as f:
        for line in f:
            if line.startswith(b">"):
                if name is not None:
                    recs.append((name, b"".join(parts).upper()))
                words = line[1:].split()
                name = words[0].decode() if words else f"record{len(recs)}"
                parts = []
            elif name is not None:
                parts.append(line.strip())
    if name is not None:
        recs.append((name, b"".join(parts).upper()))
    return recs


def tile_windows(recs_enc, win, n_wanted):
    """Deterministic sample of non-overlapping `win`-bp windows: candidates are the tiles
    [j*win, (j+1)*win) lying fully inside a record with at most MAX_N_FRAC N; if more than
    n_wanted, n_wanted of them evenly spread over the candidate list (genome order).
    n_wanted=None takes all. Returns [(record index, start)]."""
    cands = []
    for ri, (_, a) in enumerate(recs_enc):
        nt = len(a) // win
        if nt == 0:
            continue
        tiles = a[: nt * win].reshape(nt, win)
        nfrac = (tiles == 4).mean(axis=1)
        cands.extend((ri, j * win) for j in np.nonzero(nfrac <= MAX_N_FRAC)[0].tolist())
    if n_wanted is None or len(cands) <= n_wanted:
        return cands
    idx = ((np.arange(n_wanted) + 0.5) * len(cands) / n_wanted).astype(np.int64)
    return [cands[i] for i in idx]


def water_fill_cap(sizes, budget):
    """Largest cap c with sum(min(s, c)) <= budget (inf if everything fits)."""
    if sum(sizes) <= budget:
        return float("inf")
    s = sorted(sizes)
    rest = budget
    for i, v in enumerate(s):
        left = len(s) - i
        if v * left > rest:
            return rest / left
        rest -= v
    return float("inf")


def kmer_codes(a, k=KMER):
    """Canonical 2-bit codes (uint64) of every k-mer of the code array `a` that has no N."""
    n = len(a) - k + 1
    if n <= 0:
        return np.zeros(0, np.uint64)
    fw = np.zeros(n, np.uint64)
    rc = np.zeros(n, np.uint64)
    a64 = a.astype(np.uint64)
    for j in range(k):
        s = a64[j:j + n] & np.uint64(3)
        fw = (fw << np.uint64(2)) | s
        rc |= (np.uint64(3) - s) << np.uint64(2 * j)
    bad = np.concatenate([[0], np.cumsum(a == 4)])
    ok = (bad[k:k + n] - bad[:n]) == 0
    return np.minimum(fw, rc)[ok]


def write_gz(path, data):
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as g:
            g.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Rerun: /usr/bin/python3 models/train/prepare_corpus.py")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--debs", default="/tmp/dnamba-corpus-debs", help="cache of downloaded .deb files")
    ap.add_argument("--root", default="/tmp/dnamba-corpus-root", help="where the .debs are extracted")
    ap.add_argument("--out", default=os.path.join(here, "corpus"), help="output folder (git-ignored)")
    ap.add_argument("--manifest-copy", default=os.path.join(here, "corpus-manifest.json"),
                    help="tracked copy of manifest.json ('' to skip)")
    ap.add_argument("--train-bp", type=int, default=110_000_000, help="cap on train bases")
    ap.add_argument("--train-block-bp", type=int, default=65_536,
                    help="block size when a train genome must be subsampled")
    ap.add_argument("--eval-bp", type=int, default=6_000_000, help="cap on val and on test bases")
    ap.add_argument("--eval-window-bp", type=int, default=EVAL_WINDOW)
    ap.add_argument("--no-overlap", action="store_true", help="skip the 31-mer leakage measurement")
    args = ap.parse_args()
    t0 = time.time()

    pkg_info = fetch_packages(args.debs, args.root)

    # ---- read + deduplicate (held-out splits first so duplicates leave train)
    order = sorted(range(len(GENOMES)), key=lambda i: (("test", "val", "train").index(GENOMES[i][5]), i))
    seen_genome, seen_record = {}, {}
    kept, dropped = [], []
    for gi in order:
        gid, pkg, path, species, strain, split, filt = GENOMES[gi]
        recs = read_fasta(os.path.join(args.root, path))
        if filt:
            recs = [r for r in recs if r[0] in filt]
        whole = b"".join(s for _, s in recs)
        h = hashlib.sha1(whole).hexdigest()
        if h in seen_genome:
            dropped.append({"genome": gid, "package": pkg, "path": "/" + path,
                            "reason": f"identical sequence to genome {seen_genome[h]} (sha1 {h})"})
            continue
        seen_genome[h] = gid
        keep_recs = []
        for name, s in recs:
            rh = hashlib.sha1(s).hexdigest()
            rch = hashlib.sha1(s.translate(RC_TABLE)[::-1]).hexdigest()
            dup = seen_record.get(rh) or seen_record.get(rch)
            if dup:
                dropped.append({"genome": gid, "record": name, "package": pkg, "path": "/" + path,
                                "reason": f"record identical (either strand) to {dup[0]}:{dup[1]}"})
                continue
            seen_record[rh] = (gid, name)
            keep_recs.append((name, s))
        kept.append({"gi": gi, "id": gid, "package": pkg, "path": path, "species": species,
                     "strain": strain, "split": split, "source_sha1": h,
                     "source_sha256": hashlib.sha256(whole).hexdigest(),
                     "source_records": len(recs), "source_bases": len(whole),
                     "source_n": len(whole) - sum(whole.count(c) for c in b"ACGT"),
                     "recs": [(n, ENC[np.frombuffer(s, np.uint8)]) for n, s in keep_recs]})
        log(f"read {gid}: {len(recs)} records, {len(whole):,} bp  ({time.time() - t0:.0f}s)")
    kept.sort(key=lambda g: g["gi"])

    # ---- choose what goes in each split
    win = args.eval_window_bp
    for split in ("val", "test"):
        gs = [g for g in kept if g["split"] == split]
        per = args.eval_bp // len(gs) // win
        for g in gs:
            g["pieces"] = tile_windows(g["recs"], win, per)
            g["pieces"] = [(ri, st, win) for ri, st in g["pieces"]]
            g["sampling"] = (f"{len(g['pieces'])} non-overlapping {win}-bp windows evenly spread over "
                             f"the genome (<= {per} per genome, <= {MAX_N_FRAC:.0%} N)")
    tr = [g for g in kept if g["split"] == "train"]
    cap = water_fill_cap([sum(len(a) for _, a in g["recs"]) for g in tr], args.train_bp)
    blk = args.train_block_bp
    for g in tr:
        size = sum(len(a) for _, a in g["recs"])
        if size <= cap:
            g["pieces"] = [(ri, 0, len(a)) for ri, (_, a) in enumerate(g["recs"])]
            g["sampling"] = "whole genome"
        else:
            nb = int(cap // blk)
            g["pieces"] = [(ri, st, blk) for ri, st in tile_windows(g["recs"], blk, nb)]
            g["sampling"] = (f"{len(g['pieces'])} non-overlapping {blk}-bp blocks evenly spread over "
                             f"the genome (train cap {int(cap):,} bp by water-filling, <= {MAX_N_FRAC:.0%} N)")

    # ---- write
    os.makedirs(args.out, exist_ok=True)
    totals, files = {}, {}
    train_kmers = None
    for split in SPLITS:
        chunks, rows, off = [], [], 0
        for g in kept:
            if g["split"] != split:
                continue
            gh = hashlib.sha256()
            nb = nn = 0
            for ri, st, ln in g["pieces"]:
                name, a = g["recs"][ri]
                piece = a[st:st + ln]
                whole_rec = st == 0 and ln == len(a)
                rname = name if whole_rec else f"{name}:{st}-{st + ln}"
                n_n = int((piece == 4).sum())
                rows.append(f"{g['id']}\t{rname}\t{g['species']}\t{off}\t{len(piece)}\t{n_n}\t{st}")
                chunks.append(piece.tobytes())
                gh.update(chunks[-1])
                off += len(piece)
                nb += len(piece)
                nn += n_n
            g["out"] = {"records": len(g["pieces"]), "bases": nb, "n_count": nn,
                        "sha256": gh.hexdigest()}
        data = b"".join(chunks)
        assert len(data) == off
        write_gz(os.path.join(args.out, f"{split}.u8.gz"), data)
        with open(os.path.join(args.out, f"{split}.records.tsv"), "w") as f:
            f.write("genome\trecord\tspecies\toffset\tlength\tn_count\tsrc_start\n")
            f.write("\n".join(rows) + "\n")
        for fn in (f"{split}.u8.gz", f"{split}.records.tsv"):
            p = os.path.join(args.out, fn)
            files[fn] = {"bytes": os.path.getsize(p), "sha256": sha256_file(p)}
        totals[split] = {"genomes": sum(g["split"] == split for g in kept), "records": len(rows),
                         "bases": off, "n_count": sum(int(r.split("\t")[5]) for r in rows),
                         "uncompressed_sha256": hashlib.sha256(data).hexdigest()}
        log(f"wrote {split}: {off:,} bp, {len(rows)} records, gz {files[f'{split}.u8.gz']['bytes']:,} B"
            f"  ({time.time() - t0:.0f}s)")
        if split == "train" and not args.no_overlap:
            codes = np.frombuffer(data, np.uint8)
            starts = [int(r.split("\t")[3]) for r in rows] + [off]
            parts = [kmer_codes(codes[starts[i]:starts[i + 1]]) for i in range(len(rows))]
            train_kmers = np.unique(np.concatenate(parts))
            del parts
            log(f"train canonical {KMER}-mers: {len(train_kmers):,}  ({time.time() - t0:.0f}s)")

    if train_kmers is not None:
        for g in kept:
            if g["split"] == "train":
                continue
            ks = np.concatenate([kmer_codes(g["recs"][ri][1][st:st + ln]) for ri, st, ln in g["pieces"]])
            pos = np.searchsorted(train_kmers, ks)
            pos[pos == len(train_kmers)] = 0
            g["train_31mer_overlap"] = round(float((train_kmers[pos] == ks).mean()), 4)

    # ---- manifest
    packages = {p: {k: v for k, v in pkg_info[p].items()} for p in PACKAGES}
    manifest = {
        "description": "Masked-LM pretraining corpus for a small Caduceus model, built by "
                       "models/train/prepare_corpus.py from genomes in Debian packages.",
        "rerun": "/usr/bin/python3 models/train/prepare_corpus.py",
        "encoding": "uint8 per base, upper-cased: A=0 C=1 G=2 T=3, anything else (N, IUPAC)=4; "
                    "{split}.u8.gz is gzip of the raw bytes, records back to back; "
                    "{split}.records.tsv gives genome, record, species, offset, length, n_count, "
                    "src_start (0-based start in the source record) so windows never cross records.",
        "split_policy": (
            "Whole genomes/strains are held out; no genome is split across splits. test = one strain "
            "per bacterial species (E. coli DH1, V. cholerae O1 Inaba, S. aureus USA300_FPR3757, "
            "H. pylori G27, K. pneumoniae 1084) + P. knowlesi (species held out; its relative "
            "P. falciparum is in train) + C. elegans chrX (no nematode in train). val = another strain "
            "of each bacterial species with >= 3 strains (V. cholerae H1, S. aureus RF122, H. pylori "
            "Puno120, K. pneumoniae NTUH-K2044; E. coli has only 2 strains so none in val) + U. maydis. "
            "train = the rest. Val/test are samples of " + str(win) + "-bp windows, the same number per "
            "genome, so each split is <= " + f"{args.eval_bp:,}" + " bp and every genome weighs the same; "
            "train is capped at " + f"{args.train_bp:,}" + " bp by subsampling only the largest genomes "
            "(human chrX, Dictyostelium) in evenly spread blocks. Windows/blocks with > "
            f"{MAX_N_FRAC:.0%} N are not sampled; records shorter than a window (small plasmids) "
            "are not in val/test."),
        "dedup_policy": "genome-level sha1 of the upper-cased concatenated sequence and record-level "
                        "sha1 of each record on either strand; test, then val, then train are read so "
                        "a duplicate always leaves train. ragout's *_contigs drafts are not used.",
        "leakage_measure": f"train_31mer_overlap = fraction of the sampled windows' canonical {KMER}-mers "
                           "(without N) that occur anywhere in train",
        "packages": packages,
        "genomes": [],
        "dropped_duplicates": dropped,
        "files_not_used": [{"package": p, "path": "/" + q, "reason": r} for p, q, r in EXCLUDED],
        "totals": totals,
        "files": files,
    }
    for g in kept:
        e = {"genome": g["id"], "split": g["split"], "species": g["species"], "strain": g["strain"],
             "package": g["package"], "package_version": pkg_info[g["package"]]["version"],
             "licence": pkg_info[g["package"]]["licence"], "path": "/" + g["path"],
             "source": {"records": g["source_records"], "bases": g["source_bases"],
                        "n_count": g["source_n"], "sha1": g["source_sha1"],
                        "sha256": g["source_sha256"]},
             "sampling": g["sampling"], "output": g["out"]}
        if "train_31mer_overlap" in g:
            e["train_31mer_overlap"] = g["train_31mer_overlap"]
        manifest["genomes"].append(e)
    text = json.dumps(manifest, indent=1) + "\n"
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        f.write(text)
    if args.manifest_copy:
        with open(args.manifest_copy, "w") as f:
            f.write(text)

    # ---- summary
    print(f"{'genome':26s} {'split':5s} {'source bp':>12s} {'used bp':>12s} {'recs':>5s}  overlap31")
    for g in kept:
        print(f"{g['id']:26s} {g['split']:5s} {g['source_bases']:12,d} {g['out']['bases']:12,d} "
              f"{g['out']['records']:5d}  {g.get('train_31mer_overlap', '')}")
    for s in SPLITS:
        print(f"{s}: {totals[s]['bases']:,} bp in {totals[s]['genomes']} genomes, "
              f"{totals[s]['records']} records; {s}.u8.gz {files[s + '.u8.gz']['bytes']:,} B")
    print(f"dropped duplicates: {len(dropped)}; done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
