"""Elementwise math as one table: each op is one row that gives its forward, its derivative and its dtype rule.

A row becomes three things, all made here from the row and nowhere else:

* an autograd :class:`Elementwise` subclass named after the op (``Sin``, ``Hardtanh``), so ``grad_fn`` and
  error messages name it;
* a module-level function (``sin``, ``hardtanh``, and PyTorch's aliases such as ``arcsin``);
* where ``torch.Tensor`` has them, a Tensor method and its in-place form (``x.sin()``, ``x.sin_()``), added by
  :func:`install_tensor_methods`, which also adds the methods of the reductions, scans, products and shape
  ops defined in ``ops.py``.

The dtype rule follows PyTorch: transcendental ops (``sin``, ``exp``, ``erf``, ...) turn integer and bool inputs
into the default float dtype; rounding, ``abs``, ``neg``, ``sign`` and ``square`` keep integers; most activations
(``silu``, ``elu``, ...) accept floating-point tensors only.

>>> import chainrule as cr
>>> from chainrule.engine import elementwise
>>> x = cr.tensor([0.0, 1.0], requires_grad=True)
>>> y = elementwise.sin(x)
>>> y.grad_fn
<SinBackward>
>>> y.sum().backward(); x.grad.tolist()
[1.0, 0.5403022766113281]
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

# ops.py imports this module for the classes it re-exports, so ops is only partly loaded here: its functions are
# looked up when called, never at import time.
from chainrule.engine import dtypes, ops
from chainrule.engine.autograd import Function
from chainrule.engine.backend import DtypeError, IntegerDivisionByZeroError
from chainrule.engine.tensor import Tensor


def scipy_special(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """``scipy.special.<name>``, imported on first use: importing scipy.special takes a fifth of a second and a
    few MB, which every ``import chainrule`` would pay for a few rarely used ops (and GELU's exact form)."""

    def call(x: np.ndarray) -> np.ndarray:
        from scipy import special

        return getattr(special, name)(x)

    call.__name__ = name
    return call


#: What a row does with integer or bool inputs: "float" turns them into the default float dtype (as torch.sin),
#: "keep" computes in their dtype (as torch.abs on ints), "error" refuses them (as torch.silu); a dtype
#: converts them to it first (torch.square of a bool tensor is int64).
DtypeRule = str | np.dtype


@dataclass(frozen=True)
class Unary:
    """One elementwise op of one tensor.

    ``forward(x, *params)`` and ``derivative(x, y, g, *params)`` take NumPy arrays: the input ``x``, the
    output ``y`` and the output's gradient ``g``; the derivative returns the input's gradient. ``uses`` says
    which of ``x`` and ``y`` the derivative reads ("x", "y", "xy" or ""), so only those are kept for backward.
    A ``derivative`` of None means the gradient is zero everywhere (floor, sign: PyTorch gives zeros too).
    ``params`` are the op's constant arguments with their defaults (``elu``'s alpha).
    """

    name: str
    forward: Callable[..., Any]
    derivative: Callable[..., Any] | None
    doc: str
    uses: str = "x"
    ints: DtypeRule = "float"
    bools: DtypeRule = "float"
    params: tuple[tuple[str, float | None], ...] = ()  # None: optional, with no number as its default
    aliases: tuple[str, ...] = ()
    method: bool = True  # torch.Tensor has it as a method (activations like silu are functions only)
    cls_name: str = ""


@dataclass(frozen=True)
class Binary:
    """One elementwise op of two tensors that broadcast; operands are promoted as PyTorch's ``result_type``.

    ``derivatives(a, b, y, g)`` returns the gradients of ``a`` and ``b`` (of the broadcast shape; the engine
    sums them back to each operand's shape).
    """

    name: str
    forward: Callable[[Any, Any], Any]
    derivatives: Callable[[Any, Any, Any, Any], tuple[Any, Any]]
    doc: str
    ints: DtypeRule = "float"
    bools: DtypeRule = "float"
    aliases: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- forward helpers


def _sigmoid(a: Any) -> Any:
    """1 / (1 + exp(-a)), accurate far below 0 too (0.5 + 0.5·tanh(a/2) turns sigmoid(-40) = 4e-18 into 0)."""
    with np.errstate(over="ignore"):  # exp(-a) = inf for very negative a gives the right limit, 0
        e = np.exp(-a)
    return 1 / (1 + e)


def _softplus(a: Any) -> Any:
    return np.logaddexp(0, a)


def _rounding(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """floor, ceil, trunc: integer tensors come back unchanged (as a copy), without a trip through float64."""
    return lambda a: fn(a) if a.dtype.kind == "f" else a.copy()


def _round(a: Any, decimals: int = 0) -> Any:
    """Round half to even, to ``decimals`` places, as torch.round; integers come back unchanged."""
    if a.dtype.kind == "f":
        return np.round(a, int(decimals))
    if decimals:
        raise TypeError(f"round: decimals is only supported for floating-point tensors, got dtype {a.dtype}")
    return a.copy()


def _sign(a: Any) -> Any:
    return a.copy() if a.dtype.kind == "b" else np.sign(a)


def _hardtanh(a: Any, min_val: float, max_val: float) -> Any:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val} and "
                         f"max_val={max_val}")
    return np.clip(a, min_val, max_val)


