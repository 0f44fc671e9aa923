"""Every scheduler's lr sequence against torch.optim.lr_scheduler, plus state_dict round trips and errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler

STEPS = 60
LRS = [0.1, 0.01]

SCHEDULES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.95}),
    ("CosineAnnealingLR", {"T_max": 20}),  # 60 steps run through the rise after T_max
    ("CosineAnnealingLR", {"T_max": 13, "eta_min": 0.001}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "total_iters": 10}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 30}),
    ("OneCycleLR", {"max_lr": [1.0, 0.1], "total_steps": STEPS}),
    ("OneCycleLR", {"max_lr": 0.5, "epochs": 6, "steps_per_epoch": 10, "anneal_strategy": "linear"}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": STEPS, "three_phase": True, "pct_start": 0.25}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": STEPS, "cycle_momentum": False, "div_factor": 10.0}),
]


def make_optimizers(name: str = "SGD"):
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    ours = getattr(optim, name)(
        [{"params": [cr.tensor([1.0], requires_grad=True)], "lr": lr} for lr in LRS], **kwargs)
    theirs = getattr(torch.optim, name)([{"params": [torch.ones(1)], "lr": lr} for lr in LRS], **kwargs)
    return ours, theirs


def momenta(opt) -> list[float]:
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def assert_same(ours, theirs, opt, topt):
    np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12, atol=0)
    np.testing.assert_allclose([g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups],
                               rtol=1e-12, atol=0)
    np.testing.assert_allclose(momenta(opt), momenta(topt), rtol=1e-12, atol=0)


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES, ids=[f"{n}-{k}" for n, k in SCHEDULES])
def test_lr_sequence_matches_torch(name, kwargs):
    opt, topt = make_optimizers()
    ours = getattr(lr_scheduler, name)(opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    assert_same(ours, theirs, opt, topt)
    seen = set()
    for _ in range(STEPS):
        opt.step()
        topt.step()
        ours.step()
        theirs.step()
        assert_same(ours, theirs, opt, topt)
        seen.add(round(ours.get_last_lr()[0], 15))
    assert len(seen) > 3  # the schedule really moved


def test_one_cycle_cycles_adam_beta1_like_torch():
    opt, topt = make_optimizers("Adam")
    ours = lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=30, base_momentum=[0.8, 0.7])
    theirs = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.01, total_steps=30, base_momentum=[0.8, 0.7])
    for _ in range(30):
        opt.step()
        topt.step()
        ours.step()
        theirs.step()
        assert_same(ours, theirs, opt, topt)
        assert isinstance(opt.param_groups[0]["betas"], tuple)
    with pytest.raises(ValueError, match=r"OneCycleLR: tried to step 31 times, but total_steps is 30"):
        ours.step()


def test_chained_schedulers_match_torch():
    """torch's schedulers compose (each scales the current lr); warm-up then decay on the same optimizer."""
    opt, topt = make_optimizers()
    ours = [lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=8), lr_scheduler.ExponentialLR(opt, gamma=0.9)]
    theirs = [torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.2, total_iters=8),
              torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.9)]
    for _ in range(30):
        opt.step()
        topt.step()
        for a, b in zip(ours, theirs):
            a.step()
            b.step()
            assert_same(a, b, opt, topt)


METRICS = [1.0, 0.9, 0.8, 0.8, 0.80001, 0.81, 0.82, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69, 0.7, 0.7, 0.7, 0.7, 0.71,
           0.72, 0.73, 0.74, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
PLATEAUS = [
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.02, 0.004]},
    {"mode": "max", "patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
    {"mode": "min", "patience": 0, "threshold": 0.1, "threshold_mode": "rel", "min_lr": 0.001},
]


@pytest.mark.parametrize("kwargs", PLATEAUS, ids=str)
def test_reduce_on_plateau_matches_torch(kwargs):
    opt, topt = make_optimizers()
    ours = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    assert_same(ours, theirs, opt, topt)
    for metric in METRICS:
        ours.step(cr.tensor(metric) if metric == 0.6 else metric)  # a one-element tensor also works
        theirs.step(metric)
        assert_same(ours, theirs, opt, topt)
        assert (ours.num_bad_epochs, ours.cooldown_counter) == (theirs.num_bad_epochs, theirs.cooldown_counter)
    assert ours.get_last_lr()[0] < LRS[0]


def _assert_plain(value):
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        for v in value.values():
            _assert_plain(v)
    elif isinstance(value, list):
        for v in value:
            _assert_plain(v)
    else:
        assert value is None or type(value) in (int, float, str, bool), type(value)


