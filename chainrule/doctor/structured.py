"""What the doctor measures in convolutional, recurrent and residual networks: one small class per signal.

As measurements.py (whose ``Measurement`` contract these follow), nothing here judges: structured_rules.py
reads the ``NetStats`` these summarise.

* ``ChannelFiring``: which channels of a ReLU fed by a convolution fired (output > 0) at some position of some
  sample: a filter is dead when its channel never does.
* ``TimeGradient``: RMS of ∂loss/∂h_t at every step of each recurrent layer (the layer's hidden-gradient hook,
  registered on sample steps only), and the ratio of the first processed step's to the last's: the gradient
  that survived the trip back through time.
* ``GateSaturation``: fraction of each LSTM/GRU gate's activations at the flat ends of its sigmoid (or tanh).
* ``ResidualFlow``: in a block whose output is ``x + branch(x)`` (optionally through one activation), RMS of
  the gradient that reaches x through the branch against what reaches it through the skip (identity) path.

Layers are recognised by class name, as in doctor.py, so the doctor needs nothing from chainrule.nn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.doctor.measurements import NAN, RELU, Hook, Measurement, ReLUFiring, Sampled, fired_into, median, rms
from chainrule.engine.autograd import is_grad_enabled

CONVOLUTIONS = {"Conv1d", "Conv2d"}
WEIGHTED = {"Linear", *CONVOLUTIONS}
RECURRENT = {"RNN": (), "LSTM": ("input", "forget", "cell", "output"), "GRU": ("reset", "update", "new")}
CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}
SHOWN_STEPS = 64  # a per-step profile longer than this is shown at this many evenly spaced steps


@dataclass
class NetStats:
    """What an epoch (or window) measured in the convolutional, recurrent and residual layers."""

    dead_channel_fraction: dict[str, float] = field(default_factory=dict)  # per conv-fed ReLU
    dead_channels: dict[str, list[int]] = field(default_factory=dict)  # their indices
    channels: dict[str, int] = field(default_factory=dict)
    conv_feeding: dict[str, str] = field(default_factory=dict)  # ReLU -> the convolution before it
    time_ratio: dict[str, float] = field(default_factory=dict)  # per recurrent layer key: median first/last RMS
    time_profile: dict[str, list[float]] = field(default_factory=dict)  # latest RMS of ∂loss/∂h_t per step
    time_steps: dict[str, int] = field(default_factory=dict)  # latest sequence length
    recurrent_module: dict[str, str] = field(default_factory=dict)  # layer key -> module name
    gate_saturation: dict[str, dict[str, float]] = field(default_factory=dict)  # layer key -> gate -> median
    residual_ratio: dict[str, float] = field(default_factory=dict)  # per block: median branch/skip RMS


class ChannelFiring(ReLUFiring):
    """``ReLUFiring`` per channel (axis 1, PyTorch's N, C, ... layout) for ReLUs that follow a convolution."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.dead: dict[str, list[int]] = {}
        self.channels: dict[str, int] = {}

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        if cls != RELU or name not in self.values:
            return None, None

        def take(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            if out.ndim < 3:
                return
            # outputs are never negative: a channel fired somewhere iff its sum is above 0
            fired: np.ndarray = out.reshape(out.shape[0], out.shape[1], -1).sum(axis=(0, 2)) > 0
            fired_into(self.windows[-1], name, fired)

        return take, None

    def closed(self, name: str, fired: np.ndarray | None) -> None:
        """Keep which channels never fired (``dead``) and how many there are."""
        if fired is not None:
            self.dead[name] = [int(i) for i in np.flatnonzero(~fired)]
            self.channels[name] = int(fired.size)

    def series(self) -> dict[str, Any]:
        return {"dead_channel_fraction": self.values}


class LazySampled(Sampled):
    """A ``Sampled`` series whose layers appear as they are first measured (NaN before that)."""

    def __init__(self) -> None:
        super().__init__([])
        self.count = 0  # sample steps committed

    def add(self, key: str) -> None:
        self.values.setdefault(key, [NAN] * self.count)

    def commit(self) -> None:
        super().commit()
        self.count += 1


def layer_key(name: str, layer: int, direction: int, module: Any) -> str:
    """How findings name one layer and direction of a recurrent module: "rnn", or "rnn[l1]", "rnn[l0 reverse]"."""
    if getattr(module, "num_layers", 1) == 1 and not getattr(module, "bidirectional", False):
        return name
    return f"{name}[l{layer}{' reverse' if direction else ''}]"


class TimeGradient(LazySampled):
    """Per recurrent layer and direction, on sample steps: RMS of ∂loss/∂h_t at each step, and the ratio of the
    first processed step's RMS to the last's (the last processed step is where backpropagation through time
    starts; with the loss read from the last state, the first step gets only what survived the trip back)."""

    key = "time_gradient_ratio"

    def __init__(self) -> None:
        super().__init__()
        self.profiles: dict[str, list[float]] = {}  # the latest per-step RMS (time order), at most SHOWN_STEPS
        self.lengths: dict[str, int] = {}  # the latest sequence length
        self.module_of: dict[str, str] = {}

    def observe(self, name: str, module: Any, layer: int, direction: int, grads: np.ndarray) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            per_step = np.sqrt(np.einsum("tnh,tnh->t", grads, grads) / (grads.shape[1] * grads.shape[2]))
        self.observe_profile(layer_key(name, layer, direction, module), name, per_step, reverse=bool(direction))

    def observe_profile(self, key: str, module_name: str, per_step: np.ndarray, reverse: bool = False) -> None:
        """One sample step's gradient RMS per time step (time order) of one layer key; ``reverse``: the direction
        that processes the sequence from its end (its first processed step is the last in time)."""
        self.add(key)
        self.module_of[key] = module_name
        first, last = (per_step[-1], per_step[0]) if reverse else (per_step[0], per_step[-1])
        self.pending[key] = float(first / last) if last > 0 else NAN
        shown = np.unique(np.linspace(0, len(per_step) - 1, min(len(per_step), SHOWN_STEPS)).round().astype(int))
        self.profiles[key] = [float(per_step[i]) for i in shown]
        self.lengths[key] = len(per_step)

    def series(self) -> dict[str, Any]:
        return {self.key: self.values, "time_gradient_profile": self.profiles}


class GateSaturation(Measurement):
    """Fraction of each LSTM/GRU gate's activations outside [lo, 1 - lo] (tanh gates mapped to [0, 1]), on
    sample steps, per layer key and gate."""

    def __init__(self, lo: float) -> None:
        self.lo = lo
        self.values: dict[str, dict[str, list[float]]] = {}
        self.pending: dict[str, dict[str, float]] = {}
        self.count = 0

    def observe(self, name: str, module: Any, layer: int, direction: int, gates: np.ndarray) -> None:
        names = RECURRENT[type(module).__name__]
        key = layer_key(name, layer, direction, module)
        hidden = gates.shape[-1] // len(names)
        fractions = {}
        for k, gate in enumerate(names):
            y = gates[..., k * hidden:(k + 1) * hidden]
            if gate in ("cell", "new"):  # tanh
                y = (y + 1) * 0.5
            fractions[gate] = float(np.count_nonzero((y < self.lo) | (y > 1 - self.lo)) / y.size)
        self.pending[key] = fractions

    def commit(self) -> None:
        for key, fractions in self.pending.items():
            self.values.setdefault(key, {gate: [NAN] * self.count for gate in fractions})
        for key, per_gate in self.values.items():
            for gate, series in per_gate.items():
                series.append(self.pending.get(key, {}).get(gate, NAN))
        self.pending = {}
        self.count += 1

    def medians(self, span: slice) -> dict[str, dict[str, float]]:
        return {key: {gate: median(s[span]) for gate, s in per_gate.items()} for key, per_gate in self.values.items()}

    def series(self) -> dict[str, Any]:
        return {"gate_saturation": self.values}


def skip_sum(x: Any, y: Any) -> Any:
    """The tensor s = x + branch(x) that ``y`` is (or that one activation of it is), else None."""
    t = y
    for _ in range(2):
        ctx = getattr(t, "_ctx", None)
        parents = getattr(ctx, "parents", None)
        if not parents:
            return None
        if type(ctx).__name__ == "Add" and any(p is x for p in parents):
            return t
        t = parents[0]
    return None


class ResidualFlow(LazySampled):
    """In each block whose output is x + branch(x) (or an activation of it), on sample steps: RMS of the gradient
    reaching x through the branch over the RMS of what reaches it through the skip path (the sum's gradient,
    passed on unchanged by the identity). The branch's part is x's whole gradient minus the skip's, so x must
    feed nothing outside the block."""

    key = "residual_branch_to_skip"

    def watch(self, name: str, x: Any, y: Any) -> None:
        s = skip_sum(x, y)
        if s is None or not getattr(x, "requires_grad", False):
            return
        self.add(name)
        skip: list[np.ndarray] = []
        s._register_array_hook(skip.append)  # the sum's gradient arrives before x's whole gradient

        def whole(g: np.ndarray) -> None:
            if skip:
                with np.errstate(over="ignore", invalid="ignore"):
                    self.pending[name] = rms(g - skip[0]) / max(rms(skip[0]), 1e-30)

        x._register_array_hook(whole)


class NetWatch(Measurement):
    """The doctor's eyes on convolutional, recurrent and residual layers: finds them in a model, registers the
    hooks they need, and summarises an epoch into ``NetStats``."""

    def __init__(self, model: Any = None, saturation_output: float = 0.01) -> None:
        modules = list(model.named_modules()) if model is not None else []
        relu_feeding: dict[str, str] = {}
        last_weighted: tuple[str, str] | None = None
        for name, module in modules:
            cls = type(module).__name__
            if cls in WEIGHTED:
                last_weighted = (name, cls)
            elif cls == RELU and last_weighted is not None and last_weighted[1] in CONVOLUTIONS:
                relu_feeding[name] = last_weighted[0]
        self.conv_feeding = relu_feeding
        self.firing = ChannelFiring(list(relu_feeding))
        self.time = TimeGradient()
        self.gates = GateSaturation(saturation_output)
        self.residual = ResidualFlow()
        self.recurrent = {name: m for name, m in modules if type(m).__name__ in RECURRENT}
        self.armed: dict[str, list[Any]] = {}  # per recurrent layer, the observers registered for this step
        self.blocks = {name: m for name, m in modules if type(m).__name__ not in CONTAINERS | RECURRENT.keys()
                       and any(True for _ in m.children())}

    @property
    def channel_relus(self) -> set[str]:
        return set(self.conv_feeding)

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        return self.firing.hooks(name, cls)

    def register(self, sampling: Callable[[], bool]) -> list[Any]:
        """Hooks on the recurrent layers and candidate residual blocks, active on training sample steps only
        (``sampling()`` says whether this step is one); returns their handles."""
        handles: list[Any] = [self]  # remove() below takes off the observers still armed
        for name, module in self.recurrent.items():
            handles.append(module.register_forward_pre_hook(self._arm(name, sampling)))
        for name, module in self.blocks.items():
            def block_hook(module: Any, args: tuple[Any, ...], output: Any, name: str = name) -> None:
                if args and module.training and is_grad_enabled() and sampling():
                    self.residual.watch(name, args[0], output)
            handles.append(module.register_forward_hook(block_hook))
        return handles

    def _arm(self, name: str, sampling: Callable[[], bool]) -> Callable[..., None]:
        """A forward pre-hook: on a sample step, observe this forward's gates and its backward's hidden gradients.
        The observers are one-shot: removed at the module's next forward, or when the doctor stops watching."""
        armed = self.armed.setdefault(name, [])

        def pre_hook(module: Any, args: tuple[Any, ...]) -> None:
            for handle in armed:
                handle.remove()
            armed.clear()
            if not (module.training and is_grad_enabled() and sampling()):
                return
            armed.append(module.register_hidden_grad_hook(
                lambda layer, direction, grads: self.time.observe(name, module, layer, direction, grads)))
            if type(module).__name__ != "RNN":
                armed.append(module.register_gate_hook(
                    lambda layer, direction, gates: self.gates.observe(name, module, layer, direction, gates)))

        return pre_hook

    def remove(self) -> None:
        """Take off every observer still armed (the doctor calls it with its other hook handles)."""
        for handles in self.armed.values():
            for handle in handles:
                handle.remove()
            handles.clear()

    def commit(self) -> None:
        for part in (self.time, self.gates, self.residual):
            part.commit()

    def cut(self) -> None:
        self.firing.cut()

    def close(self, windows: int, span: slice) -> NetStats:
        fractions = self.firing.take(windows)
        return NetStats(
            dead_channel_fraction=fractions, dead_channels=dict(self.firing.dead), channels=dict(self.firing.channels),
            conv_feeding=self.conv_feeding, time_ratio=self.time.medians(span), time_profile=dict(self.time.profiles),
            time_steps=dict(self.time.lengths),
            recurrent_module=dict(self.time.module_of), gate_saturation=self.gates.medians(span),
            residual_ratio=self.residual.medians(span))

    def series(self) -> dict[str, Any]:
        return {**self.firing.series(), **self.time.series(), **self.gates.series(), **self.residual.series()}

