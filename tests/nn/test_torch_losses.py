"""Losses with torch's arguments against torch: weights, ignore_index, label smoothing, probability targets,
K-dimensional and unbatched input, NLL, BCE, SmoothL1, Huber; every reduction, float64 and float32."""

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
LABELS = np.array([0, 3, 1, -100, 2, 3])  # one ignored row
LABELS_ALL = np.array([0, 3, 1, 1, 2, 3])
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
PROBS = rng.dirichlet(np.ones(4), size=6)
LOGITS_3D = rng.standard_normal((3, 4, 5))
LABELS_3D = rng.integers(0, 4, (3, 5))
LABELS_3D[0, 1] = 2
PRED = rng.standard_normal((6, 3))
TARGET = rng.standard_normal((6, 3))
PROB_PRED = np.clip(rng.uniform(size=(6, 3)), 0, 1)
PROB_PRED[0, :3] = [0.0, 1.0, 1e-30]  # the clamped logs and torch's gradient epsilon
BINARY = rng.integers(0, 2, (6, 3)).astype(float)
BINARY[0, :3] = [1.0, 0.0, 1.0]
SOFT = rng.uniform(size=(6, 3))
ELEMENT_WEIGHT = rng.uniform(0.5, 2.0, (6, 3))
POS_WEIGHT = np.array([1.0, 3.0, 0.25])

# name: (ours, theirs, input, target, constructor kwargs: numpy arrays become tensors of the input's dtype)
CASES = {
    "CE-weight": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, LABELS_ALL, {"weight": CLASS_WEIGHT}),
    "CE-ignore": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, LABELS, {}),
    "CE-ignore-3": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, LABELS_ALL, {"ignore_index": 3}),
    "CE-weight-ignore-smooth": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, LABELS,
                                {"weight": CLASS_WEIGHT, "label_smoothing": 0.2}),
    "CE-ignore-smooth": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, LABELS, {"label_smoothing": 0.1}),
    "CE-probs": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, PROBS, {}),
    "CE-probs-weight-smooth": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS, PROBS,
                               {"weight": CLASS_WEIGHT, "label_smoothing": 0.3}),
    "CE-3d": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS_3D, LABELS_3D,
              {"weight": CLASS_WEIGHT, "ignore_index": 2, "label_smoothing": 0.1}),
    "CE-3d-plain": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS_3D, LABELS_3D, {}),
    "CE-unbatched": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, LOGITS[0], np.array(2), {"weight": CLASS_WEIGHT}),
    "NLL": (nn.NLLLoss, torch.nn.NLLLoss, LOGITS, LABELS_ALL, {}),
    "NLL-weight-ignore": (nn.NLLLoss, torch.nn.NLLLoss, LOGITS, LABELS, {"weight": CLASS_WEIGHT}),
    "NLL-3d": (nn.NLLLoss, torch.nn.NLLLoss, LOGITS_3D, LABELS_3D, {"weight": CLASS_WEIGHT, "ignore_index": 0}),
    "BCE": (nn.BCELoss, torch.nn.BCELoss, PROB_PRED, BINARY, {}),
    "BCE-soft-weight": (nn.BCELoss, torch.nn.BCELoss, PROB_PRED, SOFT, {"weight": ELEMENT_WEIGHT}),
    "BCEWithLogits-pos_weight": (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, PRED * 4, BINARY,
                                 {"pos_weight": POS_WEIGHT}),
    "BCEWithLogits-both": (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, PRED, SOFT,
                           {"pos_weight": POS_WEIGHT, "weight": ELEMENT_WEIGHT[0]}),
    "SmoothL1": (nn.SmoothL1Loss, torch.nn.SmoothL1Loss, PRED, TARGET, {}),
    "SmoothL1-beta": (nn.SmoothL1Loss, torch.nn.SmoothL1Loss, PRED, TARGET, {"beta": 0.3}),
    "SmoothL1-beta0": (nn.SmoothL1Loss, torch.nn.SmoothL1Loss, PRED, TARGET, {"beta": 0.0}),
    "Huber": (nn.HuberLoss, torch.nn.HuberLoss, PRED * 2, TARGET, {}),
    "Huber-delta": (nn.HuberLoss, torch.nn.HuberLoss, PRED * 2, TARGET, {"delta": 0.4}),
}


