""""Try the fix": re-run a short stretch of training from the same seed with a finding's top remedy applied.

Each run is watched by a fresh Doctor, so before and after are measured the same way: final
loss, validation loss/accuracy, gradient flow (lowest/highest layer gradient RMS), the largest
dead-unit and saturated fraction, whether anything went non-finite, and which findings remain.

Whether the remedy *improved* training is decided on one number, the same for every kind: the
validation loss at the end of the same number of steps (the training loss when there is no
validation data), and it must beat the "before" run by more than the "before" run moves when only
the seed changes (a second seed is trained for that). Anything less is reported as "no better".
The kind's own measure (gradient ratio, dead fraction, ...) is shown beside it as ``target``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.doctor.doctor import Doctor
from chainrule.doctor.findings import Finding, Remedy

FIT_KEYS = ("lr", "lr_factor", "clip_grad_norm", "optimizer", "epochs")
# What each kind's remedy should move: shown beside the verdict (FixResult.target), not deciding it.
TARGET = {
    "vanishing_gradients": "grad_ratio",
    "dead_relu": "dead_fraction",
    "saturation": "saturation",
    "overfitting": "best_val_loss",
    "exploding_gradients": "final_loss",
    "non_finite": "final_loss",
    "learning_rate_too_high": "final_loss",
    "learning_rate_too_low": "final_loss",
    "bad_initialization": "grad_ratio",
    "not_converged": "final_loss",
    "unscaled_inputs": "final_loss",
}


@dataclass
class FixResult:
    """One finding, the remedy tried, the two runs' measurements, and whether it helped."""

    kind: str
    layer: str | None
    remedy: Remedy
    before: dict[str, Any]
    after: dict[str, Any]
    metric: str  # what decided ``improved``: "val_loss", or "final_loss" without validation data
    improved: bool  # the metric beat "before" by more than ``noise``
    resolved: bool  # the finding's kind is no longer reported
    notes: list[str] = field(default_factory=list)
    noise: float | None = None  # how far the metric moves when only the seed changes
    target: str = ""  # the kind's own measure (e.g. "grad_ratio"), compared in before/after

    @property
    def verdict(self) -> str:
        """"improved" or "no better", as the table and the report say it."""
        return "improved" if self.improved else "no better"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["remedy"] = self.remedy.to_dict()
        d["verdict"] = self.verdict
        return d


def _spec_fields(spec: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(spec)} if dataclasses.is_dataclass(spec) else set()


def _applicable(remedy: Remedy, spec: Any) -> bool:
    if not remedy.change:
        return False
    allowed = set(FIT_KEYS) | _spec_fields(spec)
    return all(key in allowed for key in remedy.change)


def _samples(data: Any) -> int:
    if isinstance(data, tuple | list):
        return len(data[0])
    dataset = getattr(data, "dataset", data)
    return len(dataset)


def _apply(spec: Any, fit_kwargs: dict[str, Any], change: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from chainrule.training.trainer import OPTIMIZERS

    kwargs = dict(fit_kwargs)
    spec_changes = {k: v for k, v in change.items() if k not in FIT_KEYS}
    if spec_changes:
        spec = spec.replace(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec_changes.items()})
    for key in ("lr", "clip_grad_norm", "optimizer", "epochs"):
        if key in change:
            kwargs[key] = change[key]
    if "lr_factor" in change:
        lr = kwargs.get("lr") or OPTIMIZERS[kwargs.get("optimizer", "adam")][1]
        kwargs["lr"] = lr * change["lr_factor"]
    if "epochs" in change:
        kwargs["epochs"] = max(1, min(int(change["epochs"]), fit_kwargs["epochs"]))
    return spec, kwargs


def _run(spec: Any, fit_kwargs: dict[str, Any], seed: int) -> Doctor:
    from chainrule.training import fit
    from chainrule.training.models import build_mlp

    if callable(spec) and not dataclasses.is_dataclass(spec):
        from chainrule.engine.random import manual_seed

        manual_seed(seed)
        model = spec()
    else:
        model = build_mlp(spec, seed=seed)
    doctor = Doctor()
    with np.errstate(all="ignore"):  # the "before" run may well overflow: that is what is being fixed
        fit(model, callbacks=[doctor], verbose=0, **fit_kwargs)
    return doctor


