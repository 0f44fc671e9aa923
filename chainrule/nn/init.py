"""Weight initializers with PyTorch's names, signatures and formulas, filling tensors in place.

Each writes into the tensor's own array outside the graph (as torch's run under ``no_grad``), bumps its
version counter, and returns the tensor. Every draw comes from ``generator`` when given (a ``cr.Generator``),
else from the generator seeded by ``cr.manual_seed``, so runs repeat exactly.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import numbers
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from chainrule.engine.random import as_numpy_generator
from chainrule.engine.tensor import Tensor

__all__ = [
    "calculate_gain", "constant_", "eye_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_",
    "orthogonal_", "skipped", "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]

_LINEAR_GAIN = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale for weights followed by ``nonlinearity`` (PyTorch's table).

    Args:
        nonlinearity: 'linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu' (or a conv name).
        param: the negative slope for 'leaky_relu' (default 0.01).

    Raises:
        ValueError: unknown nonlinearity or a bad negative slope.

    >>> round(calculate_gain('relu'), 4)
    1.4142
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, numbers.Real):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{', '.join(map(repr, (*_LINEAR_GAIN, 'tanh', 'relu', 'leaky_relu', 'selu')))}"
    )


_SKIPPING = contextvars.ContextVar("skipping_init", default=False)
_Fill = TypeVar("_Fill", bound=Callable[..., Tensor])


@contextlib.contextmanager
def skipped() -> Iterator[None]:
    """Layers built inside leave their parameters as allocated (uninitialized), as ``torch.nn.utils.skip_init``.

    For loaders that overwrite every parameter anyway: no random draws (the global generator is left where it
    was) and no pages written that the loaded weights will replace.

    >>> import chainrule as cr
    >>> with skipped():
    ...     layer = cr.nn.Linear(2, 3)  # its weight holds whatever the allocation held
    >>> layer.weight.shape
    (3, 2)
    """
    token = _SKIPPING.set(True)
    try:
        yield
    finally:
        _SKIPPING.reset(token)


def _skippable(fill: _Fill) -> _Fill:
    @functools.wraps(fill)
    def fill_unless_skipped(tensor: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return tensor if _SKIPPING.get() else fill(tensor, *args, **kwargs)

    return fill_unless_skipped  # type: ignore[return-value]


def _check_tensor(tensor: Any, where: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor (e.g. layer.weight), got {type(tensor).__name__}")
    if tensor._data.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point tensor, got dtype {tensor._data.dtype}")
    return tensor


def _calculate_fan_in_and_fan_out(tensor: Tensor, where: str = "init") -> tuple[int, int]:
    """Fan in and fan out of a weight (out, in, *kernel), as PyTorch computes them."""
    if tensor.ndim < 2:
        raise ValueError(
            f"{where}: fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write ``values`` into the tensor's own array (no graph, as under no_grad) and bump its version."""
    tensor._data[...] = values
    tensor._bump_version()
    return tensor


@_skippable
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with draws from U(a, b).

    Raises:
        ValueError: ``a`` > ``b``.
    """
    _check_tensor(tensor, "uniform_")
    if a > b:
        raise ValueError(f"uniform_: expected a <= b, got a={a} and b={b}")
    return _fill(tensor, as_numpy_generator(generator).uniform(a, b, tensor.shape))


@_skippable
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with draws from N(mean, std²).

    Raises:
        ValueError: ``std`` < 0.
    """
    _check_tensor(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, as_numpy_generator(generator).normal(mean, std, tensor.shape))


@_skippable
def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """Fill with draws from N(mean, std²) truncated to [a, b] (torch's inverse-CDF method; bounds are absolute).

    Raises:
        ValueError: ``std`` < 0 or ``a`` > ``b``.
    """
    from scipy.special import erfinv

    _check_tensor(tensor, "trunc_normal_")
    if std < 0:
        raise ValueError(f"trunc_normal_: std must be non-negative, got {std}")
    if a > b:
        raise ValueError(f"trunc_normal_: expected a <= b, got a={a} and b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values "
                      "may be incorrect.", UserWarning, stacklevel=2)

    def norm_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    low, high = norm_cdf((a - mean) / std), norm_cdf((b - mean) / std)
    values = as_numpy_generator(generator).uniform(2 * low - 1, 2 * high - 1, tensor.shape)
    values = erfinv(values) * (std * math.sqrt(2.0)) + mean
    return _fill(tensor, np.clip(values, a, b))


