"""Tensor factories with PyTorch's names, signatures and dtype rules.

Floating-point results default to the default dtype (``cr.get_default_dtype()``, float32 unless changed),
integer ones to int64. Every factory takes ``device=`` (the CPU only) and ``requires_grad=``; random ones
draw from chainrule's seeded generator (``cr.manual_seed``) or from ``generator=`` (a ``cr.Generator``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.engine import dtypes
from chainrule.engine.autograd import Function
from chainrule.engine.backend import DtypeError
from chainrule.engine.random import as_numpy_generator
from chainrule.engine.tensor import Tensor, check_device, legacy_array, tensor


def _shape(op: str, size: tuple[Any, ...]) -> tuple[int, ...]:
    """A shape given as ints or as one sequence of ints (``zeros(2, 3)``, ``zeros((2, 3))``)."""
    if len(size) == 1 and isinstance(size[0], list | tuple):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{op}: sizes must be ints, got {type(n).__name__} {n!r} in {size}")
        if n < 0:
            raise ValueError(f"{op}: sizes must be non-negative, got {size}")
    return tuple(int(n) for n in size)


def _dtype(op: str, dtype: Any, default: Any = None) -> np.dtype:
    """``dtype`` as a supported dtype; None means ``default``, or the default float dtype."""
    if dtype is None:
        return dtypes.get_default_dtype() if default is None else np.dtype(default)
    return dtypes.as_dtype(dtype, op)


def _float_dtype(op: str, dtype: Any) -> np.dtype:
    """The dtype of a factory that draws real numbers (rand, randn): floating point only, as PyTorch."""
    d = _dtype(op, dtype)
    if d.kind != "f":
        raise TypeError(f"{op}: expected a floating-point dtype, got {d}")
    return d


def _make(array: np.ndarray, requires_grad: bool, device: Any, op: str) -> Tensor:
    """A leaf tensor around ``array`` on the (only) CPU device."""
    check_device(device, op)
    t = Tensor._wrap(array)
    return t.requires_grad_(True) if requires_grad else t


def _check_tensor(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(x).__name__}")
    return x


def _number(x: Any, op: str, name: str, bool_ok: bool = False) -> float | int | bool:
    """A Python number from a number or a one-element tensor (``arange(cr.tensor(3))``).

    A NumPy scalar counts as the Python number it holds, as in torch (``full((2,), np.float64(1))`` is float32,
    the default dtype, and ``np.int32(1)`` gives int64); another real type (``Fraction``) becomes a float or int.
    """
    if isinstance(x, Tensor | np.integer | np.floating):
        x = x.item()
    if (isinstance(x, bool) and not bool_ok) or not isinstance(x, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {type(x).__name__} {x!r}")
    if not isinstance(x, int | float):
        x = int(x) if isinstance(x, numbers.Integral) else float(x)
    return x


# ---------------------------------------------------------------------------- from data


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory (no copy, dtype kept), as ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    return Tensor._wrap(array) if array.dtype.kind in "fiub" else Tensor._make(array)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can (``torch.as_tensor``): a tensor of that dtype comes
    back itself, a NumPy array of a supported dtype is wrapped without a copy; anything else is copied."""
    check_device(device, "as_tensor")
    target = None if dtype is None else dtypes.as_dtype(dtype, "as_tensor")
    if isinstance(data, Tensor):
        return data if target is None or target == data.dtype else data.to(target)
    if isinstance(data, np.ndarray) and data.dtype in dtypes.SUPPORTED and target in (None, data.dtype):
        return Tensor._wrap(data)
    return tensor(data, dtype=target)


# ---------------------------------------------------------------------------- filled


def _sized(op: str, size: tuple[Any, ...], keyword: dict[str, Any]) -> tuple[Any, ...]:
    """The size given as ints, as one tuple, or as the keyword ``size=`` (``torch.rand(size=(1, 8))``, as d2l
    writes it): only one of them."""
    if not keyword:
        return size
    if set(keyword) != {"size"}:
        unknown = ", ".join(sorted(set(keyword) - {"size"}))
        raise TypeError(f"{op}() got an unexpected keyword argument {unknown!r}")
    if size:
        raise TypeError(f"{op}: the size given twice, as {size} and as size={keyword['size']!r}")
    return (keyword["size"],)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **size_keyword: Any
          ) -> Tensor:
    """A tensor of ``size`` whose values are not set (whatever the memory held): fill it before reading."""
    shape = _shape("empty", _sized("empty", size, size_keyword))
    return _make(np.empty(shape, _dtype("empty", dtype)), requires_grad, device, "empty")


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **size_keyword: Any
          ) -> Tensor:
    """A tensor of zeros; the size may be given as ints or as one tuple.

    >>> import chainrule as cr
    >>> cr.zeros(2, 3).shape == cr.zeros((2, 3)).shape == (2, 3)
    True
    """
    shape = _shape("zeros", _sized("zeros", size, size_keyword))
    return _make(np.zeros(shape, _dtype("zeros", dtype)), requires_grad, device, "zeros")


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **size_keyword: Any
          ) -> Tensor:
    """A tensor of ones; the size may be given as ints or as one tuple."""
    shape = _shape("ones", _sized("ones", size, size_keyword))
    return _make(np.ones(shape, _dtype("ones", dtype)), requires_grad, device, "ones")


