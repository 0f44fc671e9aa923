"""The digits data set, loaded once for the doctor's tests (tests/conftest.py already keeps BLAS to one thread)."""

from __future__ import annotations

import pytest

from chainrule.data import load_dataset


@pytest.fixture(scope="session")
def digits():
    """scikit-learn digits, standardized, 70/15/15 split (seed 0)."""
    return load_dataset("digits")