def convert(kwargs, dtype, lib):
    return {k: (lib(v.astype(dtype)) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(CASES))
def test_loss_matches_torch(name, reduction, dtype):
    make, make_twin, x, target, kwargs = CASES[name]
    tol = TOLERANCE[dtype]
    x = x.astype(dtype)
    if target.dtype.kind == "f":
        target = target.astype(dtype)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = make(reduction=reduction, **convert(kwargs, dtype, cr.tensor))(xc, cr.tensor(target))
    tloss = make_twin(reduction=reduction, **convert(kwargs, dtype, torch.tensor))(xt, torch.from_numpy(target))
    assert loss.dtype == dtype and loss.shape == tuple(tloss.shape)
    assert_close(loss.data, tloss, tol, "forward")
    g = np.random.default_rng(1).standard_normal(loss.shape).astype(dtype)
    loss.backward(g)
    tloss.backward(torch.from_numpy(g))
    assert_close(xc.grad, xt.grad, tol, "gradient")


@pytest.mark.parametrize("fn, twin, x, y", [
    (lambda x, y, w: F.mse_loss(x, y, weight=w), lambda x, y, w: torch.nn.functional.mse_loss(x, y, weight=w),
     PRED, TARGET),
    (lambda x, y, w: F.l1_loss(x, y, weight=w), lambda x, y, w: torch.nn.functional.l1_loss(x, y, weight=w),
     PRED, TARGET),
    (lambda x, y, w: F.huber_loss(x, y, delta=0.5, weight=w),
     lambda x, y, w: torch.nn.functional.huber_loss(x, y, delta=0.5, weight=w), PRED, TARGET),
    (lambda x, y, w: F.binary_cross_entropy(x, y, w),
     lambda x, y, w: torch.nn.functional.binary_cross_entropy(x, y, w), PROB_PRED, SOFT),
])
def test_elementwise_weighted_losses_match_torch(fn, twin, x, y):
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = fn(xc, cr.tensor(y), cr.tensor(ELEMENT_WEIGHT))
    tloss = twin(xt, torch.tensor(y), torch.tensor(ELEMENT_WEIGHT))
    assert_close(loss.data, tloss, 1e-10, "forward")
    loss.backward()
    tloss.backward()
    assert_close(xc.grad, xt.grad, 1e-10, "gradient")


def test_target_gradients_reach_probability_targets():
    tf = torch.nn.functional
    for ours, theirs, x, t in [(F.cross_entropy, tf.cross_entropy, LOGITS, PROBS),
                               (F.binary_cross_entropy, tf.binary_cross_entropy, PROB_PRED[1:], SOFT[1:])]:
        tc, tt = cr.tensor(t, requires_grad=True), torch.tensor(t, requires_grad=True)
        loss = ours(cr.tensor(x), tc)
        tloss = theirs(torch.tensor(x), tt)
        loss.backward()
        tloss.backward()
        assert_close(tc.grad, tt.grad, 1e-10, ours.__name__)


def test_plain_cross_entropy_keeps_the_fused_op_and_the_general_path_matches_it():
    x = cr.tensor(LOGITS, requires_grad=True)
    assert type(F.cross_entropy(x, LABELS_ALL).grad_fn).__name__ == "CrossEntropy"
    assert type(F.cross_entropy(x, LABELS_ALL, label_smoothing=0.1).grad_fn).__name__ == "CrossEntropy"
    ones = F.cross_entropy(x, LABELS_ALL, weight=cr.ones(4), label_smoothing=0.1)  # the general path
    assert type(ones.grad_fn).__name__ != "CrossEntropy"
    assert_close(ones.data, F.cross_entropy(x, LABELS_ALL, label_smoothing=0.1).data, 1e-6)


def test_every_target_ignored_gives_nan_and_zero_gradient_as_torch():
    x, xt = cr.tensor(LOGITS, requires_grad=True), torch.tensor(LOGITS, requires_grad=True)
    labels = np.full(6, -100)
    loss = F.cross_entropy(x, labels, label_smoothing=0.1)
    tloss = torch.nn.functional.cross_entropy(xt, torch.from_numpy(labels), label_smoothing=0.1)
    assert np.isnan(loss.item()) and np.isnan(tloss.item())
    loss.backward()
    tloss.backward()
    assert (x.grad.numpy() == 0).all() and (xt.grad == 0).all()


def test_one_hot_matches_torch():
    labels = np.array([[0, 3], [2, 1]])
    ours = F.one_hot(cr.tensor(labels))
    assert ours.dtype == np.int64 and ours.shape == (2, 2, 4)
    np.testing.assert_array_equal(ours.numpy(), torch.nn.functional.one_hot(torch.from_numpy(labels)).numpy())
    np.testing.assert_array_equal(F.one_hot(cr.tensor([1]), 5).numpy(), [[0, 1, 0, 0, 0]])
    assert F.one_hot(cr.tensor(np.zeros(0, np.int64)), 3).shape == (0, 3)


def test_legacy_size_average_and_reduce_as_torch():
    x, y = cr.tensor(PRED), cr.tensor(TARGET)
    with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
        total = F.mse_loss(x, y, size_average=False)
    np.testing.assert_allclose(total.item(), ((PRED - TARGET) ** 2).sum(), rtol=1e-5)
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.L1Loss(reduce=False).reduction == "none"
    assert F.l1_loss(x, y, "sum").shape == ()  # chainrule's earlier positional reduction keeps working


BAD_CALLS = [
    (lambda: F.cross_entropy(cr.zeros(2, 3), [0, 5]), IndexError,
     r"cross_entropy: class labels must be in \[0, 3\) for 3 classes, got label 5"),
    (lambda: F.nll_loss(cr.zeros(2, 3), [0, -2]), IndexError, r"nll_loss: class labels must be in \[0, 3\)"),
    (lambda: F.nll_loss(cr.zeros(2, 3), [0, 1], weight=cr.ones(2)), ValueError,
     r"nll_loss: weight must have shape \(3,\), got \(2,\)"),
    (lambda: F.cross_entropy(cr.zeros(2, 3, 4), np.zeros((2, 3), np.int64)), ValueError,
     r"cross_entropy: expected target of shape \(2, 4\) for input of shape \(2, 3, 4\), got shape \(2, 3\)"),
    (lambda: F.cross_entropy(cr.zeros(2, 3), np.zeros((2, 2))), TypeError,
     r"target must hold integer class labels, got dtype float64.*class probabilities of the input's shape"),
    (lambda: F.binary_cross_entropy(cr.tensor([0.5, 1.5]), [1.0, 0.0]), ValueError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1.*binary_cross_entropy_with_logits"),
    (lambda: F.binary_cross_entropy(cr.tensor([0.5]), [2.0]), ValueError,
     r"binary_cross_entropy: all elements of target should be between 0 and 1"),
    (lambda: F.smooth_l1_loss(cr.zeros(2), cr.zeros(2), beta=-1.0), ValueError,
     r"smooth_l1_loss: beta must be non-negative, got -1.0"),
    (lambda: nn.HuberLoss(delta=0.0), ValueError, r"HuberLoss: delta must be positive, got 0.0"),
    (lambda: F.mse_loss(cr.zeros(2), cr.zeros(2), weight=cr.ones(3)), ValueError,
     r"mse_loss: weight and input must have the same shape, got weight \(3,\) and input \(2,\)"),
    (lambda: F.one_hot(cr.tensor([0, 3]), 3), ValueError,
     r"one_hot: class values must be smaller than num_classes=3, got 3"),
    (lambda: F.one_hot(cr.tensor([0.0])), TypeError, r"one_hot: expected an integer \(int64\) tensor"),
    (lambda: F.one_hot(cr.tensor([-1, 0])), ValueError, r"one_hot: class values must be non-negative, got -1"),
    (lambda: F.one_hot(cr.tensor(np.zeros(0, np.int64))), ValueError, r"can not infer the total number of classes"),
    (lambda: nn.NLLLoss(ignore_index=0.5), TypeError, r"NLLLoss: ignore_index must be an int, got 0.5"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_loss_calls_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()
