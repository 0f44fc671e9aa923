"""Flatten (merge a range of dimensions into one) and Unflatten (split one dimension into several)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from chainrule.engine.backend import ShapeError
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
            raise ShapeError(
                f"Flatten: start_dim={self.start_dim} comes after end_dim={self.end_dim} for input of shape {shape}"
            )
        return x.reshape(*shape[:start], -1, *shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``, as ``torch.nn.Unflatten`` (one size may be -1).

    Raises:
        TypeError: ``dim`` is not an int or ``unflattened_size`` is not a sequence of ints.
        ValueError: the sizes don't multiply to the input's size along ``dim``.

    >>> import chainrule as cr
    >>> Unflatten(1, (3, 4))(cr.zeros(2, 12)).shape
    (2, 3, 4)
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = integer(dim, "dim", "Unflatten")
        if not isinstance(unflattened_size, list | tuple):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple or list of ints, got "
                            f"{type(unflattened_size).__name__} {unflattened_size!r}")
        sizes = [integer(n, "unflattened_size entries", "Unflatten") for n in unflattened_size]
        # torch keeps (and shows) a list as a list
        self.unflattened_size: list[int] | tuple[int, ...] = (
            sizes if isinstance(unflattened_size, list) else tuple(sizes))

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        d = normalize_axis(self.dim, len(shape), "Unflatten")
        sizes = tuple(self.unflattened_size)
        known = math.prod(n for n in sizes if n != -1)
        fits = (known == shape[d]) if -1 not in sizes else (known > 0 and shape[d] % known == 0)
        if sizes.count(-1) > 1 or not fits:
            raise ValueError(f"Unflatten: unflattened_size {sizes} does not fit dimension {self.dim} of size "
                             f"{shape[d]} of the input of shape {shape}: the sizes must multiply to {shape[d]}")
        return x.reshape(*shape[:d], *sizes, *shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
