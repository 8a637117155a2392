#!/usr/bin/env python3
"""Makes the README demo data: 40 windows of 1,000 bp from each of two genomes that the
pretrained model never saw (held out as its test set): P. knowlesi (smalt-examples, GPL-3)
and C. elegans chrX (r-bioc-bsgenome, Artistic-2.0), evenly spread over the evaluation
windows of models/train/corpus/test (bases 1000-2000 of every k-th 4,096-bp window).

    python3 models/train/prepare_corpus.py            # builds models/train/corpus
    python3 testdata/example/make_two_species.py      # rewrites two-species.fa/.bed/.fa.fai
"""
import gzip
import os
import subprocess

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "models", "train", "corpus")


def main():
    codes = np.frombuffer(gzip.open(os.path.join(CORPUS, "test.u8.gz")).read(), dtype=np.uint8)
    with open(os.path.join(CORPUS, "test.records.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        records = [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f]
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    fa, bed = [], []
    for genome, label in (("Pknowlesi", "P.knowlesi"), ("Celegans_chrX", "C.elegans")):
        recs = [r for r in records if r["genome"] == genome]
        for i, r in enumerate(recs[:: len(recs) // 40][:40]):
            start = int(r["offset"]) + 1000
            seq = letters[codes[start:start + 1000]].tobytes().decode()
            name = f"{label}_{i:02d}"
            fa.append(f">{name} {r['record']}+1000\n" + "".join(seq[j:j + 60] + "\n" for j in range(0, 1000, 60)))
            bed.append(f"{name}\t0\t1000\t{label}\n")
    fa_path = os.path.join(HERE, "two-species.fa")
    with open(fa_path, "w") as f:
        f.write("".join(fa))
    with open(os.path.join(HERE, "two-species.bed"), "w") as f:
        f.write("".join(bed))
    if os.path.exists(fa_path + ".fai"):
        os.remove(fa_path + ".fai")
    dnamba = os.path.join(HERE, "..", "..", "build", "dnamba")
    subprocess.run([dnamba, "index", fa_path], check=True)


if __name__ == "__main__":
    main()
