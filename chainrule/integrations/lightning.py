"""The doctor as a PyTorch Lightning callback: ``Trainer(callbacks=[DoctorCallback("report.html")])``.

``pip install chainrule[lightning]``. The callback is the issue-12 loop in Lightning's hooks:

* ``on_train_start``: ``doctor.watch(pl_module, trainer.optimizers[0])``;
* ``on_train_batch_start`` / ``on_before_backward``: ``forward_begins`` / ``forward_ends`` around
  ``training_step``, which often calls a submodule (``self.net(x)``) and not the module's own forward;
* ``on_after_backward``: ``doctor.check(loss)`` (after backward, before the optimizer step and any clipping);
* ``on_train_epoch_end`` (after the epoch's validation): ``doctor.end_epoch`` with the metrics the module
  logged under ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc`` (``metric_names`` renames them);
* ``on_fit_end``: ``doctor.report(report_path)``.

Under DDP every rank measures and the doctor combines them (torch_adapter.py); rank 0 alone writes the report
and logs. Automatic optimization with ``accumulate_grad_batches=1`` is assumed: each backward is one step.
"""

from __future__ import annotations

import os
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_info

from chainrule.doctor.doctor import Doctor

END_EPOCH_ARGS = ("train_loss", "val_loss", "train_acc", "val_acc")


class DoctorCallback(pl.Callback):
    """Watch a LightningModule's training with a chainrule ``Doctor`` and write its report at the end.

    Args:
        report_path: where ``doctor.report`` writes (a ``.html`` page, or a run folder); None: nothing written.
        doctor: the Doctor to use (default: a fresh ``Doctor()``); ``callback.doctor`` holds it.
        metric_names: ``end_epoch`` argument -> the name the module logs it under, for names other than
            ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc`` (e.g. ``{"val_acc": "val/accuracy"}``).

    Raises:
        TypeError: ``doctor`` is not a Doctor; ``metric_names`` has a key that ``end_epoch`` does not take.
    """

    def __init__(self, report_path: str | os.PathLike[str] | None = None, doctor: Doctor | None = None,
                 metric_names: dict[str, str] | None = None) -> None:
        if doctor is not None and not isinstance(doctor, Doctor):
            raise TypeError(f"DoctorCallback: doctor must be a chainrule Doctor, got {type(doctor).__name__}")
        unknown = set(metric_names or {}) - set(END_EPOCH_ARGS)
        if unknown:
            raise TypeError(f"DoctorCallback: metric_names keys must be among {END_EPOCH_ARGS}, got {sorted(unknown)}")
        self.report_path = report_path
        self.doctor = doctor if doctor is not None else Doctor()
        self.metric_names = {**{name: name for name in END_EPOCH_ARGS}, **(metric_names or {})}
        self.loss: Any = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.doctor.watch(pl_module, trainer.optimizers[0] if trainer.optimizers else None)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        self.doctor.forward_begins()

    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: Any) -> None:
        self.doctor.forward_ends()
        self.loss = loss

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self.doctor.forward_ends()  # a training_step that returned None skipped on_before_backward

    def on_after_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.doctor.check(self.loss)
        self.loss = None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logged = trainer.callback_metrics
        values = {arg: logged.get(name) for arg, name in self.metric_names.items()}
        metrics: dict[str, Any] = {arg: float(v) for arg, v in values.items() if v is not None}
        if "val_acc" in metrics:  # the overfitting rule weighs the accuracy gap against the validation set's size
            metrics["val_samples"] = _validation_size(trainer)
        self.doctor.end_epoch(**metrics)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        findings = self.doctor.report(self.report_path) if self.report_path is not None else self.doctor.report()
        where = f"; report: {self.report_path}" if self.report_path is not None else ""
        rank_zero_info(f"chainrule doctor: {len(findings)} finding(s)"
                       f"{': ' + ', '.join(f.kind for f in findings) if findings else ''}{where}")


def _validation_size(trainer: pl.Trainer) -> int | None:
    """How many samples one validation pass saw: the validation set's length when the whole of one loader ran
    (without it, or with several loaders or a batch limit, the overfitting rule compares losses instead)."""
    loader: Any = trainer.val_dataloaders
    try:
        whole = trainer.num_val_batches == [len(loader)]
        return len(loader.dataset) if whole else None
    except (TypeError, AttributeError):  # an iterable loader or dataset without a length
        return None
