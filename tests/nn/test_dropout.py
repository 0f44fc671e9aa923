"""Dropout: the founding text's edge rates (0 is no dropout, 1 drops every unit), inverted scaling, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention


def test_rate_zero_returns_the_input_itself():
    x = cr.randn(5, 4, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.Dropout(0.0)(x) is x
        assert F.dropout(x, 0.0) is x


def test_eval_mode_is_the_identity():
    x = cr.randn(5, 4)
    layer = nn.Dropout(0.9)
    layer.eval()
    assert layer(x) is x
    assert F.dropout(x, 0.9, training=False) is x
    layer.train()
    assert layer(x) is not x


def test_rate_one_gives_zeros_and_warns_once():
    layer = nn.Dropout(1.0)
    x = cr.tensor(np.random.default_rng(0).standard_normal((8, 3)) * 1e30, dtype=cr.float32, requires_grad=True)
    with pytest.warns(UserWarning, match=r"Dropout: p=1.0 drops every unit.*cannot learn") as record:
        out = layer(x)
        out2 = layer(x)
    assert len(record) == 1
    for y in (out, out2):
        assert y.dtype == np.float32
        assert np.isfinite(y.data).all() and (y.data == 0).all()
    (out * 3).sum().backward()
    assert (x.grad == 0).all()


def test_functional_rate_one_warns_and_gives_zeros():
    with pytest.warns(UserWarning, match=r"dropout: p=1.0 drops every unit"):
        out = F.dropout(cr.ones(4), 1.0)
    assert (out.data == 0).all()


def test_mid_rate_drops_the_right_fraction_and_keeps_the_mean():
    cr.manual_seed(0)
    p = 0.3
    x = cr.ones(200, 500, requires_grad=True)
    out = nn.Dropout(p)(x)
    assert out.dtype == np.float32
    kept = out._data != 0
    n = kept.size
    assert abs(kept.mean() - (1 - p)) < 4 * np.sqrt(p * (1 - p) / n)  # within 4 standard errors
    np.testing.assert_allclose(out._data[kept], 1 / (1 - p), rtol=1e-6)  # survivors scaled: inverted dropout
    assert abs(out._data.mean() - 1.0) < 4 * np.sqrt(p / (1 - p) / n)
    out.backward(np.full(out.shape, 2.0, dtype=np.float32))
    np.testing.assert_array_equal(x.grad, 2.0 * out.data)  # backward is the same mask


def test_each_call_draws_a_new_mask_from_the_seeded_generator():
    layer = nn.Dropout(0.5)
    x = cr.ones(1000)
    cr.manual_seed(7)
    a, b = layer(x).data, layer(x).data
    cr.manual_seed(7)
    np.testing.assert_array_equal(layer(x).data, a)
    assert (a != b).any()


def test_float64_input_keeps_its_dtype():
    out = nn.Dropout(0.5)(cr.ones(10, dtype=np.float64))
    assert out.dtype == np.float64


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5", None, True])
def test_invalid_rate_is_a_value_error_quoting_it(p):
    with pytest.raises(ValueError, match=rf"Dropout: p must be a probability in \[0, 1\], got {p!r}"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=rf"dropout: p must be a probability in \[0, 1\], got {p!r}"):
        F.dropout(cr.ones(2), p)
