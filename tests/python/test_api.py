"""The package's surface: shapes and types, zero-copy results, streaming, the tokenizer, and
errors raised as the dnamba.Error subclass of their category, naming the file/record."""
import gc
import threading

import numpy as np
import pytest

import dnamba
from conftest import GOLDEN, PRETRAINED, TESTDATA, TINY

EXAMPLE = TESTDATA / "example" / "example.fa"


@pytest.fixture(scope="module")
def tiny():
    return dnamba.Model(TINY, device="cpu")


def test_version_and_devices():
    assert dnamba.__version__.count(".") == 2
    assert dnamba.devices()[0] == "cpu"


def test_info(tiny):
    info = tiny.info
    assert info["layout"].startswith("caduceus") and info["rcps"] is True
    assert info["hidden_channels"] == 2 * info["d_model"]
    assert info["parameters"] > 0 and info["engine"].startswith("cpu")


def test_shapes_and_zero_copy(tiny):
    d = tiny.info["d_model"]
    x = tiny.embed(["ACGTACGT", "GGCAT"], rc="average")
    assert x.shape == (2, d) and x.dtype == np.float32
    h = tiny.embed("ACGTNACGT", pool="none")
    assert h.shape == (9, 2 * d) and h.flags["C_CONTIGUOUS"]
    assert not h.flags["OWNDATA"] and h.base is not None  # numpy views the library's buffer
    hs = tiny.embed(["ACG", "ACGTA"], pool="none")
    assert [a.shape[0] for a in hs] == [3, 5]
    assert tiny.embed("ACGT", add_sep=True, pool="none").shape[0] == 5
    assert tiny.logits("ACGT").shape == (4, tiny.info["vocab_size"])
    # pooling of the per-position result
    np.testing.assert_allclose(tiny.embed("ACGTTGCA"), tiny.embed("ACGTTGCA", pool="none").mean(axis=0), atol=1e-6)


def test_rc_average_is_strand_invariant(tiny):
    s = "ACGGTTACGATTTACGGCAN"
    a = tiny.embed([s, dnamba.reverse_complement(s)], rc="average")
    np.testing.assert_allclose(a[0], a[1], atol=1e-5)


def test_tokenize_and_reverse_complement():
    assert dnamba.tokenize("ACGTNx").tolist() == [7, 8, 9, 10, 11, 6]
    assert dnamba.tokenize("acgt", add_sep=True).tolist() == [7, 8, 9, 10, 1]
    assert dnamba.reverse_complement("AACGTn") == "nACGTT"


def test_embed_file_streams_and_closes(tiny):
    it = tiny.embed_file(TESTDATA / "example" / "two-species.fa", window=100, batch_tokens=300)
    row, vec = next(it)
    assert row == dnamba.Row("P.knowlesi_00/0", "P.knowlesi_00", 0, 100, "+")
    assert vec.shape == (tiny.info["d_model"] * 2,)
    with pytest.raises(dnamba.UsageError, match="already computing"):
        tiny.embed("ACGT")  # the stream holds the engine
    it.close()
    assert tiny.embed("ACGT").shape[0] > 0
    # breaking out of a loop frees it too
    for _ in tiny.embed_file(EXAMPLE):
        break
    gc.collect()
    assert tiny.embed("ACGT").shape[0] > 0


def test_table_and_rows(tiny):
    t = tiny.embed_file(EXAMPLE, as_table=True, rc="average")
    assert t.names == ["gc30_1", "gc40_1", "gc50_1", "gc60_1", "gc70_1"]
    assert t.embeddings.shape == (5, tiny.info["d_model"])
    per_pos = tiny.embed_file(EXAMPLE, pool="none", as_table=True)
    assert [a.shape[0] for a in per_pos.embeddings] == [r.end - r.start for r in per_pos.rows]


def test_region_and_rows_options(tiny):
    fasta = TESTDATA / "regions" / "genome.fa"
    rows = [r for r, _ in tiny.embed_file(fasta, region="chr1:11-60", window=20)]
    assert [(r.start, r.end) for r in rows] == [(10, 30), (30, 50), (50, 60)]
    shard = [r for r, _ in tiny.embed_file(fasta, region="chr1:11-60", window=20, rows="1:")]
    assert shard == rows[1:]


