"""dnamba: Mamba DNA language models (Caduceus, mamba_ssm, Hugging Face Mamba) on the CPU or a
GPU, from Python, with numpy arrays out.

The same library, engines and numbers as the ``dnamba`` command-line tool::

    import dnamba
    m = dnamba.Model("models/caduceus-ps-1m-debian")          # device="auto", precision="fp32"
    x = m.embed(["ACGTACGT", "GGCATTAC"], rc="average")        # (2, C) float32, mean-pooled
    h = m.embed("ACGTNACGT", pool="none")                      # (L, C) per position
    for row, vec in m.embed_file("genome.fa", regions="peaks.bed", window=1000):
        ...                                                    # row: name chrom start end strand

Errors raise subclasses of :class:`dnamba.Error` (UsageError, InputError, ModelError,
DeviceError, OutputError) carrying the library's message.
"""

from __future__ import annotations

import os
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ._errors import DeviceError, Error, InputError, ModelError, OutputError, UsageError
from . import _dnamba

__version__: str = _dnamba.__version__

__all__ = [
    "__version__",
    "Model",
    "Head",
    "Row",
    "Table",
    "tokenize",
    "reverse_complement",
    "devices",
    "set_quiet",
    "Error",
    "UsageError",
    "InputError",
    "ModelError",
    "DeviceError",
    "OutputError",
]


class Row(NamedTuple):
    """Where an embedded row comes from, as the CLI's TSV columns: 0-based half-open
    coordinates; for a whole FASTA/FASTQ record chrom = name, start 0, end = length, strand
    "+"; unmapped reads "*", 0, 0, "."."""

    name: str
    chrom: str
    start: int
    end: int
    strand: str


class Table(NamedTuple):
    """A whole :meth:`Model.embed_file` result: ``rows[i]`` describes ``embeddings[i]``.
    ``embeddings`` is an (N, C) float32 array when pooled, a list of (L_i, C) arrays with
    ``pool="none"``."""

    rows: List[Row]
    embeddings: Union[np.ndarray, List[np.ndarray]]

    @property
    def names(self) -> List[str]:
        """The row names (``rows[i].name``)."""
        return [r.name for r in self.rows]


def _list(value: Union[None, str, Sequence[str]]) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__"):
        return [str(value)]
    return [str(v) for v in value]


