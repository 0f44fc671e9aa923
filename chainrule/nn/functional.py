"""The functional form of every layer and loss, as ``torch.nn.functional``: no state, just ops.

Layers hold parameters and call these; each one is a thin layer over the engine's ops
(fused ones where they exist: ``linear``, ``batch_norm`` in training, ``cross_entropy``).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from chainrule.engine import ops
from chainrule.engine.ops import gelu, leaky_relu, linear
from chainrule.engine.random import get_generator
from chainrule.engine.tensor import Tensor, to_array

__all__ = [
    "batch_norm", "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "gelu", "l1_loss",
    "layer_norm", "leaky_relu", "linear", "log_softmax", "mse_loss", "relu", "sigmoid", "softmax", "tanh",
]

REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------- activations


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise.

    >>> import chainrule as cr
    >>> relu(cr.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return ops.ReLU.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), elementwise, without overflow for large |x|."""
    return ops.Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """The hyperbolic tangent, elementwise."""
    return ops.Tanh.apply(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (stable for inputs of any size)."""
    return ops.softmax(x, dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log(softmax(x)) along ``dim``, computed without forming the softmax."""
    return ops.log_softmax(x, dim)


# ---------------------------------------------------------------------------- dropout


def check_probability(p: Any, where: str) -> float:
    """Return ``p`` as a float, or raise a ValueError quoting it unless it is a number in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:  # NaN fails 0 <= p
        raise ValueError(f"{where}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


ALL_DROPPED = "{where}: p=1.0 drops every unit, so the layers before it get no gradient and the model cannot learn"


def drop(x: Tensor, p: float) -> Tensor:
    """Inverted dropout of a validated ``p`` in (0, 1]: a constant mask multiply, so backward is the same mask."""
    data = x._data
    if p == 1:  # no 1/(1-p) scale: that would be 0/0
        mask = np.zeros(data.shape, dtype=data.dtype)
    else:
        keep = get_generator().random(data.shape, dtype=np.float32) >= p
        mask = keep * data.dtype.type(1 / (1 - p))
    return ops.Mul.apply(x, mask)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale survivors by 1/(1-p); identity unless training.

    Args:
        x: input tensor.
        p: drop probability in [0, 1]; 0 returns ``x`` itself, 1 returns zeros (and warns).
        training: when False, return ``x`` unchanged.

    Raises:
        ValueError: ``p`` is not a number in [0, 1].

    >>> import chainrule as cr
    >>> x = cr.ones(4)
    >>> dropout(x, 0.5, training=False) is x
    True
    """
    p = check_probability(p, "dropout")
    if not training or p == 0:
        return x
    if p == 1:
        warnings.warn(ALL_DROPPED.format(where="dropout"), UserWarning, stacklevel=2)
    return drop(x, p)


# ---------------------------------------------------------------------------- normalization


def _array(buffer: Any) -> np.ndarray | None:
    return buffer._data if isinstance(buffer, Tensor) else buffer


def batch_norm(
    x: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization of (N, C) or (N, C, L) input over every axis but the channel axis 1.

    Training uses the batch's statistics (the fused ``ops.BatchNorm``) and, when running
    statistics are given, updates them in place: ``running = (1 - momentum)·running + momentum·batch``
    with the unbiased batch variance, as PyTorch. Evaluation uses the running statistics.

    Raises:
        ValueError: the input is not 2-D or 3-D, training sees one value per channel, or eval
            has no running statistics.
    """
    if x.ndim not in (2, 3):
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, L), got shape {x.shape}")
    channels_last = x.transpose(1, 2) if x.ndim == 3 else x  # the fused op normalizes over all axes but the last
    running_mean, running_var = _array(running_mean), _array(running_var)
    if training:
        count = x._data.size // x.shape[1]
        if count < 2:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape {x.shape}; "
                "use a batch of at least 2 samples (or call .eval())"
            )
        out = ops.BatchNorm.apply(channels_last, weight, bias, eps)
        if running_mean is not None:
            fn = out.grad_fn
            if fn is not None:
                mean, var = fn.batch_mean, fn.batch_var
            else:  # no graph was recorded (e.g. under no_grad), so the op kept no statistics
                axes = tuple(range(x.ndim - 1))
                mean, var = channels_last._data.mean(axis=axes), channels_last._data.var(axis=axes)
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += (momentum * count / (count - 1)) * var  # unbiased, as PyTorch
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation (training=False) needs running_mean and running_var")
        dtype = x._data.dtype
        inv_std = (1 / np.sqrt(running_var + eps)).astype(dtype, copy=False)
        out = (channels_last - running_mean.astype(dtype, copy=False)) * inv_std
        if weight is not None:
            out = out * weight
        if bias is not None:
            out = out + bias
    return out.transpose(1, 2) if x.ndim == 3 else out


def layer_norm(
    x: Tensor,
    normalized_shape: tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dimensions of each sample (biased variance).

    Raises:
        ValueError: the input's trailing dimensions are not ``normalized_shape``.
    """
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if x.ndim < k or x.shape[x.ndim - k :] != normalized_shape:
        raise ValueError(
            f"layer_norm: expected input whose last dimensions are {normalized_shape}, got shape {x.shape}"
        )
    axes = tuple(range(x.ndim - k, x.ndim))
    centered = x - x.mean(axes, keepdims=True)
    var = (centered * centered).mean(axes, keepdims=True)
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# ---------------------------------------------------------------------------- losses


def check_reduction(reduction: Any, where: str) -> str:
    """Return ``reduction`` or raise a ValueError quoting it unless it is 'mean', 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of 'mean', 'sum', 'none', got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _target(target: Any, x: Tensor, where: str) -> Any:
    """The target as a constant array in ``x``'s dtype (or as is, if it is a tensor that needs a gradient)."""
    if isinstance(target, Tensor):
        array = target._data
        if not target.requires_grad:
            target = array = array if array.dtype == x._data.dtype else array.astype(x._data.dtype)
    else:
        # straight to x's dtype: a float64 target for float64 input must not pass through float32 on its way
        target = array = to_array(target, x._data.dtype, where=where)
    if array.shape != x.shape:
        raise ValueError(
            f"{where}: input and target must have the same shape, got input {x.shape} and target {array.shape}"
            + ("; reshape one of them (e.g. target.reshape(-1, 1))" if array.size == x._data.size else "")
        )
    return target


def mse_loss(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (x - target)², reduced by 'mean', 'sum' or 'none' (one fused op).

    Raises:
        ValueError: shapes differ or ``reduction`` is unknown.

    >>> import chainrule as cr
    >>> mse_loss(cr.tensor([1.0, 3.0]), [0.0, 0.0]).item()
    5.0
    """
    check_reduction(reduction, "mse_loss")
    return ops.MSE.apply(x, _target(target, x, "mse_loss"), reduction)


def l1_loss(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error |x - target|, reduced by 'mean', 'sum' or 'none'.

    Raises:
        ValueError: shapes differ or ``reduction`` is unknown.
    """
    check_reduction(reduction, "l1_loss")
    return _reduce((x - _target(target, x, "l1_loss")).abs(), reduction)


def binary_cross_entropy_with_logits(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(x) against targets in [0, 1], stable for logits of any size.

    Uses softplus(x) - x·target, which equals -[t·log σ(x) + (1-t)·log(1-σ(x))] and never overflows.

    Raises:
        ValueError: shapes differ or ``reduction`` is unknown.
    """
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _target(target, x, "binary_cross_entropy_with_logits")
    return _reduce(ops.Softplus.apply(x) - x * target, reduction)


def class_labels(target: Any, logits: Tensor, where: str) -> np.ndarray:
    """Integer labels (N,) in [0, C) for logits (N, C), or a ValueError/TypeError that says what is wrong."""
    labels = target._data if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: target must hold integer class labels, got dtype {labels.dtype}"
            + ("; convert it with .astype(int)" if labels.dtype.kind in "fb" else "")
        )
    n, classes = logits.shape
    if labels.shape != (n,):
        raise ValueError(
            f"{where}: expected target of shape ({n},), one label per row of the (N, C) = {logits.shape} input, "
            f"got shape {labels.shape}"
        )
    if n and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise ValueError(f"{where}: class labels must be in [0, {classes}) for {classes} classes, got label {bad}")
    return labels


def cross_entropy(x: Tensor, target: Any, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from logits (N, C) and integer class labels (N,), fused and stable.

    Args:
        x: unnormalized scores (logits), shape (N, C).
        target: class labels in [0, C), a Tensor, NumPy array or list of ints.
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: in [0, 1]; mixes the one-hot target with the uniform distribution.

    Raises:
        ValueError: bad shapes, labels out of range, bad ``reduction`` or ``label_smoothing``.
        TypeError: labels are not integers.

    >>> import chainrule as cr
    >>> round(cross_entropy(cr.tensor([[0.0, 0.0]]), [1]).item(), 4)
    0.6931
    """
    check_reduction(reduction, "cross_entropy")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real) or not (
        0 <= label_smoothing <= 1
    ):
        raise ValueError(f"cross_entropy: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    if x.ndim != 2:
        raise ValueError(f"cross_entropy: expected logits of shape (N, C), got shape {x.shape}")
    labels = class_labels(target, x, "cross_entropy")
    return ops.CrossEntropy.apply(x, labels, float(label_smoothing), reduction)