@_skippable
def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    >>> import chainrule as cr
    >>> constant_(cr.zeros(2), 3.0).tolist()
    [3.0, 3.0]
    """
    return _fill(_check_tensor(tensor, "constant_"), val)


@_skippable
def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(_check_tensor(tensor, "zeros_"), 0)


@_skippable
def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(_check_tensor(tensor, "ones_"), 1)


@_skippable
def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity matrix (ones on the diagonal of a non-square one too).

    Raises:
        ValueError: the tensor is not 2-dimensional.
    """
    _check_tensor(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    rows, cols = tensor.shape
    return _fill(tensor, np.eye(rows, cols))


@_skippable
def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix scaled by ``gain``: torch's QR of a N(0, 1) draw, with the signs
    fixed by R's diagonal; dimensions after the first are flattened.

    Raises:
        ValueError: a tensor with fewer than 2 dimensions.
    """
    _check_tensor(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
                         f"{tensor.shape}")
    if tensor._data.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor._data.size // rows
    flat = as_numpy_generator(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(tensor.shape))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str, where: str) -> float | None:
    _check_tensor(tensor, where)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, where)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = calculate_gain(nonlinearity, a)
    if 0 in tensor.shape:
        return None  # torch: "Initializing zero-element tensors is a no-op"
    return gain / math.sqrt(fan)


def _no_op(tensor: Tensor) -> Tensor:
    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
    return tensor


@_skippable
def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator: Any = None
) -> Tensor:
    """He initialization: U(-b, b) with b = gain·sqrt(3 / fan), keeping activations' variance steady.

    Args:
        tensor: a weight with at least 2 dimensions.
        a: negative slope of the leaky ReLU that follows (used with 'leaky_relu').
        mode: 'fan_in' preserves the forward pass's variance, 'fan_out' the backward pass's.
        nonlinearity: name for :func:`calculate_gain` ('relu' or 'leaky_relu' recommended).

    Raises:
        ValueError: bad mode, nonlinearity, or a tensor with fewer than 2 dimensions.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    if std is None:
        return _no_op(tensor)
    bound = math.sqrt(3.0) * std
    return _fill(tensor, as_numpy_generator(generator).uniform(-bound, bound, tensor.shape))


@_skippable
def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator: Any = None
) -> Tensor:
    """He initialization: N(0, std²) with std = gain / sqrt(fan). Arguments as :func:`kaiming_uniform_`.

    Raises:
        ValueError: bad mode, nonlinearity, or a tensor with fewer than 2 dimensions.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    if std is None:
        return _no_op(tensor)
    return _fill(tensor, as_numpy_generator(generator).normal(0.0, std, tensor.shape))


def _xavier_std(tensor: Tensor, gain: float, where: str) -> float:
    _check_tensor(tensor, where)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, where)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


@_skippable
def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot initialization: U(-b, b) with b = gain·sqrt(6 / (fan_in + fan_out)).

    Raises:
        ValueError: a tensor with fewer than 2 dimensions.
    """
    bound = math.sqrt(3.0) * _xavier_std(tensor, gain, "xavier_uniform_")
    return _fill(tensor, as_numpy_generator(generator).uniform(-bound, bound, tensor.shape))


@_skippable
def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot initialization: N(0, std²) with std = gain·sqrt(2 / (fan_in + fan_out)).

    Raises:
        ValueError: a tensor with fewer than 2 dimensions.
    """
    std = _xavier_std(tensor, gain, "xavier_normal_")
    return _fill(tensor, as_numpy_generator(generator).normal(0.0, std, tensor.shape))
