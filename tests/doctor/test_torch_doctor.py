"""The doctor watching PyTorch models: the same failures as chainrule's own doctor tests, found with torch's
module names; the measured statistics against NumPy on the same torch tensors; clear errors; no torch import.

Every model trains on scikit-learn's digits in the loop of issue 12: ``doctor.check(loss)`` after backward and
before step, ``doctor.end_epoch(...)`` after each epoch.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

import chainrule as cr


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X = X[order]
    mean, std = X[:1400].mean(axis=0), X[:1400].std(axis=0)
    # standardized on the training rows (LeCun et al. 1998), as benchmarks/doctor does: pixels / 16 leave rarely
    # inked pixels at RMS ~0.01, which the doctor rightly calls unscaled_inputs
    X = torch.tensor((X - mean) / np.where(std > 0, std, 1.0), dtype=torch.float32)
    y = torch.tensor(y[order])
    return X[:1400], y[:1400], X[1400:], y[1400:]


def train(model, opt, data, epochs=3, batch=64, n=None, validate=False, **config):
    """The issue's loop; returns the doctor."""
    X, y, Xv, yv = data
    X, y = X[:n], y[:n]
    doctor = cr.Doctor(**config).watch(model, opt)
    for _ in range(epochs):
        model.train()
        for i in range(0, len(X), batch):
            loss = F.cross_entropy(model(X[i:i + batch]), y[i:i + batch])
            opt.zero_grad()
            loss.backward()
            doctor.check(loss)
            opt.step()
        if validate:
            model.eval()
            with torch.no_grad():
                train_acc = (model(X).argmax(1) == y).float().mean().item()
                val_loss = F.cross_entropy(model(Xv), yv).item()
                val_acc = (model(Xv).argmax(1) == yv).float().mean().item()
            doctor.end_epoch(val_loss=val_loss, train_acc=train_acc, val_acc=val_acc)
        else:
            doctor.end_epoch()
    return doctor


def mlp(widths, activation, final=10):
    layers = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], final))


class Nested(nn.Module):
    """A submodule holding the layers: torch names them "net.0", "net.1", ..."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


class Functional(nn.Module):
    """ReLU applied with F.relu in forward: no activation module to hook."""

    def __init__(self, hidden=64) -> None:
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(64, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 10)

    def forward(self, x):
        return self.out(F.relu(self.fc2(F.relu(self.fc1(x)))))


class FunctionalSaturating(nn.Module):
    """Linear -> BatchNorm1d -> F.relu, then Linear -> torch.sigmoid (or tanh), all functional."""

    def __init__(self, activation=torch.sigmoid) -> None:
        super().__init__()
        self.activation = activation
        self.fc1, self.bn, self.fc2, self.out = nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Linear(64, 64), nn.Linear(
            64, 10)

    def forward(self, x):
        return self.out(self.activation(self.fc2(F.relu(self.bn(self.fc1(x))))))


class Recurrent(nn.Module):
    """Embedding -> RNN/LSTM/GRU -> transformer encoder layer -> LayerNorm -> Linear."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.rnn = getattr(nn, kind)(16, 32, batch_first=True)
        self.enc = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, dropout=0.0)
        self.norm = nn.LayerNorm(32)
        self.out = nn.Linear(32, 2)

    def forward(self, x):
        h, _ = self.rnn(self.emb(x))
        return self.out(self.norm(self.enc(h))[:, -1])


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                                      nn.ReLU())
        self.head = nn.Linear(8 * 64, 10)

    def forward(self, x):
        return self.head(self.features(x.reshape(-1, 1, 8, 8)).flatten(1))


def seeded(build):
    torch.manual_seed(0)
    return build()


def negative_bias(layer: nn.Module, value: float = -20.0) -> nn.Module:
    with torch.no_grad():
        layer.bias.fill_(value)
    return layer


def dead_mlp():
    model = Nested(mlp([64, 64, 64], nn.ReLU))
    negative_bias(model.net[2])  # the second hidden Linear: every unit of net.3 below zero on every input
    return model


