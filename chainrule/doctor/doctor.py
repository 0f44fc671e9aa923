"""The Doctor: watches a model through module hooks and wires measuring, judging and wording together.

Each training step (``check``) the measurements (measurements.py) read what backpropagation already
computed into a StepStats, and the Rulebook (rules.py) judges it. Each epoch (``end_epoch``, which
``fit`` calls through the callback protocol) they summarise the epoch into an EpochStats for the epoch
rules. texts.py words each verdict as a Finding; report.py draws and writes. The Doctor owns none of
the numbers: it decides when to measure and when to judge, and keeps the findings.

A loop that never calls ``end_epoch`` still gets its epoch rules: the doctor cuts a window every
``window_steps`` steps and judges the windows when ``report()`` is called (see ``report``). It does
not judge them as they are cut, because a loop that does call ``end_epoch`` (after more than
``window_steps`` steps) must see its epochs judged whole, as before: the cut windows merge into it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from chainrule.doctor import structured_texts, texts  # noqa: F401 - structured_texts registers its words
from chainrule.doctor.config import DoctorConfig
from chainrule.doctor.findings import Finding, Findings
from chainrule.doctor.measurements import (
    LINEAR,
    NAN,
    RELU,
    ActivationStats,
    BackpropSignal,
    Clock,
    GradientGrowth,
    GradientRMS,
    GradientSpike,
    Hook,
    InputScale,
    LastOutputs,
    LossClimb,
    Losses,
    Measurement,
    PreActivationRMS,
    ReLUFiring,
    Saturation,
    UpdateRatio,
    Validation,
    WeightRMS,
    ZeroGradients,
    loss_trend,
    median,
)
from chainrule.doctor.rules import Rulebook, Verdict, num
from chainrule.doctor.stats import EndStats, EpochStats, Layers, StartStats, StepStats
from chainrule.doctor.structured import NetWatch
from chainrule.doctor.structured_rules import NetRules
from chainrule.engine.autograd import is_grad_enabled
from chainrule.training.callbacks import Callback

if TYPE_CHECKING:  # fixes.py imports this module
    from chainrule.doctor.fixes import FixResult

# Layers are recognised by class name, so the doctor needs nothing from chainrule.nn but Module's hooks.
ACTIVATIONS = {"ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "ELU", "SiLU", "Softplus"}
# Layers that turn the data into features before any Linear sees it: the first Linear's input is then not the data.
FEATURE_LAYERS = {"Embedding", "RNN", "LSTM", "GRU"}
# Kinds reported once per run (later ones update it whatever their layer); the others once per (kind, layer).
ONCE_PER_RUN = {"exploding_gradients"}


def _is_module(model: Any) -> bool:
    return hasattr(model, "named_modules") and hasattr(model, "register_forward_hook")


def _is_torch_module(model: Any) -> bool:
    """Duck-typed: torch is asked only when the program already imported it."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


