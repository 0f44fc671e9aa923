"""Losses against torch.nn: every reduction, float64 and float32, forward and backward; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_helpers import TOLERANCE, assert_close

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention

rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((6, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2, 3])
PRED = rng.standard_normal((6, 3))
REGRESSION_TARGET = rng.standard_normal((6, 3))
BINARY_TARGET = rng.integers(0, 2, (6, 3)).astype(float)

CASES = {
    "CrossEntropyLoss": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, LABELS, {}),
    "CrossEntropyLoss-smoothed": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, LABELS,
                                  {"label_smoothing": 0.2}),
    "MSELoss": (nn.MSELoss, torch.nn.MSELoss, PRED, REGRESSION_TARGET, {}),
    "L1Loss": (nn.L1Loss, torch.nn.L1Loss, PRED, REGRESSION_TARGET, {}),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, PRED * 4, BINARY_TARGET, {}),
    "BCEWithLogitsLoss-soft": (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, PRED, np.abs(np.tanh(PRED)), {}),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(CASES))
def test_loss_matches_torch(name, reduction, dtype):
    make, make_twin, x, target, kwargs = CASES[name]
    tol = TOLERANCE[dtype]
    x = x.astype(dtype)
    if target.dtype.kind == "f":
        target = target.astype(dtype)
    xc, xt = cr.tensor(x, dtype=dtype, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = make(reduction=reduction, **kwargs)(xc, target)
    tloss = make_twin(reduction=reduction, **kwargs)(xt, torch.from_numpy(target))
    assert loss.dtype == dtype
    assert_close(loss.data, tloss, tol, "forward")
    g = np.random.default_rng(1).standard_normal(loss.shape).astype(dtype)
    loss.backward(g)
    tloss.backward(torch.from_numpy(g))
    assert_close(xc.grad, xt.grad, tol, "gradient")


@pytest.mark.parametrize("convert", [cr.tensor, np.asarray, list], ids=["Tensor", "ndarray", "list"])
def test_targets_may_be_tensors_arrays_or_lists(convert):
    x = cr.tensor(LOGITS)
    expected = torch.nn.functional.cross_entropy(torch.tensor(LOGITS, dtype=torch.float32), torch.from_numpy(LABELS))
    assert_close(F.cross_entropy(x, convert(LABELS.tolist())).data, expected, 1e-5)
    target = REGRESSION_TARGET.astype(np.float32)
    expected = torch.nn.functional.mse_loss(torch.tensor(PRED, dtype=torch.float32), torch.from_numpy(target))
    assert_close(F.mse_loss(cr.tensor(PRED), convert(target.tolist())).data, expected, 1e-5)


def test_float64_targets_do_not_upcast_float32_losses():
    x = cr.tensor(PRED, dtype=cr.float32, requires_grad=True)
    for loss_fn in (F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits):
        loss = loss_fn(x, BINARY_TARGET)
        assert loss.dtype == np.float32
        loss.backward()
        assert x.grad.dtype == np.float32


def test_gradient_reaches_a_target_that_requires_grad():
    x, y = cr.tensor(PRED, requires_grad=True), cr.tensor(REGRESSION_TARGET, requires_grad=True)
    xt, yt = torch.tensor(PRED, dtype=torch.float32, requires_grad=True), torch.tensor(
        REGRESSION_TARGET, dtype=torch.float32, requires_grad=True)
    F.mse_loss(x, y).backward()
    torch.nn.functional.mse_loss(xt, yt).backward()
    assert_close(y.grad, yt.grad, 1e-5)


def test_bce_with_logits_is_stable_for_huge_logits():
    x = np.array([[-1000.0, -100.0, 0.0, 100.0, 1000.0]])
    y = np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])
    xc, xt = cr.tensor(x, dtype=np.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(xc, y, reduction="sum")
    tloss = torch.nn.functional.binary_cross_entropy_with_logits(xt, torch.from_numpy(y), reduction="sum")
    assert np.isfinite(loss.data)
    assert_close(loss.data, tloss, 1e-9)
    loss.backward()
    tloss.backward()
    assert_close(xc.grad, xt.grad, 1e-12)


def test_cross_entropy_uses_the_fused_op():
    loss = nn.CrossEntropyLoss()(cr.tensor(LOGITS, requires_grad=True), LABELS)
    assert type(loss.grad_fn).__name__ == "CrossEntropy"


BAD_CALLS = [
    (lambda: nn.MSELoss(reduction="avg"), ValueError,
     r"MSELoss: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    (lambda: nn.CrossEntropyLoss(reduction=None), ValueError,
     r"CrossEntropyLoss: reduction must be one of .* got None"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), ValueError,
     r"CrossEntropyLoss: label_smoothing must be in \[0.0, 1.0\], got 1.5"),
    (lambda: F.l1_loss(cr.zeros(2), cr.zeros(2), reduction="max"), ValueError, r"l1_loss: reduction .* got 'max'"),
    (lambda: F.cross_entropy(cr.zeros(2, 3), [0, 3]), ValueError,
     r"cross_entropy: class labels must be in \[0, 3\) for 3 classes, got label 3"),
    (lambda: F.cross_entropy(cr.zeros(2, 3), [-1, 0]), ValueError, r"must be in \[0, 3\) .* got label -1"),
    (lambda: F.cross_entropy(cr.zeros(2, 3), [0, 1, 2]), ValueError,
     r"cross_entropy: expected target of shape \(2,\), one label per row .* got shape \(3,\)"),
    (lambda: F.cross_entropy(cr.zeros(2, 3), np.array([0.0, 1.0])), TypeError,
     r"cross_entropy: target must hold integer class labels, got dtype float64; convert it with .astype\(int\)"),
    (lambda: F.cross_entropy(cr.zeros(3), [0]), ValueError,
     r"cross_entropy: expected logits of shape \(N, C\), got shape \(3,\)"),
    (lambda: F.cross_entropy(cr.zeros(2, 3), [0, 1], label_smoothing=-0.1), ValueError,
     r"cross_entropy: label_smoothing must be a number in \[0, 1\], got -0.1"),
    (lambda: F.mse_loss(cr.zeros(4, 1), np.zeros(4)), ValueError,
     r"mse_loss: input and target must have the same shape, got input \(4, 1\) and target \(4,\); reshape one"),
    (lambda: F.binary_cross_entropy_with_logits(cr.zeros(4), np.zeros(3)), ValueError,
     r"binary_cross_entropy_with_logits: input and target must have the same shape"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_loss_calls_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_mse_loss_uses_the_fused_op():
    loss = nn.MSELoss()(cr.tensor(PRED, requires_grad=True), REGRESSION_TARGET)
    assert type(loss.grad_fn).__name__ == "MSE"


@pytest.mark.parametrize("loss_fn", [F.mse_loss, F.l1_loss])
def test_float64_targets_keep_float64_precision(loss_fn):
    x, target = np.array([0.0, 1.0, 2.0]), [0.1, 0.7, 1.3]  # none of these is a float32 number
    loss = loss_fn(cr.tensor(x, dtype=np.float64), target, reduction="none")
    reference = (x - np.array(target)) ** 2 if loss_fn is F.mse_loss else np.abs(x - np.array(target))
    np.testing.assert_array_equal(loss.data, reference)
