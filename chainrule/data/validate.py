"""Catch bad data before training starts, with a message that points at the bad value."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.data.dataset import Dataset, not_whole
from chainrule.data.loader import DataLoader
from chainrule.data.splits import Splits


def _column_name(dataset: Dataset, column: int) -> str:
    if dataset.feature_names is not None:
        return f"column {column} ({dataset.feature_names[column]!r})"
    return f"column {column}"


def _check_one(dataset: Dataset, num_features: int | None, num_classes: int | None) -> None:
    where = f"validate: dataset {dataset.name!r}"
    if len(dataset) == 0:
        raise ValueError(f"{where} is empty (0 samples); expected at least one sample")
    if num_features is not None and dataset.num_features != num_features:
        raise ValueError(
            f"{where} has {dataset.num_features} features per sample but the model expects "
            f"in_features={num_features}; match the first layer to the data"
        )
    bad = ~np.isfinite(dataset.X)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        value = dataset.X[row, column]
        raise ValueError(
            f"{where} has {int(bad.sum())} non-finite feature value(s) (NaN or Inf); expected finite numbers; "
            f"the first is {value} at row {row}, {_column_name(dataset, column)}"
        )
    y = dataset.y
    classes = num_classes if num_classes is not None else dataset.num_classes
    if classes is None:
        bad_targets = ~np.isfinite(y)
        if bad_targets.any():
            row = int(np.argwhere(bad_targets)[0][0])
            raise ValueError(
                f"{where} has {int(bad_targets.sum())} non-finite target(s) (NaN or Inf); the first at row {row}"
            )
        return
    if np.issubdtype(y.dtype, np.floating):
        bad_labels = not_whole(y)
        if bad_labels.any():
            row = int(np.argwhere(bad_labels)[0][0])
            raise ValueError(
                f"{where}: expected integer class labels for a classifier with {classes} classes, "
                f"got {int(bad_labels.sum())} non-integer label(s); the first is {y[row]} at row {row}"
            )
    out_of_range = (y < 0) | (y >= classes)
    if out_of_range.any():
        row = int(np.argwhere(out_of_range)[0][0])
        raise ValueError(
            f"{where}: expected class labels in 0..{classes - 1} (num_classes={classes}), got "
            f"{int(out_of_range.sum())} label(s) out of range; the first is {y[row]} at row {row} "
            f"(labels seen: {int(y.min())}..{int(y.max())})"
        )


def validate(
    data: Dataset | Splits | DataLoader,
    num_features: int | None = None,
    num_classes: int | None = None,
) -> Any:
    """Check data before training: no empty split, finite features, valid labels, the model's feature count.

    Args:
        data: a Dataset, Splits (every split is checked) or DataLoader (its dataset is checked).
        num_features: the model's ``in_features``; checked against the data when given.
        num_classes: the classifier's number of outputs; labels must lie in ``0..num_classes-1``
            (default: the dataset's own ``num_classes``; regression targets must then be finite).

    Returns:
        ``data``, unchanged, so the call can wrap an expression.

    Raises:
        ValueError: an empty split, NaN/Inf features (with their count and the first row and column),
            labels that are not integers or lie out of range, or a feature count that differs
            from ``num_features``.
        TypeError: data is not a Dataset, Splits or DataLoader.

    >>> validate(Dataset([[0.0, 1.0]], [0]), num_features=2)
    Dataset('dataset', samples=1, features=2, classes=1)
    """
    if isinstance(data, Dataset):
        _check_one(data, num_features, num_classes)
    elif isinstance(data, DataLoader):
        _check_one(data.dataset, num_features, num_classes)
    elif isinstance(data, Splits):
        for split_name, dataset in data.items():
            try:
                _check_one(dataset, num_features, num_classes)
            except ValueError as error:
                raise ValueError(f"{error} [{split_name} split]") from None
    else:
        raise TypeError(f"validate: expected a Dataset, Splits or DataLoader, got {type(data).__name__}")
    return data


validate_dataset = validate
