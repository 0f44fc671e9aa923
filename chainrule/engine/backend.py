"""The array module behind one name, so a GPU library with NumPy's interface can slot in later."""

from __future__ import annotations

import numpy as np

try:  # optional: CuPy arrays are served by CuPy, everything else by NumPy
    import cupy as _cupy
except ImportError:  # pragma: no cover - CuPy is not a dependency
    _cupy = None


def get_array_module(x: object):
    """Return the array module (NumPy, or CuPy for CuPy arrays) that serves ``x``."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy
    return np


#: Floating-point dtypes a tensor may carry a gradient in.
FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
DEFAULT_DTYPE = np.dtype(np.float32)


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` down to ``shape``: the one place that undoes NumPy broadcasting.

    >>> unbroadcast(np.ones((4, 2, 3)), (2, 1)).tolist()
    [[12.0], [12.0]]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


class GraphError(RuntimeError, ValueError):
    """A misuse of the autograd graph (backward without a graph, twice through a freed one, …).

    A RuntimeError as in PyTorch, so ``except RuntimeError`` carries over, and a ValueError like every other
    chainrule user error.
    """


class ShapeError(RuntimeError, ValueError):
    """Shapes that don't fit (matmul, reshape, cat, broadcasting, a tensor with more than one element where
    one is needed): a ValueError like every chainrule user error and a RuntimeError as PyTorch raises."""


class DimError(IndexError, ValueError):
    """A dimension out of range: an IndexError as in PyTorch and a ValueError like every chainrule user error."""


class DtypeError(TypeError, RuntimeError):
    """A dtype an op can't take (gradients of integers, an in-place result that can't be cast back):
    a TypeError for chainrule and a RuntimeError as PyTorch raises."""
