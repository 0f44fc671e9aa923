"""The doctor's adapter for PyTorch models: the same typed statistics (stats.py), measured with torch ops.

Imported only when ``Doctor.watch`` is given a ``torch.nn.Module`` (``import chainrule`` never imports
torch). The Doctor's flow, the Rulebook, the texts and the reports are the ones chainrule models get; this
module supplies measurements with the same methods as measurements.py, computed where the tensors live.

Which layers, and what is measured on them:

* **weighted layers** (gradient flow, update ratio, non-finite weights): ``Linear`` (also the ones inside
  attention and transformer blocks), ``Conv1d/2d/3d``, ``RNN/LSTM/GRU`` (all their ``weight_*`` matrices as
  one layer) and ``MultiheadAttention``'s input projection. ``Embedding`` is watched for non-finite outputs
  only: its gradient is row-sparse (only the rows a batch used), so its RMS would read as a vanishing
  gradient that is not one.
* **activation modules** (every class in ``torch.nn.modules.activation`` but softmax and attention): mean
  and std of the output; ``Sigmoid``/``Tanh``: the fraction at the flat ends; ``ReLU``/``ReLU6``: which units
  (channels after a convolution) ever fired, and the fraction of exactly-zero gradients at their input.
* **functional activations** (``F.relu(self.fc1(x))``, ``torch.sigmoid(self.bn(self.conv(x)))``): module
  hooks cannot see them, so the first training forward after ``watch`` runs under a ``TorchFunctionMode``
  that notes which activation function (relu, sigmoid, tanh, ...) received, as its input, the very output
  tensor of a watched Linear, Conv or normalization layer. From then on that layer's output is the
  activation's *pre-activation* z, and it is judged by what the function makes of it: after a relu a unit
  (channel) is dead when z was never above 0 on any sample (position) of the epoch, exactly when relu never
  let it through; after a sigmoid (tanh) the saturated fraction is that of z beyond logit(lo) and
  logit(1 - lo) (atanh(2lo - 1) and atanh(1 - 2lo)), exactly where the output leaves [lo, 1 - lo]. The
  findings name the layer whose output was activated (``fc1``). An activation applied to anything else (a
  sum, a slice) is not seen.
* ``RNN/LSTM/GRU``: the gradient through time, as the gradient reaching the layer's input at each step
  (``TorchTimeGradient``): the output sequence's gradient is only what the loss sends to each step directly.
  Under torch.distributed it is each rank's own (not combined: sequence lengths may differ between ranks).
* ``torch.compile``'d models: watched through the module they wrap, with no hook inside the forward (the
  sample steps' hooks would recompile the graph each time): only what is read outside the forward is measured,
  and ``watch`` warns naming what is not (``COMPILED_NOT_MEASURED``).
* **the inputs' scale** (``unscaled_inputs``): the first sample batch at the first Linear's input, when no conv,
  embedding, recurrent or attention layer comes before it (as chainrule's own ``InputScale``).

Cost: on steps the doctor does not sample, no layer is hooked and the only work is a norm per gradient (one
fused ``_foreach_norm``; a big gradient read in runs of its elements, ``run_layout``), whose result stays on the
device. Every ``stats_every`` steps (a sample step) the layers are hooked for that forward, every gradient is
read whole, and the queued scalars (with the update ratio's and the weights' norms, both over the weights' runs,
the latter taken in the gradients' fused call) cross to the host in one transfer; the step rules
then run on the queued steps in order, so findings come at most ``stats_every - 1`` steps late and carry the
step where they held.

Across processes (``torch.distributed``, e.g. DDP with one rank per device): every rank measures its own part
of the batch, and on sample steps (and at the flushes of ``end_epoch`` and ``report``) the queued losses and the
sample step's per-layer scalars are combined in one ``all_reduce`` (a sum of each value and of its square), so
every rank judges the global batch and reaches the same findings; which units ever fired is combined with a
``MAX`` at the end of each epoch. Means and fractions are averaged over the ranks, the activations' std is
pooled, and the RMS of the gradient at a layer's output (each rank's loss is the mean over its own share) is
scaled to the global loss's: all exact when every rank holds the same number of samples, as DDP's
``DistributedSampler`` gives. The weights' gradients need nothing: DDP has averaged them by the time
``check`` runs. Rank 0 alone writes reports and logs; the other ranks stay quiet. A DDP wrapper is watched
through the module it wraps (the layer names are the model's own, without ``module.``). Every rank must call
``check``, ``end_epoch`` and ``report`` the same number of times, as they do in a DDP loop.

Unlike chainrule's own doctor, which ORs which units fired over every batch, a torch model's units are seen
firing or not on the sample steps' batches only (every ``stats_every``-th batch; whole batches): a pass over
every ReLU output on every step cost a CNN 5-10% of its step. A unit counts as dead when it never fired on
those batches of the epoch (or window).
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from chainrule.doctor.findings import Finding, Remedy
from chainrule.doctor.measurements import (
    NAN,
    RUN,
    InputScale,
    LastOutputs,
    Measurement,
    Sampled,
    positions_per_sample,
    run_layout,
    units,
)
from chainrule.doctor.stats import SATURATING, Layers
from chainrule.doctor.structured import NetStats, TimeGradient

CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
LINEAR_OR_CONV = (nn.Linear, *CONVOLUTIONS)
WEIGHTED = (*LINEAR_OR_CONV, nn.RNNBase, nn.MultiheadAttention)
NOT_ACTIVATIONS = (nn.MultiheadAttention, nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d)
DEAD_CAPABLE = ("ReLU", "ReLU6")  # zero for every negative input: a unit can die
NORMALIZATION = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def is_activation(module: nn.Module) -> bool:
    return type(module).__module__ == "torch.nn.modules.activation" and not isinstance(module, NOT_ACTIVATIONS)


def weights_of(module: nn.Module) -> list[torch.Tensor]:
    """A weighted layer's own weight matrices (not biases, not its submodules')."""
    return [p for n, p in module.named_parameters(recurse=False) if "weight" in n and p.requires_grad]


def first_tensor(output: Any) -> torch.Tensor | None:
    """A module's output tensor (an RNN's is the first of a tuple)."""
    out = output[0] if isinstance(output, tuple | list) and output else output
    return out if isinstance(out, torch.Tensor) else None


def memory_order(t: torch.Tensor) -> torch.Tensor | None:
    """``t`` permuted into the order its elements lie in memory (a view): contiguous for any dense tensor, a
    transposed or channels-last one too; None for one that is not dense (a strided slice of a bigger one)."""
    if t.is_contiguous():
        return t
    view = t.permute(sorted(range(t.ndim), key=t.stride, reverse=True))
    return view if view.is_contiguous() else None


def runs_view(w: torch.Tensor) -> torch.Tensor:
    """A live view of a big tensor's SUBSET elements in runs of RUN over its memory (``run_layout``): its RMS
    within ~2%, no copy; a small or non-dense tensor whole. A view, not a copy, whatever the strides: a weight
    stored transposed (or channels-last) must be read where the optimizer updates it. (``reshape(-1)`` of such a
    weight is a copy, which once froze its update ratio at 0.)"""
    w = w.detach()
    dense = memory_order(w)
    layout = None if dense is None else run_layout(dense.numel(), dense.shape[-1] if dense.ndim else 1)
    if dense is None or layout is None:
        return w
    runs, stride = layout
    return dense.as_strided((runs, RUN), (stride, 1))  # (the storage offset stays the weight's)


class WeightViews:
    """Detached views of the watched weights in runs (``runs_view``; a small weight whole), made once and made
    again only when a weight's storage changes (``param.data = ...``, a resize): an optimizer updates weights in
    place, so the views see every step, and making them at each use cost more Python and dispatch than the small
    reads (the update ratio's, the weight RMS's) they feed."""

    def __init__(self, weights: dict[str, list[torch.Tensor]]) -> None:
        self.params = [w for ws in weights.values() for w in ws]
        self.key: tuple[Any, ...] = ()
        self.sub: list[torch.Tensor] = []
        self.scales: list[float] = []  # per view: a norm of the runs times this estimates the whole weight's

    def current(self) -> WeightViews:
        key = tuple((w.data_ptr(), w.shape) for w in self.params)
        if key != self.key:
            self.key = key
            self.sub = [runs_view(w) for w in self.params]
            self.scales = [math.sqrt(w.numel() / max(v.numel(), 1)) for w, v in zip(self.params, self.sub, strict=True)]
        return self


def distributed() -> tuple[int, int]:
    """(this process's rank, the world size) under an initialized ``torch.distributed`` group, else (0, 1)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def fired_on_any_rank(fired: torch.Tensor) -> torch.Tensor:
    """Which units fired on some rank (one MAX all_reduce; the tensor itself when there is one process)."""
    if distributed()[1] == 1:
        return fired
    anywhere = fired.to(torch.float32)
    torch.distributed.all_reduce(anywhere, op=torch.distributed.ReduceOp.MAX)
    return anywhere > 0


def layer_norms(norms: list[float], weights: dict[str, list[torch.Tensor]]) -> dict[str, float]:
    """Per layer, the L2 norm over its weight tensors, from their norms in order (``weights``' order)."""
    found, at = {}, 0
    for name, ws in weights.items():
        found[name] = math.sqrt(sum(n * n for n in norms[at:at + len(ws)]))
        at += len(ws)
    return found


def norm(t: torch.Tensor) -> torch.Tensor:
    """The L2 norm of a tensor's elements, in float32 at least (one fused call; its RMS is this / √numel)."""
    return torch.linalg.vector_norm(t.detach(), dtype=torch.promote_types(t.dtype, torch.float32))


def to_host(values: list[torch.Tensor]) -> list[float]:
    """Device scalars to floats in one transfer."""
    if not values:
        return []
    try:  # the usual case (detached scalars on one device; stack promotes dtypes), without a call per value
        return torch.stack(values).tolist()
    except RuntimeError:  # values on several devices, or a one-element loss of shape (1,)
        device = values[0].device
        return torch.stack([v.detach().to(device, torch.float32).reshape(()) for v in values]).tolist()


class Structure:
    """The watched model's layers as the forward pass meets them; fixed at watch, ordered at the first forward."""

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"Doctor.watch: expected a torch.nn.Module, got {type(model).__name__}")
        if not any(True for _ in model.parameters()):
            raise ValueError(f"Doctor.watch: the torch model {type(model).__name__} has no parameters: the doctor "
                             "reads the gradients of weights, so there is nothing to watch")
        self.modules = dict(model.named_modules())
        self.weighted: dict[str, nn.Module] = {
            n: m for n, m in self.modules.items() if isinstance(m, WEIGHTED) and weights_of(m)}
        if not self.weighted:
            raise ValueError(f"Doctor.watch: the torch model {type(model).__name__} has no Linear, Conv, RNN or "
                             "attention layer with trainable weights: nothing whose gradients the doctor can read")
        self.activations = {n: type(m).__name__ for n, m in self.modules.items() if is_activation(m)}
        self.convolutional = {n for n, m in self.weighted.items() if isinstance(m, CONVOLUTIONS)}
        self.watched = {n: m for n, m in self.modules.items() if n in self.weighted or n in self.activations
                        or isinstance(m, (*NORMALIZATION, nn.Embedding))}
        after_full_dropout: set[str] = set()
        seen_full = False
        for name, module in self.modules.items():
            if isinstance(module, nn.Dropout) and module.p >= 1.0:
                seen_full = True
            elif seen_full:
                after_full_dropout.add(name)
        self.layers = Layers(tuple(self.weighted), self.activations, frozenset(after_full_dropout))
        self.order: list[str] = []  # watched layers in the order the first training forward reached them
        self.applied: dict[str, str] = {}  # layer -> the activation function its output went into (the probe's)
        self.probed = False
        self.feeding: dict[str, str | None] = {}  # activation -> the weighted layer the forward pass ran before it

    def reached(self, name: str) -> None:
        if name in self.feeding or name in self.order:
            return
        self.order.append(name)
        self.feeding[name] = next((n for n in reversed(self.order[:-1]) if n in self.weighted), None)

    def functional(self, kind: str = "relu") -> list[str]:
        """Layers whose output went straight into activation function ``kind`` (see the module docstring)."""
        return [n for n, fn in self.applied.items() if fn == kind]

    def unit_axis(self, name: str) -> int:
        """Where a layer's units are: channels (axis 1) for a convolution or what one feeds, else the last axis."""
        source = name if name in self.weighted else self.feeding.get(name)
        return 1 if source in self.convolutional else -1


