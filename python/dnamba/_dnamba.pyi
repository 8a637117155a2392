# Type stubs of the extension module (python/src/bindings.cpp). Use the dnamba package; its
# classes (python/dnamba/__init__.py) wrap these with argument checks and docstrings.
from typing import Dict, Iterator, List, Tuple, Union

import numpy as np

__version__: str
built_with_cuda: bool

def cuda_device_count() -> int: ...
def tokenize(seq: str, add_sep: bool) -> np.ndarray: ...
def reverse_complement(seq: str) -> str: ...
def set_quiet(quiet: bool) -> None: ...

_RowTuple = Tuple[str, str, int, int, str]

class FileOptions:
    path: str
    bed_files: List[str]
    region_texts: List[str]
    window: int
    stride: int
    tail: str
    strict: bool
    reference: str
    read_orientation: str
    keep_secondary: bool
    keep_supplementary: bool
    skip_qcfail: bool
    skip_duplicates: bool
    skip_unmapped: bool
    min_mapq: int
    rows: str
    def __init__(self) -> None: ...

class FileStream:
    channels: int
    def __iter__(self) -> Iterator[Tuple[_RowTuple, np.ndarray]]: ...
    def __next__(self) -> Tuple[_RowTuple, np.ndarray]: ...
    def close(self) -> None: ...

class Model:
    info: Dict[str, object]
    def __init__(self, path: str, device: str, precision: str, threads: int) -> None: ...
    def embed(self, seqs: List[str], pool: str, rc: str, add_sep: bool,
              batch_tokens: int) -> Union[np.ndarray, List[np.ndarray]]: ...
    def logits(self, seq: str, add_sep: bool) -> np.ndarray: ...
    def embed_file(self, options: FileOptions, pool: str, rc: str, add_sep: bool, batch_tokens: int) -> FileStream: ...
    def embed_table(self, options: FileOptions, pool: str, rc: str, add_sep: bool,
                    batch_tokens: int) -> Tuple[List[_RowTuple], Union[np.ndarray, List[np.ndarray]]]: ...

class Head:
    classes: List[str]
    features: str
    pool: str
    rc: str
    add_sep: bool
    model_fingerprint: str
    n_features: int
    def __init__(self, path: str) -> None: ...
    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...
