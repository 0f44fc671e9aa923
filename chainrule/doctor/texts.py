"""The words of every finding: one table entry per kind (severity, summary, explanation, ranked remedies).

A rule's Verdict carries numbers only; here they become sentences. Every sentence is built from the
evidence it sits next to, so the wording cannot contradict the numbers: a loss that rose is never
said to have "improved by -10%", a finding triggered by an absolute limit does not claim a spike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chainrule.doctor.findings import Finding, Remedy
from chainrule.doctor.rules import Verdict


@dataclass
class Context:
    """What the words and remedies may refer to besides the evidence: the run's settings and the model."""

    lr: float | None = None
    optimizer: str | None = None  # class name, e.g. "SGD"
    spec: Any = None  # the MLPSpec, when the model has one
    activations: dict[str, str] = field(default_factory=dict)  # layer name -> class name
    calm_norm: float = 1.0  # the global gradient norm before any spike: a clip value to suggest
    period: str = ""  # "epoch 3" or "steps 100–199"
    unit: str = "epoch"  # what "in a row" counts: "epoch" or "window"


@dataclass(frozen=True)
class KindText:
    severity: str
    summary: str | dict[str, str]  # a template, or one per ``evidence["criterion"]``
    explanation: str
    remedies: tuple[tuple[Any, ...], ...]  # (remedy name, its arguments...), best first


FIXED_SCALE = ", which keeps every layer's inputs at a fixed scale"

TEXTS: dict[str, KindText] = {
    "non_finite": KindText(
        "error",
        "{what} became NaN/inf at step {step}{where_first}",
        "A number became NaN (not a number) or infinite. Once that happens it spreads through every later "
        "multiplication and sum, so training cannot recover. It almost always means the values grew too big: "
        "steps too large for the loss surface make the weights larger, which makes the next gradients larger, "
        "until float32 overflows.",
        (("lower_lr", ""), ("clip",), ("batch_norm", FIXED_SCALE))),
    "exploding_gradients": KindText(
        "error",
        {"spike": "gradient RMS {grad_rms:.3g} is {spike_ratio:.3g}× its running average for {steps_in_a_row} "
                  "steps in a row while the loss ({loss:.4g}) is above its own running average "
                  "({loss_running_average:.4g}) (threshold {threshold:g}×)",
         "absolute": "gradient RMS {grad_rms:.3g} per element is above the limit {threshold:g} for "
                     "{steps_in_a_row} steps in a row (its running average was {running_average:.3g})"},
        "The gradients are growing step after step. In backpropagation each layer multiplies the gradient by "
        "its weights; when the weights are large that is a product of many large terms, and too large a step "
        "makes the weights larger still, so the next gradient is bigger: a feedback loop that ends in "
        "overflow (NaN).",
        (("lower_lr", ""), ("clip",), ("batch_norm", FIXED_SCALE))),
    "vanishing_gradients": KindText(
        "warning",
        "the gradient RMS of {layer} is {ratio_lowest_to_highest:.1e} × that of {highest_layer} "
        "(threshold {threshold:g}); starved layers: {starved}; {loss_change} over the last {unit}",
        "On the way back from the loss, the gradient is multiplied by one factor per layer; {factor}. A product "
        "of many small terms is tiny: {layer} receives {ratio_lowest_to_highest:.0e} of the gradient that "
        "{highest_layer} gets, so the lower layers barely change and the network stops learning.",
        (("to_relu",), ("batch_norm", ", which rescales each layer's signal so it neither shrinks nor grows"),
         ("to_adam",))),
    "dead_relu": KindText(
        "warning",
        "{dead_fraction:.0%} of the units in {layer} never fired on any training sample in {period} "
        "(threshold {threshold:.0%}; {in_a_row} {unit}s in a row); {loss_change} over the last {unit}",
        "A ReLU outputs max(0, z). When a unit's weighted sum z is below zero for every input, it outputs 0 and "
        "passes back a gradient of exactly 0, so nothing can pull its weights back: the unit is dead. Here "
        "{dead_fraction:.0%} of {layer}'s units are stuck like that, and the layer has lost that much of its "
        "capacity. Large steps (a high learning rate) are the usual way units get knocked below zero.",
        (("lower_lr", " so updates stop knocking units below zero"), ("leaky_relu",),
         ("batch_norm", ", which keeps pre-activations centred around zero"), ("he_init",))),
    "saturation": KindText(
        "warning",
        "{saturated_fraction:.0%} of {layer}'s {cls} outputs sit at the flat ends (threshold {threshold:.0%}) "
        "for {in_a_row} {unit}s in a row",
        "A {cls} is flat at both ends: once its input is large (|z| ≳ 5) its output is pinned near its limits "
        "and its slope is almost 0, so almost no gradient passes back through it. Large weights or unscaled "
        "inputs push units there.",
        (("to_relu",), ("batch_norm", ", which keeps pre-activations near zero where the slope is largest"),
         ("xavier",))),
    "learning_rate_too_high": KindText(
        "warning",
        "each step changes {layer}'s weights by {update_ratio:.1e} of their size (healthy ≈ 1e-3, threshold "
        "{threshold:g}) and {loss_change} over the {unit}",
        "The update-to-weight ratio ‖Δw‖/‖w‖ says how much one step changes a layer. Around 1e-3 is healthy; "
        "here a single step changes {layer} by {update_ratio:.0%} of its size, so the steps overshoot the "
        "valley they are aiming for and the loss makes no real progress.",
        (("lower_lr", ""), ("clip",))),
    "learning_rate_too_low": KindText(
        "warning",
        "the largest per-step update is {update_ratio:.1e} of the weights ({layer}; healthy ≈ 1e-3, threshold "
        "{threshold:g}) and {loss_change} over the {unit}",
        "Each step changes the weights by only {update_ratio:.0e} of their size, {times_below:.0f} times less "
        "than the usual 1e-3, so training crawls: thousands of epochs would be needed to get anywhere.",
        (("raise_lr",), ("to_adam",))),
    "overfitting": KindText(
        "warning",
        "validation loss {val_loss:.3g} is {generalization_loss:.0%} above its best ({best_val_loss:.3g} at "
        "epoch {best_epoch}; threshold {threshold:.0%}) while {gap_text}",
        "The network keeps getting better on the training examples but worse on data it has not seen: it is "
        "memorizing the training set (including its noise) instead of learning patterns that carry over. "
        "{Gap_text}.",
        (("dropout",), ("early_stop",), ("smaller",), ("more_data",))),
}


