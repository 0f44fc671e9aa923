"""Datasets, samplers and the DataLoader of ``torch.utils.data``, with its names, arguments and results.

Map-style datasets (``__getitem__`` and ``__len__``) are batched by ``DataLoader`` and collated like
torch's ``default_collate``: tensors and NumPy arrays are stacked along a new first dimension into a
Tensor, Python ints become an int64 tensor, floats a float64 tensor, bools a bool tensor, and tuples,
lists, dicts and named tuples are collated field by field (a tuple sample gives a list, as in torch).
``IterableDataset`` is supported in its simple single-process form.

chainrule runs on the CPU in one process: ``num_workers`` > 0 is accepted and gives the same batches
as torch would, loaded in the main process (no worker processes, so ``worker_init_fn`` is not called and
``get_worker_info()`` is None); ``pin_memory`` is accepted and does nothing.

>>> import chainrule as cr
>>> from chainrule.utils.data import DataLoader, TensorDataset
>>> ds = TensorDataset(cr.arange(10).reshape(5, 2).float(), cr.tensor([0, 1, 0, 1, 1]))
>>> xb, yb = next(iter(DataLoader(ds, batch_size=2)))
>>> xb.shape, yb.tolist(), yb.dtype
((2, 2), [0, 1], dtype('int64'))
"""

from __future__ import annotations

import bisect
import collections.abc
import copy
import itertools
import math
import numbers
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from chainrule.engine import ops
from chainrule.engine.dtypes import SUPPORTED
from chainrule.engine.random import as_numpy_generator
from chainrule.engine.tensor import Tensor

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate",
    "default_convert", "get_worker_info", "random_split",
]

class SizeMismatchError(AssertionError, ValueError):
    """Tensors of a TensorDataset with different first dimensions: an AssertionError, as PyTorch raises."""


T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")


