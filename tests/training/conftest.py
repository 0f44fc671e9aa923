import pytest
from threadpoolctl import threadpool_limits

from .training_helpers import blobs


@pytest.fixture(autouse=True)
def one_blas_thread():
    # Tiny matrices gain nothing from BLAS threads; on a loaded 2-core machine they lose 10x to contention.
    with threadpool_limits(1):
        yield


@pytest.fixture
def train_val():
    return blobs(seed=0), blobs(n=60, seed=1)
