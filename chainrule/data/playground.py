"""The four TensorFlow Playground classification sets, after playground/src/dataset.ts.

Each generator follows the Playground's formulas with ``noise`` as a fraction (the UI's 0-50 %
divided by 100). Labels are 1 for the Playground's +1 class and 0 for its -1 class.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chainrule.data.dataset import Dataset
from chainrule.engine.random import get_generator


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    n_in = n // 2
    # Positive points fill the inner disc (r < 2.5), negatives the ring 3.5 < r < 5.
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n - n_in)])
    angle = rng.uniform(0, 2 * np.pi, n)
    points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    # The label comes from the noisy point while the clean point is kept, as in the Playground.
    noisy = points + rng.uniform(-radius, radius, (n, 2)) * noise
    labels = np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5
    return points, labels


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    padding = 0.3
    points = rng.uniform(-5, 5, (n, 2))
    points += np.where(points > 0, padding, -padding)  # keep points off the axes
    noisy = points + rng.uniform(-5, 5, (n, 2)) * noise
    labels = noisy[:, 0] * noisy[:, 1] >= 0
    return points, labels


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + noise * (4 - 0.5) / 0.5  # d3 linear scale: noise 0..0.5 -> variance 0.5..4
    n_pos = n // 2
    centers = np.where(np.arange(n)[:, None] < n_pos, 2.0, -2.0)
    points = centers + np.sqrt(variance) * rng.standard_normal((n, 2))
    labels = np.arange(n) < n_pos
    return points, labels


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    for delta_t, size in ((0.0, n // 2), (np.pi, n - n // 2)):
        i = np.arange(size)
        r = i / size * 5
        t = 1.75 * i / size * 2 * np.pi + delta_t
        parts.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + rng.uniform(-1, 1, (size, 2)) * noise)
    labels = np.arange(n) < n // 2
    return np.concatenate(parts), labels


GENERATORS: dict[str, Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
}


def make_playground(name: str, n_samples: int = 500, noise: float = 0, seed: int | None = 0) -> Dataset:
    """Generate one TensorFlow Playground set: 2 features (x1, x2), labels 0/1.

    Args:
        name: ``"circle"``, ``"xor"``, ``"gauss"`` or ``"spiral"``.
        n_samples: number of points (the Playground uses 500), at least 2.
        noise: 0-50, in percent, as the Playground's noise slider.
        seed: seed of the points (None: draw from ``cr.manual_seed``'s generator).

    Raises:
        ValueError: an unknown name, noise outside 0-50, or fewer than 2 samples.

    >>> ds = make_playground("xor", n_samples=100, noise=10, seed=1)
    >>> ds.X.shape, ds.num_classes
    ((100, 2), 2)
    """
    if name not in GENERATORS:
        raise ValueError(f"make_playground: expected one of {sorted(GENERATORS)}, got {name!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 2:
        raise ValueError(f"{name}: n_samples must be an int >= 2, got {n_samples!r}")
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise <= 50:
        raise ValueError(f"{name}: noise is a percentage in 0..50 (as the Playground slider), got {noise!r}")
    rng = np.random.default_rng(seed) if seed is not None else get_generator()
    points, labels = GENERATORS[name](int(n_samples), noise / 100, rng)
    return Dataset(points, labels.astype(np.int64), name=name, feature_names=["x1", "x2"], num_classes=2)