# torch function names (as __torch_function__ sees them) -> the activation they apply
ACTIVATION_FUNCTIONS = {"relu": "relu", "relu_": "relu", "relu6": "relu", "sigmoid": "sigmoid",
                        "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh", "gelu": "gelu", "silu": "silu",
                        "leaky_relu": "leaky_relu", "elu": "elu", "softplus": "softplus", "mish": "mish"}


class ActivationProbe(TorchFunctionMode):
    """Notes which activation function each watched layer's output tensor is handed to (one forward only)."""

    def __init__(self, produced: dict[int, str], applied: dict[str, str]) -> None:
        super().__init__()
        self.produced, self.applied = produced, applied

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kind = ACTIVATION_FUNCTIONS.get(getattr(func, "__name__", ""))
        if kind is not None and args and isinstance(args[0], torch.Tensor):
            layer = self.produced.get(id(args[0]))
            if layer is not None:
                self.applied.setdefault(layer, kind)
        return func(*args, **(kwargs or {}))


class TorchGradients(Measurement):
    """``GradientRMS`` for torch: each weighted layer's gradient norm every step, kept on the device and queued;
    once on the host (the watch's ``to_host``), ``measure`` hands the queued steps out one by one. Sample steps
    read every gradient whole, in one fused norm; between them, as ``GradientRMS`` does, a big gradient is
    represented by SUBSET of its elements, here in runs of RUN (``run_layout``; a (runs, RUN) view of the gradient,
    laid out once per layer in ``runs``): every-k-th-element views cost more than the whole read on a CPU, runs touch
    1/50th of a 784x256 layer's memory. Measured on the reference MLP (blocks of 10 steps, 1 thread): the whole read
    cost 4.4% of the step, the runs 3.5%."""

    def __init__(self, weighted: dict[str, nn.Module]) -> None:
        self.weights = {name: weights_of(m) for name, m in weighted.items()}
        self.names = list(weighted)
        self.sizes = {name: sum(w.numel() for w in ws) for name, ws in self.weights.items()}
        self.count = sum(self.sizes.values())
        self.total: list[float] = []
        self.per_layer = Sampled(self.names)
        self.queue: list[Any] = []  # per step: a device scalar per layer, its gradient's norm (-1: no gradient)
        self.single = all(len(ws) == 1 for ws in self.weights.values())
        self.factors: list[list[float] | None] = []  # per queued step: each norm's factor to the whole (None: 1)
        self.host: list[list[float]] = []
        self.global_norm = NAN  # this step's L2 norm over the watched layers' weight gradients (biases not read)
        # per layer of one weight: how its gradient is read between samples, worked out once (a gradient has its
        # weight's shape): ((runs, RUN), (stride, 1), its size over the runs') or None to read it whole
        self.runs: list[tuple[tuple[int, int], tuple[int, int], float] | None] = []
        for ws in self.weights.values():
            layout = run_layout(ws[0].numel(), ws[0].shape[-1] if ws[0].ndim else 1) if self.single else None
            self.runs.append(None if layout is None else
                             ((layout[0], RUN), (layout[1], 1), ws[0].numel() / (layout[0] * RUN)))

    def record(self, sampling: bool, also: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """Queue this step's gradient norms (whole on a sample step, else the runs); return the norms of ``also``
        (a sample step's weights), taken in the same fused call: each torch call costs tens of µs in the loop."""
        if self.single:  # the usual case: one weight per layer, all with gradients: one fused norm, nothing else
            present = [g for ws in self.weights.values() if (g := ws[0].grad) is not None]
            if len(present) == len(self.weights):
                factors = None
                if not sampling:  # the runs (a small or non-contiguous gradient: whole)
                    read, factors = [], []
                    for g, runs in zip(present, self.runs, strict=True):
                        if runs is None or not g.is_contiguous():
                            read.append(g)
                            factors.append(1.0)
                        else:  # (as_strided keeps the gradient's own storage offset)
                            read.append(g.as_strided(runs[0], runs[1]))
                            factors.append(runs[2])
                    present = read
                norms = torch._foreach_norm(present + also if also else present)  # what clip_grad_norm_ uses
                self.queue.append(norms[:len(present)])
                self.factors.append(factors)
                return list(norms[len(present):])
        self._record_grouped()
        self.factors.append(None)
        return list(torch._foreach_norm(also)) if also else []

    def _record_grouped(self) -> None:
        """``record`` for layers with several weights, or some without a gradient: per-layer norms on the device."""
        grads, layer_of = [], []
        for i, name in enumerate(self.names):
            for w in self.weights[name]:
                if w.grad is not None:
                    grads.append(w.grad)
                    layer_of.append(i)
        if not grads:
            raise RuntimeError("Doctor.check: the watched layers have no gradients yet "
                               f"({', '.join(self.names[:3])}{', ...' if len(self.names) > 3 else ''}): call "
                               "loss.backward() before doctor.check(loss), and optimizer.step() after it")
        norms = torch._foreach_norm(grads)
        device = norms[0].device
        squares = torch.stack([n.to(device, torch.float32) for n in norms]).square()
        index = torch.tensor(layer_of, device=device)
        has = torch.zeros(len(self.names), device=device).index_fill_(0, index, 1.0)
        sums = torch.zeros(len(self.names), device=device).index_add_(0, index, squares)
        self.queue.append(torch.where(has > 0, sums.sqrt(), -1.0).unbind())

    def queued(self) -> list[torch.Tensor]:
        """The queued steps' norms, step after step (``arrived`` takes them back as floats)."""
        return [norm for step in self.queue for norm in step]

    def arrived(self, values: list[float]) -> None:
        width = len(self.names)
        self.host += [values[i:i + width] for i in range(0, len(values), width)]
        self.queue.clear()

    def measure(self, sampling: bool) -> tuple[dict[str, float], float]:
        row, factors = self.host.pop(0), self.factors.pop(0)
        values: dict[str, float] = {}
        total_sq, total_n = 0.0, 0
        for name, norm, scale in zip(self.names, row, factors or [1.0] * len(row), strict=True):
            if norm < 0:
                continue
            sq = norm * norm * scale
            n = self.sizes[name]
            values[name] = math.sqrt(sq / n) if math.isfinite(sq) else sq
            total_sq += sq
            total_n += n
        total = math.sqrt(total_sq / total_n) if total_n and math.isfinite(total_sq) else (NAN if not total_n
                                                                                           else total_sq)
        self.total.append(total)
        self.global_norm = math.sqrt(total_sq) if math.isfinite(total_sq) else total_sq
        if sampling:
            self.per_layer.pending.update(values)
        return values, total

    def series(self) -> dict[str, Any]:
        return {"grad_rms_total": self.total, "grad_rms": self.per_layer.values}


class TorchUpdateRatio(Measurement):
    """``UpdateRatio`` for torch: the weights are copied (on the device) on a sample step; the first check after
    it measures ‖Δw‖/‖w‖ of that one optimizer step, and the ratio reaches the host with the next transfer.
    A big layer is represented by runs of its weights (``runs_view``), as in ``UpdateRatio``."""

    def __init__(self, weighted: dict[str, nn.Module], views: WeightViews) -> None:
        self.weights = {name: weights_of(m) for name, m in weighted.items()}
        self.views = views
        self.values: dict[str, list[float]] = {name: [] for name in weighted}
        self.copies: list[torch.Tensor] = []  # the subset at the sample step, in buffers kept from one to the next
        self.copied_key: tuple[Any, ...] = ()  # the views the buffers were made for
        self.copied = False  # the buffers hold this sample step's weights, not yet compared
        self.moved: list[torch.Tensor] = []  # ‖Δw‖ then ‖w‖ per weight, on the device until the next transfer
        self.arrived: list[float] = []  # the same, on the host (the watch's ``to_host``)
        self.waiting = False

    def record(self) -> None:
        if not self.copied or self.moved:
            return
        self.copied = False
        views = self.views.current()
        if views.key != self.copied_key:  # a weight was replaced or resized in between: nothing to compare
            return
        # every layer's weights at once: one fused difference and one fused norm of the differences and the old
        # weights, summed per layer on the host (``complete``)
        self.moved = list(torch._foreach_norm([*torch._foreach_sub(views.sub, self.copies), *self.copies]))

    def complete(self) -> None:
        if not self.waiting or not self.moved:
            return
        norms = self.arrived or to_host(self.moved)  # arrived: with the queued steps' transfer
        moved, size = layer_norms(norms[:len(norms) // 2], self.weights), layer_norms(norms[len(norms) // 2:],
                                                                                      self.weights)
        for name in self.values:
            self.values[name][-1] = moved[name] / max(size[name], 1e-12)
        self.moved, self.arrived, self.waiting = [], [], False

    def start(self) -> None:
        views = self.views.current()
        if views.key != self.copied_key:
            self.copies, self.copied_key = [v.clone() for v in views.sub], views.key
        else:
            torch._foreach_copy_(self.copies, views.sub)  # into the buffers: no allocation
        for series in self.values.values():
            series.append(NAN)
        self.moved, self.arrived, self.waiting, self.copied = [], [], True, True

    def medians(self, span: slice) -> dict[str, float]:
        return Sampled.medians(self, span)  # type: ignore[arg-type]

    def latest(self) -> dict[str, float]:
        """The last completed ratio per layer, as ``UpdateRatio.latest`` (NaN while one is still on the device)."""
        return {name: series[-1] for name, series in self.values.items() if series}

    def series(self) -> dict[str, Any]:
        return {"update_ratio": self.values}


class TorchWeights(Sampled):
    """``WeightRMS`` for torch: each weighted layer's weight RMS on sample steps (a big weight's from its runs, as
    ``WeightRMS``); whether all are finite."""

    key = "weight_rms"

    def __init__(self, weighted: dict[str, nn.Module], views: WeightViews) -> None:
        super().__init__(list(weighted))
        self.weights = {name: weights_of(m) for name, m in weighted.items()}
        self.views = views
        self.queued: list[torch.Tensor] = []  # the sample step's weight norms, on the device until the transfer
        self.arrived: list[float] = []  # the same, on the host

    def norms_to_take(self) -> list[torch.Tensor]:
        """At a sample step's check (before the optimizer step): the weights whose norms cross with its transfer
        (``TorchWatch.record`` takes them in the gradients' fused norm, into ``queued``)."""
        return self.views.current().sub

    def take(self) -> bool:
        views = self.views.current()
        norms = self.arrived or to_host(self.queued or list(torch._foreach_norm(views.sub)))
        norms = [n * scale for n, scale in zip(norms, views.scales, strict=True)]  # each weight's, whole
        self.queued, self.arrived = [], []
        for name, length in layer_norms(norms, self.weights).items():
            self.pending[name] = length / math.sqrt(sum(w.numel() for w in self.weights[name]))
        self.commit()
        return all(math.isfinite(series[-1]) for series in self.values.values())


class DeviceSampled(Sampled):
    """A ``Sampled`` series whose hooks leave device scalars; ``commit`` brings them over in one transfer.

    The hooks leave raw reductions (a norm, a count) and ``finish`` turns them into the series' values on the
    host: the scalar arithmetic (a division, a square root) costs nothing in Python, while each torch call on a
    sample step cost 13–46 µs inside the training loop (the reference MLP on a CPU). Raw sums and norms also
    combine across ranks linearly (``TorchWatch.reduce_across_ranks``)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.on_device: dict[str, torch.Tensor] = {}
        self.sizes: dict[str, int] = {}  # per layer: the elements the raw value was taken over (for ``finish``)
        self.commits = 0

    def finish(self) -> None:
        """The raw values in ``pending`` made the series' values (none to make here: the value is the raw one)."""

    def commit(self) -> None:
        self.pending.update(zip(self.on_device, to_host(list(self.on_device.values())), strict=True))
        self.on_device.clear()
        self.finish()
        self.sizes.clear()
        super().commit()
        self.commits += 1


class RMSSampled(DeviceSampled):
    """A ``DeviceSampled`` series of RMSs whose hooks leave L2 norms: ``finish`` divides by √(their sizes)."""

    def finish(self) -> None:
        for name, size in self.sizes.items():
            if name in self.pending:
                self.pending[name] /= math.sqrt(max(size, 1))


class TorchSignal(RMSSampled):
    """RMS of ∂loss/∂(each weighted layer's output) on sample steps."""

    key = "signal_rms"

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.positions: dict[str, int] = {}  # per layer: positions per sample (measurements.positions_per_sample)

    def watch(self, name: str, out: torch.Tensor, linear: bool = False) -> None:
        if linear:  # (a convolution's output is channels first: its positions are not counted)
            self.positions[name] = positions_per_sample(tuple(out.shape))
        if out.requires_grad:
            def grad_hook(g: torch.Tensor) -> None:
                self.on_device[name] = norm(g)  # the RMS once on the host (``finish``)
                self.sizes[name] = g.numel()

            out.register_hook(grad_hook)


class TorchActivations(Measurement):
    """Mean and std of each activation module's output on sample steps."""

    def __init__(self, names: list[str]) -> None:
        self.mean, self.std = DeviceSampled(names), RMSSampled(names)

    def watch(self, name: str, out: torch.Tensor) -> None:
        # two passes (mean, then the norm around it): as exact as std_mean and, on a CPU, ten times faster; the
        # norm becomes the std on the host (``RMSSampled.finish``)
        y = out.detach()
        if y.dtype != torch.float32:  # (not .float() on float32 itself: a dispatch that returns it, ~10 µs here)
            y = y.float()
        mean = y.mean()
        self.mean.on_device[name], self.std.on_device[name] = mean, norm(y - mean)
        self.std.sizes[name] = y.numel()

    def commit(self) -> None:
        self.mean.commit()
        self.std.commit()

    def series(self) -> dict[str, Any]:
        return {"act_mean": self.mean.values, "act_std": self.std.values}


class TorchSaturation(DeviceSampled):
    """Fraction of each Sigmoid/Tanh module's outputs outside [lo, 1 - lo] (tanh mapped to [0, 1])."""

    key = "saturation"

    def __init__(self, names: list[str], lo: float, classes: dict[str, str]) -> None:
        super().__init__(names)
        self.lo, self.classes = lo, classes

    def watch(self, name: str, out: torch.Tensor) -> None:
        y = out.detach() if self.classes[name] == "Sigmoid" else (out.detach() + 1) * 0.5
        self.on_device[name] = ((y < self.lo) | (y > 1 - self.lo)).float().mean()

    def watch_pre_activation(self, name: str, z: torch.Tensor, kind: str) -> None:
        """A functional sigmoid/tanh's input: beyond the z where its output leaves [lo, 1 - lo]."""
        edge = math.log((1 - self.lo) / self.lo) if kind == "sigmoid" else math.atanh(1 - 2 * self.lo)
        if name not in self.values:  # found by the probe after the first samples: NaN before it
            self.values[name] = [NAN] * self.commits
        self.on_device[name] = (z.detach().abs() > edge).float().mean()


class TorchZeroGradients(DeviceSampled):
    """Fraction of exactly-zero gradients at each ReLU module's input on sample steps."""

    key = "zero_grad_fraction"

    def watch(self, name: str, module: nn.Module, args: tuple[Any, ...]) -> None:
        x = args[0] if args else None
        # an in-place ReLU's input is its output: its gradient is the one arriving from above, not the one it passes
        if isinstance(x, torch.Tensor) and x.requires_grad and not getattr(module, "inplace", False):
            def grad_hook(g: torch.Tensor) -> None:
                # the count of non-zeros by bool().sum(), which counts what count_nonzero counts at half its cost on a
                # CPU (26 µs against 58 on 128×256); the fraction on the host (``finish``)
                self.on_device[name] = g.bool().sum()
                self.sizes[name] = g.numel()

            x.register_hook(grad_hook)

    def finish(self) -> None:
        for name, size in self.sizes.items():
            if name in self.pending:
                self.pending[name] = 1 - self.pending[name] / max(size, 1)


class TorchFiring(Measurement):
    """Which units (channels) of a layer were ever above 0: a running maximum on the device, on sample steps.

    ``take`` closes windows as ``ReLUFiring.take`` does (for the layers named) and keeps the never-fired
    channels' indices.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.values: dict[str, list[float]] = {}
        self.windows: list[dict[str, torch.Tensor]] = [{}]
        self.dead: dict[str, list[int]] = {}
        self.units: dict[str, int] = {}

    def watch(self, name: str, out: torch.Tensor, axis: int) -> None:
        # a running maximum per unit (two kernels a batch); it fired iff the maximum is above 0
        axis %= out.ndim
        peak = out.detach().amax(dim=[d for d in range(out.ndim) if d != axis]) if out.ndim > 1 else out.detach()
        masks = self.windows[-1]
        old = masks.get(name)
        if old is not None and old.shape == peak.shape:
            torch.maximum(old, peak, out=old)
        else:
            masks[name] = peak.clone()

    def cut(self) -> None:
        self.windows.append({})

    def take(self, windows: int, names: list[str]) -> dict[str, float]:
        taken, self.windows = self.windows[:windows], self.windows[windows:] or [{}]
        fractions = {}
        for name in names:
            masks = [w[name] for w in taken if name in w]
            fired = masks[-1] > 0 if masks else None
            for mask in masks[:-1]:
                if fired is not None and mask.shape == fired.shape:
                    fired |= mask > 0
            fractions[name] = NAN
            if fired is not None:
                alive = fired_on_any_rank(fired).cpu()
                fractions[name] = 1.0 - float(alive.float().mean())
                self.dead[name] = [int(i) for i in torch.nonzero(~alive).flatten()]
                self.units[name] = alive.numel()
            self.values.setdefault(name, []).append(fractions[name])
        return fractions

    def series(self) -> dict[str, Any]:
        return {self.key: self.values}


class TorchOutputs(LastOutputs):
    """``LastOutputs`` for torch: each watched layer's latest training output (a reference, nothing computed), where a
    NaN started. Held from a sample step's forward until the queued steps are judged (``release``, after each
    flush), not until the next sample step: a small CNN's watched outputs were 59 MB, held across the nine steps
    between samples, on top of their own activations."""

    def __init__(self, structure: Structure) -> None:
        super().__init__()
        self.structure = structure

    def width(self, name: str, out: Any) -> int:
        """Its channels after a convolution, else its last axis."""
        return int(out.shape[self.structure.unit_axis(name) % out.ndim])

    def first_non_finite(self) -> str | None:
        order = [n for n in self.structure.order if self.outputs.get(n) is not None]
        return next((n for n in order if not bool(torch.isfinite(self.outputs[n]).all())), None)

    def feeding(self, linears: tuple[str, ...]) -> dict[str, str | None]:
        """Per activation, the weighted layer before it; a functionally activated layer feeds itself."""
        return {n: n if n in self.structure.weighted else self.structure.feeding.get(n) for n in self.outputs}


class TorchDeadUnits(Measurement):
    """Dead units for the Rulebook (``dead_relu``, per unit) and dead filters for the NetRules (per channel)."""

    def __init__(self, structure: Structure) -> None:
        self.structure = structure
        self.units = TorchFiring("dead_fraction")
        self.channels = TorchFiring("dead_channel_fraction")

    def watch(self, name: str, out: torch.Tensor) -> None:
        axis = self.structure.unit_axis(name)
        (self.channels if axis == 1 and out.ndim >= 3 else self.units).watch(name, out, axis)

    def cut(self) -> None:
        self.units.cut()
        self.channels.cut()

    def judged(self) -> list[str]:
        s = self.structure
        return [n for n in s.order if s.activations.get(n) in DEAD_CAPABLE] + s.functional("relu")

    def take(self, windows: int) -> dict[str, float]:
        names = self.judged()
        measured = set(self.channels.windows[0]) | {n for w in self.channels.windows[:windows] for n in w}
        self._channels = self.channels.take(windows, [n for n in names if n in measured])
        return self.units.take(windows, [n for n in names if n not in measured])

    def net_stats(self) -> NetStats:
        s = self.structure
        feeding = {n: (n if n in s.weighted else s.feeding.get(n) or n) for n in self._channels}
        return NetStats(dead_channel_fraction=self._channels, dead_channels=dict(self.channels.dead),
                        channels=dict(self.channels.units), conv_feeding=feeding)

    def series(self) -> dict[str, Any]:
        return {**self.units.series(), **self.channels.series()}


class TorchTimeGradient(Measurement):
    """Gradient through time of each ``RNN/LSTM/GRU`` (one direction), on sample steps: RMS of ∂loss/∂x_t, the
    gradient reaching the layer's *input* at each step t, and the ratio of the first step's to the last's
    (``TimeGradient``'s series and ratio). torch's fused recurrent kernels expose no h_t, and the gradient of the
    output sequence is only what the loss sends to each step directly; the input's gradient is what flowed back
    through the recurrence to step t, times W_ih (the same matrix at every step). A sample step's forward
    pre-hook hands the layer an alias of its input whose gradient is hooked (a detached copy that requires grad
    when the input does not, e.g. the data itself). Bidirectional layers are not measured (each step's input
    gradient mixes both directions), nor PackedSequence inputs."""

    def __init__(self, recurrent: dict[str, nn.Module]) -> None:
        self.recurrent = {n: m for n, m in recurrent.items() if not getattr(m, "bidirectional", False)}
        self.time = TimeGradient()
        self.on_device: dict[str, torch.Tensor] = {}  # this sample step's RMS per time step, per layer

    def arm(self, name: str, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """A forward pre-hook's work: the arguments with the input replaced by its hooked alias (None: as they were)."""
        x = args[0] if args else None
        if not (isinstance(x, torch.Tensor) and x.is_floating_point() and x.ndim >= 2):
            return None
        alias = x.view_as(x) if x.requires_grad else x.detach().requires_grad_()
        time_axis = 1 if getattr(module, "batch_first", False) and x.ndim == 3 else 0

        def grad_hook(g: torch.Tensor) -> None:
            others = [d for d in range(g.ndim) if d != time_axis]
            self.on_device[name] = g.detach().float().square().mean(dim=others).sqrt()

        alias.register_hook(grad_hook)
        return (alias, *args[1:])

    def commit(self) -> None:
        for name, per_step in self.on_device.items():
            self.time.observe_profile(name, name, np.array(per_step.tolist()))
        self.on_device.clear()
        self.time.commit()

    def series(self) -> dict[str, Any]:
        return self.time.series()


class TorchNets(Measurement):
    """The Doctor's ``NetWatch`` slot for torch models: the per-channel dead filters and the gradient through
    time of the recurrent layers."""

    def __init__(self, dead: TorchDeadUnits, time: TorchTimeGradient) -> None:
        self.dead, self.time = dead, time
        self.channel_relus: set[str] = set()

    def register(self, sampling: Any) -> list[Any]:
        return []

    def commit(self) -> None:
        self.time.commit()

    def cut(self) -> None:
        pass  # the dead units cut both of their windows

    def close(self, windows: int, span: slice) -> NetStats:
        stats = self.dead.net_stats()
        t = self.time.time
        stats.time_ratio, stats.time_profile = t.medians(span), dict(t.profiles)
        stats.time_steps, stats.recurrent_module = dict(t.lengths), dict(t.module_of)
        return stats

    def series(self) -> dict[str, Any]:
        return self.time.series()


class TorchFiringSlot(Measurement):
    """The Doctor's ``ReLUFiring`` slot: cut and take, per unit (the channels go through ``TorchNets``)."""

    # Dead units are judged on the sample batches only (see TorchDeadUnits): there is no per-step record of when
    # each unit last fired (``dead_since``: none, so the epoch's fraction stands) and no step-0 mask (``windows``).
    windows: list[dict[str, Any]] = [{}]

    def __init__(self, dead: TorchDeadUnits) -> None:
        self.dead = dead

    def dead_since(self, significance: float) -> dict[str, float]:
        return {}

    def cut(self) -> None:
        self.dead.cut()

    def take(self, windows: int) -> dict[str, float]:
        return self.dead.take(windows)

    def series(self) -> dict[str, Any]:
        return self.dead.series()


def is_compiled(model: nn.Module) -> bool:
    """Whether ``model`` is what ``torch.compile`` returns (a wrapper whose forward runs the compiled graph)."""
    dynamo = getattr(torch, "_dynamo", None)
    wrapper = getattr(getattr(dynamo, "eval_frame", None), "OptimizedModule", None)
    return wrapper is not None and isinstance(model, wrapper)


COMPILED_NOT_MEASURED = (
    "Doctor.watch: a torch.compile'd model runs its forward as a compiled graph, and the doctor's per-layer "
    "forward hooks (added on sample steps only) would make torch recompile it at every sample step. So only what "
    "is read outside the forward is measured: the loss, each layer's weight gradient, the update ratio and the "
    "weights (non_finite, exploding_gradients, learning_rate_too_high/low, overfitting, not_converged). Not "
    "measured: activations, dead units and filters, saturation, the gradient at each layer's output and through "
    "time (dead_relu, saturation, vanishing_gradients, bad_initialization). Watch the model uncompiled for those.")


class TorchInputScale(InputScale):
    """``InputScale`` for torch: the first sample batch at the first Linear's input, when the forward pass
    reaches that Linear before any conv, embedding, recurrent or attention layer (it then reads the data
    itself; features are the last axis). One batch crosses to the host, once."""

    def __init__(self, structure: Structure) -> None:
        super().__init__(None)
        self.structure = structure

    def watch(self, name: str, args: tuple[Any, ...]) -> None:
        s = self.structure
        if self.taken or not args or not isinstance(args[0], torch.Tensor):
            return
        before = [n for n in s.order if n != name and (n in s.weighted or isinstance(s.modules[n], nn.Embedding))]
        if isinstance(s.weighted.get(name), nn.Linear) and not before:
            self.take_scale(units(args[0].detach().to("cpu", torch.float64).numpy()))


class TorchWatch:
    """Everything the Doctor needs from a torch model: its layers, the measurements, the hooks."""

    def __init__(self, model: nn.Module, saturation_output: float) -> None:
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module  # its forward calls the wrapped module's: the hooks fire there
        self.compiled = is_compiled(model)
        if self.compiled:  # torch.compile's wrapper: the layers (and their names) are the original module's
            model = cast(nn.Module, model._orig_mod)
        self.model = model
        self.structure = s = Structure(model)
        self.layers = s.layers
        self.grads = TorchGradients(s.weighted)
        views = WeightViews({name: weights_of(m) for name, m in s.weighted.items()})
        self.updates = TorchUpdateRatio(s.weighted, views)
        self.weights = TorchWeights(s.weighted, views)
        self.signal = TorchSignal(list(s.weighted))
        self.activations = TorchActivations(list(s.activations))
        saturating = [n for n, cls in s.activations.items() if cls in SATURATING]
        self.saturation = TorchSaturation(saturating, saturation_output, s.activations)
        self.zero_grads = TorchZeroGradients([n for n, cls in s.activations.items() if cls in DEAD_CAPABLE])
        self.dead = TorchDeadUnits(s)
        self.firing = TorchFiringSlot(self.dead)
        self.time = TorchTimeGradient({n: m for n, m in s.weighted.items() if isinstance(m, nn.RNNBase)})
        self.nets = TorchNets(self.dead, self.time)
        self.outputs = TorchOutputs(s)
        self.inputs = TorchInputScale(s)
        self.losses: list[Any] = []  # per queued step: the loss as given (a tensor stays on its device); one list
        # for the watch's life, changed in place (the doctor's per-step sample test counts it)
        self.probing = False  # inside the first training forward (the activation probe)
        self.transient: list[Any] = []  # this sample-step forward's hooks
        self.opened = False  # inside a training forward (the model's own call, or forward_begins/forward_ends)
        self.forward_begins: Any = lambda: None  # the model's own pre-hook and hook, callable without a call
        self.forward_ends: Any = lambda: None
        self.roots: list[Any] = []

    def register(self, active: Any, sampling: Any) -> list[Any]:
        """Forward hooks: on the model (it opens and closes each forward), and on every watched layer during
        sample-step forwards only (a hooked module costs microseconds a call even when its hook does nothing,
        and a ReLU's firing is a pass over its whole output). ``active()``: the doctor is measuring;
        ``sampling()``: this is a sample step. The model's own forward must be the one called: submodules
        called on their own are not sampled."""
        if self.compiled:
            warnings.warn(COMPILED_NOT_MEASURED, stacklevel=5)  # the user's watch() call
            return [self]
        s = self.structure
        dead_modules = {n for n, cls in s.activations.items() if cls in DEAD_CAPABLE}
        pre_activations = {n for n, m in s.watched.items() if isinstance(m, (*LINEAR_OR_CONV, *NORMALIZATION))}
        produced: dict[int, str] = {}  # output tensor id -> layer, during the probe
        module_fed: set[str] = set()  # layers whose output went into an activation module
        probe = ActivationProbe(produced, s.applied)

        def make(name: str) -> Any:
            def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
                out = first_tensor(output)
                if out is None or not (module.training and torch.is_grad_enabled() and active()):
                    return
                s.reached(name)
                self.outputs.outputs[name] = out
                if not s.probed and name in pre_activations:
                    produced[id(out)] = name
                if not s.probed and name in s.activations and args and id(args[0]) in produced:
                    module_fed.add(produced[id(args[0])])  # an activation module's own call: watched as a module
                if not sampling():
                    return
                self.inputs.watch(name, args)
                # during the probe every candidate is watched: which ones count is known after it
                if name in dead_modules or (name in pre_activations and (not s.probed or s.applied.get(name)
                                                                         == "relu")):
                    self.dead.watch(name, out)
                if s.applied.get(name) in ("sigmoid", "tanh"):
                    self.saturation.watch_pre_activation(name, out, s.applied[name])
                if name in s.weighted:
                    self.signal.watch(name, out, isinstance(module, nn.Linear))
                if name in self.activations.mean.values:
                    self.activations.watch(name, out)
                if s.activations.get(name) in SATURATING:
                    self.saturation.watch(name, out)
                if name in self.zero_grads.values:
                    self.zero_grads.watch(name, module, args)

            return hook

        def before(module: nn.Module, args: Any) -> None:
            if s.probed and not sampling():
                return  # a forward the doctor does not sample (the test every step makes: the cheapest first)
            if self.opened or not (module.training and torch.is_grad_enabled() and active()):
                return  # opened: by forward_begins, around this very forward
            self.opened = True
            if not s.probed:
                probe.__enter__()
                self.probing = True
            if self.probing or sampling():  # this forward only: the sample-step hooks
                self.transient = [m.register_forward_hook(hooks[n]) for n, m in s.watched.items()]
                if sampling():
                    self.transient += [m.register_forward_pre_hook(functools.partial(self.time.arm, n))
                                       for n, m in self.time.recurrent.items()]

        def after(module: nn.Module, args: Any, output: Any) -> None:
            if not self.opened:
                return  # nothing was opened (a forward not sampled)
            self.opened = False
            for handle in self.transient:
                handle.remove()
            self.transient = []
            if self.probing:
                probe.__exit__(None, None, None)
                self.probing, s.probed = False, True
                for name in module_fed:
                    s.applied.pop(name, None)
                produced.clear()

        hooks = {name: make(name) for name in s.watched}
        self.forward_begins = functools.partial(before, self.model, ())
        self.forward_ends = functools.partial(after, self.model, (), None)
        self.roots = [self.model.register_forward_pre_hook(before),
                      self.model.register_forward_hook(after, always_call=True)]
        return [self]

    def remove(self) -> None:
        """Take every hook off (the Doctor's unwatch)."""
        for handle in [*self.roots, *self.transient]:
            handle.remove()
        self.roots, self.transient = [], []

    def record(self, loss: Any, sampling: bool) -> None:
        """At check time: queue this step's loss and gradient statistics on the device."""
        weights = self.weights.norms_to_take() if sampling else None
        norms = self.grads.record(sampling, weights)
        if sampling:
            self.weights.queued = norms
        self.updates.record()
        self.losses.append(loss.detach() if isinstance(loss, torch.Tensor) else loss)  # not its graph

    def speaks(self) -> bool:
        """Whether this process writes reports and logs: rank 0 under torch.distributed, else always."""
        return distributed()[0] == 0

    def reduce_across_ranks(self) -> None:
        """Under torch.distributed, the queued losses and this sample step's scalars (still on the device),
        replaced by their values over all ranks' batches, in one all_reduce (see the module docstring)."""
        size = distributed()[1]
        if size == 1 or not self.losses:
            return
        device = next(iter(self.grads.weights.values()))[0].device
        # (replaced in place: the doctor's sample test counts this very list)
        self.losses[:] = [torch.as_tensor(NAN if loss is None else loss, dtype=torch.float32, device=device)
                          for loss in self.losses]
        averaged = [self.activations.mean.on_device, self.saturation.on_device, self.zero_grads.on_device]
        slots = [(d, n) for d in (*averaged, self.signal.on_device, self.activations.std.on_device) for n in d]
        local = torch.stack([v.detach().to(device, torch.float32).reshape(()) for v in self.losses]
                            + [d[n].to(device, torch.float32) for d, n in slots])
        sums = torch.cat([local, local.square()])
        torch.distributed.all_reduce(sums)
        mean, mean_square = (sums / size).split(len(local))
        self.losses[:] = list(mean[:len(self.losses)])
        at = {(id(d), n): i for i, (d, n) in enumerate(slots, start=len(self.losses))}
        for d, name in slots:
            i = at[(id(d), name)]
            if d is self.signal.on_device:  # each rank's loss is 1/size of the global one per sample
                d[name] = mean_square[i].sqrt() / size
            elif d is self.activations.std.on_device:  # the pooled std: within-rank plus between-rank spread
                m = at[(id(self.activations.mean.on_device), name)]  # (a norm until committed: its size scales it)
                n = self.activations.std.sizes[name]
                d[name] = (mean_square[i] + n * (mean_square[m] - mean[m].square())).clamp_min(0).sqrt()
            else:  # means, counts and fractions: the mean over the ranks
                d[name] = mean[i]

    def to_host(self) -> list[float]:
        """The queued steps' losses as floats, their gradient norms ready for ``measure``, the last update ratio's
        norms, the sample step's weight norms and its scalars pending for its commit: all in one transfer."""
        self.reduce_across_ranks()
        tensors = [loss for loss in self.losses if isinstance(loss, torch.Tensor)]
        norms, weights, moved = self.grads.queued(), self.weights.queued, self.updates.moved
        sampled = [(m, name) for m in self.device_sampled() for name in m.on_device]
        arrived = to_host(tensors + norms + weights + moved + [m.on_device[name] for m, name in sampled])
        at = len(tensors)
        self.grads.arrived(arrived[at:at + len(norms)])
        at += len(norms)
        self.weights.arrived, self.weights.queued = arrived[at:at + len(weights)], []
        at += len(weights)
        self.updates.arrived = arrived[at:at + len(moved)]
        at += len(moved)
        for (m, name), value in zip(sampled, arrived[at:], strict=True):
            m.pending[name] = value  # committed by the sample step's measure, as any Sampled value
        for m in self.device_sampled():
            m.on_device.clear()
        floats = iter(arrived)
        values = [next(floats) if isinstance(loss, torch.Tensor) else (NAN if loss is None else float(loss))
                  for loss in self.losses]
        self.losses.clear()
        return values

    def device_sampled(self) -> tuple[DeviceSampled, ...]:
        """The sample step's measurements whose hooks leave device scalars (brought over with the losses)."""
        return (self.signal, self.activations.mean, self.activations.std, self.saturation, self.zero_grads)

    def reword(self, finding: Finding) -> Finding:
        """The remedies in PyTorch's terms (TORCH_WORDS)."""
        finding.remedies = [Remedy(torch_words(r, self.structure), r.change) for r in finding.remedies]
        return finding


def torch_words(remedy: Remedy, structure: Structure) -> str:
    """A remedy's description with how to do it in PyTorch, from its ``change`` (what try_fixes would apply)."""
    convs = sorted({type(structure.weighted[n]).__name__ for n in structure.convolutional})
    if "batch_norm" in remedy.change:
        where = [f"nn.BatchNorm{c[-2:]} after each {c}" for c in convs] + ["nn.BatchNorm1d after each hidden Linear"]
        why = remedy.description.split("Linear", 1)[-1]  # the reason the shared text gives after "... Linear"
        return f"add {' and '.join(where)}{why}"
    how = [TORCH_WORDS[key](value) for key, value in remedy.change.items() if key in TORCH_WORDS]
    how = [h for h in how if h]
    return remedy.description + (f" (in PyTorch: {'; '.join(how)})" if how else "")


INITS = {"he": "nn.init.kaiming_normal_(layer.weight, nonlinearity=\"relu\")",
         "xavier": "nn.init.xavier_normal_(layer.weight)"}
ACTIVATION_MODULES = {"relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.01)"}
OPTIMIZERS = {"adam": "torch.optim.Adam(model.parameters(), lr=0.001)"}
# The per-engine wording table: a remedy's change key -> how a PyTorch user makes that change.
TORCH_WORDS: dict[str, Any] = {
    "lr": lambda v: f"optimizer lr: for group in optimizer.param_groups: group[\"lr\"] = {v:g}",
    "lr_factor": lambda v: f"optimizer lr: multiply each param_groups[i][\"lr\"] by {v:g}",
    "clip_grad_norm": lambda v: f"torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm={v:g}) between "
                                "loss.backward() and optimizer.step()",
    "init": lambda v: f"{INITS[v]} for each Linear/Conv" if v in INITS else "",
    "activation": lambda v: f"{ACTIVATION_MODULES[v]} (or its F. form in forward)" if v in ACTIVATION_MODULES else "",
    "optimizer": lambda v: OPTIMIZERS.get(v, ""),
    "dropout": lambda v: f"nn.Dropout(p={v:g})",
}
