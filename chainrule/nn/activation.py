"""Activation layers: each holds its settings and calls its functional form."""

from __future__ import annotations

from chainrule.engine.tensor import Tensor
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn._checks import flag, integer, real
from chainrule.nn.module import Module


class ReLU(Module):
    """max(x, 0). ``inplace`` is accepted for PyTorch compatibility; chainrule never overwrites inputs.

    >>> import chainrule as cr
    >>> ReLU()(cr.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(inplace, "inplace", "ReLU")

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)

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
        return F.leaky_relu(x, self.negative_slope)

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
    """exp(x) / sum(exp(x)) along ``dim`` (default the last).

    Raises:
        TypeError: ``dim`` is not an int.
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = integer(dim, "dim", "Softmax")

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim`` (default the last), computed stably.

    Raises:
        TypeError: ``dim`` is not an int.
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = integer(dim, "dim", "LogSoftmax")

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
