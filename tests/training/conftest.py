import pytest

from .training_helpers import blobs


@pytest.fixture
def train_val():
    return blobs(seed=0), blobs(n=60, seed=1)
