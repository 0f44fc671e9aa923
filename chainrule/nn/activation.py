"""Activation layers: each holds its settings and calls its functional form."""

from __future__ import annotations

import warnings

from chainrule.engine import ops
from chainrule.engine.tensor import Tensor
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn._checks import flag, integer, real
from chainrule.nn.module import Module


class ReLU(Module):
    """max(x, 0). ``inplace=True`` overwrites the input and returns it, as in PyTorch (a copy more here).

    >>> import chainrule as cr
    >>> ReLU()(cr.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(inplace, "inplace", "ReLU")

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return F.relu(x, inplace=True)
        return ops.ReLU.apply(x)  # F.relu's one line, without its call: ReLU sits between most layers

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """max(x, 0) + negative_slope·min(x, 0): keeps a small gradient for negative inputs.

    Raises:
        ValueError: ``negative_slope`` is not a real number.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = real(negative_slope, "negative_slope", "LeakyReLU")
        self.inplace = flag(inplace, "inplace", "LeakyReLU")

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """The hyperbolic tangent."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class GELU(Module):
    """x·Φ(x), the Gaussian error linear unit; ``approximate='tanh'`` for the tanh approximation.

    Raises:
        ValueError: ``approximate`` is not 'none' or 'tanh'.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``dim``; ``dim=None`` makes torch's implicit choice (with its warning).

    Raises:
        TypeError: ``dim`` is not an int or None.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = None if dim is None else integer(dim, "dim", "Softmax")

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably; ``dim=None`` as in :class:`Softmax`.

    Raises:
        TypeError: ``dim`` is not an int or None.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = None if dim is None else integer(dim, "dim", "LogSoftmax")

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Inplace(Module):
    """An activation whose only setting is torch's ``inplace`` (True: the input is overwritten and returned)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(inplace, "inplace", type(self).__name__)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class SiLU(_Inplace):
    """x·sigmoid(x), the swish.

    >>> import chainrule as cr
    >>> round(SiLU()(cr.tensor([1.0])).item(), 4)
    0.7311
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x, self.inplace)


class Mish(_Inplace):
    """x·tanh(softplus(x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.mish(x, self.inplace)


class ELU(Module):
    """x for x > 0, else alpha·(exp(x) - 1).

    Raises:
        ValueError: ``alpha`` is not a real number.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = real(alpha, "alpha", "ELU")
        self.inplace = flag(inplace, "inplace", "ELU")

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """log(1 + exp(beta·x)) / beta, reverting to x where beta·x > threshold.

    Raises:
        ValueError: ``beta`` or ``threshold`` is not a real number.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = real(beta, "beta", "Softplus")
        self.threshold = real(threshold, "threshold", "Softplus")

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val] (gradient 0 at the bounds, as torch).

    Raises:
        ValueError: a bound is not a real number, or ``max_val`` <= ``min_val``.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and rename to `min_val`", FutureWarning,
                          stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and rename to `max_val`", FutureWarning,
                          stacklevel=2)
            max_val = max_value
        self.min_val = real(min_val, "min_val", name)
        self.max_val = real(max_val, "max_val", name)
        self.inplace = flag(inplace, "inplace", name)
        if not self.max_val > self.min_val:
            raise ValueError(f"{name}: max_val ({max_val}) must be greater than min_val ({min_val})")

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """min(max(x, 0), 6): ``Hardtanh(0, 6)``, as torch."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softsign(x)


class Tanhshrink(Module):
    """x - tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanhshrink(x)


class LogSigmoid(Module):
    """log(sigmoid(x)), without overflow."""

    def forward(self, x: Tensor) -> Tensor:
        return F.logsigmoid(x)
