"""What the doctor measures: one small class per signal, each owning its state and its series.

Shaped like Cockpit's quantities: a measurement asks for forward hooks on the layers it needs
(``hooks``: some run every training step, some only on sample steps, every ``stats_every``), reads
what backpropagation already computed, keeps its own series (``series``: its part of metrics.json),
and summarises a stretch of steps for the typed statistics in stats.py. Nothing here judges:
thresholds and verdicts live in rules.py.

RMS per element, never raw norms, so layers of different widths compare fairly.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.doctor.stats import SATURATING, StepStats

NAN = float("nan")
LINEAR, RELU = "Linear", "ReLU"
# (args of the forward call, its output tensor, the output's array)
Hook = Callable[[tuple[Any, ...], Any, np.ndarray], None]


def units(out: np.ndarray) -> np.ndarray:
    """An output as (samples, units): the last axis is the layer's units."""
    return out.reshape(-1, out.shape[-1]) if out.ndim > 1 else out.reshape(1, -1)


SUBSET = 4096  # about this many elements of a big layer's weights or gradient stand in for all of them


# Between samples a big gradient is read in runs of RUN elements: a few cache lines each, so a norm over SUBSET
# elements touches ~SUBSET·4 bytes, where every k-th element touches a cache line per element (inside the training
# loop on a CPU as slow as reading the whole gradient: 46 µs against 23 µs for runs, a 784-256-256-10 MLP)
RUN = 64


@functools.lru_cache(maxsize=256)
def run_layout(size: int, row: int) -> tuple[int, int] | None:
    """(runs, stride) of ``runs``: SUBSET elements of a tensor of ``size`` in runs of RUN, ``stride`` apart, or None
    when the tensor is small enough to read whole. The stride is a multiple of 16 (runs start on 64-byte lines
    for float32) and moves each run's start along the row (``row``: the last axis), as ``stride_across`` does:
    runs that all started at column 0 would read the same input features of every row."""
    if size <= 4 * SUBSET:
        return None
    runs = SUBSET // RUN
    stride = size // runs // 16 * 16  # runs·stride ≤ size: the runs are the first RUN columns of a (runs, stride) view
    while stride > RUN and math.gcd(stride, row) > 16:
        stride -= 16
    return runs, stride


def runs_view(a: np.ndarray) -> np.ndarray:
    """A big array's SUBSET elements in runs (``run_layout``) over its memory, as a (runs, RUN) view (no copy for a
    dense array, a transposed one too: ``ravel(order="K")`` reads memory order); a small one whole, flat. Its RMS
    estimates the whole array's within ~2%. Callers make it afresh at each read: a copy (of an array that is not
    dense) is then still today's values."""
    flat = a.ravel(order="K")
    # the rows of memory order: the last axis of a C-ordered array, the first of an F-ordered one (a transpose)
    row = (a.shape[0] if a.flags.f_contiguous and not a.flags.c_contiguous else a.shape[-1]) if a.ndim else 1
    layout = run_layout(flat.size, row)
    if layout is None:
        return flat
    runs, stride = layout
    return flat[:runs * stride].reshape(runs, stride)[:, :RUN]


def vdot_sq(flat: np.ndarray) -> float:
    """Sum of squares of a flat array. No np.errstate is needed: a dot product raises no floating-point warning
    (an overflow is an inf, a NaN a NaN; tests/doctor/test_doctor_cost.py checks it under np.errstate(all="raise"))."""
    total = float(np.vdot(flat, flat))  # vdot: faster than dot on a strided view
    if math.isinf(total) and flat.dtype != np.float64 and np.isfinite(flat).all():
        # float32 squares overflow from values ~1e19 that are still finite: growth to warn about, not a NaN yet
        wide = flat.astype(np.float64)
        total = float(np.vdot(wide, wide))
    return total


def sumsq(a: np.ndarray) -> float:
    return vdot_sq(a.reshape(-1))


def rms(a: np.ndarray) -> float:
    return math.sqrt(sumsq(a) / a.size) if a.size else NAN


# E[x²] - mean² keeps about -log10(var / E[x²]) fewer digits than E[x²] has; float32 sums of a batch's squares have
# five or six: when var is under this share of E[x²] (std under ~3% of the RMS), the one-pass value is noise
ONE_PASS_FLOOR = 1e-3


def spread(out: np.ndarray, mean: float) -> float:
    """The standard deviation of ``out`` whose ``mean`` is known: one pass (E[x²] - mean², a dot product) when the
    values vary; around the mean (a second pass) when they barely do, as a saturated sigmoid's outputs near 1, where
    the one-pass difference cancels to rounding noise (0.0 or 500x the true std were measured)."""
    square = sumsq(out) / out.size
    variance = square - mean * mean
    if variance < ONE_PASS_FLOOR * square and math.isfinite(square):
        # a second pass in float64, around a float64 mean: a float32 sum's rounding would bias it by its square
        variance = sumsq(np.subtract(out, out.mean(dtype=np.float64), dtype=np.float64)) / out.size
    return math.sqrt(max(variance, 0.0))


