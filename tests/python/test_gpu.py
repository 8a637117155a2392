"""The CUDA engine from Python (marker `gpu`: skipped where dnamba.devices() lists no GPU; run
on the GPU machine with a CUDA build of the package): the golden cases within the numerics
contract of the CPU engine (fp32 1e-5, bf16 2e-2, relative Frobenius), pooled on the device as
`dnamba embed --device cuda` does."""
import numpy as np
import pytest

import dnamba
from conftest import GOLDEN, PRETRAINED, TESTDATA, golden_cases, read_fasta, rel_error

pytestmark = pytest.mark.gpu

SEQS = [s for _, s in read_fasta(GOLDEN / "inputs.fa")]


@pytest.mark.parametrize("case", golden_cases())
def test_cuda_fp32_matches_cpu(case):
    cpu = dnamba.Model(GOLDEN / case, device="cpu")
    gpu = dnamba.Model(GOLDEN / case, device="cuda:0")
    assert "cpu" not in gpu.info["engine"]
    for want, got in zip(cpu.embed(SEQS, pool="none"), gpu.embed(SEQS, pool="none")):
        assert rel_error(got, want) < 1e-5
    assert rel_error(gpu.embed(SEQS, rc="average"), cpu.embed(SEQS, rc="average")) < 1e-5
    assert rel_error(gpu.logits(SEQS[3]), cpu.logits(SEQS[3])) < 1e-5


def test_cuda_bf16_within_contract():
    cpu = dnamba.Model(PRETRAINED, device="cpu")
    gpu = dnamba.Model(PRETRAINED, device="cuda", precision="bf16")
    for want, got in zip(cpu.embed(SEQS, pool="none"), gpu.embed(SEQS, pool="none")):
        assert rel_error(got, want) < 2e-2


def test_cuda_stream_matches_cpu_table():
    fasta = TESTDATA / "example" / "two-species.fa"
    bed = TESTDATA / "example" / "two-species.bed"
    cpu = dnamba.Model(PRETRAINED, device="cpu").embed_file(fasta, regions=bed, rc="average", as_table=True)
    rows = list(dnamba.Model(PRETRAINED, device="cuda").embed_file(fasta, regions=bed, rc="average"))
    assert [r for r, _ in rows] == cpu.rows
    assert rel_error(np.stack([v for _, v in rows]), cpu.embeddings) < 1e-5


def test_cuda_two_engines_on_one_gpu_as_one():
    """cuda:0,0 (two engines, one GPU) stands in for two GPUs: embed_file's rows and values are
    one engine's (the same kernels on the same shapes)."""
    fasta = TESTDATA / "example" / "two-species.fa"
    bed = TESTDATA / "example" / "two-species.bed"
    one = dnamba.Model(PRETRAINED, device="cuda:0").embed_file(fasta, regions=bed, batch_tokens=2000, as_table=True)
    two = dnamba.Model(PRETRAINED, device="cuda:0,0")
    assert two.info["engines"] == 2
    got = two.embed_file(fasta, regions=bed, batch_tokens=2000, as_table=True)
    assert got.rows == one.rows
    assert rel_error(got.embeddings, one.embeddings) < 1e-6