def measure(doctor: Doctor) -> dict[str, Any]:
    """Summary numbers of a finished run, comparable between "before" and "after"."""
    m = doctor.metrics
    losses = np.array(m["loss"], dtype=float)
    tail = losses[-max(1, len(losses) // 10):]
    non_finite = "non_finite" in doctor.kinds() or not np.isfinite(tail).all()
    final_loss = math.inf if non_finite else float(tail.mean())
    epochs = m["epochs"]
    val = [e["val_loss"] for e in epochs if e.get("val_loss") is not None and math.isfinite(e["val_loss"])]
    last = epochs[-1] if epochs else {}
    names = doctor.layer_names
    ratio = math.nan
    if len(names) >= 2 and m["steps"]:
        window = max(1, len(m["steps"]) // 4)  # the last quarter of the run

        def recent(name: str) -> float:
            values = np.array(m["grad_rms"][name][-window:], dtype=float)
            values = values[np.isfinite(values)]
            return float(np.median(values)) if values.size else math.nan

        top = recent(names[-1])
        ratio = recent(names[0]) / top if top > 0 else math.nan
    dead = [s[-1] for s in m["dead_fraction"].values() if s and math.isfinite(s[-1])]
    sat = [float(np.nanmedian(s[-10:])) for s in m["saturation"].values() if np.isfinite(s[-10:]).any()]
    return {
        "final_loss": final_loss,
        "val_loss": last.get("val_loss"),
        "best_val_loss": min(val) if val else None,
        "accuracy": last.get("accuracy"),
        "val_accuracy": last.get("val_accuracy"),
        "grad_ratio": ratio,
        "dead_fraction": max(dead) if dead else None,
        "saturation": max(sat) if sat else None,
        "non_finite": bool(non_finite),
        "kinds": sorted(doctor.kinds()),
    }


def _score(run: dict[str, Any], metric: str) -> float:
    """The metric of a run, lower is better; a diverged or missing value is +inf."""
    value = run.get(metric)
    return value if isinstance(value, int | float) and math.isfinite(value) else math.inf


def seed_noise(first: float, second: float) -> float:
    """How far the metric moved between two seeds of the same run (0 when both diverged)."""
    if first == second:  # both inf included
        return 0.0
    return abs(first - second)


def improved(before: float, after: float, noise: float) -> bool:
    """True when ``after`` beats ``before`` (lower is better) by more than the seed noise.

    >>> improved(0.634, 0.669, 0.0), improved(1.0, 0.9, 0.2), improved(1.0, 0.7, 0.2), improved(math.inf, 0.5, 0.0)
    (False, False, True, True)
    """
    return after < before - noise


def try_fixes(spec: Any, fit_kwargs: dict[str, Any], findings: list[Finding], steps: int | None = 300,
              seed: int | None = None) -> list[FixResult]:
    """Re-run training briefly from the same seed with each finding's top applicable remedy.

    Args:
        spec: the MLPSpec the model was built from, or a zero-argument callable that builds a fresh
            model (then only optimizer-level remedies are tried: lr, clipping, optimizer, epochs).
        fit_kwargs: the keyword arguments given to ``fit`` (train, val, optimizer, lr, epochs, ...).
        findings: the findings to try to fix (e.g. ``history.doctor.findings``).
        steps: about how many optimizer steps each run takes (whole epochs; None: the full run).
        seed: the seed for model and training (default: ``fit_kwargs["seed"]`` or 0).

    Returns:
        One FixResult per finding that has an applicable remedy (the "before" run is shared).

    Raises:
        TypeError: ``spec`` is neither a dataclass spec nor a callable; ``fit_kwargs`` lacks ``train``.
    """
    if not (dataclasses.is_dataclass(spec) or callable(spec)):
        raise TypeError(f"try_fixes: spec must be an MLPSpec or a callable that builds a model, "
                        f"got {type(spec).__name__}")
    if "train" not in fit_kwargs:
        raise TypeError(f"try_fixes: fit_kwargs must hold 'train' (the training data); got keys {sorted(fit_kwargs)}")
    kwargs = {k: v for k, v in fit_kwargs.items() if k not in ("doctor", "verbose", "callbacks")}
    if not isinstance(kwargs.get("optimizer", "adam"), str):  # an instance is bound to the old model's weights
        optimizer = kwargs["optimizer"]
        kwargs["optimizer"] = type(optimizer).__name__.lower()
        kwargs["lr"] = float(optimizer.param_groups[0]["lr"])
    seed = int(kwargs.get("seed") or 0) if seed is None else seed
    kwargs["seed"] = seed
    kwargs.setdefault("epochs", 10)
    if steps is not None:
        per_epoch = math.ceil(_samples(kwargs["train"]) / kwargs.get("batch_size", 32))
        kwargs["epochs"] = max(1, min(kwargs["epochs"], math.ceil(steps / per_epoch)))

    runs: dict[str, dict[str, Any]] = {}

    def run(change: dict[str, Any], run_seed: int) -> dict[str, Any]:
        key = json.dumps([change, run_seed], sort_keys=True)
        if key not in runs:
            new_spec, new_kwargs = _apply(spec, kwargs, change) if change else (spec, kwargs)
            # the seed draws the initial weights and the batch order (and dropout masks) alike
            runs[key] = measure(_run(new_spec, {**new_kwargs, "seed": run_seed}, run_seed))
        return runs[key]

    metric = "val_loss" if kwargs.get("val") is not None else "final_loss"
    results = []
    for finding in findings:
        remedy = next((r for r in finding.remedies if _applicable(r, spec)), None)
        if remedy is None:
            continue
        results.append(judge(finding, remedy, run({}, seed), run(remedy.change, seed), run({}, seed + 1), metric))
    return results


def judge(finding: Finding, remedy: Remedy, before: dict[str, Any], after: dict[str, Any],
          second_seed: dict[str, Any], metric: str) -> FixResult:
    """The verdict on one remedy from three runs of the same length: before, after, and before with the next seed
    (its distance from "before" is the bar ``after`` must clear). ``kinds`` of a run: the findings its doctor
    reported, or None when the run was not watched (then ``resolved`` is False and a note says it is unknown)."""
    noise = seed_noise(_score(before, metric), _score(second_seed, metric))
    b, a = _score(before, metric), _score(after, metric)
    notes = [f"{metric} {b:.4g} → {a:.4g}: {'improved' if improved(b, a, noise) else 'no better'} "
             f"(a second seed moves it by {noise:.2g})"]
    if metric == "final_loss":
        notes.append("no validation data: judged on the training loss")
    if before.get("kinds") is None or after.get("kinds") is None:
        notes.append("the runs were not watched by a doctor: whether the finding is still reported is unknown")
    elif finding.kind not in before["kinds"]:
        notes.append(f"the short re-run did not reproduce {finding.kind}")
    if "epochs" in remedy.change:
        notes.append("the remedy itself changes how long training runs")
    resolved = after.get("kinds") is not None and finding.kind not in after["kinds"]
    return FixResult(finding.kind, finding.layer, remedy, before, after, metric, improved(b, a, noise), resolved,
                     notes, noise, TARGET[finding.kind])


# The config keys ``try_fixes_fn`` hands a user's ``train_fn(config)`` (any engine: a PyTorch loop, say), with
# what each asks for. A run gets only "seed" and "doctor" plus the keys of one remedy; a key missing from the
# config means "as you normally train".
TRAIN_FN_KEYS = {
    "seed": "int: the seed for the initial weights and the batch order (a second seed measures the noise)",
    "doctor": "a fresh Doctor: watch the model with it (optional; then the report says whether the finding stays)",
    "lr": "float: the learning rate (a remedy's lr_factor arrives already multiplied into it)",
    "init": '"he" (nn.init.kaiming_normal_) or "xavier" (nn.init.xavier_normal_) for every Linear/Conv weight',
    "activation": '"relu" or "leaky_relu": the hidden layers\' activation instead of the current one',
    "batch_norm": "True: a normalization layer (nn.BatchNorm1d/2d) after each hidden Linear/Conv",
    "clip_grad_norm": "float: torch.nn.utils.clip_grad_norm_(params, max_norm) between backward and step",
    "optimizer": '"adam": that optimizer (with the lr in the same config)',
    "dropout": "float: dropout probability after each hidden layer",
    "hidden": "tuple of ints: the hidden layers' widths",
    "epochs": "int: train this many epochs (more for not_converged, fewer for overfitting)",
}


def _as_run(metrics: Any, doctor: Doctor, what: str) -> dict[str, Any]:
    """A train_fn's returned metrics as a run's measurements, with the doctor's when it watched the run."""
    if not isinstance(metrics, dict):
        raise TypeError(f"try_fixes: train_fn must return a dict of metrics (val_loss and/or loss), got "
                        f"{type(metrics).__name__} for {what}")
    watched = doctor.model is not None
    if watched:
        doctor.report()  # judges what the run left open (its last window, the end), as a user's report would
    run: dict[str, Any] = measure(doctor) if watched else {"kinds": None}
    # a 0-d tensor or NumPy scalar (loss without .item()) counts as the number it holds
    metrics = {k: float(v) if getattr(v, "ndim", None) == 0 and hasattr(v, "item") else v for k, v in metrics.items()}
    if "loss" in metrics:
        run["final_loss"] = metrics["loss"]
    run.update({k: v for k, v in metrics.items() if k != "loss"})
    if not any(isinstance(run.get(k), int | float) for k in ("val_loss", "final_loss")):
        raise TypeError(f"try_fixes: train_fn's metrics for {what} must hold 'val_loss' or 'loss' (the training "
                        f"loss at the end) as a number; got keys {sorted(metrics)}")
    run["steps"] = doctor.step if watched else None
    return run


def try_fixes_fn(train_fn: Callable[[dict[str, Any]], dict[str, Any]], findings: list[Finding],
                 lr: float | None = None, supports: Any = None, seed: int = 0) -> list[FixResult]:
    """"Try the fix" on a training function the user wrote: each finding's first remedy whose change ``train_fn``
    supports, passed as a config change (``TRAIN_FN_KEYS``), judged as ``try_fixes`` judges (``judge``).

    ``train_fn(config) -> metrics`` trains a fresh model for a fixed, short number of steps and returns at
    least ``val_loss`` (or, without validation data, ``loss``: the training loss at the end). It is called
    with ``{"seed": seed, "doctor": Doctor()}`` (before), with the same plus one remedy's keys (after), and
    with ``seed + 1`` (the noise bar); runs are cached by config.

    Args:
        train_fn: the user's short training function.
        findings: the findings to try to fix (e.g. ``doctor.findings``).
        lr: the learning rate trained with, to turn a remedy's ``lr_factor`` into an ``lr`` (without it such
            remedies are skipped).
        supports: the config keys ``train_fn`` understands (default: all of ``TRAIN_FN_KEYS``).
        seed: the seed of the "before" and "after" runs.

    Raises:
        TypeError: ``train_fn`` is not callable, ``supports`` names an unknown key, or the metrics returned
            hold neither ``val_loss`` nor ``loss``.
    """
    if not callable(train_fn):
        raise TypeError(f"try_fixes: train_fn must be a function config -> metrics, got {type(train_fn).__name__}")
    allowed = set(TRAIN_FN_KEYS if supports is None else supports)
    if not allowed <= set(TRAIN_FN_KEYS):
        raise TypeError(f"try_fixes: supports names unknown config keys {sorted(allowed - set(TRAIN_FN_KEYS))}; "
                        f"known: {sorted(TRAIN_FN_KEYS)}")
    runs: dict[str, dict[str, Any]] = {}

    def run(change: dict[str, Any], run_seed: int) -> dict[str, Any]:
        key = json.dumps([change, run_seed], sort_keys=True)
        if key not in runs:
            doctor = Doctor()
            with np.errstate(all="ignore"):  # the "before" run may well overflow: that is what is being fixed
                metrics = train_fn({"seed": run_seed, "doctor": doctor, **change})
            runs[key] = _as_run(metrics, doctor, f"config {key}")
        return runs[key]

    def as_config(change: dict[str, Any]) -> dict[str, Any] | None:
        """A remedy's change in the config's terms; None when ``train_fn`` cannot take it."""
        change = dict(change)
        if "lr_factor" in change:
            if lr is None:
                return None
            change["lr"] = lr * change.pop("lr_factor")
        return change if change and set(change) <= allowed else None

    results = []
    for finding in findings:
        changes = (as_config(r.change) for r in finding.remedies)
        remedy, change = next(((r, c) for r, c in zip(finding.remedies, changes, strict=True) if c is not None),
                              (None, None))
        if remedy is None or change is None:
            continue
        before = run({}, seed)
        metric = "val_loss" if isinstance(before.get("val_loss"), int | float) else "final_loss"
        result = judge(finding, remedy, before, run(change, seed), run({}, seed + 1), metric)
        if before["steps"] is not None and before["steps"] != result.after["steps"] and "epochs" not in change:
            result.notes.append(f"the runs took different numbers of steps ({before['steps']} before, "
                                f"{result.after['steps']} after): compare with care")
        results.append(result)
    return results


def fixes_table(results: list[FixResult]) -> Any:
    """A rich Table: per finding, the remedy tried and before → after for loss, gradient flow, dead units."""
    from rich.table import Table

    table = Table(title="try the fix: same seed, same steps, one remedy each; improved = beats a second seed's "
                        "spread", show_lines=True)
    for column in ("finding", "remedy tried", "loss", "gradient flow\n(lowest/highest)", "dead units",
                   "still reported?"):
        table.add_column(column, overflow="fold")

    def pair(key: str, fmt: Callable[[Any], str]) -> str:
        return f"{fmt(r.before.get(key))} → {fmt(r.after.get(key))}"

    def num(x: Any) -> str:
        return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"

    def pct(x: Any) -> str:
        return "—" if x is None else f"{x:.0%}"

    for r in results:
        mark = "[green]improved[/]" if r.improved else "[red]no better[/]"
        noise = "" if r.noise is None else f", seed noise {r.noise:.2g}"
        table.add_row(f"{r.kind}\n{r.layer or ''}", f"{r.remedy.description}\n{mark} ({r.metric}: "
                      f"{num(r.before.get(r.metric))} → {num(r.after.get(r.metric))}{noise})",
                      pair("final_loss", num), pair("grad_ratio", num), pair("dead_fraction", pct),
                      "no" if r.resolved else "yes")
    return table
