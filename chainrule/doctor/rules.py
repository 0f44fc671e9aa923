"""The diagnoses: each rule reads the doctor's statistics and reports a Finding with remedies.

Sources of every threshold are in ``config.py`` and README.md. Two principles keep a healthy
run silent: a rule must hold persistently (over several steps, or a whole epoch's median), and
the "slow" failures (vanishing gradients, dead units, saturation, a learning rate that is too
low) are only diagnosed while training is failing to improve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.doctor.findings import Finding, Remedy

if TYPE_CHECKING:
    from chainrule.doctor.doctor import Doctor


FIXED_SCALE = ", which keeps every layer's inputs at a fixed scale"


def _finding(doctor: Doctor, kind: str, severity: str, layer: str | None, evidence: dict[str, Any],
             explanation: str, remedies: Sequence[Remedy | None]) -> Finding:
    return doctor.report(Finding(kind, severity, layer, doctor.step, doctor.epoch, evidence, explanation,
                                 [r for r in remedies if r is not None]))


def _num(x: float | None, digits: int = 3) -> float | None:
    """Round for the evidence dict; non-finite becomes None (strict JSON)."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def _sig1(x: float) -> float:
    """x to one significant figure, for suggestions a person would type (0.01, not 0.0097)."""
    return float(f"{x:.1g}")


# ---------------------------------------------------------------------------- remedies


def _spec(doctor: Doctor) -> Any:
    return getattr(doctor.model, "spec", None)


def lower_lr(doctor: Doctor, why: str = "") -> Remedy:
    lr = doctor.current_lr()
    if lr:
        return Remedy(f"lower the learning rate from {lr:g} to {_sig1(lr / 10):g}{why}", {"lr": _sig1(lr / 10)})
    return Remedy(f"lower the learning rate 10×{why}", {"lr_factor": 0.1})


def raise_lr(doctor: Doctor) -> Remedy:
    lr = doctor.current_lr()
    if lr:
        return Remedy(f"raise the learning rate from {lr:g} to {_sig1(lr * 10):g}", {"lr": _sig1(lr * 10)})
    return Remedy("raise the learning rate 10×", {"lr_factor": 10.0})


def clip(doctor: Doctor) -> Remedy:
    calm = doctor._ema.get("calm_norm", 1.0)
    limit = _sig1(calm) if math.isfinite(calm) and calm > 0 else 1.0
    return Remedy(f"clip the gradient norm at {limit:g} (its typical size before the blow-up)",
                  {"clip_grad_norm": limit})


def batch_norm(doctor: Doctor, why: str) -> Remedy | None:
    spec = _spec(doctor)
    if spec is not None and getattr(spec, "batch_norm", False):
        return None
    return Remedy(f"add BatchNorm1d after each hidden Linear{why}", {"batch_norm": True})


def he_init(doctor: Doctor) -> Remedy | None:
    spec = _spec(doctor)
    if spec is not None and getattr(spec, "init", None) == "he":
        return None
    return Remedy("initialize the weights with He init (std √(2/fan_in)), sized for ReLU", {"init": "he"})


def to_relu(doctor: Doctor) -> Remedy | None:
    saturating = [n for n in doctor.activation_names if doctor._kinds_of[n] in ("Sigmoid", "Tanh")]
    if not saturating:
        return he_init(doctor)
    kind = doctor._kinds_of[saturating[0]]
    span = saturating[0] if len(saturating) == 1 else f"{saturating[0]}–{saturating[-1]}"
    return Remedy(f"switch {span} from {kind} to ReLU with He init (ReLU's slope is 1 wherever it is active)",
                  {"activation": "relu", "init": "he"})


def to_adam(doctor: Doctor) -> Remedy | None:
    if (doctor.optimizer_name() or "").lower() != "sgd":
        return None
    return Remedy("use Adam (lr 0.001), which scales each weight's step to the size of its own gradient",
                  {"optimizer": "adam", "lr": 0.001})


# ---------------------------------------------------------------------------- per step