# ---------------------------------------------------------------------------- derived words


def loss_change(improvement: float | None) -> str:
    """The loss's relative change in words, signed by what happened (never "improved by -10%")."""
    if improvement is None or not math.isfinite(improvement):
        return "the loss changed by an unknown amount"
    if improvement > 0:
        return f"the loss fell by only {improvement:.1%}"
    if improvement < 0:
        return f"the loss rose by {-improvement:.1%}"
    return "the loss did not change"


def _span(names: list[str]) -> str:
    if not names:
        return "none"
    return names[0] if len(names) == 1 else f"{names[0]}–{names[-1]}"


def words(verdict: Verdict, step: int, epoch: int, ctx: Context) -> dict[str, Any]:
    """The evidence (None shown as nan) plus the phrases the templates of its kind use."""
    ev = {k: math.nan if v is None else v for k, v in verdict.evidence.items()}
    w: dict[str, Any] = {**ev, "layer": verdict.layer, "step": step, "epoch": epoch, "period": ctx.period,
                         "unit": ctx.unit, "loss_change": loss_change(verdict.evidence.get("loss_improvement")),
                         "cls": ctx.activations.get(verdict.layer or "", "activation")}
    if verdict.kind == "non_finite":
        w["what"] = " and ".join(verdict.evidence["non_finite_in"]) or "values"
        first = verdict.evidence["first_non_finite_output"]
        w["where_first"] = f"; the first layer whose output went non-finite is {first}" if first else ""
    elif verdict.kind == "vanishing_gradients":
        w["starved"] = _span(verdict.evidence.get("starved_layers", []))
        saturating = any(c in ("Sigmoid", "Tanh") for c in ctx.activations.values())
        w["factor"] = ("a sigmoid's slope is at most 0.25, so each layer shrinks the gradient by 4× or more"
                       if saturating else "each layer multiplies it by its weights and its activation's slope")
    elif verdict.kind == "learning_rate_too_low":
        w["times_below"] = 1e-3 / ev["update_ratio"] if ev["update_ratio"] else math.inf
    elif verdict.kind == "overfitting":
        acc, val_acc = verdict.evidence["train_accuracy"], verdict.evidence["val_accuracy"]
        w["gap_text"] = (f"train accuracy {acc:.0%} vs validation {val_acc:.0%}" if acc is not None and val_acc
                         is not None else f"validation loss {ev['gap']:.1f}× the training loss")
        w["Gap_text"] = w["gap_text"][0].upper() + w["gap_text"][1:]
    return w


# ---------------------------------------------------------------------------- remedies


def _sig1(x: float) -> float:
    """x to one significant figure, for suggestions a person would type (0.01, not 0.0097)."""
    return float(f"{x:.1g}")


def _spec_has(ctx: Context, name: str, value: Any) -> bool:
    return ctx.spec is not None and getattr(ctx.spec, name, None) == value


def lower_lr(ctx: Context, ev: dict[str, Any], why: str) -> Remedy:
    if ctx.lr:
        return Remedy(f"lower the learning rate from {ctx.lr:g} to {_sig1(ctx.lr / 10):g}{why}",
                      {"lr": _sig1(ctx.lr / 10)})
    return Remedy(f"lower the learning rate 10×{why}", {"lr_factor": 0.1})


