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
    best_val_loss: float = float("inf")  # lowest validation loss so far, and its epoch
    best_val_epoch: int = -1
    grad_rms: dict[str, float] = field(default_factory=dict)  # epoch medians per Linear
    update_ratio: dict[str, float] = field(default_factory=dict)  # epoch medians per Linear
    saturation: dict[str, float] = field(default_factory=dict)  # epoch medians per Sigmoid/Tanh
    zero_grad_fraction: dict[str, float] = field(default_factory=dict)  # epoch medians per ReLU
    dead_fraction: dict[str, float] = field(default_factory=dict)  # per ReLU: units that never fired
    units: dict[str, int] = field(default_factory=dict)  # width of each activation layer
    feeding: dict[str, str | None] = field(default_factory=dict)  # activation -> the Linear that feeds it
    lr: float | None = None

    @property
    def period(self) -> str:
        """How findings name this stretch of training: "epoch 3" or "steps 100–199"."""
        return f"steps {self.first_step}–{self.step - 1}" if self.inferred else f"epoch {self.epoch}"

    @property
    def unit(self) -> str:
        """"epoch" or "window", for "2 epochs in a row"."""
        return "window" if self.inferred else "epoch"
