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

# When one BLAS thread beats two. Measured alone on the quiet 2-core benchmark machine (load 0.3, OpenBLAS 0.3.31
# SkylakeX, 2026-12-01 16:05 UTC; the table in benchmarks/README.md), two threads win 1.5-2x on every product
# of the benchmark networks above OpenBLAS's own cutoff (the MLP's 128x784 @ 784x256: 1.81x, LeNet's conv
# products 1.9x, the LSTM's step 32x128 @ 128x512: 1.65x) except where the output is too small to split: LeNet's
# first-conv weight gradient (6, 50176) @ (50176, 25), 150 outputs, 0.92-1.00x; 2,400 outputs already gave 1.54x.
# So a product keeps one thread only when its output is thinner than this. (An earlier sweep on the machine
# under a load of 7-8 had found one thread faster up to 2^25 multiply-adds: with the other core busy two
# threads contend; on a quiet machine that rule made the MLP's products 1.7x slower.)
THIN_OUTPUT = 1024
# The recurrent layers' per-step loop (a product, then elementwise work, per time step) keeps one thread for
# products up to this many multiply-adds, as it did before: between steps the second thread has to be woken.
SMALL_PRODUCT_MACS = 1 << 22
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
    """``a @ b``, on one BLAS thread when its output is too thin for two threads to share (``THIN_OUTPUT``).

    >>> matmul_small(np.ones((2, 3)), np.ones((3, 4))).tolist()[0]
    [3.0, 3.0, 3.0, 3.0]
    """
    if a.ndim < 2 or b.ndim < 2:  # matrix-vector products: memory-bound, BLAS's own threading
        return a @ b
    # (..., m, k) @ (..., k, n): m·n outputs per matrix; m·k·n multiply-adds per matrix, times the larger batch
    # (the other side broadcasts). Inlined, as it runs per op: small networks' products return at the first test.
    if max(a.size * b.shape[-1], b.size * a.shape[-2]) <= OPENBLAS_OWN_CUTOFF or \
            a.shape[-2] * b.shape[-1] >= THIN_OUTPUT:
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


class IndexingError(IndexError, RuntimeError):
    """An index that does not fit (out of bounds in gather, a value of the wrong shape for ``x[i] = v``): an
    IndexError for chainrule, a RuntimeError as PyTorch raises."""


class ValueRangeError(RuntimeError, ValueError):
    """A value outside what an op takes (a negative count for bincount): a ValueError for chainrule, a RuntimeError
    as PyTorch raises."""


class IntegerDivisionByZeroError(RuntimeError, ZeroDivisionError):
    """An integer ``//``, ``%`` or fmod by zero: PyTorch raises RuntimeError("ZeroDivisionError"); NumPy would
    give 0, with a warning at most."""


class DtypeError(TypeError, RuntimeError):
    """A dtype an op can't take (gradients of integers, an in-place result that can't be cast back):
    a TypeError for chainrule and a RuntimeError as PyTorch raises."""
