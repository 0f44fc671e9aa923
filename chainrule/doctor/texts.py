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
    causes: tuple[str, ...] = ()  # upstream causes the doctor measured, first first (see CAUSE_REMEDY)
    epochs: int | None = None  # epochs trained so far (what "train longer" starts from)


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
                     "{steps_in_a_row} steps in a row (its running average was {running_average:.3g})",
         "growth": "the gradient RMS, as a median of the last {window} steps, is {growth:.3g}× the untrained "
                   "network's (threshold {threshold:g}×)",
         "before_non_finite": "the gradient RMS had grown to {growth:.3g}× the untrained network's (threshold "
                              "{threshold:g}×) on the last step before values became NaN/inf"},
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
        {"epoch": "each step changes {layer}'s weights by {update_ratio:.1e} of their size (healthy ≈ 1e-3, "
                  "threshold {threshold:g}) and {loss_change} over the {unit}",
         "loss_climb": "each step changes {layer}'s weights by {update_ratio:.1e} of their size (healthy ≈ 1e-3, "
                       "threshold {threshold:g}) while the loss climbs back: its last {climb_block} steps average "
                       "{climb_words} above its lowest so far, {block_above:.0%} of them above it by more than "
                       "{loss_climb_threshold:.0%} of the first loss",
         "epoch_climb": "each step changes {layer}'s weights by {update_ratio:.1e} of their size (healthy ≈ 1e-3, "
                        "threshold {threshold:g}) while the {unit}'s mean loss is {climb_words} above the lowest "
                        "before it (the first loss, or an earlier {unit}'s mean; threshold "
                        "{loss_climb_threshold:.0%} of the first loss)",
         "non_finite": "each step changed {layer}'s weights by {update_ratio:.1e} of their size (healthy ≈ 1e-3, "
                       "threshold {threshold:g}) just before values became NaN/inf"},
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
    "bad_initialization": KindText(
        "warning",
        "at step 0, before any update, {scale_change} (threshold {threshold:g}×)",
        "A good initialization keeps the size of the signal the same from layer to layer, on the way forward "
        "and on the way back (Glorot & Bengio 2010; He et al. 2015): each layer multiplies it by about 1. Here "
        "each layer multiplies it by a factor away from 1, and over {depth} layers that product {trend_words} "
        "before training has taken a single step, so the deep layers {consequence}.",
        (("init_for_activation",), ("batch_norm", FIXED_SCALE))),
    "not_converged": KindText(
        "info",
        "the loss was still falling when training stopped: over the last {window_steps} steps its slope is "
        "{trend_t:.1f} standard errors from flat (threshold {threshold:g}), and one more such stretch would add "
        "{projected_fall:.0%} to the fall so far (threshold {gain_threshold:.0%}){val_words}",
        "Training stopped while the loss was still going down steadily, by more than its step-to-step noise "
        "explains. The network has not reached what it can learn with these settings yet: more steps, or "
        "larger ones, would take it further.",
        (("train_longer",), ("raise_lr_gently",), ("schedule",))),
    "unscaled_inputs": KindText(
        "warning",
        {"large": "input features of the first batch have an RMS of up to {feature_rms_max:.3g} (threshold "
                  "{high:g}; weights are initialized for inputs of size about 1)",
         "small": "input features of the first batch have an RMS down to {feature_rms_min:.3g} (threshold "
                  "{low:g}; weights are initialized for inputs of size about 1)",
         "spread": "the standard deviations of the input features differ {feature_std_spread:.3g}× (threshold "
                   "{spread:g}×): some features are far larger than others"},
        "Weight initializations and learning rates assume inputs of mean about 0 and comparable variance about 1 "
        "(LeCun, Bottou, Orr & Müller 1998, \"Efficient BackProp\"). Features far from that scale make the first "
        "layer's sums huge (saturating or killing units, blowing up steps) or tiny (nothing to learn from), and "
        "features of very different sizes make one learning rate too big for some weights and too small for "
        "others.",
        (("standardize",), ("batch_norm", FIXED_SCALE))),
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
    elif verdict.kind == "learning_rate_too_high":
        climb = ev.get("loss_climb", math.nan)
        w["climb_words"] = f"{climb:.0%} of the first loss" if climb < 10 else f"{climb:.3g}× the first loss"
    elif verdict.kind == "bad_initialization":
        w.update(init_words(verdict.evidence))
    elif verdict.kind == "not_converged":
        at_best = verdict.evidence.get("val_at_best")
        w["val_words"] = "; the validation loss is at its lowest in the last epoch" if at_best else ""
    elif verdict.kind == "unscaled_inputs":
        w["low"], w["high"], w["spread"] = verdict.evidence["thresholds"]
    elif verdict.kind == "overfitting":
        acc, val_acc = verdict.evidence["train_accuracy"], verdict.evidence["val_accuracy"]
        w["gap_text"] = (f"train accuracy {acc:.0%} vs validation {val_acc:.0%}" if acc is not None and val_acc
                         is not None else f"validation loss {ev['gap']:.1f}× the training loss")
        w["Gap_text"] = w["gap_text"][0].upper() + w["gap_text"][1:]
    return w


