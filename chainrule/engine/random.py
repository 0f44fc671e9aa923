"""One seeded random generator for every random draw the library makes (init, dropout, shuffling)."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed every random draw chainrule makes, as ``torch.manual_seed``; returns the generator.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0); a = cr.randn(2)
    >>> _ = cr.manual_seed(0); b = cr.randn(2)
    >>> bool((a.data == b.data).all())
    True
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def get_generator() -> np.random.Generator:
    """The library's generator (reseeded by :func:`manual_seed`)."""
    return _generator