def non_finite(doctor: Doctor, loss: float, rms: dict[str, float], where: str | None = None) -> None:
    """NaN or inf in the loss, gradients or weights: an error, and the doctor stops measuring."""
    bad_grads = [name for name, value in rms.items() if not math.isfinite(value)]
    first_output = next((name for name, out in doctor._last_out.items() if not np.isfinite(out).all()), None)
    parts = []
    if not math.isfinite(loss):
        parts.append("loss")
    if bad_grads:
        parts.append("gradients")
    if where:
        parts.append(where)
    layer = first_output or (bad_grads[0] if bad_grads else None)
    summary = f"{' and '.join(parts) or 'values'} became NaN/inf at step {doctor.step}"
    if first_output:
        summary += f"; the first layer whose output went non-finite is {first_output}"
    evidence = {"summary": summary, "non_finite_in": parts, "loss": _num(loss),
                "first_non_finite_output": first_output, "layers_with_non_finite_gradients": bad_grads,
                "last_finite_loss": _num(next((v for v in reversed(doctor.metrics["loss"]) if math.isfinite(v)),
                                              None))}
    explanation = (
        "A number became NaN (not a number) or infinite. Once that happens it spreads through every later "
        "multiplication and sum, so training cannot recover. It almost always means the values grew too big: "
        "steps too large for the loss surface make the weights larger, which makes the next gradients larger, "
        "until float32 overflows.")
    remedies = [lower_lr(doctor), clip(doctor), batch_norm(doctor, FIXED_SCALE)]
    _finding(doctor, "non_finite", "error", layer, evidence, explanation, remedies)
    doctor._halted = True


def exploding(doctor: Doctor, loss: float, rms: dict[str, float], total: float) -> None:
    """The gradient RMS spikes against its running average while the loss rises, several steps in a row."""
    cfg, ema, layer_ema = doctor.config, doctor._ema, doctor._layer_ema
    if "total" not in ema:
        ema.update({"total": total, "loss": loss, "calm_norm": _norm(doctor, total)})
        layer_ema.update(rms)
        return
    ratio = total / max(ema["total"], 1e-30)
    spiking = (ratio > cfg.spike_factor and loss > ema["loss"]) or total > cfg.grad_rms_max
    doctor._spike_run = doctor._spike_run + 1 if spiking else 0
    if doctor._spike_run >= cfg.persistence:
        ratios = {name: value / max(layer_ema.get(name, value), 1e-30) for name, value in rms.items()}
        layer = max(ratios, key=lambda n: ratios[n]) if ratios else None
        earlier = [f for f in doctor.findings if f.kind == "exploding_gradients"]
        if earlier:  # one finding per run: later spikes update its evidence
            layer = earlier[0].layer
        summary = (f"gradient RMS {total:.3g} is {ratio:.3g}× its running average for {doctor._spike_run} steps "
                   f"in a row while the loss rose to {loss:.4g} (threshold {cfg.spike_factor:g}×)")
        evidence = {"summary": summary, "grad_rms": _num(total), "running_average": _num(ema["total"]),
                    "spike_ratio": _num(ratio), "threshold": cfg.spike_factor, "steps_in_a_row": doctor._spike_run,
                    "loss": _num(loss), "layer_spike_ratios": {n: _num(r) for n, r in ratios.items()}}
        explanation = (
            "The gradients are growing step after step. In backpropagation each layer multiplies the gradient "
            "by its weights; when the weights are large that is a product of many large terms, and too large a "
            "step makes the weights larger still, so the next gradient is bigger: a feedback loop that ends in "
            "overflow (NaN).")
        _finding(doctor, "exploding_gradients", "error", layer, evidence, explanation,
                 [lower_lr(doctor), clip(doctor),
                  batch_norm(doctor, FIXED_SCALE)])
    a = cfg.spike_ema
    ema["total"] = a * ema["total"] + (1 - a) * total
    ema["loss"] = a * ema["loss"] + (1 - a) * loss
    for name, value in rms.items():
        layer_ema[name] = a * layer_ema.get(name, value) + (1 - a) * value
    if not spiking:
        ema["calm_norm"] = a * ema["calm_norm"] + (1 - a) * _norm(doctor, total)


def _norm(doctor: Doctor, total_rms: float) -> float:
    """The global L2 gradient norm (what clip_grad_norm clips) from the per-element RMS of the weights."""
    return total_rms * math.sqrt(doctor._weight_count)


# ---------------------------------------------------------------------------- per epoch


