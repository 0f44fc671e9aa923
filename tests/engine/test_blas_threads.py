"""The small-product BLAS rule (chainrule.engine.backend): products below the measured size run on one BLAS thread
and the caller's thread count comes back after, as threadpoolctl reports it; results are NumPy's own product."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from chainrule.engine import backend


def numpy_blas_threads() -> list[int]:
    """threadpoolctl's view of the BLAS NumPy loaded (the reference, read apart from backend's controllers)."""
    return [info["num_threads"] for info in threadpool_info()
            if info["user_api"] == "blas" and "numpy" in info["filepath"]]


@pytest.fixture
def two_blas_threads():
    if not numpy_blas_threads():
        pytest.skip("threadpoolctl sees no BLAS in NumPy")
    with threadpool_limits(limits=2, user_api="blas"):
        yield


@pytest.mark.parametrize("macs, one_thread", [
    (backend.OPENBLAS_OWN_CUTOFF, False),  # OpenBLAS runs it on one thread by itself: no switching
    (backend.OPENBLAS_OWN_CUTOFF + 1, True),
    (backend.SMALL_PRODUCT_MACS, True),
    (backend.SMALL_PRODUCT_MACS + 1, False),  # large enough that the threads pay
])
def test_threads_inside_and_restored(two_blas_threads, macs, one_thread):
    guard = backend.blas_threads_for(macs)
    assert (guard is not None) == one_thread
    if guard is not None:
        with guard:
            inside = numpy_blas_threads()
        assert set(inside) == {1}
    assert set(numpy_blas_threads()) == {2}


def test_nested_blocks_restore_the_outer_count(two_blas_threads):
    with backend.one_blas_thread():
        with backend.one_blas_thread():
            assert set(numpy_blas_threads()) == {1}
        assert set(numpy_blas_threads()) == {1}  # the inner block found one thread and left it
    assert set(numpy_blas_threads()) == {2}


def test_a_users_limit_is_kept(two_blas_threads):
    with threadpool_limits(limits=1, user_api="blas"):
        backend.matmul_small(np.ones((300, 300), np.float32), np.ones((300, 300), np.float32))
        assert set(numpy_blas_threads()) == {1}
    assert set(numpy_blas_threads()) == {2}


@pytest.mark.parametrize("shape_a, shape_b", [
    ((6, 3000), (3000, 25)),  # a thin output: one thread
    ((3, 16, 150), (150, 640)),  # batched
    ((150, 640), (2, 640, 16)),  # the right side's batch broadcasts
    ((600, 600), (600, 600)),  # wide output: all threads
    ((5,), (5, 7)),  # a vector operand: NumPy's own path
])
def test_products_equal_numpy(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    np.testing.assert_allclose(backend.matmul_small(a, b), np.matmul(a, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape_a, shape_b, one_thread", [
    ((6, 50176), (50176, 25), True),  # LeNet's first-conv weight gradient: 150 outputs, two threads 0.92-1.00x
    ((16, 6400), (6400, 150), False),  # 2,400 outputs: two threads 1.54x
    ((128, 784), (784, 256), False),  # the MLP's first layer: 1.81x
    ((6, 10), (10, 25), False),  # below OpenBLAS's own cutoff: it keeps one thread by itself
])
def test_only_products_with_a_thin_output_switch_to_one_thread(monkeypatch, shape_a, shape_b, one_thread):
    entered = []

    class Spy(backend.one_blas_thread):
        def __enter__(self) -> None:
            entered.append(True)
            super().__enter__()

    monkeypatch.setattr(backend, "one_blas_thread", Spy)
    backend.matmul_small(np.ones(shape_a, np.float32), np.ones(shape_b, np.float32))
    assert bool(entered) is one_thread
