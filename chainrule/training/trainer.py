"""`fit`: the training loop. Per batch it does forward, loss, zero_grad, backward, callbacks, step: nothing else."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from chainrule import nn
from chainrule._io import json_safe
from chainrule.data import DataLoader, Dataset, validate_dataset
from chainrule.engine.autograd import no_grad
from chainrule.engine.creation import from_numpy
from chainrule.engine.random import get_generator, manual_seed
from chainrule.training.callbacks import Callback, LearningRateScheduler
from chainrule.training.progress import ProgressBar

LOSSES = {"cross_entropy": "CrossEntropyLoss", "mse": "MSELoss", "bce_with_logits": "BCEWithLogitsLoss",
          "l1": "L1Loss"}
OPTIMIZERS = {"sgd": ("SGD", 0.01), "adam": ("Adam", 1e-3), "adamw": ("AdamW", 1e-3), "rmsprop": ("RMSprop", 0.01)}
EVAL_BATCH_SIZE = 4096


C = TypeVar("C", bound=Callback)


@dataclass(repr=False)
class History:
    """What ``fit`` returns: one log dict per epoch, and every callback that watched the run.

    The loop knows callbacks only; what a callback found is read off the callback itself:
    ``history.callback(EarlyStopping).stopped_epoch``.
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    messages: list[str] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)

    def callback(self, kind: type[C]) -> C | None:
        """The first callback of type ``kind`` that watched the run (None if there was none)."""
        return next((cb for cb in self.callbacks if isinstance(cb, kind)), None)

    @property
    def history(self) -> dict[str, list[Any]]:
        """Keras-style ``{"loss": [...], "val_loss": [...], ...}``."""
        keys: dict[str, None] = {}
        for log in self.epochs:
            keys.update(dict.fromkeys(log))
        return {k: [log.get(k) for log in self.epochs] for k in keys}

    def plot(self) -> Any:
        """Loss (and accuracy, from 0 to 1) per epoch as a matplotlib Figure; ``fig.savefig(path)`` saves it."""
        from chainrule.training.display import history_figure, show_figures_as_png

        show_figures_as_png()
        return history_figure(self.epochs)

    def __repr__(self) -> str:
        last = self.epochs[-1] if self.epochs else {}
        final = "  ".join(f"{k} {v:.4f}" for k, v in last.items()
                          if k in ("loss", "accuracy", "val_loss", "val_accuracy") and v is not None)
        stopped = ", stopped early" if self.stopped_early else ""
        return f"History({len(self.epochs)} epochs{stopped}; last: {final or 'none'})"

    def _repr_html_(self) -> str:
        """A notebook shows the epochs as a table and the curves under it."""
        from chainrule.training.display import history_html

        return history_html(self.epochs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: epochs (non-finite numbers as None), stopped_early and the logged messages."""
        return {"epochs": [json_safe(log) for log in self.epochs], "stopped_early": self.stopped_early,
                "messages": list(self.messages)}


class Trainer:
    """The state of one ``fit`` call, handed to every callback by ``set_trainer``."""

    def __init__(self, model: nn.Module, optimizer: Any, loss_fn: Callable[..., Any], epochs: int,
                 batches_per_epoch: int, verbose: int) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.epochs = epochs
        self.batches_per_epoch = batches_per_epoch
        self.verbose = verbose
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.stop_training = False
        self.last_loss = float("nan")
        self.messages: list[str] = []
        self.printer: Callable[[str], Any] | None = None  # set by the progress bar
        self.val_samples: int | None = None  # the size of the set val_accuracy is measured on (its sampling noise)

    def log(self, message: str) -> None:
        """Print a line under the progress bar (nothing when verbose=0); always kept in ``messages``."""
        self.messages.append(message)
        if self.verbose and self.printer is not None:
            self.printer(message)


# ---------------------------------------------------------------------------- arguments


def _arrays(data: Any, where: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """(X, y, dataset) from a Dataset, an (X, y) tuple or a DataLoader."""
    if isinstance(data, DataLoader):
        data = data.dataset
    if isinstance(data, Dataset):
        return data.X, data.y, data
    if isinstance(data, tuple | list) and len(data) == 2:
        dataset = Dataset(*data, name=where)
        return dataset.X, dataset.y, dataset
    raise TypeError(f"fit: {where} must be a chainrule.data.Dataset, an (X, y) tuple or a DataLoader, "
                    f"got {type(data).__name__}")


def _loss_fn(loss: Any) -> Callable[..., Any]:
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"fit: loss must be one of {sorted(LOSSES)} or a loss Module, got {loss!r}")
        return getattr(nn, LOSSES[loss])()
    if not callable(loss):
        raise TypeError(f"fit: loss must be a name or a callable (loss Module), got {type(loss).__name__}")
    return loss


def _optimizer(optimizer: Any, model: nn.Module, lr: float | None) -> Any:
    from chainrule import optim

    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"fit: optimizer must be one of {sorted(OPTIMIZERS)} or an Optimizer, got {optimizer!r}")
        name, default_lr = OPTIMIZERS[optimizer]
        return getattr(optim, name)(model.parameters(), lr=default_lr if lr is None else lr)
    if not hasattr(optimizer, "step") or not hasattr(optimizer, "zero_grad"):
        raise TypeError(f"fit: optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
    if lr is not None:
        raise ValueError(f"fit: lr={lr} was given with an Optimizer instance; set lr when you build the optimizer")
    return optimizer


def _first_and_last_linear(model: nn.Module) -> tuple[tuple[str, Any] | None, tuple[str, Any] | None]:
    """The first Linear (None when a convolution, recurrent layer or embedding reads the data before it: the
    model reshapes its input itself) and the last."""
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        return None, None
    first_weighted = next(m for _, m in model.named_modules() if isinstance(m, (nn.Linear, *_READS_ITS_OWN_SHAPE)))
    return (None if first_weighted is not linears[0][1] else linears[0]), linears[-1]


_READS_ITS_OWN_SHAPE = (nn.Conv1d, nn.Conv2d, nn.RNN, nn.LSTM, nn.GRU, nn.Embedding)


def _validate(model: nn.Module, X: np.ndarray, dataset: Any, loss_fn: Any, where: str) -> None:
    """Check the data and its fit to the model before any step, so errors come early and clearly."""
    first, last = _first_and_last_linear(model)
    if first is not None and X.shape[1] != first[1].in_features:
        raise ValueError(
            f"fit: the model's first layer {first[0]} = Linear(in_features={first[1].in_features}, ...) expects "
            f"{first[1].in_features} features, but the {where} data has {X.shape[1]} (X shape {X.shape}); "
            f"build the model with in_features={X.shape[1]}"
        )
    classifier = isinstance(loss_fn, nn.CrossEntropyLoss)
    validate_dataset(dataset, num_features=None if first is None else first[1].in_features,
                     num_classes=last[1].out_features if classifier and last is not None else None)


def _overrides(callbacks: Sequence[Callback], hook: str) -> list[Callable[..., Any]]:
    """Bound hooks of the callbacks that define ``hook``, so the loop skips the no-op ones."""
    base = getattr(Callback, hook)
    return [getattr(cb, hook) for cb in callbacks
            if getattr(type(cb), hook, base) is not base or hook in vars(cb)]


def _current_lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups else None


# ---------------------------------------------------------------------------- evaluation


def evaluate(model: nn.Module, X: np.ndarray, targets: np.ndarray, loss_fn: Callable[..., Any],
             labels: np.ndarray | None = None, batch_size: int = EVAL_BATCH_SIZE) -> dict[str, float]:
    """Mean loss (and accuracy against integer ``labels``) of ``model`` on X in eval mode, without a graph.

    Accuracy is argmax over classes for outputs with several columns and ``logit > 0`` for one column.
    """
    was_training = model.training
    model.eval()
    total_loss, correct, n = 0.0, 0, len(X)
    with no_grad():
        for start in range(0, n, batch_size):
            xb, tb = X[start:start + batch_size], targets[start:start + batch_size]
            out = model(from_numpy(xb))
            total_loss += float(loss_fn(out, from_numpy(tb)).item()) * len(xb)
            if labels is not None:
                logits = out._data.reshape(len(xb), -1)
                predicted = logits.argmax(axis=1) if logits.shape[1] > 1 else (logits[:, 0] > 0)
                correct += int((predicted == labels[start:start + batch_size]).sum())
    model.train(was_training)
    result = {"loss": total_loss / n}
    if labels is not None:
        result["accuracy"] = correct / n
    return result


def _class_labels(y: np.ndarray, loss_fn: Any) -> np.ndarray:
    """Whole-number float labels (already validated) as the integer class indices cross-entropy wants."""
    if isinstance(loss_fn, nn.CrossEntropyLoss) and y.dtype.kind == "f" and y.ndim == 1:
        return y.astype(np.int64)
    return y


def _targets(y: np.ndarray, loss_fn: Any, model: nn.Module) -> np.ndarray:
    """Targets in the form the loss wants, made once before training (not per batch)."""
    _, last = _first_and_last_linear(model)
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        return y
    if y.dtype.kind in "iub":
        y = y.astype(np.float32)
    if y.ndim == 1 and last is not None and last[1].out_features == 1:
        y = y.reshape(-1, 1)
    return y


# ---------------------------------------------------------------------------- fit


def fit(
    model: nn.Module,
    train: Any,
    val: Any = None,
    *,
    loss: Any = "cross_entropy",
    optimizer: Any = "adam",
    lr: float | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    callbacks: Iterable[Callback] = (),
    seed: int | None = 0,
    verbose: int = 1,
    shuffle: bool = True,
    metrics: Sequence[str] = ("accuracy",),
    clip_grad_norm: float | None = None,
    scheduler: Any = None,
    initial_epoch: int = 0,
) -> History:
    """Train ``model`` on ``train`` for ``epochs`` epochs and return the History.

    Args:
        model: the Module to train (its parameters are updated in place).
        train: a chainrule.data Dataset, an (X, y) tuple of arrays, or a DataLoader (its batch_size,
            shuffle and drop_last replace fit's; the order is drawn from chainrule's generator).
        val: optional validation data in the same forms; adds ``val_loss``/``val_accuracy``.
        loss: "cross_entropy", "mse", "bce_with_logits", "l1", or a loss Module/callable.
        optimizer: "sgd", "adam", "adamw", "rmsprop" (built with ``lr``), or an Optimizer.
        lr: learning rate for a named optimizer (default: the optimizer's usual one).
        epochs: the epoch to stop after, counted from 0 (so with ``initial_epoch`` it is a total).
        batch_size: samples per step.
        callbacks: Callback instances (Keras-style hooks).
        seed: reseeds chainrule's generator (shuffling, dropout) first; None keeps its state (resuming).
        verbose: 0 prints nothing; 1 shows progress on stdout: a bar on a terminal, a table updated in
            place in a notebook, one line per epoch (loss, metrics, seconds) when piped to a log.
        shuffle: draw a new sample order each epoch.
        metrics: ("accuracy",) or () to skip accuracy.
        clip_grad_norm: clip the global gradient norm to this before each step.
        scheduler: a chainrule.optim.lr_scheduler object, stepped once per epoch
            (ReduceLROnPlateau with ``val_loss``, or ``loss`` without val data).
        initial_epoch: the epoch to start from when resuming from a checkpoint.

    Raises:
        TypeError, ValueError: bad arguments, invalid data, or data that does not fit the model.

    >>> import numpy as np, chainrule as cr
    >>> from chainrule.training.models import MLPSpec, build_mlp
    >>> X = np.random.default_rng(0).normal(size=(64, 2)).astype("float32"); y = (X[:, 0] > 0).astype("int64")
    >>> h = fit(build_mlp(MLPSpec(2, (8,), 2), seed=0), (X, y), epochs=3, verbose=0)
    >>> len(h.epochs), sorted(h.history)[:2]
    (3, ['accuracy', 'epoch'])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fit: model must be a chainrule.nn.Module, got {type(model).__name__}")
    for name, count in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"fit: {name} must be a positive int, got {count!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, int) or not 0 <= initial_epoch <= epochs:
        raise ValueError(f"fit: initial_epoch must be an int in [0, epochs={epochs}], got {initial_epoch!r}")
    unknown = [m for m in metrics if m != "accuracy"]
    if unknown:
        raise ValueError(f"fit: metrics: only 'accuracy' is measured (loss always is), got {unknown}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"fit: clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}")
    loss_fn = _loss_fn(loss)
    X, y, train_set = _arrays(train, "train")
    drop_last = False
    if isinstance(train, DataLoader):  # the loader's batching; the order still comes from fit's seed
        batch_size, shuffle, drop_last = train.batch_size, train.shuffle, train.drop_last
    _validate(model, X, train_set, loss_fn, "training")
    y = _class_labels(y, loss_fn)
    with_accuracy = "accuracy" in metrics and y.dtype.kind in "iub"
    t = _targets(y, loss_fn, model)
    val_arrays = None
    if val is not None:
        Xv, yv, val_set = _arrays(val, "val")
        _validate(model, Xv, val_set, loss_fn, "validation")
        yv = _class_labels(yv, loss_fn)
        val_arrays = (Xv, _targets(yv, loss_fn, model), yv if with_accuracy else None)
    optimizer = _optimizer(optimizer, model, lr)
    if seed is not None:
        manual_seed(seed)

    callbacks = list(callbacks)
    if scheduler is not None:
        callbacks.append(LearningRateScheduler(scheduler))
    if verbose and not any(isinstance(cb, ProgressBar) for cb in callbacks):
        callbacks.append(ProgressBar())

    n = len(X)
    batches_per_epoch = n // batch_size if drop_last else math.ceil(n / batch_size)
    trainer = Trainer(model, optimizer, loss_fn, epochs, batches_per_epoch, verbose)
    trainer.step = initial_epoch * batches_per_epoch
    trainer.val_samples = None if val_arrays is None else len(val_arrays[0])
    history = History(callbacks=callbacks)
    for cb in callbacks:
        cb.set_trainer(trainer)
    batch_begin = _overrides(callbacks, "on_batch_begin")
    after_backward = _overrides(callbacks, "on_after_backward")
    batch_end = _overrides(callbacks, "on_batch_end")
    clip = nn.utils.clip_grad_norm_
    params = [p for p in model.parameters() if p.requires_grad]

    for cb in callbacks:
        cb.on_train_begin({})
    model.train()
    for epoch in range(initial_epoch, epochs):
        trainer.epoch = epoch
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        started = time.perf_counter()
        lr_used = _current_lr(optimizer)
        # Each batch gathers its rows from the epoch's order: X[order] whole would copy the data every epoch.
        order = get_generator().permutation(n) if shuffle else None
        loss_sum, batches = 0.0, 0
        for batch, start in enumerate(range(0, batches_per_epoch * batch_size, batch_size)):
            for hook in batch_begin:
                hook(batch, {})
            if order is None:
                xb, tb = X[start:start + batch_size], t[start:start + batch_size]
            else:
                rows = order[start:start + batch_size]
                xb, tb = X[rows], t[rows]
            loss_value = loss_fn(model(from_numpy(xb)), from_numpy(tb))
            optimizer.zero_grad(set_to_none=True)
            loss_value.backward()
            trainer.last_loss = value = float(loss_value.item())
            for hook in after_backward:
                hook(batch, {"loss": value})
            if clip_grad_norm is not None:
                clip(params, clip_grad_norm)
            optimizer.step()
            trainer.step += 1
            loss_sum += value
            batches += 1
            for hook in batch_end:
                hook(batch, {"loss": value})
            if trainer.stop_training:
                break
        logs: dict[str, Any] = {"epoch": epoch, "loss": loss_sum / batches}
        if with_accuracy:  # measured in eval mode after the epoch; the loss is the batches' mean, so no pass without
            logs["accuracy"] = evaluate(model, X, t, loss_fn, y)["accuracy"]
        if val_arrays is not None:
            val_metrics = evaluate(model, val_arrays[0], val_arrays[1], loss_fn, val_arrays[2])
            logs.update({f"val_{k}": v for k, v in val_metrics.items()})
        logs["lr"] = lr_used
        logs["seconds"] = time.perf_counter() - started
        trainer.history.append(logs)
        history.epochs.append(logs)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if trainer.stop_training:
            history.stopped_early = True
            break
    for cb in callbacks:
        cb.on_train_end({"history": history.epochs})
    history.messages = trainer.messages
    return history