class Model:
    """A checkpoint directory (config.json + model.safetensors in the Caduceus, mamba_ssm or
    transformers Mamba layout) and the engine that runs it.

    device: "auto" (the GPU engine on device 0 when this build has CUDA and a GPU is visible,
    else the CPU), "cpu", "cuda", "cuda:N", or several GPUs: "cuda:all" (every visible GPU) or
    "cuda:I,J,..." -- one engine per GPU, the weights on each, batches of embed()/embed_file()
    handed to whichever GPU is free, rows still in input order (info["engines"] counts them).
    precision: "fp32" or "bf16" (GPU only).
    threads: CPU threads, 0 = all cores (results are identical for any count).

    Raises ModelError for a missing or unsupported checkpoint, UsageError for a bad device or
    precision, DeviceError when "cuda" is asked for and no GPU is usable.

    One Model computes one thing at a time: a call made while another is running (from another
    thread, or while an :meth:`embed_file` iterator is open) raises UsageError.
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"], device: str = "auto", precision: str = "fp32",
                 threads: int = 0) -> None:
        self._impl = _dnamba.Model(str(path), device, precision, int(threads))

    @property
    def info(self) -> dict:
        """What ``dnamba info`` prints, as a dict: layout, d_model, n_layer, d_inner, d_state,
        d_conv, dt_rank, vocab_size, bidirectional, combine, weight_tie, rcps, norm,
        fused_add_norm, parameters, stored_dtypes, notes, hidden_channels, and the engine
        ("cpu (2 threads)", or the GPU's), engines (1, or one per GPU), device and precision."""
        return self._impl.info

    def embed(self, seqs: Union[str, Sequence[str]], pool: str = "mean", rc: str = "none", add_sep: bool = False,
              batch_tokens: int = 65536) -> Union[np.ndarray, List[np.ndarray]]:
        """Embeddings of one sequence or a list of sequences, as ``dnamba embed`` computes them.

        pool: "mean", "max", "first", "last", or "none" (per position).
        rc: "none" (the model's own output: 2*d_model channels for RC-equivariant models) or
        "average" (strand-invariant, d_model channels; see the README's *Reverse complement*).
        add_sep: append the [SEP] token. batch_tokens: sequences are packed into forward
        passes of up to this many tokens (the result does not depend on it).

        Returns float32 arrays: for a string, (C,) pooled or (L, C) with pool="none"; for a
        list, (N, C) pooled or a list of (L_i, C) arrays. Raises UsageError for a bad pool/rc
        value, InputError for an empty sequence.
        """
        single = isinstance(seqs, str)
        batch = [seqs] if single else list(seqs)
        if not single and not batch:
            raise UsageError("embed: no sequences given")
        for i, s in enumerate(batch):
            if not isinstance(s, str):
                raise UsageError(f"embed: sequence {i} is a {type(s).__name__}, expected str")
        out = self._impl.embed(batch, pool, rc, add_sep, int(batch_tokens))
        if single:
            return out[0]
        return out

    def logits(self, seq: str, add_sep: bool = False) -> np.ndarray:
        """LM-head logits of one sequence: an (L, vocab_size) float32 array (L + 1 rows with
        add_sep). For RC-equivariant models the RCPS head (forward half plus the
        complemented reverse half). Raises InputError for an empty sequence."""
        if not isinstance(seq, str):
            raise UsageError(f"logits: expected a str, got {type(seq).__name__}")
        return self._impl.logits(seq, add_sep)

    def embed_file(self, path: Union[str, "os.PathLike[str]"], regions: Union[None, str, Sequence[str]] = None,
                   region: Union[None, str, Sequence[str]] = None, window: int = 0, stride: int = 0,
                   tail: str = "keep", pool: str = "mean", rc: str = "none", add_sep: bool = False,
                   batch_tokens: int = 65536, as_table: bool = False, strict: bool = False,
                   reference: Optional[str] = None, read_orientation: str = "original",
                   keep_secondary: bool = False, keep_supplementary: bool = False, skip_qcfail: bool = False,
                   skip_duplicates: bool = False, skip_unmapped: bool = False, min_mapq: int = 0,
                   rows: Optional[str] = None) -> Union[Iterator[Tuple[Row, np.ndarray]], Table]:
        """Embeds every row of a sequence file through the CLI's input layer and pipeline:
        exactly the rows and values of ``dnamba embed --input PATH ...`` with the same options.

        path: FASTA/FASTQ (plain, gzip, bgzip) or SAM/BAM/CRAM. regions: BED file(s);
        region: "chrom:start-end" text(s) (1-based inclusive); window/stride/tail: tile each
        record or region; strict, reference, read_orientation and the read filters as the
        CLI's options of the same names; rows: "A:B", one shard of ``dnamba plan``.

        Returns an iterator of (Row, array) pairs in input order, each array (C,) pooled or
        (L, C) with pool="none"; the reader and the model run ahead on threads of their own
        by at most two batches of batch_tokens tokens, so memory stays bounded whatever the
        file's size. Close it (or exhaust it) before using this Model again. With
        as_table=True, the whole result at once as a :class:`Table`.

        Raises InputError naming the file and record/line for bad input, UsageError for
        options that do not fit together.
        """
        f = _dnamba.InputOptions()
        f.path = str(path)
        f.bed_files = _list(regions)
        f.region_texts = _list(region)
        f.set_windows(int(window), int(stride))
        f.set_tail(tail)
        f.strict = bool(strict)
        if reference is not None:
            f.set_reference(str(reference))
        f.set_read_orientation(read_orientation)
        f.filter.skip_secondary = not keep_secondary
        f.filter.skip_supplementary = not keep_supplementary
        f.filter.skip_qcfail = bool(skip_qcfail)
        f.filter.skip_duplicate = bool(skip_duplicates)
        f.filter.skip_unmapped = bool(skip_unmapped)
        f.filter.min_mapq = int(min_mapq)
        if rows is not None:
            f.set_rows(str(rows))
        if as_table:
            row_tuples, values = self._impl.embed_table(f, pool, rc, add_sep, int(batch_tokens))
            return Table([Row(*r) for r in row_tuples], values)
        return _rows(self._impl.embed_file(f, pool, rc, add_sep, int(batch_tokens)))


def _rows(stream) -> Iterator[Tuple[Row, np.ndarray]]:
    # A generator so that `break` or garbage collection closes the stream (its threads stop and
    # the Model is free again).
    try:
        for r, v in stream:
            yield Row(*r), v
    finally:
        stream.close()


class Head:
    """A classification head written by ``dnamba train-head`` (a safetensors file: weights,
    standardisation, classes and the feature settings it was trained with)."""

    def __init__(self, impl) -> None:
        self._impl = impl

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Head":
        """Reads a head file. Raises InputError naming the file and what is wrong."""
        return cls(_dnamba.Head(str(path)))

    @property
    def classes(self) -> List[str]:
        """Class labels, in the order of predict_proba's columns."""
        return self._impl.classes

    @property
    def features(self) -> str:
        """"embedding", "kmer:K" or "embedding+kmer:K"."""
        return self._impl.features

    @property
    def pool(self) -> str:
        """The pooling the head's embedding features used (pass it to Model.embed)."""
        return self._impl.pool

    @property
    def rc(self) -> str:
        """The rc mode the head's embedding features used (pass it to Model.embed)."""
        return self._impl.rc

    @property
    def add_sep(self) -> bool:
        """Whether the features were computed with [SEP] appended."""
        return self._impl.add_sep

    @property
    def n_features(self) -> int:
        """Columns predict_proba expects."""
        return self._impl.n_features

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (rows x classes, float32) of raw features x (rows x n_features;
        a 1-D x is one row), as ``dnamba classify`` computes them. For embedding heads x is
        ``Model.embed(seqs, pool=head.pool, rc=head.rc)``. Raises UsageError for a wrong
        number of columns."""
        a = np.asarray(x, dtype=np.float32)
        if a.ndim == 1:
            return self._impl.predict_proba(a.reshape(1, -1))[0]
        return self._impl.predict_proba(a)


def tokenize(seq: str, add_sep: bool = False) -> np.ndarray:
    """Token ids (int32) of the Caduceus character tokenizer: upper-cased, A=7 C=8 G=9 T=10
    N=11, anything else [UNK]=6; add_sep appends [SEP]=1."""
    return _dnamba.tokenize(seq, add_sep)


def reverse_complement(seq: str) -> str:
    """Reverse complement: A<->T, C<->G (case kept), other characters kept, order reversed."""
    return _dnamba.reverse_complement(seq)


def devices() -> List[str]:
    """The devices this build can run on: "cpu", then "cuda:0", "cuda:1", ... for each GPU
    visible (none when the package was built without CUDA)."""
    return ["cpu"] + [f"cuda:{i}" for i in range(_dnamba.cuda_device_count())]


def set_quiet(quiet: bool = True) -> None:
    """Silences the library's information lines on stderr (warnings still appear)."""
    _dnamba.set_quiet(bool(quiet))

