"""A user's own data from a ``.npz`` or ``.csv`` file.

``.npz``: the features and labels under one of the key pairs ``X``/``y``, ``x``/``y`` or
``features``/``labels`` (optionally ``feature_names``), saved with ``np.savez``; no pickles.

``.csv``: one sample per row, numeric features, the label in ``label_column`` (default: the
last column). A first row with a non-numeric feature cell is taken as the header. Labels may be
numbers or class names (names are numbered in sorted order and kept as ``class_names``).
"""

from __future__ import annotations

import array
import csv
import itertools
import os
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from chainrule._io import check_regular_file
from chainrule.data.dataset import Dataset, class_labels, not_whole

NPZ_KEYS = (("X", "y"), ("x", "y"), ("features", "labels"))
TASKS = (None, "classification", "regression")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _make(
    X: np.ndarray, labels: np.ndarray, task: str | None, name: str, *, feature_names: Sequence[str] | None = None
) -> Dataset:
    if task not in TASKS:
        raise ValueError(f"load_file: task must be one of {TASKS}, got {task!r}")
    if labels.dtype.kind == "c" or X.dtype.kind == "c":
        raise ValueError(f"load_file: expected real numbers, got complex "
                         f"{'labels' if labels.dtype.kind == 'c' else 'features'}; the imaginary part would be lost")
    if labels.dtype.kind in "US" or labels.dtype == object:
        if task == "regression":
            raise ValueError("load_file: regression needs numeric targets, got text labels")
        class_names, codes = np.unique(labels.astype(str), return_inverse=True)
        return Dataset(X, codes.astype(np.int64), name=name, class_names=class_names.tolist(),
                       feature_names=feature_names)
    whole = np.issubdtype(labels.dtype, np.integer) or not not_whole(labels).any()
    if task == "regression" or (task is None and not whole):
        return Dataset(X, labels.astype(np.float32), name=name, feature_names=feature_names)
    if not whole:
        raise ValueError(
            "load_file: task='classification' needs whole-number labels, got non-integer labels"
        )
    return Dataset(X, class_labels(labels, name), name=name, feature_names=feature_names)


# Deflate cannot expand data more than about 1032:1, so a member claiming more than that is lying about its size.
_MAX_DEFLATE_RATIO = 1032
_READ_CHUNK = 1 << 20  # bytes read from a member at a time; the only buffer besides the array itself


