"""Dropout: drop each unit's activation with probability p for one gradient step."""

from __future__ import annotations

import warnings

from chainrule.engine.tensor import Tensor
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn._checks import flag
from chainrule.nn.module import Module


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p``, scale survivors by 1/(1-p).

    In eval mode, or with ``p=0``, it returns its input unchanged. ``p=1`` drops every unit
    (the output is zeros) and warns once per layer that the model cannot learn. ``inplace=True``
    overwrites the input and returns it, as in PyTorch.

    Raises:
        ValueError: ``p`` is not a number in [0, 1].

    >>> import chainrule as cr
    >>> layer = Dropout(0.5).eval()
    >>> x = cr.ones(3)
    >>> layer(x) is x
    True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = F.check_probability(p, "Dropout")
        self.inplace = flag(inplace, "inplace", "Dropout")
        self._warned = False

    def forward(self, x: Tensor) -> Tensor:
        p = self.p
        if not self.training or p == 0:
            return x
        if p == 1 and not self._warned:
            self._warned = True
            warnings.warn(F.ALL_DROPPED.format(where="Dropout"), UserWarning, stacklevel=3)
        if self.inplace:
            return F.in_place(x, lambda t: F.drop(t, p), "dropout_")
        return F.drop(x, p)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