def dead_functional():
    model = Functional()
    negative_bias(model.fc2)
    return model


def dead_cnn():
    model = SmallCNN()
    negative_bias(model.features[2])  # every filter of the second convolution
    return model


def saturated_functional(activation):
    def build():
        model = FunctionalSaturating(activation)
        with torch.no_grad():
            model.fc2.weight.normal_(0.0, 4.0)
        return model
    return build


def dead_after_batch_norm():
    model = FunctionalSaturating()
    negative_bias(model.bn)  # BatchNorm's shift: every unit below zero before F.relu
    return model


def saturated_mlp():
    model = mlp([64, 64, 64], nn.Sigmoid)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.weight.normal_(0.0, 4.0)  # pre-activations of std ~30: sigmoid flat at 0 or 1
    return model


# (id, model, optimizer, lr, epochs, expected (kind, layer) among the findings)
SCENARIOS = [
    ("deep-sigmoid-vanishes", lambda: Nested(mlp([64] + [32] * 8, nn.Sigmoid)), torch.optim.SGD, 0.1, 3,
     ("vanishing_gradients", "net.0")),
    ("dead-relu-negative-bias", dead_mlp, torch.optim.SGD, 0.05, 3, ("dead_relu", "net.3")),
    ("dead-functional-relu", dead_functional, torch.optim.SGD, 0.05, 3, ("dead_relu", "fc2")),
    ("dead-conv-filters", dead_cnn, torch.optim.SGD, 0.05, 3, ("dead_relu", "features.3")),
    ("saturated-sigmoid", saturated_mlp, torch.optim.SGD, 0.01, 3, ("saturation", "1")),
    ("saturated-functional-sigmoid", saturated_functional(torch.sigmoid), torch.optim.SGD, 0.01, 3,
     ("saturation", "fc2")),
    ("saturated-functional-tanh", saturated_functional(torch.tanh), torch.optim.SGD, 0.01, 3,
     ("saturation", "fc2")),
    ("dead-functional-relu-after-batch-norm", dead_after_batch_norm, torch.optim.SGD, 0.05, 3, ("dead_relu", "bn")),
]


@pytest.mark.parametrize(("build", "optimizer", "lr", "epochs", "expected"), [s[1:] for s in SCENARIOS],
                         ids=[s[0] for s in SCENARIOS])
def test_each_failure_is_found_at_the_torch_layer_named(data, build, optimizer, lr, epochs, expected):
    model = seeded(build)
    doctor = train(model, optimizer(model.parameters(), lr=lr), data, epochs=epochs, n=640)
    assert expected in [(f.kind, f.layer) for f in doctor.findings]


def test_dead_conv_filters_are_counted_per_channel(data):
    model = seeded(dead_cnn)
    doctor = train(model, torch.optim.SGD(model.parameters(), lr=0.05), data, epochs=3, n=640)
    (dead,) = [f for f in doctor.findings if f.kind == "dead_relu"]
    assert dead.evidence["variant"] == "channels"
    assert (dead.evidence["channels"], dead.evidence["dead_channels"]) == (8, 8)


def test_a_huge_learning_rate_is_exploding_with_remedies_in_torch_terms(data):
    model = seeded(lambda: mlp([64, 64, 64], nn.ReLU))
    doctor = train(model, torch.optim.SGD(model.parameters(), lr=10.0), data, epochs=1)
    losses = doctor.metrics["loss"]
    (exploding,) = [f for f in doctor.findings if f.kind == "exploding_gradients"]
    # caught while the loss climbs, before it explodes (float32 torch then recovers, leaving units dead)
    assert losses[0] < losses[exploding.step] < max(losses[exploding.step:exploding.step + 5]) / 100
    words = " ".join(r.description for r in exploding.remedies)
    assert "torch.nn.utils.clip_grad_norm_" in words and "param_groups" in words and "nn.BatchNorm1d" in words


