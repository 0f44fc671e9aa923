"""Shared data for the training tests (a unique module name: test folders are not packages)."""

import numpy as np

from chainrule.data import Dataset


def blobs(n=120, features=4, classes=3, seed=0, spread=0.6):
    """Well-separated Gaussian blobs (fixed centers, samples drawn with ``seed``): learned in a few epochs."""
    centers = np.random.default_rng(1234).normal(scale=3.0, size=(classes, features))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = centers[y] + spread * rng.normal(size=(n, features))
    return Dataset(X.astype(np.float32), y, name="blobs")
