"""``torch.linalg``'s most used functions: norms, ``inv``, ``det`` and ``solve``, each with its gradient.

The norms are built from the engine's ``norm`` and reductions; ``inv``, ``det`` and ``solve`` are ops with
their textbook gradients (d(A⁻¹) = -A⁻¹ dA A⁻¹, d det A = det A · tr(A⁻¹ dA)), over batches of matrices as
PyTorch's. Each is checked against torch in tests/compat/test_semantics_vs_torch.py.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from chainrule.engine import ops
from chainrule.engine.autograd import Function
from chainrule.engine.backend import DtypeError, ShapeError
from chainrule.engine.tensor import Tensor

__all__ = ["cross", "det", "inv", "matrix_norm", "norm", "solve", "vector_norm"]

cross = ops.cross


class SingularMatrixError(RuntimeError, ValueError):
    """A matrix with no inverse: a RuntimeError as PyTorch's (``torch.linalg.LinAlgError``), and a ValueError."""


def _square(a: Tensor, op: str) -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"linalg.{op}: expected a Tensor, got {type(a).__name__}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"linalg.{op}: expected square matrices (…, n, n), got shape {a.shape}")
    if a._data.dtype.kind != "f":
        raise DtypeError(f"linalg.{op}: expected a floating-point tensor, got dtype {a._data.dtype}")


def _singular(op: str) -> SingularMatrixError:
    return SingularMatrixError(f"linalg.{op}: the matrix is singular (not invertible)")


def _t(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


class Inverse(Function):
    saves_inputs = False

    def forward(self, a):
        try:
            self.out = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise _singular("inv") from None
        return self.out

    def backward(self, g):
        inverse_t = _t(self.out)
        return (-(inverse_t @ g @ inverse_t),)


class Determinant(Function):
    def forward(self, a):
        self.a = a
        self.out = np.linalg.det(a)
        return self.out

    def backward(self, g):
        try:  # d det A = det A · (A⁻¹)ᵀ; a singular A's gradient is its cofactor matrix, the adjugate's transpose
            cofactor = self.out[..., None, None] * _t(np.linalg.inv(self.a))
        except np.linalg.LinAlgError:
            cofactor = _cofactors(self.a)
        return (np.asarray(g)[..., None, None] * cofactor,)


def _cofactors(a: np.ndarray) -> np.ndarray:
    """The cofactor matrix of each (n, n) matrix of ``a``, by minors (a singular matrix's det gradient)."""
    n = a.shape[-1]
    out = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
            out[..., i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return out


class Solve(Function):
    def forward(self, a, b, vector):
        self.a, self.vector = a, vector
        try:
            x = np.linalg.solve(a, b[..., None] if vector else b)
        except np.linalg.LinAlgError:
            raise _singular("solve") from None
        self.x = x
        return x[..., 0] if vector else x

    def backward(self, g):
        g = g[..., None] if self.vector else g
        gb = np.linalg.solve(_t(self.a), g)  # Aᵀ gB = g
        ga = -(gb @ _t(self.x))
        return ga, (gb[..., 0] if self.vector else gb)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix, as ``torch.linalg.inv``; a singular matrix raises."""
    _square(A, "inv")
    return Inverse.apply(A)


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix, as ``torch.linalg.det``. A singular matrix's gradient is its
    cofactor matrix, the true derivative (finite differences agree); PyTorch 2.13 gives zeros there."""
    _square(A, "det")
    return Determinant.apply(A)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (B a matrix (…, n, k) or a vector (…, n)), as ``torch.linalg.solve``."""
    _square(A, "solve")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve: expected B as a Tensor, got {type(B).__name__}")
    if not left:
        raise NotImplementedError("linalg.solve(left=False) is not available in chainrule; solve Aᵀ Xᵀ = Bᵀ instead")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if (B.shape[-1] if vector else B.shape[-2]) != n:
        raise ShapeError(f"linalg.solve: A has shape {A.shape}, so B needs {n} rows, got shape {B.shape}")
    if B._data.dtype != A._data.dtype:
        raise DtypeError(f"linalg.solve: A and B must have one dtype, got {A._data.dtype} and {B._data.dtype}")
    return Solve.apply(A, B, vector)


def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
                dtype: Any = None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (every element by default), as ``torch.linalg.vector_norm``."""
    if isinstance(ord, str):
        raise ValueError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return ops.norm(x, ord, dim, keepdim, dtype)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False, *,  # noqa: A002
                dtype: Any = None) -> Tensor:
    """The matrix norm over the two dimensions ``dim``, as ``torch.linalg.matrix_norm``: ``'fro'``, or 1, -1,
    inf, -inf (the largest or smallest column or row sum of absolute values). ``'nuc'`` and ±2 (singular
    values) are not available."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.matrix_norm: expected a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise ShapeError(f"linalg.matrix_norm: expected a matrix (…, m, n), got shape {A.shape}")
    rows, cols = (ops.normalize_axis(d, A.ndim, "linalg.matrix_norm") for d in dim)
    if ord == "fro":
        return ops.norm(A, 2, (rows, cols), keepdim, dtype)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm(ord={ord!r}) needs singular values, which chainrule does "
                                  "not compute")
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real) or abs(ord) not in (1, math.inf):
        raise ValueError(f"linalg.matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}")
    summed, kept = (rows, cols) if abs(ord) == 1 else (cols, rows)  # 1: column sums; inf: row sums
    sums = (A if dtype is None else A.type(dtype)).abs().sum(dim=summed, keepdim=True)
    out = sums.amax(dim=kept, keepdim=True) if float(ord) > 0 else sums.amin(dim=kept, keepdim=True)
    return out if keepdim else out.squeeze((rows, cols))


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
         dtype: Any = None) -> Tensor:
    """``torch.linalg.norm``: with ``ord`` None, the 2-norm of every element (over ``dim``); else a vector norm
    when ``dim`` is an int or the input 1-d, a matrix norm when ``dim`` is two dimensions or the input 2-d."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.norm: expected a Tensor, got {type(A).__name__}")
    if ord is None:
        return ops.norm(A, 2, dim, keepdim, dtype)
    matrix = (isinstance(dim, tuple | list) and len(dim) == 2) or (dim is None and A.ndim == 2)
    if dim is None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: with ord={ord!r} and no dim, the input must be 1-d or 2-d, got shape "
                           f"{A.shape}")
    if matrix:
        return matrix_norm(A, ord, tuple(dim) if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
