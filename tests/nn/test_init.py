"""Initializers: PyTorch's formulas for gain, fan, std and bounds, checked statistically with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import init

SHAPE = (300, 200)  # fan_out = 300, fan_in = 200


@pytest.mark.parametrize(
    "nonlinearity, param",
    [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
     ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


def _std_and_bound(fn, **kwargs):
    cr.manual_seed(0)
    w = cr.zeros(*SHAPE)
    assert fn(w, **kwargs) is w
    return w._data


# (initializer, kwargs, expected std, uniform bound or None)
CASES = [
    (init.kaiming_uniform_, {}, math.sqrt(2 / 200), True),  # a=0: the ReLU gain
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(3 * 200), True),
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 300), True),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / 200), False),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "tanh"}, 5 / 3 / math.sqrt(300), False),
    (init.xavier_uniform_, {}, math.sqrt(2 / 500), True),
    (init.xavier_uniform_, {"gain": 2.0}, 2 * math.sqrt(2 / 500), True),
    (init.xavier_normal_, {}, math.sqrt(2 / 500), False),
    (init.normal_, {"mean": 1.0, "std": 0.5}, 0.5, False),
    (init.uniform_, {"a": -2.0, "b": 2.0}, 4 / math.sqrt(12), True),
]


@pytest.mark.parametrize("fn, kwargs, std, uniform", CASES, ids=[f"{c[0].__name__}{c[1]}" for c in CASES])
def test_initializer_statistics(fn, kwargs, std, uniform):
    w = _std_and_bound(fn, **kwargs)
    n = w.size
    assert w.dtype == np.float32
    assert abs(w.std() - std) < 0.02 * std  # relative error of a std estimate from 60000 draws is ~0.3%
    assert abs(w.mean() - kwargs.get("mean", 0.0)) < 5 * std / math.sqrt(n)
    if uniform:
        bound = math.sqrt(3) * std
        assert np.abs(w - kwargs.get("mean", 0.0)).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.99 * bound
    # The same distribution as torch's (checked on its std, since the random streams differ)
    t = torch.zeros(*SHAPE)
    torch.manual_seed(0)
    getattr(torch.nn.init, fn.__name__)(t, **kwargs)
    assert abs(w.std() - t.std().item()) < 0.02 * std


def test_constant_zeros_ones():
    w = cr.randn(3, 2)
    assert (init.zeros_(w).data == 0).all()
    assert (init.ones_(w).data == 1).all()
    assert (init.constant_(w, -2.5).data == -2.5).all()


def test_initializers_are_in_place_and_seeded():
    w = cr.zeros(4, 4, requires_grad=True)
    data = w._data
    cr.manual_seed(5)
    init.kaiming_normal_(w)
    first = w.data.clone()
    assert w._data is data
    cr.manual_seed(5)
    init.kaiming_normal_(w)
    np.testing.assert_array_equal(w.data, first)


def test_float64_parameters_stay_float64():
    w = cr.zeros(3, 3, dtype=np.float64)
    init.xavier_normal_(w)
    assert w.dtype == np.float64 and w.data.std() > 0


BAD = [
    (lambda: init.calculate_gain("swish"), ValueError, r"calculate_gain: unsupported nonlinearity 'swish'"),
    (lambda: init.calculate_gain("leaky_relu", "x"), ValueError,
     r"calculate_gain: negative_slope 'x' is not a valid number"),
    (lambda: init.kaiming_uniform_(cr.zeros(5)), ValueError,
     r"kaiming_uniform_: fan in and fan out need a tensor with at least 2 dimensions, got shape \(5,\)"),
    (lambda: init.kaiming_normal_(cr.zeros(2, 2), mode="fan"), ValueError,
     r"kaiming_normal_: mode must be 'fan_in' or 'fan_out', got 'fan'"),
    (lambda: init.xavier_uniform_(cr.zeros(3)), ValueError, r"xavier_uniform_: fan in and fan out need"),
    (lambda: init.normal_(cr.zeros(2), std=-1.0), ValueError, r"normal_: std must be non-negative, got -1.0"),
    (lambda: init.uniform_(cr.zeros(2), a=1.0, b=0.0), ValueError, r"uniform_: expected a <= b, got a=1.0 and b=0.0"),
    (lambda: init.zeros_(np.zeros(2)), TypeError, r"zeros_: expected a Tensor \(e.g. layer.weight\), got ndarray"),
    (lambda: init.ones_(cr.tensor([1, 2])), TypeError, r"ones_: expected a floating-point tensor, got dtype int64"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