# ---------------------------------------------------------------------------- datasets


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` (and ``__len__``), as torch's ``Dataset``.

    ``dataset_a + dataset_b`` concatenates them (a :class:`ConcatDataset`).
    """

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __getitem__")

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: subclasses define ``__iter__`` (the DataLoader batches what it yields)."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__}: an IterableDataset subclass must define __iter__")

    def __add__(self, other: Any) -> Any:
        raise TypeError("IterableDataset: '+' (ConcatDataset) works on map-style datasets only; "
                        "chain the streams with itertools.chain in your own IterableDataset")


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Tensors sharing their first dimension; item ``i`` is the tuple ``(t[i] for t in tensors)``.

    Raises:
        TypeError: an argument is not a Tensor.
        ValueError: no tensors, or their first dimensions differ.
    """

    tensors: tuple[Tensor, ...]

    def __init__(self, *tensors: Tensor) -> None:
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {k} must be a Tensor (use cr.tensor(...)), got "
                                f"{type(t).__name__}")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {k} is a 0-d tensor; each tensor needs a first dimension "
                                 "indexing the samples")
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        sizes = [t.shape[0] for t in tensors]
        if any(n != sizes[0] for n in sizes):
            raise SizeMismatchError(f"TensorDataset: size mismatch between tensors: every tensor needs the same first "
                             f"dimension (the number of samples), got {sizes}")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset[T_co]):
    """The items of ``dataset`` at ``indices`` (``subset[i]`` is ``dataset[indices[i]]``)."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset[T_co]):
    """Map-style datasets one after another.

    Raises:
        ValueError: no datasets.
        TypeError: an IterableDataset among them.
    """

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("ConcatDataset: absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        if idx >= len(self):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {len(self)} items")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def random_split(dataset: Any, lengths: Sequence[int | float], generator: Any = None) -> list[Subset[Any]]:
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s of the given lengths.

    ``lengths`` are counts that add up to ``len(dataset)``, or fractions that add up to 1 (the counts are
    then ``floor(n * fraction)``, with the remainder spread one by one from the first split, as torch).
    The permutation comes from ``generator`` (a ``cr.Generator``), else from the one ``cr.manual_seed`` seeds.

    Raises:
        ValueError: the lengths don't add up, or a fraction is outside [0, 1].

    >>> import chainrule as cr
    >>> from chainrule.utils.data import TensorDataset
    >>> train, val = random_split(TensorDataset(cr.zeros(10, 2)), [0.8, 0.2], cr.engine.random.Generator())
    >>> len(train), len(val)
    (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts: list[int] = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, got {frac}")
            counts.append(math.floor(n * frac))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              UserWarning, stacklevel=2)
    for i, length in enumerate(lengths):
        if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 0:
            raise ValueError(f"random_split: lengths must be non-negative ints or fractions adding up to 1, "
                             f"got {lengths[i]!r} at index {i}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"input dataset ({n})")
    indices = as_numpy_generator(generator).permutation(n).tolist()
    return [Subset(dataset, indices[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths, strict=True)]


# ---------------------------------------------------------------------------- samplers


class Sampler(Generic[T_co]):
    """Base class of index samplers: ``__iter__`` yields indices (or lists of them, for batch samplers)."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__}: a Sampler subclass must define __iter__")


class SequentialSampler(Sampler[int]):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A random order of the indices (a new one each epoch), or ``num_samples`` draws with ``replacement``.

    Draws come from ``generator`` (a ``cr.Generator``), else from the one ``cr.manual_seed`` seeds.

    Raises:
        TypeError: ``replacement`` is not a bool.
        ValueError: ``num_samples`` is not a positive int.
    """

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        if isinstance(self.num_samples, bool) or not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples!r}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        rng = as_numpy_generator(self.generator)
        if self.replacement:
            yield from rng.integers(0, n, self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[: self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order (a new one each epoch)."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in as_numpy_generator(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with replacement by default),
    as ``torch.utils.data.WeightedRandomSampler``: the usual answer to imbalanced classes (weight each sample by
    one over its class's count). Draws come from ``generator``, else from the one ``cr.manual_seed`` seeds.

    Without replacement, as torch: once every sample of non-zero weight is drawn, the zero-weight ones follow.

    Raises:
        ValueError: ``num_samples`` is not a positive int, or ``replacement`` not a bool (PyTorch's types).
        RuntimeError: the weights are not one non-negative, finite number per sample with a positive sum, or
            more samples than weights are asked for without replacement.
    """

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True, generator: Any = None) -> None:
        where = "WeightedRandomSampler"
        if isinstance(num_samples, bool) or not isinstance(num_samples, int | numbers.Integral) or num_samples <= 0:
            raise ValueError(f"{where}: num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"{where}: replacement should be a boolean value, but got replacement={replacement!r}")
        array = np.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            raise RuntimeError(f"{where}: weights must be one number per sample (a 1-d sequence), got shape "
                               f"{array.shape}")
        if not np.isfinite(array).all() or (array < 0).any() or array.sum() <= 0:
            raise RuntimeError(f"{where}: invalid weights: each must be finite and non-negative, with a positive "
                               "sum")
        if not replacement and num_samples > array.size:
            raise RuntimeError(f"{where}: cannot draw {num_samples} samples without replacement from "
                               f"{array.size} weights")
        self.weights = Tensor._make(array)
        self.num_samples, self.replacement, self.generator = int(num_samples), replacement, generator
        self._p = array / array.sum()

    def __iter__(self) -> Iterator[int]:
        rng = as_numpy_generator(self.generator)
        if self.replacement:
            yield from rng.choice(self._p.size, size=self.num_samples, p=self._p).tolist()
            return
        # without replacement, as torch.multinomial: the weighted ones in a weighted order, then (when more are
        # asked for) the zero-weight ones in index order
        positive = np.flatnonzero(self._p)
        first = rng.choice(positive.size, size=min(self.num_samples, positive.size), replace=False,
                           p=self._p[positive])
        yield from positive[first].tolist()
        yield from np.flatnonzero(self._p == 0)[:self.num_samples - positive.size].tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless ``drop_last``).

    Raises:
        ValueError: ``batch_size`` is not a positive int.
        TypeError: ``drop_last`` is not a bool.
    """

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool) -> None:
        # int | Integral (the same test): Integral alone narrows the int argument to an int-and-Integral that mypy
        # can't type the attributes set below with ("Cannot determine type")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | numbers.Integral) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ---------------------------------------------------------------------------- collation

_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _array_tensor(array: np.ndarray, what: Any) -> Tensor:
    if array.dtype not in SUPPORTED:
        if array.dtype.kind in "USOV":
            raise TypeError(_COLLATE_ERROR.format(what))
        array = array.astype(np.int64 if array.dtype.kind in "iu" else np.float32)
    return Tensor._wrap(array)


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, as torch's ``default_collate``.

    Tensors and NumPy arrays are stacked along a new first dimension (a Tensor, the graph kept when a sample
    requires grad); NumPy scalars keep their dtype; Python ints give int64, floats float64, bools bool;
    strings stay a list; dicts, named tuples, tuples (as a list) and lists are collated field by field.

    Raises:
        TypeError: an element of a type it can't batch.
        RuntimeError: sequences of different lengths.

    >>> default_collate([(1, 2.0), (3, 4.0)])
    [tensor([1, 3]), tensor([2., 4.], dtype=float64)]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t.requires_grad for t in batch):
            return ops.stack(list(batch), 0)
        try:
            return Tensor._wrap(np.stack([t._data for t in batch]))
        except ValueError:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, got shapes "
                               f"{sorted({t.shape for t in batch})}") from None
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "USOV":
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        try:
            return _array_tensor(np.stack(batch), elem.dtype)
        except ValueError:
            raise RuntimeError(f"default_collate: stack expects each array to be equal size, got shapes "
                               f"{sorted({np.shape(a) for a in batch})}") from None
    if isinstance(elem, np.bool_ | np.number):
        return _array_tensor(np.asarray(batch), type(elem))
    if isinstance(elem, float):
        return Tensor._wrap(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, bool):
        return Tensor._wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _same_mapping(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size, got "
                               f"lengths {sorted({len(e) for e in batch})}")
        columns = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # a list, as torch (for backwards compatibility)
        try:
            clone = copy.copy(elem)
            clone[:] = columns  # type: ignore[index]
            return clone
        except TypeError:
            return columns
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """What the DataLoader does to samples when ``batch_size=None``: NumPy arrays and scalars become Tensors,
    containers are converted element by element, anything else is left as it is (torch's ``default_convert``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "USOV" else _array_tensor(data, data.dtype)
    if isinstance(data, np.bool_ | np.number):
        return _array_tensor(np.asarray(data), type(data))
    if isinstance(data, str | bytes):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _same_mapping(data, {key: default_convert(value) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            clone = copy.copy(data)
            clone[:] = [default_convert(d) for d in data]  # type: ignore[index]
            return clone
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def _same_mapping(original: Any, values: dict[Any, Any]) -> Any:
    """``values`` in ``original``'s mapping type when it can be made (a plain dict otherwise), as torch."""
    try:
        if isinstance(original, collections.abc.MutableMapping):
            clone = copy.copy(original)
            clone.update(values)
            return clone
        return type(original)(values)
    except TypeError:
        return values


def get_worker_info() -> None:
    """None: chainrule loads every batch in the main process (torch gives None there too)."""
    return None


# ---------------------------------------------------------------------------- the loader


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"DataLoader: {name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


class _BatchIterator:
    """What ``iter(loader)`` returns: the batches, one epoch of them, with ``len()`` as torch's iterator has."""

    __slots__ = ("_batches", "_loader")

    def __init__(self, loader: DataLoader[Any]) -> None:
        self._loader, self._batches = loader, loader._batches()

    def __iter__(self) -> _BatchIterator:
        return self

    def __next__(self) -> Any:
        return next(self._batches)

    def __len__(self) -> int:
        return len(self._loader)


class DataLoader(Generic[T_co]):
    """Batches of a dataset, as ``torch.utils.data.DataLoader``: each ``for`` loop is one epoch.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``: a :class:`TensorDataset`, a
            ``chainrule.data.Dataset``, your own class) or an :class:`IterableDataset`.
        batch_size: samples per batch (None: no batching; each sample goes through ``default_convert``).
        shuffle: draw a new order every epoch (from ``generator``).
        sampler: the order of indices (exclusive with ``shuffle``).
        batch_sampler: yields lists of indices (exclusive with batch_size, shuffle, sampler and drop_last).
        num_workers: accepted; batches are loaded in the main process and are the same as torch's.
        collate_fn: merges a list of samples into a batch (default: :func:`default_collate`).
        pin_memory: accepted; does nothing (CPU only).
        drop_last: drop a last batch smaller than ``batch_size``.
        timeout, worker_init_fn, multiprocessing_context, prefetch_factor, persistent_workers, pin_memory_device,
            in_order: accepted for torch compatibility (no worker processes), checked as torch checks them.
        generator: a ``cr.Generator`` for shuffling (else the one ``cr.manual_seed`` seeds).

    A :class:`TensorDataset` (or a ``chainrule.data.Dataset``) with the default ``collate_fn`` is batched by
    indexing its arrays once per batch, with the same result as collating the samples one by one.

    Raises:
        ValueError: an argument out of range or a combination torch refuses, quoted.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler[Any] | Iterable[Any] | None = None,
        batch_sampler: Sampler[list[Any]] | Iterable[list[Any]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        # int | Integral: as in BatchSampler, so mypy can type the attributes set below
        if isinstance(num_workers, bool) or not isinstance(num_workers, int | numbers.Integral) or num_workers < 0:
            raise ValueError("DataLoader: num_workers option should be non-negative; use num_workers=0 to disable "
                             f"multiprocessing, got {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing. Let "
                             "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if not isinstance(drop_last, bool):
            raise TypeError(f"DataLoader: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        elif not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: dataset must be a map-style dataset (with __getitem__ and __len__) or an "
                            f"IterableDataset, got {type(dataset).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
        else:
            batch_size = _positive_int(batch_size, "batch_size")
        if shuffle is not None and not isinstance(shuffle, bool):
            raise TypeError(f"DataLoader: shuffle should be a boolean value, but got shuffle={shuffle!r}")
        self._iterable = isinstance(dataset, IterableDataset)
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # type: ignore[arg-type]
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._auto_collation = batch_size is not None or batch_sampler is not None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        return len(self.sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        return _BatchIterator(self)

    def _batches(self) -> Iterator[Any]:
        if self._iterable:
            yield from self._iter_stream()
            return
        if self.batch_sampler is None:  # batch_size=None: one sample at a time, converted
            for index in self.sampler:  # type: ignore[union-attr]
                yield self.collate_fn(self.dataset[index])
            return
        arrays = self._fast_arrays()
        for indices in self.batch_sampler:
            if arrays is not None:
                rows = np.asarray(indices, dtype=np.intp)
                yield [Tensor._wrap(a[rows]) for a in arrays]
                continue
            getitems = getattr(self.dataset, "__getitems__", None)
            samples = getitems(indices) if getitems is not None else [self.dataset[i] for i in indices]
            yield self.collate_fn(samples)

    def _fast_arrays(self) -> list[np.ndarray] | None:
        """The arrays behind a TensorDataset (or chainrule.data.Dataset) batched by default_collate: each batch
        then indexes them once (the same result as stacking the samples)."""
        if self.collate_fn is not default_collate:
            return None
        if type(self.dataset) is TensorDataset:
            if any(t.requires_grad for t in self.dataset.tensors):
                return None  # samples carry a graph: collate them (stack) so it is kept
            return [t._data for t in self.dataset.tensors]
        module = sys.modules.get("chainrule.data.dataset")  # not imported: the dataset can't be one of its kind
        array_dataset = getattr(module, "Dataset", None)
        if (array_dataset is not None and isinstance(self.dataset, array_dataset)
                and type(self.dataset).__getitem__ is array_dataset.__getitem__):
            return [self.dataset.X, self.dataset.y]
        return None

    def _iter_stream(self) -> Iterator[Any]:
        stream = iter(self.dataset)
        if self.batch_size is None:
            for sample in stream:
                yield self.collate_fn(sample)
            return
        while True:
            batch = list(itertools.islice(stream, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers})")
