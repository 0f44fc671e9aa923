"""Loss layers: each validates its settings once and calls its functional form."""

from __future__ import annotations

from typing import Any

from chainrule.engine.tensor import Tensor
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn._checks import real
from chainrule.nn.module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F.check_reduction(reduction, type(self).__name__)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error between input and target of the same shape (target: Tensor or array).

    Raises:
        ValueError: ``reduction`` is not 'mean', 'sum' or 'none'.
    """

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.mse_loss(x, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error between input and target of the same shape.

    Raises:
        ValueError: ``reduction`` is not 'mean', 'sum' or 'none'.
    """

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.l1_loss(x, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (sigmoid built in), stable for logits of any size.

    Raises:
        ValueError: ``reduction`` is not 'mean', 'sum' or 'none'.
    """

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(x, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (N, C) and integer class labels (N,) in [0, C).

    Args:
        label_smoothing: in [0, 1]; the target becomes (1 - ε)·one_hot + ε/C.
        reduction: 'mean', 'sum' or 'none'.

    Raises:
        ValueError: a bad argument, quoted.

    >>> import chainrule as cr
    >>> loss = CrossEntropyLoss()(cr.tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1])
    >>> round(loss.item(), 4)
    0.1269
    """

    def __init__(self, label_smoothing: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.label_smoothing = real(label_smoothing, "label_smoothing", "CrossEntropyLoss", 0.0, 1.0)

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(x, target, self.reduction, self.label_smoothing)

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] + ([f"label_smoothing={self.label_smoothing}"] if self.label_smoothing else [])
        return ", ".join(p for p in parts if p)
