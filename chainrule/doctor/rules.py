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
import statistics
from dataclasses import dataclass
from typing import Any

from chainrule.doctor.config import DoctorConfig
from chainrule.doctor.stats import EndStats, EpochStats, Layers, StartStats, StepStats


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


def same_positions(names: tuple[str, ...], positions: dict[str, int]) -> tuple[str, ...]:
    """The longest run of consecutive layers (the topmost of equal runs) whose outputs hold as many positions
    per sample; all of ``names`` when those are all equal (an MLP). A layer whose positions are not known (a
    convolution's) joins the run it is in."""
    best: tuple[str, ...] = ()
    run: list[str] = []
    known: int | None = None  # the run's positions per sample
    for name in names:
        here = positions.get(name)
        if here is not None and known is not None and here != known:
            run, known = [], None
        if here is not None:
            known = here
        run.append(name)
        if len(run) >= len(best):
            best = tuple(run)
    return best


class Rulebook:
    """Every rule, and the streaks (conditions held so many times in a row) that persistence needs."""

    def __init__(self, config: DoctorConfig, layers: Layers) -> None:
        self.config, self.layers = config, layers
        self.streaks: dict[tuple[str, str | None], int] = {}
        # vanishing: the lowest Linear's per-sample gradient and signal ratios over the epochs in a row that held
        self.vanishing_samples: tuple[list[float], list[float]] = ([], [])

    def streak(self, rule: str, layer: str | None, holds: bool) -> int:
        """Count ``holds`` in a row for (rule, layer); a miss starts again from 0."""
        key = (rule, layer)
        self.streaks[key] = self.streaks.get(key, 0) + 1 if holds else 0
        return self.streaks[key]

    # ------------------------------------------------------------------ per step
    def step(self, s: StepStats) -> list[Verdict]:
        if not (math.isfinite(s.loss) and math.isfinite(s.grad_rms_total)):
            # nothing else about this step means anything; what led here (growth, large steps) still does
            return [self.non_finite(s), *self.before_non_finite(s)]
        spike = self.exploding(s)
        verdicts = [v for v in (spike or self.growing(s), self.climbing(s)) if v is not None]  # one EX a step
        if not s.weights_finite:
            verdicts.append(self.non_finite(s, where="weights"))
            verdicts += self.before_non_finite(s)
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
        # a spike counts while the gradient is above the untrained network's: late in training a 5x jump over
        # a tiny running average (a bump near convergence) is not a gradient that explodes
        spike = s.spike_ratio > cfg.spike_factor and s.loss > s.loss_average and not s.norm_ratio < 1.0
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

    def growing(self, s: StepStats) -> Verdict | None:
        """The gradient RMS, as a median of the last few steps, has grown ``growth_factor`` times past the
        untrained network's: growth from the initialization or the step size, seen before it overflows."""
        cfg = self.config
        # while the loss is no lower than the untrained network's: a net waking up from a tiny init also sees
        # its gradient grow, but its loss falls
        if not (s.growth > cfg.growth_factor and s.recent_loss >= s.first_loss):
            return None
        return self._growth_verdict(s, "growth")

    def _growth_verdict(self, s: StepStats, criterion: str) -> Verdict:
        growth = s.layer_growth
        layer = max(growth, key=lambda n: growth[n]) if growth else None
        return Verdict("exploding_gradients", layer, {
            "criterion": criterion, "growth": num(s.growth), "threshold": self.config.growth_factor,
            "window": self.config.growth_window, "grad_rms": num(s.grad_rms_total), "loss": num(s.loss),
            "layer_growth": {n: num(g) for n, g in growth.items()}})

    def climbing(self, s: StepStats) -> Verdict | None:
        """Steps ten times the healthy size while the loss climbs back against its own noise (sample steps)."""
        cfg = self.config
        if not (s.loss_climb >= cfg.loss_climb and s.loss_climb_above >= cfg.climb_agreement):
            return None
        return self._large_steps(s.update_ratio, "loss_climb", s.loss_climb, s.loss_climb_above)

    def _large_steps(self, update_ratio: dict[str, float], criterion: str, climb: float = math.nan,
                     above: float = math.nan) -> Verdict | None:
        cfg, ratios = self.config, {n: r for n, r in update_ratio.items() if math.isfinite(r)}
        if not ratios or max(ratios.values()) <= cfg.update_ratio_large:
            return None
        top = max(ratios, key=lambda n: ratios[n])
        return Verdict("learning_rate_too_high", top, {
            "criterion": criterion, "update_ratio": num(ratios[top]), "threshold": cfg.update_ratio_large,
            "per_layer": {n: num(r) for n, r in ratios.items()}, "climb_block": cfg.climb_block,
            "loss_climb": num(climb), "loss_climb_threshold": cfg.loss_climb, "block_above": num(above)})

    def before_non_finite(self, s: StepStats) -> list[Verdict]:
        """At the first non-finite value: the growth and the step sizes measured just before it, when they
        already said why (a blow-up faster than the step rules' windows)."""
        verdicts = []
        if s.growth > self.config.growth_factor:
            verdicts.append(self._growth_verdict(s, "before_non_finite"))
        large = self._large_steps(s.update_ratio, "non_finite")
        if large is not None:
            verdicts.append(large)
        return verdicts

    # ------------------------------------------------------------------ at the start (step 0, before any update)
    def start(self, s: StartStats) -> list[Verdict]:
        return [v for v in (self.unscaled_inputs(s), self.bad_initialization(s)) if v is not None]

    def unscaled_inputs(self, s: StartStats) -> Verdict | None:
        cfg, scale = self.config, s.input_scale
        if "rms_max" not in scale:
            return None
        high, low = scale["rms_max"] > cfg.input_rms_high, scale["rms_min"] < cfg.input_rms_low
        spread = scale["std_spread"] > cfg.input_std_spread
        if not (high or low or spread):
            return None
        criterion = "large" if high else "small" if low else "spread"
        return Verdict("unscaled_inputs", self.layers.linears[0] if self.layers.linears else None, {
            "criterion": criterion, "feature_rms_max": num(scale["rms_max"]), "feature_rms_min": num(scale["rms_min"]),
            "feature_std_spread": num(scale["std_spread"]), "features": int(scale["varying"]),
            "thresholds": [cfg.input_rms_low, cfg.input_rms_high, cfg.input_std_spread]})

    def bad_initialization(self, s: StartStats) -> Verdict | None:
        """From the second Linear to the top, the forward (pre-activation) or the backward (∂loss/∂z) RMS
        changes ``init_scale_change`` times: the init multiplies the signal by a factor per layer. The layers are
        those of the longest run with as many positions per sample (a transformer's per-token layers, not its
        head on pooled features): a mean over L positions divides ∂loss/∂z by L at no layer's fault."""
        cfg, names = self.config, same_positions(self.layers.linears, s.positions)
        if len(names) < 3:
            return None
        limit = math.log10(cfg.init_scale_change)
        forward = log_change(s.preactivation_rms.get(names[1]), s.preactivation_rms.get(names[-1]))
        backward = log_change(s.signal_rms.get(names[-1]), s.signal_rms.get(names[1]))  # top down, as it flows
        spans = {"forward": forward, "backward": backward}
        worst = max(spans, key=lambda k: -1.0 if math.isnan(spans[k]) else abs(spans[k]))
        if not abs(spans[worst]) >= limit:
            return None
        return Verdict("bad_initialization", None, {
            "direction": worst, "trend": "grows" if spans[worst] > 0 else "shrinks",
            "log10_change": {k: None if math.isnan(v) else v if math.isinf(v) else num(v) for k, v in spans.items()},
            "factor": num(10 ** abs(spans[worst])) if math.isfinite(spans[worst]) else None,
            "threshold": cfg.init_scale_change, "from_layer": names[1], "to_layer": names[-1],
            "preactivation_rms": {n: num(s.preactivation_rms.get(n)) for n in names},
            "signal_rms": {n: num(s.signal_rms.get(n)) for n in names}})

    # ------------------------------------------------------------------ at the end of training
    def end(self, e: EndStats) -> list[Verdict]:
        """Still learning when training stopped: the loss falls steadily against its noise, enough to matter."""
        cfg = self.config
        if not (e.trend_t < cfg.trend_t and e.projected_fall >= cfg.trend_gain and e.val_at_best is not False):
            return []
        return [Verdict("not_converged", None, {
            "trend_t": num(e.trend_t), "threshold": cfg.trend_t, "projected_fall": num(e.projected_fall),
            "gain_threshold": cfg.trend_gain, "window_steps": e.window, "steps": e.steps, "epochs": e.epochs,
            "val_at_best": e.val_at_best})]

    # ------------------------------------------------------------------ per epoch
    def stalled(self, e: EpochStats) -> bool:
        """Training is failing to improve: the loss fell by less than ``stall_improvement`` since the last
        epoch and is still above ``stall_loss_fraction`` of the untrained network's."""
        cfg = self.config
        return e.improvement < cfg.stall_improvement and e.late_loss > cfg.stall_loss_fraction * e.initial_loss

    def epoch(self, e: EpochStats) -> list[Verdict]:
        stalled = self.stalled(e)
        dead = self.dead_relu(e)
        verdicts = dead + self.vanishing(e)
        verdicts += self.saturation(e)
        verdicts += self.learning_rate(e, stalled and not dead)
        verdicts += self.overfitting(e)
        return verdicts

    def dead_relu(self, e: EpochStats) -> list[Verdict]:
        """A majority of a ReLU layer never fired on the epoch's batch stream, more dead units than the healthy
        rate explains at that width, ``epoch_persistence`` epochs in a row. Not gated on the loss: a layer that
        lost half its units is broken whether or not the rest still learn, and a normal early plateau has
        no such layer."""
        cfg, verdicts = self.config, []
        for name, fraction in e.dead_fraction.items():
            if name in self.layers.after_full_dropout:
                continue
            units = e.units.get(name)
            holds, dead_units, chance = self.too_many_dead(fraction, units)
            run = self.streak("dead_relu", name, holds)
            if run < cfg.epoch_persistence:
                continue
            verdicts.append(Verdict("dead_relu", name, {
                "dead_fraction": num(fraction), "threshold": cfg.dead_fraction, "units": units,
                "dead_units": dead_units, "chance_at_healthy_rate": num(chance), "fed_by": e.feeding.get(name),
                "zero_gradient_fraction": num(e.zero_grad_fraction.get(name)), "in_a_row": run,
                "loss_improvement": num(e.improvement)}))
        return verdicts

    def too_many_dead(self, fraction: float, units: int | None) -> tuple[bool, int | None, float]:
        """(a majority of ``units`` is dead and the healthy dead rate can't explain that many, how many are
        dead, how likely that many is at the healthy rate): one test for units of a Linear and filters of a conv."""
        cfg = self.config
        dead_units = None if units is None or not math.isfinite(fraction) else round(fraction * units)
        majority = math.isfinite(fraction) and fraction >= cfg.dead_fraction
        chance = (binomial_tail(dead_units, units or 0, cfg.dead_healthy_rate)
                  if majority and dead_units is not None else math.nan)
        return majority and not chance >= cfg.dead_significance, dead_units, chance

    def vanishing(self, e: EpochStats) -> list[Verdict]:
        """The lowest Linear's weight gradient is ``vanishing_ratio`` of the top one's AND the backpropagated
        signal reaching it is ``vanishing_signal_ratio`` of the top one's (epoch medians of per-sample ratios,
        exact zeros left out), ``epoch_persistence`` epochs in a row, or sooner when the samples of the epochs in a
        row so far put both ratios below by a t-test on their logs (``vanishing_significance``): the gradient
        shrinks on its way down, whether or not the loss still falls."""
        cfg, names = self.config, self.layers.linears
        if len(names) < 2:
            return []
        medians = {name: e.grad_rms.get(name, math.nan) for name in names}
        top = medians[names[-1]]
        lowest = names[0]
        ratios = {name: e.grad_ratio.get(name, math.nan) for name in names}
        signal = e.signal_ratio.get(lowest, math.nan)
        # a top gradient ~0 (converged or all dead) makes the ratio meaningless
        holds = (math.isfinite(top) and top > cfg.grad_floor and ratios[lowest] < cfg.vanishing_ratio
                 and signal < cfg.vanishing_signal_ratio)
        run = self.streak("vanishing", None, holds)
        if run == 1:
            self.vanishing_samples = ([], [])
        if not holds:
            return []
        self.vanishing_samples[0].extend(e.lowest_grad_ratios)
        self.vanishing_samples[1].extend(e.lowest_signal_ratios)
        p_grad, p_signal = (log_t_test_below(s, limit) for s, limit in zip(
            self.vanishing_samples, (cfg.vanishing_ratio, cfg.vanishing_signal_ratio), strict=True))
        if run < cfg.epoch_persistence and not max(p_grad, p_signal) < cfg.vanishing_significance:
            return []
        return [Verdict("vanishing_gradients", lowest, {
            "ratio_lowest_to_highest": num(ratios[lowest]), "threshold": cfg.vanishing_ratio,
            "signal_ratio": num(signal), "signal_threshold": cfg.vanishing_signal_ratio,
            "grad_rms": {n: num(v) for n, v in medians.items()}, "ratio_to_top": {n: num(r) for n, r in ratios.items()},
            "starved_layers": [n for n in names[:-1] if ratios[n] < cfg.vanishing_layer_ratio],
            "highest_layer": names[-1], "loss_improvement": num(e.improvement), "in_a_row": run,
            "samples": len(self.vanishing_samples[0]), "p_value": num(max(p_grad, p_signal))})]

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
        common = {"criterion": "epoch", "update_ratio": num(ratio),
                  "per_layer": {n: num(v) for n, v in medians.items()}, "lr": e.lr,
                  "loss_improvement": num(e.improvement)}
        if high >= cfg.epoch_persistence:
            return [Verdict("learning_rate_too_high", top, {**common, "threshold": cfg.update_ratio_high})]
        if e.loss_climb >= cfg.loss_climb:
            climbing = self._large_steps(e.update_ratio, "epoch_climb", e.loss_climb)
            if climbing is not None:
                climbing.evidence["loss_improvement"] = num(e.improvement)
                return [climbing]
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
        acc, val_acc, n_val = e.train_acc, e.val_acc, e.val_samples
        noise = math.nan
        if acc is not None and val_acc is not None:
            # without the validation set's size (an own loop that does not pass it) only the floor can be applied
            gap = acc - val_acc
            noise = accuracy_gap_noise(val_acc, n_val, cfg.overfit_significance) if n_val else math.nan
            apart = gap >= cfg.overfit_acc_gap and (not n_val or gap > noise)
        else:
            gap = val_loss / max(train_loss, 1e-12)
            apart = gap >= cfg.overfit_loss_ratio
        at_best = e.train_loss_at_best
        improving = at_best is None or not math.isfinite(at_best) or train_loss < at_best
        if self.streak("overfitting", None, gl > cfg.overfit_gl and apart) < cfg.overfit_patience or not improving:
            return []
        return [Verdict("overfitting", None, {
            "val_loss": num(val_loss), "best_val_loss": num(e.best_val_loss), "best_epoch": e.best_val_epoch,
            "generalization_loss": num(gl), "threshold": cfg.overfit_gl, "train_loss": num(train_loss),
            "gap": num(gap), "gap_noise": num(noise), "train_accuracy": num(acc), "val_accuracy": num(val_acc),
            "val_samples": n_val})]