def _progress(doctor: Doctor, record: dict[str, Any]) -> tuple[float, bool]:
    """(relative loss improvement over the last epoch, whether training is stalled)."""
    cfg, losses = doctor.config, doctor.metrics["loss"]
    epoch_losses = losses[doctor._epoch_start_step:]
    half = max(1, len(epoch_losses) // 2)
    current = float(np.mean(epoch_losses[-half:]))
    previous = doctor.metrics["epochs"][-2].get("late_loss") if len(doctor.metrics["epochs"]) > 1 else None
    if previous is None or not math.isfinite(previous):
        previous = float(np.mean(epoch_losses[:half]))
    record["late_loss"] = current
    initial = losses[0]  # the untrained network's loss, before any step could blow it up
    improvement = (previous - current) / max(abs(previous), 1e-12)
    stalled = improvement < cfg.stall_improvement and current > cfg.stall_loss_fraction * initial
    record["improvement"], record["stalled"] = _num(improvement), bool(stalled)
    return improvement, stalled


def _epoch_median(doctor: Doctor, series: list[float]) -> float:
    values = [v for v, e in zip(series, doctor.metrics["sample_epoch"]) if e == doctor.epoch and math.isfinite(v)]
    return float(np.median(values)) if values else math.nan


def epoch_rules(doctor: Doctor, record: dict[str, Any]) -> None:
    improvement, stalled = _progress(doctor, record)
    stall_note = (f"the loss improved by only {improvement:.1%} over the last epoch" if improvement >= 0
                  else f"the loss rose by {-improvement:.1%} over the last epoch")
    dead = dead_relu(doctor, stalled, stall_note)
    if not dead:  # when units are dead, the missing gradient is theirs, not a product of small terms
        vanishing(doctor, stalled, stall_note)
    saturation(doctor)
    learning_rate(doctor, improvement, stalled and not dead)
    overfitting(doctor, record)


def dead_relu(doctor: Doctor, stalled: bool, stall_note: str) -> bool:
    cfg, found = doctor.config, False
    for name, series in doctor.metrics["dead_fraction"].items():
        if name in doctor.after_full_dropout:
            continue
        fraction = series[-1] if series else math.nan
        dead = math.isfinite(fraction) and fraction >= cfg.dead_fraction
        runs = doctor._dead_runs[name] = (doctor._dead_runs.get(name, 0) + 1) * dead
        if not (stalled and runs >= cfg.epoch_persistence):
            continue
        units = doctor._last_out[name].shape[-1] if name in doctor._last_out else None
        previous_linear = _feeding_linear(doctor, name)
        summary = (f"{fraction:.0%} of the units in {name} never fired on any training sample in epoch {doctor.epoch} "
                   f"(threshold {cfg.dead_fraction:.0%}; {runs} epochs in a row); {stall_note}")
        evidence = {"summary": summary, "dead_fraction": _num(fraction), "threshold": cfg.dead_fraction,
                    "units": units, "dead_units": None if units is None else round(fraction * units),
                    "fed_by": previous_linear,
                    "zero_gradient_fraction": _num(_epoch_median(doctor, doctor.metrics["zero_grad_fraction"][name]))}
        explanation = (
            f"A ReLU outputs max(0, z). When a unit's weighted sum z is below zero for every input, it outputs 0 "
            f"and passes back a gradient of exactly 0, so nothing can pull its weights back: the unit is dead. "
            f"Here {fraction:.0%} of {name}'s units are stuck like that, so the layer has lost most of its capacity. "
            f"Large steps (a high learning rate) are the usual way units get knocked below zero.")
        _finding(doctor, "dead_relu", "warning", name, evidence, explanation,
                 [lower_lr(doctor, " so updates stop knocking units below zero"),
                  Remedy("use LeakyReLU (slope 0.01 below zero), whose units always pass some gradient",
                         {"activation": "leaky_relu"}),
                  batch_norm(doctor, ", which keeps pre-activations centred around zero"), he_init(doctor)])
        found = found or fraction >= 0.5
    return found


def _feeding_linear(doctor: Doctor, name: str) -> str | None:
    order = list(doctor._last_out)
    if name not in order:
        return None
    before = [n for n in order[: order.index(name)] if n in doctor._linears]
    return before[-1] if before else None


def vanishing(doctor: Doctor, stalled: bool, stall_note: str) -> None:
    cfg, names = doctor.config, doctor.layer_names
    if not stalled or len(names) < 2:
        return
    medians = {name: _epoch_median(doctor, doctor.metrics["grad_rms"][name]) for name in names}
    top = medians[names[-1]]
    if not (math.isfinite(top) and top > cfg.grad_floor):
        return
    ratios = {name: medians[name] / top for name in names}
    lowest = names[0]
    if not ratios[lowest] < cfg.vanishing_ratio:
        return
    starved = [n for n in names[:-1] if ratios[n] < cfg.vanishing_layer_ratio]
    span = starved[0] if len(starved) == 1 else f"{starved[0]}–{starved[-1]}"
    summary = (f"the gradient RMS of {lowest} is {ratios[lowest]:.1e} × that of {names[-1]} "
               f"(threshold {cfg.vanishing_ratio:g}); starved layers: {span}; {stall_note}")
    evidence = {"summary": summary, "ratio_lowest_to_highest": _num(ratios[lowest]), "threshold": cfg.vanishing_ratio,
                "grad_rms": {n: _num(v) for n, v in medians.items()}, "ratio_to_top": {n: _num(r) for n, r in
                                                                                      ratios.items()},
                "starved_layers": starved, "highest_layer": names[-1]}
    saturating = any(doctor._kinds_of[n] in ("Sigmoid", "Tanh") for n in doctor.activation_names)
    factor = ("a sigmoid's slope is at most 0.25, so each layer shrinks the gradient by 4× or more"
              if saturating else "each layer multiplies it by its weights and its activation's slope")
    explanation = (
        f"On the way back from the loss, the gradient is multiplied by one factor per layer; {factor}. "
        f"A product of many small terms is tiny: {lowest} receives {ratios[lowest]:.0e} of the gradient that "
        f"{names[-1]} gets, so the lower layers barely change and the network stops learning.")
    _finding(doctor, "vanishing_gradients", "warning", lowest, evidence, explanation,
             [to_relu(doctor), batch_norm(doctor, ", which rescales each layer's signal so it neither shrinks nor "
                                                  "grows"), to_adam(doctor)])


def saturation(doctor: Doctor) -> None:
    cfg = doctor.config
    for name, series in doctor.metrics["saturation"].items():
        fraction = _epoch_median(doctor, series)
        # Not gated on a stall: saturated nets often still shave their (huge) loss while learning nothing,
        # and healthy sigmoid/tanh nets keep this fraction under ~10%, far from the threshold.
        saturated = math.isfinite(fraction) and fraction >= cfg.saturation_fraction
        runs = doctor._sat_runs[name] = (doctor._sat_runs.get(name, 0) + 1) * saturated
        if runs < cfg.epoch_persistence:
            continue
        kind = doctor._kinds_of[name]
        summary = (f"{fraction:.0%} of {name}'s {kind} outputs sit at the flat ends "
                   f"(threshold {cfg.saturation_fraction:.0%}) for {runs} epochs in a row")
        evidence = {"summary": summary, "saturated_fraction": _num(fraction), "threshold": cfg.saturation_fraction,
                    "output_band": [cfg.saturation_output, 1 - cfg.saturation_output]}
        explanation = (
            f"A {kind} is flat at both ends: once its input is large (|z| ≳ 5) its output is pinned near its "
            f"limits and its slope is almost 0, so almost no gradient passes back through it. Large weights or "
            f"unscaled inputs push units there.")
        _finding(doctor, "saturation", "warning", name, evidence, explanation,
                 [to_relu(doctor), batch_norm(doctor, ", which keeps pre-activations near zero where the slope is "
                                                      "largest"),
                  Remedy("initialize with Xavier/Glorot init, sized to keep sigmoid/tanh inputs small",
                         {"init": "xavier"})])


def learning_rate(doctor: Doctor, improvement: float, stalled: bool) -> None:
    cfg, names = doctor.config, doctor.layer_names
    medians = {n: _epoch_median(doctor, doctor.metrics["update_ratio"][n]) for n in names}
    medians = {n: v for n, v in medians.items() if math.isfinite(v)}
    if not medians:
        return
    top = max(medians, key=lambda n: medians[n])
    ratio = medians[top]
    lr = doctor.current_lr()
    common = {"update_ratio": _num(ratio), "per_layer": {n: _num(v) for n, v in medians.items()}, "lr": lr,
              "loss_improvement": _num(improvement)}
    high = ratio > cfg.update_ratio_high and improvement < cfg.stall_improvement
    low = 0 < ratio < cfg.update_ratio_low and stalled  # exactly 0: no gradient at all, not a small step
    runs = doctor._lr_runs
    runs["high"], runs["low"] = (runs["high"] + 1) * high, (runs["low"] + 1) * low
    if runs["high"] >= cfg.epoch_persistence:
        summary = (f"each step changes {top}'s weights by {ratio:.1e} of their size (healthy ≈ 1e-3, threshold "
                   f"{cfg.update_ratio_high:g}) and the loss changed by {-improvement:+.1%} over the epoch")
        explanation = (
            f"The update-to-weight ratio ‖Δw‖/‖w‖ says how much one step changes a layer. Around 1e-3 is healthy; "
            f"here a single step changes {top} by {ratio:.0%} of its size, so the steps overshoot the valley "
            f"they are aiming for and the loss does not go down.")
        _finding(doctor, "learning_rate_too_high", "warning", top, {"summary": summary, **common,
                                                                     "threshold": cfg.update_ratio_high},
                 explanation, [lower_lr(doctor), clip(doctor)])
    elif runs["low"] >= cfg.epoch_persistence:
        summary = (f"the largest per-step update is {ratio:.1e} of the weights ({top}; healthy ≈ 1e-3, threshold "
                   f"{cfg.update_ratio_low:g}) and the loss improved by only {improvement:.1%}")
        explanation = (
            f"Each step changes the weights by only {ratio:.0e} of their size, about a hundred times less than "
            f"the usual 1e-3, so training crawls: thousands of epochs would be needed to get anywhere.")
        _finding(doctor, "learning_rate_too_low", "warning", top, {"summary": summary, **common,
                                                                    "threshold": cfg.update_ratio_low},
                 explanation, [raise_lr(doctor), to_adam(doctor)])


def overfitting(doctor: Doctor, record: dict[str, Any]) -> None:
    cfg = doctor.config
    val_loss, train_loss = record.get("val_loss"), record.get("loss")
    if val_loss is None or not math.isfinite(val_loss):
        return
    if train_loss is None:
        train_loss = record["late_loss"]  # set by _progress, before any rule runs
    if val_loss < doctor._best_val:
        doctor._best_val, doctor._best_val_epoch = val_loss, doctor.epoch
    gl = val_loss / max(doctor._best_val, 1e-12) - 1
    acc, val_acc = record.get("accuracy"), record.get("val_accuracy")
    if acc is not None and val_acc is not None:
        gap, gap_ok = acc - val_acc, acc - val_acc >= cfg.overfit_acc_gap
        gap_text = f"train accuracy {acc:.0%} vs validation {val_acc:.0%}"
    else:
        gap = val_loss / max(train_loss, 1e-12)
        gap_ok = gap >= cfg.overfit_loss_ratio
        gap_text = f"validation loss {gap:.1f}× the training loss"
    doctor._overfit_run = doctor._overfit_run + 1 if (gl > cfg.overfit_gl and gap_ok) else 0
    if doctor._overfit_run < cfg.overfit_patience:
        return
    best = doctor._best_val_epoch
    summary = (f"validation loss {val_loss:.3g} is {gl:.0%} above its best ({doctor._best_val:.3g} at epoch {best}; "
               f"threshold {cfg.overfit_gl:.0%}) while {gap_text}")
    evidence = {"summary": summary, "val_loss": _num(val_loss), "best_val_loss": _num(doctor._best_val),
                "best_epoch": best, "generalization_loss": _num(gl), "threshold": cfg.overfit_gl,
                "train_loss": _num(train_loss), "gap": _num(gap), "train_accuracy": _num(acc),
                "val_accuracy": _num(val_acc)}
    explanation = (
        f"The network keeps getting better on the training examples but worse on data it has not seen: it is "
        f"memorizing the training set (including its noise) instead of learning patterns that carry over. "
        f"{gap_text[0].upper() + gap_text[1:]}.")
    spec = _spec(doctor)
    dropout = 0.3 if spec is None or getattr(spec, "dropout", 0.0) < 0.3 else 0.5
    remedies = [Remedy(f"add Dropout({dropout}) after the hidden layers", {"dropout": dropout}),
                Remedy(f"stop training at epoch {best} where validation loss was lowest (early stopping)",
                       {"epochs": best + 1})]
    if spec is not None and getattr(spec, "hidden", None):
        smaller = [max(1, h // 2) for h in spec.hidden]
        remedies.append(Remedy(f"use a smaller network (hidden widths {smaller})", {"hidden": smaller}))
    remedies.append(Remedy("train on more data (or augment it)", {}))
    _finding(doctor, "overfitting", "warning", None, evidence, explanation, remedies)