def test_an_overflowing_learning_rate_is_non_finite_at_the_first_nan_step(data):
    model = seeded(lambda: Nested(mlp([64, 64, 64], nn.ReLU)))
    doctor = train(model, torch.optim.SGD(model.parameters(), lr=1e36), data, epochs=1)
    losses = doctor.metrics["loss"]
    first_nan = next(i for i, v in enumerate(losses) if not math.isfinite(v))
    (nan,) = [f for f in doctor.findings if f.kind == "non_finite"]
    assert nan.step == first_nan and nan.severity == "error"
    assert nan.layer == "net.0"  # the first layer's weights overflowed: its output is the first non-finite


def test_a_sample_step_s_outputs_are_let_go_once_its_steps_are_judged(data):
    # the doctor reads a sample step's outputs (where a NaN started) when it judges the queued steps, at that step's
    # check: after it they are not kept alive across the next nine steps (a small CNN's were 59 MB)
    import weakref

    X, y, _, _ = data
    model = seeded(lambda: mlp([64, 64, 64], nn.ReLU))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    outputs = []
    model[0].register_forward_hook(lambda module, args, out: outputs.append(weakref.ref(out)))
    doctor = cr.Doctor(stats_every=10).watch(model, opt)
    for step in range(12):
        loss = F.cross_entropy(model(X[step * 64:(step + 1) * 64]), y[step * 64:(step + 1) * 64])
        opt.zero_grad()
        loss.backward()
        doctor.check(loss)
        opt.step()
        del loss
        assert outputs[-1]() is None, step  # neither the graph's nor the doctor's any more
    doctor.end_epoch()
    assert doctor.metrics["dead_fraction"]["1"] == [0.0]
    assert doctor._outputs.units() == {"0": 64, "1": 64, "2": 64, "3": 64, "4": 10}  # the widths outlive the outputs


def test_memorizing_a_small_training_set_is_overfitting(data):
    model = seeded(lambda: mlp([64, 256, 256], nn.ReLU))
    doctor = train(model, torch.optim.Adam(model.parameters(), lr=3e-3), data, epochs=40, n=40, batch=40,
                   validate=True)
    assert "overfitting" in doctor.kinds()


@pytest.mark.parametrize("build", [lambda: mlp([64, 64, 64], nn.ReLU), Functional, SmallCNN],
                         ids=["sequential", "functional", "cnn"])
def test_a_healthy_adam_run_has_no_findings(data, build):
    model = seeded(build)
    doctor = train(model, torch.optim.Adam(model.parameters(), lr=3e-3), data, epochs=4, validate=True)
    assert doctor.findings == []
    assert doctor.metrics["loss"][-1] < 0.5 * doctor.metrics["loss"][0]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_healthy_recurrent_transformer_model_is_watched_and_quiet(kind):
    torch.manual_seed(0)
    x = torch.randint(0, 20, (256, 12))
    y = (x[:, 0] > 9).long()  # the first token decides: the answer must travel through every step
    model = Recurrent(kind)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    doctor = cr.Doctor().watch(model, opt)
    for _ in range(4):
        for i in range(0, 256, 32):
            loss = F.cross_entropy(model(x[i:i + 32]), y[i:i + 32])
            opt.zero_grad()
            loss.backward()
            doctor.check(loss)
            opt.step()
        doctor.end_epoch()
    assert doctor.layer_names == ["rnn", "enc.self_attn", "enc.self_attn.out_proj", "enc.linear1", "enc.linear2",
                                  "out"]
    assert list(doctor.metrics["dead_fraction"]) == ["enc.linear1"]  # the encoder's F.relu, found by the probe
    assert doctor.findings == []