ROUND_TRIPS = [*SCHEDULES, ("ReduceLROnPlateau", {"patience": 1, "cooldown": 1})]


@pytest.mark.parametrize(("name", "kwargs"), ROUND_TRIPS, ids=[f"{n}-{k}" for n, k in ROUND_TRIPS])
def test_state_dict_round_trip_continues_the_schedule(name, kwargs):
    def run(sched, opt, steps):
        lrs = []
        for k in steps:
            opt.step()
            sched.step(METRICS[k % len(METRICS)]) if name == "ReduceLROnPlateau" else sched.step()
            lrs.append(sched.get_last_lr() + momenta(opt))
        return lrs

    opt, _ = make_optimizers()
    straight = run(getattr(lr_scheduler, name)(opt, **kwargs), opt, range(STEPS))

    opt, _ = make_optimizers()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    first = run(sched, opt, range(25))
    saved_sched = json.loads(json.dumps(sched.state_dict()))  # plain data survives JSON
    _assert_plain(sched.state_dict())
    saved_opt = json.loads(json.dumps(opt.state_dict(), default=lambda a: a.tolist()))

    fresh_opt, _ = make_optimizers()
    fresh = getattr(lr_scheduler, name)(fresh_opt, **kwargs)  # build the scheduler first, then load (as torch)
    fresh_opt.load_state_dict(saved_opt)
    fresh.load_state_dict(saved_sched)
    rest = run(fresh, fresh_opt, range(25, STEPS))
    np.testing.assert_allclose(first + rest, straight, rtol=1e-15, atol=0)


# ---------------------------------------------------------------------- errors
def _opt():
    return optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1)


BAD = [
    (lambda: lr_scheduler.StepLR(_opt(), step_size=0), ValueError,
     r"^StepLR: step_size must be a positive integer, got 0$"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=2.5), ValueError, r"step_size must be a positive integer, got 2.5"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=0), ValueError,
     r"^CosineAnnealingLR: T_max must be a positive integer, got 0$"),
    (lambda: lr_scheduler.LinearLR(_opt(), start_factor=0), ValueError,
     r"^LinearLR: start_factor must be in \(0, 1\], got 0$"),
    (lambda: lr_scheduler.LinearLR(_opt(), end_factor=1.5), ValueError,
     r"^LinearLR: end_factor must be in \[0, 1\], got 1.5$"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0), ValueError,
     r"^OneCycleLR: give total_steps, or epochs and steps_per_epoch; got total_steps=None, epochs=None"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=0), ValueError,
     r"^OneCycleLR: total_steps must be a positive integer, got 0$"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, epochs=2, steps_per_epoch=-1), ValueError,
     r"^OneCycleLR: steps_per_epoch must be a positive integer, got -1$"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=10, pct_start=1.5), ValueError,
     r"^OneCycleLR: pct_start must be in \[0, 1\], got 1.5$"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=10, anneal_strategy="exp"), ValueError,
     r"^OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'exp'$"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=[1.0, 2.0], total_steps=10), ValueError,
     r"^OneCycleLR: max_lr needs one value per param group \(1\), got 2$"),
    (lambda: lr_scheduler.OneCycleLR(optim.Optimizer([cr.tensor([1.0])], {"lr": 0.1}), max_lr=1.0, total_steps=10),
     ValueError, r"^OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas, got Optimizer"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), factor=1.0), ValueError,
     r"^ReduceLROnPlateau: factor must be < 1.0, got 1.0$"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), mode="avg"), ValueError,
     r"^ReduceLROnPlateau: mode must be 'min' or 'max', got 'avg'$"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), threshold_mode="pct"), ValueError,
     r"^ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got 'pct'$"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), min_lr=[0.1, 0.2]), ValueError,
     r"^ReduceLROnPlateau: min_lr needs one value per param group \(1\), got 2$"),
    (lambda: lr_scheduler.ExponentialLR(torch.optim.SGD([torch.ones(1)]), gamma=0.9), TypeError,
     r"^ExponentialLR: optimizer must be a chainrule.optim.Optimizer, got SGD$"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=2, last_epoch=3), KeyError,
     r"StepLR: resuming with last_epoch=3 needs param_groups\[0\]\['initial_lr'\]"),
]


@pytest.mark.parametrize(("build", "error", "message"), BAD, ids=[m for *_, m in BAD])
def test_bad_arguments_raise(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_cosine_reaches_eta_min_at_t_max():
    opt = _opt()
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for _ in range(10):
        opt.step()
        sched.step()
    assert math.isclose(sched.get_last_lr()[0], 0.01, rel_tol=1e-12)
