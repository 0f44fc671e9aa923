"""The benchmark's own measurements of a training run and the rules that turn them into true labels.

Nothing here uses the doctor. ``Recorder`` is a callback with its own module hooks that only READS
(it never changes a value, draws no random number and runs its probes in eval mode under no_grad), so
the doctor can watch the very same run. Everything is then computed with plain NumPy in ``summarize``,
and ``label`` applies the rules in ``RULES``: each has its threshold next to its published source.
Where a source gives the principle but no number, the number is marked "our choice" with the reason.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.training.callbacks import Callback

ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "GELU": "gelu", "LeakyReLU": "leaky_relu"}


def _rms(a: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) if a.size else math.nan


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def _slope(a: np.ndarray, kind: str) -> np.ndarray:
    """The activation's derivative, from its output, relative to its peak (1 for tanh, 1/4 for sigmoid)."""
    return 4 * a * (1 - a) if kind == "sigmoid" else 1 - a * a


class Series:
    """The series a recorder keeps, by the names ``summarize`` reads: chainrule's ``Recorder`` and the PyTorch
    benchmark's ``TorchRecorder`` (benchmarks/doctor_torch) both fill them."""

    def __init__(self, X_train: Any, y_train: Any) -> None:
        self.X, self.y = X_train, y_train
        self.initial_loss = math.nan  # cross-entropy of the untrained network on the whole training set
        self.linears: list[tuple[str, Any]] = []
        self.acts: list[tuple[str, Any, str]] = []
        self.loss: list[float] = []
        self.grad_norm: list[float] = []
        self.grad_rms: dict[str, list[float]] = {}
        self.signal_rms: dict[str, list[float]] = {}
        self.update_ratio: dict[str, list[float]] = {}
        self.init_forward: dict[str, float] = {}  # step 0: RMS of each activation's input, then of the logits
        self.init_signal: dict[str, float] = {}  # step 0: RMS of ∂loss/∂(Linear output)
        self.dead: dict[str, list[float]] = {}
        self.saturated: dict[str, list[float]] = {}
        self.epochs: list[dict[str, Any]] = []
        self.first_non_finite: int | None = None
        self.first_non_finite_layer: str | None = None
        self.step = 0
        self._probe: dict[str, Any] | None = None
        self._bad_output: str | None = None
        self._weights: dict[str, Any] = {}
        self._signal: dict[str, float] = {}
        self._handles: list[Any] = []