def log_choose(n: np.ndarray, k: np.ndarray, log_factorials: np.ndarray) -> np.ndarray:
    """log C(n, k) elementwise, the number of ways to choose k of n (-inf where k > n: no way), from
    ``log_factorials[i] = lgamma(i + 1)``: math.lgamma's own values, subtracted in the same order as
    lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) would be, so each element is that float exactly."""
    possible = k <= n
    n_k = np.where(possible, n - k, 0)
    return np.where(possible, log_factorials[n] - log_factorials[np.where(possible, k, 0)] - log_factorials[n_k],
                    -math.inf)


def fired_into(masks: dict[str, np.ndarray], name: str, fired: np.ndarray) -> None:
    """OR one stretch's "fired" mask into the window's mask for ``name`` (a new or resized layer starts afresh)."""
    old = masks.get(name)
    if old is not None and old.shape == fired.shape:
        old |= fired
    else:
        masks[name] = fired


def middle(values: Any) -> float:
    """statistics.median's arithmetic (sort, the middle one or the mean of the middle two) without its call
    overhead and checks, which cost more than sorting the few floats the doctor's windows hold; non-empty."""
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(middle(finite)) if finite else NAN  # a few dozen floats: no array needed


class Measurement:
    """A signal: the hooks it needs, and its series. Subclasses add how they measure and summarise."""

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        """Forward hooks for layer ``name`` of class ``cls``: (every training step, sample steps only)."""
        return None, None

    def series(self) -> dict[str, Any]:
        """Its part of metrics.json by key: the lists themselves, appended in place."""
        return {}


class Clock(Measurement):
    """Which steps are sample steps, and the sample steps taken (the x axis of every sampled series)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.steps: list[int] = []
        self.epochs: list[int] = []  # the epoch each sample was taken in

    def is_sample(self, step: int) -> bool:
        return step % self.every == 0

    def tick(self, step: int, epoch: int) -> None:
        self.steps.append(step)
        self.epochs.append(epoch)

    def span(self, first_step: int, end_step: int) -> slice:
        """The samples taken in steps [first_step, end_step)."""
        return slice(bisect.bisect_left(self.steps, first_step), bisect.bisect_left(self.steps, end_step))

    def series(self) -> dict[str, Any]:
        return {"steps": self.steps, "sample_epoch": self.epochs}


class Sampled(Measurement):
    """A per-layer series taken on sample steps: hooks leave values in ``pending``, ``commit`` appends them."""

    key = ""

    def __init__(self, names: list[str]) -> None:
        self.values: dict[str, list[float]] = {name: [] for name in names}
        self.pending: dict[str, float] = {}

    def commit(self) -> None:
        """Close a sample step: a layer the hooks did not reach this time gets NaN."""
        for name, series in self.values.items():
            series.append(self.pending.get(name, NAN))
        self.pending.clear()

    def medians(self, span: slice) -> dict[str, float]:
        return {name: median(series[span]) for name, series in self.values.items()}

    def ratios_to(self, top: str, span: slice) -> dict[str, float]:
        """Per layer, the median over the span's samples of its value / ``top``'s, over the samples where both
        are non-zero (an exact zero is a dead unit's or a missing layer's, not a small factor)."""
        return {name: median(self.ratio_samples(name, top, span)) for name in self.values}

    def ratio_samples(self, name: str, top: str, span: slice) -> list[float]:
        """The span's per-sample ratios of ``name``'s value to ``top``'s, where both are non-zero (the values
        behind ``ratios_to``'s median, for a test of that median against a threshold)."""
        return [a / b for a, b in zip(self.values[name][span], self.values[top][span], strict=False) if a > 0 and b > 0]

    def series(self) -> dict[str, Any]:
        return {self.key: self.values}