def raise_lr(ctx: Context, ev: dict[str, Any]) -> Remedy:
    if ctx.lr:
        return Remedy(f"raise the learning rate from {ctx.lr:g} to {_sig1(ctx.lr * 10):g}", {"lr": _sig1(ctx.lr * 10)})
    return Remedy("raise the learning rate 10×", {"lr_factor": 10.0})


def clip(ctx: Context, ev: dict[str, Any]) -> Remedy:
    limit = _sig1(ctx.calm_norm) if math.isfinite(ctx.calm_norm) and ctx.calm_norm > 0 else 1.0
    return Remedy(f"clip the gradient norm at {limit:g} (its typical size before the blow-up)",
                  {"clip_grad_norm": limit})


def batch_norm(ctx: Context, ev: dict[str, Any], why: str) -> Remedy | None:
    if _spec_has(ctx, "batch_norm", True):
        return None
    return Remedy(f"add BatchNorm1d after each hidden Linear{why}", {"batch_norm": True})


def he_init(ctx: Context, ev: dict[str, Any]) -> Remedy | None:
    if _spec_has(ctx, "init", "he"):
        return None
    return Remedy("initialize the weights with He init (std √(2/fan_in)), sized for ReLU", {"init": "he"})


def to_relu(ctx: Context, ev: dict[str, Any]) -> Remedy | None:
    saturating = [name for name, cls in ctx.activations.items() if cls in ("Sigmoid", "Tanh")]
    if not saturating:
        return he_init(ctx, ev)
    return Remedy(f"switch {_span(saturating)} from {ctx.activations[saturating[0]]} to ReLU with He init "
                  f"(ReLU's slope is 1 wherever it is active)", {"activation": "relu", "init": "he"})


def to_adam(ctx: Context, ev: dict[str, Any]) -> Remedy | None:
    if (ctx.optimizer or "").lower() != "sgd":
        return None
    return Remedy("use Adam (lr 0.001), which scales each weight's step to the size of its own gradient",
                  {"optimizer": "adam", "lr": 0.001})


def leaky_relu(ctx: Context, ev: dict[str, Any]) -> Remedy:
    return Remedy("use LeakyReLU (slope 0.01 below zero), whose units always pass some gradient",
                  {"activation": "leaky_relu"})


def xavier(ctx: Context, ev: dict[str, Any]) -> Remedy:
    return Remedy("initialize with Xavier/Glorot init, sized to keep sigmoid/tanh inputs small", {"init": "xavier"})


def dropout(ctx: Context, ev: dict[str, Any]) -> Remedy:
    p = 0.3 if ctx.spec is None or getattr(ctx.spec, "dropout", 0.0) < 0.3 else 0.5
    return Remedy(f"add Dropout({p}) after the hidden layers", {"dropout": p})


def early_stop(ctx: Context, ev: dict[str, Any]) -> Remedy:
    best = ev["best_epoch"]
    return Remedy(f"stop training at epoch {best} where validation loss was lowest (early stopping)",
                  {"epochs": best + 1})


def smaller(ctx: Context, ev: dict[str, Any]) -> Remedy | None:
    hidden = getattr(ctx.spec, "hidden", None) if ctx.spec is not None else None
    if not hidden:
        return None
    widths = [max(1, h // 2) for h in hidden]
    return Remedy(f"use a smaller network (hidden widths {widths})", {"hidden": widths})


def more_data(ctx: Context, ev: dict[str, Any]) -> Remedy:
    return Remedy("train on more data (or augment it)", {})


REMEDIES: dict[str, Callable[..., Remedy | None]] = {
    f.__name__: f for f in (lower_lr, raise_lr, clip, batch_norm, he_init, to_relu, to_adam, leaky_relu, xavier,
                            dropout, early_stop, smaller, more_data)
}


# Words for a kind measured on other layers (``evidence["variant"]``: "channels", "through_time", "gates"),
# registered by structured_texts.py; the summary's template may read the evidence only.
VARIANTS: dict[tuple[str, str], KindText] = {}


def finding(verdict: Verdict, step: int, epoch: int, ctx: Context) -> Finding:
    """The Finding of a verdict: its evidence (with the summary line), explanation and remedies in words."""
    text = VARIANTS.get((verdict.kind, verdict.evidence.get("variant", "")), TEXTS[verdict.kind])
    w = words(verdict, step, epoch, ctx)
    template = text.summary if isinstance(text.summary, str) else text.summary[verdict.evidence["criterion"]]
    remedies = [REMEDIES[name](ctx, verdict.evidence, *args) for name, *args in text.remedies]
    return Finding(verdict.kind, text.severity, verdict.layer, step, epoch,
                   {"summary": template.format(**w), **verdict.evidence}, text.explanation.format(**w),
                   [r for r in remedies if r is not None])