def _fill_dtype(value: float | int | bool) -> np.dtype:
    """The dtype PyTorch infers from a fill value: bool, int64 for ints, the default float dtype for floats."""
    return dtypes.result_type(value)


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` (an int or a tuple) filled with ``fill_value``; the dtype follows the value
    (``full((2,), 7)`` is int64, ``full((2,), 7.0)`` float32), as ``torch.full``."""
    value = _number(fill_value, "full", "fill_value", bool_ok=True)
    d = _dtype("full", dtype) if dtype is not None else _fill_dtype(value)
    sizes = _shape("full", (size,) if not isinstance(size, list | tuple) else tuple(size))
    return _make(np.full(sizes, value, dtype=d), requires_grad, device, "full")


def _like(op: str, input: Any, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:  # noqa: A002 - PyTorch's name
    x = _check_tensor(input, op)
    return x.shape, _dtype(op, dtype, x.dtype)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None,  # noqa: A002 - PyTorch's name
               requires_grad: bool = False) -> Tensor:
    """An unset tensor with ``input``'s shape and dtype (or ``dtype``)."""
    shape, d = _like("empty_like", input, dtype)
    return _make(np.empty(shape, d), requires_grad, device, "empty_like")


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None,  # noqa: A002 - PyTorch's name
               requires_grad: bool = False) -> Tensor:
    """Zeros with ``input``'s shape and dtype (or ``dtype``)."""
    shape, d = _like("zeros_like", input, dtype)
    return _make(np.zeros(shape, d), requires_grad, device, "zeros_like")


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None,  # noqa: A002 - PyTorch's name
              requires_grad: bool = False) -> Tensor:
    """Ones with ``input``'s shape and dtype (or ``dtype``)."""
    shape, d = _like("ones_like", input, dtype)
    return _make(np.ones(shape, d), requires_grad, device, "ones_like")


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,  # noqa: A002
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` in ``input``'s shape and dtype (or ``dtype``): ``full_like(int_tensor, 2.7)`` holds 2."""
    shape, d = _like("full_like", input, dtype)
    value = _number(fill_value, "full_like", "fill_value", bool_ok=True)
    return _make(np.full(shape, value).astype(d), requires_grad, device, "full_like")


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The n×m matrix (n×n without m) with ones on the diagonal and zeros elsewhere."""
    rows, cols = _shape("eye", (n, n if m is None else m))
    return _make(np.eye(rows, cols, dtype=_dtype("eye", dtype)), requires_grad, device, "eye")


# ---------------------------------------------------------------------------- ranges


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` (0 when only one bound is given) up to ``end`` (excluded) by ``step``.

    As in PyTorch, the result is int64 when every argument is an integer and the default float dtype when
    any is a float; a bound on the wrong side of ``start`` for the step's sign is an error.

    >>> import chainrule as cr
    >>> cr.arange(0, 1, 0.25).tolist(), cr.arange(3).tolist()
    ([0.0, 0.25, 0.5, 0.75], [0, 1, 2])
    """
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, "arange", name) for v, name in ((start, "start"), (end, "end"), (step, "step")))
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: end {end} lies on the wrong side of start {start} for step {step}")
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise ValueError(f"arange: start, end and step must be finite, got {start}, {end} and {step}")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    d = _dtype("arange", dtype, np.int64 if integral else None)
    return _make(np.arange(start, end, step).astype(d, copy=False), requires_grad, device, "arange")


