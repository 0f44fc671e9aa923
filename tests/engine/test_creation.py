"""Tensor factories: PyTorch's names, shapes given either way, float32 by default, seeded randomness."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("factory, value", [(cr.zeros, 0.0), (cr.ones, 1.0)])
def test_zeros_and_ones_take_a_shape_either_way(factory: object, value: float) -> None:
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float32 and (t.data == value).all()
    assert factory(2, dtype=np.float64).dtype == np.float64
    assert factory(2, requires_grad=True).requires_grad


def test_full_like_and_arange() -> None:
    assert cr.full((2, 2), 7.0).tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert cr.full(3, 1.5).shape == (3,)
    x = cr.tensor([[1.0, 2.0]], dtype=np.float64)
    assert cr.zeros_like(x).dtype == np.float64 and cr.ones_like(x).shape == (1, 2)
    assert cr.arange(4).tolist() == [0, 1, 2, 3] and cr.arange(4).dtype == np.int64
    assert cr.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert cr.arange(6, step=2).tolist() == [0, 2, 4]
    assert cr.arange(3, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("value", [np.float64(2.5), np.float32(2.5), np.int32(3), np.int64(3), 2.5, 3, True])
def test_full_takes_a_numpy_scalar_as_the_python_number_it_holds(value: object) -> None:
    torch = pytest.importorskip("torch")
    expected = torch.full((2,), value).dtype  # np.float64 -> float32 (the default), np.int32 -> int64
    t = cr.full((2,), value)
    assert str(t.dtype) == str(expected).removeprefix("torch.")
    assert t.tolist() == torch.full((2,), value).tolist()


def test_random_factories_use_the_seeded_generator() -> None:
    cr.manual_seed(1)
    expected = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(cr.randn(2, 3).data, expected)
    r = cr.rand(1000)
    assert r.dtype == np.float32 and 0 <= r.data.min() and r.data.max() < 1


def test_split_of_a_0d_tensor_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"split: expected a tensor with at least 1 dimension, got a 0-d tensor"):
        cr.tensor(1.0).split(1)
