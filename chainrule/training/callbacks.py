"""Keras-style callbacks: where training is observed and steered.

``fit`` calls, in order: ``set_trainer(trainer)`` once, ``on_train_begin``, then per epoch
``on_epoch_begin``, per batch ``on_batch_begin``, ``on_after_backward`` (gradients are in
``param.grad``, the optimizer has not stepped yet), ``on_batch_end``, then ``on_epoch_end``,
and finally ``on_train_end``. A callback stops training by setting ``trainer.stop_training``.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainrule.training.trainer import Trainer


def __getattr__(name: str) -> Any:
    # cr.callbacks.TensorBoard: its module imports this one, so it is looked up on first use.
    if name == "TensorBoard":
        from chainrule.training.tensorboard import TensorBoard

        return TensorBoard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Callback:
    """Base class: override the hooks you need; ``self.trainer`` is set before training begins.

    ``trainer`` carries ``model``, ``optimizer``, ``loss_fn``, ``epoch``, ``step`` (global batch
    count), ``history`` (list of per-epoch log dicts), ``stop_training`` and ``log(message)``,
    which prints a line under the progress bar.
    """

    trainer: Trainer

    def set_trainer(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Before the first epoch."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """After the last epoch (also when a callback stopped training early)."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Before epoch ``epoch`` (counted from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """After an epoch; ``logs`` holds ``loss``, ``accuracy`` and ``val_loss``/``val_accuracy`` when known."""

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Before a batch's forward pass."""

    def on_after_backward(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Gradients are ready and the optimizer has not stepped: the place to inspect or clip them."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """After the optimizer step; ``logs['loss']`` is the batch loss as a float."""


def _monitor_mode(monitor: str, mode: str, where: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{where}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _monitored(logs: dict[str, Any] | None, monitor: str, where: str) -> float:
    if not logs or logs.get(monitor) is None:
        available = sorted(k for k, v in (logs or {}).items() if isinstance(v, float | int))
        hint = "; pass val= to fit, or monitor='loss'" if monitor.startswith("val_") else ""
        raise ValueError(f"{where}: monitor {monitor!r} is not in the epoch logs (available: {available}){hint}")
    return float(logs[monitor])


class _Monitor:
    """Tracks the best value of a logged metric (lower is better for losses, higher for accuracies)."""

    def __init__(self, monitor: str, mode: str, min_delta: float, where: str) -> None:
        self.monitor, self.where = monitor, where
        self.mode = _monitor_mode(monitor, mode, where)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, logs: dict[str, Any] | None) -> bool:
        value = _monitored(logs, self.monitor, self.where)
        better = value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        if better:
            self.best = value
        return better


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights`` the model ends with the weights of its best epoch.

    >>> EarlyStopping(patience=2).patience
    2
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 restore_best_weights: bool = False, mode: str = "auto") -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int, got {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.restore_best_weights, self.mode = restore_best_weights, mode
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._tracker = _Monitor(self.monitor, self.mode, self.min_delta, "EarlyStopping")
        self.wait = 0
        self.best_weights: dict[str, Any] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._tracker.improved(logs):
            self.wait, self.best_epoch = 0, epoch
            if self.restore_best_weights:
                # a snapshot: state_dict's values share the model's memory, as in torch
                self.best_weights = {k: v.clone() for k, v in self.trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            self.trainer.log(f"EarlyStopping: {self.monitor} has not improved for {self.wait} epochs "
                             f"(best {self._tracker.best:.4g} at epoch {self.best_epoch}); stopping")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)
            self.trainer.log(f"EarlyStopping: restored the weights of epoch {self.best_epoch}")


class ModelCheckpoint(Callback):
    """Save the model with ``chainrule.save`` after each epoch (or only when ``monitor`` improves).

    ``path`` may contain ``{epoch}`` (counted from 1) and any log key, e.g. ``"ckpt-{epoch:02d}.safetensors"``.
    """

    def __init__(self, path: str | os.PathLike[str], monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto") -> None:
        self.path, self.monitor, self.save_best_only, self.mode = str(path), monitor, save_best_only, mode
        self.saved: list[str] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._tracker = _Monitor(self.monitor, self.mode, 0.0, "ModelCheckpoint")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from chainrule.serialization import save

        if self.save_best_only and not self._tracker.improved(logs):
            return
        fields = {k: v for k, v in (logs or {}).items() if k != "epoch"}
        path = self.path.format(epoch=epoch + 1, **fields)
        save(self.trainer.model, path)
        self.saved.append(path)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = self.trainer.last_loss
        if not math.isfinite(loss):
            self.trainer.stop_training = True
            self.trainer.log(f"TerminateOnNaN: the loss became {loss} at step {self.trainer.step} "
                             f"(epoch {self.trainer.epoch}, batch {batch}); stopping")


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))``."""

    HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin",
             "on_after_backward", "on_batch_end")

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        for name, fn in hooks.items():
            if name not in self.HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; expected some of {self.HOOKS}")
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, got {type(fn).__name__}")
            setattr(self, name, fn)