def _negative_part(a: Any) -> Any:
    """min(a, 0): the input of the exponential branch of elu and selu, which then never overflows."""
    return np.minimum(a, 0)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_LN2, _LN10 = math.log(2), math.log(10)


def _mish_derivative(x: Any, y: Any, g: Any) -> Any:
    t = np.tanh(_softplus(x))
    return g * (t + x * _sigmoid(x) * (1 - t * t))


def _silu_derivative(x: Any, y: Any, g: Any) -> Any:
    s = _sigmoid(x)
    return g * (s * (1 + x * (1 - s)))


def _hardswish_derivative(x: Any, y: Any, g: Any) -> Any:
    return g * np.where(x < -3, 0, np.where(x <= 3, x / 3 + 0.5, 1))


# ---------------------------------------------------------------------------- the table

UNARY: tuple[Unary, ...] = (
    # ---- exponentials and logarithms
    Unary("exp", np.exp, lambda x, y, g: g * y, "e to the power of each element.", uses="y"),
    Unary("exp2", np.exp2, lambda x, y, g: g * (y * _LN2), "2 to the power of each element.", uses="y"),
    Unary("expm1", np.expm1, lambda x, y, g: g * (y + 1), "exp(x) - 1, accurate for small x.", uses="y"),
    Unary("log", np.log, lambda x, y, g: g / x, "Natural logarithm of each element."),
    Unary("log2", np.log2, lambda x, y, g: g / (x * _LN2), "Base-2 logarithm of each element."),
    Unary("log10", np.log10, lambda x, y, g: g / (x * _LN10), "Base-10 logarithm of each element."),
    Unary("log1p", np.log1p, lambda x, y, g: g / (x + 1), "log(1 + x), accurate for small x."),
    Unary("sqrt", np.sqrt, lambda x, y, g: g / (2 * y), "Square root of each element.", uses="y"),
    Unary("rsqrt", lambda a: 1 / np.sqrt(a), lambda x, y, g: g * (-0.5 * y * y * y),
          "1 / sqrt(x) for each element.", uses="y"),
    Unary("reciprocal", lambda a: 1 / a, lambda x, y, g: g * -(y * y), "1 / x for each element.", uses="y"),
    Unary("square", lambda a: a * a, lambda x, y, g: g * (2 * x), "x * x for each element; integers stay integers.",
          ints="keep", bools=dtypes.int64),
    # ---- trigonometric and hyperbolic
    Unary("sin", np.sin, lambda x, y, g: g * np.cos(x), "Sine of each element (radians)."),
    Unary("cos", np.cos, lambda x, y, g: g * -np.sin(x), "Cosine of each element (radians)."),
    Unary("tan", np.tan, lambda x, y, g: g * (1 + y * y), "Tangent of each element (radians).", uses="y"),
    Unary("asin", np.arcsin, lambda x, y, g: g / np.sqrt(1 - x * x), "Inverse sine of each element.",
          aliases=("arcsin",)),
    Unary("acos", np.arccos, lambda x, y, g: g * -(1 / np.sqrt(1 - x * x)), "Inverse cosine of each element.",
          aliases=("arccos",)),
    Unary("atan", np.arctan, lambda x, y, g: g / (1 + x * x), "Inverse tangent of each element.",
          aliases=("arctan",)),
    Unary("sinh", np.sinh, lambda x, y, g: g * np.cosh(x), "Hyperbolic sine of each element."),
    Unary("cosh", np.cosh, lambda x, y, g: g * np.sinh(x), "Hyperbolic cosine of each element."),
    Unary("tanh", np.tanh, lambda x, y, g: g * (1 - y * y), "Hyperbolic tangent of each element.", uses="y"),
    Unary("asinh", np.arcsinh, lambda x, y, g: g / np.sqrt(x * x + 1), "Inverse hyperbolic sine of each element.",
          aliases=("arcsinh",)),
    Unary("acosh", np.arccosh, lambda x, y, g: g / np.sqrt(x * x - 1), "Inverse hyperbolic cosine of each element.",
          aliases=("arccosh",)),
    Unary("atanh", np.arctanh, lambda x, y, g: g / (1 - x * x), "Inverse hyperbolic tangent of each element.",
          aliases=("arctanh",)),
    # ---- error function
    Unary("erf", scipy_special("erf"), lambda x, y, g: g * (_TWO_OVER_SQRT_PI * np.exp(-x * x)),
          "The error function of each element."),
    Unary("erfc", scipy_special("erfc"), lambda x, y, g: g * (-_TWO_OVER_SQRT_PI * np.exp(-x * x)),
          "1 - erf(x), accurate where erf(x) is close to 1."),
    Unary("erfinv", scipy_special("erfinv"), lambda x, y, g: g * (0.5 * math.sqrt(math.pi) * np.exp(y * y)),
          "The inverse of erf, for each element in (-1, 1).", uses="y"),
    # ---- sign and rounding: integers keep their dtype; the gradient is zero (as PyTorch), frac's is 1
    Unary("neg", np.negative, lambda x, y, g: -g, "-x for each element.", uses="", ints="keep", bools="error",
          aliases=("negative",)),
    Unary("abs", np.abs, lambda x, y, g: g * np.sign(x), "Absolute value of each element (gradient 0 at 0).",
          ints="keep", bools="error", aliases=("absolute",)),
    Unary("nan_to_num", lambda a, nan, posinf, neginf: np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf),
          lambda x, y, g, nan, posinf, neginf: g * np.isfinite(x),
          "NaN as ``nan`` (0), infinities as ``posinf``/``neginf`` (the dtype's largest and smallest by default); "
          "gradient 1 where finite, 0 where replaced.", ints="keep", bools="keep",
          params=(("nan", 0.0), ("posinf", None), ("neginf", None)), cls_name="NanToNum"),
    Unary("sign", _sign, None, "-1, 0 or 1 by the sign of each element; zero gradient.", uses="", ints="keep",
          bools="keep", aliases=("sgn",)),
    Unary("floor", _rounding(np.floor), None, "The largest integer <= each element; zero gradient.", uses="",
          ints="keep", bools="error"),
    Unary("ceil", _rounding(np.ceil), None, "The smallest integer >= each element; zero gradient.", uses="",
          ints="keep", bools="error"),
    Unary("trunc", _rounding(np.trunc), None, "Each element rounded toward zero; zero gradient.", uses="",
          ints="keep", bools="error", aliases=("fix",)),
    Unary("round", _round, None, "Each element rounded half to even (to ``decimals`` places); zero gradient.",
          uses="", ints="keep", bools="error", params=(("decimals", 0),)),
    Unary("frac", lambda a: a - np.trunc(a), lambda x, y, g: g, "x - trunc(x): the fractional part, sign kept.",
          uses="", ints="error", bools="error"),
    # ---- activations (functions only: torch.Tensor has no methods for most of them)
    Unary("sigmoid", _sigmoid, lambda x, y, g: g * (y * (1 - y)), "1 / (1 + exp(-x)), without overflow.",
          uses="y"),
    Unary("softplus", _softplus, lambda x, y, g: g * _sigmoid(x), "log(1 + exp(x)), without overflow.",
          ints="error", bools="error", method=False),
    Unary("logsigmoid", lambda a: -_softplus(-a), lambda x, y, g: g * _sigmoid(-x),
          "log(sigmoid(x)), accurate far below 0.", ints="error", bools="error", method=False,
          cls_name="LogSigmoid"),
    Unary("silu", lambda a: a * _sigmoid(a), _silu_derivative, "x * sigmoid(x) (also called swish).",
          ints="error", bools="error", method=False),
    Unary("mish", lambda a: a * np.tanh(_softplus(a)), _mish_derivative, "x * tanh(softplus(x)).",
          ints="error", bools="error", method=False),
    Unary("elu", lambda a, alpha: np.where(a > 0, a, alpha * np.expm1(_negative_part(a))),
          lambda x, y, g, alpha: g * np.where(x > 0, 1, alpha * np.exp(_negative_part(x))),
          "x for x > 0, else alpha * (exp(x) - 1).", ints="error", bools="error", params=(("alpha", 1.0),),
          method=False),
    Unary("selu", lambda a: _SELU_SCALE * np.where(a > 0, a, _SELU_ALPHA * np.expm1(_negative_part(a))),
          lambda x, y, g: g * (_SELU_SCALE * np.where(x > 0, 1, _SELU_ALPHA * np.exp(_negative_part(x)))),
          "scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al. (2017).",
          ints="error", bools="error", method=False),
    Unary("hardtanh", _hardtanh, lambda x, y, g, lo, hi: g * ((x > lo) & (x < hi)),
          "x clipped to [min_val, max_val]; gradient 1 strictly inside, 0 elsewhere.", ints="keep", bools="error",
          params=(("min_val", -1.0), ("max_val", 1.0)), method=False),
    Unary("relu6", lambda a: np.clip(a, 0, 6), lambda x, y, g: g * ((x > 0) & (x < 6)),
          "min(max(x, 0), 6).", ints="keep", bools="error", method=False, cls_name="Hardtanh"),
    Unary("hardsigmoid", lambda a: np.clip(a + 3, 0, 6) / 6, lambda x, y, g: g * ((x > -3) & (x < 3)) / 6,
          "relu6(x + 3) / 6: a piecewise-linear sigmoid.", ints="error", bools="error", method=False),
    Unary("hardswish", lambda a: a * np.clip(a + 3, 0, 6) / 6, _hardswish_derivative,
          "x * relu6(x + 3) / 6: a piecewise version of silu.", ints="error", bools="error", method=False),
    Unary("softsign", lambda a: a / (1 + np.abs(a)), lambda x, y, g: g / np.square(1 + np.abs(x)),
          "x / (1 + |x|).", bools="error", method=False),
)


