"""The array module behind one name, so a GPU library with NumPy's interface can slot in later."""

from __future__ import annotations

import os
from typing import Any

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


# ---------------------------------------------------------------------------- BLAS threads for small products

# A product of at most this many multiply-adds runs on one BLAS thread. OpenBLAS splits every product above its own
# cutoff (``OPENBLAS_OWN_CUTOFF``) across all its threads, and for the thin products of small networks the handoff
# costs more than the second core saves. Measured on the 2-core benchmark machine (OpenBLAS 0.3.31 SkylakeX,
# `benchmarks/bench_blas_threads.py`, table in benchmarks/README.md): up to 2^25 two threads lost on at least half
# of four aspects (square, k = 32, n = 16, long k) at each size, above it they won on most; the workloads' own
# products agreed (LeNet's im2col (25, 50176) @ (50176, 6) 3.8x slower on 2 threads, the LSTM's input projection
# (1600, 32) @ (32, 512) 4.4x, its W_hh gradient (512, 1600) @ (1600, 128) 0.64x: faster). PyTorch keeps small
# ops on one thread through its grain size in the same spirit.
SMALL_PRODUCT_MACS = 1 << 25
# OpenBLAS's own rule (interface/gemm.c): m·n·k ≤ 65536·4 runs on one thread anyway, so no switching below it.
OPENBLAS_OWN_CUTOFF = 65536 * 4

_blas_libs: list[Any] | None = None  # threadpoolctl's controllers of NumPy's BLAS, found at first use


def _numpy_blas() -> list[Any]:
    """threadpoolctl's controllers for the BLAS NumPy calls (not one another library loaded, such as torch's)."""
    global _blas_libs
    if _blas_libs is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a dependency; without it BLAS keeps its own threading
            _blas_libs = []
        else:
            blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
            numpy_dir = os.path.dirname(os.path.dirname(np.__file__))  # site-packages: numpy/ and numpy.libs/
            own = [lib for lib in blas if lib.filepath.startswith(os.path.join(numpy_dir, "numpy"))]
            _blas_libs = own or blas
    return _blas_libs


class one_blas_thread:  # noqa: N801 - used like a function, as contextlib's context managers
    """Run BLAS on one thread inside the block, then restore the count it had (nothing to do if it had one).

    Around a loop of small products (the recurrent layers' per-step loop); :func:`matmul_small` for one product.
    Safe to nest: an inner block finds one thread and leaves it.
    """

    __slots__ = ("restore",)

    def __enter__(self) -> None:
        self.restore = [(lib, n) for lib in _numpy_blas() if (n := lib.get_num_threads()) > 1]
        for lib, _ in self.restore:
            lib.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        for lib, n in self.restore:
            lib.set_num_threads(n)


def blas_threads_for(macs: int) -> one_blas_thread | None:
    """:class:`one_blas_thread` for a product of ``macs`` multiply-adds that two threads would slow down, else None."""
    return one_blas_thread() if OPENBLAS_OWN_CUTOFF < macs <= SMALL_PRODUCT_MACS else None


def matmul_small(a: Any, b: Any) -> Any:
    """``a @ b``, on one BLAS thread when the product is small enough that splitting it costs more than it saves.

    >>> matmul_small(np.ones((2, 3)), np.ones((3, 4))).tolist()[0]
    [3.0, 3.0, 3.0, 3.0]
    """
    if a.ndim < 2 or b.ndim < 2:  # matrix-vector products: memory-bound, BLAS's own threading
        return a @ b
    # (..., m, k) @ (..., k, n): m·k·n per matrix, times the larger batch (the other side broadcasts). The range
    # test is inlined: most products of small networks fall below OpenBLAS's own cutoff, and this runs per op.
    macs = max(a.size * b.shape[-1], b.size * a.shape[-2])
    if macs <= OPENBLAS_OWN_CUTOFF or macs > SMALL_PRODUCT_MACS:
        return a @ b
    with one_blas_thread():
        return a @ b


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