def test_threads_from_python():
    a = dnamba.Model(TINY, device="cpu", threads=1).embed(["ACGT" * 50, "GATTACA"])
    b = dnamba.Model(TINY, device="cpu", threads=2).embed(["ACGT" * 50, "GATTACA"])
    assert np.array_equal(a, b)


def test_concurrent_use_is_refused_not_a_crash(tiny):
    errors, done = [], []

    def work():
        try:
            for _ in range(20):
                tiny.embed(["ACGT" * 500] * 4)
            done.append(1)
        except dnamba.UsageError as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) + len(errors) == 3
    assert all("already computing" in str(e) for e in errors)


# ---- errors ------------------------------------------------------------------------------


def test_missing_model_dir(tmp_path):
    with pytest.raises(dnamba.ModelError, match=str(tmp_path / "nowhere")) as e:
        dnamba.Model(tmp_path / "nowhere")
    assert isinstance(e.value, dnamba.Error) and e.value.exit_code == 4


def test_bad_fasta_names_file_and_line(tiny, tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">ok\nACGT\n>\nACGT\n")
    with pytest.raises(dnamba.InputError, match="bad.fa") as e:
        list(tiny.embed_file(bad))
    assert "line 3" in str(e.value)
    assert tiny.embed("ACGT").shape[0] > 0  # the failed stream freed the engine


def test_not_fasta(tiny, tmp_path):
    bad = tmp_path / "reads.txt"
    bad.write_text("just text\n")
    with pytest.raises(dnamba.InputError, match="reads.txt"):
        tiny.embed_file(bad, as_table=True)


def test_bad_bed_names_file_and_line(tiny):
    bed = TESTDATA / "regions" / "bad_negative.bed"
    with pytest.raises(dnamba.InputError, match=r"bad_negative\.bed:\d+"):
        tiny.embed_file(TESTDATA / "regions" / "genome.fa", regions=bed, as_table=True)


def test_missing_input(tiny, tmp_path):
    with pytest.raises(dnamba.InputError, match="absent.fa"):
        next(iter(tiny.embed_file(tmp_path / "absent.fa")))


@pytest.mark.parametrize("kwargs, text", [
    ({"rc": "both"}, "--rc both"),
    ({"pool": "median"}, "--pool median"),
    ({"batch_tokens": 0}, "batch_tokens"),
])
def test_bad_options_are_usage_errors(tiny, kwargs, text):
    with pytest.raises(dnamba.UsageError, match=text) as e:
        tiny.embed("ACGT", **kwargs)
    assert isinstance(e.value, ValueError)


def test_bad_arguments(tiny):
    with pytest.raises(dnamba.InputError, match="sequence 1 is empty"):
        tiny.embed(["ACGT", ""])
    with pytest.raises(dnamba.UsageError):
        tiny.embed([b"ACGT"])
    with pytest.raises(dnamba.UsageError):
        tiny.embed([])
    with pytest.raises(dnamba.UsageError, match="--tail"):
        tiny.embed_file(EXAMPLE, window=10, tail="cut", as_table=True)
    with pytest.raises(dnamba.UsageError, match="stride needs window"):
        tiny.embed_file(EXAMPLE, stride=10, as_table=True)
    with pytest.raises(dnamba.UsageError, match="--region"):
        tiny.embed_file(TESTDATA / "reads" / "reads.fastq", region="chr1:1-10", as_table=True)


def test_bad_device_and_precision():
    with pytest.raises(dnamba.UsageError, match="tpu"):
        dnamba.Model(TINY, device="tpu")
    with pytest.raises(dnamba.UsageError, match="bf16"):
        dnamba.Model(TINY, device="cpu", precision="bf16")
    with pytest.raises(dnamba.UsageError, match="cuda:0,"):
        dnamba.Model(TINY, device="cuda:0,")
    assert dnamba.Model(TINY, device="cpu").info["engines"] == 1
    if not any(d.startswith("cuda") for d in dnamba.devices()):
        with pytest.raises(dnamba.DeviceError):
            dnamba.Model(TINY, device="cuda")
        with pytest.raises(dnamba.DeviceError, match="cuda:all"):
            dnamba.Model(TINY, device="cuda:all")
        with pytest.raises(dnamba.DeviceError, match="cuda:0"):
            dnamba.Model(TINY, device="cuda:0,1")


def test_bad_head(tmp_path):
    bad = tmp_path / "x.head"
    bad.write_bytes(b"not a head")
    with pytest.raises(dnamba.InputError, match="x.head"):
        dnamba.Head.load(bad)