class Losses(Measurement):
    """The batch loss of every step, and how much it fell from one epoch to the next."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.previous_late: float | None = None  # the previous epoch's late loss

    def add(self, loss: float) -> None:
        self.values.append(loss)

    def last_finite(self) -> float | None:
        return next((v for v in reversed(self.values) if math.isfinite(v)), None)

    def progress(self, first: int, end: int) -> tuple[float, float]:
        """(late loss, relative improvement) of steps [first, end): the mean of their later half against
        the previous epoch's late loss (or, for the first epoch, against the mean of their earlier half)."""
        losses = self.values[first:end]
        half = max(1, len(losses) // 2)
        late = float(np.mean(losses[-half:]))
        previous = self.previous_late
        if previous is None or not math.isfinite(previous):
            previous = float(np.mean(losses[:half]))
        self.previous_late = late
        return late, (previous - late) / max(abs(previous), 1e-12)

    def series(self) -> dict[str, Any]:
        return {"loss": self.values}


class GradientRMS(Measurement):
    """RMS of each Linear weight's gradient every step (one dot product per layer), and over all of them.

    Between sample steps SUBSET elements of a big layer's gradient, in runs of RUN (``run_layout``), estimate its
    RMS: plenty for a 5x spike test, where the full sum of squares was ~3% of a reference step.
    """

    def __init__(self, linears: dict[str, Any]) -> None:
        self.linears = linears
        # the per-step loop's (name, module, (runs, stride) of the runs read between samples or None)
        self.layers = [(name, m, run_layout(m.weight._data.size, m.weight._data.shape[-1]))
                       for name, m in linears.items()]
        self.total: list[float] = []
        self.per_layer = Sampled(list(linears))
        self.global_norm = NAN  # this step's L2 norm over every Linear's weight and bias gradient

    def record(self, sampling: bool) -> tuple[dict[str, float], float, float]:
        """This step's gradients read now (the optimizer step will change them): per-layer RMS, their overall
        RMS and the global L2 norm, for ``take`` to file when the step is judged."""
        values: dict[str, float] = {}
        total_sq, total_n, bias_sq = 0.0, 0, 0.0
        for name, module, layout in self.layers:  # no np.errstate: a dot product warns of nothing (vdot_sq)
            g = module.weight._grad
            if g is None:
                continue
            flat = g.reshape(-1)
            size = flat.size
            if layout is not None and not sampling and flat.flags.c_contiguous:
                # the runs, copied together (16 KB) for one dot product: 6 µs, every k-th element 8 µs (hot)
                runs, stride = layout
                flat = np.ascontiguousarray(flat[:runs * stride].reshape(runs, stride)[:, :RUN])
            sq = float(np.vdot(flat, flat))
            if sq == math.inf:  # rare: redo a float32 overflow in float64 (vdot_sq), inline otherwise
                sq = vdot_sq(flat)
            if flat.size != size:  # scaled up from the subset (a factor of 1 would change nothing)
                sq *= size / flat.size
            values[name] = math.sqrt(sq / size)
            total_sq += sq
            total_n += size
            bias = module.bias
            if bias is not None and bias._grad is not None:
                bias_sq += float(np.vdot(bias._grad, bias._grad))  # a vector: one dot, no overflow guard needed
        total = math.sqrt(total_sq / total_n) if total_n else NAN
        # the norm clip_grad_norm clips: with the biases, whose gradient (the top one's above all) keeps its size
        # when tiny weights make the weight gradients tiny, so waking up from a tiny init is not "growth"
        return values, total, math.sqrt(total_sq + bias_sq)

    def take(self, recorded: tuple[dict[str, float], float, float], sampling: bool) -> tuple[dict[str, float], float]:
        """File a recorded step (``record``) as the step being judged."""
        values, total, self.global_norm = recorded
        self.total.append(total)
        if sampling:
            self.per_layer.pending.update(values)
        return values, total

    def series(self) -> dict[str, Any]:
        return {"grad_rms_total": self.total, "grad_rms": self.per_layer.values}


class GradientSpike(Measurement):
    """Running averages (EMA) of the gradient RMS, overall and per layer, and of the loss.

    ``calm_norm`` is the typical global L2 gradient norm (what clip_grad_norm clips) over the steps that
    were not spikes (RMS within ``factor`` of its average and under ``limit``): a clip value to suggest.
    """

    def __init__(self, decay: float, factor: float, limit: float, weight_count: int) -> None:
        self.decay, self.factor, self.limit = decay, factor, limit
        self.norm_scale = math.sqrt(weight_count)  # RMS per element -> global L2 norm
        self.total: float | None = None
        self.loss = NAN
        self.layers: dict[str, float] = {}
        self.calm_norm = 1.0

    def update(self, loss: float, values: dict[str, float], total: float, stats: StepStats) -> None:
        """Fill ``stats`` with this step against the averages before it, then update them."""
        a = self.decay
        if self.total is None:  # the first step only starts the averages
            self.total, self.loss, self.calm_norm = total, loss, total * self.norm_scale
            self.layers.update(values)
            return
        ratio = total / max(self.total, 1e-30)
        stats.running_average, stats.spike_ratio, stats.loss_average = self.total, ratio, self.loss
        calm = ratio <= self.factor and total <= self.limit
        if not calm:  # a possible spike: which layer grew most
            stats.layer_spike_ratios = {n: v / max(self.layers.get(n, v), 1e-30) for n, v in values.items()}
        self.total = a * self.total + (1 - a) * total
        self.loss = a * self.loss + (1 - a) * loss
        for name, value in values.items():
            self.layers[name] = a * self.layers.get(name, value) + (1 - a) * value
        if calm:
            self.calm_norm = a * self.calm_norm + (1 - a) * total * self.norm_scale


class UpdateRatio(Measurement):
    """‖Δw‖/‖w‖ per Linear from the actual change of one step: the weights are copied on a sample step and
    compared at the next check, so it is right for any optimizer (Adam, momentum, clipping). A big layer is
    represented by SUBSET of its weights in runs (``runs_view``, within a few percent): copying and comparing
    a whole 784x256 layer was a third of the doctor's time, and every k-th weight touched a cache line each
    (and, with k dividing the row length, read the same few input columns of every row)."""

    def __init__(self, linears: dict[str, Any]) -> None:
        self.linears = linears
        self.values: dict[str, list[float]] = {name: [] for name in linears}
        self.buffers: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # (copy, difference) per layer, reused
        self.copied_sq: dict[str, float] = {}  # the copy's sum of squares, taken while it is in cache
        self.views: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # per layer: (weight array, its runs view)
        self.waiting = False

    def _weights(self, name: str) -> np.ndarray:
        """The layer's runs, a view made once per weight array: optimizers change the array in place, so the same
        view sees every step (an array that is not dense in one order gets a fresh copy at each read instead)."""
        data = self.linears[name].weight._data
        kept = self.views.get(name)
        if kept is not None and kept[0] is data:
            return kept[1]
        view = runs_view(data)
        if data.flags.c_contiguous or data.flags.f_contiguous:  # ravel(order="K") was a view: it stays live
            self.views[name] = (data, view)
        return view

    def complete(self) -> None:
        """The weights moved by exactly one optimizer step since the copy: the ratio of that move."""
        if not self.waiting:
            return
        with np.errstate(over="ignore", invalid="ignore"):  # the subtraction's (inf - inf): once, not per layer
            for name in self.linears:
                old, delta = self.buffers[name]
                w = self._weights(name)
                if w.shape != old.shape:  # the layer was resized in between: nothing to compare
                    continue
                np.subtract(w, old, out=delta)
                self.values[name][-1] = math.sqrt(sumsq(delta)) / max(math.sqrt(self.copied_sq[name]), 1e-12)
        self.waiting = False

    def start(self) -> None:
        """On a sample step: copy the weights; the ratio is filled in at the next check."""
        for name in self.linears:
            w = self._weights(name)
            if name not in self.buffers or self.buffers[name][0].shape != w.shape:
                self.buffers[name] = (np.empty(w.shape, w.dtype), np.empty(w.shape, w.dtype))
            np.copyto(self.buffers[name][0], w)
            self.copied_sq[name] = sumsq(self.buffers[name][0])
            self.values[name].append(NAN)
        self.waiting = True

    def medians(self, span: slice) -> dict[str, float]:
        return {name: median(series[span]) for name, series in self.values.items()}

    def latest(self) -> dict[str, float]:
        """The last completed ratio per layer (call between ``complete`` and ``start``)."""
        return {name: series[-1] for name, series in self.values.items() if series}

    def series(self) -> dict[str, Any]:
        return {"update_ratio": self.values}


class WeightRMS(Sampled):
    """RMS of each Linear weight on sample steps (a big layer's from its runs, ``runs_view``): whether the
    weights are still finite. A non-finite weight outside the runs reaches the next step's outputs and loss,
    where the doctor sees it; reading every weight was ~130 µs a sample step inside the loop. The runs are the
    ones ``UpdateRatio.start`` has just copied and summed the squares of: read once, not twice."""

    key = "weight_rms"

    def __init__(self, updates: UpdateRatio) -> None:
        super().__init__(list(updates.linears))
        self.updates = updates

    def take(self) -> bool:
        """Commit the RMS of the runs ``UpdateRatio.start`` copied this sample step (call it after that); True when
        every weight read is finite."""
        copies, copied_sq = self.updates.buffers, self.updates.copied_sq
        for name in self.values:
            size = copies[name][0].size
            self.pending[name] = math.sqrt(copied_sq[name] / size) if size else NAN
        self.commit()
        return all(math.isfinite(series[-1]) for series in self.values.values())


def positions_per_sample(shape: tuple[int, ...]) -> int:
    """How many positions (tokens, time steps) of a sample a Linear's output of ``shape`` holds: (N, L, F) holds L,
    (N, F) one. ∂loss/∂z per element is 1/L of the pooled gradient after a mean over positions, so layers are
    compared by that RMS only among layers with as many positions."""
    return math.prod(shape[1:-1]) if len(shape) >= 3 else 1  # math.prod: 0.2 µs a layer a sample step, np.prod 5.6


class BackpropSignal(Sampled):
    """RMS of ∂loss/∂(each Linear's output), the signal backpropagation carries down, on sample steps; and the
    positions per sample each output holds."""

    key = "signal_rms"

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.positions: dict[str, int] = {}

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        if cls != LINEAR:
            return None, None

        def watch(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            self.positions[name] = positions_per_sample(out.shape)
            if getattr(output, "requires_grad", False):
                def grad_hook(g: np.ndarray) -> None:
                    self.pending[name] = rms(g)

                output._register_array_hook(grad_hook)

        return None, watch


class ActivationStats(Measurement):
    """Mean and std of each activation's output on sample steps (of each Linear's when there are none)."""

    def __init__(self, names: list[str]) -> None:
        self.mean, self.std = Sampled(names), Sampled(names)

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        if name not in self.mean.values:
            return None, None

        def take(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            with np.errstate(over="ignore", invalid="ignore"):  # one sum and one dot product: std() is 10x slower
                mean = float(out.sum()) / out.size
                self.mean.pending[name] = mean
                self.std.pending[name] = spread(out, mean)

        return None, take

    def commit(self) -> None:
        self.mean.commit()
        self.std.commit()

    def series(self) -> dict[str, Any]:
        return {"act_mean": self.mean.values, "act_std": self.std.values}


class Saturation(Sampled):
    """Fraction of each Sigmoid/Tanh layer's outputs at the flat ends (outside [lo, 1 - lo], tanh mapped to
    [0, 1]), where the slope is under 4% of its peak, on sample steps."""

    key = "saturation"

    def __init__(self, names: list[str], lo: float) -> None:
        super().__init__(names)
        self.lo = lo

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        if cls not in SATURATING:
            return None, None

        def take(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            y = out if cls == "Sigmoid" else (out + 1) * 0.5
            self.pending[name] = float(np.count_nonzero((y < self.lo) | (y > 1 - self.lo)) / y.size)

        return None, take


class ZeroGradients(Sampled):
    """Fraction of exactly-zero gradients at each ReLU's input on sample steps (dead units pass back zeros)."""

    key = "zero_grad_fraction"

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        if cls != RELU:
            return None, None

        def take(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            if args and getattr(args[0], "requires_grad", False):
                def grad_hook(g: np.ndarray) -> None:
                    self.pending[name] = 1.0 - np.count_nonzero(g) / g.size

                args[0]._register_array_hook(grad_hook)

        return None, take


FOLD_ROWS = 64  # steps of a ReLU's column sums kept before they are folded into its masks and counts


class ReLUFiring(Measurement):
    """Which units of each ReLU fired on some sample: a running OR per batch, every step.

    The masks are kept per window of steps (``cut`` starts a new one), so an epoch ORs all of its
    windows and a loop without epochs can be judged window by window. Every step also counts the batches
    each unit fired in and keeps the last one (``dead_since`` judges the silence after it).

    A step does one NumPy call per ReLU: its column sums go into a row of a buffer (``sums``). Up to
    ``FOLD_ROWS`` steps later (or as soon as anything reads the masks or counts: the properties below) the
    rows are folded into them with a few calls for all of them: right after the forward pass's BLAS products
    each NumPy call costs ~10 µs of cold caches, and the OR, the count and the last batch were four per step.
    """

    def __init__(self, names: list[str]) -> None:
        self.values: dict[str, list[float]] = {name: [] for name in names}
        self._windows: list[dict[str, np.ndarray]] = [{}]  # the last one is open
        self.ones: dict[tuple[int, Any], np.ndarray] = {}  # per (batch rows, dtype)
        self._batches: dict[str, int] = {}  # per layer: the batches it ran
        self._fired_in: dict[str, np.ndarray] = {}  # per unit: how many of them it fired in
        self._last_batch: dict[str, np.ndarray] = {}  # per unit: the last one it fired in (1, 2, ...; 0: never)
        self._base: dict[str, tuple[int, np.ndarray]] = {}  # per layer: (batches, fired_in) when the stretch
        # that ``dead_since`` judges began
        # per layer, not yet folded: [buffer of column-sum rows, rows filled, a vector of ones as long as the batch]
        self.sums: dict[str, list[Any]] = {}
        self.log_factorials = np.zeros(0)  # lgamma(i + 1) for i = 0, 1, ...: ``dead_since``'s table, grown as needed

    @property
    def windows(self) -> list[dict[str, np.ndarray]]:
        self.fold()
        return self._windows

    @property
    def batches(self) -> dict[str, int]:
        self.fold()
        return self._batches

    @property
    def fired_in(self) -> dict[str, np.ndarray]:
        self.fold()
        return self._fired_in

    @property
    def last_batch(self) -> dict[str, np.ndarray]:
        self.fold()
        return self._last_batch

    @property
    def base(self) -> dict[str, tuple[int, np.ndarray]]:
        self.fold()
        return self._base

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        if cls != RELU or name not in self.values:  # a ReLU after a convolution is watched per channel instead
            return None, None

        def take(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            rows = out if out.ndim == 2 else units(out)
            pending = self.sums.get(name)  # [buffer, rows filled, a vector of ones as long as the batch]
            if pending is None or pending[0].shape[1:] != rows.shape[1:] or pending[0].dtype != rows.dtype:
                self.fold_layer(name)  # new, or the layer changed: what it buffered first, then a new buffer
                pending = self.sums[name] = [np.empty((FOLD_ROWS, rows.shape[1]), rows.dtype), 0, self.ones_for(rows)]
            elif pending[1] == FOLD_ROWS:  # full: fold, and fill the same buffer again
                self.fold_layer(name)
            ones = pending[2]
            if ones.shape[0] != rows.shape[0]:  # a batch of another size (the last one of an epoch)
                ones = pending[2] = self.ones_for(rows)
            # ReLU outputs are never negative, so a unit fired on some sample iff its column sums above 0:
            # one BLAS matrix-vector product, 3x faster than (rows > 0).any(axis=0), written into the buffer.
            np.dot(ones, rows, out=pending[0][pending[1]])
            pending[1] += 1

        return take, None

    def ones_for(self, rows: np.ndarray) -> np.ndarray:
        """Ones as long as ``rows`` (shared per length and dtype): their product with ``rows`` sums its columns."""
        key = (rows.shape[0], rows.dtype)
        ones = self.ones.get(key)
        if ones is None:
            ones = self.ones[key] = np.ones(rows.shape[0], rows.dtype)
        return ones

    def fold(self) -> None:
        """Fold every layer's buffered steps into its masks and counts."""
        for name in self.sums:
            self.fold_layer(name)

    def fold_layer(self, name: str) -> None:
        """The steps buffered for ``name``, oldest first, as if each had updated the masks and counts itself."""
        pending = self.sums.get(name)
        if pending is None or not pending[1]:
            return
        k = pending[1]
        pending[1] = 0
        block = pending[0][:k] > 0  # (steps, units): fired in that step's batch
        fired = block.any(axis=0)
        fired_into(self._windows[-1], name, fired)
        before = self._batches.get(name, 0)
        self._batches[name] = before + k
        last = self._last_batch.get(name)
        if last is None or last.shape != fired.shape:  # new, or resized (a resize folds first): counts start afresh
            last = self._last_batch[name] = np.zeros(fired.shape, dtype=np.int64)
            self._fired_in[name] = np.zeros(fired.shape, dtype=np.int64)
            self._base[name] = (before, self._fired_in[name].copy())
        # the last row a unit fired in, counted from the end by argmax of the reversed rows: batch before + k - it
        np.putmask(last, fired, before + k - np.argmax(block[::-1], axis=0))
        self._fired_in[name] += block.sum(axis=0)

    def dead_since(self, significance: float) -> dict[str, float]:
        """Per layer, the fraction of units dead in the stretch of batches since the previous call: silent in all
        of them, or silent in so many of the last ones that a unit firing as often as before would have been
        silent there with probability below ``significance``. Starts the next stretch.

        The test needs no firing rate: if a unit fires with the same probability in every batch of the stretch
        (shuffled samples, equal batches), the m batches it fired in are any m of the stretch's K, equally
        likely, so all of them fall before its last s batches with probability C(K - s, m) / C(K, m): a
        permutation test (Fisher; Good, "Permutation Tests", 2005, §3). More samples mean more batches and
        more power: a unit that fired in 2 of 8 batches and then missed 4 is alive (p = 0.21); one that fired
        in 10 of the first 16 of 32 and then none is dead (p = 1e-4).
        """
        dead: dict[str, float] = {}
        log_alpha = math.log(significance)
        self.fold()  # once: the loop reads the folded state itself, not through the properties that fold
        for name, last in self._last_batch.items():
            start, fired_before = self._base[name]
            batches = self._batches[name]
            total = batches - start  # K
            if not last.size or total <= 0:
                continue
            fired_in = self._fired_in[name]
            fired = fired_in - fired_before  # m
            silent = batches - np.maximum(last, start)  # s (K for units silent throughout)
            # all units at once: a Python loop of lgamma calls per unit was most of an epoch's end
            if self.log_factorials.size <= total:
                self.log_factorials = np.array([math.lgamma(i + 1) for i in range(2 * total + 1)])
            chance = (log_choose(total - silent, fired, self.log_factorials)
                      - log_choose(np.full_like(fired, total), fired, self.log_factorials))
            dead_units = int(np.count_nonzero((fired == 0) | (chance < log_alpha)))
            dead[name] = dead_units / last.size
            self._base[name] = (batches, fired_in.copy())
        return dead

    def cut(self) -> None:
        self.windows.append({})  # (the property folds the steps buffered so far into the window they belong to)

    def take(self, windows: int) -> dict[str, float]:
        """Close the oldest ``windows`` windows into one: per layer, the fraction of units that never fired
        (NaN when the layer ran no training batch); appended to the series."""
        self.fold()
        taken, self._windows = self._windows[:windows], self._windows[windows:] or [{}]
        fractions = {}
        for name, series in self.values.items():
            masks = [w[name] for w in taken if name in w]
            fired = masks[-1].copy() if masks else None
            for mask in masks[:-1]:
                if fired is not None and mask.shape == fired.shape:  # a layer whose width changed: the last one
                    fired |= mask
            fractions[name] = NAN if fired is None else 1.0 - float(fired.mean())
            self.closed(name, fired)
            series.append(fractions[name])
        return fractions

    def closed(self, name: str, fired: np.ndarray | None) -> None:
        """What ``take`` merged for ``name`` (None: no batch ran it); subclasses keep more of it."""

    def series(self) -> dict[str, Any]:
        return {"dead_fraction": self.values}


class LastOutputs(Measurement):
    """Each watched layer's latest training output: where a NaN started, and each layer's width.

    A step's outputs are held until its check has judged whether (and where) it went non-finite, then let go
    (``release``): nothing reads them after that, and held into the next step they stayed alive across its
    forward pass (one step's outputs more in memory; its cost in time was within the measurement's noise)."""

    def __init__(self) -> None:
        # in the order the forward pass first reached them; None once let go (torch's TorchOutputs: torch tensors)
        self.outputs: dict[str, Any] = {}
        self.widths: dict[str, int] = {}  # the last width of each layer whose output was let go

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        def keep(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            self.outputs[name] = out

        return keep, None

    def width(self, name: str, out: Any) -> int:
        """A layer's width from its output: the last axis (its units)."""
        return int(out.shape[-1])

    def held_widths(self) -> dict[str, int]:
        return {name: self.width(name, out) for name, out in self.outputs.items() if out is not None and out.ndim}

    def release(self) -> None:
        """The step's check is done: keep the layers (in order) and their widths, not their outputs."""
        self.widths.update(self.held_widths())
        self.outputs = dict.fromkeys(self.outputs)

    def first_non_finite(self) -> str | None:
        return next((name for name, out in self.outputs.items() if out is not None and not np.isfinite(out).all()),
                    None)

    def units(self) -> dict[str, int]:
        return {**self.widths, **self.held_widths()}

    def feeding(self, linears: tuple[str, ...]) -> dict[str, str | None]:
        """Per layer, the Linear the forward pass reached just before it."""
        result: dict[str, str | None] = {}
        last: str | None = None
        for name in self.outputs:
            result[name] = last
            if name in linears:
                last = name
        return result


class Validation(Measurement):
    """The lowest validation loss so far and its epoch (Prechelt's generalization loss is measured from it)."""

    def __init__(self) -> None:
        self.best, self.best_epoch = math.inf, -1
        self.train_at_best: float | None = None  # the training loss in the best epoch

    def update(self, val_loss: float | None, epoch: int, train_loss: float | None = None) -> None:
        if val_loss is not None and val_loss < self.best:
            self.best, self.best_epoch, self.train_at_best = val_loss, epoch, train_loss


# ------------------------------------------------------------------ scale at the start, growth, loss trend


class PreActivationRMS(Sampled):
    """RMS of each Linear's output (the next activation's input) on sample steps; step 0's, before any update,
    says whether the initialization keeps the forward signal's scale through depth."""

    key = "preactivation_rms"

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        if cls != LINEAR:
            return None, None

        def take(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            self.pending[name] = rms(out)

        return None, take


class InputScale(Measurement):
    """Per-feature scale of the first batch the model sees, at the first Linear's input: the largest and the
    smallest feature RMS and the spread of the feature standard deviations, over features that vary in it and
    are present (non-zero) in at least half of its samples."""

    def __init__(self, first_linear: str | None) -> None:
        self.first_linear = first_linear
        self.taken: dict[str, float] = {}

    def hooks(self, name: str, cls: str) -> tuple[Hook | None, Hook | None]:
        if name != self.first_linear:
            return None, None

        def take(args: tuple[Any, ...], output: Any, out: np.ndarray) -> None:
            if not self.taken and args and hasattr(args[0], "_data"):
                self.take_scale(units(args[0]._data))

        return None, take

    def take_scale(self, x: np.ndarray) -> None:
        """The scale of ``x`` (samples x features), once: both engines' hooks hand their first batch here."""
        if self.taken:
            return
        x = x.astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            feature_rms = np.sqrt(np.mean(x * x, axis=0))
            std = x.std(axis=0)
        varying = std > 1e-8 * max(float(std.max()), 1e-30) if std.size else std.astype(bool)
        # Only features present (non-zero) in at least half the samples are judged: a rarely present feature (a
        # rarely inked pixel, a one-hot column) has an RMS set by its rarity, not by its scale, and is not meant
        # to be standardized (scikit-learn's preprocessing guide: sparse data is scaled, not centered; images
        # are normalized as a whole). Pixels in [0, 1] are then judged by the pixels that carry the image.
        varying &= np.count_nonzero(x, axis=0) >= x.shape[0] / 2
        if x.shape[0] < 2 or not varying.any() or not np.isfinite(feature_rms).all():
            self.taken = {"features": float(x.shape[1])}  # one sample, or nothing varies: no scale to judge
            return
        self.taken = {"features": float(x.shape[1]), "varying": float(varying.sum()),
                      "rms_max": float(feature_rms[varying].max()), "rms_min": float(feature_rms[varying].min()),
                      "std_spread": float(std[varying].max() / std[varying].min())}

    def series(self) -> dict[str, Any]:
        return {"input_scale": self.taken}


class GradientGrowth(Measurement):
    """The gradient RMS against the untrained network's (step 0), overall and per Linear: the median of the
    last ``window`` steps over step 0's, so one noisy step is not growth and a blow-up is seen within steps."""

    def __init__(self, window: int) -> None:
        self.initial: float | None = None
        self.initial_layers: dict[str, float] = {}
        self.recent: deque[float] = deque(maxlen=window)
        self.recent_layers: deque[dict[str, float]] = deque(maxlen=window)  # each step's per-layer values
        self.window = window
        self.last = NAN  # the latest growth: what a step that went non-finite had just before

    def update(self, values: dict[str, float], total: float) -> float:
        """The growth of the total after this (finite) step."""
        if self.initial is None:
            self.initial, self.initial_layers = total, dict(values)
        self.recent.append(total)
        self.recent_layers.append(values)  # the step's own dict (never changed after): split per layer only when asked
        self.last = middle(self.recent) / max(self.initial, 1e-30)
        return self.last

    def ratio(self, total: float) -> float:
        """This step's norm against step 0's."""
        return total / max(self.initial or 0.0, 1e-30)

    def layers(self) -> dict[str, float]:
        """The growth per Linear over the same steps (asked for only when the total has grown: it names the layer)."""
        per_layer: dict[str, list[float]] = {}
        for values in self.recent_layers:
            for name, value in values.items():
                per_layer.setdefault(name, []).append(value)
        return {name: middle(v) / max(self.initial_layers.get(name, NAN), 1e-30) for name, v in per_layer.items()}


class LossClimb(Measurement):
    """Whether the loss climbs back: on sample steps, the last ``block`` batch losses against the lowest level so
    far (the first loss, the untrained network's, then the lowest block mean): how far their mean is above it,
    in units of the first loss, and which fraction of them lie above it by ``margin`` first losses. Counting
    losses (a sign test) rather than averaging them keeps one huge loss from passing for a climb and a
    blow-up's huge spread from hiding one. At each epoch's end, the epoch's mean against the lowest epoch mean
    before it (``epoch``): a whole epoch's loss level, where a blow-up the loss recovered from still counts."""

    def __init__(self, block: int, margin: float, noise_z: float) -> None:
        self.block, self.margin, self.noise_z = block, margin, noise_z
        self.lowest: float | None = None
        self.epoch_lowest: float | None = None  # the lowest epoch mean so far

    def take(self, losses: list[float]) -> tuple[float, float]:
        """(climb as a fraction of the first loss, fraction of the block above the lowest level + margin)."""
        if not losses:
            return NAN, NAN
        first = abs(losses[0]) or 1e-12
        if self.lowest is None:
            self.lowest = losses[0]
        # a block of ten floats: Python's arithmetic, where five NumPy calls after a training step's BLAS products
        # cost ~70 µs of cold caches (fsum: the exactly rounded mean, as close as NumPy's pairwise sum or closer)
        block = losses[-self.block:]
        if len(losses) < self.block + 1 or not all(map(math.isfinite, block)):
            return NAN, NAN
        mean = math.fsum(block) / len(block)
        climb = (mean - self.lowest) / first
        level = self.lowest + self.margin * first
        above = sum(1 for v in block if v > level) / len(block)
        self.lowest = min(self.lowest, mean)
        return climb, above

    def epoch(self, losses: list[float], first: int, end: int) -> tuple[float, float]:
        """(this epoch's mean batch loss, its climb above the lowest level before it, in first losses): the
        lowest epoch mean before it, or for the first epoch the first loss, when the climb is beyond that single
        batch's sampling noise (NaN when it is not: no evidence either way)."""
        if not losses or end <= first:
            return NAN, NAN
        epoch = np.asarray(losses[first:end], dtype=np.float64)
        mean = float(epoch.mean())
        first_loss = abs(losses[0]) or 1e-12
        if self.epoch_lowest is None:
            # A brief blow-up that the loss recovers from within the first epoch is too short for the sample
            # steps' sign test, yet raises the epoch's mean far above the untrained network's loss.
            lowest = losses[0]
            if np.isfinite(epoch).all():  # middle(): np.median's value, without its import of numpy.ma (~36 ms)
                values = epoch.tolist()
                centre = middle(values)
                noise = 1.4826 * middle([abs(v - centre) for v in values])
            else:
                noise = NAN
            climb = (mean - lowest) / first_loss if mean - lowest > self.noise_z * noise else NAN
        else:
            lowest = self.epoch_lowest
            climb = (mean - lowest) / first_loss
        if math.isfinite(mean):  # later epochs against epoch means only, never the one noisy first batch
            self.epoch_lowest = mean if self.epoch_lowest is None else min(self.epoch_lowest, mean)
        return mean, climb


def initial_level(losses: list[float], steps: int) -> float:
    """The untrained network's loss level, from the first ``steps`` batch losses: their least-squares line read at
    step 0. One batch is a noisy stand-in for it (a deep ReLU net's untrained per-sample losses are heavy-tailed: a
    batch of 10 read 1.97 where the whole training set's was 2.82, with a batch's sd 1.4); a line through ``steps`` of
    them has (4k - 2) / (k (k + 1)) of one batch's variance (0.35 at k = 10) and, unlike their mean or median,
    does not read the first updates' fall as the start. The first loss when fewer are finite."""
    first = np.asarray(losses[:steps], dtype=np.float64)
    if len(first) < max(steps, 2) or not np.isfinite(first).all():
        return float(losses[0])
    slope, _ = least_squares_slope(first)
    return float(first.mean() - slope * (len(first) - 1) / 2)


def least_squares_slope(values: np.ndarray) -> tuple[float, np.ndarray]:
    """The least-squares slope of ``values`` against their index, and the centred index it was fitted on."""
    x = np.arange(len(values), dtype=np.float64)
    x -= x.mean()
    return float(x @ (values - values.mean()) / (x @ x)), x


def loss_trend(losses: list[float], fraction: float, least: int, start: int) -> tuple[float, float, int]:
    """(t, projected fall, steps) of the last ``fraction`` of the batch losses (at least ``least`` steps): the
    least-squares slope over its standard error, and the fall that slope projects over one more such stretch
    as a fraction of the fall achieved so far (from ``initial_level`` of the first ``start`` losses). NaN when
    too short or not finite."""
    n = max(least, int(len(losses) * fraction))
    window = np.asarray(losses[-n:], dtype=np.float64)
    if len(losses) < least or not np.isfinite(window).all():
        return NAN, NAN, len(window)
    slope, x = least_squares_slope(window)
    residual = window - window.mean() - slope * x
    se = math.sqrt(float(residual @ residual) / (len(x) - 2) / float(x @ x))
    progress = initial_level(losses, start) - float(window.mean())
    t = slope / se if se > 0 else math.copysign(math.inf, slope) if slope else 0.0
    return t, -slope * len(window) / max(progress, 1e-12), len(window)
