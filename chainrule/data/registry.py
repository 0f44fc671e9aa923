"""One entry point for every data set: ``load_dataset(name, **options) -> Splits``."""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from chainrule.data.builtin import load_mnist1d, load_sklearn
from chainrule.data.dataset import Dataset
from chainrule.data.files import load_file
from chainrule.data.idx import load_mnist_folder
from chainrule.data.playground import make_playground
from chainrule.data.splits import Splits, standardize, train_val_test_split
from chainrule.data.validate import validate


def _finish(splits: Splits, scale: bool) -> Splits:
    return standardize(splits) if scale else splits


def _carve_val(train: Dataset, test: Dataset, val: float, seed: int | None) -> Splits:
    # Sets that come with their own test split: the validation split is taken from training data only.
    if val == 0:
        return Splits(train=train, val=None, test=test)
    return replace(train_val_test_split(train, val=val, test=0.0, seed=seed), test=test)


def _playground(name: str) -> Callable[..., Splits]:
    def load(
        n_samples: int = 500, noise: float = 0, train_ratio: float = 50, seed: int | None = 0,
        standardize: bool = False,
    ) -> Splits:
        if isinstance(train_ratio, bool) or not isinstance(train_ratio, int | float) or not 10 <= train_ratio <= 90:
            raise ValueError(f"{name}: train_ratio is a percentage in 10..90 (the Playground's), got {train_ratio!r}")
        held_out = (1 - train_ratio / 100) / 2
        data = make_playground(name, n_samples=n_samples, noise=noise, seed=seed)
        return _finish(train_val_test_split(data, val=held_out, test=held_out, seed=seed), standardize)

    return load


def _sklearn(name: str) -> Callable[..., Splits]:
    def load(val: float = 0.15, test: float = 0.15, seed: int | None = 0, standardize: bool = True) -> Splits:
        return _finish(train_val_test_split(load_sklearn(name), val=val, test=test, seed=seed), standardize)

    return load


def _mnist1d(
    n_train: int = 4000, n_test: int = 1000, val: float = 0.1, seed: int | None = 0,
    cache_dir: str | os.PathLike | None = None, cache: bool = True, standardize: bool = False,
) -> Splits:
    train, test = load_mnist1d(n_train=n_train, n_test=n_test, cache_dir=cache_dir, cache=cache)
    return _finish(_carve_val(train, test, val, seed), standardize)


def _idx(name: str) -> Callable[..., Splits]:
    def load(
        path: str | os.PathLike | None = None, val: float = 0.1, seed: int | None = 0, standardize: bool = False
    ) -> Splits:
        if path is None:
            raise ValueError(
                f"{name}: expected path=FOLDER holding the IDX files (train-images-idx3-ubyte[.gz], ...); "
                f"chainrule never downloads them"
            )
        train, test = load_mnist_folder(path, name=name)
        return _finish(_carve_val(train, test, val, seed), standardize)

    return load


def _user_file(
    path: str | os.PathLike, label_column: int | str = -1, task: str | None = None, val: float = 0.15,
    test: float = 0.15, seed: int | None = 0, standardize: bool = True,
) -> Splits:
    data = load_file(path, label_column=label_column, task=task)
    # Check the file as read, before standardizing spreads a NaN over its column and splitting renumbers rows.
    validate(data)
    return _finish(train_val_test_split(data, val=val, test=test, seed=seed), standardize)


_PLAYGROUND = "TensorFlow Playground {}: 2 features, 2 classes; options n_samples=500, noise=0..50 %, train_ratio=50 %"
_SKLEARN = "scikit-learn {} ({} samples, {} features, {} classes); standardized; 70/15/15 stratified split"
_IDX = "{} from your IDX files (784 pixels in [0, 1], 10 classes); option path=FOLDER (never downloads)"

DATASETS: dict[str, tuple[Callable[..., Splits], str]] = {
    "circle": (_playground("circle"), _PLAYGROUND.format("circle: a disc inside a ring")),
    "xor": (_playground("xor"), _PLAYGROUND.format("xor: the four quadrants")),
    "gauss": (_playground("gauss"), _PLAYGROUND.format("gauss: two Gaussian blobs")),
    "spiral": (_playground("spiral"), _PLAYGROUND.format("spiral: two interleaved spirals")),
    "digits": (_sklearn("digits"), _SKLEARN.format("digits: 8x8 handwritten digits", 1797, 64, 10)),
    "iris": (_sklearn("iris"), _SKLEARN.format("iris flowers", 150, 4, 3)),
    "wine": (_sklearn("wine"), _SKLEARN.format("wine cultivars", 178, 13, 3)),
    "breast_cancer": (_sklearn("breast_cancer"), _SKLEARN.format("breast cancer diagnosis", 569, 30, 2)),
    "mnist1d": (
        _mnist1d,
        "MNIST-1D: 1-D digit signals (40 features, 10 classes) generated offline by the mnist1d package; "
        "options n_train=4000, n_test=1000, val=0.1 of train; cached as .npz",
    ),
    "mnist": (_idx("mnist"), _IDX.format("MNIST handwritten digits")),
    "fashion_mnist": (_idx("fashion_mnist"), _IDX.format("Fashion-MNIST clothing images")),
}


def available_datasets() -> dict[str, str]:
    """Every built-in data set name with a one-line description (a .csv or .npz path also works).

    >>> sorted(available_datasets())[:3]
    ['breast_cancer', 'circle', 'digits']
    """
    return {name: description for name, (_, description) in DATASETS.items()}


def _options(loader: Callable[..., Splits], skip: int = 0) -> list[str]:
    return list(inspect.signature(loader).parameters)[skip:]


def load_dataset(name: str | os.PathLike, **options: Any) -> Splits:
    """Load a data set by name (see :func:`available_datasets`) or from a .csv/.npz path, split (and scaled).

    Every loader takes ``seed`` and ``standardize``; classification splits are stratified.
    Playground sets split ``train_ratio`` % for training and the rest evenly into val and test;
    sets with their own test split (mnist1d, mnist, fashion_mnist) take ``val`` from training data.

    Args:
        name: a built-in name, or the path of a ``.csv`` / ``.npz`` file (see :func:`load_file`).
        **options: the loader's options (listed in each description).

    Raises:
        ValueError: an unknown name (with close matches), or a bad option value.
        TypeError: an option the loader does not take.
        FileNotFoundError: files a loader needs are missing.

    >>> splits = load_dataset("xor", n_samples=200, noise=10)
    >>> len(splits.train), len(splits.val), len(splits.test), splits.num_features
    (100, 50, 50, 2)
    """
    key = os.fspath(name)
    if key in DATASETS:
        loader, skip = DATASETS[key][0], 0
    elif Path(key).suffix.lower() in (".csv", ".npz") or os.sep in key or Path(key).exists():
        loader, skip = _user_file, 1
        options = {"path": key, **options}
    else:
        close = difflib.get_close_matches(key, DATASETS, n=3)
        hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
        raise ValueError(
            f"load_dataset: unknown dataset {key!r}{hint}; expected one of {', '.join(DATASETS)}, "
            f"or the path of a .csv or .npz file"
        )
    valid = _options(loader)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(
            f"load_dataset({key!r}): unknown option(s) {', '.join(unknown)}; expected some of {', '.join(valid[skip:])}"
        )
    return loader(**options)