def _npz_array(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    """One array of an .npz archive, streamed into an array preallocated after its size was checked.

    The header's shape and dtype must account for exactly the member's uncompressed size, and that size must be
    one its compressed bytes can hold; then the bytes are read in 1 MiB chunks straight into the array, so the
    peak is the array plus one chunk (``np.load`` reads a whole member first; ``mmap_mode`` skips archives).
    """
    assert archive.zip is not None  # open until the `with archive` block ends
    member = archive.zip.getinfo(f"{key}.npy")
    with archive.zip.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(handle)
        header = handle.tell()
        if dtype.hasobject:
            raise ValueError(f"load_file: {path} stores an object array {key!r}; save numeric arrays "
                             f"(object arrays need pickle, which could run code)")
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared != member.file_size - header:
            raise ValueError(f"load_file: {path}: array {key!r} declares shape {shape} ({declared} bytes) but the "
                             f"archive holds {member.file_size - header} bytes for it; the file is truncated "
                             f"or corrupt")
        if member.compress_type != zipfile.ZIP_STORED and member.file_size > _MAX_DEFLATE_RATIO * (
                member.compress_size + 1024):
            raise ValueError(f"load_file: {path}: array {key!r} claims {member.file_size} bytes from "
                             f"{member.compress_size} compressed ones, more than deflate can expand; the file is "
                             f"corrupt")
        flat = np.empty(int(np.prod(shape, dtype=object)), dtype=dtype)
        buffer = flat.view(np.uint8) if declared else np.empty(0, np.uint8)
        filled = 0
        while filled < declared:
            chunk = handle.read(min(_READ_CHUNK, declared - filled))
            count = len(chunk)
            buffer[filled:filled + count] = np.frombuffer(chunk, np.uint8)
            if not count:
                raise ValueError(f"load_file: {path}: array {key!r} ends after {filled} of its {declared} bytes; "
                                 f"the file is truncated or corrupt")
            filled += count
        if handle.read(1):  # also makes zipfile check the member's CRC
            raise ValueError(f"load_file: {path}: array {key!r} holds more bytes than its header declares; "
                             f"the file is corrupt")
    return flat.reshape(shape[::-1]).transpose() if fortran_order else flat.reshape(shape)


def _load_npz(path: Path, task: str | None) -> Dataset:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"load_file: {path} is not a readable .npz archive ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load_file: {path} holds a single .npy array, not an .npz archive of features and labels")
    with archive:
        keys = set(archive.files)
        pair = next(((kx, ky) for kx, ky in NPZ_KEYS if kx in keys and ky in keys), None)
        if pair is None:
            raise ValueError(
                f"load_file: {path} holds arrays {sorted(keys)}; expected a features/labels pair named "
                f"{' or '.join('/'.join(p) for p in NPZ_KEYS)}"
            )
        try:
            X, labels = _npz_array(archive, pair[0], path), _npz_array(archive, pair[1], path)
            names = _npz_array(archive, "feature_names", path).tolist() if "feature_names" in keys else None
        except ValueError as error:  # NumPy's own, from a header it cannot parse
            if str(error).startswith("load_file"):
                raise
            raise ValueError(f"load_file: {path} holds an array NumPy cannot read ({error})") from None
        except (OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(f"load_file: {path} is a truncated or corrupt .npz archive ({error})") from None
    return _make(X, labels, task, path.stem, feature_names=names)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank row, read one at a time; errors name the file and the line."""
    line = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: drop the byte-order mark Excel writes
            reader = csv.reader(handle)
            for row in reader:
                line = reader.line_num
                if any(cell.strip() for cell in row):
                    yield line, row
    except UnicodeDecodeError as error:
        raise ValueError(f"load_file: {path} is not UTF-8 text (byte {error.start} of the file: {error.reason}); "
                         f"save it as UTF-8") from None
    except csv.Error as error:
        raise ValueError(f"load_file: {path} line {line + 1}: not readable as CSV ({error})") from None


def _load_csv(path: Path, label_column: int | str, task: str | None) -> Dataset:
    rows = _csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise ValueError(f"load_file: {path} has no rows; expected a header (optional) and one row per sample")
    first_row = first[1]
    width = len(first_row)
    if width < 2:
        raise ValueError(f"load_file: {path} has {width} column; expected at least one feature and a label column")
    if isinstance(label_column, str):
        if label_column not in first_row:
            raise ValueError(f"load_file: label_column {label_column!r} is not in the header of {path}: {first_row}")
        label = first_row.index(label_column)
    elif isinstance(label_column, int) and not isinstance(label_column, bool) and -width <= label_column < width:
        label = label_column % width
    else:
        raise ValueError(f"load_file: label_column must be a column name or an index in [-{width}, {width}), "
                         f"got {label_column!r}")
    features = [j for j in range(width) if j != label]
    has_header = isinstance(label_column, str) or not all(_is_number(first_row[j]) for j in features)
    header = first_row if has_header else None
    # Values go into a flat buffer as they are read: memory near 8 bytes per cell, not a list of strings per row.
    values = array.array("d")
    labels = []
    for line, row in (rows if has_header else itertools.chain([first], rows)):
        if len(row) != width:
            raise ValueError(f"load_file: {path} row {line} has {len(row)} cells; expected {width}")
        for j in features:
            try:
                values.append(float(row[j]))
            except ValueError:
                column = f"{header[j]!r}" if header else str(j)
                raise ValueError(
                    f"load_file: {path} row {line}, column {column}: expected a number, "
                    f"got {row[j][:40]!r} (features must be numeric)"
                ) from None
        labels.append(row[label].strip())
    if not labels:
        raise ValueError(f"load_file: {path} has a header but no data rows")
    X = np.frombuffer(values, dtype=np.float64).reshape(len(labels), len(features))
    numeric = all(_is_number(v) for v in labels)
    label_array = np.array([float(v) for v in labels]) if numeric else np.array(labels)
    names = [header[j] for j in features] if header else None
    return _make(X, label_array, task, path.stem, feature_names=names)


def load_file(path: str | os.PathLike, label_column: int | str = -1, task: str | None = None) -> Dataset:
    """Load a user's ``.npz`` or ``.csv`` file as one Dataset (split it with ``train_val_test_split``).

    Args:
        path: the file; its suffix (.npz or .csv) picks the format.
        label_column: (.csv) the label's column name or index; default the last column.
        task: ``"classification"``, ``"regression"`` or None: whole-number or text labels mean
            classification, other numbers regression.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a regular file, an unsupported suffix, not UTF-8, a truncated archive, missing arrays,
            non-numeric or complex features, labels that don't fit an int64, ragged rows or a bad option.
    """
    path = Path(path).expanduser()
    check_regular_file(path, "load_file")
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise ValueError(f"load_file: expected a .npz or .csv file, got {path.name!r}")
    try:
        return _load_npz(path, task) if suffix == ".npz" else _load_csv(path, label_column, task)
    except ValueError as error:
        if str(path) in str(error):
            raise
        raise ValueError(f"load_file: {path}: {str(error).removeprefix('load_file: ')}") from None
