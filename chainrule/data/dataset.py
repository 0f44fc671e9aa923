"""`Dataset`: features X (N, features) float32 and labels y, int64 for classification or float32 for regression."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.engine.tensor import Tensor


def _as_array(value: Any) -> np.ndarray:
    return np.asarray(value._data if isinstance(value, Tensor) else value)


def not_whole(y: np.ndarray) -> np.ndarray:
    """Mask of the labels that are not finite whole numbers (what a class label must be).

    >>> not_whole(np.array([1.0, 2.5, np.nan])).tolist()
    [False, True, True]
    """
    return ~np.isfinite(y) | (y != np.round(y))


# An inferred class count may exceed the number of samples (labels 1..10 leave class 0 empty), but not by
# orders of magnitude: one label of 100000000 in a 30-row file is a typo, not a 10^8-way classifier.
MIN_CLASS_LIMIT = 1024
CLASSES_PER_SAMPLE = 10


def class_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Whole-number labels as int64, or a ValueError where the cast would change a value (wraparound, 1e20).

    >>> class_labels(np.array([0.0, 2.0]), "d").tolist()
    [0, 2]
    """
    info = np.iinfo(np.int64)
    if y.size and y.dtype.kind == "u" and int(y.max()) > info.max:
        raise ValueError(f"Dataset {name!r}: label {int(y.max())} is too large for an int64 class label "
                         f"(at most {info.max}); expected class numbers 0..K-1")
    if y.size and y.dtype.kind == "f" and (y.min() < info.min or y.max() >= 2.0**63):
        bad = y.max() if y.max() >= 2.0**63 else y.min()
        raise ValueError(f"Dataset {name!r}: label {bad:g} is outside the int64 range of class labels; "
                         f"expected class numbers 0..K-1")
    return y.astype(np.int64)


def _check_numeric(array: np.ndarray, what: str, name: str) -> None:
    if array.dtype.kind == "c":
        raise ValueError(f"Dataset {name!r}: expected real {what}, got complex values (dtype {array.dtype}); "
                         f"pass the real part (x.real) or split real and imaginary parts into columns")


def _as_float32(X: np.ndarray, name: str) -> np.ndarray:
    """``X`` as float32, or a ValueError naming the first finite value that would overflow to inf."""
    if X.dtype.kind != "f" or X.dtype.itemsize <= 4:
        return np.ascontiguousarray(X, dtype=np.float32)
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(X, dtype=np.float32)
    overflow = np.isinf(out) & np.isfinite(X)
    if overflow.any():
        row, column = (int(i) for i in np.argwhere(overflow)[0])
        raise ValueError(f"Dataset {name!r}: feature value {X[row, column]:g} at row {row}, column {column} is "
                         f"beyond float32's range (±{np.finfo(np.float32).max:.3g}); rescale the features")
    return out


def _read_only(array: np.ndarray) -> np.ndarray:
    # A read-only view: an in-place edit of a batch would silently change every later epoch.
    view = array.view()
    view.flags.writeable = False
    return view