def _steps(steps: Any, op: str) -> int:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"{op}: steps must be an int, got {type(steps).__name__} {steps!r}")
    if steps < 0:
        raise ValueError(f"{op}: steps must be non-negative, got {steps}")
    return int(steps)


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    values = np.linspace(_number(start, "linspace", "start"), _number(end, "linspace", "end"),
                         _steps(steps, "linspace"))
    return _make(values.astype(_dtype("linspace", dtype)), requires_grad, device, "linspace")


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values ``base ** t`` for t evenly spaced from ``start`` to ``end``, both included."""
    exponents = np.linspace(_number(start, "logspace", "start"), _number(end, "logspace", "end"),
                            _steps(steps, "logspace"))
    values = np.power(float(_number(base, "logspace", "base")), exponents)
    return _make(values.astype(_dtype("logspace", dtype)), requires_grad, device, "logspace")


# ---------------------------------------------------------------------------- random


def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, **size_keyword: Any) -> Tensor:
    """Uniform samples in [0, 1)."""
    d = _float_dtype("rand", dtype)
    values = as_numpy_generator(generator).random(_shape("rand", _sized("rand", size, size_keyword))).astype(d)
    return _make(values, requires_grad, device, "rand")


def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, **size_keyword: Any) -> Tensor:
    """Standard normal samples."""
    d = _float_dtype("randn", dtype)
    shape = _shape("randn", _sized("randn", size, size_keyword))
    values = as_numpy_generator(generator).standard_normal(shape).astype(d)
    return _make(values, requires_grad, device, "randn")


def rand_like(input: Tensor, *, generator: Any = None, dtype: Any = None, device: Any = None,  # noqa: A002
              requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) with ``input``'s shape and dtype (or ``dtype``; floating point only)."""
    shape, d = _like("rand_like", input, dtype)
    return rand(shape, generator=generator, dtype=d, device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator: Any = None, dtype: Any = None, device: Any = None,  # noqa: A002
               requires_grad: bool = False) -> Tensor:
    """Standard normal samples with ``input``'s shape and dtype (or ``dtype``; floating point only)."""
    shape, d = _like("randn_like", input, dtype)
    return randn(shape, generator=generator, dtype=d, device=device, requires_grad=requires_grad)