def _fmod(a: Any, b: Any) -> Any:
    if a.dtype.kind != "f" and np.any(np.asarray(b) == 0):
        raise IntegerDivisionByZeroError("fmod: integer division by zero (ZeroDivisionError, as in PyTorch)")
    return np.fmod(a, b)


def _fmod_derivatives(a: Any, b: Any, y: Any, g: Any) -> tuple[Any, Any]:
    return g, g * -np.trunc(a / b)


def _atan2_derivatives(a: Any, b: Any, y: Any, g: Any) -> tuple[Any, Any]:
    scale = g / (a * a + b * b)
    return scale * b, scale * -a


def _hypot_derivatives(a: Any, b: Any, y: Any, g: Any) -> tuple[Any, Any]:
    scale = g / y
    return scale * a, scale * b


BINARY: tuple[Binary, ...] = (
    Binary("atan2", np.arctan2, _atan2_derivatives, "The angle of the point (other, input): atan(input / other) "
           "in the right quadrant.", aliases=("arctan2",)),
    Binary("fmod", _fmod, _fmod_derivatives, "The remainder of input / other with the sign of input (C's fmod); "
           "integers stay integers.", ints="keep", bools="error"),
    Binary("hypot", np.hypot, _hypot_derivatives, "sqrt(input² + other²) without overflow.", ints="error",
           bools="error"),
)
#: Every row: the unary ones, then the binary ones.
ROWS: tuple[Unary | Binary, ...] = (*UNARY, *BINARY)


