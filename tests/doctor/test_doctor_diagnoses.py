"""The must-show cases: each failure is diagnosed with the right layer, and its fixed twin is not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from doctor_helpers import only, train

import chainrule as cr
from chainrule.training.callbacks import Callback
from chainrule.training.models import MLPSpec

DEEP = (32,) * 8  # 8 hidden layers: Linear modules layers.0, layers.2, ..., layers.16


def _grad_rms_by_hand(model, X, y):
    """Per-Linear weight-gradient RMS from one plain forward/backward on (X, y), no doctor involved."""
    model.zero_grad()
    loss = cr.nn.CrossEntropyLoss()(model(cr.tensor(X)), cr.tensor(y))
    loss.backward()
    return {name: float(np.sqrt(np.mean(m.weight.grad.numpy() ** 2))) for name, m in model.named_modules()
            if isinstance(m, cr.nn.Linear)}


def test_deep_sigmoid_with_sgd_is_diagnosed_vanishing_at_the_lowest_layers(digits):
    history = train(MLPSpec(64, DEEP, 10, activation="sigmoid"), digits, epochs=3, n=640, optimizer="sgd", lr=0.1)
    (finding,) = only(history, "vanishing_gradients")
    assert finding.layer == "layers.0" and finding.severity == "warning"
    assert finding.evidence["highest_layer"] == "layers.16"
    starved = finding.evidence["starved_layers"]
    assert starved[:3] == ["layers.0", "layers.2", "layers.4"]
    assert finding.evidence["ratio_lowest_to_highest"] < 1e-3
    # an independent measurement on the trained model agrees on the order of magnitude
    by_hand = _grad_rms_by_hand(history.doctor.model, digits.train.X[:256], digits.train.y[:256])
    assert by_hand["layers.0"] / by_hand["layers.16"] < 1e-3
    assert finding.remedies[0].change == {"activation": "relu", "init": "he"}
    assert "layers.1–layers.15" in finding.remedies[0].description
    assert "small" in finding.explanation


def test_same_depth_with_relu_and_he_init_is_not_vanishing(digits):
    history = train(MLPSpec(64, DEEP, 10, activation="relu", init="he"), digits, epochs=3, n=640, optimizer="sgd",
                    lr=0.05)
    assert "vanishing_gradients" not in history.doctor.kinds()
    assert history.epochs[-1]["loss"] < 0.8 * history.epochs[0]["loss"]


def test_sgd_divergence_is_caught_as_exploding_before_the_loss_is_nan(digits):
    history = train(MLPSpec(64, (64, 64), 10), digits, epochs=3, optimizer="sgd", lr=10.0)
    doctor = history.doctor
    losses = doctor.metrics["loss"]
    first_nan = next(i for i, v in enumerate(losses) if not math.isfinite(v))
    (exploding,) = only(history, "exploding_gradients")
    assert exploding.step < first_nan and exploding.severity == "error"
    assert exploding.evidence["spike_ratio"] > doctor.config.spike_factor
    (nan,) = only(history, "non_finite")
    assert nan.step == first_nan and "loss" in nan.evidence["non_finite_in"]
    assert history.stopped_early  # TerminateOnNaN-style: nothing after a NaN is worth computing
    assert exploding.remedies[0].change == {"lr": 1.0}
    assert {"clip_grad_norm", "batch_norm"} <= {k for r in exploding.remedies for k in r.change}


@pytest.mark.parametrize("spec_changes, fit_changes, gone", [
    ({}, {"lr": 0.5}, {"exploding_gradients", "non_finite"}),          # a lower rate
    ({"batch_norm": True}, {}, {"exploding_gradients", "non_finite"}),  # batch norm
    # clipping bounds each step but leaves lr=10: no NaN, yet the loss ends ~3x the untrained one's and the
    # (unclipped) gradient grows ~20x, so growth and a too-high rate are still reported, rightly
    ({}, {"clip_grad_norm": 1.0}, {"non_finite"}),
], ids=["lower-lr", "batch-norm", "clipping"])
def test_divergence_remedies_remove_what_they_fix(digits, spec_changes, fit_changes, gone):
    spec = MLPSpec(64, (64, 64), 10).replace(**spec_changes)
    history = train(spec, digits, epochs=3, n=640, optimizer="sgd", **{"lr": 10.0, **fit_changes})
    assert not gone & history.doctor.kinds()
    assert all(math.isfinite(v) for v in history.doctor.metrics["loss"])
    if "exploding_gradients" not in gone:
        losses = history.doctor.metrics["loss"]
        assert np.mean(losses[-10:]) > losses[0]  # the loss did not improve: the findings are not false alarms
        assert "learning_rate_too_high" in history.doctor.kinds()


def _never_fired(model, X, relu_index):
    """Fraction of a ReLU layer's units that output 0 for every sample of X (computed without the doctor)."""
    with cr.no_grad():
        h = model.layers[: relu_index + 1](cr.tensor(X)).data
    return float(np.mean((~(h > 0).any(dim=0)).numpy()))


class NeverFiredPerEpoch(Callback):
    """At each epoch's end, ``_never_fired`` of ReLU ``relu_index`` on X: a plain-NumPy reference for the doctor."""

    def __init__(self, X, relu_index):
        self.X, self.relu_index, self.fractions = X, relu_index, []

    def on_epoch_end(self, epoch, logs=None):
        self.fractions.append(_never_fired(self.trainer.model, self.X, self.relu_index))


