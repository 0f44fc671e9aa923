"""A ``torch.compile``'d model under the doctor: watched through the module it wraps, with no recompiles, the
signals read outside the forward measured (and judged), and a warning naming what is not.

The backend is "eager": TorchDynamo traces the model (and would guard on every hook the doctor added) exactly
as with the default inductor backend, without needing a C compiler in CI.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

import chainrule as cr


def test_a_compiled_model_is_watched_without_recompiles_and_says_what_it_cannot_measure():
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16.0, dtype=torch.float32)[:640], torch.tensor(y)[:640]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    untrained = copy.deepcopy(model)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = torch.compile(model, backend="eager")
    opt = torch.optim.SGD(model.parameters(), lr=2.0)  # ten times too high: its finding needs no forward hook
    with pytest.warns(UserWarning, match="torch.compile'd model .* Not measured: activations, dead units"):
        doctor = cr.Doctor().watch(compiled, opt)
    losses = []
    for _ in range(3):
        for i in range(0, len(X), 64):
            loss = F.cross_entropy(compiled(X[i:i + 64]), y[i:i + 64])
            opt.zero_grad()
            loss.backward()
            doctor.check(loss)
            losses.append(loss.item())
            opt.step()
        doctor.end_epoch()
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1  # compiled once, never again
    assert doctor.layer_names == ["0", "2", "4"]  # the model's own names, not "_orig_mod.0"
    np.testing.assert_allclose(doctor.metrics["loss"], losses, rtol=1e-6)
    # step 0's gradient RMS per layer against plain autograd on the untrained copy
    F.cross_entropy(untrained(X[:64]), y[:64]).backward()
    for name in doctor.layer_names:
        weight = untrained.get_submodule(name).weight
        expected = float(weight.grad.pow(2).mean().sqrt())
        assert doctor.metrics["grad_rms"][name][0] == pytest.approx(expected, rel=1e-5)
    assert "learning_rate_too_high" in doctor.kinds()
    assert "dead_relu" not in doctor.kinds() and doctor.metrics["dead_fraction"] == {}  # not measured, not guessed