def accuracy_gap_noise(val_acc: float, n_val: int, significance: float) -> float:
    """How far below the training accuracy a validation accuracy measured on ``n_val`` samples falls by sampling
    alone with probability ``significance``: z standard errors of a binomial proportion (one-sided Wald test).

    >>> round(accuracy_gap_noise(0.82, 22, 0.05), 3)  # iris: 13 points below training are still noise
    0.135
    """
    z = statistics.NormalDist().inv_cdf(1 - significance)
    return z * math.sqrt(val_acc * (1 - val_acc) / n_val)


def log_t_test_below(samples: list[float], limit: float) -> float:
    """The one-sided p-value of the positive samples' mean log10 lying below log10(``limit``): Student's t with
    n - 1 degrees of freedom (non-positive and non-finite samples left out; 1 with fewer than two, 0 when
    they are identical and below).

    >>> round(log_t_test_below([0.132, 2.33e-5, 8.18e-4], 1e-3), 2)  # a median of three that straddles: noise
    0.54
    >>> log_t_test_below([2e-7, 1e-7, 4e-7], 1e-3) < 0.01  # three samples four decades below
    True
    """
    logs = [math.log10(s) for s in samples if s > 0 and math.isfinite(s)]
    if len(logs) < 2:
        return 1.0
    mean, se = statistics.fmean(logs), statistics.stdev(logs) / math.sqrt(len(logs))
    gap = mean - math.log10(limit)
    if se == 0:
        return 0.0 if gap < 0 else 1.0
    from scipy.special import stdtr  # Student's t CDF; scipy is a dependency, imported only when judged

    return float(stdtr(len(logs) - 1, gap / se))


def log_change(a: float | None, b: float | None) -> float:
    """log10(b / a): how many decades a scale changes from a to b; ±inf when one is exactly 0 (nothing gets
    through), NaN when either is unknown or not finite."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    if a == 0 or b == 0:
        return 0.0 if a == b else math.copysign(math.inf, b - a)
    return math.log10(b / a)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p): how likely k dead units of n are at a healthy dead rate p."""
    if n <= 0:
        return math.nan
    if k <= 0 or p >= 1:
        return 1.0
    if p <= 0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)  # in logs: comb(2048, 1024) does not fit a float
    return min(1.0, sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                                 + i * log_p + (n - i) * log_q) for i in range(k, n + 1)))
