"""The doctor's thresholds, each with where it comes from (see chainrule/doctor/README.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class DoctorConfig:
    """Every threshold the doctor uses; override any by keyword: ``Doctor(vanishing_ratio=1e-4)``.

    >>> DoctorConfig(stats_every=5).stats_every
    5
    """

    # How often the per-layer statistics that cost more than a dot product are taken (in steps).
    stats_every: int = 10
    # Consecutive observations a rule must hold before it is reported (transient blips are not findings).
    persistence: int = 3
    # A loop that never calls end_epoch is judged in windows of this many steps (at doctor.report()):
    # ten samples of the per-layer statistics at stats_every=10, enough for the medians the epoch rules take.
    window_steps: int = 100

    # Vanishing gradients: AUTOTRAINER (Zhang et al., ICSE 2021) flags a gradient ratio between the
    # first and the last layer below 1e-3; we compare per-element RMS so wide and narrow layers are fair.
    vanishing_ratio: float = 1e-3
    # A layer whose RMS is below this fraction of the top layer's is named among the starved ones.
    vanishing_layer_ratio: float = 1e-2
    # The absolute floor: below this the top gradient itself is ~0 (converged or all dead) and the ratio means nothing.
    grad_floor: float = 1e-10
    # ... and the backpropagated signal ∂loss/∂z reaching the lowest Linear is below this fraction of the top one's,
    # so the shrinkage comes from backpropagation, not from small inputs (Glorot & Bengio 2010 §4.2, Fig. 7).
    vanishing_signal_ratio: float = 1e-2
    # Both medians are of the few sample steps an epoch holds (3 in a 30-step epoch), and in a narrow ReLU net the
    # ratio swings by decades from batch to batch (a path through a few units closes for some batches), so a
    # median of three falls below the thresholds by chance. A finding needs both medians below
    # ``epoch_persistence`` epochs in a row, as the other epoch rules do, or sooner, ratios below their thresholds
    # against that noise: over the samples of the epochs in a row so far, the mean of the log10 ratios (a
    # ratio's scale is multiplicative) below the log10 threshold by a one-sided Student t-test at this level (the
    # doctor's 1%, as for dead units), as trends are a slope against its standard error. So a loop judged in
    # 100-step windows finds a deep sigmoid net's 1e-7 in its first window, and a median of three that straddles
    # the threshold by decades in one epoch is no finding.
    vanishing_significance: float = 0.01

    # Exploding gradients: a spike of the gradient RMS against its running average (as gradient-norm
    # monitors such as AUTOTRAINER's and Pascanu et al. 2013's clipping analysis do).
    spike_factor: float = 5.0
    spike_ema: float = 0.9  # smoothing of the running average (about a 10-step memory)
    # An RMS this large per element is exploding whatever its history (weights are O(1e-2)).
    grad_rms_max: float = 1e3
    # Growth from the start: the median gradient RMS of the last ``growth_window`` steps above this multiple of
    # the untrained network's (step 0). Pascanu, Mikolov & Bengio 2013 §3.2 find clipping thresholds of half to
    # ten times the average norm still converge, so a sustained norm beyond 10x is growth, not noise; a median
    # of 5 steps sees a blow-up from the initialization within 3 steps, before it reaches NaN.
    growth_factor: float = 10.0
    growth_window: int = 5

    # Dead ReLU units: a unit is dead when it fires on no training sample of a whole epoch (Lu, Shin, Su &
    # Karniadakis 2019, "Dying ReLU and initialization"). keras-contrib's DeadReluDetector warns from 10%, a rate
    # healthy nets reach (a quarter of an 8-unit layer on noisy data), so 10% is taken as the healthy rate and a
    # finding needs a majority of the layer dead, ``epoch_persistence`` epochs in a row, AND a dead count that
    # the healthy rate explains with probability below ``dead_significance`` (binomial tail): width-aware, so
    # 2 of 3 units is not enough evidence while 3 of 3 is.
    dead_fraction: float = 0.5
    dead_healthy_rate: float = 0.10
    # A unit that fired earlier in the epoch, in m of its K batches, and in none of the last s, counts as dead
    # when a unit firing alike in every batch would put all m before the last s with probability C(K-s, m)/C(K, m)
    # below the same ``dead_significance`` (a permutation test: Good, "Permutation Tests", 2005; no firing rate
    # is estimated). The samples seen, as batches, decide, not a step count: a unit that fired in 2 of 8 batches
    # and then missed 4 is alive (p = 0.21).
    dead_significance: float = 0.01

    # Saturation: sigmoid outputs outside [0.01, 0.99] (tanh outputs mapped to [0, 1] likewise),
    # where the derivative is under 4% of its peak; reported when this fraction of a layer sits there
    # (the epoch's median) for ``epoch_persistence`` epochs. Glorot & Bengio (2010) traced the failure of
    # deep sigmoid nets to top hidden units saturating; healthy nets stay under ~10% here.
    saturation_output: float = 0.01
    saturation_fraction: float = 0.5

    # Update-to-weight ratio ‖Δw‖/‖w‖ per step: ~1e-3 is healthy (Karpathy, CS231n "Neural Networks 3").
    # A hundred times above it while the loss is not going down (Adam's first steps move every weight by
    # ~lr, so lr=1e-3 on a 256-wide layer already measures ~3e-2), or ten times below it while training
    # stalls, for ``epoch_persistence`` epochs in a row, is a finding.
    update_ratio_high: float = 1e-1
    update_ratio_low: float = 1e-4
    epoch_persistence: int = 2
    # Steps ten times the healthy ratio while the loss climbs back, "the cost function often increasing
    # significantly" (Goodfellow, Bengio & Courville 2016 §8.3.1; Bengio 2012 §3.1), judged two ways: an epoch's
    # mean batch loss above the lowest epoch mean before it (the first loss before the first epoch) by
    # ``loss_climb`` of the first loss (our choice of "significantly"; healthy runs here climb ≤ 6%); and, on
    # sample steps within an epoch, the last ``climb_block`` batch losses above the lowest level so far by that
    # margin, at least ``climb_agreement`` of them (9 of 10 is a sign test at p ≈ 0.01 against "no change").
    # The first loss is one batch's: the first epoch's climb above it must also exceed that batch's sampling
    # noise, ``climb_noise_z`` robust standard deviations of the epoch's batch losses (1.4826 × their median
    # absolute deviation, which the few batches of a brief blow-up do not inflate as they would a variance).
    update_ratio_large: float = 1e-2
    loss_climb: float = 0.1
    climb_agreement: float = 0.9
    climb_block: int = 10
    climb_noise_z: float = 3.0

    # "Training is failing to improve": the train loss fell by less than this fraction per epoch ...
    stall_improvement: float = 0.01
    # ... and is still above this fraction of its starting value (it has not already learned).
    stall_loss_fraction: float = 0.5

    # Overfitting: Prechelt's generalization loss GL = val_loss / best_val_loss - 1 ("Early stopping,
    # but when?", 1998; his GL_5 criterion) above this, together with a train/validation accuracy gap that
    # the validation set's sampling noise does not explain, for ``overfit_patience`` epochs in a row, while the training
    # loss is below its value in the best validation epoch (training improves while validation worsens:
    # Goodfellow et al. 2016 §7.8). A rising validation loss alone can be calibration (overconfident but right).
    overfit_gl: float = 0.05
    # The gap must be both material and real. Material: at least this much accuracy lost to it (five points,
    # the labelled benchmark's definition of an overfitting run, benchmarks/doctor/measure.py: a gap that costs
    # accuracy). Real: the validation accuracy v estimates the accuracy on unseen data with the binomial
    # standard error sqrt(v(1 - v)/n_val), while the training accuracy is measured on the very samples the model
    # was fitted to (what it does there, not an estimate); the gap counts when the validation accuracy lies more
    # than z standard errors below the training accuracy, one-sided at the conventional 5% level (the Wald test
    # of a proportion, e.g. Agresti, "Categorical Data Analysis" §1.3). At 82% validation accuracy that is 13
    # points on 22 samples, so a few misclassified samples of a tiny validation set are not called overfitting,
    # and 3.2 points on 400, where the five-point floor decides.
    overfit_acc_gap: float = 0.05
    overfit_significance: float = 0.05
    # Without the validation set's size the noise test is skipped (the five-point floor alone); without
    # accuracies the gap rule compares losses: val_loss above this multiple of train_loss.
    overfit_loss_ratio: float = 2.0
    overfit_patience: int = 2

    # Unscaled inputs, on the first batch at the first Linear: a varying feature with RMS above ``input_rms_high``
    # or below ``input_rms_low``, or feature standard deviations ``input_std_spread`` apart (LeCun, Bottou, Orr &
    # Müller 1998, "Efficient BackProp" §4.3: mean ≈ 0 and comparable variances ≈ 1; 10x off is our choice).
    input_rms_high: float = 10.0
    input_rms_low: float = 0.1
    input_std_spread: float = 100.0

    # Bad initialization, at step 0 before any update: from the second Linear on (the first one's input scale is
    # the data's), the RMS of the pre-activations or of the backpropagated ∂loss/∂z changes by this factor with
    # depth. A good init keeps both variances constant across layers (Glorot & Bengio 2010 §4.2.1; He et al.
    # 2015 §2.2); a bad one multiplies them by a per-layer factor, exponential in depth. 100x is our choice:
    # PyTorch's default init on up to 4 Linears changes them by ≤ 10x.
    init_scale_change: float = 100.0

    # Not converged, at the end of training: over the last ``trend_fraction`` of the steps (at least
    # ``trend_steps``) the batch loss falls with a least-squares slope below ``trend_t`` standard errors (a drift
    # SGD noise does not explain: Chee & Toulis 2018, "Convergence diagnostics for SGD"), one more such stretch
    # would add ``trend_gain`` of the fall achieved so far (our choice of "worth training longer"), and the
    # validation loss, when there is one, is at its lowest in the last epoch (Prechelt 1998: no reason to stop).
    # The fall so far starts at the untrained network's loss, which the benchmarks measure on the whole training
    # set and the doctor estimates from the first ``trend_start`` batch losses (their least-squares line at step
    # 0: measurements.initial_level), not from the first batch alone: a stretch short enough for the first
    # updates' fall to be read as a straight line, long enough to average ten batches' noise.
    trend_fraction: float = 1 / 3
    trend_steps: int = 30
    trend_t: float = -3.0
    trend_gain: float = 0.1
    trend_start: int = 10

    # Stop training at the first non-finite loss, as Keras' TerminateOnNaN: nothing after it is meaningful.
    stop_on_non_finite: bool = True

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "bool":
                continue
            if field.name == "trend_t":  # a slope's t-statistic: negative is falling
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"DoctorConfig: trend_t must be a number, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"DoctorConfig: {field.name} must be a non-negative number, got {value!r}")
        for name in ("stats_every", "persistence", "overfit_patience", "epoch_persistence", "window_steps",
                     "growth_window", "climb_block", "trend_steps", "trend_start"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"DoctorConfig: {name} must be at least 1, got {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> DoctorConfig:
        """A copy with some thresholds changed; unknown names raise a TypeError listing the known ones."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"DoctorConfig: unknown threshold(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **changes)
