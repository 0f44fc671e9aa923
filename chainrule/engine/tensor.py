"""The Tensor: a NumPy array that remembers how it was made, so gradients can flow back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from chainrule.engine import autograd
from chainrule.engine.backend import DEFAULT_DTYPE, FLOAT_DTYPES, GraphError

_KIND_NAMES = {"O": "Python objects", "U": "strings", "S": "bytes", "c": "complex numbers", "V": "raw records",
               "M": "datetimes", "m": "timedeltas"}


def to_array(data: Any, dtype: Any = None, *, where: str = "tensor") -> np.ndarray:
    """Turn user data into a numeric NumPy array, or raise an error that says what was wrong.

    Floats become float32 unless ``dtype`` says otherwise; integers and booleans keep their kind.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{where}: expected numbers, got a {type(data).__name__} {data!r}")
    try:
        array = np.asarray(data)
    except ValueError as error:
        raise ValueError(
            f"{where}: expected a rectangular nested sequence of numbers, got a ragged one "
            f"(rows of different lengths): {error}"
        ) from None
    kind = array.dtype.kind
    if kind in _KIND_NAMES:
        raise TypeError(
            f"{where}: expected real numbers (float, int or bool), got {_KIND_NAMES[kind]} "
            f"(NumPy dtype {array.dtype})"
        )
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{where}: dtype {dtype!r} is not a NumPy dtype") from None
        if dtype.kind not in "fiub":
            raise TypeError(f"{where}: dtype must be a real number type, got {dtype}")
        if array.dtype != dtype:
            array = array.astype(dtype)
    elif kind == "f" and array.dtype != DEFAULT_DTYPE:
        array = array.astype(DEFAULT_DTYPE)
    return array


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_hooks", "name", "__weakref__")
    __array_ufunc__ = None  # NumPy defers to our reflected operators: ndarray + Tensor -> Tensor

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data = to_array(data, dtype)
        if isinstance(data, Tensor) or (isinstance(data, np.ndarray) and self.data is data):
            self.data = self.data.copy()  # a new tensor owns its memory, like torch.tensor
        self.grad: np.ndarray | None = None
        self._ctx: autograd.Function | None = None
        self._hooks: list[Callable[[np.ndarray], Any]] | None = None
        self.name: str | None = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """A leaf tensor around ``array`` itself: no copy, no dtype change, no grad (detach, from_numpy)."""
        t = cls.__new__(cls)
        t.data, t.grad, t._ctx, t._hooks, t.name, t.requires_grad = array, None, None, None, None, False
        return t

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension, as a tuple."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op."""
        return self._ctx is None

    @property
    def grad_fn(self) -> autograd.Function | None:
        """The op that made this tensor (None for leaves), as in PyTorch."""
        return self._ctx

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or the size of dimension ``dim`` (PyTorch's ``size``)."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        """The number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """The number of dimensions (PyTorch's ``dim``)."""
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no length (use .item() for its value)")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iter(): iteration over a 0-d tensor: it has no elements to go through (use .item())")
        return (self[i] for i in range(len(self.data)))

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype != DEFAULT_DTYPE:
            extras.append(f"dtype={self.data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{', ' if extras else ''}{', '.join(extras)})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool(): the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all() on .data"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): expected a tensor with one element, got shape {self.data.shape}")
        return self.data.reshape(()).item()

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied), as ``torch.Tensor.numpy``."""
        return self.data

    def tolist(self) -> Any:
        """The data as nested Python lists (a Python number for a 0-d tensor)."""
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this one's data that is cut off from the graph."""
        return Tensor._wrap(self.data)

    def clone(self) -> Tensor:
        """A copy with its own memory that stays in the graph (gradients flow back to this tensor)."""
        return ops.Cast.apply(self, dtype=self.data.dtype)  # astype copies; a reshape would share memory

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording ops on this tensor for backward; raises TypeError for non-float dtypes."""
        if requires_grad and self.data.dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"requires_grad: only floating-point tensors can have gradients, got dtype "
                f"{self.data.dtype}; create the tensor from floats or pass dtype=np.float32"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def astype(self, dtype: Any) -> Tensor:
        """This tensor converted to ``dtype`` (differentiable between float types; other types leave the graph)."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":  # integers and booleans carry no gradient, as in PyTorch
            return Tensor(self.data.astype(dtype))
        return ops.Cast.apply(self, dtype=dtype)

    def float(self) -> Tensor:
        """This tensor as float32 (differentiable)."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        """This tensor as float64 (differentiable)."""
        return self.astype(np.float64)

    def register_hook(self, hook: Callable[[np.ndarray], Any]) -> autograd.HookHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned array replaces it."""
        if not self.requires_grad:
            raise GraphError("register_hook: this tensor does not require grad, so no gradient will reach it")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return autograd.HookHandle(self._hooks, hook)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self.grad = None

    # ------------------------------------------------------------------ backward
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        ``grad`` is the gradient of some scalar with respect to this tensor; it may be left
        out only when this tensor holds a single element.
        """
        if not self.requires_grad:
            raise GraphError(
                "backward: this tensor does not require grad and has no graph; create the inputs "
                "with requires_grad=True (and not inside no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise GraphError(
                    f"backward: grad can be implicitly created only for a tensor with one element, got "
                    f"shape {self.shape}; reduce it first (e.g. .sum()) or pass grad= of the same shape"
                )
            grad = np.ones_like(self.data)
        else:
            grad = to_array(grad, self.data.dtype, where="backward")
            if grad.shape != self.data.shape:
                raise ValueError(f"backward: grad must have shape {self.shape}, got {grad.shape}")
        autograd.run_backward(self, grad, retain_graph=retain_graph)

    # ------------------------------------------------------------------ operators
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    # Comparisons give plain boolean tensors without gradient, as in PyTorch.
    def _compare(self, other: Any, op: Callable[[Any, Any], np.ndarray]) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def eq(self, other: Any) -> Tensor:
        """Elementwise equality as a boolean tensor without gradient."""
        return self._compare(other, np.equal)

    # ------------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        """e to the power of each element."""
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        """Natural logarithm of each element."""
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        """Square root of each element."""
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        """Absolute value of each element (gradient 0 at 0, as PyTorch)."""
        return ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent of each element."""
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)) for each element, without overflow."""
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        """max(x, 0) for each element (gradient 0 at 0, as PyTorch)."""
        return ops.ReLU.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """x for x > 0, else negative_slope * x."""
        return ops.leaky_relu(self, negative_slope)

    def gelu(self, approximate: str = "none") -> Tensor:
        """The Gaussian error linear unit; ``approximate='tanh'`` for the tanh form."""
        return ops.gelu(self, approximate)

    def softplus(self) -> Tensor:
        """log(1 + exp(x)) for each element, without overflow."""
        return ops.Softplus.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        """Limit values to [min, max]; raises ValueError if min > max or both are None."""
        return ops.clip(self, min, max)

    clamp = clip

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (an int, a tuple, or None for all)."""
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (an int, a tuple, or None for all); raises TypeError for integer tensors."""
        return ops.mean(self, axis, keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Largest value over ``axis``; tied elements share the gradient (as ``torch.amax``)."""
        return ops.max(self, axis, keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Smallest value over ``axis``; tied elements share the gradient (as ``torch.amin``)."""
        return ops.min(self, axis, keepdims)

    def var(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        """Variance over ``axis``, divided by N - correction (as ``torch.var``)."""
        return ops.var(self, axis, keepdims, correction)

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along ``axis``, stable for any input size."""
        return ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """log(softmax(x)) along ``axis``, stable for any input size."""
        return ops.log_softmax(self, axis)

    def logsumexp(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``axis``, without overflow."""
        return ops.logsumexp(self, axis, keepdims)

    def argmax(self, axis: int | None = None) -> np.ndarray:
        """Indices of the largest values along ``axis`` (a NumPy array: indices carry no gradient)."""
        return self.data.argmax(axis=axis)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape; one size may be -1; raises ValueError if the sizes don't fit."""
        return ops.reshape(self, *shape)

    view = reshape

    def flatten(self, start_dim: int = 0) -> Tensor:
        """Dimensions from ``start_dim`` on merged into one."""
        start = ops.normalize_axis(start_dim, self.ndim, "flatten") if self.ndim else 0
        return ops.reshape(self, *self.shape[:start], -1)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap dimensions ``dim0`` and ``dim1`` (a 0-d or 1-d tensor is returned as is)."""
        return ops.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dimensions: output dimension i is input dimension ``dims[i]``."""
        return ops.permute(self, *dims)

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """All dimensions in reverse order."""
        return ops.permute(self, *reversed(range(self.ndim)))

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast size-1 dimensions to ``shape`` without copying; -1 keeps a size."""
        return ops.expand(self, *shape)

    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
        """Chunks of ``split_size`` along ``axis`` (the last may be smaller), or chunks of the given sizes."""
        return ops.split(self, split_size_or_sections, axis)

    def squeeze(self, axis: int | None = None) -> Tensor:
        """Drop size-1 dimensions (all of them, or only ``axis``)."""
        if axis is None:
            return ops.reshape(self, *[n for n in self.shape if n != 1])
        axis = ops.normalize_axis(axis, self.ndim, "squeeze")
        if self.ndim == 0 or self.shape[axis] != 1:
            return self
        return ops.reshape(self, *self.shape[:axis], *self.shape[axis + 1 :])

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert a size-1 dimension at ``axis``."""
        axis = ops.normalize_axis(axis, self.ndim + 1, "unsqueeze")
        return ops.reshape(self, *self.shape[:axis], 1, *self.shape[axis:])


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Create a tensor from a number, a (nested) sequence, a NumPy array or a tensor (copied).

    Floats default to float32; pass ``dtype=np.float64`` for double precision.

    >>> import chainrule as cr
    >>> cr.tensor([[1, 2], [3, 4]], dtype="float32").shape
    (2, 2)
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


from chainrule.engine import ops  # noqa: E402  (ops build Tensors; Tensor methods call ops)
