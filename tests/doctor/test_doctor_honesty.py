"""What the doctor says agrees with its numbers: a finding keeps the evidence that triggered it, the
wording follows the sign of the loss change, and "try the fix" calls a remedy "improved" only when it
beats the spread of a second seed."""

from __future__ import annotations

import html
import math

import numpy as np
import pytest
from doctor_helpers import train

from chainrule.doctor import Finding, Remedy, try_fixes
from chainrule.doctor.fixes import improved, seed_noise
from chainrule.doctor.report import render_html
from chainrule.doctor.rules import Verdict
from chainrule.doctor.texts import Context, finding, loss_change
from chainrule.training.models import MLPSpec

# ---------------------------------------------------------------------------- evidence kept at the trigger

RUNS = {  # runs whose finding is seen again after it was first reported
    "dead_relu": (MLPSpec(64, (64, 64), 10), dict(epochs=5, optimizer="adam", lr=0.3)),
    "exploding_gradients": (MLPSpec(64, (64, 64), 10), dict(epochs=3, optimizer="sgd", lr=10.0)),
    "saturation": (MLPSpec(64, (64, 64), 10, activation="tanh", init="normal:3.0"),
                   dict(epochs=4, n=640, optimizer="adam", lr=1e-3)),
    "learning_rate_too_low": (MLPSpec(64, (64, 64), 10), dict(epochs=4, n=640, optimizer="sgd", lr=1e-5)),
    "vanishing_gradients": (MLPSpec(64, (32,) * 8, 10, activation="sigmoid"),
                            dict(epochs=4, n=640, optimizer="sgd", lr=0.1)),
}


@pytest.fixture(scope="module")
def histories(digits):
    return {kind: train(spec, digits, **kwargs) for kind, (spec, kwargs) in RUNS.items()}


@pytest.mark.parametrize("kind", list(RUNS))
def test_a_finding_keeps_the_evidence_that_triggered_it_and_later_ones_are_a_series(histories, kind):
    history = histories[kind]
    found = [f for f in history.doctor.findings if f.kind == kind]
    assert found
    for f in found:
        # the line logged when it was first reported is still its summary: nothing overwrote it
        assert f"doctor: {f.summary()}" in history.messages
        assert f.updates, "each run sees the problem again after the first report"
        assert all(u["step"] > f.step or u["epoch"] > f.epoch for u in f.updates)
        assert (f.last_step, f.last_epoch) == (f.updates[-1]["step"], f.updates[-1]["epoch"])
        ev, config = f.evidence, history.doctor.config
        if kind == "exploding_gradients" and ev["criterion"] == "spike":
            assert ev["steps_in_a_row"] == config.persistence  # the moment it tripped, not a later one
            spikes = [u for u in f.updates if u["criterion"] == "spike"]  # later ones may say "before_non_finite"
            assert spikes[-1]["steps_in_a_row"] > config.persistence
            assert ev["spike_ratio"] > ev["threshold"] and f"{ev['spike_ratio']:.3g}×" in ev["summary"]
        if kind == "exploding_gradients" and ev["criterion"] == "growth":
            assert ev["growth"] > ev["threshold"] and f"{ev['growth']:.3g}×" in ev["summary"]
            assert any(u["growth"] != ev["growth"] for u in f.updates if "growth" in u)  # later values apart
        if kind in ("dead_relu", "saturation"):
            assert ev["in_a_row"] == config.epoch_persistence
            assert f"{ev['in_a_row']} epochs in a row" in ev["summary"]
        if kind == "dead_relu":
            assert f"in epoch {f.epoch}" in ev["summary"]
        assert Finding.from_dict(f.to_dict()) == f  # the series survives diagnoses.json
    page = render_html(found, {})
    assert page.count("seen again") == len(found) and html.escape(found[0].evidence["summary"]) in page


def test_no_summary_says_a_negative_improvement(histories):
    for history in histories.values():
        for f in history.doctor.findings:
            assert not any(bad in f.evidence["summary"] for bad in ("by -", "by only -", "improved by"))


# ---------------------------------------------------------------------------- numbers the report shows


@pytest.mark.parametrize("bias", [0.0, 4.0, 8.0, 12.0, 16.0, 40.0])  # 8 and up: outputs within 3e-4 of 1
def test_an_activation_s_std_is_numpy_s_even_when_saturated(bias):
    # the reference: NumPy's two-pass std in float64 of the very outputs the layer produced. E[x²] - mean² in
    # float32 read 0.0 at bias 8 (true 2.5e-4) and 2.6e-3 at bias 12 (true 4.5e-6)
    import chainrule as cr
    from chainrule import nn
    from chainrule.doctor import Doctor

    model = nn.Sequential(nn.Linear(20, 256), nn.Sigmoid(), nn.Linear(256, 2))
    with cr.no_grad():
        model[0].bias.fill_(bias)
    outputs = []
    model[1].register_forward_hook(lambda module, args, out: outputs.append(out.detach().numpy().astype(np.float64)))
    doctor = Doctor().watch(model)
    x = cr.from_numpy(np.random.default_rng(0).normal(size=(128, 20)).astype(np.float32))
    loss = model(x).sum()
    loss.backward()
    doctor.check(loss=float(loss.item()))
    assert doctor.metrics["act_std"]["1"][0] == pytest.approx(outputs[0].std(), rel=1e-4, abs=1e-12)


