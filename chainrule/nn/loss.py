"""Loss layers with torch.nn's signatures: each validates its settings once and calls its functional form.

Their repr is the bare class name, as torch's (``CrossEntropyLoss()`` whatever the settings).

``size_average`` and ``reduce`` are torch's deprecated spellings of ``reduction`` and are translated the
same way (with torch's warning); a string in ``size_average``'s place is taken as ``reduction``.
"""

from __future__ import annotations

from typing import Any

from chainrule.engine.tensor import Tensor, to_array
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn._checks import integer, real
from chainrule.nn.module import Module


class _Loss(Module):
    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F.legacy_reduction(size_average, reduce, reduction, type(self).__name__)


class _WeightedLoss(_Loss):
    """A loss with an optional ``weight`` (kept as the buffer ``weight``, as torch registers it)."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", None if weight is None else _constant(weight, type(self).__name__))


def _constant(value: Any, where: str) -> Tensor:
    return Tensor._wrap(to_array(value, where=where))


def _weight(module: Module) -> Any:
    return module._buffers.get("weight")


class MSELoss(_Loss):
    """Mean squared error between input and target of the same shape (target: Tensor or array).

    Raises:
        ValueError: ``reduction`` is not 'mean', 'sum' or 'none'.
    """

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.mse_loss(x, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error between input and target of the same shape.

    Raises:
        ValueError: ``reduction`` is not 'mean', 'sum' or 'none'.
    """

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.l1_loss(x, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """0.5·d²/beta where |d| < beta, else |d| - 0.5·beta (``beta=0``: the L1 loss), as ``torch.nn.SmoothL1Loss``.

    Raises:
        ValueError: ``beta`` < 0 or a bad ``reduction``.
    """

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = real(beta, "beta", "SmoothL1Loss", low=0.0)

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(x, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5·d² where |d| < delta, else delta·(|d| - 0.5·delta), as ``torch.nn.HuberLoss``.

    Raises:
        ValueError: ``delta`` <= 0 or a bad ``reduction``.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = real(delta, "delta", "HuberLoss")
        if not self.delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta!r}")

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.huber_loss(x, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1] (e.g. after a Sigmoid); each log is clamped at -100.

    Raises:
        ValueError: a bad ``reduction``.
    """

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(x, target, weight=_weight(self), reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy on logits (sigmoid built in), stable for logits of any size.

    Args:
        weight: a weight per element (broadcast against the input).
        reduction: 'mean', 'sum' or 'none'.
        pos_weight: a weight for the positive examples of each class (broadcast over the last dimension).

    Raises:
        ValueError: ``reduction`` is not 'mean', 'sum' or 'none'.
    """

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        if isinstance(weight, str):  # BCEWithLogitsLoss("sum"): chainrule's earlier (reduction) signature
            weight, reduction = None, weight
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", None if pos_weight is None else _constant(pos_weight, "BCEWithLogitsLoss"))

    def forward(self, x: Tensor, target: Any) -> Tensor:
        pos_weight = self._buffers.get("pos_weight")
        return F.binary_cross_entropy_with_logits(
            x, target, weight=_weight(self), reduction=self.reduction,
            pos_weight=pos_weight)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (e.g. after LogSoftmax) at integer class labels.

    Args:
        weight: a weight per class (C,).
        ignore_index: a label that counts for nothing.
        reduction: 'mean' (divided by the summed weights of the counted samples), 'sum' or 'none'.

    Raises:
        ValueError: a bad argument, quoted.
    """

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = integer(ignore_index, "ignore_index", "NLLLoss")

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.nll_loss(x, target, weight=_weight(self), ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy from logits (N, C) (or (C,), or (N, C, d1, ...)), as ``torch.nn.CrossEntropyLoss``.

    Targets are integer class labels in [0, C), or class probabilities of the input's shape.

    Args:
        weight: a weight per class (C,); 'mean' then divides by the summed weights of the counted samples.
        ignore_index: a label that counts for nothing.
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: in [0, 1]; the target becomes (1 - ε)·target + ε/C.

    Raises:
        ValueError: a bad argument, quoted.

    >>> import chainrule as cr
    >>> loss = CrossEntropyLoss()(cr.tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1])
    >>> round(loss.item(), 4)
    0.1269
    """

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = integer(ignore_index, "ignore_index", "CrossEntropyLoss")
        self.label_smoothing = real(label_smoothing, "label_smoothing", "CrossEntropyLoss", 0.0, 1.0)

    def forward(self, x: Tensor, target: Any) -> Tensor:
        weight = self._buffers.get("weight")
        return F.cross_entropy(x, target, weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)
