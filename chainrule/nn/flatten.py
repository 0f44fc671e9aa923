"""Flatten: merge a range of dimensions into one."""

from __future__ import annotations

from chainrule.engine.ops import normalize_axis
from chainrule.engine.tensor import Tensor
from chainrule.nn._checks import integer
from chainrule.nn.module import Module


class Flatten(Module):
    """Merge dimensions ``start_dim`` to ``end_dim`` (inclusive) into one, as ``torch.nn.Flatten``.

    Raises:
        TypeError: a dim is not an int.

    >>> import chainrule as cr
    >>> Flatten()(cr.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = integer(start_dim, "start_dim", "Flatten")
        self.end_dim = integer(end_dim, "end_dim", "Flatten")

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        start = normalize_axis(self.start_dim, len(shape), "Flatten")
        end = normalize_axis(self.end_dim, len(shape), "Flatten")
        if start > end:
            raise ValueError(
                f"Flatten: start_dim={self.start_dim} comes after end_dim={self.end_dim} for input of shape {shape}"
            )
        return x.reshape(*shape[:start], -1, *shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
