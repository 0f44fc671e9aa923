"""Gradient clipping against torch.nn.utils."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import clip_grad_norm_, clip_grad_value_


def _twins(scale):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) * scale for s in [(4, 3), (3,), (2, 4)]]
    ours = [cr.tensor(np.zeros_like(g), dtype=np.float64, requires_grad=True) for g in grads]
    theirs = [torch.zeros(*g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = cr.from_numpy(g.copy()), torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    ours, theirs = _twins(scale=2.0)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, cr.Tensor) and total.shape == () and str(total.dtype) == str(expected.dtype)[6:]
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_in_place_skips_missing_grads_and_takes_a_module():
    model = nn.Linear(3, 2)
    model.weight.grad = cr.full((2, 3), 10.0)
    grad = model.weight._grad
    total = clip_grad_norm_(model.parameters(), 1.0)  # bias has no grad
    assert total == pytest.approx(np.sqrt(600))
    assert model.weight._grad is grad
    assert np.linalg.norm(grad) == pytest.approx(1.0, rel=1e-5)
    assert clip_grad_norm_(nn.Linear(2, 2).parameters(), 1.0) == 0.0


def test_clip_grad_value_matches_torch():
    ours, theirs = _twins(scale=3.0)
    clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())


def test_single_tensor_is_accepted():
    ours, theirs = _twins(scale=3.0)
    total = clip_grad_norm_(ours[0], 1.0)
    assert total == pytest.approx(torch.nn.utils.clip_grad_norm_(theirs[0], 1.0).item())


BAD = [
    (lambda: clip_grad_norm_([], -1.0), r"clip_grad_norm_: max_norm must be a non-negative number, got -1.0"),
    (lambda: clip_grad_norm_([], 1.0, norm_type=0), r"clip_grad_norm_: norm_type must be a positive number or inf"),
    (lambda: clip_grad_value_([], float("nan")),
     r"clip_grad_value_: clip_value must be a non-negative number, got nan"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_non_tensors_are_a_type_error():
    with pytest.raises(TypeError, match=r"clip_grad_norm_: expected a Tensor or an iterable of Tensors .* got int"):
        clip_grad_norm_(3, 1.0)
    with pytest.raises(TypeError, match=r"clip_grad_value_: expected Tensors, got a ndarray among the parameters"):
        clip_grad_value_([np.zeros(2)], 1.0)
