"""Train/validation/test splits (stratified) and a `Standardizer` fit on the training split only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from chainrule.data.dataset import Dataset
from chainrule.engine.random import get_generator


@dataclass(frozen=True)
class Splits:
    """The train, validation and test Datasets of one data set; unpacks as ``train, val, test``.

    ``val`` or ``test`` is None when its fraction was 0. ``standardizer`` is the Standardizer
    fit on ``train`` when the splits were standardized.
    """

    train: Dataset
    val: Dataset | None
    test: Dataset | None
    standardizer: Standardizer | None = None

    def __iter__(self) -> Iterator[Dataset | None]:
        return iter((self.train, self.val, self.test))

    @property
    def name(self) -> str:
        return self.train.name

    @property
    def num_features(self) -> int:
        return self.train.num_features

    @property
    def num_classes(self) -> int | None:
        return self.train.num_classes

    def items(self) -> list[tuple[str, Dataset]]:
        """``[(split_name, dataset), ...]`` for the splits that exist."""
        return [(name, ds) for name, ds in zip(("train", "val", "test"), self) if ds is not None]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(ds)}" for name, ds in self.items())
        classes = f", classes={self.num_classes}" if self.num_classes is not None else ", regression"
        scaled = ", standardized" if self.standardizer is not None else ""
        return f"Splits({self.name!r}: {sizes}, features={self.num_features}{classes}{scaled})"


def _check_fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise ValueError(f"train_val_test_split: {name} must be a fraction in [0, 1), got {value!r}")
    return float(value)


def _allocate(total: int, counts: np.ndarray) -> np.ndarray:
    # Largest-remainder rounding: shares proportional to counts that add up to exactly `total`.
    exact = counts * (total / max(counts.sum(), 1))
    share = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - share), kind="stable")
    share[order[: total - share.sum()]] += 1
    return np.minimum(share, counts)


def _split_size(fraction: float, n: int) -> int:
    # A nonzero fraction always gets at least one sample, so no requested split comes back empty.
    return 0 if fraction == 0 else max(1, round(fraction * n))


def train_val_test_split(
    data: Dataset | Any,
    y: Any = None,
    val: float = 0.15,
    test: float = 0.15,
    seed: int | None = 0,
    stratify: bool = True,
) -> Splits:
    """Split a Dataset (or arrays X, y) at random into train, validation and test Datasets.

    With ``stratify`` (classification only) every split keeps the class proportions of the whole.

    Args:
        data: a Dataset, or a features array X (then pass ``y``).
        y: labels, when ``data`` is an array.
        val: fraction of samples for validation (0 gives ``val=None``).
        test: fraction of samples for testing (0 gives ``test=None``).
        seed: seed of the split's own generator (None draws it from ``cr.manual_seed``'s generator).
        stratify: keep class proportions in every split.

    Raises:
        ValueError: a fraction outside [0, 1), ``val + test >= 1``, or too few samples to fill every split.

    >>> X = np.arange(40.0).reshape(20, 2); labels = np.array([0] * 10 + [1] * 10)
    >>> train, val, test = train_val_test_split(X, labels, val=0.2, test=0.2)
    >>> len(train), len(val), len(test), val.class_counts().tolist()
    (12, 4, 4, [2, 2])
    """
    dataset = data if isinstance(data, Dataset) else Dataset(data, y)
    if isinstance(data, Dataset) and y is not None:
        raise ValueError("train_val_test_split: got a Dataset and y; pass either a Dataset or arrays X, y")
    val, test = _check_fraction("val", val), _check_fraction("test", test)
    if val + test >= 1.0:
        raise ValueError(f"train_val_test_split: val + test must leave samples to train on, got {val} + {test} >= 1")
    n = len(dataset)
    n_val, n_test = _split_size(val, n), _split_size(test, n)
    if n - n_val - n_test < 1:
        raise ValueError(
            f"train_val_test_split: {n} samples of {dataset.name!r} are too few for val={val}, test={test} "
            f"and a non-empty training split"
        )
    rng = np.random.default_rng(seed) if seed is not None else get_generator()
    if stratify and dataset.num_classes is not None:
        # Group by the labels present (not range(num_classes)), so no sample is lost to an out-of-range label;
        # validate() names such labels before training.
        groups = [np.flatnonzero(dataset.y == c) for c in np.unique(dataset.y)]
        groups = [rng.permutation(g) for g in groups if len(g)]
        counts = np.array([len(g) for g in groups])
        # Round the held-out total per class first, so that train keeps the class proportions too.
        held_out = _allocate(n_val + n_test, counts)
        test_counts = _allocate(n_test, held_out) if n_test else np.zeros_like(counts)
        val_counts = held_out - test_counts
        parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
        for group, n_te, n_va in zip(groups, test_counts, val_counts):
            parts["test"].append(group[:n_te])
            parts["val"].append(group[n_te:n_te + n_va])
            parts["train"].append(group[n_te + n_va:])
        index = {k: rng.permutation(np.concatenate(v)) for k, v in parts.items()}
    else:
        order = rng.permutation(n)
        index = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    return Splits(
        train=dataset.subset(index["train"]),
        val=dataset.subset(index["val"]) if val > 0 else None,
        test=dataset.subset(index["test"]) if test > 0 else None,
    )


class Standardizer:
    """Rescale each feature to mean 0 and standard deviation 1 with statistics of the training split.

    Fit on the training data only, then transform validation and test data with those same
    statistics (fitting on them would leak information about them into training). A feature
    that is constant in the training data keeps scale 1, so it becomes 0 instead of NaN.

    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.transform(np.array([[2.0, 5.0], [5.0, 6.0]])).tolist()
    [[0.0, 0.0], [3.0, 1.0]]
    """

    def __init__(self, eps: float = 1e-12) -> None:
        self.eps = eps
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, data: Dataset | np.ndarray) -> Standardizer:
        """Learn each feature's mean and standard deviation from ``data`` (the training split).

        Raises:
            ValueError: data is empty or not 2-D.
        """
        X = self._features(data, "fit")
        if len(X) == 0:
            raise ValueError("Standardizer.fit: expected at least one training sample, got an empty array")
        X64 = X.astype(np.float64)
        std = X64.std(axis=0)
        self.mean = X64.mean(axis=0).astype(np.float32)
        self.scale = np.where(std > self.eps, std, 1.0).astype(np.float32)
        return self

    def transform(self, data: Dataset | np.ndarray) -> Any:
        """``(X - mean) / std`` with the fitted statistics; returns the same kind (Dataset or array).

        Raises:
            ValueError: called before ``fit``, or the number of features differs from the fitted data.
        """
        if self.mean is None or self.scale is None:
            raise ValueError("Standardizer.transform: expected a fitted Standardizer; call fit(train) first")
        X = self._features(data, "transform")
        if X.shape[1] != len(self.mean):
            raise ValueError(
                f"Standardizer.transform: expected {len(self.mean)} features (as in fit), got {X.shape[1]}"
            )
        scaled = ((X - self.mean) / self.scale).astype(np.float32)
        return data.with_arrays(scaled, data.y) if isinstance(data, Dataset) else scaled

    def fit_transform(self, data: Dataset | np.ndarray) -> Any:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    @staticmethod
    def _features(data: Dataset | np.ndarray, method: str) -> np.ndarray:
        X = data.X if isinstance(data, Dataset) else np.asarray(data, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"Standardizer.{method}: expected features of shape (samples, features), got {X.shape}")
        return X

    def __repr__(self) -> str:
        fitted = f"features={len(self.mean)}" if self.mean is not None else "not fitted"
        return f"Standardizer({fitted})"


def standardize(splits: Splits) -> Splits:
    """Fit a Standardizer on ``splits.train`` and apply it to every split; returns new Splits.

    >>> X = np.array([[0.0], [2.0], [4.0], [6.0], [100.0]]); labels = np.array([0, 1, 0, 1, 0])
    >>> out = standardize(train_val_test_split(X, labels, val=0.2, test=0.2, stratify=False))
    >>> bool(abs(out.train.X.mean()) < 1e-6), out.standardizer
    (True, Standardizer(features=1))
    """
    scaler = Standardizer().fit(splits.train)
    return replace(
        splits,
        train=scaler.transform(splits.train),
        val=None if splits.val is None else scaler.transform(splits.val),
        test=None if splits.test is None else scaler.transform(splits.test),
        standardizer=scaler,
    )
