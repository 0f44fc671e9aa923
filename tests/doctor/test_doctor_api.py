"""The Doctor outside fit: watch/check/end_epoch in a hand-written loop, config, findings, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.doctor import Doctor, DoctorConfig, Finding, Remedy


def _deep_sigmoid() -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(8):
        layers += [nn.Linear(32 if layers else 16, 32), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(32, 4))


def _loop(model, doctor, X, y, epochs, lr, batch=32):
    opt = optim.SGD(model.parameters(), lr=lr)
    doctor.watch(model, opt)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        total = 0.0
        for start in range(0, len(X), batch):
            loss = loss_fn(model(cr.tensor(X[start:start + batch])), cr.tensor(y[start:start + batch]))
            opt.zero_grad()
            loss.backward()
            doctor.check(model, loss=loss.item())
            opt.step()
            total += loss.item()
        doctor.end_epoch(train_loss=total / math.ceil(len(X) / batch))


def _blobs(n=256, features=16, classes=4):
    rng = np.random.default_rng(0)
    y = np.arange(n) % classes
    X = rng.normal(size=(classes, features))[y] + 0.5 * rng.normal(size=(n, features))
    return X.astype(np.float32), y


def test_custom_loop_finds_vanishing_gradients_and_names_the_bottom_layer():
    cr.manual_seed(0)
    model, doctor = _deep_sigmoid(), Doctor()
    X, y = _blobs()
    _loop(model, doctor, X, y, epochs=3, lr=0.1)
    assert doctor.layer_names == [str(i) for i in range(0, 17, 2)]
    (finding,) = [f for f in doctor.findings if f.kind == "vanishing_gradients"]
    assert finding.layer == "0"
    # the doctor's per-step series line up with its sample steps
    m = doctor.metrics
    assert len(m["steps"]) == len(m["grad_rms"]["0"]) == len(m["signal_rms"]["0"]) == len(m["act_std"]["1"])
    assert m["steps"][:2] == [0, doctor.config.stats_every]
    # backprop signal ∂loss/∂pre-activation shrinks layer by layer toward the input
    signal = [np.nanmedian(m["signal_rms"][name]) for name in doctor.layer_names]
    assert signal[0] < signal[-1] * 1e-3
    # a custom model has no MLPSpec: the top remedy still names the sigmoid layers
    assert finding.remedies[0].change == {"activation": "relu", "init": "he"}
    assert "1–15" in finding.remedies[0].description


def test_first_layer_with_non_finite_output_is_named():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
    X, y = _blobs()
    model[2].weight.data[0, 0] = np.inf  # layers below it are fine; its output is the first to break
    doctor = Doctor().watch(model)
    with np.errstate(all="ignore"):
        loss = nn.CrossEntropyLoss()(model(cr.tensor(X[:32])), cr.tensor(y[:32]))
        loss.backward()
        new = doctor.check(model, loss=loss.item())
    assert [f.kind for f in new] == ["non_finite"]
    assert new[0].layer == "2" and new[0].evidence["first_non_finite_output"] == "2"
    assert new[0].severity == "error"
    assert doctor.check(model, loss=float("nan")) == []  # reported once; the doctor stops measuring


def test_a_non_finite_step_between_samples_is_located_and_finite_steps_outputs_are_let_go():
    # the doctor holds a step's outputs until its check: a later step that breaks is still located at its own
    # check, and a finite step's outputs are not kept alive by the doctor after it (weakly referenced here)
    import weakref

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
    X, y = _blobs()
    kept = []
    model[2].register_forward_hook(lambda module, args, out: kept.append(weakref.ref(out._data)))
    doctor = Doctor(stats_every=10).watch(model)
    for step in range(4):
        if step == 3:
            model[2].weight.data[0, 0] = np.inf
        with np.errstate(all="ignore"):
            loss = nn.CrossEntropyLoss()(model(cr.tensor(X[:32])), cr.tensor(y[:32]))
            loss.backward()
            new = doctor.check(model, loss=loss.item())
        model.zero_grad()
        del loss
        if step < 3:
            assert new == [] and kept[-1]() is None  # let go once checked and no longer the graph's
    assert [f.kind for f in new] == ["non_finite"] and new[0].step == 3
    assert new[0].evidence["first_non_finite_output"] == "2"


def test_relu_fired_mask_is_a_running_or_over_the_epoch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    model[0].weight.data[...] = [[1, 0], [0, 1], [-1, -1]]
    model[0].bias.data[...] = [0, 0, -10]  # unit 2 never fires on these inputs
    doctor = Doctor().watch(model)
    for xb in ([[1.0, -1.0]], [[-1.0, 1.0]]):  # unit 0 fires on the first batch only, unit 1 on the second
        out = model(cr.tensor(xb)).sum()
        out.backward()
        doctor.check(model, loss=1.0)
        model.zero_grad()
    doctor.end_epoch()
    assert doctor.metrics["dead_fraction"]["1"] == [pytest.approx(1 / 3)]


def test_update_ratio_is_the_actual_weight_change_of_one_step():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    opt = optim.SGD(model.parameters(), lr=0.5)
    doctor = Doctor(stats_every=1).watch(model, opt)
    before = model[0].weight.data.clone()
    for _ in range(2):
        loss = (model(cr.tensor(np.ones((2, 4), np.float32))) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        doctor.check(model, loss=loss.item())
        if _ == 0:
            expected = np.linalg.norm(0.5 * model[0].weight.grad) / np.linalg.norm(before)
        opt.step()
    assert doctor.metrics["update_ratio"]["0"][0] == pytest.approx(expected, rel=1e-5)


def test_each_kind_and_layer_is_reported_once_keeping_the_evidence_that_triggered_it():
    doctor = Doctor()
    first = doctor.report(Finding("dead_relu", "warning", "layers.1", 10, 0, {"dead_fraction": 0.5, "summary": "s"},
                                  "x"))
    again = doctor.report(Finding("dead_relu", "warning", "layers.1", 50, 3, {"dead_fraction": 0.9, "summary": "t"},
                                  "x"))
    other = doctor.report(Finding("dead_relu", "warning", "layers.3", 50, 3, {"dead_fraction": 0.2}, "x"))
    assert again is first and other is not first
    assert first.evidence == {"dead_fraction": 0.5, "summary": "s"} and first.step == 10  # as first seen
    assert first.updates == [{"step": 50, "epoch": 3, "layer": "layers.1", "dead_fraction": 0.9}]  # a series apart
    assert (first.last_step, first.last_epoch, other.last_step) == (50, 3, 50)
    assert len(doctor.findings) == 2 and len(doctor.messages) == 2
    assert doctor.kinds() == {"dead_relu"} and doctor.has_problems("warning") and not doctor.has_problems("error")


def test_finding_round_trips_through_json():
    f = Finding("overfitting", "warning", None, 120, 7, {"gap": 0.25, "summary": "s"}, "memorizing",
                [Remedy("add Dropout(0.3) after the hidden layers", {"dropout": 0.3}), Remedy("more data")])
    back = Finding.from_dict(json.loads(json.dumps(f.to_dict())))
    assert back == f


def test_thresholds_are_configurable_and_checked():
    assert Doctor(DoctorConfig(dead_fraction=0.3), persistence=5).config.persistence == 5
    assert Doctor(dead_fraction=0.25).config.dead_fraction == 0.25
    with pytest.raises(TypeError, match=r"unknown threshold.*dead_fractoin"):
        Doctor(dead_fractoin=0.2)
    with pytest.raises(ValueError, match="vanishing_ratio must be a non-negative number, got -1"):
        DoctorConfig(vanishing_ratio=-1)
    with pytest.raises(ValueError, match="stats_every must be at least 1, got 0"):
        DoctorConfig(stats_every=0)
    with pytest.raises(TypeError, match="config must be a DoctorConfig, got dict"):
        Doctor({"dead_fraction": 0.2})


def test_user_errors_name_what_was_expected():
    with pytest.raises(TypeError, match=r"Doctor.watch: expected a chainrule.nn.Module or torch.nn.Module, got list"):
        Doctor().watch([1, 2])
    with pytest.raises(TypeError, match=r"Doctor.check: call doctor.watch\(model\) first"):
        Doctor().check(loss=1.0)
    with pytest.raises(ValueError, match=r"Finding: kind must be one of .*got 'sad_relu'"):
        Finding("sad_relu", "warning", None, 0, 0, {}, "")
    with pytest.raises(ValueError, match=r"Finding: severity must be one of .*got 'fatal'"):
        Finding("dead_relu", "fatal", None, 0, 0, {}, "")
    with pytest.raises(KeyError, match=r"Finding.from_dict: missing key\(s\) \['epoch', 'step'\]"):
        Finding.from_dict({"kind": "dead_relu", "severity": "info"})


def test_unwatch_removes_every_hook():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    doctor = Doctor().watch(model)
    assert model[0]._forward_hooks and model[1]._forward_hooks
    doctor.unwatch()
    assert not (model[0]._forward_hooks or model[0]._backward_hooks or model[1]._forward_hooks)


def test_a_doctor_keeps_watching_the_same_model_across_fits():
    from chainrule import fit  # the top-level fit: doctor=True by default

    X, y = _blobs(n=64)
    model, doctor = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)), Doctor(stats_every=1)
    for _ in range(2):
        fit(model, (X, y), epochs=1, batch_size=32, verbose=0, doctor=doctor)
        assert not model[0]._forward_hooks  # hooks come off when training ends
    assert doctor.step == 4 and len(doctor.metrics["grad_rms"]["0"]) == 4
    assert len(doctor.metrics["dead_fraction"]["1"]) == 2
