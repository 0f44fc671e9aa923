"""Linear (fully connected) layer and Identity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.engine import ops
from chainrule.engine.backend import DEFAULT_DTYPE, DtypeError
from chainrule.engine.tensor import Tensor
from chainrule.nn import init
from chainrule.nn._checks import flag, positive_int
from chainrule.nn.module import Module, Parameter


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as PyTorch).

    >>> import chainrule as cr
    >>> x = cr.ones(2)
    >>> Identity()(x) is x
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features), as ``torch.nn.Linear``.

    Args:
        in_features: size of each input sample's last dimension.
        out_features: size of each output sample's last dimension.
        bias: learn an additive bias (default True).
        dtype: parameter dtype (float32 by default).

    Raises:
        ValueError: a size is not a positive int.

    >>> import chainrule as cr
    >>> Linear(4, 3)(cr.ones(2, 4)).shape
    (2, 3)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        dtype = np.dtype(dtype or DEFAULT_DTYPE)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if flag(bias, "bias", "Linear"):
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=√5) for weight, U(±1/√fan_in) for bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        try:
            shape = x._data.shape  # not the shape property: one Python call less on every layer's forward
        except AttributeError:  # an array, which the op takes as a constant
            shape = np.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear(in_features={self.in_features}): expected input with {self.in_features} features in its "
                f"last dimension, got shape {tuple(shape)}"
            )
        # the shape is checked above, with the layer's name: go to the op directly instead of F.linear. The op
        # checks the dtypes (at no cost when they agree); its error is reworded here with the layer's name.
        try:
            if self.bias is None:
                return ops.Linear.apply(x, self.weight)
            return ops.Linear.apply(x, self.weight, self.bias)
        except DtypeError:
            raise DtypeError(
                f"Linear(in_features={self.in_features}): input has dtype {x._data.dtype} but the layer's weight has "
                f"dtype {self.weight._data.dtype}; they must match (as in PyTorch): convert the input "
                f"(x.to(cr.{self.weight._data.dtype})) or the model (model.to(cr.{x._data.dtype}))"
            ) from None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
