#!/bin/sh
# Makes the seed corpora of the fuzz targets added for issue #17 (safetensors, config, npz,
# head, tables, vcf) from testdata/ and the dnamba binary. Run from the repository root:
#   sh tests/fuzz/corpus/make_seeds.sh build/dnamba
set -eu
D=${1:-build/dnamba}
C=tests/fuzz/corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p $C/safetensors $C/config $C/npz $C/head $C/tables
for m in a_caduceus_ph c_caduceus_ps_fused h_mamba_ssm_rms j_hf_mamba_tied; do
  cp testdata/golden/$m/config.json $C/config/$m.json
done
printf '{"model_type": "caduceus", "d_model": 16, "n_layer": 1, "vocab_size": 12, "d_model": 8}' > $C/config/dup_key.json
python3 - "$C" <<'PY'
import json, struct, sys
c = sys.argv[1]
def st(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
st(c + "/safetensors/small.safetensors",
   {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "b": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [8, 12]},
    "i": {"dtype": "I64", "shape": [1], "data_offsets": [12, 20]},
    "__metadata__": {"format": "pt"}}, bytes(20))
st(c + "/safetensors/wrapping_shape.safetensors",
   {"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}}, b"")
open(c + "/config/deep.json", "w").write('{"d_model": 8, "n_layer": 1, "x": ' + "[" * 100 + "]" * 100 + "}")
PY
printf '>a\nACGTACGTAC\n>b\nTTGCA\n' > $T/in.fa
M=testdata/golden/a_caduceus_ph
$D embed -q -m $M -i $T/in.fa --pool none -o $C/npz/two.npz
$D embed -q -m $M -i $T/in.fa --pool mean -o $C/tables/pooled.tsv
$D embed -q -m $M -i $T/in.fa --pool mean -o $T/p.npy
cp $T/p.names.tsv $C/tables/names.tsv
cp $T/p.npy $C/npz/pooled.npy
$D train-head -q -i testdata/example/two-species.fa --regions testdata/example/two-species.bed \
  --features kmer:1 --folds 2 -o $C/head/kmer1.head >/dev/null
# VCF/BCF (vep, merge): the vep fixture, a small hand-written one, and both as BCF and bgzip
mkdir -p $C/vcf
cp testdata/vep/variants.vcf $C/vcf/variants.vcf
printf '##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\t.\tA\tC,<DEL>\t.\tPASS\t.\nchr1\t3\t.\tAC\tA\t.\t.\tDP=3\n' > $C/vcf/small.vcf
$D vep -q -m $M -i testdata/vep/genome.fa --vcf testdata/vep/variants.vcf --window 16 --scores emb-l2 -o $C/vcf/scored.bcf
rm -f $C/vcf/scored.bcf.csi
$D vep -q -m $M -i testdata/vep/genome.fa --vcf testdata/vep/variants.vcf --window 16 --scores emb-l2 -o $C/vcf/scored.vcf.gz
rm -f $C/vcf/scored.vcf.gz.tbi
# regression: not a VCF by its first line; VcfReader leaked htslib's format description (fixed)
printf '##fileformat=V\311CFv4.2\n##contig=<ID=chr1,length=100>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\t.\tAIC,<DEL>\t.\tPASS\t.\nchr1\t3\t.\tAC\tA\t~\t.\tDP=3\n' > $C/vcf/regression-format-description-leak.vcf
# fuzz_vcf (session 17): "BCF\2\2" before a text header, whose "##fi" reads as a 1.7 GB header length
# that htslib allocated before reading; the reader now refuses it against the file's size
printf 'BCF\2\2##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\t.\tA\tC\t.\tPASS\t.\n' > $C/vcf/regression-bcf-header-length.bcf
