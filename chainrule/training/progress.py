"""`ProgressBar`: a rich progress bar with ETA, loss and metrics; messages from ``trainer.log`` print above it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from chainrule.training.callbacks import Callback

# Refreshing on every batch costs more than a small batch's step; ~25 updates per epoch look smooth.
UPDATES_PER_EPOCH = 25


def format_logs(logs: dict[str, Any]) -> str:
    """``loss 0.1234  accuracy 0.9712  val_loss ...`` from an epoch log dict.

    >>> format_logs({"epoch": 0, "loss": 0.5, "accuracy": 0.75, "lr": 0.001, "seconds": 0.2})
    'loss 0.5000  accuracy 0.7500'
    """
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    return "  ".join(f"{k} {logs[k]:.4f}" for k in keys if logs.get(k) is not None)


class ProgressBar(Callback):
    """Show training progress on a terminal; quiet when verbose=0 or the console is not a terminal.

    When the console is not a terminal, lines from ``trainer.log`` are still printed (plainly).
    ``fit`` adds one when ``verbose`` is set; pass your own to choose the console (stderr by default).
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console
        self.progress: Progress | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        trainer = self.trainer
        if not trainer.verbose:
            return
        console = self.console if self.console is not None else Console(stderr=True)
        trainer.printer = self._printer(console)
        if not console.is_terminal:
            return
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"), console=console,
        )
        first = trainer.step // trainer.batches_per_epoch
        steps_left = trainer.epochs * trainer.batches_per_epoch - trainer.step
        self._offset = trainer.step
        self._every = max(1, trainer.batches_per_epoch // UPDATES_PER_EPOCH)
        self.task = self.progress.add_task("train", total=steps_left, epoch=f"{first + 1}/{trainer.epochs}",
                                           metrics="")
        self.progress.start()
        trainer.printer = self._printer(self.progress.console)

    @staticmethod
    def _printer(console: Console) -> Any:
        # Messages are plain text: a layer name like "[Linear]" must not be read as rich markup.
        return lambda message: console.print(message, markup=False, highlight=False)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.progress is not None and batch % self._every == 0:
            self.progress.update(self.task, completed=self.trainer.step - self._offset,
                                 epoch=f"{self.trainer.epoch + 1}/{self.trainer.epochs}",
                                 metrics=f"loss {self.trainer.last_loss:.4f}")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.progress is None:
            return
        text = format_logs(logs or {})
        self.progress.update(self.task, completed=self.trainer.step - self._offset, metrics=text)
        self.progress.console.print(f"epoch {epoch + 1}/{self.trainer.epochs}  {text}")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