# ---------------------------------------------------------------------------- the generated classes and functions


class Elementwise(Function):
    """An op made from a :data:`UNARY` row; :func:`_unary_class` makes one subclass per row.

    Each subclass's ``forward`` and ``backward`` are made for its row, with the row's functions and flags
    held in closures: these ops are on the hot path, and a closure lookup is cheaper than an attribute's.
    """

    row: ClassVar[Unary]
    a = out = None  # what backward reads, kept only where the row's derivative uses it
    params: tuple[Any, ...] = ()


class ElementwiseBinary(Function):
    """An op made from a :data:`BINARY` row; :func:`_binary_class` makes one subclass per row."""

    row: ClassVar[Binary]
    saves_output = True

    if TYPE_CHECKING:  # each subclass has its row's functions as static methods
        @staticmethod
        def _forward(a: Any, b: Any, /) -> Any: ...

        @staticmethod
        def _derivatives(a: Any, b: Any, y: Any, g: Any, /) -> tuple[Any, Any]: ...

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = self._forward(a, b)
        return self.out

    def backward(self, g):
        ga, gb = self._derivatives(self.a, self.b, self.out, g)
        return (ga if self.needs[0] else None), (gb if self.needs[1] else None)


def _class_name(row: Unary | Binary) -> str:
    return getattr(row, "cls_name", "") or row.name.capitalize()


