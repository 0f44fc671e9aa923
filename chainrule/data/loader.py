"""`DataLoader`: mini-batches of NumPy arrays, one permutation per epoch, each batch gathered by it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chainrule.data.dataset import Dataset
from chainrule.engine.random import get_generator


class DataLoader:
    """Iterate over a Dataset in mini-batches ``(X_batch, y_batch)`` of contiguous NumPy arrays.

    Each ``for`` loop over the loader is one epoch. With ``shuffle=True`` one permutation is drawn
    per epoch and each batch gathers its rows (``X[order[a:b]]``), so the data is never copied
    whole (that would double its memory at every epoch). A ``seed``
    gives the loader its own generator, so two loaders with the same seed yield the same
    sequence of epochs; without one, shuffling draws from ``chainrule.engine.random.get_generator()``
    (reseeded by ``cr.manual_seed``). Batches are read-only: copy one before editing it in place.

    Args:
        dataset: the Dataset to batch.
        batch_size: samples per batch (the last may be smaller unless ``drop_last``).
        shuffle: draw a new order each epoch.
        drop_last: drop a final batch smaller than ``batch_size``.
        seed: seed for this loader's own shuffling generator (None: the library generator).

    Raises:
        TypeError: dataset is not a Dataset, or a flag is not a bool.
        ValueError: batch_size is not a positive int, seed is negative, the dataset is empty,
            or ``drop_last`` would leave no batch at all.

    >>> ds = Dataset(np.arange(10.0).reshape(5, 2), [0, 1, 0, 1, 0])
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader), [len(y) for _, y in loader]
    (3, [2, 2, 1])
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"DataLoader: expected a chainrule.data.Dataset (build one with Dataset(X, y)), "
                f"got {type(dataset).__name__}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        for flag, value in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(value, bool | np.bool_):
                raise TypeError(f"DataLoader: {flag} must be True or False, got {value!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0):
            raise ValueError(f"DataLoader: seed must be None or a non-negative int, got {seed!r}")
        if len(dataset) == 0:
            raise ValueError(f"DataLoader: dataset {dataset.name!r} is empty (0 samples); expected at least one")
        if drop_last and batch_size > len(dataset):
            raise ValueError(
                f"DataLoader: drop_last=True with batch_size={batch_size} larger than the {len(dataset)} samples "
                f"of {dataset.name!r} gives no batch at all; lower batch_size or set drop_last=False"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(int(seed))

    def __len__(self) -> int:
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        X, y = self.dataset.X, self.dataset.y
        starts = range(0, len(self) * self.batch_size, self.batch_size)
        if not self.shuffle:
            for start in starts:
                yield X[start:start + self.batch_size], y[start:start + self.batch_size]
            return
        generator = self._generator if self._generator is not None else get_generator()
        order = generator.permutation(len(X))
        for start in starts:
            rows = order[start:start + self.batch_size]
            xb, yb = X[rows], y[rows]
            xb.flags.writeable = yb.flags.writeable = False  # as the unshuffled batches (views of the data) are
            yield xb, yb

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset.name!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, batches={len(self)})"
        )