def test_adam_at_a_high_rate_kills_relu_units_and_is_diagnosed_dead(digits):
    reference = NeverFiredPerEpoch(digits.train.X, 3)
    history = train(MLPSpec(64, (64, 64), 10), digits, epochs=4, optimizer="adam", lr=0.3, callbacks=[reference])
    findings = only(history, "dead_relu")
    assert [f.layer for f in findings] == ["layers.3"]  # layers.1 keeps firing
    (dead,) = findings
    fraction = dead.evidence["dead_fraction"]
    assert fraction >= 0.5 and dead.evidence["units"] == 64  # most of the layer (the rule asks a majority)
    assert dead.evidence["dead_units"] == round(fraction * 64)
    assert dead.evidence["fed_by"] == "layers.2"
    assert dead.evidence["zero_gradient_fraction"] >= fraction - 0.05  # dead units pass back exact zeros
    # units dead when the triggering epoch began are silent through it, and no more than those dead when it ended
    # can be: the doctor's count lies between the two plain-NumPy counts (one unit of slack for train vs eval mode)
    before = reference.fractions[dead.epoch - 1] if dead.epoch else 0.0
    assert before - 1 / 64 <= fraction <= reference.fractions[dead.epoch] + 1 / 64
    assert history.doctor.metrics["dead_fraction"]["layers.1"][-1] < 0.1
    assert dead.remedies[0].change == {"lr": 0.03}
    assert {"activation": "leaky_relu"} in [r.change for r in dead.remedies]
    assert "stuck" in dead.explanation
    logged = [m for m in history.messages if m.startswith("doctor: [warning] dead_relu at layers.3")]
    assert len(logged) == 1  # reported as it happened, once, however many epochs it persisted


def test_adam_at_a_sound_rate_has_no_dead_units_reported(digits):
    history = train(MLPSpec(64, (64, 64), 10), digits, epochs=4, optimizer="adam", lr=1e-3)
    assert "dead_relu" not in history.doctor.kinds()


def test_leaky_relu_is_never_reported_dead(digits):
    history = train(MLPSpec(64, (64, 64), 10, activation="leaky_relu"), digits, epochs=4, optimizer="adam", lr=0.3)
    assert "dead_relu" not in history.doctor.kinds()
    assert history.doctor.metrics["dead_fraction"] == {}


def test_units_silenced_by_full_dropout_are_not_called_dead_relus(digits):
    # Dropout(p=1.0) zeroes the next layer's input, so its ReLUs only see their biases: Dropout warns about
    # that itself; calling those units "dead" would send the learner after the learning rate instead.
    history = train(MLPSpec(64, (256, 256), 10, dropout=1.0), digits, epochs=5, optimizer="adam", lr=1e-3)
    assert history.doctor.after_full_dropout >= {"layers.3", "layers.4"}
    assert "dead_relu" not in history.doctor.kinds()
    assert history.doctor.metrics["dead_fraction"]["layers.4"][-1] > 0.1  # silent units that would have tripped it


def test_large_network_on_few_noisy_samples_is_diagnosed_overfitting(digits):
    n = 200
    rng = np.random.default_rng(0)
    X, y = digits.train.X[:n], digits.train.y[:n].copy()
    flip = rng.random(n) < 0.2
    y[flip] = rng.integers(0, 10, flip.sum())  # noise a big network can memorize
    from chainrule import fit  # the top-level fit: doctor=True by default
    from chainrule.doctor import Doctor
    from chainrule.training.models import build_mlp

    history = fit(build_mlp(MLPSpec(64, (256, 256), 10), seed=0), (X, y), digits.val, epochs=30, verbose=0,
                  doctor=Doctor(), optimizer="adam", lr=1e-3)
    (finding,) = only(history, "overfitting")
    ev = finding.evidence
    assert ev["generalization_loss"] > 0.05 and ev["train_accuracy"] - ev["val_accuracy"] >= 0.1
    best = min(range(len(history.epochs)), key=lambda e: history.epochs[e]["val_loss"])
    assert ev["best_epoch"] <= best or history.epochs[ev["best_epoch"]]["val_loss"] == pytest.approx(
        history.epochs[best]["val_loss"])
    changes = [r.change for r in finding.remedies]
    assert changes[0] == {"dropout": 0.3}
    assert {"hidden": [128, 128]} in changes


def test_a_healthy_digits_run_reports_nothing(digits):
    history = train(MLPSpec(64, (64, 64), 10), digits, epochs=10, val=digits.val, optimizer="adam", lr=1e-3)
    assert history.epochs[-1]["val_accuracy"] > 0.9
    assert history.doctor.findings == []
    assert history.doctor.messages == []


def test_tiny_sgd_steps_while_stalled_are_diagnosed_learning_rate_too_low(digits):
    history = train(MLPSpec(64, (64, 64), 10), digits, epochs=3, n=640, optimizer="sgd", lr=1e-5)
    (finding,) = only(history, "learning_rate_too_low")
    assert finding.evidence["update_ratio"] < 1e-4
    assert finding.remedies[0].change == {"lr": 1e-4}


def test_saturated_tanh_layers_are_diagnosed(digits):
    history = train(MLPSpec(64, (64, 64), 10, activation="tanh", init="normal:3.0"), digits, epochs=2, n=640,
                    optimizer="adam", lr=1e-3)
    layers = {f.layer for f in only(history, "saturation")}
    assert layers == {"layers.1", "layers.3"}
    assert all(f.evidence["saturated_fraction"] >= 0.5 for f in only(history, "saturation"))
