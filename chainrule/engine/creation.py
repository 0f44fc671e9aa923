"""Tensor factories with PyTorch's names; random ones draw from the seeded generator."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.engine.backend import DEFAULT_DTYPE
from chainrule.engine.random import get_generator
from chainrule.engine.tensor import Tensor


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], list | tuple):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    return t.requires_grad_(requires_grad) if requires_grad else t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory (no copy, dtype kept), as ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    return _make(array, False) if array.dtype.kind in "fiub" else Tensor(array)


def zeros(*shape: Any, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros; the shape may be given as ints or as one tuple.

    >>> import chainrule as cr
    >>> cr.zeros(2, 3).shape == cr.zeros((2, 3)).shape == (2, 3)
    True
    """
    return _make(np.zeros(_shape(shape), dtype=dtype), requires_grad)


def ones(*shape: Any, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """A tensor of ones; the shape may be given as ints or as one tuple."""
    return _make(np.ones(_shape(shape), dtype=dtype), requires_grad)


def full(shape: Any, value: float, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (an int or a tuple) filled with ``value``."""
    return _make(np.full(_shape((shape,)), value, dtype=dtype), requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    """Zeros with ``t``'s shape and dtype."""
    return _make(np.zeros_like(t._data), requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    """Ones with ``t``'s shape and dtype."""
    return _make(np.ones_like(t._data), requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """Evenly spaced values in [start, stop); integers stay int64, floats default to float32 (as torch).

    >>> import chainrule as cr
    >>> cr.arange(0, 1, 0.25).tolist(), cr.arange(3).tolist()
    ([0.0, 0.25, 0.5, 0.75], [0, 1, 2])
    """
    values = np.arange(start, stop, step) if stop is not None else np.arange(0, start, step)
    if dtype is None and values.dtype.kind == "f":
        dtype = DEFAULT_DTYPE
    return _make(values.astype(dtype) if dtype is not None else values, False)


def randn(*shape: Any, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the generator seeded by ``manual_seed``."""
    return _make(get_generator().standard_normal(_shape(shape)).astype(dtype), requires_grad)


def rand(*shape: Any, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the generator seeded by ``manual_seed``."""
    return _make(get_generator().random(_shape(shape)).astype(dtype), requires_grad)