def randint(*args: Any, size: Sequence[int] | None = None, low: Any = None, high: Any = None, generator: Any = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform random integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (``size`` a tuple, as in PyTorch; each argument may also be given by keyword); int64 by default."""
    rest = list(args)
    if size is None and rest:
        size = rest.pop()
    if high is None and rest:
        high = rest.pop()
    if low is None:
        low = rest.pop() if rest else 0
    if rest or size is None or high is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size), got "
                        f"{len(args)} positional argument(s)")
    if not isinstance(size, list | tuple):
        raise TypeError(f"randint: size must be a tuple of ints, got {type(size).__name__} {size!r}")
    low, high = (int(_number(v, "randint", name)) for v, name in ((low, "low"), (high, "high")))
    if low >= high:
        raise ValueError(f"randint: expected low < high, got low={low} and high={high}")
    values = as_numpy_generator(generator).integers(low, high, _shape("randint", (size,)), dtype=np.int64)
    return _make(values.astype(_dtype("randint", dtype, np.int64), copy=False), requires_grad, device, "randint")


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of 0, ..., n - 1 (int64 by default)."""
    (count,) = _shape("randperm", (n,))
    values = as_numpy_generator(generator).permutation(count)
    return _make(values.astype(_dtype("randperm", dtype, np.int64)), requires_grad, device, "randperm")


class RandomSample(Function):
    """A draw whose distribution has tensor parameters. PyTorch records it in the graph with a zero gradient
    for each parameter (it does not reparameterize), so a sample of a parameter that requires grad requires grad."""

    saves_inputs = False

    def forward(self, sample, *params):
        return sample

    def backward(self, g):
        return (None, *(np.zeros_like(g) if need else None for need in self.needs[1:]))


class Normal(RandomSample):
    pass


class Bernoulli(RandomSample):
    pass


def normal(mean: Any, std: Any = 1.0, size: Sequence[int] | None = None, *, generator: Any = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples from N(mean, std²): ``normal(0.0, 1.0, size)`` with numbers, or elementwise with a tensor
    ``mean`` and/or ``std`` (broadcast; the dtype is the tensor mean's, else the tensor std's)."""
    rng = as_numpy_generator(generator)
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal: with a number mean and std, give the size of the sample")
        loc, scale = _number(mean, "normal", "mean"), _number(std, "normal", "std")
        if scale < 0:
            raise ValueError(f"normal: std must be non-negative, got {scale}")
        values = rng.normal(loc, scale, _shape("normal", (size,))).astype(_float_dtype("normal", dtype))
        return _make(values, requires_grad, device, "normal")
    if size is not None or dtype is not None or requires_grad:
        raise TypeError("normal: size, dtype and requires_grad are for a number mean and std; with tensors the "
                        "sample has their (broadcast) shape and dtype")
    check_device(device, "normal")
    d = (mean if isinstance(mean, Tensor) else std).dtype
    if d.kind != "f":
        raise TypeError(f"normal: mean and std must be floating-point tensors, got dtype {d}")
    locs, scales = (x._data if isinstance(x, Tensor) else _number(x, "normal", name)
                    for x, name in ((mean, "mean"), (std, "std")))
    if np.any(np.asarray(scales) < 0):
        raise ValueError("normal: std must be non-negative everywhere")
    try:
        shape = np.broadcast_shapes(np.shape(locs), np.shape(scales))
    except ValueError:
        raise ValueError(f"normal: mean of shape {np.shape(locs)} and std of shape {np.shape(scales)} do not "
                         "broadcast") from None
    return Normal.apply(rng.normal(locs, scales, shape).astype(d), mean, std)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Any = None) -> Tensor:  # noqa: A002
    """1 with probability ``input`` (or ``p``), else 0, for each element, in ``input``'s dtype."""
    x = _check_tensor(input, "bernoulli")
    if x.dtype.kind != "f":
        raise DtypeError(f"bernoulli: expected a floating-point tensor, got dtype {x.dtype}")
    probs = x._data if p is None else _number(p, "bernoulli", "p")
    if np.any((np.asarray(probs) < 0) | (np.asarray(probs) > 1)) or np.any(np.isnan(probs)):
        raise ValueError("bernoulli: probabilities must lie in [0, 1]")
    sample = (as_numpy_generator(generator).random(x.shape) < probs).astype(x.dtype)
    return Bernoulli.apply(sample, x)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,  # noqa: A002 - PyTorch's name
                generator: Any = None) -> Tensor:
    """Category indices (int64) drawn with probabilities proportional to ``input``'s rows (weights need not
    sum to 1). Without replacement each category comes at most once; zero-weight ones come last, as PyTorch."""
    x = _check_tensor(input, "multinomial")
    if x.dtype.kind != "f":
        raise TypeError(f"multinomial: expected floating-point weights, got dtype {x.dtype}")
    if x.ndim not in (1, 2):
        raise ValueError(f"multinomial: weights must be 1-D or 2-D (one row per distribution), got shape {x.shape}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    weights = np.atleast_2d(x._data).astype(np.float64)
    categories = weights.shape[1]
    if not replacement and num_samples > categories:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples from {categories} categories without "
                         "replacement")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("multinomial: weights must be finite and non-negative")
    totals = weights.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise ValueError("multinomial: each row of weights must have a positive sum")
    rng = as_numpy_generator(generator)
    if replacement:
        cdf = np.cumsum(weights, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((weights.shape[0], num_samples))
        drawn = np.stack([np.searchsorted(row, draws, side="right") for row, draws in zip(cdf, u)])
    else:
        # the largest of weight / Exp(1) keys: sampling without replacement in proportion to the weights
        keys = weights / rng.exponential(size=weights.shape)
        drawn = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    drawn = drawn.astype(np.int64)
    return Tensor._wrap(drawn if x.ndim == 2 else drawn[0])


# ---------------------------------------------------------------------------- Tensor.new_*: another tensor's dtype


def new_filled(like: Tensor, op: str, size: tuple[Any, ...], fill: Any, dtype: Any, device: Any,
               requires_grad: bool) -> Tensor:
    """``like.new_zeros(size)`` and kin: a new tensor of ``size`` in ``like``'s dtype (unless ``dtype``), filled
    with ``fill`` (None: left unset, ``new_empty``)."""
    shape, d = _shape(op, size), _dtype(op, dtype, like._data.dtype)
    array = np.empty(shape, d) if fill is None else np.full(shape, fill, d)
    return _make(array, requires_grad, device, op)


def legacy_type(name: str, dtype: Any) -> Any:
    """``torch.FloatTensor`` and kin, as old tutorials call them: ``LongTensor([1, 2])`` is the data in that dtype,
    ``FloatTensor(2, 3)`` a tensor of that shape (``torch.Tensor``'s legacy rules, ``legacy_array``)."""

    def make(*args: Any) -> Tensor:
        return Tensor._wrap(legacy_array(args, dtype, name))

    make.__name__ = make.__qualname__ = name
    return make


LEGACY_TYPES = {f"{kind}Tensor": legacy_type(f"{kind}Tensor", dtype) for kind, dtype in (
    ("Float", np.float32), ("Double", np.float64), ("Half", np.float16), ("Long", np.int64), ("Int", np.int32),
    ("Short", np.int16), ("Char", np.int8), ("Byte", np.uint8), ("Bool", np.bool_))}

