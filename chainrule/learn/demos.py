"""The failure gallery: each failure of backpropagation reproduced on purpose, diagnosed and fixed.

Every demo trains the problem configuration and its fix side by side from fixed seeds on
scikit-learn's handwritten digits, lets the doctor diagnose each run, and checks the claim
of the founding text (``shared/seed/backprop.md``) against the measured numbers:

- ``vanishing``: lower layers' gradients are products of many small terms and approach 0; ReLU helps.
- ``exploding``: with large weights those products grow until training diverges; batch norm,
  a lower learning rate (and gradient clipping) help.
- ``dead-relu``: a ReLU stuck below 0 outputs 0 and passes no gradient; a lower learning rate helps.
- ``dropout``: dropping activations regularizes; 0.0 is none, a middle rate is best, 1.0 learns nothing.

The chapters on recurrent, residual and convolutional networks (``vanishing-through-time``, ``residual-depth``,
``cnn-dead-filters``) live in demos_nets.py and are registered here.

>>> sorted(DEMOS)  # doctest: +NORMALIZE_WHITESPACE
['cnn-dead-filters', 'dead-relu', 'dropout', 'exploding', 'residual-depth', 'vanishing',
 'vanishing-through-time']
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.training.callbacks import Callback


@dataclass
class DemoRun:
    """One trained configuration of a demo and what was measured on it."""

    label: str
    config: dict[str, Any]
    train_accuracy: float
    val_accuracy: float
    final_loss: float
    grad_rms: dict[str, float]  # weight layer -> gradient RMS, averaged over the first epoch
    grad_norms: list[float]  # total gradient norm at each step (before any clipping)
    losses: list[float]  # batch loss at each step
    dead_fraction: dict[str, float]  # activation layer -> fraction of units that never fired
    findings: list[dict[str, Any]]
    seconds: float
    # the doctor's series for conv, recurrent and residual layers, by metrics.json key (those it measured)
    watched: dict[str, Any] = field(default_factory=dict)

    @property
    def kinds(self) -> set[str]:
        return {f["kind"] for f in self.findings if f["severity"] != "info"}


DIGITS_CHANCE = 1 / 10  # every demo but the recurrent one classifies the ten digits


@dataclass
class DemoResult:
    """A demo's runs, the claim it checks, and whether the numbers bear it out."""

    name: str
    title: str
    claim: str
    runs: list[DemoRun]
    checks: list[tuple[str, bool]]
    numbers: dict[str, Any]
    story: list[str]
    seconds: float = 0.0
    columns: list[str] = field(default_factory=list)
    chance: float = DIGITS_CHANCE  # validation accuracy of guessing; a run must beat it clearly to be "learning"

    @property
    def claim_holds(self) -> bool:
        return all(ok for _, ok in self.checks)

    def run(self, label: str) -> DemoRun:
        return next(r for r in self.runs if r.label == label)

    def __repr__(self) -> str:
        verdict = "the claim holds" if self.claim_holds else "the claim does NOT hold"
        return f"DemoResult({self.name}: {verdict}; runs: {', '.join(r.label for r in self.runs)})"

    def _repr_html_(self) -> str:
        """In a notebook, the demo's section of the gallery page: story, plot, table and checked claims."""
        from chainrule.learn.demo_report import _section

        return _section(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "claim": self.claim, "claim_holds": self.claim_holds,
            "checks": [{"check": text, "holds": ok} for text, ok in self.checks],
            "numbers": _finite(self.numbers), "story": self.story, "seconds": round(self.seconds, 2),
            "runs": [_finite(asdict(r)) for r in self.runs],
        }


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: write them as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class _Recorder(Callback):
    """Records per-step gradient statistics from the gradients the backward pass left behind."""

    def __init__(self) -> None:
        self.grad_norms: list[float] = []
        self.losses: list[float] = []
        self.first_epoch_rms: dict[str, list[float]] = {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.weights = [(name, p) for name, p in self.trainer.model.named_parameters() if name.endswith("weight")
                        and p.ndim >= 2]

    def on_after_backward(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        total = 0.0
        first_epoch = self.trainer.epoch == 0
        with np.errstate(all="ignore"):
            for name, p in self.trainer.model.named_parameters():
                if p._grad is None:
                    continue
                square = float(np.vdot(p._grad, p._grad))
                total += square
                if first_epoch and name.endswith("weight") and p.ndim >= 2:
                    layer = name.rsplit(".", 1)[0]
                    self.first_epoch_rms.setdefault(layer, []).append(math.sqrt(square / p._grad.size))
        self.grad_norms.append(math.sqrt(total))
        self.losses.append(float(self.trainer.last_loss))


def _dead_fraction(model: cr.nn.Module, X: np.ndarray) -> dict[str, float]:
    """Per ReLU layer: the fraction of units that output 0 for every training sample (after a convolution, whose
    output is (N, C, ...), a unit is a channel: 0 at every position of every sample)."""
    fired: dict[str, np.ndarray] = {}
    handles = []
    for name, module in model.named_modules():
        if type(module) is cr.nn.ReLU:
            def hook(module: Any, args: Any, out: Any, name: str = name) -> None:
                data = out._data
                fired[name] = (data > 0).any(axis=(0, *range(2, data.ndim)) if data.ndim > 2 else 0)
            handles.append(module.register_forward_hook(hook))
    model.eval()
    with cr.no_grad(), np.errstate(all="ignore"):
        model(cr.from_numpy(np.ascontiguousarray(X)))
    for h in handles:
        h.remove()
    return {name: float(1 - f.mean()) for name, f in fired.items()}


def _train(label: str, spec: Any, splits: Any, *, optimizer: str, lr: float, epochs: int, seed: int,
           batch_size: int = 32, clip: float | None = None, train: Any = None) -> DemoRun:
    from chainrule.training.models import build_mlp

    return _train_model(label, build_mlp(spec, seed=seed), spec.to_dict(), splits, optimizer=optimizer, lr=lr,
                        epochs=epochs, seed=seed, batch_size=batch_size, clip=clip, train=train)


def _train_model(label: str, model: cr.nn.Module, description: dict[str, Any], splits: Any, *, optimizer: str,
                 lr: float, epochs: int, seed: int, batch_size: int = 32, clip: float | None = None,
                 train: Any = None) -> DemoRun:
    """Train ``model`` with the doctor and the recorder watching; ``description`` leads its config."""
    train = train if train is not None else splits.train
    recorder = _Recorder()
    doctor = cr.Doctor()
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # overflow is the point of some demos, and the doctor reports it
        history = cr.fit(model, train, val=splits.val, loss="cross_entropy", optimizer=optimizer, lr=lr,
                         epochs=epochs, batch_size=batch_size, callbacks=[recorder], seed=seed, doctor=doctor,
                         verbose=0, clip_grad_norm=clip)
    seconds = time.perf_counter() - start
    last = history.epochs[-1]
    config = {**description, "optimizer": optimizer, "lr": lr, "epochs": epochs, "batch_size": batch_size,
              "clip_grad_norm": clip}
    return DemoRun(
        label=label, config=config,
        train_accuracy=float(last.get("accuracy", float("nan"))),
        val_accuracy=float(last.get("val_accuracy", float("nan"))),
        final_loss=float(last.get("loss", float("nan"))),
        grad_rms={k: float(np.mean(v)) for k, v in recorder.first_epoch_rms.items()},
        grad_norms=recorder.grad_norms, losses=recorder.losses,
        dead_fraction=_dead_fraction(model, train.X), findings=[f.to_dict() for f in doctor.findings],
        seconds=seconds, watched={k: v for k, v in doctor.metrics.items() if k in WATCHED and v},
    )


WATCHED = ("dead_channel_fraction", "time_gradient_ratio", "time_gradient_profile", "gate_saturation",
           "residual_branch_to_skip")


def _digits(seed: int) -> Any:
    return cr.data.load_dataset("digits", seed=seed)


def _spec(**kwargs: Any) -> Any:
    from chainrule.training.models import MLPSpec

    return MLPSpec(in_features=64, out_features=10, **kwargs)


def _layers_named(findings: list[dict[str, Any]], kind: str) -> list[str]:
    return [f["layer"] for f in findings if f["kind"] == kind and f.get("layer")]


def _doctor_said(run: DemoRun) -> str:
    notable = [f for f in run.findings if f["severity"] != "info"]
    if not notable:
        return f"The doctor found nothing wrong with '{run.label}'"
    parts = [f"{f['kind']}" + (f" in {f['layer']}" if f["layer"] else "") for f in notable[:3]]
    said = f"In the '{run.label}' run the doctor found " + "; ".join(parts)
    remedies = notable[0].get("remedies") or []
    # What the doctor said includes what it told the user to do, so the fix that follows reads as its advice.
    return said + (f", and prescribed first: {remedies[0]['description'].rstrip('.')}" if remedies else "")


# ---------------------------------------------------------------------------- the demos


def vanishing(seed: int = 0) -> DemoResult:
    """A 10-layer sigmoid network against the same depth with ReLU and He init."""
    splits = _digits(seed)
    depth, width = 10, 32
    sig = _train("sigmoid", _spec(hidden=(width,) * depth, activation="sigmoid"), splits,
                 optimizer="sgd", lr=0.1, epochs=20, seed=seed)
    relu = _train("relu + He init", _spec(hidden=(width,) * depth, activation="relu", init="he"), splits,
                  optimizer="sgd", lr=0.1, epochs=20, seed=seed)
    layers = list(sig.grad_rms)
    ratio = {r.label: r.grad_rms[layers[0]] / r.grad_rms[layers[-1]] for r in (sig, relu)}
    orders = {label: math.log10(v) for label, v in ratio.items()}
    lowest = layers[0]
    checks = [
        (f"sigmoid: first/last-layer gradient RMS ratio {ratio['sigmoid']:.1e} < 1e-3", ratio["sigmoid"] < 1e-3),
        (f"ReLU: the ratio {ratio['relu + He init']:.1e} stays above 1e-2", ratio["relu + He init"] > 1e-2),
        (f"ReLU learns: validation accuracy {relu.val_accuracy:.1%} beats sigmoid's {sig.val_accuracy:.1%} "
         "by 20 points", relu.val_accuracy > sig.val_accuracy + 0.2),
        (f"the doctor names the lowest layer {lowest} as vanishing in the sigmoid run",
         lowest in _layers_named(sig.findings, "vanishing_gradients")),
        ("the doctor reports no vanishing gradients with ReLU", "vanishing_gradients" not in relu.kinds),
    ]
    story = [
        f"Trained a {depth}-layer network of {width} sigmoid units per layer on handwritten digits with plain SGD, "
        "and the same depth with ReLU and He initialization.",
        f"With sigmoid, each layer multiplies the backpropagated gradient by σ'(x) ≤ 0.25 and a weight: the "
        f"gradient reaching {lowest} is {ratio['sigmoid']:.1e} times the last layer's "
        f"({orders['sigmoid']:.1f} orders of magnitude), so the lower layers barely learn "
        f"(validation accuracy {sig.val_accuracy:.1%}).",
        _doctor_said(sig) + ".",
        f"With ReLU (derivative 1 where active) and He init the ratio is {ratio['relu + He init']:.2f} "
        f"and the network learns (validation accuracy {relu.val_accuracy:.1%}).",
    ]
    numbers = {"grad_rms": {r.label: r.grad_rms for r in (sig, relu)}, "first_last_ratio": ratio,
               "orders_of_magnitude": orders, "val_accuracy": {r.label: r.val_accuracy for r in (sig, relu)}}
    return DemoResult("vanishing", "Vanishing gradients", "In a deep network the lower layers' gradients are "
                      "products of many small terms and approach 0, so those layers learn slowly or not at all; "
                      "ReLU helps.", [sig, relu], checks, numbers, story)


def exploding(seed: int = 0) -> DemoResult:
    """Large initial weights and SGD at 0.1 against batch norm, a lower rate and clipping."""
    splits = _digits(seed)
    spec = _spec(hidden=(64,) * 6, activation="relu", init="normal:0.3")
    problem = _train("large weights, lr 0.1", spec, splits, optimizer="sgd", lr=0.1, epochs=3, seed=seed)
    fixes = [
        _train("+ BatchNorm1d", spec.replace(batch_norm=True), splits, optimizer="sgd", lr=0.1, epochs=8, seed=seed),
        _train("lr 0.01", spec, splits, optimizer="sgd", lr=0.01, epochs=8, seed=seed),
        _train("+ clip norm 1.0", spec, splits, optimizer="sgd", lr=0.1, epochs=8, seed=seed, clip=1.0),
    ]
    norms = problem.grad_norms
    first_bad = next((i for i, v in enumerate(norms) if not math.isfinite(v)), None)
    finite = [v for v in norms if math.isfinite(v)]
    growth = max(finite) / finite[0] if finite else float("nan")
    checks = [
        (f"the gradient norm grows {growth:.1e}-fold from step 0 and then overflows (step {first_bad})",
         first_bad is not None and growth > 1e3),
        ("the doctor reports exploding_gradients or non_finite for large weights at lr 0.1",
         bool({"exploding_gradients", "non_finite"} & problem.kinds)),
    ]
    for fix in fixes:
        checks.append((f"'{fix.label}' converges: finite loss {fix.final_loss:#.3g}, validation accuracy "
                       f"{fix.val_accuracy:.1%} ≥ 70%", math.isfinite(fix.final_loss) and fix.val_accuracy >= 0.7))
        checks.append((f"the doctor reports no exploding gradients with '{fix.label}'",
                       not {"exploding_gradients", "non_finite"} & fix.kinds))
    story = [
        "Trained a 6-layer ReLU network whose weights start large (normal, std 0.3, about 1.7× He) with SGD at 0.1.",
        f"Each layer multiplies the backpropagated gradient by its large weights: the gradient norm went "
        f"{', '.join(f'{v:.1e}' for v in norms[:6])}… growing {growth:.1e}-fold until it overflowed at step "
        f"{first_bad}, and training never converged.",
        _doctor_said(problem) + ".",
        "Batch normalization rescales each layer's activations, a lower learning rate shrinks every step, and "
        "clipping caps the step's gradient norm: "
        + "; ".join(f"'{f.label}' reached {f.val_accuracy:.1%}" for f in fixes) + ".",
    ]
    numbers = {"grad_norms": {r.label: r.grad_norms[:40] for r in [problem, *fixes]},
               "first_non_finite_step": first_bad, "growth": growth,
               "val_accuracy": {r.label: r.val_accuracy for r in [problem, *fixes]}}
    return DemoResult("exploding", "Exploding gradients", "With large weights the lower layers' gradients are "
                      "products of many large terms and grow too large to converge; batch normalization and a "
                      "lower learning rate help.", [problem, *fixes], checks, numbers, story)


def dead_relu(seed: int = 0) -> DemoResult:
    """Adam at a high learning rate kills ReLU units; a lower rate keeps them alive."""
    splits = _digits(seed)
    spec = _spec(hidden=(64,) * 3, activation="relu")
    high = _train("ReLU, lr 0.1", spec, splits, optimizer="adam", lr=0.1, epochs=10, seed=seed)
    low = _train("ReLU, lr 0.001", spec, splits, optimizer="adam", lr=0.001, epochs=10, seed=seed)
    leaky = _train("LeakyReLU, lr 0.1", spec.replace(activation="leaky_relu"), splits, optimizer="adam", lr=0.1,
                   epochs=10, seed=seed)
    mean_dead = {r.label: float(np.mean(list(r.dead_fraction.values()))) for r in (high, low)}
    named = _layers_named(high.findings, "dead_relu")
    checks = [
        (f"at lr 0.1, {mean_dead[high.label]:.0%} of ReLU units are dead (≥ 50%)", mean_dead[high.label] >= 0.5),
        (f"at lr 0.001, only {mean_dead[low.label]:.0%} are (≤ 25%)", mean_dead[low.label] <= 0.25),
        (f"dead units cost accuracy: {high.val_accuracy:.1%} at lr 0.1 vs {low.val_accuracy:.1%} at lr 0.001",
         low.val_accuracy > high.val_accuracy + 0.05),
        (f"the doctor reports dead_relu at lr 0.1 (layers {', '.join(named) or 'none'})", bool(named)),
        ("the doctor reports no dead units at lr 0.001", "dead_relu" not in low.kinds),
        ("the doctor never reports LeakyReLU units dead", "dead_relu" not in leaky.kinds),
    ]
    story = [
        "Trained a 3-hidden-layer ReLU network on digits with Adam at a high learning rate (0.1) and a low one "
        "(0.001), and with LeakyReLU at the high rate.",
        "A big step can push a unit's weighted sum below 0 for every input; the unit then outputs 0 and its "
        "gradient is 0, so nothing brings it back. At lr 0.1: dead fraction per layer "
        + ", ".join(f"{k} {v:.0%}" for k, v in high.dead_fraction.items()) + f"; validation accuracy "
        f"{high.val_accuracy:.1%}.",
        _doctor_said(high) + ".",
        "At lr 0.001: " + ", ".join(f"{k} {v:.0%}" for k, v in low.dead_fraction.items())
        + f"; validation accuracy {low.val_accuracy:.1%}. LeakyReLU keeps a small slope below 0, so its units "
        f"always pass gradient (validation accuracy {leaky.val_accuracy:.1%} at lr 0.1).",
    ]
    numbers = {"dead_fraction": {r.label: r.dead_fraction for r in (high, low)}, "mean_dead_fraction": mean_dead,
               "val_accuracy": {r.label: r.val_accuracy for r in (high, low, leaky)}}
    return DemoResult("dead-relu", "Dead ReLU units", "Once a ReLU unit's weighted sum falls below 0 it outputs 0 "
                      "and no gradient flows back through it; lowering the learning rate keeps units alive.",
                      [high, low, leaky], checks, numbers, story)


DROPOUT_RATES = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)


def dropout(seed: int = 0, rates: tuple[float, ...] = DROPOUT_RATES) -> DemoResult:
    """Sweep the dropout rate on a wide network trained on few digits with noisy labels."""
    from chainrule.data import train_val_test_split

    full = _digits(seed)
    # A setting that overfits: 200 training digits, 40% of their labels replaced at random, a wide network.
    small = train_val_test_split(full.train, val=0.0, test=1 - 200 / len(full.train), seed=seed).train
    rng = np.random.default_rng(seed)
    labels = small.y.copy()
    flip = rng.random(len(labels)) < 0.4
    labels[flip] = rng.integers(0, 10, int(flip.sum()))
    noisy = small.with_arrays(small.X, labels, name="digits-200-noisy")
    with warnings.catch_warnings():
        # p=1.0 is meant to learn nothing here, and the story says why; Dropout's warning would only interrupt it.
        warnings.filterwarnings("ignore", message=r"Dropout: p=1\.0 drops every unit", category=UserWarning)
        runs = [
            _train(f"p={p}", _spec(hidden=(256, 256), activation="relu", dropout=p), full, optimizer="adam",
                   lr=1e-3, epochs=40, seed=seed, train=noisy)
            for p in rates
        ]
    by_rate = dict(zip(rates, runs))
    val = {p: r.val_accuracy for p, r in by_rate.items()}
    train = {p: r.train_accuracy for p, r in by_rate.items()}
    best = max(val, key=lambda p: val[p])
    chance = DIGITS_CHANCE
    checks = [
        (f"p=0.0 memorizes the noisy labels: training accuracy {train[0.0]:.1%} ≥ 95%", train[0.0] >= 0.95),
        (f"the best validation accuracy is at a middle rate (p={best}: {val[best]:.1%} vs {val[0.0]:.1%} at p=0.0)",
         0.0 < best < 1.0 and val[best] >= val[0.0] + 0.03),
        (f"p=1.0 learns nothing: validation accuracy {val[1.0]:.1%}, near chance ({chance:.0%})",
         abs(val[1.0] - chance) <= 0.08),
        ("the doctor diagnoses overfitting at p=0.0 with dropout among the remedies",
         any(f["kind"] == "overfitting" and any("dropout" in r.get("change", {}) for r in f["remedies"])
             for f in by_rate[0.0].findings)),
    ]
    story = [
        "Trained a 64-256-256-10 ReLU network with Adam on only 200 digits, 40% of whose labels were replaced at "
        "random, with dropout after each hidden layer at rates " + ", ".join(map(str, rates)) + ".",
        f"Without dropout it memorizes the noise (training accuracy {train[0.0]:.1%}) and generalizes poorly "
        f"(validation {val[0.0]:.1%}). " + _doctor_said(by_rate[0.0]) + ".",
        f"Dropping activations at random for each step makes memorizing harder: validation accuracy peaks at "
        f"p={best} ({val[best]:.1%}). At p=1.0 every unit is dropped, the output is constant and the model "
        f"learns nothing ({val[1.0]:.1%}, chance is {chance:.0%}).",
        *_prescribed_rate(by_rate[0.0], by_rate, best),
    ]
    numbers = {"rates": list(rates), "train_accuracy": train, "val_accuracy": val, "best_rate": best}
    return DemoResult("dropout", "Dropout regularization", "Dropout drops unit activations at random for one "
                      "gradient step; the more you drop, the stronger the regularization: 0.0 is none, a middle "
                      "rate generalizes best, and 1.0 learns nothing.", runs, checks, numbers, story)


def _prescribed_rate(unregularized: DemoRun, by_rate: dict[float, DemoRun], best: float) -> list[str]:
    """What the sweep says of the dropout rate the doctor prescribed, so the story never contradicts its table."""
    changes = [r.get("change", {}) for f in unregularized.findings if f["kind"] == "overfitting"
               for r in f.get("remedies", [])]
    rate = next((c["dropout"] for c in changes if "dropout" in c), None)
    if rate not in by_rate:
        return []
    run = by_rate[rate]
    if "overfitting" in run.kinds:
        return [f"The doctor's Dropout({rate}) is a starting point, not the answer for every data set: on these 200 "
                f"noisy digits p={rate} still overfits (validation {run.val_accuracy:.1%}); the sweep shows the "
                f"rate to use here, p={best} ({by_rate[best].val_accuracy:.1%})."]
    return [f"The doctor's Dropout({rate}) works here: no overfitting at p={rate}, validation "
            f"{run.val_accuracy:.1%} (best in the sweep: p={best}, {by_rate[best].val_accuracy:.1%})."]


DEMOS: dict[str, Callable[..., DemoResult]] = {
    "vanishing": vanishing, "exploding": exploding, "dead-relu": dead_relu, "dropout": dropout,
}


def run_demo(name: str, seed: int = 0) -> DemoResult:
    """Run one demo of the gallery by name and time it.

    Raises:
        ValueError: ``name`` is not one of the demos.
    """
    if name not in DEMOS:
        raise ValueError(f"demo: unknown demo {name!r}; choose from {', '.join(DEMOS)}")
    start = time.perf_counter()
    result = DEMOS[name](seed=seed)
    result.seconds = time.perf_counter() - start
    return result


def _chapter(function: str) -> Callable[..., DemoResult]:
    """A demo of demos_nets.py, imported when it runs (demos_nets builds on the helpers above)."""
    def run(seed: int = 0) -> DemoResult:
        from chainrule.learn import demos_nets

        demo: Callable[..., DemoResult] = getattr(demos_nets, function)
        return demo(seed=seed)

    return run


DEMOS.update({"vanishing-through-time": _chapter("vanishing_through_time"),
              "residual-depth": _chapter("residual_depth"), "cnn-dead-filters": _chapter("cnn_dead_filters")})
