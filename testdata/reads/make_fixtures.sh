#!/usr/bin/env bash
# Regenerates the read fixtures in this directory (deterministic: same bytes every run with
# the same samtools/htslib/zlib). Needs samtools and bgzip (tabix package) from Debian:
#   apt-get install samtools tabix && testdata/reads/make_fixtures.sh
# tests/test_readers.cpp asserts exact names, flags, coordinates and bases of reads.sam;
# regenerating must not change them.
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C

# seqgen LENGTH SEED -> bases from a small exact integer LCG (same generator as
# testdata/regions; no awk rand(): it differs between mawk and gawk).
seqgen() {
    awk -v n="$1" -v x="$2" 'BEGIN { b = "ACGT"; s = "";
        for (i = 0; i < n; i++) { x = (x * 75 + 74) % 65537; s = s substr(b, int(x / 7) % 4 + 1, 1) }
        print s }'
}

chr1=$(seqgen 300 11)
chr2=$(seqgen 250 12)
{
    echo ">chr1"
    printf %s "$chr1" | fold -w 60; echo
    echo ">chr2"
    printf %s "$chr2" | fold -w 60; echo
} > ref.fa
rm -f ref.fa.fai
samtools faidx ref.fa

# sub CONTIG START LEN: bases [START, START+LEN) (0-based) of a contig.
sub() { if [ "$1" = chr1 ]; then printf %s "${chr1:$2:$3}"; else printf %s "${chr2:$2:$3}"; fi; }
# qual LEN: a quality string of LEN 'I's.
qual() { printf 'I%.0s' $(seq "$1"); }

# The reads, coordinate-sorted (so SAM, BAM and CRAM list them in the same order).
# SEQ is the reference at the alignment, as BAM stores it (reverse-strand reads included),
# except where noted. Columns: QNAME FLAG RNAME POS MAPQ CIGAR RNEXT PNEXT TLEN SEQ QUAL.
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t*\t0\t0\t%s\t%s\n' "$@"; }
unmapped_seq=GATTACAGATTACANNGATTACA
clip_seq="TTTTT$(sub chr1 250 10)$(sub chr1 262 10)"
rev_n_seq="$(sub chr2 200 9)N$(sub chr2 210 10)"
{
    printf '@HD\tVN:1.6\tSO:coordinate\n'
    printf '@SQ\tSN:chr1\tLN:300\tM5:%s\n' "$(printf %s "$chr1" | md5sum | cut -c1-32)"
    printf '@SQ\tSN:chr2\tLN:250\tM5:%s\n' "$(printf %s "$chr2" | md5sum | cut -c1-32)"
    row r01_fwd       0    chr1 11  60 30M        "$(sub chr1 10 30)"  "$(qual 30)"
    row r02_rev       16   chr1 101 60 25M        "$(sub chr1 100 25)" "$(qual 25)"
    row r03_qcfail    512  chr1 201 60 20M        "$(sub chr1 200 20)" "$(qual 20)"
    row r04_clip      0    chr1 251 60 5S10M2D10M "$clip_seq"          "$(qual 25)"   # soft clip + deletion
    row r05_dup       1024 chr2 11  60 20M        "$(sub chr2 10 20)"  "$(qual 20)"
    row r06_secondary 256  chr2 51  0  20M        "$(sub chr2 50 20)"  "$(qual 20)"
    row r07_noseq     0    chr2 101 60 20M        '*'                  '*'            # no stored SEQ
    row r08_supp      2048 chr2 151 30 20M        "$(sub chr2 150 20)" "$(qual 20)"
    row r09_mapq0     16   chr2 181 0  24M        "$(sub chr2 180 24)" "$(qual 24)"
    row r10_rev_n     16   chr2 201 37 20M        "$rev_n_seq"         "$(qual 20)"   # an N at 209
    row r11_unmapped  4    '*'  0   0  '*'        "$unmapped_seq"      "$(qual 23)"
} > reads.sam

rm -f reads.bam reads.bam.bai reads.cram reads.cram.crai
samtools view --no-PG -b -o reads.bam reads.sam
samtools index reads.bam
# The CRAM writer adds UR:<absolute path of ref.fa> to each @SQ; htslib would then find the
# reference there without --reference, so the header is rewritten without it (and the
# absolute path would make the file depend on the checkout's location).
samtools view --no-PG -C -T ref.fa -o reads.tmp.cram reads.sam
samtools view --no-PG -H reads.tmp.cram | sed 's/\tUR:[^\t]*//' > reads.tmp.header
samtools reheader --no-PG reads.tmp.header reads.tmp.cram > reads.cram
rm -f reads.tmp.cram reads.tmp.header
samtools index reads.cram

# FASTQ/FASTA of the primary reads as sequenced (reverse-strand reads reverse-complemented
# back), which is what the reader returns for the BAM with the default filter and
# orientation; the read without SEQ is left out.
samtools fastq -F 0x900 reads.sam 2>/dev/null | awk 'NR % 4 == 1 { keep = ($1 != "@r07_noseq") } keep' > reads.fastq
gzip -n -9 -c reads.fastq > reads.fastq.gz
samtools fasta -F 0x900 reads.sam 2>/dev/null | awk '/^>/ { keep = ($1 != ">r07_noseq") } keep' | bgzip -c > reads.fa.gz
echo "fixtures written to $(pwd)"