class LearningRateScheduler(Callback):
    """Step a ``chainrule.optim.lr_scheduler`` object once per epoch (``fit(scheduler=...)`` adds one).

    ReduceLROnPlateau is stepped with ``monitor`` (``val_loss``, or ``loss`` when there is no validation data).
    """

    def __init__(self, scheduler: Any, monitor: str = "val_loss") -> None:
        if not hasattr(scheduler, "step"):
            raise TypeError(
                f"LearningRateScheduler: expected an lr_scheduler with step(), got {type(scheduler).__name__}"
            )
        self.scheduler, self.monitor = scheduler, monitor

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            logs = logs or {}
            key = self.monitor if logs.get(self.monitor) is not None else "loss"
            self.scheduler.step(_monitored(logs, key, "LearningRateScheduler"))
        else:
            self.scheduler.step()


def csv_rows(epochs: list[dict[str, Any]], keys: list[str] | None = None, separator: str = ",",
             header: bool = True) -> str:
    """Epoch logs as Keras's ``CSVLogger`` writes them: ``epoch`` first, then the other keys sorted.

    A missing or None value is an empty field; ``keys`` defaults to every key the epochs have.

    >>> print(csv_rows([{"epoch": 0, "loss": 0.5, "lr": None}]), end="")
    epoch,loss,lr
    0,0.5,
    """
    keys = keys if keys is not None else sorted({k for log in epochs for k in log} - {"epoch"})
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\n")
    if header:
        writer.writerow(["epoch", *keys])
    for log in epochs:
        writer.writerow([log.get("epoch", ""), *("" if log.get(k) is None else log[k] for k in keys)])
    return buffer.getvalue()


class CSVLogger(Callback):
    """Append each epoch's logs to a CSV file as it ends, as Keras's ``CSVLogger`` does.

    The columns are ``epoch`` and the first epoch's other keys, sorted; the file is flushed every
    epoch, so it can be read (or plotted by any tool) while training runs. ``append=True`` keeps
    an existing file's rows and header (resuming).
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        if len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}")
        self.filename, self.separator, self.append = str(filename), separator, append
        self.keys: list[str] | None = None
        self._file: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        if has_rows:
            with open(self.filename, encoding="utf-8", newline="") as existing:
                self.keys = next(csv.reader(existing, delimiter=self.separator))[1:]
        else:
            self.keys = None
        os.makedirs(os.path.dirname(os.path.abspath(self.filename)), exist_ok=True)
        self._file = open(self.filename, "a" if self.append else "w", encoding="utf-8", newline="")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {"epoch": epoch, **(logs or {})}
        header = self.keys is None
        if self.keys is None:
            self.keys = sorted(k for k in logs if k != "epoch")
        self._file.write(csv_rows([logs], self.keys, self.separator, header=header))
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
