"""The diagnoses: each rule reads the typed statistics (stats.py) and returns Verdicts: kind, layer, evidence.

Rules judge and keep only what judging needs (how many steps or epochs in a row a condition held);
the numbers come from the measurements, the words from texts.py. Sources of every threshold are in
config.py and README.md. Two principles keep a healthy run silent: a rule must hold persistently
(over several steps, or a whole epoch's median, usually two epochs in a row), and the "slow"
failures (vanishing gradients, dead units, a learning rate that is too low) are only diagnosed while
training is failing to improve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chainrule.doctor.config import DoctorConfig
from chainrule.doctor.stats import EpochStats, Layers, StepStats


@dataclass
class Verdict:
    """A rule's decision: what is wrong, where, and the numbers that show it (JSON-ready)."""

    kind: str
    layer: str | None
    evidence: dict[str, Any]


def num(x: float | None, digits: int = 3) -> float | None:
    """Round for the evidence; non-finite becomes None (strict JSON)."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


class Rulebook:
    """Every rule, and the streaks (conditions held so many times in a row) that persistence needs."""

    def __init__(self, config: DoctorConfig, layers: Layers) -> None:
        self.config, self.layers = config, layers
        self.streaks: dict[tuple[str, str | None], int] = {}

    def streak(self, rule: str, layer: str | None, holds: bool) -> int:
        """Count ``holds`` in a row for (rule, layer); a miss starts again from 0."""
        key = (rule, layer)
        self.streaks[key] = self.streaks.get(key, 0) + 1 if holds else 0
        return self.streaks[key]

    # ------------------------------------------------------------------ per step
    def step(self, s: StepStats) -> list[Verdict]:
        if not (math.isfinite(s.loss) and math.isfinite(s.grad_rms_total)):
            return [self.non_finite(s)]  # nothing else about this step means anything
        verdicts = [v for v in (self.exploding(s),) if v is not None]
        if not s.weights_finite:
            verdicts.append(self.non_finite(s, where="weights"))
        return verdicts

    def non_finite(self, s: StepStats, where: str | None = None) -> Verdict:
        """NaN or inf in the loss, gradients or weights (the doctor stops measuring after it)."""
        bad_grads = [name for name, value in s.grad_rms.items() if not math.isfinite(value)]
        parts = [p for p, bad in (("loss", not math.isfinite(s.loss)), ("gradients", bool(bad_grads)),
                                  (where, where is not None)) if bad and p]
        first = s.first_non_finite_output
        return Verdict("non_finite", first or (bad_grads[0] if bad_grads else None), {
            "non_finite_in": parts, "loss": num(s.loss), "first_non_finite_output": first,
            "layers_with_non_finite_gradients": bad_grads, "last_finite_loss": num(s.last_finite_loss)})

    def exploding(self, s: StepStats) -> Verdict | None:
        """The gradient RMS spikes against its running average while the loss is above its own, or passes an
        absolute limit, ``persistence`` steps in a row. One finding per run (texts.ONCE_PER_RUN)."""
        cfg = self.config
        if math.isnan(s.spike_ratio):  # the first step: no average to compare with yet
            return None
        spike = s.spike_ratio > cfg.spike_factor and s.loss > s.loss_average
        absolute = s.grad_rms_total > cfg.grad_rms_max
        run = self.streak("exploding", None, spike or absolute)
        if run < cfg.persistence:
            return None
        ratios = s.layer_spike_ratios
        layer = max(ratios, key=lambda n: ratios[n]) if ratios else None
        return Verdict("exploding_gradients", layer, {
            "criterion": "spike" if spike else "absolute", "grad_rms": num(s.grad_rms_total),
            "running_average": num(s.running_average), "spike_ratio": num(s.spike_ratio),
            "threshold": cfg.spike_factor if spike else cfg.grad_rms_max, "steps_in_a_row": run,
            "loss": num(s.loss), "loss_running_average": num(s.loss_average),
            "layer_spike_ratios": {n: num(r) for n, r in ratios.items()}})

    # ------------------------------------------------------------------ per epoch
    def stalled(self, e: EpochStats) -> bool:
        """Training is failing to improve: the loss fell by less than ``stall_improvement`` since the last
        epoch and is still above ``stall_loss_fraction`` of the untrained network's."""
        cfg = self.config
        return e.improvement < cfg.stall_improvement and e.late_loss > cfg.stall_loss_fraction * e.initial_loss

    def epoch(self, e: EpochStats) -> list[Verdict]:
        stalled = self.stalled(e)
        verdicts = self.dead_relu(e, stalled)
        # when units are dead, the missing gradient below them is theirs, not a product of small terms
        dead = any(e.dead_fraction[v.layer] >= 0.5 for v in verdicts if v.layer is not None)
        if not dead:
            verdicts += self.vanishing(e, stalled)
        verdicts += self.saturation(e)
        verdicts += self.learning_rate(e, stalled and not dead)
        verdicts += self.overfitting(e)
        return verdicts

    def dead_relu(self, e: EpochStats, stalled: bool) -> list[Verdict]:
        cfg, verdicts = self.config, []
        for name, fraction in e.dead_fraction.items():
            if name in self.layers.after_full_dropout:
                continue
            run = self.streak("dead_relu", name, math.isfinite(fraction) and fraction >= cfg.dead_fraction)
            if not (stalled and run >= cfg.epoch_persistence):
                continue
            units = e.units.get(name)
            verdicts.append(Verdict("dead_relu", name, {
                "dead_fraction": num(fraction), "threshold": cfg.dead_fraction, "units": units,
                "dead_units": None if units is None else round(fraction * units), "fed_by": e.feeding.get(name),
                "zero_gradient_fraction": num(e.zero_grad_fraction.get(name)), "in_a_row": run,
                "loss_improvement": num(e.improvement)}))
        return verdicts

    def vanishing(self, e: EpochStats, stalled: bool) -> list[Verdict]:
        cfg, names = self.config, self.layers.linears
        if not stalled or len(names) < 2:
            return []
        medians = {name: e.grad_rms.get(name, math.nan) for name in names}
        top = medians[names[-1]]
        if not (math.isfinite(top) and top > cfg.grad_floor):
            return []  # the top gradient itself is ~0 (converged or all dead): the ratio means nothing
        ratios = {name: medians[name] / top for name in names}
        lowest = names[0]
        if not ratios[lowest] < cfg.vanishing_ratio:
            return []
        return [Verdict("vanishing_gradients", lowest, {
            "ratio_lowest_to_highest": num(ratios[lowest]), "threshold": cfg.vanishing_ratio,
            "grad_rms": {n: num(v) for n, v in medians.items()}, "ratio_to_top": {n: num(r) for n, r in ratios.items()},
            "starved_layers": [n for n in names[:-1] if ratios[n] < cfg.vanishing_layer_ratio],
            "highest_layer": names[-1], "loss_improvement": num(e.improvement)})]

    def saturation(self, e: EpochStats) -> list[Verdict]:
        # Not gated on a stall: saturated nets often still shave their (huge) loss while learning nothing,
        # and healthy sigmoid/tanh nets keep this fraction under ~10%, far from the threshold.
        cfg, verdicts = self.config, []
        for name, fraction in e.saturation.items():
            run = self.streak("saturation", name, math.isfinite(fraction) and fraction >= cfg.saturation_fraction)
            if run >= cfg.epoch_persistence:
                verdicts.append(Verdict("saturation", name, {
                    "saturated_fraction": num(fraction), "threshold": cfg.saturation_fraction,
                    "output_band": [cfg.saturation_output, 1 - cfg.saturation_output], "in_a_row": run}))
        return verdicts

    def learning_rate(self, e: EpochStats, stalled: bool) -> list[Verdict]:
        cfg = self.config
        medians = {n: v for n, v in e.update_ratio.items() if math.isfinite(v)}
        if not medians:
            return []
        top = max(medians, key=lambda n: medians[n])
        ratio = medians[top]
        high = self.streak("lr_high", None, ratio > cfg.update_ratio_high and e.improvement < cfg.stall_improvement)
        # exactly 0 is no gradient at all, not a small step
        low = self.streak("lr_low", None, 0 < ratio < cfg.update_ratio_low and stalled)
        common = {"update_ratio": num(ratio), "per_layer": {n: num(v) for n, v in medians.items()}, "lr": e.lr,
                  "loss_improvement": num(e.improvement)}
        if high >= cfg.epoch_persistence:
            return [Verdict("learning_rate_too_high", top, {**common, "threshold": cfg.update_ratio_high})]
        if low >= cfg.epoch_persistence:
            return [Verdict("learning_rate_too_low", top, {**common, "threshold": cfg.update_ratio_low})]
        return []

    def overfitting(self, e: EpochStats) -> list[Verdict]:
        """Prechelt's generalization loss GL above ``overfit_gl`` while train and validation part ways."""
        cfg, val_loss = self.config, e.val_loss
        if val_loss is None or not math.isfinite(val_loss):
            return []
        train_loss = e.late_loss if e.train_loss is None else e.train_loss
        gl = val_loss / max(e.best_val_loss, 1e-12) - 1
        acc, val_acc = e.train_acc, e.val_acc
        if acc is not None and val_acc is not None:
            gap, apart = acc - val_acc, acc - val_acc >= cfg.overfit_acc_gap
        else:
            gap = val_loss / max(train_loss, 1e-12)
            apart = gap >= cfg.overfit_loss_ratio
        if self.streak("overfitting", None, gl > cfg.overfit_gl and apart) < cfg.overfit_patience:
            return []
        return [Verdict("overfitting", None, {
            "val_loss": num(val_loss), "best_val_loss": num(e.best_val_loss), "best_epoch": e.best_val_epoch,
            "generalization_loss": num(gl), "threshold": cfg.overfit_gl, "train_loss": num(train_loss),
            "gap": num(gap), "train_accuracy": num(acc), "val_accuracy": num(val_acc)})]
