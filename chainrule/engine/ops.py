"""Every differentiable op: forward and backward side by side, one class per op.

Adding an op is one class here, one public function (or Tensor method) that checks the
user's input, and one row in ``tests/engine/test_ops.py``. Stateless elementwise math (exp, sin,
silu, ...) is instead one row of the table in ``elementwise.py``, which makes its class, its
function and its Tensor methods. Broadcasting is undone centrally
by the engine (``backend.unbroadcast``), so a backward may return a gradient of the
broadcast shape.
"""

from __future__ import annotations

import builtins
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from chainrule.engine.autograd import Function
from chainrule.engine.backend import (
    FLOAT_DTYPES,
    DimError,
    DtypeError,
    IndexingError,
    IntegerDivisionByZeroError,
    ShapeError,
    ValueRangeError,
    get_array_module,
    matmul_small,
    unbroadcast,
)
from chainrule.engine.dtypes import constant, float_result, result_type
from chainrule.engine.elementwise import Abs, Exp, Log, Neg, Sigmoid, Softplus, Sqrt, Tanh, scipy_special  # noqa: F401 - re-exported
from chainrule.engine.tensor import Tensor, ValuesIndices, to_array

_erf = scipy_special("erf")  # GELU's exact form


# ---------------------------------------------------------------------------- input checks


def _operand_key(x: Any, op: str) -> Any:
    """What ``result_type`` ranks: a tensor's array, an array, or a Python number (lists become arrays)."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray | np.generic | numbers.Number) and not isinstance(x, complex):
        return x
    return to_array(x, where=op)


def cast(x: Any, dtype: np.dtype) -> Any:
    """``x`` in ``dtype``: a tensor through a differentiable Cast (only if needed), anything else as an array."""
    if isinstance(x, Tensor):
        if x._data.dtype == dtype:
            return x
        return Cast.apply(x, dtype=dtype) if x.requires_grad else Tensor._wrap(x._data.astype(dtype))
    return np.asarray(x, dtype=dtype)


def _binary(op: str, a: Any, b: Any) -> tuple[Any, Any]:
    """Both operands in the dtype PyTorch's promotion gives them (``dtypes.result_type``)."""
    a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_is and b_is:
        if a._data.dtype == b._data.dtype:  # the common case, decided without the promotion table
            return a, b
    elif a_is:
        if type(b) is float and a._data.dtype.kind == "f":
            return a, np.asarray(b, dtype=a._data.dtype)
    elif b_is:
        if type(a) is float and b._data.dtype.kind == "f":
            return np.asarray(a, dtype=b._data.dtype), b
    else:
        raise TypeError(f"{op}: expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")
    ka, kb = _operand_key(a, op), _operand_key(b, op)
    try:
        dtype = result_type(ka, kb)
    except TypeError as error:
        raise TypeError(f"{op}: {error}") from None
    return cast(a if a_is else ka, dtype), cast(b if b_is else kb, dtype)


def compare(fn: Any, a: Any, b: Any) -> Any:
    """An elementwise comparison or logical op as a bool tensor without gradient, as in PyTorch.

    Against an object that is not numbers (``pytest.approx``, a string) it returns NotImplemented, so Python
    asks the other object (``approx == tensor``) or falls back to identity for ``==``.
    """
    for x in (a, b):
        if not isinstance(x, Tensor | np.ndarray | np.generic | numbers.Number | list | tuple) or isinstance(
                x, complex):
            return NotImplemented
    name = fn.__name__
    a, b = _binary(name, a, b)
    a, b = (x._data if isinstance(x, Tensor) else x for x in (a, b))
    try:
        return Tensor._wrap(np.asarray(fn(a, b)))
    except ValueError:
        _check_broadcast(name, a, b)
        raise


def bitwise(name: str, fn: Any, a: Any, b: Any = None) -> Tensor:
    """``~ & | ^`` on bool and integer tensors (logical for bool), as PyTorch; floats are an error."""
    operands = (a,) if b is None else _binary(f"bitwise_{name}", a, b)
    arrays = [x._data if isinstance(x, Tensor) else np.asarray(x) for x in operands]
    for x in arrays:
        if x.dtype.kind not in "biu":
            raise TypeError(f"bitwise_{name}: only integer and bool tensors are supported, got dtype {x.dtype}")
    try:
        return Tensor._wrap(np.asarray(fn(*arrays)))
    except ValueError:
        _check_broadcast(f"bitwise_{name}", *arrays)
        raise


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def _check_broadcast(op: str, *operands: Any) -> None:
    shapes = [_shape(x) for x in operands]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(
            f"{op}: cannot broadcast shapes {' and '.join(map(str, shapes))}: sizes must match or "
            "be 1 in each dimension, counting from the right"
        ) from None


def normalize_axis(axis: int, ndim: int, op: str) -> int:
    """Turn a possibly negative axis into a non-negative one, or raise a clear error."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__} {axis!r}")
    if not -builtins.max(ndim, 1) <= axis < builtins.max(ndim, 1):
        raise DimError(
            f"{op}: axis {axis} is out of range for a tensor with {ndim} dimension{'s' * (ndim != 1)} "
            f"(valid: {-builtins.max(ndim, 1)} to {builtins.max(ndim, 1) - 1})"
        )
    return int(axis) % builtins.max(ndim, 1)


def normalize_axes(axis: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...] | None:
    """Axes as a tuple of non-negative ints (None stays None: every axis); raises on bad or repeated axes."""
    if axis is None:
        return None
    if isinstance(axis, Sequence) and not isinstance(axis, str):
        axes = tuple(normalize_axis(a, ndim, op) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: axis {tuple(axis)} names the same dimension twice")
        return axes if ndim else ()
    if ndim == 0:
        normalize_axis(axis, ndim, op)
        return ()
    return (normalize_axis(axis, ndim, op),)


def _expand_reduced(grad: Any, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Give a reduction's output gradient back the reduced dimensions (as size 1)."""
    if keepdims or axes == ():
        return grad
    if axes is None:
        return grad.reshape((1,) * len(shape))
    return np.expand_dims(grad, axes)


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    return () if axes is None else tuple(n for i, n in enumerate(shape) if i not in axes)


def _reduced_count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    """How many elements each output of a reduction over ``axes`` summarizes."""
    return math.prod(shape) if axes is None else math.prod(shape[i] for i in axes)


# ---------------------------------------------------------------------------- elementwise binary


class Add(Function):
    saves_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    saves_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs[1] else None)


class Mul(Function):
    def saved_inputs(self):
        return tuple(i for i in (0, 1) if self.needs[1 - i])  # each input is read only for the other's gradient

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return (g * self.b if self.needs[0] else None), (g * self.a if self.needs[1] else None)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = g / self.b if self.needs[0] else None
        gb = -g * self.a / (self.b * self.b) if self.needs[1] else None
        return ga, gb


class Pow(Function):
    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        xp = get_array_module(a)
        ga = gb = None
        if self.needs[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                ga = g * b * a ** (b - 1)
            if xp.any(b == 0):  # d(a^0)/da = 0, also at a = 0 where a^(b-1) is inf (as PyTorch)
                ga = xp.where(b == 0, 0, ga).astype(ga.dtype, copy=False)
        if self.needs[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                # d(a^b)/db = a^b log a; taken as 0 where a == 0 and b >= 0 (the limit), as PyTorch does; for
                # a == 0 and b < 0 it is inf * -inf = -inf, as PyTorch gives
                gb = g * xp.where((a == 0) & (b >= 0), 0, self.out * xp.log(xp.where(a == 0, 0, a)))
        return ga, gb


class Maximum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).maximum(a, b)

    def backward(self, g):
        # Ties share the gradient equally, as in PyTorch.
        a, b = self.a, self.b
        wa = (a > b) + (a == b) * g.dtype.type(0.5)  # a NumPy scalar keeps float32 in float32
        return (g * wa if self.needs[0] else None), (g * (1 - wa) if self.needs[1] else None)


class Minimum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).minimum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        wa = (a < b) + (a == b) * g.dtype.type(0.5)
        return (g * wa if self.needs[0] else None), (g * (1 - wa) if self.needs[1] else None)


class Where(Function):
    def forward(self, condition, a, b):
        self.condition = condition
        return get_array_module(a).where(condition, a, b)

    def backward(self, g):
        c = self.condition
        return None, (g * c if self.needs[1] else None), (g * ~c if self.needs[2] else None)


def _elementwise(op: type[Function], name: str, a: Any, b: Any) -> Tensor:
    """Apply a broadcasting binary op; a shape clash becomes an error that names the op and both shapes."""
    a, b = _binary(name, a, b)
    try:
        return op.apply(a, b)
    except ValueError:
        _check_broadcast(name, a, b)
        raise


def add(a: Any, b: Any) -> Tensor:
    """a + b with broadcasting; one of them must be a Tensor, the other may be a number or array."""
    return _elementwise(Add, "add", a, b)


def sub(a: Any, b: Any) -> Tensor:
    """a - b with broadcasting (not of two bool tensors, as in PyTorch: ``^`` or ``logical_xor`` is meant)."""
    try:
        return _elementwise(Sub, "sub", a, b)
    except TypeError:  # NumPy refuses bool - bool: said in PyTorch's words, at no cost to every other subtraction
        if all(isinstance(x, Tensor) and x._data.dtype == np.bool_ for x in (a, b)):
            raise DtypeError("sub: subtracting two bool tensors (the - operator) is not supported, as in PyTorch; "
                             "use the ^ operator or logical_xor() instead") from None
        raise


def mul(a: Any, b: Any) -> Tensor:
    """a * b with broadcasting."""
    return _elementwise(Mul, "mul", a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b with broadcasting; true division, so integers divide as the default float dtype (as PyTorch)."""
    a, b = _binary("div", a, b)
    dtype = (a if isinstance(a, Tensor) else b).dtype
    if dtype.kind != "f":
        a, b = cast(a, float_result(dtype)), cast(b, float_result(dtype))
    return _elementwise(Div, "div", a, b)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    """a ** b with broadcasting; the gradient for b is taken as 0 where a == 0 (and b >= 0), as PyTorch does."""
    a, b = _binary("pow", a, b)
    exponent = b._data if isinstance(b, Tensor) else b
    if np.asarray(exponent).dtype.kind in "iu" and np.any(np.asarray(exponent) < 0):
        raise DtypeError("pow: integers to negative integer powers are not allowed (as in PyTorch); "
                         "make the base a float tensor (x.float() ** -1)")
    return _elementwise(Pow, "pow", a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum; where the two are equal each gets half the gradient (as PyTorch)."""
    a, b = _binary("maximum", a, b)
    _check_broadcast("maximum", a, b)
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum; where the two are equal each gets half the gradient (as PyTorch)."""
    a, b = _binary("minimum", a, b)
    _check_broadcast("minimum", a, b)
    return Minimum.apply(a, b)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002 - PyTorch's name
    """``input`` where ``condition`` is true, else ``other``; gradients flow to the chosen side only.

    Either side may be a Python number (both may: ``where(c, 1.0, 0.0)`` is a float tensor, by PyTorch's
    promotion). With the condition alone, the indices where it is true, one int64 tensor per dimension
    (``torch.where(condition)``, as ``nonzero(as_tuple=True)``).
    """
    cond = np.asarray(condition._data if isinstance(condition, Tensor) else condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be boolean, got dtype {cond.dtype}")
    if input is None and other is None:
        return tuple(Tensor._wrap(i.astype(np.int64, copy=False)) for i in np.nonzero(np.atleast_1d(cond)))
    if input is None or other is None:
        raise TypeError("where: give both input and other (or neither, for the indices where condition is true)")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        a, b = _operand_key(input, "where"), _operand_key(other, "where")
        dtype = result_type(a, b)
        _check_broadcast("where", cond, a, b)
        return Tensor._wrap(np.where(cond, np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)))
    a, b = _binary("where", input, other)
    _check_broadcast("where", cond, a, b)
    return Where.apply(cond, a, b)


# ---------------------------------------------------------------------------- activations with parameters or masks
# (exp, log, sin, sigmoid, ... are rows of the table in elementwise.py, which makes their classes)


# A typed zero per float dtype: NumPy converts a Python 0 on every call (see dtypes.constant). Other dtypes keep
# Python's 0, which NumPy treats differently for bool (maximum(bool array, 0) is an integer array).
_ZEROS = {dtype: np.zeros((), dtype) for dtype in FLOAT_DTYPES}
for _zero in _ZEROS.values():
    _zero.flags.writeable = False


class ReLU(Function):
    saves_inputs = False  # it keeps a mask of its own, not the input

    def forward(self, a):
        xp = get_array_module(a)
        zero = _ZEROS.get(a.dtype, 0) if xp is np else 0
        self.mask = a > zero
        return xp.maximum(a, zero)  # not a * mask: -inf * 0 would be nan

    def backward(self, g):
        return (g * self.mask,)


class LeakyReLU(Function):
    saves_inputs = False  # it keeps a mask of its own, not the input

    def forward(self, a, negative_slope):
        xp = get_array_module(a)
        self.scale = xp.where(a > 0, a.dtype.type(1), a.dtype.type(negative_slope))
        return a * self.scale

    def backward(self, g):
        return (g * self.scale,)


class GELU(Function):
    """x·Φ(x), exactly (with erf) or with PyTorch's tanh approximation."""

    def forward(self, a, approximate):
        xp = get_array_module(a)
        self.a, self.approximate = a, approximate
        if approximate == "tanh":
            c = math.sqrt(2 / math.pi)
            self.t = xp.tanh(c * (a + 0.044715 * a**3))
            return 0.5 * a * (1 + self.t)
        self.cdf = (0.5 * (1 + _erf(a / math.sqrt(2)))).astype(a.dtype, copy=False)
        return a * self.cdf

    def backward(self, g):
        a = self.a
        xp = get_array_module(a)
        if self.approximate == "tanh":
            c = math.sqrt(2 / math.pi)
            t = self.t
            return (g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * c * (1 + 3 * 0.044715 * a * a)),)
        pdf = xp.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        return (g * (self.cdf + a * pdf),)


