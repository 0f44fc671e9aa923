"""The benchmark's own measurements of a torch training run: the series of benchmarks/doctor/measure.py's
Recorder, taken with torch hooks, then summarized and labelled by that file's ``summarize`` and ``label``.

Nothing here uses the doctor. ``TorchRecorder`` only READS: its forward hooks look at outputs, its tensor
hooks at gradients, its probes run in eval mode (no dropout mask drawn, no BatchNorm statistic updated) and
take no parameter gradient, so the doctor (and torchmortem, in its own run) watch the very same run. A
"layer" is a weighted layer: Linear, Conv, an RNN/LSTM/GRU (all its weight matrices as one) or attention's
input projection; its rows are in the order the forward pass first reaches them.

One measurement is new here: the gradient through time of a recurrent model (``time_ratio``), and one rule
(``THROUGH_TIME``) that labels it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "doctor"))

import measure  # benchmarks/doctor/measure.py: summarize, label, the rules and their sources

ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.GELU: "gelu", nn.LeakyReLU: "leaky_relu"}
WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase, nn.MultiheadAttention)
PROBE_SAMPLES = 256  # the gradient-through-time probe's batch: the first samples of the training set

THROUGH_TIME = (
    "recurrent models: the RMS of ∂loss/∂x_t at the first step, over the RMS at the last, measured at the end "
    "of each epoch on the first 256 training samples in eval mode, has its median over the epochs < 1e-3 "
    "(the first/last ratio of the vanishing rule above, taken along time instead of depth: Bengio, Simard & "
    "Frasconi 1994; Pascanu, Mikolov & Bengio 2013 §2; Hochreiter & Schmidhuber 1997 for the LSTM that "
    "keeps it); the layer is the recurrent layer")
RULES = {**measure.RULES, "vanishing_gradients (through time)": THROUGH_TIME}


def _weights(module: nn.Module) -> list[torch.Tensor]:
    return [p for n, p in module.named_parameters(recurse=False) if "weight" in n and p.requires_grad]


def _rms(tensors: list[torch.Tensor]) -> float:
    """The RMS over every element of the tensors together, in float64 (inf/nan pass through)."""
    total = sum(float(t.detach().double().square().sum()) for t in tensors)
    count = sum(t.numel() for t in tensors)
    return math.sqrt(total / count) if count else math.nan


def _first_tensor(output: Any) -> torch.Tensor | None:
    out = output[0] if isinstance(output, tuple | list) and output else output
    return out if isinstance(out, torch.Tensor) else None


class TorchRecorder(measure.Series):
    """The series of ``measure.Recorder`` for a torch model (the same attribute names, so ``measure.summarize``
    reads them): call ``begin`` before training, ``after_backward(loss)`` between backward and the optimizer
    step, ``after_step()`` after it, ``end_epoch(logs)`` after each epoch and ``end()`` at the end."""

    def __init__(self, model: nn.Module, X_train: torch.Tensor, y_train: torch.Tensor, recurrent: bool) -> None:
        super().__init__(X_train, y_train)
        self.model, self.recurrent = model, recurrent
        self.time_ratio: list[float] = []  # per epoch: RMS ∂loss/∂x at the first step / at the last (recurrent)
        self._order: list[str] = []

    def begin(self) -> None:
        with torch.no_grad():
            self.initial_loss = float(F.cross_entropy(self._forward_all().double(), self.y))
        weighted = {}
        for name, module in self.model.named_modules():
            if isinstance(module, WEIGHTED) and _weights(module):
                weighted[name] = module
                self._handles.append(module.register_forward_hook(self._forward(name, None)))
            kind = next((k for cls, k in ACTIVATIONS.items() if type(module) is cls), None)
            if kind is not None:
                self.acts.append((name, module, kind))
                if kind == "relu":
                    self.dead[name] = []
                if kind in ("sigmoid", "tanh"):
                    self.saturated[name] = []
                self._handles.append(module.register_forward_hook(self._forward(name, kind)))
        # forward order: one training-mode pass would change BatchNorm's running statistics, so the order is
        # that of named_modules, corrected by the first training forward (``_order``) before the first step ends
        self._weighted = weighted
        self.linears = list(weighted.items())
        for name in weighted:
            for series in (self.grad_rms, self.signal_rms, self.update_ratio):
                series[name] = []

    def _forward(self, name: str, kind: str | None) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            out = _first_tensor(output)
            if out is None:
                return
            if self._probe is not None:
                self._probe[name] = out.detach()
                return
            if not (module.training and torch.is_grad_enabled()):
                return
            if self.step == 0 and name not in self._order:
                self._order.append(name)
            if self._bad_output is None and not bool(torch.isfinite(out).all()):
                self._bad_output = name
            if kind is None and out.requires_grad:  # a weighted layer: the gradient at its output
                out.register_hook(self._signal_hook(name))
            if self.step == 0:
                if kind is not None:
                    self.init_forward[name] = _rms([args[0]])
                elif self.linears and name == self.linears[-1][0]:  # the logits
                    self.init_forward[name] = _rms([out])

        return hook

    def _signal_hook(self, name: str) -> Any:
        def hook(grad: torch.Tensor) -> None:
            self._signal[name] = _rms([grad])

        return hook

    def after_backward(self, loss: torch.Tensor) -> None:
        if self.step == 0:  # the layers in the order the first forward reached them
            rank: dict[str, float] = {n: i for i, n in enumerate(self._order)}
            for (name, _), (before, _) in zip(self.linears[1:], self.linears, strict=False):
                # a layer whose own forward never runs (attention's out_proj: its weight is used inside
                # F.multi_head_attention_forward) stays right after the layer that precedes it in the model
                rank.setdefault(name, rank.get(before, -1.0) + 0.5)
            self.linears.sort(key=lambda item: rank.get(item[0], -1.0))
            self.init_forward = dict(sorted(self.init_forward.items(), key=lambda item: rank[item[0]]))
        value = float(loss.detach())
        self.loss.append(value)
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        total = sum(float(g.double().square().sum()) for g in grads)
        finite = math.isfinite(value) and math.isfinite(total) and self._bad_output is None
        self.grad_norm.append(math.sqrt(total) if math.isfinite(total) else math.inf)
        for name, module in self.linears:
            ws = _weights(module)
            present = [w.grad for w in ws if w.grad is not None]
            self.grad_rms[name].append(_rms(present) if present else math.nan)
            self.signal_rms[name].append(self._signal.get(name, math.nan))
            self._weights[name] = [w.detach().double().clone() for w in ws]
        if self.step == 0:
            self.init_signal = dict(self._signal)
        if not finite and self.first_non_finite is None:
            self.first_non_finite = self.step
            bad_grads = [n for n, s in self.grad_rms.items() if not math.isfinite(s[-1])]
            self.first_non_finite_layer = self._bad_output or (bad_grads[-1] if bad_grads else None)
        self._bad_output, self._signal = None, {}

    def after_step(self) -> None:
        for name, module in self.linears:
            old = self._weights[name]
            new = [w.detach().double() for w in _weights(module)]
            delta = math.sqrt(sum(float((b - a).square().sum()) for a, b in zip(old, new, strict=True)))
            norm = math.sqrt(sum(float(a.square().sum()) for a in old))
            self.update_ratio[name].append(delta / max(norm, 1e-12) if math.isfinite(delta) else math.inf)
            if self.first_non_finite is None and not all(bool(torch.isfinite(w).all()) for w in new):
                self.first_non_finite, self.first_non_finite_layer = self.step + 1, name
        self.step += 1

    def end_epoch(self, logs: dict[str, Any]) -> None:
        self.epochs.append({"end_step": self.step,
                            **{k: logs.get(k) for k in ("loss", "val_loss", "accuracy", "val_accuracy")}})
        self._probe = {}
        with torch.no_grad():
            self._forward_all()
        probe, self._probe = self._probe, None
        for name, _, kind in self.acts:
            out = probe[name]
            finite = bool(torch.isfinite(out).all())
            if name in self.dead:  # units: channels of a conv feature map (axis 1), else the last axis
                axis = 1 if out.ndim >= 3 else out.ndim - 1
                fired = (out > 0).movedim(axis, 0).reshape(out.shape[axis], -1).any(dim=1)
                self.dead[name].append(float((~fired).double().mean()) if finite else math.nan)
            if name in self.saturated:
                a = out.double()
                slope = 4 * a * (1 - a) if kind == "sigmoid" else 1 - a * a
                self.saturated[name].append(float((slope < measure.SATURATED_SLOPE).double().mean())
                                            if finite else math.nan)
        if self.recurrent:
            self.time_ratio.append(self._through_time())

    def _through_time(self) -> float:
        """RMS of ∂loss/∂x_t at t = 0 over the last t, on the probe batch, in eval mode; no parameter's .grad
        is touched (``torch.autograd.grad`` on the input only)."""
        x = self.X[:PROBE_SAMPLES].clone().requires_grad_(True)
        was = self.model.training
        self.model.eval()
        try:
            with torch.enable_grad():
                (g,) = torch.autograd.grad(F.cross_entropy(self.model(x), self.y[:PROBE_SAMPLES]), x)
        finally:
            self.model.train(was)
        per_step = g.double().square().mean(dim=(0, 2)).sqrt()
        first, last = float(per_step[0]), float(per_step[-1])
        return first / last if last > 0 and math.isfinite(first / last) else math.nan

    def _forward_all(self) -> torch.Tensor:
        was = self.model.training
        self.model.eval()
        try:
            return self.model(self.X)
        finally:
            self.model.train(was)

    def end(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def label(rec: TorchRecorder, summary: dict[str, Any]) -> dict[str, list[str]]:
    """``measure.label`` on the summary, plus THROUGH_TIME for a recurrent model."""
    out = measure.label(summary)
    ratios = [r for r in rec.time_ratio if math.isfinite(r)]
    summary["time_ratio_first_last"] = float(np.median(ratios)) if ratios else math.nan
    if ratios and summary["time_ratio_first_last"] < 1e-3:
        recurrent = [n for n, m in rec.linears if isinstance(m, nn.RNNBase)]
        out["vanishing_gradients"] = recurrent + [n for n in out.get("vanishing_gradients", []) if n not in recurrent]
    return out
