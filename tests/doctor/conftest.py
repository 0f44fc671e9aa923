"""The digits data set, loaded once for the doctor's tests, and BLAS kept to one thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits

from chainrule.data import load_dataset


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Digits-sized matmuls are far faster on one thread; two BLAS threads per pytest worker on a
    2-core machine spin against each other (a 32x64 @ 64x256 product went from 0.1 ms to 7 ms)."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def digits():
    """scikit-learn digits, standardized, 70/15/15 split (seed 0)."""
    return load_dataset("digits")