def _unary_class(row: Unary) -> type[Elementwise]:
    fn, derivative = row.forward, row.derivative
    keeps_input, keeps_output = "x" in row.uses, "y" in row.uses

    def forward(self, a, *params):
        out = fn(a, *params) if params else fn(a)
        if out.dtype is not a.dtype:  # NumPy's float64 for integer floor, scipy's float32 for float16 erf
            out = out.astype(a.dtype, copy=False)
        if keeps_input:
            self.a = a
        if keeps_output:
            self.out = out
        if params:
            self.params = params
        return out

    def backward(self, g):
        if derivative is None:
            return (np.zeros_like(g),)
        params = self.params
        return (derivative(self.a, self.out, g, *params) if params else derivative(self.a, self.out, g),)

    attrs = {"__doc__": row.doc, "__module__": __name__, "row": row, "forward": forward, "backward": backward,
             "saves_inputs": keeps_input, "saves_output": keeps_output}
    return type(_class_name(row), (Elementwise,), attrs)


def _binary_class(row: Binary) -> type[ElementwiseBinary]:
    attrs = {"__doc__": row.doc, "__module__": __name__, "row": row, "_forward": staticmethod(row.forward),
             "_derivatives": staticmethod(row.derivatives)}
    return type(_class_name(row), (ElementwiseBinary,), attrs)


def _in_dtype(row: Unary | Binary, x: Any) -> Any:
    """``x`` (a tensor or, for binary ops, an array or number) of integer or bool dtype, converted by the
    row's rule for that dtype, or a TypeError saying which dtypes the op takes."""
    dtype = x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype
    rule = row.bools if dtype.kind == "b" else row.ints
    if rule == "keep":
        return x
    if rule == "error":
        takes = "floating-point tensors" if row.ints == "error" else "floating-point and integer tensors"
        raise DtypeError(f"{row.name}: not implemented for dtype {dtype}; it takes {takes} "
                        "(convert first, e.g. x.float())")
    target = dtypes.get_default_dtype() if rule == "float" else rule
    return Tensor._wrap(x._data.astype(target)) if isinstance(x, Tensor) else np.asarray(x, dtype=target)