# ---------------------------------------------------------------------------- wording


@pytest.mark.parametrize(("improvement", "words"), [
    (0.004, "the loss fell by only 0.4%"),
    (-0.105, "the loss rose by 10.5%"),
    (0.0, "the loss did not change"),
    (None, "the loss changed by an unknown amount"),
    (math.nan, "the loss changed by an unknown amount"),
])
def test_loss_change_is_worded_by_its_sign(improvement, words):
    assert loss_change(improvement) == words


LOSS_WORDED = [  # every kind whose summary mentions the loss's change, with a loss that rose 10.5%
    Verdict("dead_relu", "layers.3", {"dead_fraction": 0.5, "threshold": 0.1, "units": 64, "dead_units": 32,
                                      "fed_by": "layers.2", "zero_gradient_fraction": 0.5, "in_a_row": 2,
                                      "loss_improvement": -0.105}),
    Verdict("vanishing_gradients", "layers.0", {"ratio_lowest_to_highest": 1e-5, "threshold": 1e-3, "grad_rms": {},
                                                "ratio_to_top": {}, "starved_layers": ["layers.0"],
                                                "highest_layer": "layers.4", "loss_improvement": -0.105}),
    Verdict("learning_rate_too_high", "layers.0", {"update_ratio": 0.3, "per_layer": {}, "lr": 1.0,
                                                   "loss_improvement": -0.105, "threshold": 0.1}),
    Verdict("learning_rate_too_low", "layers.0", {"update_ratio": 1e-6, "per_layer": {}, "lr": 1e-5,
                                                  "loss_improvement": -0.105, "threshold": 1e-4}),
]


@pytest.mark.parametrize("verdict", LOSS_WORDED, ids=[v.kind for v in LOSS_WORDED])
def test_a_loss_that_rose_is_said_to_have_risen(verdict):
    f = finding(verdict, 100, 3, Context(lr=0.1, period="epoch 3"))
    assert "the loss rose by 10.5%" in f.evidence["summary"]
    assert "-10" not in f.evidence["summary"] and "improved" not in f.evidence["summary"]


def test_an_absolute_gradient_limit_is_not_called_a_spike():
    evidence = {"criterion": "absolute", "grad_rms": 2e3, "running_average": 1.5e3, "spike_ratio": 1.3,
                "threshold": 1e3, "steps_in_a_row": 3, "loss": 2.0, "loss_running_average": 2.1,
                "layer_spike_ratios": {}}
    summary = finding(Verdict("exploding_gradients", None, evidence), 7, 0, Context()).evidence["summary"]
    assert summary.startswith("gradient RMS 2e+03 per element is above the limit 1000")
    assert "its running average for" not in summary


def test_learning_rate_too_low_says_how_many_times_below_the_rule_of_thumb():
    verdict = Verdict("learning_rate_too_low", "layers.0", {"update_ratio": 2e-5, "per_layer": {}, "lr": 1e-4,
                                                           "loss_improvement": 0.001, "threshold": 1e-4})
    assert "50 times less than the usual 1e-3" in finding(verdict, 10, 1, Context()).explanation


# ---------------------------------------------------------------------------- try the fix


@pytest.mark.parametrize(("before", "after", "noise", "verdict"), [
    (0.634, 0.669, 0.0, False),     # worse is never "improved"
    (0.634, 0.634, 0.0, False),     # unchanged
    (1.0, 0.9, 0.2, False),         # better, but by less than a second seed moves it
    (1.0, 0.7, 0.2, True),          # better by more than the seed noise
    (math.inf, 0.5, 0.0, True),     # a diverged run made finite
    (math.inf, math.inf, 0.0, False),
    (0.5, math.inf, 0.0, False),    # the remedy made it diverge
])
def test_improved_means_beating_the_seed_noise(before, after, noise, verdict):
    assert improved(before, after, noise) is verdict


@pytest.mark.parametrize(("first", "second", "noise"), [(1.0, 1.25, 0.25), (math.inf, math.inf, 0.0),
                                                        (0.5, math.inf, math.inf)])
def test_seed_noise_is_the_spread_of_two_seeds(first, second, noise):
    assert seed_noise(first, second) == noise


@pytest.mark.parametrize(("change", "why"), [({"lr": 1.0}, "worse"), ({"lr": 1e-3}, "the same run")])
def test_a_remedy_that_does_not_help_is_no_better(digits, change, why):
    spec = MLPSpec(64, (32,), 10)
    fit_kwargs = {"train": (digits.train.X[:320], digits.train.y[:320]), "val": digits.val, "optimizer": "adam",
                  "lr": 1e-3, "epochs": 3}
    claim = Finding("learning_rate_too_low", "warning", "layers.0", 10, 1, {}, "", [Remedy("try it", change)])
    with np.errstate(all="ignore"):
        (result,) = try_fixes(spec, fit_kwargs, [claim], steps=None)
    assert result.metric == "val_loss" and result.noise is not None and result.noise >= 0
    assert not result.improved and result.verdict == "no better", why
    assert result.to_dict()["verdict"] == "no better" and "no better" in result.notes[0]
    if why == "worse":
        assert result.after["val_loss"] > result.before["val_loss"]