def test_no_host_transfer_on_steps_the_doctor_does_not_sample(data, monkeypatch):
    """Everything a step measures stays on the device until the sample step moves it in one go (one transfer:
    the queued steps, the update ratio's norms, the weight norms and the hooks' scalars together); the first
    sample step also reads the first batch for the inputs' scale."""
    X, y, _, _ = data
    model = seeded(lambda: FunctionalSaturating())
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    doctor = cr.Doctor(stats_every=5).watch(model, opt)
    transfers: list[int] = []
    counting = [False]
    for method in ("tolist", "item", "__float__", "__bool__", "cpu", "numpy"):
        original = getattr(torch.Tensor, method)

        def counted(self, *args, original=original, **kwargs):
            if counting[0]:
                transfers.append(step)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, method, counted)
    for step in range(12):
        counting[0] = True
        out = model(X[step * 32:(step + 1) * 32])
        counting[0] = False
        loss = F.cross_entropy(out, y[step * 32:(step + 1) * 32])
        opt.zero_grad()
        loss.backward()
        counting[0] = True
        doctor.check(loss)
        counting[0] = False
        opt.step()
    # step 0 also reads the first batch once for the inputs' scale (unscaled_inputs; its .numpy() is counted twice,
    # through the doctor's function mode); every later sample step makes exactly one transfer
    assert transfers == [0, 0, 0, 5, 10]


def test_between_samples_a_big_layer_s_gradient_rms_is_read_in_runs(data):
    """Sample steps read every gradient whole; between them a big one is read in runs of RUN elements spread over
    it (``run_layout``), scaled to the whole: checked against NumPy summing the same elements, and against the
    whole gradient's RMS (an estimate, within 10% here)."""
    from chainrule.doctor.torch_adapter import RUN, run_layout

    X, y, _, _ = data
    model = seeded(lambda: mlp([64, 512], nn.ReLU))  # 32768 weights in layer 0: read in runs; layer 2 whole
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    doctor = cr.Doctor(stats_every=10).watch(model, opt)
    exact, estimate = [], []  # the RMS over both weight gradients every step: whole, and from the runs
    for i in range(5):
        loss = F.cross_entropy(model(X[i * 64:(i + 1) * 64]), y[i * 64:(i + 1) * 64])
        opt.zero_grad()
        loss.backward()
        grads = [model[j].weight.grad.double().numpy().ravel() for j in (0, 2)]
        exact.append(np.sqrt(np.mean(np.concatenate(grads) ** 2)))
        runs, stride = run_layout(grads[0].size, 64)
        read = np.concatenate([grads[0][k * stride:k * stride + RUN] for k in range(runs)])
        squares = np.sum(read ** 2) * grads[0].size / read.size + np.sum(grads[1] ** 2)
        estimate.append(np.sqrt(squares / (grads[0].size + grads[1].size)))
        doctor.check(loss)
        opt.step()
    doctor.end_epoch()
    totals = doctor.metrics["grad_rms_total"]
    assert totals[0] == pytest.approx(exact[0], rel=1e-5)  # the sample step: whole
    for step in range(1, 5):
        assert totals[step] == pytest.approx(estimate[step], rel=1e-5)
        assert totals[step] == pytest.approx(exact[step], rel=0.1)
    assert len({round(k * stride % 64) for k in range(runs)}) > 1  # the runs start at different columns


def test_a_big_gradient_that_cannot_be_read_in_runs_is_read_whole_and_not_scaled(data):
    """A weight stored transposed (not contiguous) has a gradient with the same strides: it is read whole,
    and its norm must not be scaled up as the runs' would be."""
    X, y, _, _ = data
    model = seeded(lambda: mlp([64, 512], nn.ReLU))
    model[0].weight = nn.Parameter(model[0].weight.detach().t().contiguous().t())  # same values, strides (1, 64)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    doctor = cr.Doctor(stats_every=10).watch(model, opt)
    exact = []
    for i in range(3):
        loss = F.cross_entropy(model(X[i * 64:(i + 1) * 64]), y[i * 64:(i + 1) * 64])
        opt.zero_grad()
        loss.backward()
        assert not model[0].weight.grad.is_contiguous()
        grads = [model[j].weight.grad.double().numpy().ravel() for j in (0, 2)]
        exact.append(np.sqrt(np.mean(np.concatenate(grads) ** 2)))
        doctor.check(loss)
        opt.step()
    doctor.end_epoch()
    assert doctor.metrics["grad_rms_total"] == pytest.approx(exact, rel=1e-5)


