"""`ProgressBar`: training progress wherever the output goes.

On a terminal a rich progress bar with ETA, loss and metrics; in Jupyter (JupyterLab, classic Notebook,
VS Code) one HTML display updated in place: the epoch table so far and the current epoch's progress; when
the output is piped to a file, one plain line per epoch. Messages from ``trainer.log`` print as they come.
"""

from __future__ import annotations

import html
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from chainrule.training.callbacks import Callback

# Refreshing on every batch costs more than a small batch's step; ~25 updates per epoch look smooth.
UPDATES_PER_EPOCH = 25
# A notebook update is a message to the browser: a few per epoch are enough to show that it moves.
NOTEBOOK_UPDATES_PER_EPOCH = 4
METRIC_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def format_logs(logs: dict[str, Any]) -> str:
    """``loss 0.1234  accuracy 0.9712  val_loss ...`` from an epoch log dict.

    >>> format_logs({"epoch": 0, "loss": 0.5, "accuracy": 0.75, "lr": 0.001, "seconds": 0.2})
    'loss 0.5000  accuracy 0.7500'
    """
    return "  ".join(f"{k} {logs[k]:.4f}" for k in METRIC_KEYS if logs.get(k) is not None)


def epoch_line(epoch: int, epochs: int, logs: dict[str, Any]) -> str:
    """The one line an epoch gets in a log: its number, metrics and duration.

    >>> epoch_line(2, 10, {"loss": 0.5, "accuracy": 0.75, "seconds": 1.234})
    'epoch 3/10  loss 0.5000  accuracy 0.7500  1.2s'
    """
    seconds = logs.get("seconds")
    took = f"  {seconds:.1f}s" if seconds is not None else ""
    return f"epoch {epoch + 1}/{epochs}  {format_logs(logs)}{took}"


def notebook_shell() -> Any:
    """The running IPython kernel's shell when the code runs in a notebook, else None.

    Only a kernel (``shell.kernel``) has a front end that renders HTML; plain IPython in a terminal has none.
    IPython is looked up in ``sys.modules``, never imported: outside a notebook nothing loads it.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def epochs_html(rows: list[dict[str, Any]], epochs: int, current: str = "") -> str:
    """An HTML table of the epochs so far (one row each), with ``current`` (the running epoch) under it.

    >>> "<td>0.5000</td>" in epochs_html([{"epoch": 0, "loss": 0.5, "seconds": 0.1}], 3)
    True
    """
    keys = [k for k in METRIC_KEYS if any(row.get(k) is not None for row in rows)]
    head = "".join(f"<th>{k}</th>" for k in ("epoch", *keys, "seconds"))
    body = "".join(
        "<tr>" + f"<td>{row['epoch'] + 1}/{epochs}</td>"
        + "".join(f"<td>{row[k]:.4f}</td>" if row.get(k) is not None else "<td></td>" for k in keys)
        + f"<td>{row.get('seconds', 0.0):.1f}</td></tr>"
        for row in rows
    )
    status = f"<div>{html.escape(current)}</div>" if current else ""
    return f'<div class="chainrule-progress"><table><tr>{head}</tr>{body}</table>{status}</div>'


class ProgressBar(Callback):
    """Show training progress: a bar on a terminal, an updating table in a notebook, a line per epoch in a log.

    Quiet when ``verbose=0``. ``fit`` adds one when ``verbose`` is set; pass your own to choose the
    console (stdout by default, as Keras prints).
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.display: Any = None  # the notebook's display handle, updated in place
        self.console_out: Console | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        trainer = self.trainer
        self.progress, self.display, self.console_out = None, None, None
        if not trainer.verbose:
            return
        console = self.console if self.console is not None else Console()
        self.console_out = console
        trainer.printer = self._printer(console)
        first = trainer.step // trainer.batches_per_epoch
        self._offset = trainer.step
        if self.console is None and notebook_shell() is not None:
            from IPython.display import HTML, display

            self._every = max(1, trainer.batches_per_epoch // NOTEBOOK_UPDATES_PER_EPOCH)
            self._rows: list[dict[str, Any]] = []
            self._html = HTML
            self.display = display(HTML(epochs_html([], trainer.epochs, f"epoch {first + 1}/{trainer.epochs}")),
                                   display_id=True)
            return
        if not console.is_terminal:
            return
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"), console=console,
        )
        steps_left = trainer.epochs * trainer.batches_per_epoch - trainer.step
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
        trainer = self.trainer
        if self.progress is not None and batch % self._every == 0:
            self.progress.update(self.task, completed=trainer.step - self._offset,
                                 epoch=f"{trainer.epoch + 1}/{trainer.epochs}",
                                 metrics=f"loss {trainer.last_loss:.4f}")
        elif self.display is not None and batch % self._every == 0:
            current = (f"epoch {trainer.epoch + 1}/{trainer.epochs}: batch {batch + 1}/{trainer.batches_per_epoch}"
                       f"  loss {trainer.last_loss:.4f}")
            self.display.update(self._html(epochs_html(self._rows, trainer.epochs, current)))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.display is not None:
            self._rows.append(dict(logs))
            self.display.update(self._html(epochs_html(self._rows, self.trainer.epochs)))
        elif self.progress is not None:
            self.progress.update(self.task, completed=self.trainer.step - self._offset, metrics=format_logs(logs))
            self.progress.console.print(epoch_line(epoch, self.trainer.epochs, logs), markup=False, highlight=False)
        elif self.console_out is not None:  # a log file: one plain line per epoch
            self.console_out.print(epoch_line(epoch, self.trainer.epochs, logs), markup=False, highlight=False,
                                   soft_wrap=True)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        self.display = None
