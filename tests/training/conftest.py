import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from chainrule.data import Dataset


@pytest.fixture(autouse=True)
def one_blas_thread():
    # Tiny matrices gain nothing from BLAS threads; on a loaded 2-core machine they lose 10x to contention.
    with threadpool_limits(1):
        yield


def blobs(n=120, features=4, classes=3, seed=0, spread=0.6):
    """Well-separated Gaussian blobs (fixed centers, samples drawn with ``seed``): learned in a few epochs."""
    centers = np.random.default_rng(1234).normal(scale=3.0, size=(classes, features))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = centers[y] + spread * rng.normal(size=(n, features))
    return Dataset(X.astype(np.float32), y, name="blobs")


@pytest.fixture
def train_val():
    return blobs(seed=0), blobs(n=60, seed=1)
