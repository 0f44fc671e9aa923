"""A user's own data from a ``.npz`` or ``.csv`` file.

``.npz``: the features and labels under one of the key pairs ``X``/``y``, ``x``/``y`` or
``features``/``labels`` (optionally ``feature_names``), saved with ``np.savez``; no pickles.

``.csv``: one sample per row, numeric features, the label in ``label_column`` (default: the
last column). A first row with a non-numeric feature cell is taken as the header. Labels may be
numbers or class names (names are numbered in sorted order and kept as ``class_names``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chainrule.data.dataset import Dataset, not_whole

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
    if labels.dtype.kind in "US" or labels.dtype == object:
        if task == "regression":
            raise ValueError(f"load_file: {name}: regression needs numeric targets, got text labels")
        class_names, codes = np.unique(labels.astype(str), return_inverse=True)
        return Dataset(X, codes.astype(np.int64), name=name, class_names=class_names.tolist(),
                       feature_names=feature_names)
    whole = np.issubdtype(labels.dtype, np.integer) or not not_whole(labels).any()
    if task == "regression" or (task is None and not whole):
        return Dataset(X, labels.astype(np.float32), name=name, feature_names=feature_names)
    if not whole:
        raise ValueError(
            f"load_file: {name}: task='classification' needs whole-number labels, got non-integer labels"
        )
    return Dataset(X, labels.astype(np.int64), name=name, feature_names=feature_names)


def _load_npz(path: Path, task: str | None) -> Dataset:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"load_file: {path} is not a readable .npz archive ({error})") from None
    with archive:
        keys = set(archive.files)
        pair = next(((kx, ky) for kx, ky in NPZ_KEYS if kx in keys and ky in keys), None)
        if pair is None:
            raise ValueError(
                f"load_file: {path} holds arrays {sorted(keys)}; expected a features/labels pair named "
                f"{' or '.join('/'.join(p) for p in NPZ_KEYS)}"
            )
        try:
            X, labels = archive[pair[0]], archive[pair[1]]
            names = archive["feature_names"].tolist() if "feature_names" in keys else None
        except ValueError as error:  # object arrays need pickle, which we refuse
            raise ValueError(f"load_file: {path} stores an object array; save numeric arrays ({error})") from None
    return _make(X, labels, task, path.stem, feature_names=names)


def _load_csv(path: Path, label_column: int | str, task: str | None) -> Dataset:
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: drop the byte-order mark Excel writes
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"load_file: {path} has no rows; expected a header (optional) and one row per sample")
    width = len(rows[0])
    if width < 2:
        raise ValueError(f"load_file: {path} has {width} column; expected at least one feature and a label column")
    if isinstance(label_column, str):
        if label_column not in rows[0]:
            raise ValueError(f"load_file: label_column {label_column!r} is not in the header of {path}: {rows[0]}")
        label = rows[0].index(label_column)
    elif isinstance(label_column, int) and not isinstance(label_column, bool) and -width <= label_column < width:
        label = label_column % width
    else:
        raise ValueError(f"load_file: label_column must be a column name or an index in [-{width}, {width}), "
                         f"got {label_column!r}")
    features = [j for j in range(width) if j != label]
    has_header = isinstance(label_column, str) or not all(_is_number(rows[0][j]) for j in features)
    header, body = (rows[0], rows[1:]) if has_header else (None, rows)
    if not body:
        raise ValueError(f"load_file: {path} has a header but no data rows")
    first_line = 2 if has_header else 1
    X = np.empty((len(body), len(features)), dtype=np.float64)
    labels = []
    for i, row in enumerate(body):
        if len(row) != width:
            raise ValueError(f"load_file: {path} row {i + first_line} has {len(row)} cells; expected {width}")
        for k, j in enumerate(features):
            try:
                X[i, k] = float(row[j])
            except ValueError:
                column = f"{header[j]!r}" if header else str(j)
                raise ValueError(
                    f"load_file: {path} row {i + first_line}, column {column}: expected a number, "
                    f"got {row[j]!r} (features must be numeric)"
                ) from None
        labels.append(row[label].strip())
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
        ValueError: an unsupported suffix, missing arrays, non-numeric features, ragged rows or a bad option.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"load_file: no file at {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path, task)
    if suffix == ".csv":
        return _load_csv(path, label_column, task)
    raise ValueError(f"load_file: expected a .npz or .csv file, got {path.name!r}")