class Clip(Function):
    def forward(self, a, lo, hi):
        self.a, self.lo, self.hi = a, lo, hi
        return get_array_module(a).clip(a, lo, hi)

    def backward(self, g):
        a = self.a
        inside = np.ones(a.shape, dtype=bool)
        if self.lo is not None:
            inside &= a >= self.lo
        if self.hi is not None:
            inside &= a <= self.hi
        return (g * inside,)


class Contiguous(Function):
    """A row-major copy (``Tensor.contiguous`` of a transposed or sliced tensor); the gradient passes through."""

    saves_inputs = False

    def forward(self, a):
        return get_array_module(a).ascontiguousarray(a)

    def backward(self, g):
        return (g,)


class Cast(Function):
    saves_inputs = False

    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return (g.astype(self.dtype),)


def _check_number(op: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def _check_int(op: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__} {value!r}")


def _check_real(op: str, name: str, value: Any) -> Any:
    """A real number (not a bool), kept as given: an int stays an int for dtype promotion."""
    _check_number(op, name, value)
    return value


def _check_fill(op: str, name: str, value: Any) -> Any:
    """A value to write into a tensor: a real number or a bool (``mask.masked_fill(m, True)``), kept as given."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} {value!r}")
    return value


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """max(x, 0) + negative_slope·min(x, 0): a ReLU that keeps a small gradient below 0."""
    return LeakyReLU.apply(x, _check_number("leaky_relu", "negative_slope", negative_slope))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """The Gaussian error linear unit x·Φ(x); ``approximate='tanh'`` for the tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; the gradient is 1 inside (bounds included) and 0 outside."""
    if min is None and max is None:
        raise ValueRangeError("clip: give at least one of min and max")
    if isinstance(min, Tensor) or isinstance(max, Tensor):  # elementwise bounds, each with its own gradient
        return _clip_by_tensors(x, min, max)
    bounds = [_check_real("clip", name, b) for name, b in (("min", min), ("max", max)) if b is not None]
    dtype = result_type(x._data, *bounds)  # as a binary op's: an int tensor stays int, float bounds make it float
    if dtype != x.dtype:
        x = x.type(dtype)
    # min > max is allowed, as in PyTorch: every value becomes max
    return Clip.apply(x, min, max)


def _clip_by_tensors(x: Tensor, low: Any, high: Any) -> Tensor:
    """clamp with tensor bounds, as PyTorch: where x is below ``low`` the result is ``low`` (its gradient goes
    there), above ``high`` it is ``high``, else x (bounds included); ``high`` wins where the two cross."""
    if low is not None:
        x = where(x < low, low, x)
    if high is not None:
        x = where(x > high, high, x)
    return x


# ---------------------------------------------------------------------------- reductions


class Sum(Function):
    saves_inputs = False

    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        # integers and bool sum as int64, as PyTorch (NumPy would give uint64 for unsigned)
        return a.sum(axis=axes, keepdims=keepdims, dtype=None if a.dtype.kind == "f" else np.int64)

    def backward(self, g):
        if self.axes is None and type(g) is np.ndarray:
            return (_filled(self.shape, g.item(), g.dtype),)
        g = _expand_reduced(g, self.shape, self.axes, self.keepdims)
        return (get_array_module(g).broadcast_to(g, self.shape),)


class Mean(Function):
    saves_inputs = False

    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        self.count = count = _reduced_count(a.shape, axes)
        if axes is None and not keepdims and count and type(a) is np.ndarray and a.dtype.char in "fd":
            # np.mean's own arithmetic (a float64 division of the sum, rounded once) without its ~5 µs wrapper
            return a.dtype.type(float(a.sum()) / count)
        with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is nan, as in PyTorch
            return a.mean(axis=axes, keepdims=keepdims) if a.size else np.full(
                _reduced_shape(a.shape, axes) if not keepdims else
                tuple(1 if axes is None or i in axes else n for i, n in enumerate(a.shape)), np.nan, a.dtype)

    def backward(self, g):
        if not self.count:  # no element took part: the gradient is empty (or zero where the output is nan)
            return (np.zeros(self.shape, g.dtype),)
        if self.axes is None and type(g) is np.ndarray:
            return (_filled(self.shape, g.item() / self.count, g.dtype),)
        g = _expand_reduced(g, self.shape, self.axes, self.keepdims)
        return (get_array_module(g).broadcast_to(g / self.count, self.shape),)


def _filled(shape: tuple[int, ...], value: float, dtype: np.dtype) -> np.ndarray:
    """A new array of one value: a full reduction's gradient (np.full and np.broadcast_to cost ~2-5 µs more)."""
    out = np.empty(shape, dtype)
    out.fill(value)
    return out


class Max(Function):
    """Maximum (or minimum, via ``sign``) over axes; tied winners share the gradient, as torch.amax."""

    def forward(self, a, axes, keepdims, sign):
        out = a.max(axis=axes, keepdims=True) if sign > 0 else a.min(axis=axes, keepdims=True)
        self.winners = a == out
        self.axes, self.keepdims, self.shape = axes, keepdims, a.shape
        return out if keepdims else out.reshape(_reduced_shape(a.shape, axes))

    def backward(self, g):
        g = _expand_reduced(g, self.shape, self.axes, self.keepdims)
        w = self.winners
        return (g * (w / w.sum(axis=self.axes, keepdims=True, dtype=g.dtype)),)


class Var(Function):
    def forward(self, a, axes, keepdims, correction):
        self.centered = a - a.mean(axis=axes, keepdims=True)
        n = _reduced_count(a.shape, axes)
        self.denominator = builtins.max(n - correction, 0)
        self.axes, self.keepdims, self.shape = axes, keepdims, a.shape
        with np.errstate(divide="ignore", invalid="ignore"):
            squares = (self.centered * self.centered).sum(axis=axes, keepdims=keepdims)
            return (squares / a.dtype.type(self.denominator)).astype(a.dtype, copy=False)

    def backward(self, g):
        g = _expand_reduced(g, self.shape, self.axes, self.keepdims)
        scale = 2 / self.denominator if self.denominator else math.inf  # torch gives inf/nan here too
        return (g * scale * self.centered,)


class LogSumExp(Function):
    saves_output = True

    def forward(self, a, axes, keepdims):
        xp = get_array_module(a)
        a = a.astype(float_result(a.dtype), copy=False)  # integers and bool give the default float, as PyTorch
        self.a, self.axes, self.keepdims = a, axes, keepdims
        if a.size == 0:  # log of an empty sum: -inf, as PyTorch
            self.out = np.full(tuple(1 if axes is None or i in axes else n for i, n in enumerate(a.shape)),
                               -np.inf, a.dtype)
            return self.out if keepdims else self.out.reshape(_reduced_shape(a.shape, axes))
        peak = a.max(axis=axes, keepdims=True)
        peak = xp.where(xp.isfinite(peak), peak, 0)
        out = xp.log(xp.exp(a - peak).sum(axis=axes, keepdims=True)) + peak
        self.a, self.out, self.axes, self.keepdims = a, out, axes, keepdims
        return out if keepdims else out.reshape(_reduced_shape(a.shape, axes))

    def backward(self, g):
        g = _expand_reduced(g, self.a.shape, self.axes, self.keepdims)
        return (g * get_array_module(g).exp(self.a - self.out),)


def _every_axis_if_none_given(axes: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """PyTorch's reductions (sum, mean, amax, std, norm, ...) read an empty dim list, ``dim=()``, as every
    dimension, not as none (any and all excepted: they reduce nothing there, and keep NumPy's reading)."""
    return None if axes == () else axes


def _reduce(cls: type[Function], op: str, x: Tensor, axis: Any, keepdims: bool, *extra: Any) -> Tensor:
    axes = _every_axis_if_none_given(normalize_axes(axis, x.ndim, op))
    if x._data.size == 0 and cls is Max and (axes is None or any(x.shape[i] == 0 for i in axes)):
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}: it has no elements")
    return cls.apply(x, axes, bool(keepdims), *extra)


def sum(x: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (an int, a tuple, or None for all)."""
    return _reduce(Sum, "sum", x, axis, keepdims)


def mean(x: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (an int, a tuple, or None for all)."""
    if x._data.dtype.kind != "f":
        raise DtypeError(f"mean: expected a floating-point tensor, got dtype {x._data.dtype}")
    return _reduce(Mean, "mean", x, axis, keepdims)


def max(x: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Largest value over ``axis``; ties share the gradient, as ``torch.amax``."""
    return _reduce(Max, "max", x, axis, keepdims, 1)


def min(x: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Smallest value over ``axis``; ties share the gradient, as ``torch.amin``."""
    return _reduce(Max, "min", x, axis, keepdims, -1)


def var(x: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis``, divided by N - correction (1 by default, as ``torch.var``)."""
    if x._data.dtype.kind != "f":
        raise DtypeError(f"var: expected a floating-point tensor, got dtype {x._data.dtype}")
    return _reduce(Var, "var", x, axis, keepdims, int(correction))


def logsumexp(x: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, computed without overflow."""
    return _reduce(LogSumExp, "logsumexp", x, axis, keepdims)


# ---------------------------------------------------------------------------- softmax family


class Softmax(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a, axis):
        xp = get_array_module(a)
        if a.size == 0:  # nothing to normalize: an empty result, as PyTorch
            self.out, self.axis = a.copy(), axis
            return self.out
        with np.errstate(invalid="ignore"):  # a row all -inf (a fully masked attention row) is NaN, as in PyTorch
            e = xp.exp(a - a.max(axis=axis, keepdims=True))
            self.out = e / e.sum(axis=axis, keepdims=True)
        self.axis = axis
        return self.out

    def backward(self, g):
        y = self.out
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    saves_inputs = False
    saves_output = True

    def forward(self, a, axis):
        xp = get_array_module(a)
        if a.size == 0:
            self.out, self.axis = a.copy(), axis
            return self.out
        with np.errstate(invalid="ignore"):  # a row all -inf is NaN, as in PyTorch, without NumPy's warning
            shifted = a - a.max(axis=axis, keepdims=True)
            self.out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        return self.out

    def backward(self, g):
        xp = get_array_module(g)
        return (g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)


class FloatOnlyError(DtypeError, NotImplementedError):
    """An op PyTorch implements for floating-point tensors only (NotImplementedError there, naming the dtype)."""


def _check_float(x: Tensor, op: str) -> None:
    if x._data.dtype.kind != "f" and x._data.size:  # (an empty one runs no kernel in PyTorch: no error there)
        raise FloatOnlyError(f"{op}: expected a floating-point tensor, got {x.dtype} (as PyTorch, which has no {op} "
                             "for it); convert with .float() or pass dtype=torch.float32")


def softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (or its alias ``axis``), shifted by the max so it never overflows."""
    _check_float(x, "softmax")
    return Softmax.apply(x, normalize_axis(dim if axis is None else axis, x.ndim, "softmax"))


def log_softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """log(softmax(x)) along ``dim`` (or ``axis``), stable for inputs of any size (±1000 included)."""
    _check_float(x, "log_softmax")
    return LogSoftmax.apply(x, normalize_axis(dim if axis is None else axis, x.ndim, "log_softmax"))


# ---------------------------------------------------------------------------- shape


class Reshape(Function):
    saves_inputs = False
    is_view = True

    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class Permute(Function):
    saves_inputs = False
    is_view = True

    def forward(self, a, axes):
        self.inverse = tuple(np.argsort(axes))
        return a.transpose(axes)

    def backward(self, g):
        return (g.transpose(self.inverse),)


class Expand(Function):
    saves_inputs = False
    is_view = True

    def forward(self, a, shape):
        return get_array_module(a).broadcast_to(a, shape)

    def backward(self, g):
        return (g,)  # the engine sums it back to the input's shape


class GetItem(Function):
    saves_inputs = False
    is_view = True

    def forward(self, a, index):
        self.shape, self.index, self.dtype = a.shape, index, a.dtype
        view, rest = split_index(a, index)
        return view[rest]

    def backward(self, g):
        xp = get_array_module(g)
        grad = xp.zeros(self.shape, dtype=g.dtype)
        view, rest = split_index(grad, self.index)
        if _is_basic_index(rest):
            view[rest] = g
        else:
            xp.add.at(view, rest, g)  # repeated integer indices add up (scatter-add)
        return (grad,)


class Concatenate(Function):
    saves_inputs = False

    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = np.cumsum([x.shape[axis] for x in arrays])[:-1]
        return get_array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, g):
        return tuple(get_array_module(g).split(g, self.bounds, axis=self.axis))


class Stack(Function):
    saves_inputs = False

    def forward(self, *arrays, axis):
        self.axis = axis
        return get_array_module(arrays[0]).stack(arrays, axis=axis)

    def backward(self, g):
        return tuple(g.take(i, axis=self.axis) for i in range(g.shape[self.axis]))


def _shape_args(op: str, shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], list | tuple):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{op}: shape entries must be ints, got {type(n).__name__} {n!r} in {shape}")
    return tuple(int(n) for n in shape)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape; one dimension may be -1 (inferred)."""
    shape = _shape_args("reshape", shape)
    known = math.prod(n for n in shape if n != -1)
    if shape.count(-1) > 1 or any(n < -1 for n in shape):
        raise ShapeError(f"reshape: invalid shape {shape}: sizes must be >= 0, with at most one -1")
    if (-1 in shape and (known == 0 or x._data.size % known)) or (-1 not in shape and known != x._data.size):
        raise ShapeError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x._data.size} elements) into shape {shape}"
        )
    if shape == x.shape:
        return Reshape.apply(x, shape) if x.requires_grad else x
    return Reshape.apply(x, shape)


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder dimensions: output dimension i is input dimension ``dims[i]``."""
    dims = _shape_args("permute", dims)
    axes = tuple(normalize_axis(d, x.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} must be a permutation of the {x.ndim} dimensions of shape {x.shape}")
    return Permute.apply(x, axes)


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two dimensions (PyTorch's ``transpose(dim0, dim1)``)."""
    if x.ndim < 2:
        return x
    axes = list(range(x.ndim))
    d0, d1 = normalize_axis(dim0, x.ndim, "transpose"), normalize_axis(dim1, x.ndim, "transpose")
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(x, tuple(axes))


def expand(x: Tensor, *shape: Any) -> Tensor:
    """Broadcast to ``shape`` without copying; -1 keeps a dimension's size (PyTorch's ``expand``)."""
    shape = _shape_args("expand", shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: target shape {shape} has fewer dimensions than the tensor's shape {x.shape}")
    if any(n < 0 for n in shape[:lead]) or any(n < -1 for n in shape):
        raise ShapeError(f"expand: invalid target shape {shape}: sizes must be >= 0 (-1 only for existing dimensions)")
    target = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
    for i, n in enumerate(x.shape):
        if n != 1 and n != target[i + lead]:
            raise ShapeError(
                f"expand: cannot expand shape {x.shape} to {shape}: dimension {i} has size {n}, "
                "and only size-1 dimensions can be expanded"
            )
    return Expand.apply(x, target)


def _is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(i, slice | numbers.Integral) or i is None or i is Ellipsis for i in items
    ) and not any(isinstance(i, bool | np.bool_) for i in items)


class TorchOrder(tuple):
    """An index PyTorch applies in two steps: its integers (a view: ``first``), then the rest on that view."""

    first: tuple[Any, ...]
    rest: tuple[Any, ...]


def _torch_order(index: Any) -> Any:
    """PyTorch applies integer indices before index arrays (``x[1, :, idx]`` has shape (B, K), and so has
    ``x[1, ..., idx]``); NumPy treats them as one advanced index and moves its dimensions first ((K, B)). For such an
    index: a TorchOrder (the integers with a full slice for every other dimension, then the rest), else the index."""
    if not isinstance(index, tuple):
        return index
    ints = [isinstance(i, numbers.Integral) and not isinstance(i, bool | np.bool_) for i in index]
    if not any(ints) or not any(isinstance(i, np.ndarray) and i.ndim > 0 for i in index):
        return index
    first: list[Any] = []
    rest: list[Any] = []
    for i, is_int in zip(index, ints, strict=True):
        if is_int:
            first.append(i)
        elif i is None or isinstance(i, bool | np.bool_) or (isinstance(i, np.ndarray) and i.ndim == 0):
            rest.append(i)  # a new dimension (a 0-d mask too): none of the tensor's
        elif i is Ellipsis:
            first.append(i)
            rest.append(i)
        else:  # a slice or an index array: the dimensions it takes (a mask's ndim), whole in the first step
            first += [slice(None)] * (i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else 1)
            rest.append(i)
    order = TorchOrder(index)
    order.first, order.rest = tuple(first), tuple(rest)
    return order


def split_index(a: Any, index: Any) -> tuple[Any, Any]:
    """(a view of ``a``, the index left to apply to it): ``a[first]`` and ``rest`` for a TorchOrder."""
    if type(index) is TorchOrder:
        return a[index.first], index.rest
    return a, index


def getitem(x: Tensor, index: Any) -> Tensor:
    """Indexing with ints, slices, None, Ellipsis, integer arrays and boolean masks (in PyTorch's order)."""
    if type(index) is not slice and type(index) is not int:  # x[a:b], x[i] (the common case): nothing to convert
        index = as_index(index, "getitem")
    try:
        return GetItem.apply(x, index)
    except IndexError as error:
        raise IndexError(f"getitem: index {index!r} does not fit a tensor of shape {x.shape}: {error}") from None


def _join_args(op: str, tensors: Sequence[Any], axis: int, extra: int) -> tuple[list[Tensor], int]:
    if not isinstance(tensors, list | tuple) or not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors, got {tensors!r}")
    items = [t if isinstance(t, Tensor) else Tensor._make(t) for t in tensors]
    dtype = items[0].dtype
    if any(t.dtype != dtype for t in items):  # PyTorch promotes across the tensors (int64 with float32: float32)
        dtype = result_type(*(t._data for t in items))
        items = [t if t.dtype == dtype else t.type(dtype) for t in items]
    first = items[0]
    if first.ndim + extra == 0:
        raise ValueError(f"{op}: cannot join zero-dimensional tensors along an axis; use stack to give them one")
    axis = normalize_axis(axis, first.ndim + extra, op)
    for k, t in enumerate(items[1:], start=1):
        if t.ndim != first.ndim:
            raise ShapeError(f"{op}: tensor {k} has {t.ndim} dimensions but tensor 0 has {first.ndim}")
        mismatch = [d for d in range(t.ndim) if t.shape[d] != first.shape[d] and (extra or d != axis)]
        if mismatch:
            raise ShapeError(
                f"{op}: tensor {k} has shape {t.shape} but tensor 0 has shape {first.shape}; "
                f"they must match in every dimension{'' if extra else ' except ' + str(axis)}"
            )
    return items, axis


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dimension (``dim``, or its NumPy alias ``axis``)."""
    items, axis = _join_args("cat", tensors, dim if axis is None else axis, 0)
    return Concatenate.apply(*items, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along a new dimension (``dim``, or its NumPy alias ``axis``)."""
    items, axis = _join_args("stack", tensors, dim if axis is None else axis, 1)
    return Stack.apply(*items, axis=axis)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0, *, axis: int | None = None
          ) -> list[Tensor]:
    """Split into chunks of ``split_size`` (the last may be smaller) or of the given sizes."""
    axis = dim if axis is None else axis
    if x.ndim == 0:
        raise ValueError("split: expected a tensor with at least 1 dimension, got a 0-d tensor")
    axis = normalize_axis(axis, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(split_size_or_sections, bool):
        raise TypeError("split: split_size_or_sections must be an int or a sequence of ints, got bool")
    if isinstance(split_size_or_sections, int | numbers.Integral):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be a positive int, got {size}")
        sizes = [builtins.min(size, length - start) for start in range(0, length, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != length or builtins.min(sizes, default=0) < 0:
            raise ShapeError(
                f"split: section sizes {list(sizes)} must be non-negative and add up to {length}, "
                f"the size of axis {axis}"
            )
    before = (slice(None),) * axis
    pieces, start = [], 0
    for s in sizes:
        pieces.append(GetItem.apply(x, (*before, slice(start, start + s))))
        start += s
    return pieces


# ---------------------------------------------------------------------------- matrix products


class MatMul(Function):
    def saved_inputs(self):
        return tuple(i for i in (0, 1) if self.needs[1 - i])  # each input is read only for the other's gradient

    def forward(self, a, b):
        self.a, self.b = a, b
        return matmul_small(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        if a.ndim == 2 and b.ndim == 2:  # the common case: straight to BLAS, no reshapes
            return (matmul_small(g, b.T) if self.needs[0] else None), (matmul_small(a.T, g) if self.needs[1] else None)
        if a.ndim == 1 and b.ndim == 1:  # a dot product: g is 0-d, with no axes to expand
            return (g * b if self.needs[0] else None), (g * a if self.needs[1] else None)
        xp = get_array_module(g)
        a2 = a if a.ndim > 1 else a[None, :]
        b2 = b if b.ndim > 1 else b[:, None]
        g2 = g
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = gb = None
        if self.needs[0]:
            ga = unbroadcast(matmul_small(g2, xp.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.needs[1]:
            gb = unbroadcast(matmul_small(xp.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy's rules: 1-D·1-D, matrix·vector, and batched with broadcasting.

    >>> import chainrule as cr
    >>> (cr.tensor([[1.0, 2.0]]) @ cr.tensor([[3.0], [4.0]])).item()
    11.0
    """
    a, b = _binary("matmul", a, b)
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes {sa} and {sb}")
    inner_a, inner_b = sa[-1], sb[-2] if len(sb) > 1 else sb[0]
    if inner_a != inner_b:
        raise ShapeError(f"matmul: cannot multiply shapes {sa} and {sb}: inner dimensions {inner_a} != {inner_b}")
    if len(sa) > 2 or len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ShapeError(
                f"matmul: cannot multiply shapes {sa} and {sb}: batch dimensions {sa[:-2]} and {sb[:-2]} "
                "do not broadcast"
            ) from None
    return MatMul.apply(a, b)


class Linear(Function):
    """y = x @ W.T + b in one op: one BLAS call per direction, W stored (out, in) as in PyTorch."""

    def saved_inputs(self):
        return tuple(i for i in (0, 1) if self.needs[1 - i])  # x for the weight's gradient, the weight for x's

    def forward(self, x, weight, bias=None):
        # checked here, on the arrays, where it is one identity test when the dtypes agree (builtin dtypes are
        # singletons); NumPy would promote a float64 batch times a float32 weight silently
        if x.dtype is not weight.dtype and x.dtype != weight.dtype:
            raise DtypeError(
                f"linear: input has dtype {x.dtype} but the weight has dtype {weight.dtype}; they must match "
                f"(as in PyTorch): convert the input (x.to(cr.{weight.dtype})) or the model (model.to(cr.{x.dtype}))"
            )
        self.x, self.weight = x, weight
        out = matmul_small(x, weight.T)
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        x, w, needs = self.x, self.weight, self.needs
        gx = matmul_small(g, w) if needs[0] else None
        if x.ndim != 2:  # (N, *, in): fold the extra dimensions into the batch
            g, x = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        gw = matmul_small(g.T, x) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        # np.add.reduce is what ndarray.sum calls, without its Python-level wrapper
        return gx, gw, (np.add.reduce(g, axis=0) if needs[2] else None)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out_features, in_features).

    Input and weight must have one dtype, as in PyTorch ("mat1 and mat2 must have the same dtype"): a float64
    batch into a float32 layer is an error, not a silent float64 forward pass.
    """
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ShapeError(
            f"linear: expected input with {weight.shape[-1]} features in its last dimension "
            f"(weight shape {weight.shape}), got input of shape {x.shape}"
        )
    if bias is None:  # the op checks the dtypes
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)


# ---------------------------------------------------------------------------- fused losses and normalization


def _numpy_mean(values):
    """``values.mean()`` of a float array, computed as NumPy's mean computes it (float16 summed in float32, the sum
    divided by the count in the sum's dtype), without its Python layers: ~8,000 instructions instead of ~35,000."""
    if not values.size or type(values) is not np.ndarray:
        return values.mean()  # NumPy's warning for an empty mean; other array types their own mean
    total = np.add.reduce(values, dtype=np.float32 if values.dtype == np.float16 else None)
    return values.dtype.type(total / values.size)


class CrossEntropy(Function):
    """Softmax cross-entropy from logits (N, C) and integer targets (N,), fused and stable."""

    def forward(self, logits, targets, label_smoothing, reduction):
        xp = get_array_module(logits)
        n = logits.shape[0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_probs = shifted - xp.log(total)
        rows = xp.arange(n)
        losses = -log_probs[rows, targets]
        if label_smoothing:
            losses = (1 - label_smoothing) * losses - label_smoothing * log_probs.mean(axis=1)
        exp /= total  # now the softmax probabilities, reused by backward
        self.probs, self.targets, self.rows = exp, targets, rows
        self.label_smoothing, self.reduction = label_smoothing, reduction
        if reduction == "none":
            return losses.astype(logits.dtype, copy=False)
        total_loss = np.add.reduce(losses) if reduction == "sum" else _numpy_mean(losses)
        return xp.asarray(total_loss, dtype=logits.dtype)

    def backward(self, g):
        n, classes = self.probs.shape
        if self.reduction == "none":
            scale, row_scale = g[:, None], g
        else:
            scale = row_scale = g / n if self.reduction == "mean" else g
        # A new array, not self.probs updated in place: a retained graph may run backward again.
        grad = self.probs * scale
        ls = self.label_smoothing
        if ls:
            grad -= scale * (ls / classes)
        grad[self.rows, self.targets] -= row_scale * (1 - ls)
        return grad, None, None, None


class MSE(Function):
    """Squared error (x - target)², reduced by 'mean', 'sum' or 'none', fused: one op instead of sub, mul, mean."""

    def forward(self, x, target, reduction):
        diff = x - target
        self.diff, self.reduction = diff, reduction
        squares = diff * diff
        if reduction == "none":
            return squares
        total = np.add.reduce(squares, axis=None)  # squares.sum() without ndarray.sum's Python-level wrapper
        if reduction == "sum":
            return total
        # as np.mean (and the Mean op): the sum divided in float64, rounded once to the input's dtype
        return diff.dtype.type(float(total) / diff.size) if diff.size else diff.dtype.type("nan")

    def backward(self, g):
        diff = self.diff
        if self.reduction == "none":
            grad = diff * g
            grad *= 2
        else:
            # torch's mse_loss_backward: norm * (x - target) * g, norm = 2/N for 'mean', 2 for 'sum'
            norm = 2 / diff.size if self.reduction == "mean" and diff.size else 2
            grad = diff * constant(norm, diff.dtype)
            grad *= g
        return grad, (-grad if self.needs[1] else None), None


class BatchNorm(Function):
    """Batch normalization in training mode over all axes but the last: fused forward and backward."""

    def forward(self, x, weight, bias, eps):
        axes = tuple(range(x.ndim - 1))
        mean = x.mean(axis=axes)
        centered = x - mean
        var = (centered * centered).mean(axis=axes)
        self.inv_std = 1 / get_array_module(x).sqrt(var + x.dtype.type(eps))
        self.xhat = centered * self.inv_std
        self.weight, self.axes = weight, axes
        self.batch_mean, self.batch_var = mean, var
        out = self.xhat * weight if weight is not None else self.xhat.copy()
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        xhat, axes = self.xhat, self.axes
        gb = g.sum(axis=axes)
        gw = (g * xhat).sum(axis=axes)
        gx = None
        if self.needs[0]:
            gxhat = g * self.weight if self.weight is not None else g
            n = g.size // g.shape[-1]
            gxhat_mean = gxhat.mean(axis=axes) if self.weight is None else gb * self.weight / n
            proj = (gxhat * xhat).mean(axis=axes) if self.weight is None else gw * self.weight / n
            gx = (gxhat - gxhat_mean - xhat * proj) * self.inv_std
        return gx, gw, gb, None


# ---------------------------------------------------------------------------- overloaded max/min, index assignment


def max_or_min(x: Tensor, dim: Any, keepdim: bool, largest: bool) -> Any:
    """``x.max()``: the largest value; ``x.max(dim)``: (values, indices); ``x.max(other)``: the elementwise maximum."""
    op = "max" if largest else "min"
    if isinstance(dim, Tensor):
        return maximum(x, dim) if largest else minimum(x, dim)
    if dim is None:
        return _reduce(Max, op, x, None, False, 1 if largest else -1)
    indices = arg_extreme(x, dim, True, largest)
    values = take_along_dim(x, indices, dim)
    if not keepdim:
        axis = normalize_axis(dim, x.ndim, op)
        values, indices = (_drop_axis(t, axis) for t in (values, indices))
    return ValuesIndices(values, indices)


def _drop_axis(t: Tensor, axis: int) -> Tensor:
    return reshape(t, *t.shape[:axis], *t.shape[axis + 1:]) if t.ndim else t


def arg_extreme(x: Tensor, dim: int | None, keepdim: bool, largest: bool) -> Tensor:
    """Indices (int64) of the largest (or smallest) values along ``dim``, or in the flattened tensor."""
    op = "argmax" if largest else "argmin"
    find = np.argmax if largest else np.argmin
    if x._data.size == 0:
        raise IndexError(f"{op}: expected a non-empty tensor, got shape {x.shape}")
    if dim is None:
        out = np.asarray(find(x._data), dtype=np.int64)
        return Tensor._wrap(out.reshape((1,) * x.ndim) if keepdim else out)
    axis = normalize_axis(dim, x.ndim, op)
    if x.ndim == 0:
        return Tensor._wrap(np.zeros((), np.int64))
    out = find(x._data, axis=axis, keepdims=keepdim).astype(np.int64, copy=False)
    return Tensor._wrap(np.asarray(out))


def take_along_dim(x: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """The elements of ``x`` at ``indices`` along ``dim`` (``torch.gather``/``take_along_dim``; ``dim`` None: of the
    flattened ``x``); the gradient goes back to exactly those elements (repeated indices add up)."""
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if dim is None:
        return take_along_dim(x.reshape(-1), idx.reshape(-1), 0)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
    if x.ndim == 0:
        return x
    axis = normalize_axis(dim, x.ndim, "gather")
    if idx.ndim != x.ndim:
        raise ValueError(f"gather: index has {idx.ndim} dimensions but the input has {x.ndim}; they must match")
    if idx.size and (idx.min() < -x.shape[axis] or idx.max() >= x.shape[axis]):
        raise IndexingError(f"gather: index {int(idx.max())} is out of bounds for dimension {axis} with size "
                            f"{x.shape[axis]}")
    return GetItem.apply(x, _along_dim(idx, axis))


def _along_dim(idx: np.ndarray, axis: int) -> tuple[Any, ...]:
    """The NumPy index that picks, for each position of ``idx``, the element at ``idx``'s value along ``axis``
    and at the same coordinates along the other axes (what gather reads and scatter writes)."""
    grids = np.ix_(*[np.arange(n) for n in idx.shape]) if idx.ndim else ()
    return tuple(idx if i == axis else grids[i] for i in range(idx.ndim))


class SetItem(Function):
    """``a[index] = value`` as a new array: the gradient skips the overwritten elements and goes to ``value``. With
    ``accumulate`` (``index_put(..., accumulate=True)``) ``value`` is added there instead, repeated positions adding
    up, and the whole gradient also goes to ``a``."""

    saves_inputs = False

    def forward(self, a, value, index, accumulate=False):
        self.index, self.accumulate = index, accumulate
        out = a.copy()
        view, rest = split_index(out, index)
        if accumulate:
            get_array_module(a).add.at(view, rest, value)
        else:
            view[rest] = value
        return out

    def backward(self, g):
        ga = gv = None
        if self.needs[0]:
            ga = g
            if not self.accumulate:
                ga = g.copy()
                view, rest = split_index(ga, self.index)
                view[rest] = 0
        if self.needs[1]:
            view, rest = split_index(g, self.index)
            gv = view[rest]
        return ga, gv, None


# PyTorch's own words for the two legacy index forms it still reads its old way (and warns about)
LIST_AS_TUPLE_WARNING = ("Using a non-tuple sequence for multidimensional indexing is deprecated; use x[tuple(seq)] "
                         "instead of x[seq] (PyTorch reads such a list as a tuple, and so does chainrule)")
BYTE_MASK_WARNING = "indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead."


def _list_is_tuple(index: list[Any]) -> bool:
    """PyTorch's (and old NumPy's) rule: a list shorter than 32 holding a tensor, a sequence, a slice, ``...`` or
    None is a tuple of indices (``x[[0, [1, 2]]]`` is ``x[0, [1, 2]]``); a list of numbers is one index array."""
    return len(index) < 32 and any(isinstance(i, Tensor | np.ndarray | list | tuple | range | slice)
                                   or i is None or i is Ellipsis for i in index)


def as_index(index: Any, where: str = "index") -> Any:
    """An index with tensors and lists turned into arrays, in PyTorch's order (``_torch_order``): a byte tensor is
    a mask and a 0-d integer tensor an integer, as in PyTorch."""
    if type(index) is slice or type(index) is int:  # x[a:b], x[i]: nothing to convert (the common case)
        return index
    if isinstance(index, list) and _list_is_tuple(index):
        warnings.warn(LIST_AS_TUPLE_WARNING, UserWarning, stacklevel=3)
        index = tuple(index)
    items = index if isinstance(index, tuple) else (index,)
    converted = []
    for i in items:
        if isinstance(i, Tensor):
            i = i._data
        if isinstance(i, list | range):
            i = np.asarray(i) if len(i) else np.empty(0, dtype=np.intp)  # [] alone would become float64
        if isinstance(i, np.ndarray):
            if i.dtype.kind not in "iub":
                raise IndexError(f"{where}: index arrays must be integers or booleans (long, int, byte or bool "
                                 f"tensors), got dtype {i.dtype}")
            if i.dtype == np.uint8:
                warnings.warn(BYTE_MASK_WARNING, UserWarning, stacklevel=3)
                i = i.astype(bool)
            elif i.ndim == 0 and i.dtype.kind in "iu":
                i = int(i)
        converted.append(i)
    return _torch_order(tuple(converted)) if isinstance(index, tuple) else converted[0]


def setitem(x: Tensor, index: Any, value: Any, accumulate: bool = False) -> Tensor:
    """``x`` with ``x[index] = value`` as a recorded op (the in-place form writes its result back into ``x``);
    with ``accumulate``, ``value`` added there instead (``index_put``)."""
    op = "index_put" if accumulate else "setitem"
    index = as_index(index, op)
    value = value.type(x.dtype) if isinstance(value, Tensor) and value.dtype != x.dtype else value
    if not isinstance(value, Tensor):
        value = np.asarray(value, dtype=x.dtype)
    try:
        view, rest = split_index(np.empty(x.shape, dtype=bool), index)
        view[rest] = np.empty(_shape(value), dtype=bool)
    except (IndexError, ValueError) as error:
        raise IndexingError(f"{op}: can't assign a value of shape {_shape(value)} to index {index!r} of a tensor "
                            f"of shape {x.shape}: {error}") from None
    return SetItem.apply(x, value, index, accumulate=accumulate)


def index_put(x: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """``x`` with ``values`` put at ``x[indices]`` (``indices``: a tuple of index tensors, one per leading
    dimension), added there with ``accumulate`` (repeated positions add up: a confusion matrix in one call)."""
    if not isinstance(indices, tuple | list):
        raise TypeError(f"index_put: indices must be a tuple of index tensors, got {type(indices).__name__}")
    return setitem(x, tuple(indices), values, accumulate)


def _diagonal_positions(shape: tuple[int, ...], offset: int, dim1: int, dim2: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (along dim1, dim2) of the ``offset`` diagonal: above the main one for offset > 0."""
    down, right = builtins.max(-offset, 0), builtins.max(offset, 0)
    rows = np.arange(builtins.max(0, builtins.min(shape[dim1] - down, shape[dim2] - right)))
    return rows + down, rows + right


class Diagonal(Function):
    saves_inputs = False

    def forward(self, a, offset, dim1, dim2):
        self.shape, self.offset, self.dims = a.shape, offset, (dim1, dim2)
        return get_array_module(a).diagonal(a, offset, dim1, dim2).copy()  # (NumPy's view is read-only)

    def backward(self, g):
        grad = get_array_module(g).zeros(self.shape, g.dtype)
        rows, cols = _diagonal_positions(self.shape, self.offset, *self.dims)
        np.moveaxis(grad, self.dims, (-2, -1))[..., rows, cols] = g  # the diagonal is g's last axis, as NumPy's
        return (grad,)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """The ``offset`` diagonal over dimensions ``dim1`` and ``dim2``, as the last dimension (``torch.diagonal``)."""
    _check_tensor(input, "diagonal")
    if input.ndim < 2:
        raise ShapeError(f"diagonal: expected a tensor of at least 2 dimensions, got shape {input.shape}")
    d1, d2 = normalize_axis(dim1, input.ndim, "diagonal"), normalize_axis(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 are the same dimension ({dim1}, {dim2})")
    _check_int("diagonal", "offset", offset)
    return Diagonal.apply(input, int(offset), d1, d2)


class DiagonalMatrix(Function):
    saves_inputs = False

    def forward(self, a, offset):
        self.offset = offset
        return get_array_module(a).diag(a, offset)

    def backward(self, g):
        return (get_array_module(g).diagonal(g, self.offset).copy(),)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """``torch.diag``: a 1-d tensor as the ``diagonal``-th diagonal of a square matrix, or a 2-d tensor's
    ``diagonal``-th diagonal as a 1-d tensor."""
    _check_tensor(input, "diag")
    _check_int("diag", "diagonal", diagonal)
    if input.ndim == 1:
        return DiagonalMatrix.apply(input, int(diagonal))
    if input.ndim == 2:
        return Diagonal.apply(input, int(diagonal), 0, 1)
    raise ShapeError(f"diag: expected a 1-d or 2-d tensor, got shape {input.shape}")


def trace(input: Tensor) -> Tensor:  # noqa: A002
    """The sum of a matrix's main diagonal (``torch.trace``; integers sum as int64)."""
    _check_tensor(input, "trace")
    if input.ndim != 2:
        raise ShapeError(f"trace: expected a 2-d tensor, got shape {input.shape}")
    return sum(Diagonal.apply(input, 0, 0, 1))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:  # noqa: A002
    """How often each value 0, 1, ... occurs in a 1-d tensor of non-negative integers (``torch.bincount``); with
    ``weights``, their sums instead. No gradient."""
    _check_tensor(input, "bincount")
    a = input._data
    if a.ndim != 1 or a.dtype.kind not in "iub":
        raise ValueError(f"bincount: expected a 1-d tensor of integers, got shape {a.shape} and dtype {a.dtype}")
    if a.size and a.min() < 0:
        raise ValueRangeError(f"bincount: the values must be non-negative, got {int(a.min())}")
    if isinstance(minlength, bool) or not isinstance(minlength, numbers.Integral) or minlength < 0:
        raise ValueError(f"bincount: minlength must be a non-negative int, got {minlength!r}")
    w = None
    if weights is not None:
        _check_tensor(weights, "bincount", "weights")
        if weights.shape != input.shape:
            raise ShapeError(f"bincount: weights have shape {weights.shape}, the input {input.shape}")
        w = weights._data
    counts = np.bincount(a, w, minlength)
    # torch: int64 counts; weights of float32 sum as float32, any other weights as float64
    dtype = np.int64 if w is None else (np.float32 if w.dtype == np.float32 else np.float64)
    return Tensor._wrap(counts.astype(dtype, copy=False))


def _check_integer_divisor(op: str, a: Any, b: Any) -> None:
    """Integers have no inf or NaN for x // 0 and x % 0: raise, as PyTorch does, rather than return NumPy's 0."""
    kinds = [x.dtype.kind if isinstance(x, np.ndarray | np.generic) else "f" if isinstance(x, float) else "i"
             for x in (a, b)]
    if all(k in "iub" for k in kinds) and not np.all(b):
        raise IntegerDivisionByZeroError(f"{op}: integer division by zero (ZeroDivisionError, as in PyTorch); "
                                         "divide floats to get inf or NaN instead")


def floor_divide(a: Any, b: Any) -> Tensor:
    """a // b rounded toward minus infinity (``torch.floor_divide``); carries no gradient."""
    a, b = _binary("floor_divide", a, b)
    arrays = [x._data if isinstance(x, Tensor) else x for x in (a, b)]
    _check_integer_divisor("floor_divide", *arrays)
    with np.errstate(divide="ignore", invalid="ignore"):
        return Tensor._wrap(np.asarray(np.floor_divide(*arrays)))


class Remainder(Function):
    def forward(self, a, b):
        _check_integer_divisor("remainder", a, b)
        self.a, self.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):  # float % 0 is NaN, as in PyTorch, with no warning
            return get_array_module(a).remainder(a, b)

    def backward(self, g):
        ga = g if self.needs[0] else None
        gb = -g * get_array_module(g).floor_divide(self.a, self.b) if self.needs[1] else None
        return ga, gb


def remainder(a: Any, b: Any) -> Tensor:
    """a % b with the sign of b, as Python and ``torch.remainder``."""
    return _elementwise(Remainder, "remainder", a, b)


# ---------------------------------------------------------------------------- products, scans and norms


def _check_tensor(x: Any, op: str, name: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as {name}, got {type(x).__name__}")


def _accumulating(x: Tensor, dtype: Any, op: str) -> Tensor:
    """The tensor a product or running sum works on: cast to ``dtype`` when given, else integers and bool
    widened to int64, as PyTorch does so that small integer types don't overflow."""
    _check_tensor(x, op)
    if dtype is not None:
        return x.type(dtype)
    if x._data.dtype.kind in "biu" and x._data.dtype != np.int64:
        return Tensor._wrap(x._data.astype(np.int64))
    return x


def _single_dim(dim: Any, x: Tensor, op: str) -> int:
    """One dimension (an int, not a tuple: PyTorch's prod and scans take one)."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}")
    return normalize_axis(int(dim), x.ndim, op)


def _products_of_others(a: np.ndarray, axis: int) -> np.ndarray:
    """For each element, the product of the other elements along ``axis``: prefix times suffix products,
    so zeros need no special case (dividing the total by the element would give 0/0)."""
    b = np.moveaxis(a, axis, -1)
    left, right = np.ones_like(b), np.ones_like(b)
    np.cumprod(b[..., :-1], axis=-1, out=left[..., 1:])
    np.cumprod(b[..., :0:-1], axis=-1, out=right[..., -2::-1])
    return np.moveaxis(left * right, -1, axis)


class Prod(Function):
    """Product over one axis or all of them; the gradient of each element is the product of the others."""

    def forward(self, a, axis, keepdims):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        return a.prod(axis=axis, keepdims=keepdims)

    def backward(self, g):
        a, axis = self.a, self.axis
        if axis is None:
            return (g * _products_of_others(a.reshape(-1), 0).reshape(a.shape),)
        if not self.keepdims:
            g = np.expand_dims(g, axis)
        return (g * _products_of_others(a, axis),)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """The product of all elements, or over one dimension ``dim``; integers and bool multiply as int64.

    The gradient is exact with zeros in the input (the product of the other elements, as PyTorch).
    """
    x = _accumulating(input, dtype, "prod")
    if dim is None:
        return Prod.apply(x, None, False)
    axis = _single_dim(dim, x, "prod")
    return Prod.apply(x, axis if x.ndim else None, bool(keepdim) and x.ndim > 0)


def _reverse_cumsum(a: np.ndarray, axis: int) -> np.ndarray:
    return np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis)


class Cumsum(Function):
    saves_inputs = False

    def forward(self, a, axis):
        self.axis = axis
        return np.cumsum(a.reshape(a.shape or (1,)), axis=axis).reshape(a.shape)

    def backward(self, g):
        return (_reverse_cumsum(g.reshape(g.shape or (1,)), self.axis).reshape(g.shape),)


class Cumprod(Function):
    """Running product. The gradient of x_i is sum over k >= i of g_k·y_k/x_i; where the input has zeros,
    only the elements up to the first zero get a gradient, the first zero's computed without dividing."""

    saves_output = True

    def forward(self, a, axis):
        self.a, self.axis = a, axis
        self.out = np.cumprod(a.reshape(a.shape or (1,)), axis=axis).reshape(a.shape)
        return self.out

    def backward(self, g):
        axis, shape = self.axis, self.a.shape
        x, y, g = (v.reshape(shape or (1,)) for v in (self.a, self.out, g))
        zero = x == 0
        if not zero.any():
            return ((_reverse_cumsum(g * y, axis) / x).reshape(shape),)
        zeros_so_far = np.cumsum(zero, axis=axis)
        before = zeros_so_far == 0
        first = zero & (zeros_so_far == 1)
        grad = np.where(before, _reverse_cumsum(g * y, axis) / np.where(before, x, 1), 0)
        # at the first zero: the running product with that zero taken as 1, from there on
        skipped = np.cumprod(np.where(first, 1, x), axis=axis)
        grad = np.where(first, _reverse_cumsum(g * skipped, axis), grad)
        return (grad.astype(g.dtype, copy=False).reshape(shape),)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """Running sum along ``dim``; integers and bool add up as int64."""
    x = _accumulating(input, dtype, "cumsum")
    return Cumsum.apply(x, _single_dim(dim, x, "cumsum"))


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """Running product along ``dim``; integers and bool multiply as int64. Zeros in the input are fine."""
    x = _accumulating(input, dtype, "cumprod")
    return Cumprod.apply(x, _single_dim(dim, x, "cumprod"))


class Norm(Function):
    """The vector p-norm over axes, with PyTorch's gradient (``linalg_vector_norm_backward``): 0 where the
    norm is 0, and shared equally among tied largest (or smallest) magnitudes for p = ±inf."""

    saves_output = True

    def forward(self, a, p, axes, keepdims):
        magnitude = np.abs(a)
        if p == 2:
            norm = np.sqrt((a * a).sum(axis=axes, keepdims=True))
        elif p == 1:
            norm = magnitude.sum(axis=axes, keepdims=True)
        elif p == math.inf:
            norm = magnitude.max(axis=axes, keepdims=True)
        elif p == -math.inf:
            norm = magnitude.min(axis=axes, keepdims=True)
        elif p == 0:
            norm = (a != 0).sum(axis=axes, keepdims=True).astype(a.dtype)
        else:
            norm = (magnitude**p).sum(axis=axes, keepdims=True) ** (1 / p)
        self.a, self.p, self.axes, self.keepdims, self.norm = a, p, axes, keepdims, norm
        return norm if keepdims else norm.reshape(_reduced_shape(a.shape, axes))

    def backward(self, g):
        a, p, norm = self.a, self.p, self.norm
        g = _expand_reduced(g, a.shape, self.axes, self.keepdims)
        if p == 0:
            return (np.zeros_like(a),)
        if p == 1:
            return (g * np.sign(a),)
        if p in (math.inf, -math.inf):
            ties = np.abs(a) == norm
            return (g * np.sign(a) * ties / ties.sum(axis=self.axes, keepdims=True, dtype=a.dtype),)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                return (a * np.where(norm == 0, 0, g / norm),)
            if p < 1:
                scaled = np.where(a == 0, 0, np.sign(a) * np.abs(a) ** (p - 1))
                return (scaled * g * norm ** (1 - p),)
            return (np.sign(a) * np.abs(a) ** (p - 1) * np.where(norm == 0, 0, g / norm ** (p - 1)),)


def norm(input: Tensor, p: float | str = "fro", dim: Any = None, keepdim: bool = False,  # noqa: A002
         dtype: Any = None) -> Tensor:
    """The vector p-norm over ``dim`` (all elements by default), as ``torch.linalg.vector_norm``.

    ``p`` is a number (2, 1, ``inf``, ``-inf``, 0 counts the non-zero elements, any other p gives
    (sum |x|^p)^(1/p)) or ``'fro'``, the 2-norm. Matrix norms (``'nuc'``) are not available.
    """
    _check_tensor(input, "norm")
    x = input if dtype is None else input.type(dtype)
    if x._data.dtype.kind != "f":
        raise DtypeError(f"norm: expected a floating-point tensor, got dtype {x._data.dtype}")
    if p == "fro":
        p = 2
    elif isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm: p='nuc' (the nuclear norm, a matrix norm) is not available in chainrule")
        raise ValueError(f"norm: p must be a number or 'fro', got {p!r}")
    elif isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"norm: p must be a number or 'fro', got {type(p).__name__} {p!r}")
    axes = _every_axis_if_none_given(normalize_axes(dim, x.ndim, "norm"))
    if abs(p) == math.inf and x._data.size == 0:
        raise ValueError(f"norm: the {p}-norm of an empty tensor (shape {x.shape}) is undefined")
    return Norm.apply(x, float(p), axes, bool(keepdim))


def _sorted_order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Indices (int64) that sort ``a`` along ``axis``, stable (ties keep their order) in both directions;
    NaN counts as the largest value, as in PyTorch."""
    if a.ndim == 0:
        return np.zeros((), np.int64)
    if not descending:
        return np.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    # sort the reversed array ascending and reverse the result: largest first, ties still in input order
    order = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
    return (a.shape[axis] - 1 - order).astype(np.int64)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:  # noqa: A002
    """The values sorted along ``dim`` and their indices in the input; the gradient goes back to where each
    value came from. The sort is always stable (``stable`` is accepted for PyTorch's signature)."""
    _check_tensor(input, "sort")
    axis = normalize_axis(dim, input.ndim, "sort")
    order = _sorted_order(input._data, axis, bool(descending))
    return ValuesIndices(take_along_dim(input, order, axis), Tensor._wrap(order))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:  # noqa: A002
    """The indices (int64) that sort ``input`` along ``dim``; stable, as :func:`sort`."""
    _check_tensor(input, "argsort")
    return Tensor._wrap(_sorted_order(input._data, normalize_axis(dim, input.ndim, "argsort"), bool(descending)))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, largest first.

    Ties are taken in input order; the values always come sorted (``sorted=False`` leaves the order to the
    implementation in PyTorch too).
    """
    _check_tensor(input, "topk")
    if input.dtype.kind == "b":
        raise TypeError("topk: not supported for bool tensors (as in PyTorch); sort() them instead")
    axis = normalize_axis(dim, input.ndim, "topk")
    size = input.shape[axis] if input.ndim else 1
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__} {k!r}")
    if not 0 <= k <= size or (input.ndim == 0 and k != 1):
        raise ShapeError(f"topk: k={k} is out of range for dimension {axis} of size {size} (shape {input.shape})")
    order = _sorted_order(input._data, axis, bool(largest))
    if input.ndim:
        order = order[(slice(None),) * axis + (slice(0, k),)]
    return ValuesIndices(take_along_dim(input, order, axis), Tensor._wrap(order))


# ---------------------------------------------------------------------------- products of matrices and vectors


def _product_operands(op: str, a: Any, b: Any, ndims: tuple[int, int], names: tuple[str, str]) -> None:
    """PyTorch's checks for mm, bmm and dot: tensors of the given ranks and of one dtype (no promotion)."""
    for x, name, ndim in zip((a, b), names, ndims):
        _check_tensor(x, op, name)
        if x.ndim != ndim:
            kind = {1: "a vector (1-D)", 2: "a matrix (2-D)", 3: "a batch of matrices (3-D)"}[ndim]
            raise ShapeError(f"{op}: {name} must be {kind}, got shape {x.shape}")
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: expected both operands to have the same dtype, got {a.dtype} and {b.dtype}; "
                        "convert one of them (e.g. b.to(a.dtype))")
    if a.dtype.kind == "b":
        raise TypeError(f"{op}: not implemented for bool tensors")


def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """The matrix product of two matrices of one dtype (no broadcasting; :func:`matmul` for more)."""
    _product_operands("mm", input, mat2, (2, 2), ("input", "mat2"))
    if input.shape[1] != mat2.shape[0]:
        raise ShapeError(f"mm: cannot multiply shapes {input.shape} and {mat2.shape}: inner dimensions "
                         f"{input.shape[1]} != {mat2.shape[0]}")
    return MatMul.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """Matrix products of two batches of matrices, (b, n, m) @ (b, m, p) -> (b, n, p), without broadcasting."""
    _product_operands("bmm", input, mat2, (3, 3), ("input", "mat2"))
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: batch sizes differ: {input.shape} and {mat2.shape}")
    if input.shape[2] != mat2.shape[1]:
        raise ShapeError(f"bmm: cannot multiply shapes {input.shape} and {mat2.shape}: inner dimensions "
                         f"{input.shape[2]} != {mat2.shape[1]}")
    return MatMul.apply(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """The dot product of two vectors of one length and dtype, as a 0-d tensor."""
    _product_operands("dot", input, other, (1, 1), ("input", "other"))
    if input.shape != other.shape:
        raise ShapeError(f"dot: vectors of different lengths: {input.shape[0]} and {other.shape[0]}")
    return MatMul.apply(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """The outer product of two vectors: ``out[i, j] = input[i] * vec2[j]`` (dtypes promote, as ``*``)."""
    for x, name in ((input, "input"), (vec2, "vec2")):
        _check_tensor(x, "outer", name)
        if x.ndim != 1:
            raise ShapeError(f"outer: {name} must be a vector (1-D), got shape {x.shape}")
    return mul(reshape(input, input.shape[0], 1), vec2)


class Einsum(Function):
    """``np.einsum`` over operands with subscripts; the gradient of each operand is the einsum of the output's
    gradient with the other operands, spread back over letters that only that operand has (summed away) and
    onto the diagonal for a letter it repeats."""

    def forward(self, *arrays, inputs, output):
        self.arrays, self.inputs, self.output = arrays, inputs, output
        return np.einsum(f"{','.join(inputs)}->{output}", *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        return tuple(self._gradient(k, g) if need else None for k, need in enumerate(self.needs))

    def _gradient(self, k: int, g: np.ndarray) -> np.ndarray:
        subscripts, shape = self.inputs[k], self.arrays[k].shape
        letters = "".join(dict.fromkeys(subscripts))  # each letter once, in order
        others = [(s, a) for j, (s, a) in enumerate(zip(self.inputs, self.arrays)) if j != k]
        elsewhere = set(self.output).union(*(s for s, _ in others))
        kept = "".join(c for c in letters if c in elsewhere)
        spec = ",".join([self.output, *(s for s, _ in others)]) + "->" + kept
        grad = np.einsum(spec, g, *(a for _, a in others), optimize=len(others) > 1)
        size = dict(zip(subscripts, shape))
        grad = np.broadcast_to(grad.reshape([size[c] if c in kept else 1 for c in letters]),
                               [size[c] for c in letters])
        if len(letters) == len(subscripts):
            return grad
        full = np.zeros(shape, dtype=grad.dtype)
        np.einsum(f"{subscripts}->{letters}", full)[...] = grad  # a writeable view of the diagonal
        return full


def _expand_ellipsis(equation: str, inputs: list[str], output: str, arrow: bool,
                     operands: tuple[Any, ...]) -> tuple[list[str], str, tuple[Any, ...]]:
    """``...`` written out as letters the equation does not use (the same letters for the same trailing
    dimensions of every operand), operands broadcast (``expand``) where their ellipsis dimensions are 1 against
    another's larger size; the output gets them where its ``...`` is, or first when there is no ``->``."""
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in equation]
    for term in [*inputs, output]:
        if term.count(".") not in (0, 3) or ("." in term and "..." not in term):
            raise ValueError(f"einsum: an ellipsis is written '...', at most once per operand, in {equation!r}")
    spans: list[int] = []
    for k, (term, x) in enumerate(zip(inputs, operands, strict=True)):
        _check_tensor(x, "einsum", f"operand {k}")
        named = len(term.replace("...", ""))
        if "..." in term and x.ndim < named:
            raise ValueError(f"einsum: operand {k} has {x.ndim} dimension(s), fewer than the {named} its "
                             f"subscripts {term!r} name")
        spans.append(x.ndim - named if "..." in term else 0)
    width = builtins.max(spans, default=0)
    letters = "".join(free[:width])
    broadcast: list[int] = []  # the ellipsis dimensions' sizes, right-aligned, broadcast across operands
    for term, x, span in zip(inputs, operands, spans, strict=True):
        start = term.find("...")
        sizes = list(x.shape[start:start + span]) if start >= 0 else []
        broadcast = [*[1] * (len(sizes) - len(broadcast)), *broadcast] if len(sizes) > len(broadcast) else broadcast
        for i, n in enumerate(sizes[::-1]):
            j = len(broadcast) - 1 - i
            if broadcast[j] != n and 1 not in (broadcast[j], n):
                raise ValueError(f"einsum: the dimensions under '...' do not broadcast in {equation!r}")
            broadcast[j] = builtins.max(broadcast[j], n)
    expanded_inputs, expanded = [], []
    for term, x, span in zip(inputs, operands, spans, strict=True):
        start = term.find("...")
        if start < 0:
            expanded_inputs.append(term)
            expanded.append(x)
            continue
        mine = letters[width - span:]
        target = (*x.shape[:start], *broadcast[len(broadcast) - span:], *x.shape[start + span:])
        expanded.append(x.expand(*target) if tuple(target) != tuple(x.shape) else x)
        expanded_inputs.append(term.replace("...", mine))
    if arrow:
        output = output.replace("...", letters)
    else:
        singles = sorted(c for c in "".join(inputs) if c.isalpha() and "".join(inputs).count(c) == 1)
        output = letters + "".join(singles)
    return expanded_inputs, output, tuple(expanded)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation (``torch.einsum('ij,jk->ik', a, b)``), the operands given one by one or as a list.

    Without ``->`` the output has the letters that appear once, in alphabetical order (after the ellipsis's
    dimensions). A letter repeated in one operand takes its diagonal. ``...`` stands for the dimensions no letter
    names, broadcast across operands as PyTorch does. Operands need one dtype.
    """
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a string, got {type(equation).__name__}")
    spec = equation.replace(" ", "")
    lhs, arrow, output = spec.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {equation!r} has subscripts for {len(inputs)} operand(s), got {len(operands)}")
    if "." in spec:
        inputs, output, operands = _expand_ellipsis(equation, inputs, output, bool(arrow), operands)
        lhs, arrow = ",".join(inputs), "->"
    size: dict[str, int] = {}
    for k, (subscripts, x) in enumerate(zip(inputs, operands)):
        _check_tensor(x, "einsum", f"operand {k}")
        if not all(c.isascii() and c.isalpha() for c in subscripts + output):
            raise ValueError(f"einsum: subscripts must be letters a-z or A-Z, got {equation!r}")
        if len(subscripts) != x.ndim:
            raise ValueError(f"einsum: operand {k} has {len(subscripts)} subscript(s) ({subscripts!r}) but "
                             f"{x.ndim} dimension(s) (shape {x.shape})")
        for c, n in zip(subscripts, x.shape):
            if size.setdefault(c, n) != n:
                raise ValueError(f"einsum: letter {c!r} stands for sizes {size[c]} and {n} in {equation!r}")
        if x.dtype != operands[0].dtype:
            raise TypeError(f"einsum: operands must have one dtype, got {operands[0].dtype} and {x.dtype}")
    if arrow:
        if len(set(output)) != len(output) or not set(output) <= set(size):
            raise ValueError(f"einsum: the output {output!r} must name each letter of the inputs at most once")
    else:
        output = "".join(sorted(c for c in size if lhs.count(c) == 1))
    if len(operands) == 1 and operands[0].dtype.kind in "biu" and set(lhs) - set(output):
        operands = (_accumulating(operands[0], None, "einsum"),)  # a sum of one operand, as PyTorch: int64
    return Einsum.apply(*operands, inputs=tuple(inputs), output=output)


# ---------------------------------------------------------------------------- reordering, repeating, picking


def _dim_list(dims: Any) -> tuple[Any, ...]:
    return tuple(dims) if isinstance(dims, list | tuple) else (dims,)


class Flip(Function):
    saves_inputs = False

    def forward(self, a, axes):
        self.axes = axes
        return np.flip(a, axes).copy()  # a copy, as torch.flip: writing to the result must not change the input

    def backward(self, g):
        return (np.flip(g, self.axes),)


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:  # noqa: A002 - PyTorch's name
    """The elements in reverse order along each of ``dims`` (a copy)."""
    _check_tensor(input, "flip")
    return Flip.apply(input, normalize_axes(_dim_list(dims), input.ndim, "flip"))


class Roll(Function):
    saves_inputs = False

    def forward(self, a, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return np.roll(a, shifts, axes)

    def backward(self, g):
        back = -self.shifts if self.axes is None else tuple(-s for s in self.shifts)
        return (np.roll(g, back, self.axes),)


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:  # noqa: A002
    """Shift elements along ``dims`` by ``shifts``, wrapping around; without dims, over the flattened tensor."""
    _check_tensor(input, "roll")
    shift_list = _dim_list(shifts)
    for s in shift_list:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"roll: shifts must be ints, got {shifts!r}")
    if dims is None:
        if len(shift_list) != 1:
            raise ValueError(f"roll: without dims, shifts must be one int, got {shifts!r}")
        return Roll.apply(input, int(shift_list[0]), None)
    axes = tuple(normalize_axis(d, input.ndim, "roll") for d in _dim_list(dims))
    if len(axes) != len(shift_list):
        raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} must have the same length")
    return Roll.apply(input, tuple(int(s) for s in shift_list), axes)


class Repeat(Function):
    """``np.tile`` with the tensor given leading size-1 dimensions up to the number of repeats."""

    saves_inputs = False

    def forward(self, a, repeats):
        self.shape, self.repeats = a.shape, repeats
        return np.tile(a.reshape((1,) * (len(repeats) - a.ndim) + a.shape), repeats)

    def backward(self, g):
        sizes = (1,) * (len(self.repeats) - len(self.shape)) + self.shape
        blocks = g.reshape([n for pair in zip(self.repeats, sizes) for n in pair])  # (r0, s0, r1, s1, ...)
        return (blocks.sum(axis=tuple(range(0, blocks.ndim, 2))).reshape(self.shape),)


def repeat(input: Tensor, repeats: Sequence[int]) -> Tensor:  # noqa: A002 - PyTorch's name
    """The tensor repeated ``repeats[i]`` times along dimension i (``Tensor.repeat``); there may be more
    repeats than dimensions (new leading dimensions), not fewer."""
    _check_tensor(input, "repeat")
    repeats = _shape_args("repeat", (tuple(repeats),))
    if len(repeats) < input.ndim:
        raise ValueError(f"repeat: got {len(repeats)} repeat count(s) {repeats} for a tensor with {input.ndim} "
                         "dimensions; give at least one per dimension (tile() fills in leading ones)")
    if builtins.min(repeats, default=0) < 0:
        raise ValueError(f"repeat: repeat counts must be non-negative, got {repeats}")
    return Repeat.apply(input, repeats)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:  # noqa: A002 - PyTorch's name
    """The tensor repeated ``dims[i]`` times along dimension i; missing leading counts are 1 (``torch.tile``)."""
    _check_tensor(input, "tile")
    dims = _shape_args("tile", (tuple(_dim_list(dims)),))
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def _index_array(index: Any, op: str) -> np.ndarray:
    """An index tensor's integer array, or a TypeError naming the op."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor (int64 or int32), got dtype {idx.dtype}")
    return idx


def _check_bounds(idx: np.ndarray, size: int, axis: int, op: str) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise IndexingError(f"{op}: index {bad} is out of bounds for dimension {axis} with size {size}")


def _along_dim_args(op: str, x: Tensor, dim: int, index: Any, src: Any = None) -> tuple[int, np.ndarray]:
    """PyTorch's checks for gather and scatter: index of x's rank, no larger than x apart from ``dim`` (and no
    larger than src anywhere), values in range; src a tensor of x's dtype."""
    _check_tensor(x, op)
    idx = _index_array(index, op)
    axis = normalize_axis(dim, x.ndim, op)
    if idx.ndim != x.ndim:
        raise ValueError(f"{op}: index has {idx.ndim} dimension(s) but the input has {x.ndim}; they must match")
    if any(n > x.shape[d] for d, n in enumerate(idx.shape) if d != axis):
        raise ShapeError(f"{op}: index of shape {idx.shape} is larger than the input {x.shape} in a dimension "
                         f"other than {axis}")
    if isinstance(src, Tensor):
        if src.ndim != idx.ndim or any(n > m for n, m in zip(idx.shape, src.shape)):
            raise ShapeError(f"{op}: index of shape {idx.shape} is larger than src {src.shape}")
        if src.dtype != x.dtype:
            raise TypeError(f"{op}: src has dtype {src.dtype} but the input has {x.dtype}; they must match")
    _check_bounds(idx, x.shape[axis] if x.ndim else 1, axis, op)
    return axis, idx


def gather(input: Tensor, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:  # noqa: A002
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on): the elements at ``index`` along ``dim``.

    ``index`` has the input's rank and is no larger than it in the other dimensions; the gradient adds up
    over repeated indices.
    """
    axis, idx = _along_dim_args("gather", input, dim, index)
    return take_along_dim(input, idx, axis)


class Scatter(Function):
    """A copy of the input with the ``src`` elements written (or added) at ``index`` along an axis."""

    saves_inputs = False

    def forward(self, a, src, index, window, add):
        self.index, self.window, self.add, self.src_shape = index, window, add, np.shape(src)
        out = a.copy()
        values = src[window] if np.ndim(src) else src
        if add:
            np.add.at(out, index, values)
        else:
            out[index] = values
        return out

    def backward(self, g):
        ga = gs = None
        if self.needs[0]:
            ga = g
            if not self.add:  # overwritten elements don't reach the output
                ga = g.copy()
                ga[self.index] = 0
        if self.needs[1]:
            gs = np.zeros(self.src_shape, g.dtype)
            gs[self.window] = g[self.index]
        return ga, gs, None, None, None


def scatter(input: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``out[index[i][j]][j] = src[i][j]`` for dim 0 (and so on); ``src`` may be a
    number (or given as ``value=``). Where an index repeats, which write wins is unspecified, as in PyTorch."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src (a tensor or a number) and value (a number)")
    src = value if src is None else src
    axis, idx = _along_dim_args("scatter", input, dim, index, src)
    if not isinstance(src, Tensor):
        _check_fill("scatter", "value", src)
    window = tuple(slice(0, n) for n in idx.shape)
    return Scatter.apply(input, src, _along_dim(idx, axis), window, False)


def scatter_add(input: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """A copy of ``input`` with ``src[i][j]`` added at ``out[index[i][j]][j]`` for dim 0 (and so on);
    repeated indices add up."""
    _check_tensor(src, "scatter_add", "src")
    axis, idx = _along_dim_args("scatter_add", input, dim, index, src)
    window = tuple(slice(0, n) for n in idx.shape)
    return Scatter.apply(input, src, _along_dim(idx, axis), window, True)


def _vector_index(op: str, x: Tensor, dim: int, index: Any) -> tuple[Any, ...]:
    """The NumPy index picking positions ``index`` (a vector or 0-d integer tensor) along ``dim``."""
    _check_tensor(x, op)
    if x.ndim == 0:
        raise ValueError(f"{op}: expected a tensor with at least 1 dimension, got a 0-d tensor")
    idx = _index_array(index, op)
    if idx.ndim > 1:
        raise ValueError(f"{op}: index must be a vector (1-D) or a 0-d tensor, got shape {idx.shape}")
    axis = normalize_axis(dim, x.ndim, op)
    idx = idx.reshape(-1)
    _check_bounds(idx, x.shape[axis], axis, op)
    return (slice(None),) * axis + (idx,)


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The slices at positions ``index`` (a vector) along ``dim``, in that order; repeats allowed."""
    return GetItem.apply(input, _vector_index("index_select", input, dim, index))


class IndexAdd(Function):
    saves_inputs = False

    def forward(self, a, source, index, alpha):
        self.index, self.alpha = index, alpha
        out = a.copy()
        np.add.at(out, index, source if alpha == 1 else source * alpha)
        return out

    def backward(self, g):
        gs = None
        if self.needs[1]:
            gs = g[self.index]
            if self.alpha != 1:
                gs = gs * self.alpha
        return (g if self.needs[0] else None), gs, None, None


def index_add(input: Tensor, dim: int, index: Any, source: Tensor, *, alpha: float = 1) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``alpha * source``'s slices added at positions ``index`` along ``dim``
    (repeated positions add up); ``source`` is ``input``'s shape with ``len(index)`` along ``dim``. For
    integer tensors ``alpha`` is truncated to an int, as in PyTorch."""
    position = _vector_index("index_add", input, dim, index)
    _check_tensor(source, "index_add", "source")
    axis, count = len(position) - 1, position[-1].size
    expected = (*input.shape[:axis], count, *input.shape[axis + 1:])
    if source.shape != expected:
        raise ShapeError(f"index_add: source must have shape {expected} (the input's with {count} along dimension "
                         f"{axis}), got {source.shape}")
    if source.dtype != input.dtype:
        raise TypeError(f"index_add: source has dtype {source.dtype} but the input has {input.dtype}; they must "
                        "match")
    _check_number("index_add", "alpha", alpha)
    return IndexAdd.apply(input, source, position, alpha if input.dtype.kind == "f" else int(alpha))


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` with ``value`` where the bool ``mask`` (broadcast) is true; ``value`` is a number or a 0-d
    tensor, converted to the input's dtype; a value tensor that requires grad gets the masked elements'
    gradient."""
    _check_tensor(input, "masked_fill")
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DtypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got a tensor of shape "
                             f"{value.shape}")
        fill = cast(value, input.dtype)
    else:
        fill = np.asarray(_check_fill("masked_fill", "value", value)).astype(input.dtype)
    _check_broadcast("masked_fill", input, m)
    return where(m, fill, input)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002 - PyTorch's name
    """Split into ``chunks`` pieces of ``ceil(size / chunks)`` along ``dim``, the last smaller; as in PyTorch,
    fewer pieces come back when the size doesn't allow ``chunks`` non-empty ones (chunk(5 elements, 4) gives 3)."""
    _check_tensor(input, "chunk")
    if isinstance(chunks, bool) or not isinstance(chunks, numbers.Integral):
        raise TypeError(f"chunk: chunks must be an int, got {type(chunks).__name__} {chunks!r}")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be greater than 0, got {chunks}")
    if input.ndim == 0:
        raise ValueError("chunk: expected a tensor with at least 1 dimension, got a 0-d tensor")
    axis = normalize_axis(dim, input.ndim, "chunk")
    step = -(-input.shape[axis] // int(chunks))
    return tuple(split(input, step if step else [0] * int(chunks), axis))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:  # noqa: A002 - PyTorch's name
    """``length`` elements from ``start`` (negative counts from the end) along ``dim``, as a view."""
    _check_tensor(input, "narrow")
    if input.ndim == 0:
        raise ValueError("narrow: expected a tensor with at least 1 dimension, got a 0-d tensor")
    axis = normalize_axis(dim, input.ndim, "narrow")
    size = input.shape[axis]
    start, length = int(start), int(length)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dimension {axis} of size {size} "
                         f"(expected {-size} to {size})")
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dimension {axis}'s size ({size})")
    return GetItem.apply(input, (slice(None),) * axis + (slice(start, start + length),))


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:  # noqa: A002
    """Move dimensions ``source`` to positions ``destination``; the others keep their order."""
    _check_tensor(input, "movedim")
    src = [normalize_axis(d, input.ndim, "movedim") for d in _dim_list(source)]
    dst = [normalize_axis(d, input.ndim, "movedim") for d in _dim_list(destination)]
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source!r} and destination {destination!r} must have the same length")
    for name, axes in (("source", src), ("destination", dst)):
        if len(set(axes)) != len(axes):
            raise ValueError(f"movedim: repeated dim in {name} {axes}")
    if input.ndim == 0:
        return input
    order = [d for d in range(input.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, *order)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:  # noqa: A002 - PyTorch's name
    """Dimension ``dim`` split into dimensions of ``sizes`` (one may be -1, inferred)."""
    _check_tensor(input, "unflatten")
    if input.ndim == 0:
        raise ValueError("unflatten: expected a tensor with at least 1 dimension, got a 0-d tensor")
    axis = normalize_axis(dim, input.ndim, "unflatten")
    sizes = _shape_args("unflatten", (tuple(_dim_list(sizes)),))
    if not sizes:
        raise ValueError("unflatten: sizes must be non-empty")
    size, known = input.shape[axis], math.prod(n for n in sizes if n != -1)
    if sizes.count(-1) > 1 or any(n < -1 for n in sizes):
        raise ShapeError(f"unflatten: invalid sizes {sizes}: sizes must be >= 0, with at most one -1")
    if (-1 in sizes and (known == 0 or size % known)) or (-1 not in sizes and known != size):
        raise ShapeError(f"unflatten: sizes {sizes} don't multiply up to the size of dim {axis} ({size})")
    sizes = tuple(size // known if n == -1 else n for n in sizes)
    return reshape(input, *input.shape[:axis], *sizes, *input.shape[axis + 1:])


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002 - PyTorch's name
    """The slices along ``dim``, each without that dimension (views)."""
    _check_tensor(input, "unbind")
    if input.ndim == 0:
        raise ValueError("unbind: expected a tensor with at least 1 dimension, got a 0-d tensor")
    axis = normalize_axis(dim, input.ndim, "unbind")
    return tuple(GetItem.apply(input, (slice(None),) * axis + (i,)) for i in range(input.shape[axis]))


class Tril(Function):
    """The lower triangle (``diagonal`` shifts it) of the last two dimensions; the rest set to zero."""

    saves_inputs = False
    upper = False

    def forward(self, a, diagonal):
        self.diagonal = diagonal
        return np.triu(a, diagonal) if self.upper else np.tril(a, diagonal)

    def backward(self, g):
        return (np.triu(g, self.diagonal) if self.upper else np.tril(g, self.diagonal),)


class Triu(Tril):
    """The upper triangle (``diagonal`` shifts it) of the last two dimensions; the rest set to zero."""

    upper = True


def _triangle(cls: type[Tril], op: str, x: Tensor, diagonal: int) -> Tensor:
    _check_tensor(x, op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dimensions, got shape {x.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, numbers.Integral):
        raise TypeError(f"{op}: diagonal must be an int, got {type(diagonal).__name__} {diagonal!r}")
    return cls.apply(x, int(diagonal))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002 - PyTorch's name
    """Elements on and below the ``diagonal``-th diagonal of the last two dimensions; the others zero."""
    return _triangle(Tril, "tril", input, diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002 - PyTorch's name
    """Elements on and above the ``diagonal``-th diagonal of the last two dimensions; the others zero."""
    return _triangle(Triu, "triu", input, diagonal)


# ---------------------------------------------------------------------------- selections and joins courses use
# (composed of the ops above, so each has their gradients; each checked against torch 2.13 in
#  tests/compat/test_semantics_vs_torch.py)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:  # noqa: A002
    """The indices of the non-zero elements: an int64 tensor of shape (count, ndim), or one index tensor per
    dimension with ``as_tuple`` (what ``x[mask]`` takes). No gradient."""
    _check_tensor(input, "nonzero")
    if input.ndim == 0:  # torch: a (1, 0) or (0, 0) tensor; as a tuple, the 1-d tensor's answer
        if as_tuple:
            return (Tensor._wrap(np.flatnonzero(input._data.reshape(1)).astype(np.int64)),)
        return Tensor._wrap(np.zeros((int(bool(input._data)), 0), np.int64))
    found = np.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in found)
    return Tensor._wrap(np.stack(found, axis=1).astype(np.int64))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct values (sorted, as torch's CPU unique always is), with each element's position among them
    (``return_inverse``, the input's shape) and how often each occurs (``return_counts``). No gradient."""
    _check_tensor(input, "unique")
    if dim is not None:
        raise NotImplementedError("unique(dim=...): unique rows or columns are not available in chainrule; "
                                  "unique over the flattened tensor is")
    values, inverse, counts = np.unique(input._data, return_inverse=True, return_counts=True)
    out = [Tensor._wrap(values)]
    if return_inverse:
        out.append(Tensor._wrap(inverse.reshape(input.shape).astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def masked_select(input: Tensor, mask: Any) -> Tensor:  # noqa: A002
    """The elements where the bool ``mask`` (broadcast against ``input``) is true, as a 1-d tensor."""
    _check_tensor(input, "masked_select")
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DtypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}")
    _check_broadcast("masked_select", input, m)
    shape = np.broadcast_shapes(input.shape, m.shape)
    full = input if input.shape == shape else input.expand(*shape)
    return getitem(full, np.broadcast_to(m, shape))


def repeat_interleave(input: Tensor, repeats: Any, dim: int | None = None) -> Tensor:  # noqa: A002
    """Each element (or each slice along ``dim``) repeated ``repeats`` times in place: [1, 2] twice is
    [1, 1, 2, 2]; ``repeats`` an int or one count per element. Without ``dim`` the input is flattened first."""
    _check_tensor(input, "repeat_interleave")
    x = input.reshape(-1) if dim is None else input
    axis = 0 if dim is None else normalize_axis(dim, x.ndim, "repeat_interleave")
    counts = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or (counts.size and counts.min() < 0):
        raise ValueError(f"repeat_interleave: repeats must be a non-negative int or a 1-d int tensor, got {repeats!r}")
    if counts.ndim == 1 and counts.size not in (1, x.shape[axis]):
        raise ShapeError(f"repeat_interleave: {counts.size} repeats for {x.shape[axis]} elements along dim {axis}")
    positions = np.repeat(np.arange(x.shape[axis]), counts if counts.ndim else int(counts))
    return index_select(x, axis, Tensor._wrap(positions.astype(np.int64)))


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along the columns: dim 1, or dim 0 for 1-d tensors (``torch.hstack``)."""
    items = [t if isinstance(t, Tensor) else Tensor._make(t) for t in tensors]
    return cat(items, 0 if items and items[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along the rows: dim 0, 1-d tensors first made rows (``torch.vstack``)."""
    items = [t if isinstance(t, Tensor) else Tensor._make(t) for t in tensors]
    return cat([t.reshape(1, -1) if t.ndim == 1 else t for t in items], 0)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-d tensors, ``indexing="ij"`` (matrix, torch's default) or ``"xy"`` (Cartesian),
    as for plotting a decision boundary. Tensors that require grad get their gradients back."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    items = [t if isinstance(t, Tensor) else Tensor._make(t) for t in tensors]
    for k, t in enumerate(items):
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: tensor {k} has shape {t.shape}; expected 0-d or 1-d tensors")
    items = [t.reshape(-1) for t in items]
    order = list(range(len(items)))
    if indexing == "xy" and len(items) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(items[i].shape[0] for i in order)
    grids = []
    for k, t in enumerate(items):
        place = order.index(k)
        view = [1] * len(items)
        view[place] = t.shape[0]
        grids.append(t.reshape(*view).expand(*shape))
    return tuple(grids)


# ---------------------------------------------------------------------------- composed from the ops above
# Each is built from differentiable ops, so its gradient is theirs; each is checked against torch in
# tests/compat/test_semantics_vs_torch.py.


def _select_sorted(input: Tensor, dim: int | None, keepdim: bool, position: Callable[[int], int],  # noqa: A002
                   op: str) -> Any:
    """The element at ``position(n)`` of ``input`` sorted along ``dim`` (of n), and its index: median, kthvalue."""
    _check_tensor(input, op)
    if dim is None:
        values = input.reshape(-1)
        order = _sorted_order(values._data, 0, False)
        k = position(values._data.size)
        return take_along_dim(values, order[k:k + 1], 0).reshape(())
    axis = normalize_axis(dim, input.ndim, op)
    size = input.shape[axis] if input.ndim else 1
    k = position(size)
    order = np.take(_sorted_order(input._data, axis, False), [k], axis=axis) if input.ndim else np.zeros((), np.int64)
    values = take_along_dim(input, order, axis)
    indices = Tensor._wrap(order)
    if not keepdim and input.ndim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return ValuesIndices(values, indices)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """The lower of the two middle values (``torch.median``): of every element when ``dim`` is None, else
    ``(values, indices)`` along ``dim``; the gradient goes to the element chosen."""
    if input.numel() == 0 and dim is None:
        raise ValueError("median: the median of an empty tensor is undefined")
    return _select_sorted(input, dim, keepdim, lambda n: (n - 1) // 2, "median")


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:  # noqa: A002
    """The ``k``-th smallest value (1 is the smallest) along ``dim`` and its index, as ``torch.kthvalue``."""
    _check_tensor(input, "kthvalue")
    _check_int("kthvalue", "k", k)
    size = input.shape[normalize_axis(dim, input.ndim, "kthvalue")] if input.ndim else 1
    if not 1 <= k <= size:
        raise IndexingError(f"kthvalue: k ({k}) must be between 1 and the size of dimension {dim} ({size})")
    return _select_sorted(input, dim, keepdim, lambda n: k - 1, "kthvalue")


def _spread_and_mean(op: str, x: Tensor, dim: Any, unbiased: bool | None, keepdim: bool,
                     correction: int | None) -> tuple[Tensor, Tensor]:
    """``(x.var(...) or x.std(...), x.mean(...))`` over the same ``dim``: ``torch.var_mean``/``std_mean``."""
    _check_tensor(x, op)
    spread = getattr(x, op.removesuffix("_mean"))(dim, unbiased, keepdim, correction=correction)
    return spread, x.mean() if dim is None and not keepdim else x.mean(dim=dim, keepdim=keepdim)


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,  # noqa: A002
             correction: int | None = None) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim``, as ``torch.var_mean``."""
    return _spread_and_mean("var_mean", input, dim, unbiased, keepdim, correction)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,  # noqa: A002
             correction: int | None = None) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim``, as ``torch.std_mean``."""
    return _spread_and_mean("std_mean", input, dim, unbiased, keepdim, correction)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """How many elements are not zero (over ``dim``), as int64: ``torch.count_nonzero``. No gradient."""
    _check_tensor(input, "count_nonzero")
    axes = normalize_axes(dim, input.ndim, "count_nonzero")
    return Tensor._wrap(np.asarray(np.count_nonzero(input._data, axis=axes), dtype=np.int64))


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each of ``elements`` is among ``test_elements`` (a bool tensor), as ``torch.isin``."""
    return Tensor._wrap(np.isin(to_array(elements), to_array(test_elements), invert=bool(invert)))


def mv(input: Tensor, vec: Tensor) -> Tensor:  # noqa: A002
    """Matrix (n, m) times vector (m,): ``torch.mv``."""
    _check_tensor(input, "mv")
    _check_tensor(vec, "mv", "vec")
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        raise ShapeError(f"mv: expected a matrix (n, m) and a vector (m,), got shapes {input.shape} and {vec.shape}")
    return matmul(input, vec)


def addmm(input: Any, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:  # noqa: A002
    """beta · input + alpha · (mat1 @ mat2), ``input`` broadcast to the product's shape: ``torch.addmm``."""
    product = mm(mat1, mat2)
    product = product if alpha == 1 else product * alpha
    return product + (input if beta == 1 else input * beta) if beta != 0 else product


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:  # noqa: A002
    """input + weight · (end - input): ``torch.lerp``."""
    _check_tensor(input, "lerp")
    return input + weight * (end - input)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:  # noqa: A002
    """The ``n``-th forward difference along ``dim`` (after joining ``prepend`` and ``append``): ``torch.diff``."""
    _check_tensor(input, "diff")
    _check_int("diff", "n", n)
    if n < 0:
        raise ValueError(f"diff: n must be at least 0, got {n}")
    if input.ndim == 0:
        raise ShapeError("diff: expected a tensor of at least one dimension, got a 0-d tensor")
    axis = normalize_axis(dim, input.ndim, "diff")
    x = cat([t for t in (prepend, input, append) if t is not None], axis) if prepend is not None or \
        append is not None else input
    for _ in range(n):
        length = x.shape[axis]
        x = x.narrow(axis, 1, length - 1) - x.narrow(axis, 0, length - 1) if x._data.dtype != np.bool_ else \
            x.narrow(axis, 1, length - 1) ^ x.narrow(axis, 0, length - 1)
    return x


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` (…, P, M) and each row of ``x2`` (…, R, M), shape
    (…, P, R), as ``torch.cdist``; the gradient at a distance of 0 is 0, as there."""
    _check_tensor(x1, "cdist", "x1")
    _check_tensor(x2, "cdist", "x2")
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: expected x1 (…, P, M) and x2 (…, R, M) with the same M, got shapes {x1.shape} "
                         f"and {x2.shape}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or p < 0:
        raise ValueError(f"cdist: p must be a non-negative number, got {p!r}")
    difference = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (…, P, R, M)
    if p == 0:
        return (difference != 0).sum(-1).to(x1._data.dtype)
    if p == math.inf:
        return difference.abs().amax(-1)
    if p == 1:
        return difference.abs().sum(-1)
    powered = (difference * difference).sum(-1) if p == 2 else (difference.abs() ** p).sum(-1)
    positive = powered > 0  # where the root's slope is finite; elsewhere the distance is 0 and so is its gradient
    root = where(positive, powered, 1.0) ** (1 / p)
    return where(positive, root, 0.0)



def _cumulative_extreme(input: Tensor, dim: int, op: str, accumulate: Any) -> ValuesIndices:  # noqa: A002
    """Running maximum (or minimum) along ``dim`` and where it was taken: the latest position that reaches it,
    as PyTorch; the gradient goes to that element."""
    _check_tensor(input, op)
    if input.ndim == 0:
        return ValuesIndices(input * 1, Tensor._wrap(np.zeros((), np.int64)))
    axis = normalize_axis(dim, input.ndim, op)
    a = input._data
    running = accumulate(a, axis=axis)
    positions = np.arange(a.shape[axis]).reshape([-1 if i == axis else 1 for i in range(a.ndim)])
    order = np.maximum.accumulate(np.where(a == running, positions, 0), axis=axis).astype(np.int64)
    return ValuesIndices(take_along_dim(input, order, axis), Tensor._wrap(order))


def cummax(input: Tensor, dim: int) -> ValuesIndices:  # noqa: A002
    """``(values, indices)`` of the running maximum along ``dim``, as ``torch.cummax``."""
    return _cumulative_extreme(input, dim, "cummax", np.maximum.accumulate)


def cummin(input: Tensor, dim: int) -> ValuesIndices:  # noqa: A002
    """``(values, indices)`` of the running minimum along ``dim``, as ``torch.cummin``."""
    return _cumulative_extreme(input, dim, "cummin", np.minimum.accumulate)


def searchsorted(sorted_sequence: Any, input: Any, *, out_int32: bool = False, right: bool = False,  # noqa: A002
                 side: str | None = None, sorter: Any = None) -> Tensor:
    """Where each value of ``input`` would go in the sorted last dimension of ``sorted_sequence`` (int64), as
    ``torch.searchsorted``: its first position (``right``: past its last equal). No gradient."""
    seq, values = to_array(sorted_sequence), to_array(input)
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        right = side == "right"
    if sorter is not None:
        seq = np.take_along_axis(seq, to_array(sorter), -1)
    which: Literal["left", "right"] = "right" if right else "left"
    dtype = np.int32 if out_int32 else np.int64
    if seq.ndim <= 1:
        return Tensor._wrap(np.searchsorted(seq, values, side=which).astype(dtype))
    if seq.shape[:-1] != values.shape[:-1]:
        raise ShapeError(f"searchsorted: the boundaries' leading dimensions {seq.shape[:-1]} must match the "
                         f"input's {values.shape[:-1]}")
    rows = [np.searchsorted(s, v, side=which) for s, v in zip(seq.reshape(-1, seq.shape[-1]),
                                                              values.reshape(-1, values.shape[-1]), strict=True)]
    return Tensor._wrap(np.array(rows, dtype=dtype).reshape(values.shape))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts of ``input``'s values in ``bins`` equal bins over [min, max] (the data's range when both are 0;
    values outside are left out), in the input's dtype: ``torch.histc``. No gradient."""
    _check_tensor(input, "histc")
    _check_int("histc", "bins", bins)
    if bins <= 0:
        raise ValueError(f"histc: bins must be positive, got {bins}")
    a = input._data
    if a.dtype.kind != "f":
        raise DtypeError(f"histc: expected a floating-point tensor, got dtype {a.dtype}")
    low, high = float(min), float(max)
    if low == high == 0 and a.size:
        low, high = float(a.min()), float(a.max())
    if low == high:  # one value: PyTorch widens the range by 1 on each side
        low, high = low - 1, high + 1
    if low > high:
        raise ValueError(f"histc: max ({high}) must be at least min ({low})")
    counts, _ = np.histogram(a, bins=bins, range=(low, high))
    return Tensor._wrap(counts.astype(a.dtype))


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
                       dim: int | None = None) -> Any:
    """Each run of equal consecutive elements (of the flattened input) as one, as ``torch.unique_consecutive``;
    with ``return_inverse`` each element's run, with ``return_counts`` each run's length. No gradient."""
    _check_tensor(input, "unique_consecutive")
    if dim is not None:
        raise NotImplementedError("unique_consecutive(dim=...) is not available in chainrule; it works on the "
                                  "flattened input")
    a = input._data.reshape(-1)
    starts = np.concatenate([[True], a[1:] != a[:-1]]) if a.size else np.zeros(0, bool)
    out: list[Tensor] = [Tensor._wrap(a[starts])]
    if return_inverse:
        out.append(Tensor._wrap((np.cumsum(starts) - 1).astype(np.int64).reshape(input._data.shape)))
    if return_counts:
        out.append(Tensor._wrap(np.diff(np.append(np.flatnonzero(starts), a.size)).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def _index_mask(op: str, x: Tensor, dim: int, index: Any) -> np.ndarray:
    """A bool mask of ``x``'s shape, True at positions ``index`` along ``dim``."""
    position = _vector_index(op, x, dim, index)
    mask = np.zeros(x._data.shape, bool)
    mask[position] = True
    return mask


def index_fill(input: Tensor, dim: int, index: Any, value: Any) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``value`` at positions ``index`` along ``dim`` (their gradient is 0), as
    ``torch.Tensor.index_fill``."""
    return masked_fill(input, _index_mask("index_fill", input, dim, index), value)


def index_copy(input: Tensor, dim: int, index: Any, source: Tensor) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``source``'s slices at positions ``index`` along ``dim``, as
    ``torch.Tensor.index_copy``; the gradient goes to whichever of the two each element came from."""
    _check_tensor(source, "index_copy", "source")
    position = _vector_index("index_copy", input, dim, index)
    expected = (*input.shape[:len(position) - 1], position[-1].size, *input.shape[len(position):])
    if source.shape != expected:
        raise ShapeError(f"index_copy: source must have shape {expected}, got {source.shape}")
    out = input * 1  # a new node: the setitem below must not write into the caller's tensor
    out[position] = source
    return out


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Sum over ``dims`` pairs of dimensions of ``a`` and ``b`` (an int: ``a``'s last and ``b``'s first ones;
    or two lists), as ``torch.tensordot``; built from permute, reshape and matmul, so it has their gradients."""
    _check_tensor(a, "tensordot", "a")
    _check_tensor(b, "tensordot", "b")
    if isinstance(dims, int | np.integer) and not isinstance(dims, bool):
        if not 0 <= dims <= builtins.min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims must be between 0 and {builtins.min(a.ndim, b.ndim)}, got {dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([normalize_axis(d, t.ndim, "tensordot") for d in ([ds] if isinstance(ds, int) else ds)]
                          for ds, t in zip(dims, (a, b), strict=True))
    if [a.shape[i] for i in dims_a] != [b.shape[i] for i in dims_b]:
        raise ShapeError(f"tensordot: contracted sizes differ: {[a.shape[i] for i in dims_a]} (a) and "
                         f"{[b.shape[i] for i in dims_b]} (b)")
    free_a = [i for i in range(a.ndim) if i not in dims_a]
    free_b = [i for i in range(b.ndim) if i not in dims_b]
    inner = math.prod(a.shape[i] for i in dims_a)
    left = permute(a, *free_a, *dims_a).reshape(-1, inner)
    right = permute(b, *dims_b, *free_b).reshape(inner, -1)
    return matmul(left, right).reshape(*(a.shape[i] for i in free_a), *(b.shape[i] for i in free_b))


def cross(input: Tensor, other: Tensor, dim: int | None = -1) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along ``dim``, as ``torch.linalg.cross``, from index_select and products."""
    _check_tensor(input, "cross")
    _check_tensor(other, "cross", "other")
    axis = normalize_axis(-1 if dim is None else dim, input.ndim, "cross")
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise ShapeError(f"cross: dimension {axis} must have size 3 in both, got shapes {input.shape} and "
                         f"{other.shape}")
    ahead, behind = [1, 2, 0], [2, 0, 1]
    return (index_select(input, axis, ahead) * index_select(other, axis, behind)
            - index_select(input, axis, behind) * index_select(other, axis, ahead))
