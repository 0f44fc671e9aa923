"""Optimizers against torch.optim, step by step, plus state_dict, in-place updates, allocations and errors."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 50
TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 1e-5, "atol": 1e-6}}

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "betas": (0.3, 0.9), "eps": 1e-3}),  # beta1 < 0.5: torch's other lerp formula
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.0}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True}),  # 1 - alpha >= 0.5: the other lerp formula
    ("RMSprop", {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-4}),
]


def make_data(steps: int, seed: int = 0) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    return init, grads


def torch_optimizer(name: str, params, kwargs: dict):
    return getattr(torch.optim, name)(params, **kwargs, foreach=False)


def run_both(name: str, kwargs: dict, dtype, groups=None, steps: int = STEPS):
    """Step chainrule and torch optimizers on the same gradients; yield both params after every step."""
    init, grads = make_data(steps)
    ours = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in init]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in init]

    def grouped(params):
        return params if groups is None else [{**g, "params": [params[i] for i in g["params"]]} for g in groups]

    opt = getattr(optim, name)(grouped(ours), **kwargs)
    topt = torch_optimizer(name, grouped(theirs), kwargs)
    for step_grads in grads:
        for p, tp, g in zip(ours, theirs, step_grads):
            p.grad = cr.from_numpy(g.astype(dtype))
            tp.grad = torch.tensor(g.astype(dtype))
        opt.step()
        topt.step()
        yield ours, theirs


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch_step_by_step(name, kwargs, dtype):
    for ours, theirs in run_both(name, kwargs, dtype):
        for p, tp in zip(ours, theirs):
            assert p.data.dtype == dtype
            np.testing.assert_allclose(p.data, tp.detach().numpy(), **TOL[dtype])


GROUPS = {
    "SGD": [{"params": [0], "lr": 0.2, "momentum": 0.5}, {"params": [1, 2], "nesterov": True}],
    "Adam": [{"params": [0, 2], "lr": 0.05, "amsgrad": True}, {"params": [1]}],
    "AdamW": [{"params": [0]}, {"params": [1, 2], "lr": 0.001, "weight_decay": 0.5}],
    "RMSprop": [{"params": [0], "lr": 0.001, "centered": True}, {"params": [1, 2]}],
}
GROUP_DEFAULTS = {
    "SGD": {"lr": 0.05, "momentum": 0.9}, "Adam": {"lr": 0.01}, "AdamW": {"lr": 0.01},
    "RMSprop": {"lr": 0.01, "momentum": 0.5},
}


@pytest.mark.parametrize("name", GROUPS)
def test_param_groups_match_torch(name):
    for ours, theirs in run_both(name, GROUP_DEFAULTS[name], np.float64, groups=GROUPS[name]):
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), **TOL[np.float64])


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_mlp_loss_matches_torch(name):
    """Gradients come from a chainrule loss (and torch's), so each step depends on the last."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 1))
    init = [rng.standard_normal(s) * 0.5 for s in [(8, 4), (8,), (1, 8), (1,)]]
    ours = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    kwargs = {"lr": 0.05, "weight_decay": 0.01, **({"momentum": 0.9} if name in ("SGD", "RMSprop") else {})}
    opt, topt = getattr(optim, name)(ours, **kwargs), torch_optimizer(name, theirs, kwargs)
    xs, ys, tx, ty = cr.tensor(x, dtype=np.float64), cr.tensor(y, dtype=np.float64), torch.tensor(x), torch.tensor(y)

    def loss_fn(lib, params, xb, yb):
        w1, b1, w2, b2 = params
        hidden = (xb @ w1.T + b1).tanh()
        return ((hidden @ w2.T + b2 - yb) ** 2).mean()

    for _ in range(STEPS):
        opt.zero_grad()
        topt.zero_grad()
        loss = opt.step(lambda: _backward(loss_fn(cr, ours, xs, ys)))
        tloss = topt.step(lambda: _backward(loss_fn(torch, theirs, tx, ty)))
        np.testing.assert_allclose(float(loss.item()), float(tloss.item()), rtol=1e-10)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert float(loss.item()) < float(loss_fn(cr, [cr.tensor(a) for a in init], xs, ys).item())


def _backward(loss):
    loss.backward()
    return loss


# ---------------------------------------------------------------------- state_dict
FULL_STATE = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
]


