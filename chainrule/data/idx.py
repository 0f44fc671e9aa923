"""IDX files (the MNIST format) read with NumPy, and MNIST / Fashion-MNIST from a local folder.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._io import check_regular_file
from chainrule.data.dataset import Dataset

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw, or gzipped: detected by its first bytes) into a NumPy array.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a regular file, a bad magic number, an unknown type code, or a truncated or over-long file.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "labels-idx1-ubyte"
    ...     _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))  # magic, 1 dim of size 3, data
    ...     read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    check_regular_file(path, "read_idx")
    with path.open("rb") as raw_file:
        gzipped = raw_file.read(2) == b"\x1f\x8b"
    try:
        # Streamed: the header is read first, so a lying header fails before anything the size of the data exists.
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as handle:
            return _read_idx_stream(handle, path, None if gzipped else path.stat().st_size)
    except (EOFError, OSError, zlib.error) as error:
        raise ValueError(f"read_idx: {path} is a truncated or corrupt gzip file ({error})") from None


def _read_idx_stream(handle: Any, path: Path, file_size: int | None) -> np.ndarray:  # a file or GzipFile
    magic = handle.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"read_idx: {path} is not an IDX file: expected a magic number starting with bytes 00 00, "
            f"got {magic.hex(' ') or 'an empty file'}"
        )
    type_code, ndim = magic[2], magic[3]
    if type_code not in IDX_TYPES:
        raise ValueError(
            f"read_idx: {path} has unknown IDX type code 0x{type_code:02x}; expected one of "
            f"{', '.join(f'0x{code:02x}' for code in IDX_TYPES)}"
        )
    header = 4 + 4 * ndim
    dims = handle.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"read_idx: {path} is truncated: its header needs {header} bytes, the file has "
                         f"{4 + len(dims)}")
    shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
    dtype = np.dtype(IDX_TYPES[type_code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: 2^32 per dimension cannot overflow
    found = file_size - header if file_size is not None else None
    if found is None:  # gzipped: read one byte more than the header promises to catch an over-long file
        data = handle.read(expected + 1)
        found = len(data)
    if found != expected:
        state = "truncated" if found < expected else "longer than its header says"
        raise ValueError(
            f"read_idx: {path} is {state}: shape {shape} needs {expected} bytes of data, found {found}"
        )
    if file_size is not None:
        data = handle.read(expected)
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path | None:
    # Distributions name the files with a dash or a dot before "idx", gzipped or not.
    dotted = stem.replace("-idx", ".idx")
    for candidate in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def load_mnist_folder(path: str | os.PathLike, name: str = "mnist") -> tuple[Dataset, Dataset]:
    """Load MNIST-format IDX files from ``path``: (train, test) Datasets, pixels in [0, 1], flattened to 784.

    Raises:
        FileNotFoundError: the folder or any of the four files is missing (all missing names are listed).
        ValueError: a file is not valid IDX, images are not (N, rows, cols), or images and labels disagree.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{name}: folder {str(folder)!r} does not exist; expected a folder holding "
            f"{', '.join(MNIST_FILES.values())} (each may end in .gz)"
        )
    found = {key: _find(folder, stem) for key, stem in MNIST_FILES.items()}
    missing = [MNIST_FILES[key] for key, file in found.items() if file is None]
    if missing:
        raise FileNotFoundError(
            f"{name}: missing {', '.join(missing)} (or .gz) in folder {str(folder)!r}; "
            f"chainrule never downloads: put the IDX files there first"
        )
    paths = {key: file for key, file in found.items() if file is not None}  # all of them, after the check above
    splits = []
    for split in ("train", "test"):
        images, labels = read_idx(paths[f"{split}_images"]), read_idx(paths[f"{split}_labels"])
        if images.ndim != 3 or labels.ndim != 1:
            raise ValueError(
                f"{name}: expected {split} images of shape (N, rows, cols) and labels of shape (N,), "
                f"got {images.shape} and {labels.shape}"
            )
        if len(images) != len(labels):
            raise ValueError(f"{name}: {split} has {len(images)} images but {len(labels)} labels; expected equal")
        X = images.reshape(len(images), -1).astype(np.float32) / 255.0
        splits.append(Dataset(X, labels.astype(np.int64), name=name, num_classes=10))
    return splits[0], splits[1]
