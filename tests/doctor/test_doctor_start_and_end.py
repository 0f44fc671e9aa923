"""The rules judged at step 0 (unscaled_inputs, bad_initialization) and at the end (not_converged), and the
statistics under them, each against an independent reference: NumPy on the same batch, PyTorch's autograd
on the same weights, scipy's linregress and binomial tail."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import load_dataset
from chainrule.doctor import Doctor
from chainrule.doctor.measurements import initial_level, loss_trend, sumsq
from chainrule.doctor.rules import binomial_tail
from chainrule.training.models import MLPSpec, build_mlp


def one_step(model, X: np.ndarray, y: np.ndarray) -> Doctor:
    """One training step of ``model`` on (X, y) in a user's own loop, watched; the doctor after it."""
    doctor = Doctor()
    opt = optim.SGD(model.parameters(), lr=0.01)
    doctor.watch(model, opt)
    with np.errstate(all="ignore"):
        loss = nn.CrossEntropyLoss()(model(cr.tensor(X)), cr.tensor(y))
        opt.zero_grad()
        loss.backward()
        doctor.check(model, loss=loss.item())
    return doctor


# ---------------------------------------------------------------------------- unscaled inputs

SPREAD = 10.0 ** np.linspace(-2, 3, 13)  # wine has 13 features: feature j times 10^(-2 ... +3)


@pytest.mark.parametrize(("scale", "standardized"), [
    (1.0, True),  # standardized: nothing to report
    (1000.0, True),  # every feature ~1000
    (0.001, True),  # every feature ~0.001
    (SPREAD, True),  # features 1e5 apart
    (1.0, False),  # wine in its own units (proline ~750, hue ~1)
], ids=["standardized", "x1000", "x0.001", "spread", "raw"])
def test_unscaled_inputs_are_judged_on_the_first_batch_the_model_sees(scale, standardized):
    wine = load_dataset("wine", standardize=standardized).train
    X, y = (wine.X[:32] * scale).astype(np.float32), wine.y[:32]
    doctor = one_step(build_mlp(MLPSpec(13, (16,), 3), seed=0), X, y)
    # the reference: LeCun et al.'s "mean ≈ 0, comparable variances ≈ 1", measured with NumPy on that batch
    rms = np.sqrt(np.mean(X.astype(np.float64) ** 2, axis=0))
    std = X.astype(np.float64).std(axis=0)
    expected = rms.max() > 10 or rms.min() < 0.1 or std.max() / std.min() > 100
    found = [f for f in doctor.findings if f.kind == "unscaled_inputs"]
    assert bool(found) == expected
    if found:
        ev = found[0].evidence
        assert ev["feature_rms_max"] == pytest.approx(rms.max(), rel=1e-2)
        assert ev["feature_rms_min"] == pytest.approx(rms.min(), rel=1e-2)
        assert ev["feature_std_spread"] == pytest.approx(std.max() / std.min(), rel=1e-2)
        assert found[0].remedies[0].description.startswith("standardize the input data")
        assert found[0].layer == "layers.0" and found[0].step == 0


@pytest.mark.parametrize(("divisor", "unscaled"), [(16.0, False), (1.0, True)], ids=["pixels/16", "raw 0-16"])
def test_pixels_are_judged_by_the_pixels_that_carry_the_image(divisor, unscaled):
    # digits as courses feed them (intensities / 16, in [0, 1]): a rarely inked pixel has an RMS of ~0.01 set by
    # its rarity, which is no reason to standardize; raw intensities (0-16) are too large where the ink is
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X[:32] / divisor).astype(np.float32)
    doctor = one_step(build_mlp(MLPSpec(64, (16,), 10), seed=0), X, y[:32])
    dense = np.count_nonzero(X, axis=0) >= 16  # the reference: features present in at least half the batch
    rms = np.sqrt(np.mean(X.astype(np.float64) ** 2, axis=0))
    if divisor == 16.0:  # the rarely inked pixels that a per-feature RMS over all samples calls unscaled
        assert rms[X.std(axis=0) > 0].min() < 0.1
    assert bool(rms[dense].max() > 10) is unscaled
    assert ("unscaled_inputs" in doctor.kinds()) is unscaled


# ---------------------------------------------------------------------------- bad initialization

