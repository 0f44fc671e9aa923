"""The gradient through time of torch RNN/LSTM/GRU layers (torch_adapter.TorchTimeGradient): measured against
torch's own input gradient, and judged by the same rule as chainrule's recurrent layers.

The memory task: a sequence of Gaussian noise whose label is the sign of its first value, read from the last
step's output, so the answer must travel back through every step (Bengio, Simard & Frasconi 1994).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

import chainrule as cr

LENGTH, HIDDEN = 40, 16


class Memory(nn.Module):
    def __init__(self, kind: str, forget_bias: float = 0.0) -> None:
        super().__init__()
        self.rnn = getattr(nn, kind)(1, HIDDEN, batch_first=True)
        if kind == "LSTM":  # the forget gate biased open, as LSTMs for long memory are (Jozefowicz et al. 2015)
            with torch.no_grad():
                self.rnn.bias_hh_l0[HIDDEN:2 * HIDDEN].fill_(forget_bias)
        self.out = nn.Linear(HIDDEN, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0][:, -1])


def memory_task(n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, LENGTH, 1, generator=torch.Generator().manual_seed(0))
    return x, (x[:, 0, 0] > 0).long()


def train(model: nn.Module, epochs: int = 6, batch: int = 32) -> cr.Doctor:
    x, y = memory_task()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    doctor = cr.Doctor().watch(model, opt)
    for _ in range(epochs):
        for i in range(0, len(x), batch):
            loss = F.cross_entropy(model(x[i:i + batch]), y[i:i + batch])
            opt.zero_grad()
            loss.backward()
            doctor.check(loss)
            opt.step()
        doctor.end_epoch()
    return doctor


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_ratio_is_the_first_step_input_gradient_over_the_last(kind):
    """The step-0 ratio against plain autograd on a copy of the untrained model: RMS of ∂loss/∂x_1 / ∂loss/∂x_L."""
    torch.manual_seed(0)
    model = Memory(kind)
    reference = copy.deepcopy(model)
    x, y = memory_task()
    x0 = x[:32].clone().requires_grad_()
    F.cross_entropy(reference(x0), y[:32]).backward()
    g = x0.grad
    expected = float(g[:, 0].pow(2).mean().sqrt() / g[:, -1].pow(2).mean().sqrt())
    doctor = train(model, epochs=1)
    measured = doctor.metrics["time_gradient_ratio"]["rnn"]
    assert measured[0] == pytest.approx(expected, rel=1e-5)
    assert len(measured) == 1  # 8 batches at stats_every=10: step 0 is the one sample step
    assert len(doctor.metrics["time_gradient_profile"]["rnn"]) == LENGTH


@pytest.mark.parametrize(("kind", "vanishes"), [("RNN", True), ("LSTM", False)])
def test_a_vanilla_rnn_over_long_sequences_vanishes_through_time_and_its_lstm_twin_does_not(kind, vanishes):
    torch.manual_seed(0)
    doctor = train(Memory(kind, forget_bias=3.0))
    found = [f for f in doctor.findings if f.evidence.get("variant") == "through_time"]
    if vanishes:
        assert [(f.kind, f.layer) for f in found] == [("vanishing_gradients", "rnn")]
        assert found[0].evidence["steps"] == LENGTH
        assert found[0].remedies[0].description.startswith("use an LSTM or GRU")
    else:
        assert found == []
        assert min(doctor.metrics["time_gradient_ratio"]["rnn"]) > 1e-2