def _unary_input(row: Unary, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{row.name}: expected a Tensor as input, got {type(x).__name__}")
    kind = x._data.dtype.kind
    if kind == "f":
        return x
    return _in_dtype(row, x)


def _bind_params(row: Unary, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The row's constant arguments from a call's positional and keyword arguments, defaults filled in."""
    names = [name for name, _ in row.params]
    if len(args) > len(names):
        raise TypeError(f"{row.name}: takes {len(names)} argument(s) after the input ({', '.join(names) or 'none'}), "
                        f"got {len(args)}")
    values = dict(row.params)
    values.update(zip(names, args))
    for key, value in kwargs.items():
        if key not in values:
            raise TypeError(f"{row.name}: unexpected keyword argument {key!r}; "
                            f"it takes {', '.join(names) or 'no arguments besides the input'}")
        if key in names[:len(args)]:
            raise TypeError(f"{row.name}: got {key!r} both by position and by keyword")
        values[key] = value
    for key in names:
        value = values[key]
        if value is None and dict(row.params)[key] is None:  # an optional one (nan_to_num's posinf: the dtype's max)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise TypeError(f"{row.name}: {key} must be a real number, got {type(value).__name__} {value!r}")
    return tuple(values[key] for key in names)


def _signature(row: Unary) -> inspect.Signature:
    params = [inspect.Parameter("input", inspect.Parameter.POSITIONAL_ONLY)]
    params += [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
               for name, default in row.params]
    return inspect.Signature(params)


def _unary_op_with_params(row: Unary, cls: type[Function]) -> Callable[..., Tensor]:
    def op(input, *args, **kwargs):  # noqa: A002 - PyTorch's name
        return cls.apply(_unary_input(row, input), *_bind_params(row, args, kwargs))

    return op


def _unary_op(row: Unary, cls: type[Function]) -> Callable[[Any], Tensor]:
    def op(input):  # noqa: A002 - PyTorch's name
        if isinstance(input, Tensor) and input._data.dtype.kind == "f":
            return cls.apply(input)  # the common case, without the dtype rule's checks
        return cls.apply(_unary_input(row, input))

    return op


def _unary_function(row: Unary, cls: type[Function]) -> Callable[..., Tensor]:
    op = _unary_op_with_params(row, cls) if row.params else _unary_op(row, cls)
    op.__name__ = op.__qualname__ = row.name
    op.__module__ = __name__
    op.__doc__ = row.doc
    op.__signature__ = _signature(row)  # type: ignore[attr-defined]
    return op


def _binary_function(row: Binary, cls: type[Function]) -> Callable[[Any, Any], Tensor]:
    def op(input, other):  # noqa: A002 - PyTorch's name
        a, b = ops._binary(row.name, input, other)
        kind = (a._data if isinstance(a, Tensor) else np.asarray(a)).dtype.kind
        if kind != "f":
            a, b = _in_dtype(row, a), _in_dtype(row, b)
        return ops._elementwise(cls, row.name, a, b)

    op.__name__ = op.__qualname__ = row.name
    op.__module__ = __name__
    op.__doc__ = row.doc
    return op


#: The Function class of each op, by the op's name (aliases not repeated).
CLASSES: dict[str, type[Function]] = {
    **{row.name: _unary_class(row) for row in UNARY}, **{row.name: _binary_class(row) for row in BINARY}}
#: The public function of each op, by name and by alias.
FUNCTIONS: dict[str, Callable[..., Tensor]] = {
    **{row.name: _unary_function(row, CLASSES[row.name]) for row in UNARY},
    **{row.name: _binary_function(row, CLASSES[row.name]) for row in BINARY}}
FUNCTIONS.update({alias: FUNCTIONS[row.name] for row in ROWS for alias in row.aliases})

# The classes and functions by name, for `from chainrule.engine.elementwise import Sin, sin`.
Exp, Log, Sqrt, Tanh, Sigmoid, Softplus, Abs, Neg = (
    CLASSES[n] for n in ("exp", "log", "sqrt", "tanh", "sigmoid", "softplus", "abs", "neg"))
(exp, exp2, expm1, log, log2, log10, log1p, sqrt, rsqrt, reciprocal, square, sin, cos, tan, asin, acos, atan, sinh,
 cosh, tanh, asinh, acosh, atanh, erf, erfc, erfinv, neg, abs, nan_to_num, sign, floor, ceil, trunc, round, frac,  # noqa: A001
 sigmoid, softplus, logsigmoid, silu, mish, elu, selu, hardtanh, relu6, hardsigmoid, hardswish, softsign) = (
    FUNCTIONS[row.name] for row in UNARY)
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
negative, absolute, sgn, fix = neg, abs, sign, trunc
atan2, fmod, hypot = (FUNCTIONS[row.name] for row in BINARY)
arctan2 = atan2


# ---------------------------------------------------------------------------- Tensor methods


def _inplace_method(name: str, fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``x.name_(...)``: ``fn(x, ...)`` written into ``x`` by the Tensor's in-place mechanism."""

    def method(self, *args, **kwargs):
        if kwargs:
            return self._inplace(lambda t, *a: fn(t, *a, **kwargs), *args, where=name)
        return self._inplace(fn, *args, where=name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place :func:`{fn.__name__}`: the result is written into this tensor."
    return method


def _varargs_method(fn: Callable[..., Tensor], name: str) -> Callable[..., Tensor]:
    """A method taking sizes or dims as several ints or as one sequence (``x.flip(0, 1)``, ``x.flip((0, 1))``)."""

    def method(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], list | tuple):
            dims = tuple(dims[0])
        return fn(self, dims)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = fn.__doc__
    return method


def _where_method(self: Tensor, condition: Any, other: Any) -> Tensor:
    """``self`` where ``condition`` is true, else ``other`` (``torch.where(condition, self, other)``)."""
    return ops.where(condition, self, other)


def install_tensor_methods(tensor_class: type[Tensor]) -> None:
    """Add a method to ``tensor_class`` for each op that ``torch.Tensor`` has as a method.

    From the table: each row's op, its aliases and its in-place form (``sin``, ``arcsin``, ``sin_``); these
    replace hand-written methods of the same name, so the table is the one definition. From ``ops.py``: the
    reductions and scans (``prod``, ``cumsum``, ``norm``, ``sort``, ``topk``, ...), products (``mm``, ``dot``,
    ...), shape and index ops (``flip``, ``gather``, ``chunk``, ...) and their in-place forms.
    """
    for row in ROWS:
        if not getattr(row, "method", True):
            continue
        fn = FUNCTIONS[row.name]
        for name in (row.name, *row.aliases):
            setattr(tensor_class, name, fn)
            setattr(tensor_class, name + "_", _inplace_method(name + "_", fn))
    methods: dict[str, Callable[..., Any]] = {
        "prod": ops.prod, "cumsum": ops.cumsum, "cumprod": ops.cumprod, "norm": ops.norm, "sort": ops.sort,
        "argsort": ops.argsort, "topk": ops.topk, "mm": ops.mm, "bmm": ops.bmm, "dot": ops.dot, "outer": ops.outer,
        "ger": ops.outer, "roll": ops.roll, "gather": ops.gather, "scatter": ops.scatter,
        "scatter_add": ops.scatter_add, "index_select": ops.index_select, "index_add": ops.index_add,
        "masked_fill": ops.masked_fill, "chunk": ops.chunk, "narrow": ops.narrow, "movedim": ops.movedim,
        "moveaxis": ops.movedim, "unflatten": ops.unflatten, "unbind": ops.unbind, "tril": ops.tril,
        "triu": ops.triu, "where": _where_method, "index_put": ops.index_put, "bincount": ops.bincount,
        "diag": ops.diag, "diagonal": ops.diagonal, "trace": ops.trace, "nonzero": ops.nonzero, "unique": ops.unique,
        "masked_select": ops.masked_select, "repeat_interleave": ops.repeat_interleave, "median": ops.median,
        "kthvalue": ops.kthvalue, "count_nonzero": ops.count_nonzero, "isin": ops.isin, "mv": ops.mv,
        "addmm": ops.addmm, "lerp": ops.lerp, "diff": ops.diff, "remainder": ops.remainder, "cummax": ops.cummax,
        "cummin": ops.cummin, "histc": ops.histc, "index_fill": ops.index_fill, "index_copy": ops.index_copy,
        "cross": ops.cross, "take_along_dim": ops.take_along_dim,
        "flip": _varargs_method(ops.flip, "flip"), "repeat": _varargs_method(ops.repeat, "repeat"),
        "tile": _varargs_method(ops.tile, "tile"),
    }
    for name in ("masked_fill", "scatter", "scatter_add", "index_add", "index_put", "tril", "triu"):
        methods[name + "_"] = _inplace_method(name + "_", methods[name])
    for name, method in methods.items():
        setattr(tensor_class, name, method)