def torch_scales(model, X: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    """RMS of each Linear's output and of ∂loss/∂(that output), by PyTorch on the same weights and batch."""
    h = torch.tensor(X, dtype=torch.float64)
    outputs = {}
    for name, module in model.named_modules():
        cls = type(module).__name__
        if cls == "Linear":
            w = torch.tensor(module.weight._data, dtype=torch.float64, requires_grad=True)
            b = torch.tensor(module.bias._data, dtype=torch.float64)
            h = h @ w.T + b
            h.retain_grad()
            outputs[name] = h
        elif cls in ("ReLU", "Tanh", "Sigmoid"):
            h = {"ReLU": torch.relu, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid}[cls](h)
    torch.nn.functional.cross_entropy(h, torch.tensor(y)).backward()
    forward = {n: float(o.detach().pow(2).mean().sqrt()) for n, o in outputs.items()}
    backward = {n: float(o.grad.pow(2).mean().sqrt()) for n, o in outputs.items()}
    return forward, backward


@pytest.mark.parametrize(("activation", "init", "expected"), [
    ("relu", "he", False),  # He init keeps ReLU nets' scale (He et al. 2015)
    ("tanh", "xavier", False),  # Xavier keeps tanh nets' (Glorot & Bengio 2010)
    ("relu", "normal:1.0", True),  # far too large: grows by depth
    ("tanh", "normal:0.02", True),  # far too small: shrinks by depth
    ("sigmoid", "default", True),  # deep sigmoid: the backpropagated signal shrinks
], ids=["relu-he", "tanh-xavier", "relu-large", "tanh-small", "sigmoid-default"])
def test_bad_initialization_reads_the_scale_by_depth_at_step_0(digits, activation, init, expected):
    X, y = digits.train.X[:64], digits.train.y[:64]
    model = build_mlp(MLPSpec(64, (64,) * 6, 10, activation=activation, init=init), seed=0)
    forward, backward = torch_scales(model, X, y)  # before the doctor's step changes nothing: SGD steps after
    doctor = one_step(model, X, y)
    metrics = doctor.metrics
    for name in forward:
        assert metrics["preactivation_rms"][name][0] == pytest.approx(forward[name], rel=1e-3)
        assert metrics["signal_rms"][name][0] == pytest.approx(backward[name], rel=1e-3)
    names = list(forward)  # from the second Linear to the top, as the rule reads them
    spans = (math.log10(forward[names[-1]] / forward[names[1]]), math.log10(backward[names[1]] / backward[names[-1]]))
    assert (max(abs(s) for s in spans) >= 2) == expected  # the case is what it says, by PyTorch's numbers
    found = [f for f in doctor.findings if f.kind == "bad_initialization"]
    assert bool(found) == expected
    if found:
        ev, first = found[0].evidence, found[0].remedies[0].change
        assert ev["factor"] == pytest.approx(10 ** max(abs(s) for s in spans), rel=1e-2)
        assert first == {"relu": {"init": "he"}, "tanh": {"init": "xavier"},
                         "sigmoid": {"activation": "relu", "init": "he"}}[activation]


# ---------------------------------------------------------------------------- not converged

@pytest.mark.parametrize(("steps", "lr"), [(60, 0.003), (600, 0.03)], ids=["stopped-early", "converged"])
def test_not_converged_is_the_loss_still_falling_against_its_noise_at_the_end(digits, steps, lr):
    model = build_mlp(MLPSpec(64, (32,), 10), seed=0)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    doctor = Doctor()
    doctor.watch(model, opt)
    X, y = digits.train.X, digits.train.y
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        rows = rng.choice(len(X), 32, replace=False)
        loss = nn.CrossEntropyLoss()(model(cr.tensor(X[rows])), cr.tensor(y[rows]))
        opt.zero_grad()
        loss.backward()
        doctor.check(model, loss=loss.item())
        opt.step()
        losses.append(loss.item())
    window = np.array(losses[-max(30, steps // 3):])
    fit = stats.linregress(np.arange(len(window)), window)
    projected = -fit.slope * len(window) / (losses[0] - window.mean())
    expected = fit.slope / fit.stderr < -3 and projected >= 0.1
    assert expected == (steps == 60)  # the two runs are what their names say
    found = [f for f in doctor.report() if f.kind == "not_converged"]
    assert bool(found) == expected
    if found:
        assert found[0].evidence["trend_t"] == pytest.approx(fit.slope / fit.stderr, rel=1e-2)
        assert found[0].severity == "info"


# ---------------------------------------------------------------------------- the statistics underneath

@pytest.mark.parametrize("shape", ["falling", "flat", "rising", "noisy-falling"])
def test_loss_trend_is_scipys_least_squares_slope_over_its_standard_error(shape):
    rng = np.random.default_rng(3)
    x = np.arange(120, dtype=float)
    base = {"falling": 2.0 - 0.01 * x, "flat": np.full_like(x, 1.0), "rising": 1.0 + 0.005 * x,
            "noisy-falling": 2.0 - 0.002 * x}[shape]
    losses = list(base + rng.normal(0, 0.05 if shape != "noisy-falling" else 0.3, x.size))
    t, fall, n = loss_trend(losses, 1 / 3, 30, 10)
    window = np.array(losses[-40:])
    ref = stats.linregress(np.arange(40), window)
    start = stats.linregress(np.arange(10), losses[:10]).intercept  # the untrained loss: the first 10's line at 0
    assert n == 40
    assert t == pytest.approx(ref.slope / ref.stderr, rel=1e-9)
    assert fall == pytest.approx(-ref.slope * 40 / max(start - window.mean(), 1e-12), rel=1e-9)


def test_the_fall_so_far_starts_at_the_first_losses_line_not_at_one_noisy_batch():
    # the untrained loss is 3.0 and falls 0.05 a step at first; the first batch alone reads 1.0 (a low draw)
    rng = np.random.default_rng(0)
    early = 3.0 - 0.05 * np.arange(10) + rng.normal(0, 0.02, 10)
    early[0] = 1.0
    assert initial_level(list(early), 10) == pytest.approx(stats.linregress(np.arange(10), early).intercept)
    assert initial_level(list(early), 10) > 2.0
    assert initial_level([1.0, math.nan, *early[2:]], 10) == 1.0  # not finite: the first loss, as before
    assert initial_level([2.5, 2.4], 10) == 2.5  # fewer than asked for


@pytest.mark.parametrize(("k", "n", "p"), [(4, 8, 0.1), (2, 3, 0.1), (3, 3, 0.1), (8, 32, 0.1), (13, 64, 0.1),
                                           (0, 5, 0.1), (300, 512, 0.1), (1, 1, 0.5)])
def test_binomial_tail_is_scipys(k, n, p):
    assert binomial_tail(k, n, p) == pytest.approx(stats.binom.sf(k - 1, n, p), rel=1e-9, abs=1e-300)


def test_a_float32_sum_of_squares_that_overflows_is_taken_in_float64():
    # gradients of ~1e20 are still finite: growth to warn about, not yet the NaN a float32 sum would call it
    a = np.full(1000, 1e20, dtype=np.float32)
    assert sumsq(a) == pytest.approx(float(np.sum(a.astype(np.float64) ** 2)), rel=1e-6)
    assert math.isinf(sumsq(np.array([np.inf], dtype=np.float32)))


def test_inputs_are_judged_only_where_the_first_linear_reads_the_data():
    # behind a convolution the first Linear reads features, not the data: its scale says nothing about the inputs
    X = (np.random.default_rng(0).normal(size=(8, 1, 8, 8)) * 1000).astype(np.float32)
    y = np.zeros(8, dtype=np.int64)
    conv = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    flat = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    assert "unscaled_inputs" not in one_step(conv, X, y).kinds()
    assert "unscaled_inputs" in one_step(flat, X, y).kinds()  # the same data straight into a Linear


# ---------------------------------------------------------------------------- per-token layers under a pooled head

def _token_classifier(nn_lib, encoder):
    """Token embeddings -> ``encoder`` (per-token layers) -> mean over the 10 positions -> Linear head."""

    class TokenClassifier(nn_lib.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn_lib.Embedding(12, 32)
            self.encoder = encoder
            self.head = nn_lib.Linear(32, 2)

        def forward(self, x):
            return self.head(self.encoder(self.emb(x)).mean(1))

    return TokenClassifier()


def _tokens():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, (64, 10))
    return x, ((x == 5).sum(1) >= 2).astype(np.int64)


def test_a_healthy_transformer_is_not_called_badly_initialized():
    """A mean over L positions divides ∂loss/∂z by L below it: the per-token layers' signal is far below the head's
    at no layer's fault (PyTorch's autograd on the same weights says so), so the rule compares per-token layers
    with each other. The doctor called this healthy encoder's init bad (203×) before it did."""
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    model = _token_classifier(nn, nn.TransformerEncoder(layer, 2))
    twin = _token_classifier(torch.nn, torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True), 2))
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x, y = _tokens()
    outputs = {}

    def keep(name):
        def hook(module, args, out):
            out.retain_grad()
            outputs[name] = out
        return hook

    for name, module in twin.named_modules():
        if isinstance(module, torch.nn.Linear) and name.endswith(("linear1", "linear2", "head")):
            module.register_forward_hook(keep(name))
    torch.nn.functional.cross_entropy(twin(torch.tensor(x)), torch.tensor(y)).backward()
    signal = {name: float(out.grad.pow(2).mean().sqrt()) for name, out in outputs.items()}
    per_token = [name for name in signal if name != "head"]
    assert signal["head"] / min(signal[n] for n in per_token) > 100  # what the old comparison called bad init
    assert max(signal[n] for n in per_token) / min(signal[n] for n in per_token) < 10  # the per-token chain is fine

    doctor = one_step(model, x, y)
    for name in signal:
        assert doctor.metrics["signal_rms"][name][0] == pytest.approx(signal[name], rel=1e-3)
    assert [f.kind for f in doctor.findings if f.kind == "bad_initialization"] == []


def test_a_badly_initialized_per_token_stack_is_still_found():
    """The same pooled head over a deep tanh stack applied to every token, initialized far too small (std 0.02):
    the per-token layers' own signal shrinks by depth, and the rule, reading them alone, says so."""
    cr.manual_seed(0)
    stack = nn.Sequential(*[m for _ in range(6) for m in (nn.Linear(32, 32), nn.Tanh())])
    for module in stack:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
    model = _token_classifier(nn, stack)
    x, y = _tokens()
    found = [f for f in one_step(model, x, y).findings if f.kind == "bad_initialization"]
    assert len(found) == 1
    assert found[0].evidence["to_layer"] == "encoder.10"  # the top per-token layer, not the head