def _assert_plain(value, where="state_dict"):
    """Only dicts, lists, numbers, strings, bools, None and NumPy arrays, so safetensors + JSON can hold it."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str | int), f"{where}: key {k!r}"
            _assert_plain(v, f"{where}[{k!r}]")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _assert_plain(v, f"{where}[{i}]")
    else:
        assert value is None or type(value) in (int, float, str, bool, np.ndarray), f"{where}: {type(value)}"


def _to_json(state_dict):
    """The state dict through JSON (arrays as lists, int keys as strings), as a checkpoint would store it."""
    return json.loads(json.dumps(state_dict, default=lambda a: a.tolist()))


def _train(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = cr.from_numpy(g.astype(p.dtype))
        opt.step()


@pytest.mark.parametrize("through_json", [False, True], ids=["arrays", "json"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("name", "kwargs"), FULL_STATE, ids=[n for n, _ in FULL_STATE])
def test_state_dict_round_trip_continues_exactly(name, kwargs, dtype, through_json):
    init, grads = make_data(20)
    straight = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in init]
    _train(getattr(optim, name)(straight, **kwargs), straight, grads)

    first = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in init]
    opt = getattr(optim, name)(first, **kwargs)
    _train(opt, first, grads[:10])
    saved = opt.state_dict()
    snapshot = [p.data.clone() for p in first]
    _assert_plain(saved)
    assert sorted(saved["state"]) == [0, 1, 2]
    if through_json:
        saved = _to_json(saved)
    _train(opt, first, grads[10:12])  # training on must not change what was saved

    resumed = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in snapshot]
    fresh = getattr(optim, name)(resumed, lr=123.0)  # options come back from the state dict
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    _train(fresh, resumed, grads[10:])
    for p, q in zip(straight, resumed):
        assert q.data.dtype == dtype
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_indexes_params_across_groups_and_skips_params_without_state():
    a, b, c = (cr.tensor(np.ones(2), requires_grad=True) for _ in range(3))
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}])
    a.grad = cr.ones(2, dtype=a.dtype)
    c.grad = cr.ones(2, dtype=c.dtype)
    opt.step()
    saved = opt.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    assert sorted(saved["state"]) == [0, 2]
    assert saved["param_groups"][1]["lr"] == 0.5
    assert saved["param_groups"][0]["betas"] == [0.9, 0.999]
    tsaved = torch.optim.Adam([{"params": [torch.ones(2)]}, {"params": [torch.ones(2)], "lr": 0.5}])
    assert set(saved["param_groups"][0]) <= set(tsaved.state_dict()["param_groups"][0])  # torch's key names


def test_load_state_dict_errors():
    params = [cr.tensor(np.ones((2, 2)), requires_grad=True), cr.tensor(np.ones(3), requires_grad=True)]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = cr.ones_like(p)
    opt.step()
    saved = opt.state_dict()
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: expected 2 parameter groups, got 1"):
        optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"parameter group 0 has 1 parameters, the saved one has 2"):
        optim.SGD(params[:1], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"state 'momentum_buffer' should have the parameter's shape \(3,\), got"):
        optim.SGD(params[::-1], lr=0.1).load_state_dict(saved)
    with pytest.raises(KeyError, match=r"expected a dict with keys 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


# ---------------------------------------------------------------------- in place, no allocation
@pytest.mark.parametrize(("name", "kwargs"), FULL_STATE, ids=[n for n, _ in FULL_STATE])
def test_step_updates_in_place_and_leaves_grads_alone(name, kwargs):
    init, grads = make_data(3)
    params = [cr.tensor(a, dtype=cr.float32, requires_grad=True) for a in init]
    arrays = [p._data for p in params]
    opt = getattr(optim, name)(params, **kwargs)
    buffers = None
    for step_grads in grads:
        given = [g.astype(np.float32) for g in step_grads]
        for p, g in zip(params, given):
            p._grad = g
        before = [p.data.clone() for p in params]
        opt.step()
        for p, array, g, g0, b in zip(params, arrays, given, step_grads, before):
            assert p._data is array and p._grad is g
            np.testing.assert_array_equal(g, g0.astype(np.float32))
            assert not np.array_equal(p.data, b)
        current = [{k: v for k, v in opt.state[p].items() if isinstance(v, np.ndarray)} for p in params]
        if buffers is not None:
            assert all(current[i][k] is buffers[i][k] for i in range(3) for k in current[i])
        buffers = current
        assert all(v.dtype == np.float32 for s in current for v in s.values())


@pytest.mark.parametrize(("name", "kwargs"), FULL_STATE, ids=[n for n, _ in FULL_STATE])
def test_steady_state_step_allocates_nothing_parameter_sized(name, kwargs):
    rng = np.random.default_rng(0)
    params = [cr.tensor(rng.standard_normal(s), dtype=cr.float32, requires_grad=True)
              for s in [(300, 400), (400,), (7, 300)]]
    for p in params:
        p.grad = cr.from_numpy(rng.standard_normal(p.shape).astype(np.float32))
    opt = getattr(optim, name)(params, **kwargs)
    opt.step()
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        _ = params[0].data * 2.0  # the check can fail: one temporary is a parameter's size
        temporary = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert temporary >= params[0]._data.nbytes
    assert peak < 20_000, f"{name}.step allocated {peak} bytes at peak; a parameter is {params[0]._data.nbytes}"


def test_scratch_is_shared_across_parameters():
    params = [cr.tensor(np.ones(s), dtype=cr.float32, requires_grad=True) for s in [(10, 10), (5,), (3, 3)]]
    opt = optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1)
    for p in params:
        p.grad = cr.ones_like(p)
    opt.step()
    assert len(opt._scratch_pools) == 1 and opt._scratch_pools[np.dtype(np.float32)][0].size == 100


def test_params_without_grad_are_skipped():
    a, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = cr.tensor([1.0, 1.0])
    opt.step()
    assert b.data.tolist() == [3.0] and b not in opt.state and opt.state[a]["step"] == 1


def test_zero_grad():
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p._grad = g = np.ones(2, dtype=np.float32)
    opt.zero_grad(set_to_none=False)
    assert p._grad is g and g.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_add_param_group_matches_torch():
    init, grads = make_data(20)
    ours = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt = optim.SGD(ours[:1], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs[:1], lr=0.1, momentum=0.9, foreach=False)
    for k, step_grads in enumerate(grads):
        if k == 5:
            opt.add_param_group({"params": ours[1:], "lr": 0.01})
            topt.add_param_group({"params": theirs[1:], "lr": 0.01})
        for p, tp, g in zip(ours, theirs, step_grads):
            p.grad, tp.grad = cr.from_numpy(g), torch.tensor(g)
        opt.step()
        topt.step()
    assert opt.param_groups[1]["momentum"] == 0.9
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10)


def test_parameter_from_nn_and_repr():
    w = cr.nn.Parameter(np.ones(3, dtype=np.float32))
    opt = optim.SGD([w], lr=0.5)
    w.grad = cr.ones(3)
    opt.step()
    assert w.data.tolist() == [0.5, 0.5, 0.5]
    assert "SGD (\nParameter Group 0\n    dampening: 0\n    lr: 0.5" in repr(opt)


# ---------------------------------------------------------------------- errors
def _p():
    return cr.tensor([1.0], requires_grad=True)


BAD_OPTIONS = [
    (optim.SGD, {"lr": -0.1}, ValueError, r"^SGD: lr must be >= 0, got -0.1$"),
    (optim.SGD, {"lr": "0.1"}, TypeError, r"^SGD: lr must be a real number, got str '0.1'$"),
    (optim.SGD, {"lr": 0.1, "momentum": -0.5}, ValueError, r"^SGD: momentum must be >= 0, got -0.5$"),
    (optim.SGD, {"lr": 0.1, "weight_decay": -1}, ValueError, r"^SGD: weight_decay must be >= 0, got -1$"),
    (optim.SGD, {"lr": 0.1, "nesterov": True}, ValueError,
     r"^SGD: nesterov=True requires momentum > 0 and dampening = 0, got momentum=0, dampening=0$"),
    (optim.SGD, {"lr": 0.1, "nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError,
     r"got momentum=0.9, dampening=0.1"),
    (optim.Adam, {"lr": -1e-3}, ValueError, r"^Adam: lr must be >= 0, got -0.001$"),
    (optim.Adam, {"betas": (1.0, 0.999)}, ValueError, r"^Adam: betas\[0\] must be in \[0, 1\), got 1.0$"),
    (optim.Adam, {"betas": (0.9, -0.1)}, ValueError, r"^Adam: betas\[1\] must be in \[0, 1\), got -0.1$"),
    (optim.Adam, {"betas": 0.9}, TypeError, r"^Adam: betas must be a pair of numbers \(beta1, beta2\), got 0.9$"),
    (optim.Adam, {"eps": -1e-8}, ValueError, r"^Adam: eps must be >= 0, got -1e-08$"),
    (optim.Adam, {"weight_decay": -0.1}, ValueError, r"^Adam: weight_decay must be >= 0, got -0.1$"),
    (optim.AdamW, {"betas": (0.9, 1.5)}, ValueError, r"^AdamW: betas\[1\] must be in \[0, 1\), got 1.5$"),
    (optim.AdamW, {"weight_decay": -0.01}, ValueError, r"^AdamW: weight_decay must be >= 0, got -0.01$"),
    (optim.RMSprop, {"alpha": -0.5}, ValueError, r"^RMSprop: alpha must be >= 0, got -0.5$"),
    (optim.RMSprop, {"eps": -1.0}, ValueError, r"^RMSprop: eps must be >= 0, got -1.0$"),
    (optim.RMSprop, {"momentum": -0.9}, ValueError, r"^RMSprop: momentum must be >= 0, got -0.9$"),
    (optim.RMSprop, {"weight_decay": -2}, ValueError, r"^RMSprop: weight_decay must be >= 0, got -2$"),
]


@pytest.mark.parametrize(("cls", "kwargs", "error", "message"), BAD_OPTIONS, ids=[m for *_, m in BAD_OPTIONS])
def test_bad_options_raise_like_torch(cls, kwargs, error, message):
    with pytest.raises(error, match=message):
        cls([_p()], **kwargs)
    if error is ValueError:  # torch rejects the same values
        with pytest.raises(ValueError):
            getattr(torch.optim, cls.__name__)([torch.zeros(1)], **kwargs)


def test_bad_group_options_raise():
    with pytest.raises(ValueError, match=r"^SGD: lr must be >= 0, got -1$"):
        optim.SGD([{"params": [_p()], "lr": -1}], lr=0.1)
    opt = optim.Adam([_p()])
    with pytest.raises(ValueError, match=r"^Adam: betas\[0\] must be in \[0, 1\), got 2$"):
        opt.add_param_group({"params": [_p()], "betas": (2, 0.9)})


def test_bad_params_raise():
    p = _p()
    with pytest.raises(TypeError, match=r"SGD: params must be an iterable of Tensors or dicts, got a single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: expected at least one parameter, got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"Adam: can only optimize Tensors, got ndarray"):
        optim.Adam([np.ones(2)])
    with pytest.raises(TypeError, match=r"SGD: params must be an ordered collection \(list\), got a set"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: some parameters appear more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD: a param group must be a dict, got list"):
        optim.SGD([p], lr=0.1).add_param_group([p])
    with pytest.raises(ValueError, match=r"SGD: a param group must have a 'params' key, got keys \['lr'\]"):
        optim.SGD([p], lr=0.1).add_param_group({"lr": 0.1})


def test_grad_of_wrong_shape_raises():
    p = _p()
    with pytest.raises(RuntimeError, match=r"grad: assigned grad has shape \(3,\) but the tensor has shape \(1,\)"):
        p.grad = cr.ones(3)  # PyTorch refuses it at assignment too
    p._grad = np.ones(3, dtype=np.float32)  # behind the setter's back: the optimizer still checks
    with pytest.raises(ValueError, match=r"SGD.step: expected a gradient of shape \(1,\) \(the parameter's\), got"):
        optim.SGD([p], lr=0.1).step()
