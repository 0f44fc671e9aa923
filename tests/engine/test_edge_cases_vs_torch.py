"""Edge cases where chainrule once differed from PyTorch (empty tensors, bool and integer inputs, degenerate
arguments, mixed indexing): each row runs the same code on torch and on chainrule and compares the result, or
checks that both raise and that chainrule's error is also its own ValueError/TypeError with the op's name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def _mean_of_empty(m):
    x = m.zeros(0, 3, requires_grad=True)
    y = x.mean()
    y.backward()
    return y, x.grad


def _d_zero_pow_x(m):
    x = m.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    (m.tensor(0.0) ** x).sum().backward()
    return x.grad


def _logsumexp_empty_grad(m):
    x = m.zeros(2, 0, requires_grad=True)
    x.logsumexp(dim=1).sum().backward()
    return x.grad


ROWS = [
    ("mean of empty, then backward", _mean_of_empty),
    ("mean over an empty axis", lambda m: m.zeros(0, 3).mean(dim=0)),
    ("softmax over an empty axis", lambda m: m.zeros(2, 0).softmax(dim=1)),
    ("log_softmax over an empty axis", lambda m: m.zeros(2, 0).log_softmax(dim=1)),
    ("logsumexp over an empty axis", lambda m: m.zeros(2, 0).logsumexp(dim=1)),
    ("logsumexp gradient, empty", _logsumexp_empty_grad),
    ("sum over an empty axis", lambda m: m.zeros(0, 3).sum(0)),
    ("sigmoid of bool", lambda m: m.tensor([True, False]).sigmoid()),
    ("exp of int8", lambda m: m.tensor([100, -3], dtype=m.int8).exp()),
    ("clip with min > max", lambda m: m.clip(m.tensor([1.0, 5.0]), 3, 0)),
    ("where with two numbers", lambda m: m.where(m.tensor([True, False]), 1.0, 3.0)),
    ("d(0**x)/dx", _d_zero_pow_x),
    ("int then index array", lambda m: m.arange(24).reshape(2, 3, 4)[1, :, m.tensor([0, 2])]),
    ("index array then int", lambda m: m.arange(24).reshape(2, 3, 4)[m.tensor([1, 0]), 2]),
    ("int, array, int", lambda m: m.arange(24).reshape(2, 3, 4)[0, m.tensor([2, 1]), 3]),
    # errors: both raise, chainrule with PyTorch's type
    ("integer to a negative power", lambda m: m.tensor([2, 3]) ** -1),
    ("negation of bool", lambda m: -m.tensor([True, False])),
    ("max of empty", lambda m: m.zeros(0).max()),
]


def _run(fn, lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy's and torch's warnings about empty means are not the point here
        return fn(lib)


@pytest.mark.parametrize(("name", "fn"), ROWS, ids=[r[0] for r in ROWS])
def test_edge_case_matches_torch(name, fn):
    try:
        expected = _run(fn, torch)
    except RuntimeError as error:
        with pytest.raises(type(error)) as caught:
            _run(fn, cr)
        assert isinstance(caught.value, ValueError | TypeError), f"{name}: {caught.value!r}"
        return
    got = _run(fn, cr)
    pairs = zip(got, expected) if isinstance(expected, tuple) else [(got, expected)]
    for ours, theirs in pairs:
        assert tuple(ours.shape) == tuple(theirs.shape), name
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), name
        np.testing.assert_allclose(np.asarray(ours.detach()), theirs.detach().numpy(), rtol=1e-6, err_msg=name)