class Doctor(Callback):
    """Watches training and explains why a network is not learning.

    As a callback: ``cr.fit(model, data)`` adds one (``doctor=False`` does not; ``doctor=Doctor(...)``
    uses yours). In your own loop: ``doctor.watch(model, optimizer)`` once; per step, after
    ``backward()`` and before ``optimizer.step()``, ``doctor.check(model, loss=loss.item())``; at the
    end ``doctor.report()``, which judges the steps in windows of ``window_steps`` unless you called
    ``doctor.end_epoch(train_loss=..., val_loss=..., train_acc=..., val_acc=...)`` after each epoch.
    A step is judged at the next sample step (every ``stats_every``), or at once when it is non-finite:
    ``check`` returns the findings judged in that call, ``end_epoch``, ``report`` and ``unwatch`` judge what
    is still queued.

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
        self.findings = Findings()
        self.messages: list[str] = []
        self.layer_names: list[str] = []  # Linear layers, lowest (input side) first
        self.activation_names: list[str] = []
        self.after_full_dropout: set[str] = set()
        self.model: Any = None
        self.optimizer: Any = None
        self.trainer: Any = None
        self.step = 0
        self.epoch = 0
        self.summary_printed = False
        self._handles: list[Any] = []
        self._torch: Any = None  # a TorchWatch (torch_adapter.py) while a torch model is watched
        self._start(Layers((), {}), {})

    # ------------------------------------------------------------------ setup
    def _start(self, layers: Layers, linears: dict[str, Any], nets: NetWatch | None = None,
               torch_watch: Any = None) -> None:
        """Fresh measurements, rules and findings for a newly watched model (``torch_watch``: a torch model's)."""
        cfg = self.config
        self.layers = layers
        self._torch = torch_watch
        self._clock = Clock(cfg.stats_every)
        self._losses = Losses()
        self._validation = Validation()
        if torch_watch is not None:  # the same slots, measured with torch ops (torch_adapter.py)
            t = torch_watch
            self._nets, self._grads, self._updates, self._weights, self._signal = (
                t.nets, t.grads, t.updates, t.weights, t.signal)
            self._activations, self._saturation, self._zero_grads, self._firing, self._outputs = (
                t.activations, t.saturation, t.zero_grads, t.firing, t.outputs)
            weight_count = t.grads.count
        else:
            self._nets = nets or NetWatch()  # conv, recurrent and residual layers (structured.py)
            relus = [n for n, cls in layers.activations.items() if cls == RELU and n not in self._nets.channel_relus]
            weight_count = sum(m.weight._data.size for m in linears.values())
            self._grads = GradientRMS(linears)
            self._updates = UpdateRatio(linears)
            self._weights = WeightRMS(self._updates)
            self._signal = BackpropSignal(list(linears))
            self._activations = ActivationStats(list(layers.activations) or list(linears))
            self._saturation = Saturation([n for n, _ in layers.saturating()], cfg.saturation_output)
            self._zero_grads = ZeroGradients(relus)
            self._firing = ReLUFiring(relus)
            self._outputs = LastOutputs()
        self._spike = GradientSpike(cfg.spike_ema, cfg.spike_factor, cfg.grad_rms_max, weight_count)
        self._preactivations = PreActivationRMS(list(linears))  # chainrule models only (fed by _register)
        self._inputs = (torch_watch.inputs if torch_watch is not None
                        else InputScale(layers.linears[0] if layers.inputs_at_first_linear else None))
        self._growth = GradientGrowth(cfg.growth_window)
        self._climb = LossClimb(cfg.climb_block, cfg.loss_climb, cfg.climb_noise_z)
        self._measurements: tuple[Measurement, ...] = (
            self._clock, self._losses, self._grads, self._spike, self._updates, self._weights, self._signal,
            self._activations, self._saturation, self._zero_grads, self._firing, self._outputs, self._validation,
            self._preactivations, self._inputs, self._growth, self._climb, self._nets)
        # what a sample step commits (each closes its pending values into its series)
        self._sampled = (self._grads.per_layer, self._signal, self._activations, self._saturation, self._zero_grads,
                         self._preactivations, self._nets)
        self._started = False  # the step-0 rules (inputs, initialization) have run
        self._init_suspect = False  # saturated or dead units already at step 0, before any update
        self._rules = Rulebook(cfg, layers)
        self._net_rules = NetRules(cfg, self._rules)
        self._epochs: list[dict[str, Any]] = []  # one record per epoch (or judged window)
        self._keys: dict[tuple[str, str | None], Finding] = {}
        self._halted = False
        self._epoch_start = 0  # the first step not yet judged
        self._cuts: list[int] = []  # window ends (own loops) since then
        self._epochs_given = False  # the loop calls end_epoch (fit always does)
        self._windows_judged = 0
        self._queue: list[tuple[float, Any]] = []  # a chainrule model's recorded steps, judged at the next sample

    def watch(self, model: Any, optimizer: Any = None) -> Doctor:
        """Register forward hooks on ``model``'s Linear and activation layers (once).

        A new model starts a new history (measurements, findings, step and epoch counts); the same
        model again (a second fit) keeps it and restores the hooks.

        ``model`` may also be a ``torch.nn.Module``: the same rules then read statistics measured with torch
        ops where the tensors live (torch_adapter.py, imported only then).

        Raises:
            TypeError: ``model`` is not a chainrule or torch Module.
            ValueError: a torch model without parameters or weighted layers (nothing to watch).
        """
        if not _is_module(model):
            raise TypeError(f"Doctor.watch: expected a chainrule.nn.Module or torch.nn.Module, got "
                            f"{type(model).__name__}")
        if optimizer is not None:
            self.optimizer = optimizer
        if model is self.model:
            if not self._handles:
                self._register(model)
            return self
        self.unwatch()
        self.findings.clear()
        if _is_torch_module(model):
            self._watch_torch(model)
            return self
        self.model, self.step, self.epoch = model, 0, 0
        linears: dict[str, Any] = {}
        activations: dict[str, str] = {}
        # Layers after a Dropout(p=1.0) see only zeros in training: their silent units are the dropout's
        # doing (Dropout warns about it), not dead ReLUs, so the dead-unit rule leaves them alone.
        after_full_dropout: set[str] = set()
        full_dropout_seen = False
        features_first = False  # a layer that makes features (conv, embedding, recurrent) comes before any Linear
        for name, module in model.named_modules():
            cls = type(module).__name__
            if cls == "Dropout" and getattr(module, "p", 0.0) >= 1.0:
                full_dropout_seen = True
            elif full_dropout_seen:
                after_full_dropout.add(name)
            if cls == LINEAR and getattr(module, "weight", None) is not None:
                linears[name] = module
            elif cls in ACTIVATIONS:
                activations[name] = cls
            elif not linears and (cls.startswith("Conv") or cls in FEATURE_LAYERS):
                features_first = True
        self.layer_names, self.activation_names = list(linears), list(activations)
        self.after_full_dropout = after_full_dropout
        self._start(Layers(tuple(linears), activations, frozenset(after_full_dropout), getattr(model, "spec", None),
                           inputs_at_first_linear=bool(linears) and not features_first),
                    linears, NetWatch(model, self.config.saturation_output))
        self._register(model)
        return self

    def _watch_torch(self, model: Any) -> None:
        from chainrule.doctor.torch_adapter import TorchWatch

        watch = TorchWatch(model, self.config.saturation_output)  # raises before anything is replaced
        self.model, self.step, self.epoch = model, 0, 0
        self.layer_names, self.activation_names = list(watch.layers.linears), list(watch.layers.activations)
        self.after_full_dropout = set(watch.layers.after_full_dropout)
        self._start(watch.layers, {}, torch_watch=watch)
        self._register(model)

    def _pending_step(self) -> int:
        """The step the forward pass is in: steps judged so far plus those still queued."""
        return self.step + (len(self._torch.losses) if self._torch is not None else len(self._queue))

    def _register(self, model: Any) -> None:
        """One forward hook per watched layer, calling the hooks its measurements asked for."""
        if self._torch is not None:
            clock, losses = self._clock, self._torch.losses  # _pending_step inlined: the test runs every step
            self._handles += self._torch.register(
                lambda: not self._halted, lambda: clock.is_sample(self.step + len(losses)))
            return
        modules = dict(model.named_modules())
        classes = {**dict.fromkeys(self.layers.linears, LINEAR), **self.layers.activations}
        for name, module in modules.items():
            if name not in classes:
                continue
            pairs = [m.hooks(name, classes[name]) for m in self._measurements]
            every = tuple(e for e, _ in pairs if e is not None)
            sampled = tuple(s for _, s in pairs if s is not None)
            self._handles.append(module.register_forward_hook(self._forward_hook(every, sampled)))
        self._handles += self._nets.register(lambda: not self._halted and self._clock.is_sample(self._pending_step()))

    def _forward_hook(self, every: tuple[Hook, ...], sampled: tuple[Hook, ...]) -> Callable[..., None]:
        clock, queue = self._clock, self._queue  # (the same list for the model's watch: _flush empties it)

        def hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
            if self._halted or not (module.training and is_grad_enabled()):
                return  # evaluation passes are not training statistics
            out = output._data
            for take in every:
                take(args, output, out)
            # _pending_step inlined: this runs for every watched layer on every step
            if sampled and clock.is_sample(self.step + len(queue)):
                for take in sampled:
                    take(args, output, out)

        return hook

    def unwatch(self) -> None:
        """Remove every hook the doctor registered (statistics and findings are kept; queued steps judged)."""
        self._flush()
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    @property
    def metrics(self) -> dict[str, Any]:
        """Every series by name (what metrics.json holds): the measurements' own lists, not copies."""
        series: dict[str, Any] = {}
        for measurement in self._measurements:
            series.update(measurement.series())
        series["epochs"] = self._epochs
        return series

    # ------------------------------------------------------------------ per step
    def check(self, model: Any = None, loss: Any = None) -> list[Finding]:
        """Measure this step (after backward, before the optimizer step); returns the findings judged now (the
        steps queued since the last sample step are judged at the next one, or at once on a non-finite value).

        ``doctor.check(loss)`` (the loss alone, a tensor or a float) is the same as ``check(loss=loss)``.
        For a torch model the step's statistics stay on the device until the next sample step (every
        ``stats_every``), when they are judged in order: its findings arrive then, with their own steps.

        Raises:
            TypeError: ``model`` is given and is not a chainrule or torch Module.
            RuntimeError: a torch model's watched layers have no gradients (check before backward).
        """
        if model is not None and loss is None and not _is_module(model):
            model, loss = None, model  # doctor.check(loss)
        if model is not None and model is not self.model:
            self.watch(model)
        if self.model is None:
            raise TypeError("Doctor.check: call doctor.watch(model) first (or pass model=...)")
        before = len(self.findings)
        if self._torch is not None:
            if self._halted:  # nothing is measured after a NaN: only the loss is kept
                self._step(NAN if loss is None else float(loss.detach() if hasattr(loss, "detach") else loss))
                return self.findings[before:]
            self._torch.record(loss, self._clock.is_sample(self._pending_step()))
            if self._clock.is_sample(self._pending_step() - 1):
                self._flush()
            return self.findings[before:]
        value = NAN if loss is None else float(loss)
        if self._halted:
            self._step(value)
        else:
            self._record_step(value)
        return self.findings[before:]

    def _record_step(self, value: float) -> None:
        """A chainrule model's step: what the optimizer step is about to change is read now (the gradients, the
        last sample's update ratio), and the step is judged with those queued before it at the next sample step,
        as a torch model's are; at once when something is non-finite (where it started is in this step's
        outputs). Judging a step runs ~80 µs of Python that, once a step in the training loop, ran with cold
        caches; in a run of ten it mostly does not."""
        step = self._pending_step()
        sampling = self._clock.is_sample(step)
        recorded = self._grads.record(sampling)
        self._updates.complete()  # the step after a sample: the weights moved by exactly one optimizer step
        self._queue.append((value, recorded))
        self._cut_window(step + 1)
        if sampling or not (math.isfinite(value) and math.isfinite(recorded[1])):
            self._flush()  # where a non-finite step started is read from its outputs here, before they go
        self._outputs.release()

    def forward_begins(self) -> None:
        """A torch model's training forward starts here: for loops that do not call the watched model itself
        (a LightningModule whose ``training_step`` calls a submodule), so a sample step's layer hooks are in
        place. Pair with ``forward_ends`` before ``backward``; nothing to do when the model's own call runs."""
        if self._torch is not None:
            self._torch.forward_begins()

    def forward_ends(self) -> None:
        """The training forward that ``forward_begins`` opened is over (the layer hooks come off)."""
        if self._torch is not None:
            self._torch.forward_ends()

    def _flush(self) -> None:
        """The queued steps judged in order (a torch model's scalars first to the host, in one transfer)."""
        if self._torch is not None:
            if self._torch.losses:
                for value in self._torch.to_host():
                    self._step(value)
            self._torch.outputs.release()  # judged: where a NaN started was read from them
            return
        queued = self._queue[:]
        self._queue.clear()
        for value, recorded in queued:
            self._step(value, recorded)

    def _step(self, value: float, recorded: Any = None) -> None:
        """Measure and judge one step whose loss is ``value`` (``recorded``: a queued chainrule step's gradients,
        whose window was cut when it was recorded)."""
        self._losses.add(value)
        if not self._halted:
            stats = self._measure_step(value, recorded)
            if not self._started and self._clock.steps:
                self._judge_start()
            for verdict in self._rules.step(stats):
                self._record(verdict, stats.step, stats.epoch)
                self._halted = self._halted or verdict.kind == "non_finite"  # nothing after it means anything
        self.step += 1
        if recorded is None:
            self._cut_window(self.step)

    def _cut_window(self, steps: int) -> None:
        """In a loop without epochs, a window of dead-unit statistics ends after ``steps`` steps."""
        if not self._epochs_given and steps - self._window_start() >= self.config.window_steps:
            self._cuts.append(steps)
            self._firing.cut()
            self._nets.cut()

    def _measure_step(self, loss: float, recorded: Any = None) -> StepStats:
        step, sampling = self.step, self._clock.is_sample(self.step)
        # a chainrule step was recorded at its check; a torch step's norms come from its queue (TorchGradients)
        values, total = self._grads.measure(sampling) if recorded is None else self._grads.take(recorded, sampling)
        if recorded is None:  # (a chainrule step completed it at its check, before the optimizer step)
            self._updates.complete()  # before anything can stop: the last sample's update ratio
        stats = StepStats(step, self.epoch, loss, values, total)
        finite = math.isfinite(loss) and math.isfinite(total)
        if sampling or not finite:
            stats.update_ratio = self._updates.latest()  # the rules read it on sample steps and at a NaN only
        if not finite:
            stats.growth = self._growth.last  # the last finite step's: what led here
            stats.layer_growth = self._growth.layers()
            self._locate(stats)
            return stats
        stats.growth = self._growth.update(values, self._grads.global_norm)
        stats.norm_ratio = self._growth.ratio(self._grads.global_norm)
        self._spike.update(loss, values, total, stats)
        if stats.growth > self.config.growth_factor:
            stats.layer_growth = self._growth.layers()
            stats.recent_loss = median(self._losses.values[-self.config.growth_window:])
            stats.first_loss = self._losses.values[0]
        if sampling:
            stats.loss_climb, stats.loss_climb_above = self._climb.take(self._losses.values)
            self._clock.tick(step, self.epoch)
            self._updates.start()
            for measurement in self._sampled:
                measurement.commit()
            stats.weights_finite = self._weights.take()
            if not stats.weights_finite:
                self._locate(stats)
        return stats

    def _judge_start(self) -> None:
        """After the first sample step, before any update: the inputs' scale and the initialization's."""
        self._started = True
        first = {name: series[0] for name, series in self._preactivations.values.items() if series}
        signal = {name: series[0] for name, series in self._signal.values.items() if series}
        saturation = {name: series[0] for name, series in self._saturation.values.items() if series}
        dead = {name: 1.0 - float(mask.mean()) for name, mask in self._firing.windows[-1].items() if mask.size}
        start = StartStats(dict(self._inputs.taken), first, signal, saturation, dead,
                           dict(self._signal.positions))
        self._init_suspect = (any(v >= self.config.saturation_fraction for v in saturation.values())
                              or any(v >= self.config.dead_fraction for v in dead.values()))
        for verdict in self._rules.start(start):
            self._record(verdict, self._clock.steps[0], self._clock.epochs[0])

    def _judge_end(self) -> None:
        """The end of training (``on_train_end`` or ``report()``): was the loss still falling?"""
        if self._halted or not self._losses.values:
            return
        cfg = self.config
        t, fall, window = loss_trend(self._losses.values, cfg.trend_fraction, cfg.trend_steps, cfg.trend_start)
        best = self._validation.best_epoch
        judged = len(self._epochs)
        at_best = None if best < 0 else best == (self._epochs[-1]["epoch"] if self._epochs else -1)
        end = EndStats(self.step, judged, t, fall, window, at_best)
        for verdict in self._rules.end(end):
            self._record(verdict, self.step, max(self.epoch - 1, 0))

    def causes(self) -> tuple[str, ...]:
        """The upstream causes measured so far, first first: inputs out of scale, then the initialization
        (its finding, or saturated or dead units at step 0), then steps ten times the healthy size."""
        kinds = self.kinds()
        found = []
        if "unscaled_inputs" in kinds:
            found.append("data")
        if "bad_initialization" in kinds or self._init_suspect:
            found.append("init")
        latest = [r for r in self._updates.latest().values() if math.isfinite(r)]
        if "learning_rate_too_high" in kinds or (latest and max(latest) > self.config.update_ratio_large):
            found.append("learning rate")
        return tuple(found)

    def _locate(self, stats: StepStats) -> None:
        """Something went non-finite: where it started (only then: scanning every output costs)."""
        stats.first_non_finite_output = self._outputs.first_non_finite()
        stats.last_finite_loss = self._losses.last_finite()

    # ------------------------------------------------------------------ per epoch
    def end_epoch(self, train_loss: float | None = None, val_loss: float | None = None,
                  train_acc: float | None = None, val_acc: float | None = None,
                  val_samples: int | None = None) -> list[Finding]:
        """Close an epoch: summarise it and run the epoch rules; returns new findings.

        ``val_samples``: how many samples ``val_acc`` was measured on; with it the overfitting rule tests the
        accuracy gap against the validation accuracy's sampling noise (without it, it compares losses).
        From the first call on, the loop's epochs are used and no windows are cut; windows cut before
        it merge into this epoch.
        """
        self._flush()
        before = len(self.findings)
        self._epochs_given = True
        self._close(self.step, len(self._cuts) + 1, False, train_loss, val_loss, train_acc, val_acc, val_samples)
        self._cuts = []
        return self.findings[before:]

    def _window_start(self) -> int:
        return self._cuts[-1] if self._cuts else self._epoch_start

    def _close(self, end: int, windows: int, inferred: bool, train_loss: float | None = None,
               val_loss: float | None = None, train_acc: float | None = None, val_acc: float | None = None,
               val_samples: int | None = None) -> None:
        """Summarise steps [epoch start, end) (``windows`` of the dead-unit windows) and judge them."""
        first = self._epoch_start
        losses = self._losses.values[first:end]
        record: dict[str, Any] = {"epoch": self.epoch, "loss": train_loss, "val_loss": val_loss,
                                  "accuracy": train_acc, "val_accuracy": val_acc, "step": end,
                                  "batch_loss": float(np.mean(losses)) if losses else None}
        if inferred:
            record["inferred"] = True
        self._epochs.append(record)
        dead = self._firing.take(windows)
        net_stats = self._nets.close(windows, self._clock.span(first, end))
        if losses and not self._halted:
            late, improvement = self._losses.progress(first, end)
            self._validation.update(val_loss, self.epoch, late if train_loss is None else train_loss)
            span = self._clock.span(first, end)
            top = self.layers.linears[-1] if self.layers.linears else None
            lowest = self.layers.linears[0] if self.layers.linears else None
            stats = EpochStats(
                epoch=self.epoch, first_step=first, step=end, inferred=inferred, initial_loss=self._losses.values[0],
                late_loss=late, improvement=improvement, train_loss=train_loss, val_loss=val_loss,
                train_acc=train_acc, val_acc=val_acc, val_samples=val_samples,
                best_val_loss=self._validation.best,
                best_val_epoch=self._validation.best_epoch, train_loss_at_best=self._validation.train_at_best,
                grad_rms=self._grads.per_layer.medians(span),
                update_ratio=self._updates.medians(span), saturation=self._saturation.medians(span),
                zero_grad_fraction=self._zero_grads.medians(span), dead_fraction=dead, units=self._outputs.units(),
                feeding=self._outputs.feeding(self.layers.linears), lr=self.current_lr(),
                grad_ratio=self._grads.per_layer.ratios_to(top, span) if top else {},
                signal_ratio=self._signal.ratios_to(top, span) if top else {},
                lowest_grad_ratios=self._grads.per_layer.ratio_samples(lowest, top, span) if top and lowest else [],
                lowest_signal_ratios=self._signal.ratio_samples(lowest, top, span) if top and lowest else [])
            _, stats.loss_climb = self._climb.epoch(self._losses.values, first, end)
            # a unit that died during the epoch fired in its first part: it counts as dead when its silence since
            # is improbable at its own firing rate (the majority and width tests then judge the layer)
            silent = self._firing.dead_since(self.config.dead_significance)
            stats.dead_fraction = {name: silent.get(name, f) if math.isfinite(f) else f for name, f in dead.items()}
            net_verdicts = self._net_rules.epoch(stats, net_stats)
            verdicts = self._net_rules.unexplained(self._rules.epoch(stats), net_verdicts) + net_verdicts
            record.update(late_loss=late, improvement=num(improvement), stalled=self._rules.stalled(stats))
            for verdict in verdicts:
                self._record(verdict, end, self.epoch, stats)
        self._epoch_start = end
        self.epoch += 1

    def _judge_windows(self) -> None:
        """A loop without epochs: judge each cut window, and the steps after the last cut, as a window of
        their own when at least half a window long (or when nothing was judged yet), else together with the
        window before them. A short stub after windows judged earlier waits for more steps."""
        ends = [(end, 1) for end in self._cuts]  # (window end, how many dead-unit windows it spans)
        stub = self.step - self._window_start()
        if stub >= self.config.window_steps / 2 or (stub and not ends and not self._windows_judged):
            ends.append((self.step, 1))
        elif stub and ends:
            ends[-1] = (self.step, 2)
        self._cuts = []
        for end, windows in ends:
            self._close(end, windows, True)
            self._windows_judged += 1

    # ------------------------------------------------------------------ findings
    def _record(self, verdict: Verdict, step: int, epoch: int, period: EpochStats | None = None) -> Finding:
        """A finding once per (kind, layer): a repeat is appended to its ``updates``, its evidence stays."""
        key = (verdict.kind, None if verdict.kind in ONCE_PER_RUN else verdict.layer)
        existing = self._keys.get(key)
        if existing is not None:
            existing.updates.append({"step": step, "epoch": epoch, "layer": verdict.layer, **verdict.evidence})
            return existing
        context = texts.Context(
            lr=self.current_lr(), optimizer=self.optimizer_name(), spec=self.layers.spec,
            activations=self.layers.activations, calm_norm=self._spike.calm_norm,
            period=period.period if period else f"step {step}", unit=period.unit if period else "step",
            causes=self.causes(), epochs=self.epoch if self._epochs_given else None)
        finding = texts.finding(verdict, step, epoch, context)
        return self._add(key, self._torch.reword(finding) if self._torch is not None else finding)

    def _add(self, key: tuple[str, str | None], finding: Finding) -> Finding:
        self._keys[key] = finding
        self.findings.append(finding)
        message = f"doctor: {finding.summary()}"
        self.messages.append(message)
        if self.trainer is not None and self._speaks():
            self.trainer.log(message)
        return finding

    def _speaks(self) -> bool:
        """Whether this process writes and logs: under torch.distributed only rank 0 does."""
        return self._torch is None or self._torch.speaks()

    @overload
    def report(self) -> Findings: ...

    @overload
    def report(self, finding: Finding) -> Finding: ...

    @overload
    def report(self, finding: str | os.PathLike[str]) -> Findings: ...

    def report(self, finding: Finding | str | os.PathLike[str] | None = None) -> Findings | Finding:
        """Every finding so far, after judging what a loop without ``end_epoch`` left open.

        In such a loop the steps are cut into windows of ``window_steps`` (100: ten samples of the
        per-layer statistics at ``stats_every=10``, enough for a median) and each window is judged
        as an epoch when ``report()`` is called; steps after the last full window count as a window
        of their own when at least half as long, else they join the window before them.

        ``report(finding)`` records a Finding made elsewhere, once per (kind, layer); a repeat is kept
        in the first one's ``updates``. ``report("report.html")`` also writes the report page there;
        ``report("run_dir")`` writes the run folder (``write_report``).
        """
        if finding is None or isinstance(finding, str | os.PathLike):
            self._flush()
            if not self._epochs_given:
                self._judge_windows()
            self._judge_end()
            if finding is not None and self._speaks():
                self._write(finding)
            return Findings(self.findings)
        key = (finding.kind, None if finding.kind in ONCE_PER_RUN else finding.layer)
        existing = self._keys.get(key)
        if existing is not None:
            evidence = {k: v for k, v in finding.evidence.items() if k != "summary"}
            existing.updates.append({"step": finding.step, "epoch": finding.epoch, "layer": finding.layer,
                                     **evidence})
            return existing
        return self._add(key, finding)

    def _write(self, path: str | os.PathLike[str]) -> None:
        from pathlib import Path

        from chainrule._io import atomic_write
        from chainrule.doctor.report import render_html

        if str(path).lower().endswith((".html", ".htm")):
            atomic_write(Path(path), render_html(self.findings, self.metrics))
        else:
            self.write_report(path)

    def try_fixes(self, train_fn: Callable[[dict[str, Any]], dict[str, Any]], supports: Any = None,
                  seed: int = 0) -> list[FixResult]:
        """"Try the fix" with the user's own short training function ``train_fn(config) -> metrics``: each
        finding's first remedy it supports, passed as a config change (``fixes.TRAIN_FN_KEYS``), judged on the
        validation loss against a second seed's spread (``fixes.try_fixes_fn``); returns ``FixResult``s."""
        from chainrule.doctor.fixes import try_fixes_fn

        self.report()  # what the loop left open is judged first: those findings are tried too
        return try_fixes_fn(train_fn, list(self.findings), lr=self.current_lr(), supports=supports, seed=seed)

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
        """Write diagnoses.json, metrics.json and report.html into ``run_dir``; returns their paths (none on
        a torch.distributed rank other than 0: rank 0 alone writes)."""
        from chainrule.doctor.report import write_report

        self._flush()  # a torch model's steps still queued on the device
        return write_report(self, run_dir) if self._speaks() else {}

    def __repr__(self) -> str:
        watching = f"watching {type(self.model).__name__}, " if self.model is not None else ""
        found = ", ".join(f"{f.kind} at {f.layer}" if f.layer else f.kind for f in self.findings) or "none"
        return f"Doctor({watching}{self.step} steps, {self.epoch} epochs; findings: {found})"

    def _repr_html_(self) -> str:
        """Its report inline in a notebook: the findings and the gradient-flow heat map."""
        from chainrule.doctor.report import doctor_html

        return doctor_html(self.findings, self.metrics)

    def summary_table(self) -> Any:
        """A rich Table of the findings (kind, layer, when, evidence, top remedy)."""
        from chainrule.doctor.report import findings_table

        return findings_table(self.findings)

    # ------------------------------------------------------------------ callback protocol
    def set_trainer(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.watch(self.trainer.model, self.trainer.optimizer)
        self._epochs_given = True  # the trainer calls on_epoch_end: no windows to infer

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
                       train_acc=logs.get("accuracy"), val_acc=logs.get("val_accuracy"),
                       val_samples=getattr(self.trainer, "val_samples", None))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._flush()
        self._judge_end()
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
