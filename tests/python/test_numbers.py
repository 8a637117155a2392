"""The package's numbers are the CLI's and the golden references': embeddings equal to
`dnamba embed` (same values to the last bit on the CPU engine), hidden states and LM logits
within the numerics contract of the PyTorch reference (testdata/golden), head probabilities
equal to `dnamba classify`."""
import numpy as np
import pytest

import dnamba
from conftest import (GOLDEN, PRETRAINED, TESTDATA, TINY, golden_cases, read_fasta, read_safetensors, read_tsv,
                      rel_error, run_cli)

CASES = golden_cases()
INPUTS = GOLDEN / "inputs.fa"


@pytest.fixture(scope="module")
def golden_inputs():
    return read_fasta(INPUTS)


@pytest.mark.parametrize("case", CASES)
def test_hidden_and_logits_match_the_golden_reference(case, golden_inputs):
    m = dnamba.Model(GOLDEN / case, device="cpu")
    expected = read_safetensors(GOLDEN / case / "expected.safetensors")
    checked_logits = 0
    for name, seq in golden_inputs:
        if "ids." + name not in expected:  # not every case has every length (MANIFEST.json)
            continue
        assert np.array_equal(dnamba.tokenize(seq), expected["ids." + name])
        h = m.embed(seq, pool="none")
        assert rel_error(h, expected["hidden." + name]) < 1e-4, name
        if "logits." + name in expected:
            lg = m.logits(seq)
            assert lg.shape == expected["logits." + name].shape
            assert rel_error(lg, expected["logits." + name]) < 1e-4, name
            checked_logits += 1
    assert checked_logits == 4


@pytest.mark.parametrize("case", ["a_caduceus_ph", "c_caduceus_ps_fused", "e_caduceus_unidir", "h_mamba_ssm_rms",
                                  "k_hf_mamba_bias_bf16"])
@pytest.mark.parametrize("rc", ["none", "average"])
def test_embed_equals_dnamba_embed_tsv(case, rc, cli, tmp_path, golden_inputs):
    out = tmp_path / "cli.tsv"
    run_cli(cli, "embed", "--model", GOLDEN / case, "--input", INPUTS, "--output", out, "--pool", "mean", "--rc", rc,
            "--device", "cpu", "--quiet")
    header, rows = read_tsv(out)
    want = np.array([[np.float32(v) for v in r[5:]] for r in rows], dtype=np.float32)
    m = dnamba.Model(GOLDEN / case, device="cpu")
    # a list of strings, and the file through the CLI's input layer: the same bits
    got = m.embed([s for _, s in golden_inputs], pool="mean", rc=rc)
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.array_equal(got, want)
    table = m.embed_file(INPUTS, pool="mean", rc=rc, as_table=True)
    assert [list(map(str, r)) for r in table.rows] == [r[:5] for r in rows]
    assert np.array_equal(table.embeddings, want)
    # batching changes nothing
    assert np.array_equal(m.embed([s for _, s in golden_inputs], rc=rc, batch_tokens=100), want)


def test_per_position_equals_dnamba_embed_npz(cli, tmp_path):
    out = tmp_path / "cli.npz"
    fasta = TESTDATA / "example" / "example.fa"
    run_cli(cli, "embed", "--model", TINY, "--input", fasta, "--output", out, "--pool", "none", "--rc", "average",
            "--device", "cpu", "--quiet")
    want = np.load(out)
    m = dnamba.Model(TINY, device="cpu")
    seen = 0
    for row, value in m.embed_file(fasta, pool="none", rc="average"):
        assert np.array_equal(value, want[row.name])
        seen += 1
    assert seen == len([f for f in want.files if not f.startswith("dnamba/")]) == 5


def test_regions_windows_equal_dnamba_embed(cli, tmp_path):
    fasta = TESTDATA / "regions" / "genome.fa"
    bed = TESTDATA / "regions" / "good.bed"
    out = tmp_path / "cli.tsv"
    run_cli(cli, "embed", "--model", TINY, "--input", fasta, "--regions", bed, "--window", 50, "--stride", 30,
            "--output", out, "--device", "cpu", "--quiet")
    _, rows = read_tsv(out)
    m = dnamba.Model(TINY, device="cpu")
    got = list(m.embed_file(fasta, regions=bed, window=50, stride=30, batch_tokens=128))
    assert len(got) == len(rows) > 0
    for (row, vec), want in zip(got, rows):
        assert list(map(str, row)) == want[:5]
        assert np.array_equal(vec, np.array(want[5:], dtype=np.float32))


def test_head_gives_dnamba_classify_probabilities(cli, tmp_path):
    fasta = TESTDATA / "example" / "two-species.fa"
    bed = TESTDATA / "example" / "two-species.bed"
    head_path = tmp_path / "species.head"
    calls = tmp_path / "calls.tsv"
    run_cli(cli, "train-head", "--model", TINY, "--input", fasta, "--regions", bed, "--rc", "average", "--folds", 3,
            "-o", head_path, "--device", "cpu", "--quiet")
    run_cli(cli, "classify", "--model", TINY, "--head", head_path, "--input", fasta, "--regions", bed, "-o", calls,
            "--device", "cpu", "--quiet")
    header, rows = read_tsv(calls)
    head = dnamba.Head.load(head_path)
    assert head.classes == ["C.elegans", "P.knowlesi"]
    assert header[5:7] == ["p_" + c for c in head.classes]
    assert (head.pool, head.rc, head.features) == ("mean", "average", "embedding")
    m = dnamba.Model(TINY, device="cpu")
    table = m.embed_file(fasta, regions=bed, pool=head.pool, rc=head.rc, as_table=True)
    p = head.predict_proba(table.embeddings)
    want = np.array([r[5:7] for r in rows], dtype=np.float32)
    assert p.shape == want.shape
    np.testing.assert_allclose(p, want, rtol=0, atol=1e-6)
    assert [head.classes[i] for i in p.argmax(axis=1)] == [r[7] for r in rows]
    # one row as a 1-D vector
    np.testing.assert_allclose(head.predict_proba(table.embeddings[0]), want[0], atol=1e-6)


def test_pretrained_model_embeds_as_the_cli(cli, tmp_path):
    fasta = TESTDATA / "example" / "example.fa"
    out = tmp_path / "cli.tsv"
    run_cli(cli, "embed", "--model", PRETRAINED, "--input", fasta, "--output", out, "--rc", "average", "--device",
            "cpu", "--quiet")
    _, rows = read_tsv(out)
    m = dnamba.Model(PRETRAINED, device="cpu", threads=1)
    got = m.embed([s for _, s in read_fasta(fasta)], rc="average")
    assert np.array_equal(got, np.array([r[5:] for r in rows], dtype=np.float32))