class Recorder(Series, Callback):
    """Records, before training: the untrained network's cross-entropy on the whole training set; per step:
    loss, weight-gradient RMS and ∂loss/∂output RMS per Linear, the global gradient norm, the update-to-weight
    ratio per Linear, the first non-finite step and layer; at step 0: the RMS of every activation's input and
    of the logits; per epoch, on the WHOLE training set in eval mode: the fraction of ReLU units that never
    fire and of sigmoid/tanh outputs on the flat ends; and the epoch's train/validation loss and accuracy."""

    # -------------------------------------------------------------- hooks
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        model = self.trainer.model
        self.initial_loss = _cross_entropy(self._forward_all(model), self.y)
        for name, module in model.named_modules():
            kind = type(module).__name__
            if kind == "Linear":
                self.linears.append((name, module))
                for series in (self.grad_rms, self.signal_rms, self.update_ratio):
                    series[name] = []
                self._handles += [module.register_forward_hook(self._forward(name, None)),
                                  module.register_full_backward_pre_hook(self._backward(name))]
            elif kind in ACTIVATIONS:
                self.acts.append((name, module, ACTIVATIONS[kind]))
                if kind == "ReLU":
                    self.dead[name] = []
                if kind in ("Sigmoid", "Tanh"):
                    self.saturated[name] = []
                self._handles.append(module.register_forward_hook(self._forward(name, ACTIVATIONS[kind])))

    def _forward(self, name: str, kind: str | None) -> Any:
        def hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
            out = output.detach().numpy()
            if self._probe is not None:  # the whole-training-set pass at the end of an epoch
                self._probe[name] = out
                return
            if not (module.training and cr.is_grad_enabled()):
                return  # fit's own evaluation passes
            if not np.isfinite(out).all() and self._bad_output is None:
                self._bad_output = name
            if self.step == 0:
                if kind is not None:
                    self.init_forward[name] = _rms(args[0].detach().numpy())
                elif name == self.linears[-1][0]:  # the logits
                    self.init_forward[name] = _rms(out)

        return hook

    def _backward(self, name: str) -> Any:
        def hook(module: Any, grad_output: tuple[Any, ...]) -> None:  # torch's (∂loss/∂output,)
            if self._probe is None:
                self._signal[name] = _rms(grad_output[0].numpy())

        return hook

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._bad_output, self._signal = None, {}

    def on_after_backward(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = float((logs or {})["loss"])
        self.loss.append(loss)
        total, finite = 0.0, math.isfinite(loss)
        for p in self.trainer.model.parameters():
            if p.grad is not None:
                g = p.grad.numpy()
                with np.errstate(all="ignore"):
                    total += float(np.sum(np.square(g, dtype=np.float64)))
        finite = finite and math.isfinite(total) and self._bad_output is None
        self.grad_norm.append(math.sqrt(total) if math.isfinite(total) else math.inf)
        for name, module in self.linears:
            g = module.weight.grad
            self.grad_rms[name].append(_rms(g.numpy()) if g is not None else math.nan)
            self.signal_rms[name].append(self._signal.get(name, math.nan))
            self._weights[name] = module.weight.detach().numpy().astype(np.float64)
        if self.step == 0:
            self.init_signal = dict(self._signal)
        if not finite and self.first_non_finite is None:
            self.first_non_finite = self.step
            bad_grads = [n for n, s in self.grad_rms.items() if not math.isfinite(s[-1])]
            self.first_non_finite_layer = self._bad_output or (bad_grads[-1] if bad_grads else None)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        for name, module in self.linears:
            old, new = self._weights[name], module.weight.detach().numpy().astype(np.float64)
            with np.errstate(all="ignore"):
                ratio = float(np.linalg.norm(new - old) / max(np.linalg.norm(old), 1e-12))
            self.update_ratio[name].append(ratio)
            if not np.isfinite(new).all() and self.first_non_finite is None:  # seen at the next step's loss
                self.first_non_finite, self.first_non_finite_layer = self.step + 1, name
        self.step += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.epochs.append({"end_step": self.step,
                            **{k: logs.get(k) for k in ("loss", "val_loss", "accuracy", "val_accuracy")}})
        self._probe = {}
        self._forward_all(self.trainer.model)
        probe, self._probe = self._probe, None
        for name, _, kind in self.acts:  # after a NaN nothing is measurable: NaN
            out = probe[name]
            finite = bool(np.isfinite(out).all())
            if name in self.dead:
                self.dead[name].append(float(np.mean(~(out > 0).any(axis=0))) if finite else math.nan)
            if name in self.saturated:
                with np.errstate(all="ignore"):
                    flat = float(np.mean(_slope(out, kind) < SATURATED_SLOPE)) if finite else math.nan
                self.saturated[name].append(flat)

    def _forward_all(self, model: Any) -> np.ndarray:
        """The whole training set through the model in eval mode, without a graph; the logits."""
        was_training = model.training
        model.eval()
        try:
            with cr.no_grad(), np.errstate(all="ignore"):
                return model(cr.from_numpy(self.X)).numpy()
        finally:
            model.train(was_training)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


# ------------------------------------------------------------------------------------------------ rules
# Each rule: its thresholds next to their source. A run may carry several labels; a healthy run has none.
# "Initial loss" is the untrained network's cross-entropy on the whole training set (eval mode).

SATURATED_SLOPE = 0.05  # a unit is on a flat end when its slope is < 5% of the peak (|tanh| > 0.975,
# sigmoid outside [0.013, 0.987]): Glorot & Bengio 2010 §3 (saturated units pass back ≈ 0 gradient);
# LeCun, Bottou, Orr & Müller 1998 "Efficient BackProp" §4.4 (keep units off the flat ends).

RULES: dict[str, str] = {
    "non_finite": (
        "a NaN/inf at some step in a Linear's or activation's output, the loss or any gradient (IEEE 754 "
        "overflow; Keras TerminateOnNaN); its layer is the first module, in forward order, whose output was "
        "non-finite (else the top Linear whose gradient was)"),
    "exploding_gradients": (
        "the global gradient norm, as a 5-step running median, exceeds 10× its value at step 0, or the last "
        "finite step before a non-finite one does (a blow-up faster than 5 steps). 10×: Pascanu, Mikolov & "
        "Bengio 2013 §3.2 find clipping thresholds of half to ten times the average norm still converge, so "
        "a sustained norm beyond 10× is growth, not noise"),
    "vanishing_gradients": (
        "over the steps where gradient flows (exact zeros are dead units', not small factors), the median "
        "weight-gradient RMS of the first Linear is < 1e-3 × the last's (AUTOTRAINER, Zhang et al. ICSE 2021) "
        "AND the backpropagated ∂loss/∂z at the first Linear is < 1e-2 × the last's, so the shrinkage comes "
        "from backpropagation, not from small inputs (Hochreiter 1991; Glorot & Bengio 2010 §4.2, Fig. 7)"),
    "dead_relu": (
        "≥ 50% of some ReLU layer's units output 0 for EVERY training sample at the end of each of the last "
        "two epochs. Dead = never active on the data (Lu, Shin, Su & Karniadakis 2019 'Dying ReLU and "
        "initialization'). keras-contrib's DeadReluDetector warns from 10%, which healthy narrow nets here "
        "reach (25% of 8 units on noisy gauss), so a majority of the layer is our choice of 'failure'"),
    "saturation": (
        f"≥ 50% of some sigmoid/tanh layer's outputs on the whole training set have a slope < "
        f"{SATURATED_SLOPE:.0%} of the peak at the end of two consecutive epochs (Glorot & Bengio 2010 §3: "
        f"saturated top hidden units stall deep sigmoid nets; healthy nets here measure ≤ 45%)"),
    "overfitting": (
        "Prechelt 1998 generalization loss GL = val_loss/min(val_loss so far) − 1 > 5% (his GL5) at the last "
        "two epochs, while the training loss is below its value at the best-validation epoch and below the "
        "initial loss (training improves while validation worsens: Goodfellow, Bengio & Courville 2016 §7.8), "
        "and train accuracy exceeds validation accuracy by ≥ 5 points at the end (a gap that costs accuracy: "
        "our choice)"),
    "learning_rate_too_high": (
        "in some epoch the loss climbs: its mean training loss rises above the lowest before it (initial "
        "loss included) by ≥ 10% of the initial loss, or it goes non-finite ('the cost function often "
        "increasing significantly': Goodfellow et al. 2016 §8.3.1; Bengio 2012 'Practical recommendations' "
        "§3.1) WHILE, in that epoch, the steps are large: the median update-to-weight ratio ‖Δw‖/‖w‖ of some "
        "Linear is > 1e-2, ten times the healthy 1e-3 (Karpathy, CS231n 'Neural Networks 3')"),
    "learning_rate_too_low": (
        "while the batch loss is above half the initial loss, the median update-to-weight ratio of the "
        "most-moved Linear is < 1e-4, a tenth of CS231n's healthy 1e-3, though the gradient has not shrunk "
        "(its median norm is ≥ 10% of step 0's: the step is small because of the rate, not of the gradient), "
        "and the run ends there (the last quarter's loss is above half the initial loss); not in a run "
        "that blew up (exploding_gradients, non_finite, learning_rate_too_high): huge weights make the ratio small"),
    "bad_initialization": (
        "at step 0, from the second Linear on (the first one's input scale is the data's: unscaled_inputs), "
        "the RMS of the pre-activations (each activation's input, then the logits) or of the backpropagated "
        "∂loss/∂z changes by ≥ 100× with depth. Principle: Glorot & Bengio 2010 §4.2.1 and He et al. 2015 "
        "§2.2 (a good init keeps both variances constant across layers; a bad one multiplies them by a "
        "per-layer factor, exponential in depth); 100× is our choice: PyTorch's default init on ≤ 4 Linears "
        "measures ≤ 10× here"),
    "not_converged": (
        "over the last third of the steps (≥ 30) the batch loss has a downward least-squares slope below −3 "
        "standard errors (a drift distinguishable from SGD noise: Chee & Toulis 2018 'Convergence diagnostics "
        "for SGD with constant learning rate'), one more such stretch at that slope would add ≥ 10% to the "
        "loss reduction achieved so far (our choice of 'worth training longer'), and the validation loss is "
        "at its lowest in the last epoch (Prechelt 1998: GL = 0, no reason to stop yet)"),
    "unscaled_inputs": (
        "some non-constant input feature present (non-zero) in at least half the samples has RMS > 10 or < 0.1, "
        "or such features' standard deviations differ by "
        "> 100× (LeCun et al. 1998 'Efficient BackProp' §4.3: inputs should have mean ≈ 0 and comparable "
        "variances ≈ 1; a factor of 10 from unit scale is our choice)"),
}

# ------------------------------------------------------------------------------------------------ summary


def _median(values: Any) -> float:
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else math.nan


def _running_median(a: np.ndarray, window: int) -> np.ndarray:
    if len(a) < window:
        return np.array([_median(a)]) if len(a) else np.array([math.nan])
    return np.median(np.lib.stride_tricks.sliding_window_view(a, window), axis=1)


def _trend(losses: np.ndarray, initial: float) -> dict[str, float]:
    """Least-squares slope of the last third's batch losses, its t-statistic, and the fall it projects over
    one more such stretch as a fraction of the reduction achieved so far (from the initial loss)."""
    window = losses[-max(30, len(losses) // 3):]
    if len(window) < 30 or not np.isfinite(window).all():
        return {"slope_t": math.nan, "projected_fall": math.nan}
    x = np.arange(len(window), dtype=float)
    slope, intercept = np.polyfit(x, window, 1)
    residual = window - (slope * x + intercept)
    se = math.sqrt(float(residual @ residual) / (len(x) - 2) / float(((x - x.mean()) ** 2).sum()))
    progress = float(initial - window.mean())
    return {"slope_t": float(slope / se) if se > 0 else -math.inf * (slope < 0),
            "projected_fall": float(-slope * len(window) / max(progress, 1e-12))}


def _log_span(a: float, b: float) -> float:
    """log10(b / a); ±inf when one of them is exactly 0 (a signal that does not get through at all)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    if a == 0 or b == 0:
        return 0.0 if a == b else math.copysign(math.inf, b - a)
    return math.log10(b / a)


def summarize(rec: Recorder, X_train: np.ndarray) -> dict[str, Any]:
    """The run's measured quantities, plain numbers and lists, from the Recorder's series (up to the first
    non-finite step: nothing after it is meaningful)."""
    losses = np.asarray(rec.loss, dtype=float)
    names = [n for n, _ in rec.linears]
    last = names[-1]
    nf = rec.first_non_finite
    n = len(losses) if nf is None else nf
    initial = rec.initial_loss
    quarter = losses[:n][-max(1, n // 4):]

    # gradient growth against the untrained network's gradient norm (step 0)
    norms = np.asarray(rec.grad_norm[:n], dtype=float)
    growth = norms / max(norms[0], 1e-30) if n else np.array([math.nan])
    layer_growth = {k: float(np.nanmax(_running_median(np.asarray(v[:n]), 5)) / max(v[0], 1e-30)) if n
                    else math.nan for k, v in rec.grad_rms.items()}

    # gradient flow: each Linear against the last, per step, median over the steps where both are non-zero
    def ratio_to_last(series: dict[str, list[float]], name: str) -> float:
        a, b = np.asarray(series[name][:n], dtype=float), np.asarray(series[last][:n], dtype=float)
        flowing = (a > 0) & (b > 0)
        with np.errstate(all="ignore"):
            return _median(a[flowing] / b[flowing])

    grad_ratio = {k: ratio_to_last(rec.grad_rms, k) for k in names}
    signal_ratio = {k: ratio_to_last(rec.signal_rms, k) for k in names}

    # update-to-weight ratio per layer: the median while the loss is above half the initial loss
    high = np.flatnonzero(losses[:n] > 0.5 * initial)
    steps = high if high.size else np.arange(n)
    update = {k: _median(np.asarray(v)[steps[steps < len(v)]]) for k, v in rec.update_ratio.items()}
    norm_while_learning = _median(norms[steps[steps < len(norms)]]) / max(norms[0], 1e-30) if n else math.nan

    # step-0 scale by depth, from the second Linear on
    forward = list(rec.init_forward.values())
    signal = [rec.init_signal.get(k, math.nan) for k in names]
    fwd_span = _log_span(forward[1], forward[-1]) if len(forward) >= 3 else 0.0
    bwd_span = _log_span(signal[-1], signal[1]) if len(signal) >= 3 else 0.0

    # generalization (Prechelt's GL per epoch) and the loss climbing back
    val = [e["val_loss"] for e in rec.epochs]
    train = [e["loss"] for e in rec.epochs]
    gl, best = [], math.inf
    for v in val:
        if v is None or not math.isfinite(v):
            gl.append(math.nan)
            continue
        best = min(best, v)
        gl.append(v / max(best, 1e-12) - 1)
    finite_val = [v if v is not None and math.isfinite(v) else math.inf for v in val]
    best_epoch = int(np.argmin(finite_val)) if any(math.isfinite(v) for v in finite_val) else None
    # the loss climbing back in an epoch, and that epoch's median update ratio per Linear
    starts = [0] + [e["end_step"] for e in rec.epochs]
    climbs, lowest = [], initial
    epoch_update: dict[str, list[float]] = {k: [] for k in rec.update_ratio}
    for e, t in enumerate(train):
        a, b = starts[e], min(starts[e + 1], n)
        for k, v in rec.update_ratio.items():
            epoch_update[k].append(_median(v[a:b]))
        broke = t is None or not math.isfinite(t) or (nf is not None and nf < starts[e + 1])
        climbs.append(math.inf if broke else (t - lowest) / max(abs(initial), 1e-12))
        if broke:
            break
        lowest = min(lowest, t)

    # inputs
    rms = np.sqrt(np.mean(np.square(X_train, dtype=np.float64), axis=0))
    std = X_train.std(axis=0, dtype=np.float64)
    varying = std > 1e-8 * max(float(std.max()), 1e-30)
    # features present (non-zero) in at least half the samples: a rarely present one (a rarely inked pixel) has an
    # RMS set by its rarity, not its scale (scikit-learn's preprocessing guide: sparse data is not standardized)
    varying &= np.count_nonzero(X_train, axis=0) >= X_train.shape[0] / 2

    return {
        "steps": len(losses), "epochs": len(rec.epochs), "initial_loss": initial,
        "final_loss": float(np.mean(quarter)) if quarter.size else math.nan,
        "first_non_finite_step": nf, "first_non_finite_layer": rec.first_non_finite_layer,
        "grad_growth_max": float(np.nanmax(growth)),
        "grad_growth_sustained": float(np.nanmax(_running_median(growth, 5))),
        "grad_growth_last": float(growth[-1]),
        "layer_grad_growth": layer_growth, "grad_norm_while_learning": norm_while_learning,
        "grad_ratio_first_last": grad_ratio[names[0]], "signal_ratio_first_last": signal_ratio[names[0]],
        "grad_ratio_to_last": grad_ratio, "signal_ratio_to_last": signal_ratio,
        "dead_fraction": dict(rec.dead), "saturated_fraction": dict(rec.saturated),
        "update_ratio_while_learning": update,
        "init_forward_rms": dict(rec.init_forward), "init_signal_rms": {k: rec.init_signal.get(k) for k in names},
        "init_forward_log10_span": fwd_span, "init_backward_log10_span": bwd_span,
        "train_loss": train, "val_loss": val, "loss_climb": climbs, "epoch_update_ratio": epoch_update,
        "train_acc": [e["accuracy"] for e in rec.epochs], "val_acc": [e["val_accuracy"] for e in rec.epochs],
        "generalization_loss": gl, "best_val_epoch": best_epoch,
        **{f"trend_{k}": v for k, v in _trend(losses[:n], initial).items()},
        # no feature to judge (all rarely present): unit scale, nothing labelled
        "input_rms_max": float(rms[varying].max()) if varying.any() else 1.0,
        "input_rms_min": float(rms[varying].min()) if varying.any() else 1.0,
        "input_std_spread": float(std[varying].max() / std[varying].min()) if varying.any() else 1.0,
    }


def _persistent(series: list[float], threshold: float) -> bool:
    """Two consecutive epochs at or above threshold anywhere in the run (the one epoch of a 1-epoch run)."""
    ok = [math.isfinite(v) and v >= threshold for v in series]
    return ok == [True] if len(ok) == 1 else any(a and b for a, b in itertools.pairwise(ok))


def label(m: dict[str, Any]) -> dict[str, list[str]]:
    """The true labels of a run from its summary: {kind: the layers the measurement points at, worst first}."""
    out: dict[str, list[str]] = {}
    nf = m["first_non_finite_step"]
    if nf is not None:
        out["non_finite"] = [m["first_non_finite_layer"]] if m["first_non_finite_layer"] else []
    if m["grad_growth_sustained"] > 10 or (nf is not None and m["grad_growth_last"] > 10):
        grown = {k: v for k, v in m["layer_grad_growth"].items() if v > 10}
        out["exploding_gradients"] = sorted(grown, key=lambda k: -grown[k])
    if m["grad_ratio_first_last"] < 1e-3 and m["signal_ratio_first_last"] < 1e-2:
        starved = {k: v for k, v in m["grad_ratio_to_last"].items() if v < 1e-2}
        out["vanishing_gradients"] = sorted(starved, key=lambda k: starved[k])
    dead = {k: v[-1] for k, v in m["dead_fraction"].items() if _tail(v, 0.5)}
    if dead:
        out["dead_relu"] = sorted(dead, key=lambda k: -dead[k])
    saturated = {k: max(v) for k, v in m["saturated_fraction"].items() if _persistent(v, 0.5)}
    if saturated:
        out["saturation"] = sorted(saturated, key=lambda k: -saturated[k])
    gl, train, best, acc, val_acc = (m[k] for k in ("generalization_loss", "train_loss", "best_val_epoch",
                                                    "train_acc", "val_acc"))
    if (len(gl) >= 2 and best is not None and all(math.isfinite(g) and g > 0.05 for g in gl[-2:])
            and train[-1] < min(train[best], m["initial_loss"]) and (acc[-1] or 0) - (val_acc[-1] or 0) >= 0.05):
        out["overfitting"] = []
    large: dict[str, float] = {}
    for e, climb in enumerate(m["loss_climb"]):
        if climb >= 0.1:
            large.update({k: max(v[e], large.get(k, 0.0)) for k, v in m["epoch_update_ratio"].items() if v[e] > 1e-2})
    if large:
        out["learning_rate_too_high"] = sorted(large, key=lambda k: -large[k])
    learning = {k: v for k, v in m["update_ratio_while_learning"].items() if math.isfinite(v)}
    if (learning and 0 < max(learning.values()) < 1e-4 and m["grad_norm_while_learning"] >= 0.1
            and m["final_loss"] > 0.5 * m["initial_loss"]
            and not {"exploding_gradients", "non_finite", "learning_rate_too_high"} & set(out)):
        out["learning_rate_too_low"] = sorted(learning, key=lambda k: -learning[k])
    spans = [abs(m["init_forward_log10_span"]), abs(m["init_backward_log10_span"])]
    if any(s >= 2 for s in spans if not math.isnan(s)):
        out["bad_initialization"] = []
    if (nf is None and m["trend_slope_t"] < -3 and m["trend_projected_fall"] >= 0.1 and gl
            and gl[-1] == 0):
        out["not_converged"] = []
    if m["input_rms_max"] > 10 or m["input_rms_min"] < 0.1 or m["input_std_spread"] > 100:
        out["unscaled_inputs"] = []
    return out


def _tail(series: list[float], threshold: float) -> bool:
    """The last two epochs (the only one of a 1-epoch run) at or above threshold."""
    tail = series[-2:]
    return bool(tail) and all(math.isfinite(v) and v >= threshold for v in tail)
