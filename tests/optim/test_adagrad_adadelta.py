"""Adagrad and Adadelta against torch.optim, step by step; the version bump of every step; state_dict; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 50
TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 1e-5, "atol": 1e-6}}

CASES = [
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("Adagrad", {"lr": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.3, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {"lr": 0.05, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4}),
    ("Adadelta", {"lr": 1.0, "weight_decay": 0.1}),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {"rho": 0.95, "maximize": True}),
]


def make_data(steps: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    return init, grads


def run_both(name, kwargs, dtype, steps=STEPS, groups=None):
    init, grads = make_data(steps)
    ours = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in init]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in init]

    def grouped(params):
        return params if groups is None else [{**g, "params": [params[i] for i in g["params"]]} for g in groups]

    opt = getattr(optim, name)(grouped(ours), **kwargs)
    topt = getattr(torch.optim, name)(grouped(theirs), **kwargs, foreach=False)
    for step_grads in grads:
        for p, tp, g in zip(ours, theirs, step_grads):
            p.grad = cr.tensor(g, dtype=dtype)
            tp.grad = torch.tensor(g.astype(dtype))
        opt.step()
        topt.step()
        yield ours, theirs, opt, topt


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch_step_by_step(name, kwargs, dtype):
    for ours, theirs, _, _ in run_both(name, kwargs, dtype):
        for p, tp in zip(ours, theirs):
            assert p.dtype == dtype
            np.testing.assert_allclose(p.data.numpy(), tp.detach().numpy(), **TOL[dtype])


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta"])
def test_param_groups_and_state_keys_match_torch(name):
    groups = [{"params": [0, 1], "lr": 0.3}, {"params": [2]}]
    steps = list(run_both(name, {}, np.float64, steps=5, groups=groups))
    for ours, theirs, _, _ in steps:
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p.data.numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-12)
    saved, tsaved = steps[-1][2].state_dict(), steps[-1][3].state_dict()
    assert set(saved["state"][0]) == set(tsaved["state"][0])
    assert saved["state"][0]["step"] == int(tsaved["state"][0]["step"]) == 5
    assert set(saved["param_groups"][0]) <= set(tsaved["param_groups"][0])
    for key, value in saved["state"][2].items():
        if key != "step":
            np.testing.assert_allclose(value, tsaved["state"][2][key].numpy(), rtol=1e-10)


def test_adagrad_creates_its_state_at_construction_as_torch():
    w = cr.zeros(3, requires_grad=True)
    opt = optim.Adagrad([w], initial_accumulator_value=0.5)
    state = opt.state_dict()["state"][0]
    assert state["step"] == 0
    np.testing.assert_array_equal(state["sum"], np.full(3, 0.5, np.float32))


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta"])
def test_state_dict_round_trip_continues_exactly(name):
    init, grads = make_data(10)
    params = [cr.tensor(a, dtype=np.float32, requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, lr=0.1)

    def step(ps, o, gs):
        for p, g in zip(ps, gs):
            p.grad = cr.tensor(g, dtype=np.float32)
        o.step()

    for gs in grads[:5]:
        step(params, opt, gs)
    clone = [cr.tensor(p.data.numpy().copy(), requires_grad=True) for p in params]
    opt2 = getattr(optim, name)(clone, lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    for gs in grads[5:]:
        step(params, opt, gs)
        step(clone, opt2, gs)
    for p, q in zip(params, clone):
        np.testing.assert_array_equal(p.data.numpy(), q.data.numpy())


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "Adadelta", "RMSprop"])
def test_step_bumps_each_updated_parameters_version_once(name):
    a, b = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    opt = getattr(optim, name)([a, b], lr=0.1)
    a.grad = cr.ones(2)
    view = a.detach()  # shares a's version counter
    before = view._version_counter()[0]
    opt.step()
    assert view._version_counter()[0] == before + 1
    assert b._version is None or b._version[0] == 0  # no gradient: not updated, not bumped


def test_saved_parameter_changed_by_step_is_caught_by_backward():
    w = cr.ones(2, requires_grad=True)
    loss = (w * w).sum()  # mul saves w for its backward
    w.grad = cr.ones(2)
    optim.Adagrad([w]).step()
    with pytest.raises(cr.GraphError, match="modified by an in-place operation"):
        loss.backward()


def test_zero_grad_defaults_to_none():
    w = cr.ones(2, requires_grad=True)
    opt = optim.Adadelta([w])
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and (w.grad.numpy() == 0).all()
    opt.zero_grad()
    assert w.grad is None


BAD = [
    (lambda w: optim.Adagrad([w], lr=-1), ValueError, r"Adagrad: lr must be >= 0, got -1"),
    (lambda w: optim.Adagrad([w], lr_decay=-0.1), ValueError, r"Adagrad: lr_decay must be >= 0, got -0.1"),
    (lambda w: optim.Adagrad([w], initial_accumulator_value=-1), ValueError,
     r"Adagrad: initial_accumulator_value must be >= 0"),
    (lambda w: optim.Adagrad([w], eps=-1e-3), ValueError, r"Adagrad: eps must be >= 0"),
    (lambda w: optim.Adadelta([w], rho=1.5), ValueError, r"Adadelta: rho must be in \[0, 1\], got 1.5"),
    (lambda w: optim.Adadelta([w], rho=-0.1), ValueError, r"Adadelta: rho must be >= 0, got -0.1"),
    (lambda w: optim.Adadelta([w], weight_decay=-1), ValueError, r"Adadelta: weight_decay must be >= 0"),
    (lambda w: optim.Adadelta([w], lr="fast"), TypeError, r"Adadelta: lr must be a real number, got str 'fast'"),
]


@pytest.mark.parametrize("make, error, message", BAD)
def test_bad_options_are_quoted(make, error, message):
    with pytest.raises(error, match=message):
        make(cr.ones(2, requires_grad=True))