@pytest.mark.parametrize("layout", ["transposed", "channels_last"])
def test_the_update_ratio_of_a_weight_not_stored_in_row_order_is_its_actual_change(data, layout):
    """A big weight stored transposed, or a conv weight in channels-last memory, is read where the optimizer
    updates it: its update ratio is the step's actual ‖Δw‖/‖w‖ (within the runs' estimate), not 0. (Reading it
    through ``reshape(-1)``, a copy for such strides, froze the ratio at 0.)"""
    X, y, _, _ = data
    if layout == "transposed":
        model = seeded(lambda: mlp([64, 512], nn.ReLU))  # 32768 weights in layer 0: read in runs
        model[0].weight = nn.Parameter(model[0].weight.detach().t().contiguous().t())
        inputs, big = X, "0"
    else:
        model = seeded(lambda: nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1),
                                             nn.ReLU(), nn.Flatten(), nn.Linear(64 * 64, 10)))
        model = model.to(memory_format=torch.channels_last)  # the second conv: 36864 weights, channels-last
        inputs, big = X.reshape(-1, 1, 8, 8), "2"
    weight = dict(model.named_modules())[big].weight
    assert not weight.is_contiguous()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    doctor = cr.Doctor(stats_every=2).watch(model, opt)
    actual = []
    for i in range(6):
        before = weight.detach().clone()
        loss = F.cross_entropy(model(inputs[i * 64:(i + 1) * 64]), y[i * 64:(i + 1) * 64])
        opt.zero_grad()
        loss.backward()
        doctor.check(loss)
        opt.step()
        if i % 2 == 0:  # a sample step: its ratio is the change of this one optimizer step
            actual.append(float((weight.detach() - before).norm() / before.norm()))
    doctor.end_epoch()
    assert doctor.metrics["update_ratio"][big] == pytest.approx(actual, rel=0.1)


def test_functional_saturation_matches_numpy_on_the_activation_output(data):
    X, y, _, _ = data
    model = seeded(saturated_functional(torch.tanh))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = cr.Doctor(stats_every=1).watch(model, opt)
    outputs = []
    model.fc2.register_forward_hook(lambda m, a, out: outputs.append(torch.tanh(out).detach().numpy().copy()))
    for i in range(3):
        loss = F.cross_entropy(model(X[i * 50:(i + 1) * 50]), y[i * 50:(i + 1) * 50])
        opt.zero_grad()
        loss.backward()
        doctor.check(loss)
        opt.step()
    lo = doctor.config.saturation_output
    measured = doctor.metrics["saturation"]["fc2"]
    assert math.isnan(measured[0])  # the probe's own step: the activation was not known yet
    for value, out in zip(measured[1:], outputs[1:], strict=True):
        y01 = (out + 1) / 2
        assert value == pytest.approx(np.mean((y01 < lo) | (y01 > 1 - lo)), abs=1 / out.size)