class Dataset:
    """Samples held as two arrays: features ``X`` (N, features) float32 and labels ``y`` (N,).

    Integer labels make a classification set (``y`` int64, ``num_classes`` = max label + 1 unless
    given); float labels make a regression set (``y`` float32, ``num_classes`` None). The arrays
    are stored read-only so that no batch can change the data behind later epochs.

    Args:
        X: features, shape (N, features); a NumPy array, nested list or chainrule Tensor.
        y: labels (N,) (regression may use (N, outputs)).
        name: a label for messages and reports.
        feature_names: one name per feature column (optional).
        num_classes: number of classes; giving it makes integral float labels a classification set.
        class_names: one name per class (optional).

    Raises:
        ValueError: X is not 2-D, y has the wrong length or shape, or labels are not integers
            while ``num_classes`` is given.

    >>> ds = Dataset([[0.0, 1.0], [2.0, 3.0]], [0, 1], name="tiny")
    >>> len(ds), ds.num_features, ds.num_classes
    (2, 2, 2)
    >>> x, y = ds[1]
    >>> x.tolist(), int(y)
    ([2.0, 3.0], 1)
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        *,
        name: str = "dataset",
        feature_names: Sequence[str] | None = None,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        X = _as_array(X)
        y = _as_array(y)
        if X.ndim != 2:
            raise ValueError(f"Dataset {name!r}: expected X of shape (samples, features), got shape {X.shape}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
            raise ValueError(f"Dataset {name!r}: expected numeric features, got dtype {X.dtype}")
        _check_numeric(X, "features", name)
        _check_numeric(y, "labels", name)
        if y.ndim == 0 or len(y) != len(X):
            raise ValueError(
                f"Dataset {name!r}: expected one label per sample ({len(X)}), got labels of shape {y.shape}"
            )
        is_integer = np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_
        if num_classes is not None and not is_integer:
            if not np.issubdtype(y.dtype, np.floating) or not_whole(y).any():
                raise ValueError(
                    f"Dataset {name!r}: num_classes={num_classes} needs integer class labels, "
                    f"got labels of dtype {y.dtype} that are not all whole numbers"
                )
            is_integer = True
        if is_integer:
            if y.ndim != 1:
                raise ValueError(f"Dataset {name!r}: expected class labels of shape (N,), got shape {y.shape}")
            y = class_labels(y, name)
            if num_classes is None:
                num_classes = int(y.max()) + 1 if len(y) else 0
                limit = max(MIN_CLASS_LIMIT, CLASSES_PER_SAMPLE * len(y))
                if num_classes > limit:
                    raise ValueError(
                        f"Dataset {name!r}: the largest label is {num_classes - 1}, which would make {num_classes} "
                        f"classes for {len(y)} samples; expected labels 0..K-1 with K at most {limit} "
                        f"(max({MIN_CLASS_LIMIT}, {CLASSES_PER_SAMPLE} x samples)); pass num_classes= if you mean it"
                    )
        elif y.ndim > 2:
            raise ValueError(f"Dataset {name!r}: expected targets of shape (N,) or (N, outputs), got shape {y.shape}")
        else:
            y = y.astype(np.float32)
        if feature_names is not None and len(feature_names) != X.shape[1]:
            raise ValueError(
                f"Dataset {name!r}: expected {X.shape[1]} feature_names (one per column), got {len(feature_names)}"
            )
        self.X = _read_only(_as_float32(X, name))
        self.y = _read_only(np.ascontiguousarray(y))
        self.name = name
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.num_classes = None if num_classes is None else int(num_classes)
        self.class_names = list(class_names) if class_names is not None else None

    @property
    def num_features(self) -> int:
        """Number of feature columns (a model's ``in_features``)."""
        return self.X.shape[1]

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return "regression" if self.num_classes is None else "classification"

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: Any) -> tuple[np.ndarray, Any]:
        return self.X[index], self.y[index]

    def subset(self, indices: Any, name: str | None = None) -> Dataset:
        """A new Dataset of the rows at ``indices``, with the same names and classes."""
        return self.with_arrays(self.X[indices], self.y[indices], name=name)

    def with_arrays(self, X: Any, y: Any, name: str | None = None) -> Dataset:
        """A new Dataset with new arrays and this one's names and number of classes."""
        return type(self)(
            X, y, name=self.name if name is None else name, feature_names=self.feature_names,
            num_classes=self.num_classes, class_names=self.class_names,
        )

    def class_counts(self) -> np.ndarray:
        """Samples per class (classification only)."""
        if self.num_classes is None:
            raise ValueError(f"Dataset {self.name!r}: class_counts needs class labels, this is a regression set")
        return np.bincount(self.y, minlength=self.num_classes)

    def __repr__(self) -> str:
        classes = f", classes={self.num_classes}" if self.num_classes is not None else ", regression"
        return f"Dataset({self.name!r}, samples={len(self)}, features={self.num_features}{classes})"


class TensorDataset(Dataset):
    """PyTorch's name for a Dataset built from a features array and a labels array.

    >>> import chainrule as cr
    >>> TensorDataset(cr.randn(5, 3), [0, 1, 0, 1, 1]).num_classes
    2
    """
