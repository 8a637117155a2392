#!/usr/bin/env bash
# Regenerates the region/BED/faidx fixtures in this directory (deterministic: same bytes every
# run). Needs samtools, bgzip (tabix package) and gzip from Debian:
#   apt-get install samtools tabix gzip && testdata/regions/make_fixtures.sh
# tests/test_regions.cpp asserts exact bases of genome.fa; regenerating must not change them.
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C

# seqgen NAME LENGTH SEED -> bases from a small exact integer LCG (no awk rand(): it differs
# between mawk and gawk).
seqgen() {
    awk -v n="$2" -v x="$3" 'BEGIN { b = "ACGT"; s = "";
        for (i = 0; i < n; i++) { x = (x * 75 + 74) % 65537; s = s substr(b, int(x / 7) % 4 + 1, 1) }
        print s }'
}
# wrap WIDTH: folds stdin into lines of WIDTH characters.
wrap() { fold -w "$1"; }

chr1=$(seqgen chr1 300 1)
chr2=$(seqgen chr2 250 2)
# chr2: a soft-masked (lower-case) run at 100..129 and an N run at 200..209 (0-based).
chr2="${chr2:0:100}$(printf %s "${chr2:100:30}" | tr ACGT acgt)${chr2:130:70}NNNNNNNNNN${chr2:210}"
chrM=$(seqgen chrM 70 3)
hla=$(seqgen hla 30 4)
{
    echo ">chr1 first test contig, 60 bases per line"
    printf %s "$chr1" | wrap 60; echo
    echo ">chr2"
    printf %s "$chr2" | wrap 50; echo
    echo ">chrM mitochondrion, one line"
    echo "$chrM"
    echo ">HLA-A*01:01 a name with ':' and '*'"
    echo "$hla"
} > genome.fa
rm -f genome.fa.fai genome.fa.gz genome.fa.gz.fai genome.fa.gz.gzi
samtools faidx genome.fa
bgzip -c genome.fa > genome.fa.gz
samtools faidx genome.fa.gz
gzip -n -9 -c genome.fa > genome_gzip.fa.gz   # plain gzip: cannot be indexed (error test)

# good.bed: every accepted shape. Line numbers matter to the tests.
{
    printf 'browser position chr1:1-300\n'                                    # 1
    printf 'track name=test description="test regions"\n'                    # 2
    printf '# a comment\n'                                                    # 3
    printf 'chr1\t0\t10\n'                                                    # 4  BED3
    printf 'chr1\t55\t65\tacross_line\n'                                      # 5  BED4, spans a line break
    printf '\n'                                                               # 6  blank
    printf 'chr2\t100\t130\tsoftmasked\t0\t-\n'                               # 7  BED6 minus
    printf 'chr2\t195\t215\twith N\t500\t+\n'                                 # 8  name with a space
    printf 'chrM\t0\t70\t.\t0\t.\n'                                           # 9  no name, strand .
    printf 'chr1\t10\t20\tbed12\t0\t+\t10\t20\t255,0,0\t2\t3,4\t0,6\n'        # 10 BED12
    printf 'chr2  5   15 spaced 0 -\n'                                        # 11 space-separated
    printf 'chr1\t20\t30\tcrlf\t0\t-\r\n'                                     # 12 CRLF
    printf '  # indented comment\r\n'                                         # 13
    printf 'HLA-A*01:01\t0\t30\thla\n'                                        # 14
    printf 'chr1\t290\t300\tlast_no_newline'                                  # 15 no final newline
} > good.bed
gzip -n -9 -c good.bed > good.bed.gz

# One file per malformed case; the bad line is always line 3.
bad() { { printf '# %s\nchr1\t0\t10\tok\n' "$1"; printf '%b\n' "$2"; } > "$1.bed"; }
bad bad_start_gt_end   'chr1\t50\t40\tx'
bad bad_negative       'chr1\t-5\t10\tx'
bad bad_missing_column 'chr1\t100'
bad bad_strand         'chr1\t0\t10\tx\t0\tforward'
bad bad_nonnumeric     'chr1\t10\t2O0\tx'
bad bad_empty_interval 'chr1\t10\t10\tx'
echo "fixtures written to $(pwd)"
