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

    # Exploding gradients: a spike of the gradient RMS against its running average (as gradient-norm
    # monitors such as AUTOTRAINER's and Pascanu et al. 2013's clipping analysis do).
    spike_factor: float = 5.0
    spike_ema: float = 0.9  # smoothing of the running average (about a 10-step memory)
    # An RMS this large per element is exploding whatever its history (weights are O(1e-2)).
    grad_rms_max: float = 1e3

    # Dead ReLU units: keras-contrib's DeadReluDetector warns when ≥ 10% of a layer never fires
    # (here: over a whole epoch, ``epoch_persistence`` epochs in a row, while training stalls).
    dead_fraction: float = 0.10

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

    # "Training is failing to improve": the train loss fell by less than this fraction per epoch ...
    stall_improvement: float = 0.01
    # ... and is still above this fraction of its starting value (it has not already learned).
    stall_loss_fraction: float = 0.5

    # Overfitting: Prechelt's generalization loss GL = val_loss / best_val_loss - 1 ("Early stopping,
    # but when?", 1998; his GL_5 criterion) above this, together with a train/validation accuracy gap
    # at least this wide, for ``overfit_patience`` epochs in a row.
    overfit_gl: float = 0.05
    overfit_acc_gap: float = 0.1
    # Without accuracies, the gap rule compares losses: val_loss above this multiple of train_loss.
    overfit_loss_ratio: float = 2.0
    overfit_patience: int = 2

    # Stop training at the first non-finite loss, as Keras' TerminateOnNaN: nothing after it is meaningful.
    stop_on_non_finite: bool = True

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "bool":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"DoctorConfig: {field.name} must be a non-negative number, got {value!r}")
        for name in ("stats_every", "persistence", "overfit_patience", "epoch_persistence", "window_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"DoctorConfig: {name} must be at least 1, got {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> DoctorConfig:
        """A copy with some thresholds changed; unknown names raise a TypeError listing the known ones."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"DoctorConfig: unknown threshold(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **changes)
