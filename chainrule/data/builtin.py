"""Data sets that ship with installed packages: scikit-learn's small sets and a generated MNIST-1D."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import numpy as np

from chainrule._io import atomic_write
from chainrule.data.dataset import Dataset

SKLEARN_SETS = ("digits", "iris", "wine", "breast_cancer")


def load_sklearn(name: str) -> Dataset:
    """One of scikit-learn's shipped sets (``digits``, ``iris``, ``wine``, ``breast_cancer``) as a Dataset.

    Raises:
        ValueError: an unknown name.
    """
    if name not in SKLEARN_SETS:
        raise ValueError(f"load_sklearn: expected one of {SKLEARN_SETS}, got {name!r}")
    from sklearn import datasets  # slow to import; only when asked for

    bunch = getattr(datasets, f"load_{name}")()
    return Dataset(
        bunch.data, bunch.target.astype(np.int64), name=name,
        feature_names=[str(f) for f in bunch.feature_names],
        num_classes=len(bunch.target_names), class_names=[str(c) for c in bunch.target_names],
    )


def default_cache_dir() -> Path:
    """``$CHAINRULE_CACHE`` if set, else ``~/.cache/chainrule``."""
    return Path(os.environ.get("CHAINRULE_CACHE", Path.home() / ".cache" / "chainrule")).expanduser()


def _generate_mnist1d(n_train: int, n_test: int) -> dict[str, np.ndarray]:
    # Only the generator: mnist1d.data.get_dataset would try a download first.
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = n_train + n_test
    args.train_split = 1.0  # we split at n_train ourselves: exact, no float rounding
    # make_dataset reseeds NumPy's and Python's global generators; give the caller theirs back.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    x, y = data["x"].astype(np.float32), data["y"].astype(np.int64)
    return {"x": x[:n_train], "y": y[:n_train], "x_test": x[n_train:], "y_test": y[n_train:]}


def load_mnist1d(
    n_train: int = 4000, n_test: int = 1000, cache_dir: str | os.PathLike | None = None, cache: bool = True
) -> tuple[Dataset, Dataset]:
    """MNIST-1D (40 features, 10 classes) generated offline by the ``mnist1d`` package; (train, test).

    The package's defaults give 4000 training and 1000 test signals; the arrays are cached as
    ``mnist1d_{n_train}_{n_test}.npz`` under ``cache_dir`` (default :func:`default_cache_dir`).

    Args:
        n_train: training signals; ``n_train + n_test`` must be a multiple of 10 (one tenth per digit).
        n_test: test signals.
        cache_dir: folder of the cache file.
        cache: read and write the cache (False: always generate).

    Raises:
        ValueError: sizes that are not positive or do not add up to a multiple of 10.
    """
    for label, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"mnist1d: {label} must be a positive int, got {value!r}")
    if (n_train + n_test) % 10:
        raise ValueError(
            f"mnist1d: n_train + n_test must be a multiple of 10 (the generator makes equal counts of the "
            f"10 digits), got {n_train} + {n_test} = {n_train + n_test}"
        )
    path = Path(cache_dir if cache_dir is not None else default_cache_dir()).expanduser()
    path = path / f"mnist1d_{n_train}_{n_test}.npz"
    arrays = None
    if cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in ("x", "y", "x_test", "y_test")}
        except (OSError, ValueError, KeyError):
            arrays = None  # a damaged cache is rebuilt below
    if arrays is None:
        arrays = _generate_mnist1d(n_train, n_test)
        if cache:
            buffer = io.BytesIO()
            # mypy: a str-keyed ** could name savez's allow_pickle; these keys are x, y, x_test, y_test
            np.savez(buffer, **arrays)  # type: ignore[arg-type]
            atomic_write(path, buffer.getvalue())  # a reader never sees a half-written cache file
    names = [f"t{i}" for i in range(arrays["x"].shape[1])]
    train = Dataset(arrays["x"], arrays["y"], name="mnist1d", feature_names=names, num_classes=10)
    test = Dataset(arrays["x_test"], arrays["y_test"], name="mnist1d", feature_names=names, num_classes=10)
    return train, test
