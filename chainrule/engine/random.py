"""One seeded random generator for every random draw the library makes (init, dropout, shuffling)."""

from __future__ import annotations

from typing import cast

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


class Generator:
    """A random-number generator of its own, as ``torch.Generator`` (``DataLoader(generator=...)``, ``randn(...,
    generator=g)``); seeded with ``manual_seed``. It runs on the CPU only."""

    def __init__(self, device: object = "cpu") -> None:
        from chainrule.engine.tensor import check_device

        check_device(device, "Generator")
        self._seed = 67280421310721  # PyTorch's default seed for a new Generator
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise TypeError(f"Generator.manual_seed: seed must be an int, got {seed!r}")
        self._seed = int(seed) % 2**64  # PyTorch takes negative seeds modulo 2**64 too
        self._rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        """Reseed from fresh entropy, as ``torch.Generator.seed``; returns the new seed."""
        entropy = np.random.SeedSequence().entropy  # an int when drawn fresh (typed as any entropy a caller may pass)
        return self.manual_seed(int(cast(int, entropy) % 2**63)).initial_seed()

    @property
    def device(self) -> str:
        return "cpu"


def as_numpy_generator(generator: Generator | np.random.Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (chainrule's own, seeded by ``manual_seed``, when None)."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator: expected a cr.Generator, got {type(generator).__name__}")
