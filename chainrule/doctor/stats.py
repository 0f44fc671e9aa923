"""The typed statistics the rules read: the model's layers, one snapshot per step, one per epoch (or window).

The measurements (measurements.py) fill these; the rules (rules.py) read nothing else. Keeping the
contract in plain dataclasses is what lets the same rules watch any model whose layers can be
measured this way: nothing here refers to chainrule's modules or to the Doctor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SATURATING = {"Sigmoid": "sigmoid", "Tanh": "tanh"}


@dataclass(frozen=True)
class Layers:
    """The watched model's structure, fixed when the doctor starts watching it."""

    linears: tuple[str, ...]  # Linear layers, lowest (input side) first
    activations: dict[str, str]  # activation layer name -> class name ("ReLU", "Sigmoid", ...), in model order
    after_full_dropout: frozenset[str] = frozenset()  # layers behind a Dropout(p=1.0): their silence is not theirs
    spec: Any = None  # the MLPSpec the model was built from, when it has one (remedies can name spec fields)
    inputs_at_first_linear: bool = False  # the first Linear reads the data itself (no conv/embedding before it)

    def saturating(self) -> list[tuple[str, str]]:
        """(name, class name) of each Sigmoid/Tanh layer, in model order."""
        return [(name, cls) for name, cls in self.activations.items() if cls in SATURATING]


@dataclass(slots=True)
class StepStats:
    """What one training step measured (after backward, before the optimizer step)."""

    step: int
    epoch: int
    loss: float
    grad_rms: dict[str, float]  # RMS of each Linear weight's gradient (estimated from a subset between samples)
    grad_rms_total: float  # RMS over every Linear weight's gradient
    running_average: float = float("nan")  # running average (EMA) of grad_rms_total before this step; NaN at first
    spike_ratio: float = float("nan")  # grad_rms_total / running_average
    loss_average: float = float("nan")  # running average of the loss before this step
    layer_spike_ratios: dict[str, float] = field(default_factory=dict)  # per layer, filled on a possible spike only
    weights_finite: bool = True  # every Linear weight finite (checked on sample steps)
    first_non_finite_output: str | None = None  # filled when something went non-finite: where it started
    last_finite_loss: float | None = None  # likewise
    growth: float = float("nan")  # median gradient RMS of the last few steps / step 0's (the last finite one's
    # when this step went non-finite)
    layer_growth: dict[str, float] = field(default_factory=dict)  # the same per Linear, filled when growth > 1
    norm_ratio: float = float("nan")  # this step's global gradient norm / step 0's
    update_ratio: dict[str, float] = field(default_factory=dict)  # the latest measured ‖Δw‖/‖w‖ per Linear
    loss_climb: float = float("nan")  # on sample steps: the last block's mean loss above the lowest block's,
    # as a fraction of the first loss
    loss_climb_above: float = float("nan")  # the fraction of that block above the lowest level by the climb margin
    recent_loss: float = float("nan")  # median batch loss of the last few steps (the growth window)
    first_loss: float = float("nan")  # the untrained network's batch loss (step 0)


@dataclass
class EpochStats:
    """What an epoch measured, or a window of steps the doctor closed itself when the loop gives no epochs."""

    epoch: int
    first_step: int
    step: int  # steps seen when it closed: the step its findings carry
    inferred: bool  # True: a window of steps (the loop never called end_epoch)
    initial_loss: float  # the untrained network's loss (the first step's)
    late_loss: float  # mean batch loss over the later half of the epoch
    improvement: float  # relative fall of the loss since the previous epoch's late loss (negative: it rose)
    train_loss: float | None = None
    val_loss: float | None = None
    train_acc: float | None = None
    val_acc: float | None = None
    val_samples: int | None = None  # the size of the set val_acc was measured on (its sampling noise)
    best_val_loss: float = float("inf")  # lowest validation loss so far, and its epoch
    best_val_epoch: int = -1
    train_loss_at_best: float | None = None  # the training loss in that epoch
    grad_rms: dict[str, float] = field(default_factory=dict)  # epoch medians per Linear
    update_ratio: dict[str, float] = field(default_factory=dict)  # epoch medians per Linear
    saturation: dict[str, float] = field(default_factory=dict)  # epoch medians per Sigmoid/Tanh
    zero_grad_fraction: dict[str, float] = field(default_factory=dict)  # epoch medians per ReLU
    dead_fraction: dict[str, float] = field(default_factory=dict)  # per ReLU: units that never fired
    units: dict[str, int] = field(default_factory=dict)  # width of each activation layer
    feeding: dict[str, str | None] = field(default_factory=dict)  # activation -> the Linear that feeds it
    lr: float | None = None
    grad_ratio: dict[str, float] = field(default_factory=dict)  # per Linear: median over samples of its gradient
    # RMS / the top Linear's, over samples where both are non-zero (exact zeros are dead units, not small factors)
    signal_ratio: dict[str, float] = field(default_factory=dict)  # the same for ∂loss/∂(Linear output)
    lowest_grad_ratios: list[float] = field(default_factory=list)  # the lowest Linear's per-sample ratios behind
    lowest_signal_ratios: list[float] = field(default_factory=list)  # its two medians above (vanishing's sign test)
    loss_climb: float = float("nan")  # the epoch's mean batch loss above the lowest epoch mean before it (the
    # first loss before the first epoch), as a fraction of the first loss

    @property
    def period(self) -> str:
        """How findings name this stretch of training: "epoch 3" or "steps 100–199"."""
        return f"steps {self.first_step}–{self.step - 1}" if self.inferred else f"epoch {self.epoch}"

    @property
    def unit(self) -> str:
        """"epoch" or "window", for "2 epochs in a row"."""
        return "window" if self.inferred else "epoch"


@dataclass
class StartStats:
    """What the first training step measured, before any update: the inputs' and the initialization's scale."""

    input_scale: dict[str, float]  # InputScale: rms_max, rms_min, std_spread over the varying features
    preactivation_rms: dict[str, float]  # RMS of each Linear's output (the next activation's input), model order
    signal_rms: dict[str, float]  # RMS of ∂loss/∂(each Linear's output)
    saturation: dict[str, float] = field(default_factory=dict)  # per Sigmoid/Tanh: fraction at the flat ends
    dead_fraction: dict[str, float] = field(default_factory=dict)  # per ReLU: units silent on the whole batch
    positions: dict[str, int] = field(default_factory=dict)  # per Linear: positions per sample of its output


@dataclass
class EndStats:
    """The end of training: whether the loss was still falling (the last stretch's slope against its noise)."""

    steps: int  # steps trained
    epochs: int  # epochs (or windows) judged
    trend_t: float  # least-squares slope of the last stretch's batch losses / its standard error
    projected_fall: float  # that slope over one more such stretch, as a fraction of the fall so far
    window: int  # steps in the last stretch
    val_at_best: bool | None  # the last epoch's validation loss is the lowest so far (None: no validation data)
