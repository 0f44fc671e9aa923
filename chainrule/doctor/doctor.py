"""The Doctor: watches a model through module hooks, keeps per-layer statistics, reports findings.

Every step it reads what backpropagation already computed: the RMS of each Linear weight's
gradient (one dot product per layer), which ReLU units fired (a running OR per batch), and
whether the loss is finite. Every ``stats_every`` steps it also takes the statistics that cost
more: the backpropagated signal ∂loss/∂pre-activation per Linear (from its backward hook),
activation mean/std, exactly-zero gradient fractions, sigmoid/tanh saturation and the actual
update-to-weight ratio ‖Δw‖/‖w‖ (weights copied at one step and compared at the next, so it is
right for any optimizer). The rules that turn these into findings live in ``rules.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.doctor import rules
from chainrule.doctor.config import DoctorConfig
from chainrule.doctor.findings import Finding
from chainrule.engine.autograd import is_grad_enabled
from chainrule.training.callbacks import Callback

# Layers are recognised by class name, so the doctor needs nothing from chainrule.nn but Module.
LINEAR = "Linear"
RELU = "ReLU"
SATURATING = {"Sigmoid": "sigmoid", "Tanh": "tanh"}
ACTIVATIONS = {"ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "ELU", "SiLU", "Softplus"}
NAN = float("nan")
SUBSET = 4096  # about this many gradient elements are read per big layer between sample steps


def _sumsq(a: np.ndarray) -> float:
    flat = a.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.dot(flat, flat))


def _rms(a: np.ndarray) -> float:
    return math.sqrt(_sumsq(a) / a.size) if a.size else NAN


class Doctor(Callback):
    """Watches training and explains why a network is not learning.

    As a callback: ``fit(model, data, doctor=Doctor())`` (``doctor=True`` is fit's default).
    In your own loop: ``doctor.watch(model)`` once; per step, after ``backward()`` and before
    ``optimizer.step()``, ``doctor.check(model, loss=float(loss))``; per epoch
    ``doctor.end_epoch(train_loss=..., val_loss=..., train_acc=..., val_acc=...)``.

    Args:
        config: a DoctorConfig (defaults if None).
        **threshold_overrides: any DoctorConfig field, e.g. ``dead_fraction=0.2``.

    Raises:
        TypeError: an unknown threshold name.

    >>> Doctor(dead_fraction=0.2).config.dead_fraction
    0.2
    """

    def __init__(self, config: DoctorConfig | None = None, **threshold_overrides: Any) -> None:
        if config is not None and not isinstance(config, DoctorConfig):
            raise TypeError(f"Doctor: config must be a DoctorConfig, got {type(config).__name__}")
        config = config or DoctorConfig()
        self.config = config.replace(**threshold_overrides) if threshold_overrides else config
        self.findings: list[Finding] = []
        self.messages: list[str] = []
        self.layer_names: list[str] = []  # Linear layers, lowest (input side) first
        self.activation_names: list[str] = []
        self.model: Any = None
        self.optimizer: Any = None
        self.trainer: Any = None
        self.step = 0
        self.epoch = 0
        self.metrics: dict[str, Any] = {}
        self.summary_printed = False
        self.after_full_dropout: set[str] = set()
        self._handles: list[Any] = []
        self._reset_state()

    # ------------------------------------------------------------------ setup
    def _reset_state(self) -> None:
        self.metrics = {
            "steps": [], "sample_epoch": [], "loss": [], "grad_rms_total": [],
            "grad_rms": {}, "signal_rms": {}, "update_ratio": {}, "weight_rms": {},
            "act_mean": {}, "act_std": {}, "zero_grad_fraction": {}, "saturation": {},
            "dead_fraction": {}, "epochs": [],
        }
        self._pending: dict[tuple[str, str], float] = {}
        self._fired: dict[str, np.ndarray] = {}
        self._last_out: dict[str, np.ndarray] = {}
        self._snapshot: dict[str, np.ndarray] | None = None
        self._ema: dict[str, float] = {}
        self._layer_ema: dict[str, float] = {}
        self._spike_run = 0
        self._epoch_start_step = 0
        self._halted = False
        self._keys: dict[tuple[str, str | None], Finding] = {}
        self._kinds_of: dict[str, str] = {}  # module name -> class name
        self._linears: dict[str, Any] = {}
        self._weight_count = 0
        self._strides: dict[str, int] = {}
        self._scratch: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._best_val = math.inf
        self._best_val_epoch = -1
        self._overfit_run = 0
        self._lr_runs = {"high": 0, "low": 0}
        self._sat_runs: dict[str, int] = {}
        self._dead_runs: dict[str, int] = {}

    def watch(self, model: Any, optimizer: Any = None) -> Doctor:
        """Register forward/backward hooks on ``model``'s Linear and activation layers (once).

        Raises:
            TypeError: ``model`` is not a chainrule Module.
        """
        if not hasattr(model, "named_modules") or not hasattr(model, "register_forward_hook"):
            raise TypeError(f"Doctor.watch: expected a chainrule.nn.Module, got {type(model).__name__}")
        if optimizer is not None:
            self.optimizer = optimizer
        if model is self.model:  # the same model again (a second fit): keep the history, restore the hooks
            if not self._handles:
                self._register(model)
            return self
        self.unwatch()
        self._reset_state()
        self.findings.clear()
        self.model = model
        self.layer_names, self.activation_names = [], []
        # Layers after a Dropout(p=1.0) see only zeros in training: their silent units are the dropout's
        # doing (Dropout warns about it), not dead ReLUs, so the dead-unit rule leaves them alone.
        self.after_full_dropout = set()
        full_dropout_seen = False
        for name, module in model.named_modules():
            cls = type(module).__name__
            if cls == "Dropout" and getattr(module, "p", 0.0) >= 1.0:
                full_dropout_seen = True
            elif full_dropout_seen:
                self.after_full_dropout.add(name)
            if cls == LINEAR and getattr(module, "weight", None) is not None:
                self.layer_names.append(name)
                self._linears[name] = module
            elif cls in ACTIVATIONS:
                self.activation_names.append(name)
            else:
                continue
            self._kinds_of[name] = cls
        self._register(model)
        self._weight_count = sum(module.weight._data.size for module in self._linears.values())
        # Between sample steps every k-th gradient element of a big layer estimates its RMS: no gather, no copy.
        self._strides = {name: module.weight._data.size // SUBSET for name, module in self._linears.items()
                         if module.weight._data.size > 4 * SUBSET}
        m = self.metrics
        for name in self.layer_names:
            for key in ("grad_rms", "signal_rms", "update_ratio", "weight_rms"):
                m[key][name] = []
        for name in self.activation_names or self.layer_names:
            m["act_mean"][name], m["act_std"][name] = [], []
        for name in self.activation_names:
            if self._kinds_of[name] == RELU:
                m["zero_grad_fraction"][name], m["dead_fraction"][name] = [], []
            elif self._kinds_of[name] in SATURATING:
                m["saturation"][name] = []
        return self

    def _register(self, model: Any) -> None:
        modules = dict(model.named_modules())
        for name, cls in self._kinds_of.items():
            module = modules[name]
            self._handles.append(module.register_forward_hook(self._forward_hook(name, cls)))

    def unwatch(self) -> None:
        """Remove every hook the doctor registered (statistics and findings are kept)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    # ------------------------------------------------------------------ hooks
    def _sampling(self) -> bool:
        return self.step % self.config.stats_every == 0

    def _forward_hook(self, name: str, cls: str) -> Callable[..., None]:
        record_act = cls in ACTIVATIONS or not self.activation_names
        if not record_act:  # a Linear between activations: keep its output to locate non-finite values, no more

            def linear_hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
                if module.training and is_grad_enabled() and not self._halted:
                    self._last_out[name] = output._data
                    if self._sampling():
                        self._watch_signal(name, output)

            return linear_hook

        def hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
            if not (module.training and is_grad_enabled()) or self._halted:
                return  # evaluation passes are not training statistics
            out = output._data
            self._last_out[name] = out
            units = out.reshape(-1, out.shape[-1]) if out.ndim > 1 else out.reshape(1, -1)
            if cls == RELU:
                fired = (units > 0).any(axis=0)
                if name in self._fired and self._fired[name].shape == fired.shape:
                    self._fired[name] |= fired
                else:
                    self._fired[name] = fired
            if not self._sampling():
                return
            pending = self._pending
            if cls == LINEAR:
                self._watch_signal(name, output)
            if record_act:  # mean and std from one sum and one dot product: std() is 10x slower
                with np.errstate(over="ignore", invalid="ignore"):
                    mean = float(units.sum()) / units.size
                    pending["act_mean", name] = mean
                    pending["act_std", name] = math.sqrt(max(_sumsq(units) / units.size - mean * mean, 0.0))
            if cls in SATURATING:
                y = units if cls == "Sigmoid" else (units + 1) * 0.5
                lo = self.config.saturation_output
                pending["saturation", name] = float(np.count_nonzero((y < lo) | (y > 1 - lo)) / y.size)
            if cls == RELU and args and getattr(args[0], "requires_grad", False):
                def grad_hook(g: np.ndarray) -> None:
                    pending["zero_grad_fraction", name] = 1.0 - np.count_nonzero(g) / g.size
                args[0]._register_array_hook(grad_hook)

        return hook

    def _watch_signal(self, name: str, output: Any) -> None:
        """On sample steps, record the RMS of ∂loss/∂(this Linear's output) when backward reaches it."""
        if getattr(output, "requires_grad", False):
            def grad_hook(g: np.ndarray) -> None:
                self._pending["signal_rms", name] = _rms(g)

            output._register_array_hook(grad_hook)

    # ------------------------------------------------------------------ per step
    def check(self, model: Any = None, loss: float | None = None) -> list[Finding]:
        """Measure this step (after backward, before the optimizer step); returns new findings.

        Raises:
            TypeError: ``model`` is given and is not a chainrule Module.
        """
        if model is not None and model is not self.model:
            self.watch(model)
        if self.model is None:
            raise TypeError("Doctor.check: call doctor.watch(model) first (or pass model=...)")
        before = len(self.findings)
        loss_value = NAN if loss is None else float(loss)
        self.metrics["loss"].append(loss_value)
        if not self._halted:
            self._measure_step(loss_value)
        self.step += 1
        return self.findings[before:]

    def _measure_step(self, loss: float) -> None:
        m, sampling = self.metrics, self._sampling()
        rms: dict[str, float] = {}
        total_sq, total_n = 0.0, 0
        for name, module in self._linears.items():
            g = module.weight._grad
            if g is None:
                continue
            # Between sample steps a fixed random subset of a big layer's gradient estimates its RMS (±2%):
            # plenty for a 5x spike test, and the full sum of squares was ~3% of a reference step.
            stride = 1 if sampling else self._strides.get(name, 1)
            sq = _sumsq(g) if stride == 1 else _sumsq(g.reshape(-1)[::stride]) * (g.size / -(-g.size // stride))
            rms[name] = math.sqrt(sq / g.size)
            total_sq += sq
            total_n += g.size
        total = math.sqrt(total_sq / total_n) if total_n else NAN
        m["grad_rms_total"].append(total)

        if self._snapshot is not None:  # the weights moved by exactly one optimizer step since the snapshot
            for name, old in self._snapshot.items():
                w = self._linears[name].weight._data
                with np.errstate(over="ignore", invalid="ignore"):
                    delta = np.subtract(w, old, out=self._scratch[name][1])
                    ratio = math.sqrt(_sumsq(delta)) / max(math.sqrt(_sumsq(old)), 1e-12)
                m["update_ratio"][name][-1] = ratio
            self._snapshot = None

        if not math.isfinite(loss) or not math.isfinite(total):
            rules.non_finite(self, loss, rms)
            return
        rules.exploding(self, loss, rms, total)

        if sampling:
            self._snapshot = {}
            for name, module in self._linears.items():
                w = module.weight._data
                # two buffers per layer, reused: fresh 1 MB arrays every few steps cost page faults
                if name not in self._scratch or self._scratch[name][0].shape != w.shape:
                    self._scratch[name] = (np.empty_like(w), np.empty_like(w))
                self._snapshot[name] = self._scratch[name][0]
                np.copyto(self._snapshot[name], w)
            m["steps"].append(self.step)
            m["sample_epoch"].append(self.epoch)
            for name in self.layer_names:
                m["grad_rms"][name].append(rms.get(name, NAN))
                m["update_ratio"][name].append(NAN)
                m["weight_rms"][name].append(_rms(self._linears[name].weight._data))
            for key in ("signal_rms", "act_mean", "act_std", "zero_grad_fraction", "saturation"):
                for name, series in m[key].items():
                    series.append(self._pending.get((key, name), NAN))
            if not all(math.isfinite(v) for v in (w[-1] for w in m["weight_rms"].values())):
                rules.non_finite(self, loss, rms, where="weights")
        self._pending.clear()

    # ------------------------------------------------------------------ per epoch
    def end_epoch(self, train_loss: float | None = None, val_loss: float | None = None,
                  train_acc: float | None = None, val_acc: float | None = None) -> list[Finding]:
        """Close an epoch: dead-unit fractions, then the rules that need a whole epoch; returns new findings."""
        before = len(self.findings)
        losses = self.metrics["loss"][self._epoch_start_step:]
        record = {"epoch": self.epoch, "loss": train_loss, "val_loss": val_loss, "accuracy": train_acc,
                  "val_accuracy": val_acc, "step": self.step,
                  "batch_loss": float(np.mean(losses)) if losses else None}
        self.metrics["epochs"].append(record)
        for name, series in self.metrics["dead_fraction"].items():
            fired = self._fired.pop(name, None)
            series.append(NAN if fired is None else 1.0 - float(fired.mean()))
        if losses and not self._halted:
            rules.epoch_rules(self, record)
        self._epoch_start_step = len(self.metrics["loss"])
        self.epoch += 1
        return self.findings[before:]

    # ------------------------------------------------------------------ findings
    def report(self, finding: Finding) -> Finding:
        """Record a finding once per (kind, layer); a repeat only updates the evidence."""
        key = (finding.kind, finding.layer)
        existing = self._keys.get(key)
        if existing is not None:
            existing.evidence.update(finding.evidence)
            existing.evidence["last_step"] = finding.step
            existing.evidence["last_epoch"] = finding.epoch
            return existing
        self._keys[key] = finding
        self.findings.append(finding)
        message = f"doctor: {finding.summary()}"
        self.messages.append(message)
        if self.trainer is not None:
            self.trainer.log(message)
        return finding

    def kinds(self) -> set[str]:
        """The kinds of finding reported so far, e.g. ``{"dead_relu"}``."""
        return {f.kind for f in self.findings}

    def has_problems(self, severity: str = "warning") -> bool:
        """True when a finding at ``severity`` or worse was reported."""
        order = {"info": 0, "warning": 1, "error": 2}
        return any(order[f.severity] >= order[severity] for f in self.findings)

    def current_lr(self) -> float | None:
        """The optimizer's learning rate when the doctor can see it."""
        optimizer = self.trainer.optimizer if self.trainer is not None else self.optimizer
        groups = getattr(optimizer, "param_groups", None)
        if groups:
            return float(groups[0]["lr"])
        lr = getattr(optimizer, "lr", None)
        return float(lr) if isinstance(lr, int | float) else None

    def optimizer_name(self) -> str | None:
        """The optimizer's class name (e.g. "SGD"), when the doctor can see it."""
        optimizer = self.trainer.optimizer if self.trainer is not None else self.optimizer
        return None if optimizer is None else type(optimizer).__name__

    def to_dict(self) -> dict[str, Any]:
        """Findings, layer names and config, JSON-ready (see ``write_report``)."""
        from dataclasses import asdict

        return {"findings": [f.to_dict() for f in self.findings], "layer_names": list(self.layer_names),
                "activation_names": list(self.activation_names), "config": asdict(self.config),
                "steps": self.step, "epochs": self.epoch}

    def write_report(self, run_dir: Any) -> dict[str, Any]:
        """Write diagnoses.json, metrics.json and report.html into ``run_dir``; returns their paths."""
        from chainrule.doctor.report import write_report

        return write_report(self, run_dir)

    def summary_table(self) -> Any:
        """A rich Table of the findings (kind, layer, when, evidence, top remedy)."""
        from chainrule.doctor.report import findings_table

        return findings_table(self.findings)

    # ------------------------------------------------------------------ callback protocol
    def set_trainer(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.watch(self.trainer.model, self.trainer.optimizer)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch

    def on_after_backward(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss", getattr(self.trainer, "last_loss", None))
        self.check(self.trainer.model, loss=loss)
        if self._halted and self.config.stop_on_non_finite:
            self.trainer.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.epoch = epoch
        self.end_epoch(train_loss=logs.get("loss"), val_loss=logs.get("val_loss"),
                       train_acc=logs.get("accuracy"), val_acc=logs.get("val_accuracy"))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.unwatch()
        trainer = self.trainer
        if trainer is None or not trainer.verbose:
            return
        printer = getattr(trainer, "printer", None)  # the progress bar's console, when there is one
        if self.findings and printer is not None:
            printer(self.summary_table())
            self.summary_printed = True
        elif not self.findings:
            trainer.log("doctor: no problems found")
