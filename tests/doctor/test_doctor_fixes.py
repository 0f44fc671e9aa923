"""Try the fix: the top remedy, re-run from the same seed, moves the metric the finding was about."""

from __future__ import annotations

import io

import pytest
from doctor_helpers import only, train
from rich.console import Console

from chainrule import nn
from chainrule.doctor import FixResult, try_fixes
from chainrule.doctor.fixes import fixes_table
from chainrule.training.models import MLPSpec


def _subset(digits, n):
    return digits.train.X[:n], digits.train.y[:n]


def test_relu_with_he_init_fixes_vanishing_gradients(digits):
    spec = MLPSpec(64, (32,) * 8, 10, activation="sigmoid")
    fit_kwargs = {"train": _subset(digits, 640), "optimizer": "sgd", "lr": 0.1, "epochs": 3, "seed": 0}
    history = train(spec, digits, epochs=3, n=640, optimizer="sgd", lr=0.1)
    findings = only(history, "vanishing_gradients")
    (result,) = try_fixes(spec, fit_kwargs, findings, steps=60)
    assert isinstance(result, FixResult) and result.remedy.change == {"activation": "relu", "init": "he"}
    assert result.before["grad_ratio"] < 1e-3
    assert result.after["grad_ratio"] > 1000 * result.before["grad_ratio"]
    assert result.after["final_loss"] < result.before["final_loss"]
    assert result.improved and result.resolved and result.target == "grad_ratio" and result.metric == "final_loss"
    assert "vanishing_gradients" in result.before["kinds"]  # the short re-run reproduces the failure
    console = Console(file=io.StringIO(), width=200)
    console.print(fixes_table([result]))
    assert "switch layers.1–layers.15 from Sigmoid to ReLU" in console.file.getvalue()


def test_a_lower_rate_revives_dead_units(digits):
    spec = MLPSpec(64, (64, 64), 10)
    fit_kwargs = {"train": (digits.train.X, digits.train.y), "optimizer": "adam", "lr": 0.3, "epochs": 4}
    history = train(spec, digits, epochs=4, optimizer="adam", lr=0.3)
    (result,) = try_fixes(spec, fit_kwargs, only(history, "dead_relu"), steps=None)
    assert result.remedy.change == {"lr": 0.03}
    assert result.before["dead_fraction"] >= 0.8 and result.after["dead_fraction"] < 0.25
    assert result.improved and result.resolved
    assert result.to_dict()["remedy"] == {"description": result.remedy.description, "change": {"lr": 0.03}}


def test_models_without_a_spec_get_optimizer_level_remedies_only(digits):
    spec = MLPSpec(64, (32,) * 8, 10, activation="sigmoid")
    history = train(spec, digits, epochs=3, n=640, optimizer="sgd", lr=0.1)

    def build():
        layers: list[nn.Module] = []
        for width_in in (64,) + (32,) * 7:
            layers += [nn.Linear(width_in, 32), nn.Sigmoid()]
        return nn.Sequential(*layers, nn.Linear(32, 10))

    fit_kwargs = {"train": _subset(digits, 640), "optimizer": "sgd", "lr": 0.1, "epochs": 3}
    (result,) = try_fixes(build, fit_kwargs, only(history, "vanishing_gradients"), steps=40)
    assert result.remedy.change == {"optimizer": "adam", "lr": 0.001}  # the first remedy that needs no spec


def test_try_fixes_rejects_what_it_cannot_run():
    with pytest.raises(TypeError, match=r"try_fixes: spec must be an MLPSpec or a callable .*got int"):
        try_fixes(42, {"train": ([[0.0]], [0])}, [])
    with pytest.raises(TypeError, match=r"try_fixes: fit_kwargs must hold 'train'.*got keys \['lr'\]"):
        try_fixes(MLPSpec(1, (2,), 2), {"lr": 0.1}, [])
