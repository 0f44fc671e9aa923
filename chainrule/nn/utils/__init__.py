"""Gradient clipping, as ``torch.nn.utils``: the standard cure for exploding gradients."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.engine.tensor import Tensor

__all__ = ["NonFiniteNormError", "clip_grad_norm_", "clip_grad_value_", "rnn"]


def _grads(parameters: Tensor | Iterable[Tensor], where: str) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(
            f"{where}: expected a Tensor or an iterable of Tensors (e.g. model.parameters()), "
            f"got {type(parameters).__name__}"
        ) from None
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: expected Tensors, got a {type(p).__name__} among the parameters")
    return [p._grad for p in params if p._grad is not None]


def _non_negative(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:  # type: ignore[operator]  # numbers.Real's stub has only < and <=
        raise ValueError(f"{where}: {name} must be a non-negative number, got {value!r}")
    return float(value)


class NonFiniteNormError(RuntimeError, ValueError):
    """``clip_grad_norm_(..., error_if_nonfinite=True)`` found a NaN or infinite total norm (RuntimeError, as torch)."""


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float | str = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale all gradients together, in place, so their joint norm is at most ``max_norm``.

    Args:
        parameters: a Tensor or an iterable of Tensors (parameters without a gradient are skipped).
        max_norm: the largest allowed norm.
        norm_type: p of the p-norm (``float('inf')`` or ``'inf'`` for the largest absolute value).
        error_if_nonfinite: raise when the total norm is NaN or infinite, instead of scaling by it.
        foreach: accepted as in torch (a speed setting there; chainrule has one implementation).

    Returns the total norm before clipping, as a 0-d tensor in the gradients' dtype (as torch: ``.item()``).

    Raises:
        ValueError: ``max_norm`` is negative or ``norm_type`` is not positive.
        NonFiniteNormError: the total norm is not finite and ``error_if_nonfinite`` is True.

    >>> import chainrule as cr
    >>> w = cr.tensor([3.0, 4.0], requires_grad=True); w.grad = w.data.clone()
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> [round(float(g), 4) for g in w.grad]
    [0.6, 0.8]
    """
    max_norm = _non_negative(max_norm, "max_norm", "clip_grad_norm_")
    if isinstance(norm_type, str) and norm_type.strip().lower() in ("inf", "+inf", "infinity"):
        norm_type = math.inf  # torch takes float(norm_type): the string 'inf' too
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be a positive number or inf, got {norm_type!r}")
    norm_type = float(norm_type)
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return Tensor._wrap(np.array(0.0, np.float32))
    if math.isinf(norm_type):
        total = max(float(np.abs(g).max(initial=0.0)) for g in grads)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads))
    else:
        total = sum(float((np.abs(g) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise NonFiniteNormError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite ({total}), so it "
            "cannot be clipped; set error_if_nonfinite=False to scale the gradients by it anyway")
    coef = max_norm / (total + 1e-6)  # PyTorch's epsilon, so a zero norm never divides by zero
    if coef < 1.0:
        for g in grads:
            g *= coef
    return Tensor._wrap(np.array(total, dtype=np.result_type(*grads)))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value], in place.

    Raises:
        ValueError: ``clip_value`` is negative.
    """
    clip_value = _non_negative(clip_value, "clip_value", "clip_grad_value_")
    for g in _grads(parameters, "clip_grad_value_"):
        np.clip(g, -clip_value, clip_value, out=g)


from chainrule.nn.utils import rnn  # noqa: E402 - torch.nn.utils.rnn (it needs nothing from here)
