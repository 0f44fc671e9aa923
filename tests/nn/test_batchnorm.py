"""BatchNorm1d over several training steps and in eval mode, running statistics included, against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from nn_helpers import TOLERANCE, assert_close, torch_state

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention

SETTINGS = [
    {},
    {"momentum": 0.3, "eps": 1e-3},
    {"momentum": None},
    {"affine": False},
    {"bias": False},
    {"track_running_stats": False},
]


def _run_steps(layer, twin, dtype, shape, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    tol = TOLERANCE[dtype]
    for step in range(steps):
        x = (rng.standard_normal(shape) * 3 + step).astype(dtype)
        xc = cr.tensor(x, dtype=dtype, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        out, tout = layer(xc), twin(xt)
        assert_close(out.data, tout, tol, f"step {step}: forward")
        g = rng.standard_normal(out.shape).astype(dtype)
        out.backward(g)
        tout.backward(torch.from_numpy(g))
        assert_close(xc.grad, xt.grad, tol, f"step {step}: input gradient")
        for name, param in layer.named_parameters():
            assert_close(param.grad, dict(twin.named_parameters())[name].grad, tol, f"step {step}: {name} grad")
        for name, buffer in twin.named_buffers():
            assert_close(dict(layer.named_buffers())[name], buffer, tol, f"step {step}: buffer {name}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("settings", SETTINGS, ids=[str(s) for s in SETTINGS])
@pytest.mark.parametrize("shape", [(16, 4), (5, 4, 3)], ids=["NC", "NCL"])
def test_batchnorm_train_then_eval_matches_torch(settings, dtype, shape):
    layer, twin = nn.BatchNorm1d(4, dtype=dtype, **settings), torch.nn.BatchNorm1d(4, dtype=torch.float64, **settings)
    twin.to(torch.float64 if dtype == np.float64 else torch.float32)
    if layer.weight is not None:
        cr.manual_seed(0)
        layer.weight.data[...] = cr.randn(4).data
    if layer.bias is not None:
        layer.bias.data[...] = cr.randn(4).data
    twin.load_state_dict(torch_state(layer), strict=True)
    _run_steps(layer, twin, dtype, shape)
    if layer.track_running_stats:
        assert int(layer.num_batches_tracked) == 4
        assert layer.running_mean.dtype == dtype
    layer.eval()
    twin.eval()
    _run_steps(layer, twin, dtype, shape, steps=2, seed=1)
    if layer.track_running_stats:
        assert int(layer.num_batches_tracked) == 4, "eval must not count batches"


def test_running_var_uses_the_unbiased_batch_variance():
    layer = nn.BatchNorm1d(1, momentum=1.0, dtype=np.float64)
    x = np.array([[1.0], [2.0], [4.0]])
    layer(cr.tensor(x, dtype=np.float64))
    assert layer.running_mean[0] == pytest.approx(x.mean())
    assert layer.running_var[0] == pytest.approx(x.var(ddof=1))


def test_training_under_no_grad_still_updates_running_stats():
    layer, twin = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    with cr.no_grad():
        out = layer(cr.tensor(x))
    with torch.no_grad():
        tout = twin(torch.from_numpy(x))
    assert out.grad_fn is None
    assert_close(out.data, tout, 1e-4)
    assert_close(layer.running_mean, twin.running_mean, 1e-6)
    assert_close(layer.running_var, twin.running_var, 1e-6)


def test_batchnorm_uses_the_fused_op_in_training_and_running_stats_in_eval():
    layer = nn.BatchNorm1d(2)
    x = cr.randn(4, 2, requires_grad=True)
    assert type(layer(x).grad_fn).__name__ == "BatchNorm"
    layer.eval()
    layer.running_mean[...] = [1.0, -1.0]
    layer.running_var[...] = [4.0, 0.25]
    expected = (x.data - layer.running_mean) / np.sqrt(layer.running_var + layer.eps)
    assert_close(layer(x).data, expected, 1e-6)


def test_functional_batch_norm_updates_given_arrays_in_place():
    rm, rv = np.zeros(2, np.float32), np.ones(2, np.float32)
    x = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    trm, trv = torch.zeros(2), torch.ones(2)
    out = F.batch_norm(cr.tensor(x), rm, rv, training=True, momentum=0.5)
    tout = torch.nn.functional.batch_norm(torch.from_numpy(x), trm, trv, training=True, momentum=0.5)
    assert_close(out.data, tout, 1e-5)
    assert_close(rm, trm, 1e-6)
    assert_close(rv, trv, 1e-6)
    with pytest.raises(ValueError, match=r"batch_norm: evaluation \(training=False\) needs running_mean"):
        F.batch_norm(cr.tensor(x), None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: expected input of shape \(N, C\) or \(N, C, L\), got shape"):
        F.batch_norm(cr.zeros(4), rm, rv, training=True)


def test_batch_of_one_is_fine_in_eval():
    layer = nn.BatchNorm1d(3).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layer(cr.ones(1, 3)).shape == (1, 3)
