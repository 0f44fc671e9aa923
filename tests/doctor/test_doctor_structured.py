"""The doctor on convolutional, recurrent and residual layers: its measurements against plain NumPy and torch
(float64, one sample step), and its rules on failures built on purpose next to their healthy twins.

A learning rate of 0 keeps the weights (and so each measurement) fixed and makes training "stall", the
condition under which the slow failures are reported, so a rule's verdict depends only on the numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule._io import json_safe
from chainrule.doctor import Doctor
from chainrule.doctor.report import render_html


def run_own_loop(model, batches, epochs: int = 2, lr: float = 0.0, steps_per_epoch: int = 3, **config) -> Doctor:
    """Train with SGD in a plain loop, the doctor watching: ``steps_per_epoch`` steps over ``batches`` per epoch."""
    doctor = Doctor(stats_every=1, **config)
    optimizer = cr.optim.SGD(model.parameters(), lr=lr)
    doctor.watch(model, optimizer)
    for _ in range(epochs):
        for step in range(steps_per_epoch):
            x, y = batches[step % len(batches)]
            loss = nn.functional.cross_entropy(model(cr.tensor(x)), cr.tensor(y))
            optimizer.zero_grad()
            loss.backward()
            doctor.check(model, loss=loss.item())
            optimizer.step()
        doctor.end_epoch()
    doctor.unwatch()
    return doctor


def by_variant(doctor: Doctor, kind: str, variant: str) -> list:
    return [f for f in doctor.findings if f.kind == kind and f.evidence.get("variant") == variant]


# ---------------------------------------------------------------------------- dead filters


class TinyCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 6, 3, padding=1, dtype=np.float64)
        self.relu = nn.ReLU()
        self.head = nn.Linear(6 * 25, 3, dtype=np.float64)

    def forward(self, x):
        return self.head(self.relu(self.conv(x)).flatten(1))


def cnn_batches(seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(8, 1, 5, 5)), rng.integers(0, 3, 8)) for _ in range(3)]


# a majority of the filters, as the rule asks of a Linear's units (two of six would be within healthy variation)
@pytest.mark.parametrize("killed", [(0, 1, 4, 5), ()], ids=["four-dead-filters", "healthy"])
def test_dead_filters_are_found_per_channel_as_plain_numpy_measures_them(killed):
    cr.manual_seed(0)
    model = TinyCNN()
    for channel in killed:  # a bias far below any weighted sum: the channel is 0 at every position
        model.conv.bias.data[channel] = -100.0
    batches = cnn_batches()
    doctor = run_own_loop(model, batches)

    conv = torch.nn.Conv2d(1, 6, 3, padding=1).double()
    conv.weight.data = torch.tensor(model.conv.weight.detach().numpy())
    conv.bias.data = torch.tensor(model.conv.bias.detach().numpy())
    fired = np.zeros(6, bool)
    for x, _ in batches:
        fired |= (torch.relu(conv(torch.tensor(x))).detach().numpy() > 0).any(axis=(0, 2, 3))
    expected_dead = [int(c) for c in np.flatnonzero(~fired)]
    assert expected_dead == sorted(killed)  # the reference sees exactly the filters killed on purpose

    assert doctor.metrics["dead_channel_fraction"]["relu"] == pytest.approx([len(killed) / 6] * 2)
    if killed:  # the report draws the dead channels (from metrics.json as saved)
        page = render_html(doctor.findings, json.loads(json.dumps(json_safe(doctor.metrics))))
        assert "<h2>Dead filters</h2>" in page
    found = by_variant(doctor, "dead_relu", "channels")
    if killed:
        assert [f.layer for f in found] == ["relu"]
        evidence = found[0].evidence
        assert evidence["dead_channel_ids"] == expected_dead and evidence["channels"] == 6
        assert evidence["fed_by"] == "conv"
        assert f"dead filters {expected_dead} of conv" in evidence["summary"]
    else:
        assert doctor.findings == []


# ---------------------------------------------------------------------------- through time


class Recurrent(nn.Module):
    def __init__(self, cell: str, **kwargs) -> None:
        super().__init__()
        self.rnn = getattr(nn, cell)(3, 5, batch_first=True, dtype=np.float64, **kwargs)
        self.head = nn.Linear(5, 2, dtype=np.float64)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


def sequence_batches(length: int, seed: int = 0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.normal(size=(4, length, 3)), rng.integers(0, 2, 4)) for _ in range(3)]


def torch_first_to_last(model: Recurrent, x: np.ndarray, y: np.ndarray) -> float:
    """RMS(∂loss/∂h_1) / RMS(∂loss/∂h_L) of the same network in torch, unrolled with retain_grad on each h_t."""
    cell = torch.nn.RNNCell(3, 5, nonlinearity=model.rnn.nonlinearity).double()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data = torch.tensor(getattr(model.rnn, f"{name}_l0").detach().numpy())
    head = torch.nn.Linear(5, 2).double()
    head.weight.data = torch.tensor(model.head.weight.detach().numpy())
    head.bias.data = torch.tensor(model.head.bias.detach().numpy())
    h = torch.zeros(x.shape[0], 5, dtype=torch.float64)
    states = []
    for t in range(x.shape[1]):
        h = cell(torch.tensor(x[:, t]), h)
        h.retain_grad()
        states.append(h)
    torch.nn.functional.cross_entropy(head(h), torch.tensor(y)).backward()
    first, last = states[0].grad, states[-1].grad
    return float(first.pow(2).mean().sqrt() / last.pow(2).mean().sqrt())


@pytest.mark.parametrize(("length", "vanishes"), [(40, True), (3, False)])
def test_vanishing_gradient_through_time_is_measured_as_torch_and_named(length, vanishes):
    cr.manual_seed(0)
    model = Recurrent("RNN")
    batches = sequence_batches(length)
    doctor = run_own_loop(model, batches)
    measured = doctor.metrics["time_gradient_ratio"]["rnn"]
    expected = [torch_first_to_last(model, x, y) for x, y in batches]
    np.testing.assert_allclose(measured, expected * 2, rtol=1e-6)  # two epochs of the same three batches
    found = by_variant(doctor, "vanishing_gradients", "through_time")
    assert (max(expected) < 1e-3) is vanishes
    if vanishes:  # the report draws the ratio through time (from metrics.json as saved)
        page = render_html(doctor.findings, json.loads(json.dumps(json_safe(doctor.metrics))))
        assert "<h2>Gradient through time</h2>" in page
    if vanishes:
        assert [f.layer for f in found] == ["rnn"]
        assert found[0].evidence["steps"] == length and "through time" in found[0].evidence["summary"]
        assert found[0].remedies[0].description.startswith("use an LSTM or GRU")
    else:
        assert doctor.findings == []


def test_exploding_gradient_through_time_is_named():
    cr.manual_seed(0)
    model = Recurrent("RNN", nonlinearity="relu")
    # h_t = relu(1.6 h_{t-1} + b) with every unit active: each step back multiplies the gradient by exactly 1.6,
    # while the states (and so the loss and the weights' gradients) stay small enough for no other rule to fire
    model.rnn.weight_hh_l0.data = cr.tensor(1.6 * np.eye(5))
    model.rnn.weight_ih_l0.data = cr.tensor(np.zeros((5, 3)))
    model.rnn.bias_ih_l0.data = cr.tensor(np.full(5, 1e-3))
    model.rnn.bias_hh_l0.data = cr.tensor(np.zeros(5))
    batches = sequence_batches(20, scale=0.1)
    doctor = run_own_loop(model, batches, epochs=3)  # the first epoch's halves differ; later epochs repeat it
    expected = [torch_first_to_last(model, x, y) for x, y in batches]
    np.testing.assert_allclose(expected, 1.6 ** 19, rtol=1e-9)
    found = by_variant(doctor, "exploding_gradients", "through_time")
    assert [f.layer for f in found] == ["rnn"] and found[0].severity == "error"
    assert [f.kind for f in doctor.findings] == ["exploding_gradients"]


# ---------------------------------------------------------------------------- LSTM gates


@pytest.mark.parametrize("scale", [30.0, 0.3], ids=["saturated", "healthy"])
def test_lstm_gate_saturation_matches_torch_gates_and_is_named(scale):
    cr.manual_seed(0)
    model = Recurrent("LSTM")
    model.rnn.weight_ih_l0.data = cr.tensor(model.rnn.weight_ih_l0.detach().numpy() * scale)
    batches = sequence_batches(6)
    doctor = run_own_loop(model, batches, epochs=2)

    twin = torch.nn.LSTM(3, 5, batch_first=True).double()
    twin.load_state_dict({k: torch.tensor(v) for k, v in model.rnn.state_dict().items()})
    expected = {gate: [] for gate in ("input", "forget", "cell", "output")}
    for x, _ in batches:
        h, c = torch.zeros(1, 4, 5, dtype=torch.float64), torch.zeros(1, 4, 5, dtype=torch.float64)
        gates = []
        for t in range(x.shape[1]):  # gate activations step by step from torch's own weights
            pre = (torch.tensor(x[:, t]) @ twin.weight_ih_l0.T + twin.bias_ih_l0 + h[0] @ twin.weight_hh_l0.T
                   + twin.bias_hh_l0)
            i, f, g, o = pre.chunk(4, 1)
            gates.append([i.sigmoid(), f.sigmoid(), (g.tanh() + 1) / 2, o.sigmoid()])
            _, (h, c) = twin(torch.tensor(x[:, t:t + 1]), (h, c))
        for k, gate in enumerate(expected):
            values = torch.stack([step[k] for step in gates]).detach().numpy()
            expected[gate].append(float(((values < 0.01) | (values > 0.99)).mean()))
    measured = doctor.metrics["gate_saturation"]["rnn"]
    for gate, values in expected.items():
        np.testing.assert_allclose(measured[gate], values * 2, rtol=1e-12)
    found = by_variant(doctor, "saturation", "gates")
    if scale > 1:
        assert [f.layer for f in found] == ["rnn"] and found[0].evidence["saturated_fraction"] >= 0.5
    else:
        assert doctor.findings == []


# ---------------------------------------------------------------------------- residual blocks


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.branch = nn.Sequential(nn.ReLU(), nn.Linear(4, 4, dtype=np.float64))

    def forward(self, x):
        return x + self.branch(x)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(3, 4, dtype=np.float64)
        self.block = Block()
        self.head = nn.Linear(4, 2, dtype=np.float64)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


def test_residual_branch_and_skip_gradients_match_torch():
    cr.manual_seed(0)
    model = Residual()
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(6, 3)), rng.integers(0, 2, 6))]
    doctor = run_own_loop(model, batches, epochs=1, steps_per_epoch=1)

    params = {k: torch.tensor(v.detach().numpy()) for k, v in model.state_dict().items()}
    x = (torch.tensor(batches[0][0]) @ params["stem.weight"].T + params["stem.bias"]).requires_grad_(True)
    branch = torch.relu(x) @ params["block.branch.1.weight"].T + params["block.branch.1.bias"]
    s = x + branch
    s.retain_grad()
    loss = torch.nn.functional.cross_entropy(s @ params["head.weight"].T + params["head.bias"],
                                             torch.tensor(batches[0][1]))
    loss.backward()
    through_branch = x.grad - s.grad  # x's whole gradient less what the identity passed on
    expected = float(through_branch.pow(2).mean().sqrt() / s.grad.pow(2).mean().sqrt())
    assert doctor.metrics["residual_branch_to_skip"] == {"block": [pytest.approx(expected, rel=1e-9)]}
    assert doctor.findings == []


def test_observers_are_removed_when_the_doctor_stops_watching():
    cr.manual_seed(0)
    model = Recurrent("GRU")
    run_own_loop(model, sequence_batches(4), epochs=1)
    assert model.rnn._hidden_grad_hooks == [] and model.rnn._gate_hooks == []
    assert model.rnn._forward_pre_hooks == []


def test_each_layer_and_direction_of_a_stacked_bidirectional_rnn_is_measured_as_torch():
    """Layer keys rnn[l0], rnn[l0 reverse], rnn[l1], ...; a reverse direction starts at the last time step, so its
    "first" step is t = L-1 and its "last" t = 0. torch: both layers unrolled as cell loops with retain_grad."""

    class Stacked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.RNN(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64)
            self.head = nn.Linear(8, 2, dtype=np.float64)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    cr.manual_seed(0)
    model = Stacked()
    x, y = sequence_batches(7)[0]
    doctor = run_own_loop(model, [(x, y)], epochs=1, steps_per_epoch=1)

    weights = {k: torch.tensor(v.detach().numpy(), requires_grad=True) for k, v in model.state_dict().items()}
    layer_input = torch.tensor(x)
    states: dict[str, list[torch.Tensor]] = {}
    for layer in range(2):
        outputs = []
        for direction, suffix in enumerate(("", "_reverse")):
            w = {name: weights[f"rnn.{name}_l{layer}{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih",
                                                                             "bias_hh")}
            h = torch.zeros(x.shape[0], 4, dtype=torch.float64)
            steps: dict[int, torch.Tensor] = {}
            for t in (range(6, -1, -1) if direction else range(7)):
                h = torch.tanh(layer_input[:, t] @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T
                               + w["bias_hh"])
                h.retain_grad()
                steps[t] = h
            ordered = [steps[t] for t in range(7)]
            states[f"rnn[l{layer}{' reverse' if direction else ''}]"] = ordered
            outputs.append(torch.stack(ordered, 1))
        layer_input = torch.cat(outputs, 2)
    logits = layer_input[:, -1] @ weights["head.weight"].T + weights["head.bias"]
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()

    def rms(t: torch.Tensor) -> float:
        return float(t.grad.pow(2).mean().sqrt())

    def ratio(first: torch.Tensor, last: torch.Tensor) -> float:
        return rms(first) / rms(last) if rms(last) > 0 else float("nan")  # no gradient where it would start

    expected = {key: ratio(s[-1], s[0]) if "reverse" in key else ratio(s[0], s[-1]) for key, s in states.items()}
    # the loss reads the last time step only: layer 1's reverse direction gets its gradient at its first step
    assert np.isnan(expected["rnn[l1 reverse]"]) and sum(np.isnan(v) for v in expected.values()) == 1
    measured = {key: series[0] for key, series in doctor.metrics["time_gradient_ratio"].items()}
    assert measured == pytest.approx(expected, rel=1e-6, nan_ok=True)
