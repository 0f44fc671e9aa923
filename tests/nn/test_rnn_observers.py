"""The recurrent layers' observers against torch in float64: ∂loss/∂h_t of every step (torch: ``retain_grad`` on
each h_t of the same layer unrolled as a cell loop) and the gate activations of every step (torch's cell maths)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

H_IN, H, L, N = 3, 4, 6, 2
MODES = {"rnn": ("RNN", "RNNCell"), "lstm": ("LSTM", "LSTMCell"), "gru": ("GRU", "GRUCell")}


def unrolled_torch(mode: str, twin: torch.nn.Module, x: np.ndarray, direction: int):
    """Run one direction of ``twin`` as a torch cell loop; returns (per-step h tensors in time order, its output,
    the gate activations (L, N, G·H) in time order)."""
    suffix = "_reverse" if direction else ""
    cell = getattr(torch.nn, MODES[mode][1])(H_IN, H).double()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data.copy_(getattr(twin, f"{name}_l0{suffix}").data)
    xt = torch.tensor(x)
    h = torch.zeros(N, H, dtype=torch.float64)
    c = torch.zeros(N, H, dtype=torch.float64)
    states, gates = {}, {}
    for t in (range(L - 1, -1, -1) if direction else range(L)):
        pre_i = xt[t] @ cell.weight_ih.T + cell.bias_ih
        pre_h = h @ cell.weight_hh.T + cell.bias_hh
        if mode == "lstm":
            i, f, g, o = (pre_i + pre_h).chunk(4, 1)
            gates[t] = torch.cat([i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()], 1).detach()
            h, c = cell(xt[t], (h, c))
        elif mode == "gru":
            r = (pre_i[:, :H] + pre_h[:, :H]).sigmoid()
            z = (pre_i[:, H:2 * H] + pre_h[:, H:2 * H]).sigmoid()
            n = (pre_i[:, 2 * H:] + r * pre_h[:, 2 * H:]).tanh()
            gates[t] = torch.cat([r, z, n], 1).detach()
            h = cell(xt[t], h)
        else:
            h = cell(xt[t], h)
        h.retain_grad()
        states[t] = h
    return [states[t] for t in range(L)], gates


@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize("mode", list(MODES))
def test_per_step_hidden_gradients_and_gates_match_torch_cell_loop(mode, bidirectional):
    torch.manual_seed(0)
    twin = getattr(torch.nn, MODES[mode][0])(H_IN, H, bidirectional=bidirectional).double()
    ours = getattr(nn, MODES[mode][0])(H_IN, H, bidirectional=bidirectional, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in twin.state_dict().items()})
    rng = np.random.default_rng(1)
    x = rng.normal(size=(L, N, H_IN))
    mix = rng.normal(size=(L, N, H * (2 if bidirectional else 1)))  # every step's output reaches the loss ...
    last = rng.normal(size=(N, H))  # ... and the last step's state again, through h_n

    seen, gates = {}, {}
    ours.register_hidden_grad_hook(lambda layer, direction, g: seen.__setitem__(direction, g.copy()))
    ours.register_gate_hook(lambda layer, direction, a: gates.__setitem__(direction, a.copy()))
    out, final = ours(cr.tensor(x))
    h_n = final[0] if mode == "lstm" else final
    ((out * cr.tensor(mix)).sum() + (h_n[0] * cr.tensor(last)).sum()).backward()

    directions = 2 if bidirectional else 1
    assert sorted(seen) == list(range(directions))
    for direction in range(directions):
        states, torch_gates = unrolled_torch(mode, twin, x, direction)
        part = torch.tensor(mix[:, :, direction * H:(direction + 1) * H])
        loss = sum((s * part[t]).sum() for t, s in enumerate(states))
        if direction == 0:
            loss = loss + (states[-1] * torch.tensor(last)).sum()
        loss.backward()
        expected = np.stack([s.grad.numpy() for s in states])
        np.testing.assert_allclose(seen[direction], expected, rtol=1e-6, atol=1e-12)
        if mode == "rnn":
            assert gates == {}  # a plain RNN has no gates
        else:
            np.testing.assert_allclose(gates[direction], np.stack([torch_gates[t].numpy() for t in range(L)]),
                                       rtol=1e-6, atol=1e-12)


def test_observers_cost_nothing_once_removed():
    rnn = nn.GRU(2, 3)
    calls = []
    handles = [rnn.register_hidden_grad_hook(lambda *a: calls.append("grad")),
               rnn.register_gate_hook(lambda *a: calls.append("gates"))]
    rnn(cr.ones(4, 1, 2))[0].sum().backward()
    assert calls == ["gates", "grad"]
    for handle in handles:
        handle.remove()
    assert rnn._observers(0, 0) == {}  # Recurrence gets no observer: no per-step copies are made
    rnn(cr.ones(4, 1, 2))[0].sum().backward()
    assert calls == ["gates", "grad"]