def init_words(ev: dict[str, Any]) -> dict[str, Any]:
    """The scale change of a bad_initialization verdict in words, by direction and sign."""
    backward = ev["direction"] == "backward"
    first, last = (ev["to_layer"], ev["from_layer"]) if backward else (ev["from_layer"], ev["to_layer"])
    what = "the backpropagated signal ∂loss/∂z" if backward else "the pre-activation RMS"
    way = "down" if backward else "up"
    grows = ev["trend"] == "grows"
    if ev["factor"] is None:  # exactly 0 at one end: nothing gets through
        change = "is exactly 0 at " + (first if grows else last)
        trend_words = "has already cut it to exactly 0"
    else:
        change = f"{'grows' if grows else 'shrinks'} {ev['factor']:.3g}× from {first} {way} to {last}"
        trend_words = f"has already {'multiplied' if grows else 'divided'} it by {ev['factor']:.3g}"
    consequence = ("get steps thousands of times too big or too small" if grows
                   else "get almost no signal and learn almost nothing")
    depth = len(ev["preactivation_rms"]) - 1
    return {"scale_change": f"{what} {change}", "trend_words": trend_words, "consequence": consequence,
            "depth": depth}


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


def _kind_of_activation(ctx: Context) -> str:
    classes = set(ctx.activations.values())
    if "Sigmoid" in classes:
        return "sigmoid"
    return "tanh" if "Tanh" in classes else "relu"


def init_for_activation(ctx: Context, ev: dict[str, Any]) -> Remedy | None:
    """The init sized for the activation: He for the ReLU family, Xavier for tanh; a deep sigmoid net has
    none that keeps its scale (its outputs are not centred: Glorot & Bengio 2010), so: ReLU with He init.
    A ReLU net already on He init that still loses its signal is too deep for its width (Lu et al. 2019)."""
    kind = _kind_of_activation(ctx)
    if kind == "sigmoid":
        return to_relu(ctx, ev)
    if kind == "tanh":
        return xavier(ctx, ev) if not _spec_has(ctx, "init", "xavier") else batch_norm(ctx, ev, FIXED_SCALE)
    return he_init(ctx, ev) or shallower(ctx, ev)


def shallower(ctx: Context, ev: dict[str, Any]) -> Remedy | None:
    hidden = list(getattr(ctx.spec, "hidden", None) or []) if ctx.spec is not None else []
    if len(hidden) < 4:
        return None
    widths = [2 * h for h in hidden[: len(hidden) // 2]]
    return Remedy(f"use half as many hidden layers, twice as wide ({widths}): deep narrow ReLU nets lose units "
                  f"from the start", {"hidden": widths})


def standardize(ctx: Context, ev: dict[str, Any]) -> Remedy:
    return Remedy("standardize the input data: subtract each feature's training-set mean and divide by its "
                  "standard deviation (chainrule.data.standardize)", {})


def train_longer(ctx: Context, ev: dict[str, Any]) -> Remedy:
    if ctx.epochs:
        return Remedy(f"train longer: {2 * ctx.epochs} epochs instead of {ctx.epochs}", {"epochs": 2 * ctx.epochs})
    return Remedy("train for twice as many steps", {})


def raise_lr_gently(ctx: Context, ev: dict[str, Any]) -> Remedy:
    if ctx.lr:
        return Remedy(f"raise the learning rate from {ctx.lr:g} to {_sig1(ctx.lr * 3):g}", {"lr": _sig1(ctx.lr * 3)})
    return Remedy("raise the learning rate 3×", {"lr_factor": 3.0})


def schedule(ctx: Context, ev: dict[str, Any]) -> Remedy:
    return Remedy("use a learning-rate schedule (e.g. one-cycle or cosine decay) to cover more ground in the same "
                  "number of steps", {})


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
                            dropout, early_stop, smaller, more_data, init_for_activation, shallower, standardize,
                            train_longer, raise_lr_gently, schedule)
}

