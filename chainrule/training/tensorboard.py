"""`TensorBoard`: write a run as TensorBoard event files (``tensorboard --logdir runs``).

The events are written by tensorboardX's ``SummaryWriter`` (a maintained writer of TensorBoard's own
format), an optional dependency imported when training begins. What is written:

- per epoch (step = epoch, counted from 0): ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``;
  histograms ``weights/<param>`` and ``grads/<param>`` (the epoch's last batch) every ``histogram_freq`` epochs;
- what a doctor measured (``cr.fit`` hands over its own): ``grad_rms/<layer>`` and ``update_ratio/<layer>``
  at the training steps it sampled, ``dead_fraction/<layer>`` per epoch, and each finding as text
  (``findings``) at the step it was reported.

The doctor's series are read from ``doctor.metrics`` and written as they grow, so the training layer
needs nothing from the doctor but those lists.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from chainrule.training.callbacks import Callback

# (series in doctor.metrics, its x axis): the training steps the doctor sampled, or epochs
DOCTOR_SERIES = (("grad_rms", "step"), ("update_ratio", "step"), ("dead_fraction", "epoch"))
EPOCH_SCALARS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr")


def summary_writer(log_dir: str) -> Any:
    """tensorboardX's SummaryWriter for ``log_dir``, or an ImportError that says what to install."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError(
            f"TensorBoard: writing events needs the tensorboardX package, which is not installed ({error}); "
            "install it with: pip install 'chainrule[tensorboard]' (or pip install tensorboardX==2.6.5)"
        ) from None
    return SummaryWriter(log_dir=log_dir)


class TensorBoard(Callback):
    """Write loss, metrics, learning rate, histograms and the doctor's measurements for TensorBoard.

    Args:
        log_dir: the folder for the event files (created); point ``tensorboard --logdir`` at it or a parent.
        histogram_freq: write weight and gradient histograms every this many epochs (0: never).
        doctor: a Doctor whose measurements and findings are written too; ``cr.fit`` passes the one
            watching the run when this is None.

    Raises:
        ValueError: ``histogram_freq`` is not a non-negative int.
        ImportError: tensorboardX is not installed (when training begins).

    >>> TensorBoard("runs/x").log_dir
    'runs/x'
    """

    def __init__(self, log_dir: str | os.PathLike[str] = "runs", histogram_freq: int = 1, doctor: Any = None) -> None:
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be a non-negative int, got {histogram_freq!r}")
        self.log_dir, self.histogram_freq, self.doctor = os.fspath(log_dir), histogram_freq, doctor
        self.writer: Any = None
        self._written: dict[tuple[str, str], int] = {}  # (series, layer) -> entries written
        self._findings_written = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.writer = summary_writer(self.log_dir)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        for key in EPOCH_SCALARS:
            if logs.get(key) is not None:
                self.writer.add_scalar(key, float(logs[key]), epoch)
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0:
            self._histograms(epoch)
        self._doctor()
        self.writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._doctor()  # the doctor judges each epoch after this callback saw it: its last words come now
        self.writer.close()

    def _histograms(self, epoch: int) -> None:
        for name, param in self.trainer.model.named_parameters():
            self._histogram(f"weights/{name}", param._data, epoch)
            if param.grad is not None:
                self._histogram(f"grads/{name}", param.grad._data, epoch)

    def _histogram(self, tag: str, values: np.ndarray, epoch: int) -> None:
        # A diverged run has NaN/inf weights: the histogram shows the finite ones (the doctor's
        # non_finite finding says what happened); with none left there is nothing to draw.
        finite = values[np.isfinite(values)]
        if finite.size:
            self.writer.add_histogram(tag, finite, epoch)

    def _doctor(self) -> None:
        """Write what the doctor measured and found since the last call."""
        if self.doctor is None:
            return
        metrics = self.doctor.metrics
        steps = metrics.get("steps", [])
        for key, axis in DOCTOR_SERIES:
            for layer, series in (metrics.get(key) or {}).items():
                start = self._written.get((key, layer), 0)
                for i in range(start, len(series)):
                    x = steps[i] if axis == "step" else i
                    if series[i] is not None:
                        self.writer.add_scalar(f"{key}/{layer}", float(series[i]), x)
                self._written[(key, layer)] = len(series)
        for finding in self.doctor.findings[self._findings_written:]:
            self.writer.add_text("findings", finding.summary(), finding.step)
        self._findings_written = len(self.doctor.findings)
