#!/usr/bin/env python3
"""Multi-species window classification benchmark from a Debian data package.

Builds a task from the complete bacterial genomes of `ragout-examples` (BSD-3):
V. cholerae, S. aureus, H. pylori, four or five strains each. Windows of --window bp are
sampled from every strain; the label (column 4) is the species, the group (column 5) the
strain. One strain per species is held out entirely (--test-regions), and the CV folds are
grouped by strain, so no score comes from windows of a genome the head has seen.

Then runs `dnamba train-head` with k-mer features (the classical baseline) and with the model's
embeddings, and prints a table. Needs: ragout-examples installed (or --root pointing at an
unpacked copy: dpkg -x ragout-examples_*.deb DIR), bgzip (tabix package), the dnamba binary.

    python3 pipelines/benchmarks/multispecies.py --dnamba build/dnamba \
        --model testdata/models/tiny-caduceus --out /tmp/multispecies
"""
import argparse
import gzip
import os
import random
import re
import subprocess
import sys

# E. coli is left out: ragout-examples has only two of its strains, too few to hold one out
# and still cross-validate grouped by strain.
SPECIES = {
    "V.Cholerae": ["O395", "O1_biovar", "H1", "O1_Inaba"],
    "S.Aureus": ["RF122", "COL", "JKD6008", "N315", "USA300_FPR3757"],
    "H.Pylori": ["Puno120", "ELS37", "SJM180", "Gambia94_24", "G27"],
}


def read_fasta_gz(path):
    name, seq = None, []
    with gzip.open(path, "rt") as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    yield name, "".join(seq)
                name, seq = line[1:].split()[0], []
            elif line:
                seq.append(line)
    if name is not None:
        yield name, "".join(seq)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="/", help="where usr/share/doc/ragout/examples lives (default /)")
    ap.add_argument("--dnamba", default="build/dnamba")
    ap.add_argument("--model", default="testdata/models/tiny-caduceus")
    ap.add_argument("--out", default="/tmp/dnamba-multispecies")
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--per-strain", type=int, default=150, help="windows sampled per strain")
    ap.add_argument("--kmers", default="4,6")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rc", default="average")
    a = ap.parse_args()
    base = os.path.join(a.root, "usr/share/doc/ragout/examples")
    if not os.path.isdir(base):
        sys.exit(f"{base} not found: apt-get install ragout-examples, or pass --root to an unpacked copy")
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    genome = os.path.join(a.out, "genomes.fa")
    train_bed, test_bed = os.path.join(a.out, "train.bed"), os.path.join(a.out, "test.bed")
    train, test = [], []
    with open(genome, "w") as g:
        for species, strains in SPECIES.items():
            held_out = strains[-1]  # the whole last strain of each species is the test set
            for strain in strains:
                path = os.path.join(base, species, "references", strain + ".fasta.gz")
                for name, seq in read_fasta_gz(path):
                    contig = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{species}__{strain}__{name}")
                    g.write(f">{contig}\n")
                    for i in range(0, len(seq), 80):
                        g.write(seq[i:i + 80] + "\n")
                    if len(seq) < 20 * a.window:
                        continue  # plasmids and fragments
                    for _ in range(a.per_strain):
                        s = rng.randrange(0, len(seq) - a.window)
                        strand = rng.choice("+-")
                        line = f"{contig}\t{s}\t{s + a.window}\t{species}\t{strain}\t{strand}\n"
                        (test if strain == held_out else train).append(line)
                    break  # the chromosome (first record) only
    rng.shuffle(train)
    open(train_bed, "w").writelines(train)
    open(test_bed, "w").writelines(test)
    subprocess.run(["bgzip", "-f", genome], check=True)
    genome += ".gz"
    for stale in (genome + ".fai", genome + ".gzi"):  # a rerun rewrote the genome
        if os.path.exists(stale):
            os.remove(stale)
    print(f"task: {len(train)} training windows ({sum(len(v) - 1 for v in SPECIES.values())} strains), "
          f"{len(test)} held-out windows ({len(SPECIES)} strains), {a.window} bp, {len(SPECIES)} species; "
          "3-fold CV grouped by strain")
    runs = [("kmer:" + k, []) for k in a.kmers.split(",")] + [("embedding", ["--model", a.model, "--rc", a.rc])]
    for features, extra in runs:
        head = os.path.join(a.out, features.replace(":", "") + ".head")
        cmd = [a.dnamba, "train-head", "-i", genome, "--regions", train_bed, "--label-column", "4",
               "--group-column", "5", "--features", features, "--folds", "3", "--test-regions", test_bed,
               "-o", head, "-q"] + extra
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
        cv = [l for l in r.stdout.splitlines() if l.startswith("CV") or l.startswith("held-out")]
        print(f"\n== {features} ==")
        print("\n".join(cv))


if __name__ == "__main__":
    main()