# The first remedy is chosen by the cause the doctor measured, not fixed per kind: inputs out of scale (an
# unscaled_inputs finding) come first, since every later number depends on them; then the initialization (a
# bad_initialization finding, or saturation or dead units already at step 0, before any update); then the
# step size (update ratios ten times the healthy size). Each cause has the remedy that acts on it.
CAUSE_REMEDY: dict[str, tuple[Any, ...]] = {
    "data": ("standardize",),
    "init": ("init_for_activation",),
    "learning rate": ("lower_lr", ""),
}
# The measured causes that can be upstream of each kind (a large step does not cause overfitting, ...).
UPSTREAM: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("non_finite", "exploding_gradients", "vanishing_gradients", "dead_relu", "saturation",
                     "learning_rate_too_high"), ("data", "init", "learning rate")),
    "learning_rate_too_low": ("data", "init"),
    "overfitting": ("data",),
}


# A variant measured along a structure has a structural cure: the gradient through time vanishes in a tanh
# recurrence whatever the Linear layers' init (a gated cell is the cure), so only the inputs' scale leads there.
UPSTREAM_OF_VARIANT: dict[tuple[str, str], tuple[str, ...]] = {
    ("vanishing_gradients", "through_time"): ("data",),
    ("exploding_gradients", "through_time"): ("data", "learning rate"),
}


def ranked(kind: str, ctx: Context, text: KindText | None = None, variant: str = "") -> list[tuple[Any, ...]]:
    """The kind's (or its variant's ``text``'s) remedies, led by the remedy for the first measured cause that
    can be upstream of it."""
    own = list((text or TEXTS[kind]).remedies)
    upstream = UPSTREAM_OF_VARIANT.get((kind, variant), UPSTREAM.get(kind, ()))
    cause = next((c for c in ctx.causes if c in upstream), None)
    if cause is None:
        return own
    lead = CAUSE_REMEDY[cause]
    return [lead, *(r for r in own if r[0] != lead[0])]


# Words for a kind measured on other layers (``evidence["variant"]``: "channels", "through_time", "gates"),
# registered by structured_texts.py; the summary's template may read the evidence only.
VARIANTS: dict[tuple[str, str], KindText] = {}


def finding(verdict: Verdict, step: int, epoch: int, ctx: Context) -> Finding:
    """The Finding of a verdict: its evidence (with the summary line), explanation and remedies in words."""
    text = VARIANTS.get((verdict.kind, verdict.evidence.get("variant", "")), TEXTS[verdict.kind])
    w = words(verdict, step, epoch, ctx)
    if isinstance(text.summary, str):
        template = text.summary
    else:  # a verdict made without a criterion (e.g. by hand) reads as the first one
        template = text.summary[verdict.evidence.get("criterion", next(iter(text.summary)))]
    remedies: list[Remedy] = []
    for name, *args in ranked(verdict.kind, ctx, text, verdict.evidence.get("variant", "")):
        remedy = REMEDIES[name](ctx, verdict.evidence, *args)
        if remedy is not None and all(r.description != remedy.description for r in remedies):
            remedies.append(remedy)
    evidence = {"summary": template.format(**w), **verdict.evidence}
    if ctx.causes:
        evidence["measured_causes"] = list(ctx.causes)
    return Finding(verdict.kind, text.severity, verdict.layer, step, epoch, evidence,
                   text.explanation.format(**w), remedies)