def test_the_statistics_match_numpy_on_the_same_tensors(data):
    """One sample step: every measured number against NumPy on tensors captured by hooks of our own."""
    X, y, _, _ = data
    model = seeded(lambda: Nested(nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.Sigmoid(),
                                                nn.Linear(16, 10))))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    doctor = cr.Doctor(stats_every=1).watch(model, opt)
    seen = {}
    for name in ("net.1", "net.3"):
        model.get_submodule(name).register_forward_hook(
            lambda m, a, out, name=name: seen.setdefault(name, []).append((a[0], out.detach().numpy().copy())))
    for name in ("net.1",):  # the gradient at the ReLU's input
        def keep_input_grad(module, args, out):
            args[0].register_hook(lambda g: seen.setdefault("grad_in", []).append(g.numpy().copy()))

        model.get_submodule(name).register_forward_hook(keep_input_grad)
    weights = [model.net[i].weight for i in (0, 2, 4)]
    before = [w.detach().numpy().copy() for w in weights]
    for i in range(2):
        loss = F.cross_entropy(model(X[i * 50:(i + 1) * 50]), y[i * 50:(i + 1) * 50])
        opt.zero_grad()
        loss.backward()
        if i == 0:
            grads = [w.grad.numpy().copy() for w in weights]
        doctor.check(loss)
        opt.step()
        if i == 0:
            after = [w.detach().numpy().copy() for w in weights]
    doctor.end_epoch()
    m = doctor.metrics
    for name, g in zip(("net.0", "net.2", "net.4"), grads, strict=True):
        assert m["grad_rms"][name][0] == pytest.approx(np.sqrt(np.mean(g.astype(np.float64) ** 2)), rel=1e-5)
    total = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads) / sum(g.size for g in grads))
    assert m["grad_rms_total"][0] == pytest.approx(total, rel=1e-5)
    for name, w0, w1 in zip(("net.0", "net.2", "net.4"), before, after, strict=True):
        assert m["update_ratio"][name][0] == pytest.approx(np.linalg.norm(w1 - w0) / np.linalg.norm(w0), rel=1e-4)
    relu, sig = seen["net.1"][0][1], seen["net.3"][0][1]
    assert m["act_mean"]["net.1"][0] == pytest.approx(relu.mean(), rel=1e-5, abs=1e-7)
    assert m["act_std"]["net.3"][0] == pytest.approx(sig.std(), rel=1e-4)
    lo = doctor.config.saturation_output
    assert m["saturation"]["net.3"][0] == pytest.approx(np.mean((sig < lo) | (sig > 1 - lo)))
    assert m["zero_grad_fraction"]["net.1"][0] == pytest.approx(np.mean(seen["grad_in"][0] == 0))
    fired = np.zeros(32, bool)
    for _, out in seen["net.1"]:
        fired |= (out > 0).any(axis=0)
    assert m["dead_fraction"]["net.1"][-1] == pytest.approx(1 - fired.mean())


def test_report_writes_the_page(data, tmp_path):
    model = seeded(dead_mlp)
    doctor = train(model, torch.optim.SGD(model.parameters(), lr=0.05), data, epochs=2, n=640)
    findings = doctor.report(tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    # the -20 bias silences net.3 from step 0: the signal below it is gone before any update (bad_initialization)
    assert [f.kind for f in findings if f.kind != "bad_initialization"] == ["dead_relu"]
    assert "dead relu at <b>net.3</b>" in page
    assert "nn.init.kaiming_normal_" in page  # the remedies in PyTorch's terms
    doctor.write_report(tmp_path / "run")  # diagnoses.json, metrics.json, report.html, read back as any run
    loaded, metrics, _, _ = cr.doctor.load_run(tmp_path / "run")
    assert [(f.kind, f.layer) for f in loaded if f.kind != "bad_initialization"] == [("dead_relu", "net.3")]
    assert metrics["dead_fraction"]["net.3"][-1] == 1.0


@pytest.mark.parametrize(("model", "error", "words"), [
    (lambda: nn.ReLU(), ValueError, "has no parameters"),
    (lambda: nn.LayerNorm(4), ValueError, "no Linear, Conv, RNN or attention layer"),
    (lambda: {"weight": 1}, TypeError, "expected a chainrule.nn.Module or torch.nn.Module, got dict"),
], ids=["no-parameters", "no-weighted-layer", "not-a-module"])
def test_a_model_the_doctor_cannot_watch_is_a_clear_error(model, error, words):
    with pytest.raises(error, match=words):
        cr.Doctor().watch(model())


def test_check_before_backward_is_a_clear_error(data):
    model = seeded(lambda: mlp([64, 16], nn.ReLU))
    doctor = cr.Doctor().watch(model, torch.optim.SGD(model.parameters(), lr=0.1))
    loss = F.cross_entropy(model(data[0][:8]), data[1][:8])
    with pytest.raises(RuntimeError, match=r"no gradients yet \(0, 2\): call loss.backward\(\) before"):
        doctor.check(loss)


def test_import_chainrule_and_a_doctor_do_not_import_torch():
    code = "import sys, chainrule; chainrule.Doctor(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
