"""The functional form of every layer and loss, as ``torch.nn.functional``: no state, just ops.

Layers hold parameters and call these; each one is a thin layer over the engine's ops
(fused ones where they exist: ``linear``, ``batch_norm`` in training, ``cross_entropy``, ``mse_loss``).
Activations the engine has no op for (``silu``, ``elu``, ``mish``, ...) are built from its primitives,
with PyTorch's values and gradients (``hardtanh`` included: gradient 0 at the bounds, as torch).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.engine import conv as _conv
from chainrule.engine import ops
from chainrule.engine.autograd import is_grad_enabled
from chainrule.engine.backend import DtypeError, ShapeError
from chainrule.engine.ops import gelu, linear
from chainrule.engine.random import get_generator
from chainrule.engine.tensor import Tensor, to_array
from chainrule.nn import _fused

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv1d", "conv2d", "cross_entropy", "dropout", "dropout2d", "elu",
    "embedding", "gelu", "hardtanh", "huber_loss", "interpolate", "l1_loss", "layer_norm", "leaky_relu", "linear",
    "log_softmax", "logsigmoid", "max_pool1d", "max_pool2d", "mish", "mse_loss", "nll_loss", "one_hot", "pad", "relu",
    "relu6", "scaled_dot_product_attention", "sigmoid", "silu", "smooth_l1_loss", "softmax", "softplus",
    "softsign", "tanh", "tanhshrink",
]

REDUCTIONS = ("mean", "sum", "none")


class TargetOutOfRangeError(IndexError, ValueError):
    """A class label or an embedding index outside its range: an IndexError, as in PyTorch (and a ValueError)."""


# ---------------------------------------------------------------------------- activations


def _float_tensor(x: Any, where: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise DtypeError(f"{where}: expected a floating-point tensor, got dtype {x._data.dtype}")
    return x


def in_place(x: Tensor, compute: Callable[[Tensor], Tensor], where: str) -> Tensor:
    """``inplace=True``: ``compute(x)`` written into ``x``'s memory and ``x`` returned, as PyTorch does (with its
    checks: not on a leaf that requires grad). The result is computed out of place and copied in, so it costs a
    copy more than ``inplace=False`` here; what it buys is PyTorch's meaning (``x`` itself changes).

    One exception: when ``x`` is, in chainrule's graph, a view of another tensor (a layer's output that chainrule
    makes by a permute, as BatchNorm2d's), chainrule cannot rewrite the graph under it, and writing into its
    memory could change what that tensor's backward reads; there the result is a new tensor and ``x`` keeps its
    values (``inplace=False``'s behaviour). A network's output is the same either way."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(x).__name__}")
    ctx = x._ctx
    if ctx is not None and ctx.is_view and x.requires_grad and is_grad_enabled():
        return compute(x)
    return x._inplace(compute, where=where)


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), elementwise; ``inplace=True`` overwrites ``x`` and returns it, as in PyTorch.

    >>> import chainrule as cr
    >>> relu(cr.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    if inplace:
        return in_place(x, ops.ReLU.apply, "relu_")
    return ops.ReLU.apply(x)


def relu_(x: Tensor) -> Tensor:
    """``F.relu_``: max(x, 0) written into ``x``."""
    return relu(x, inplace=True)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """max(x, 0) + negative_slope·min(x, 0) (``inplace=True`` overwrites ``x`` and returns it)."""
    if inplace:
        return in_place(x, lambda t: ops.leaky_relu(t, negative_slope), "leaky_relu_")
    return ops.leaky_relu(x, negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), elementwise, without overflow for large |x|."""
    return ops.Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """The hyperbolic tangent, elementwise."""
    return ops.Tanh.apply(x)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x·sigmoid(x) (the swish), elementwise.

    >>> import chainrule as cr
    >>> round(silu(cr.tensor([1.0])).item(), 4)
    0.7311
    """
    if inplace:
        return in_place(x, silu, "silu_")
    x = _float_tensor(x, "silu")
    return x * ops.Sigmoid.apply(x)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha·(exp(x) - 1)."""
    if inplace:
        return in_place(x, lambda t: elu(t, alpha), "elu_")
    x = _float_tensor(x, "elu")
    negative = (ops.clip(x, None, 0.0).exp() - 1) * float(alpha)  # exp of min(x, 0): never overflows
    return ops.where(x._data > 0, x, negative)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold (as torch), without overflow."""
    x = _float_tensor(x, "softplus")
    beta = float(beta)
    smooth = ops.Softplus.apply(x) if beta == 1 else ops.Softplus.apply(x * beta) / beta
    return ops.where(x._data * x._data.dtype.type(beta) > threshold, x, smooth)


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x)), elementwise."""
    if inplace:
        return in_place(x, mish, "mish_")
    x = _float_tensor(x, "mish")
    return x * ops.Tanh.apply(ops.Softplus.apply(x))


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient is 1 strictly inside and 0 at and beyond the bounds (torch's).

    Raises:
        ValueError: ``min_val`` > ``max_val``.
    """
    if inplace:
        return in_place(x, lambda t: hardtanh(t, min_val, max_val), "hardtanh_")
    x = _float_tensor(x, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val} and "
                         f"max_val={max_val}")
    a = x._data
    inside = (a > min_val) & (a < max_val)
    return ops.where(inside, x, Tensor._wrap(np.clip(a, min_val, max_val)))


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), as ``hardtanh(x, 0, 6)`` (torch's definition, gradient included)."""
    if inplace:
        return in_place(x, relu6, "relu6_")
    return hardtanh(x, 0.0, 6.0)


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|), elementwise."""
    x = _float_tensor(x, "softsign")
    return x / (x.abs() + 1)


def tanhshrink(x: Tensor) -> Tensor:
    """x - tanh(x), elementwise."""
    x = _float_tensor(x, "tanhshrink")
    return x - ops.Tanh.apply(x)


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), without overflow."""
    x = _float_tensor(x, "logsigmoid")
    return -ops.Softplus.apply(-x)


def _softmax_dim(x: Tensor, dim: int | None, name: str, stacklevel: int) -> int:
    """``dim``, or torch's implicit choice (0 for 0-, 1- and 3-d input, else 1) with torch's warning."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if x.ndim in (0, 1, 3) else 1


def softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (stable for inputs of any size); ``dtype`` casts the input first."""
    if dtype is not None:
        x = x.to(dtype)
    return ops.softmax(x, _softmax_dim(x, dim, "softmax", _stacklevel))


def log_softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed without forming the softmax; ``dtype`` casts the input first."""
    if dtype is not None:
        x = x.to(dtype)
    return ops.log_softmax(x, _softmax_dim(x, dim, "log_softmax", _stacklevel))


# ---------------------------------------------------------------------------- embedding and one-hot


def _indices(indices: Any, where: str) -> np.ndarray:
    array = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{where}: expected integer indices (an int64 or int32 tensor), got dtype {array.dtype}")
    return array


def embedding(
    input: Any,  # noqa: A002 - PyTorch's name
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer tensor ``input``.

    The result has shape ``input.shape + (embedding_dim,)``. The gradient adds up in the picked rows
    (repeated indices add), except the ``padding_idx`` row, which gets none. ``max_norm`` renormalizes the
    picked rows in place first (as torch), to at most that ``norm_type``-norm.

    Raises:
        TypeError: the indices are not integers.
        IndexError: an index is outside [0, num_embeddings).
        NotImplementedError: ``sparse=True`` (chainrule has no sparse gradients).

    >>> import chainrule as cr
    >>> embedding(cr.tensor([[0, 2]]), cr.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])).tolist()
    [[[0.0, 1.0], [4.0, 5.0]]]
    """
    return _embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, "embedding")


def _embedding(input: Any, weight: Tensor, padding_idx: int | None, max_norm: float | None, norm_type: float,  # noqa: A002
               scale_grad_by_freq: bool, sparse: bool, where: str) -> Tensor:
    if sparse:
        raise NotImplementedError(f"{where}: sparse=True is not available: chainrule has no sparse gradients; "
                                  "use sparse=False (a dense gradient gives the same SGD updates)")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"{where}: weight must be a 2-d Tensor (num_embeddings, embedding_dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    idx = _indices(input, where)
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].reshape(-1)[0]
        raise TargetOutOfRangeError(f"{where}: index {bad} is out of range for {n} embeddings "
                                    f"(valid: 0 to {n - 1})")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"{where}: padding_idx must be within num_embeddings ({n}), got {padding_idx}")
        padding_idx = int(padding_idx) % n
    if max_norm is not None:
        _renorm_rows(weight, idx, float(max_norm), float(norm_type))
    return _fused.Embedding.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


def _renorm_rows(weight: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """torch.embedding_renorm_: rows used by ``idx`` whose norm exceeds ``max_norm`` scaled down, in place."""
    rows = np.unique(idx)
    data = weight._data
    norms = np.linalg.norm(data[rows], ord=norm_type, axis=1) if norm_type != 2 else np.sqrt(
        (data[rows] * data[rows]).sum(axis=1))
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(data.dtype)
        data[rows[big]] *= scale[:, None]
        weight._bump_version()


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: shape ``tensor.shape + (num_classes,)``, 1 at each value's position.

    ``num_classes=-1`` takes the largest value + 1.

    Raises:
        TypeError: the values are not integers.
        ValueError: a value is negative or not below ``num_classes``, or classes can't be inferred from no values.

    >>> import chainrule as cr
    >>> one_hot(cr.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    labels = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer (int64) tensor of class values, got dtype {labels.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(labels.min())}")
    if num_classes == -1:
        if not labels.size:
            raise ValueError("one_hot: can not infer the total number of classes from an empty tensor; "
                             "pass num_classes")
        num_classes = int(labels.max()) + 1
    elif num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 (inferred) or >= 0, got {num_classes}")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, "
                         f"got {int(labels.max())}")
    out = np.zeros((*labels.shape, int(num_classes)), dtype=np.int64)
    np.put_along_axis(out, labels[..., None].astype(np.intp), 1, axis=-1)
    return Tensor._wrap(out)


# ---------------------------------------------------------------------------- dropout


def check_probability(p: Any, where: str) -> float:
    """Return ``p`` as a float, or raise a ValueError quoting it unless it is a number in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:  # type: ignore[operator]  # numbers.Real's stub has only < and <=; NaN fails 0 <= p
        raise ValueError(f"{where}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


ALL_DROPPED = "{where}: p=1.0 drops every unit, so the layers before it get no gradient and the model cannot learn"


def drop(x: Tensor, p: float, generator: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout of a validated ``p`` in (0, 1]: a constant mask multiply, so backward is the same mask.

    The mask is drawn from ``generator`` when given (a run that keeps its own stream), else the library's."""
    data = x._data
    if p == 1:  # no 1/(1-p) scale: that would be 0/0
        mask = np.zeros(data.shape, dtype=data.dtype)
    else:
        keep = (generator or get_generator()).random(data.shape, dtype=np.float32) >= p
        mask = keep * data.dtype.type(1 / (1 - p))
    return ops.Mul.apply(x, mask)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
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
    if inplace:
        return in_place(x, lambda t: drop(t, p), "dropout_")
    return drop(x, p)


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels: each (sample, channel) plane of (N, C, H, W) input (or each channel of unbatched
    (C, H, W) input) is dropped with probability ``p``, survivors scaled by 1/(1-p); identity unless training.

    Raises:
        ValueError: ``p`` is not in [0, 1] or the input is not 3-D or 4-D.
    """
    p = check_probability(p, "dropout2d")
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x.shape)}")
    if not training or p == 0:
        return x
    if p == 1:
        warnings.warn(ALL_DROPPED.format(where="dropout2d"), UserWarning, stacklevel=2)
    data = x._data
    channels = data.shape[: x.ndim - 2]
    if p == 1:
        mask = np.zeros(channels, dtype=data.dtype)
    else:
        mask = (get_generator().random(channels, dtype=np.float32) >= p) * data.dtype.type(1 / (1 - p))
    if inplace:
        return in_place(x, lambda t: ops.Mul.apply(t, mask[..., None, None]), "dropout2d_")
    return ops.Mul.apply(x, mask[..., None, None])


# ---------------------------------------------------------------------------- convolution, pooling, resampling


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D convolution of (N, C, L) input (or unbatched (C, L)) with weight (out, C/groups, k), as torch."""
    return _conv.conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D convolution of (N, C, H, W) input (or unbatched (C, H, W)) with weight (out, C/groups, kh, kw), as torch.

    ``padding`` is an int, a pair, 'valid' or 'same' (stride 1 only; an odd total puts the extra after).

    >>> import chainrule as cr
    >>> conv2d(cr.ones(1, 2, 5, 5), cr.ones(3, 2, 3, 3), padding="same").shape
    (1, 3, 5, 5)
    """
    return _conv.conv(2, input, weight, bias, stride, padding, dilation, groups)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,  # noqa: A002
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over windows of the last axis; the gradient goes to each window's first maximum, as torch."""
    return _conv.max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,  # noqa: A002
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over windows of the last two axes (stride defaults to the kernel); the gradient goes to each window's
    first maximum, as torch. ``return_indices`` also returns each maximum's flat index in its input plane."""
    return _conv.max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over windows of the last axis, with torch's divisor (padding counts unless count_include_pad=False)."""
    return _conv.avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over windows of the last two axes, with torch's divisor."""
    return _conv.avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average the last axis down to ``output_size`` bins, torch's [floor(i·L/out), ceil((i+1)·L/out)) windows."""
    return _conv.adaptive_avg_pool(1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average the last two axes down to ``output_size`` (an int, a pair; None keeps that size), as torch."""
    return _conv.adaptive_avg_pool(2, input, output_size)


pad = _conv.pad
interpolate = _conv.interpolate


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
    """Batch normalization of (N, C), (N, C, L) or (N, C, H, W) input over every axis but the channel axis 1.

    Training uses the batch's statistics (the fused ``ops.BatchNorm``) and, when running
    statistics are given, updates them in place: ``running = (1 - momentum)·running + momentum·batch``
    with the unbiased batch variance, as PyTorch. Evaluation uses the running statistics.

    Raises:
        ValueError: the input is not 2-D or 3-D, training sees one value per channel, or eval
            has no running statistics.
    """
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, L), got shape {x.shape} "
                         "((N, C, H, W) is accepted too, as for BatchNorm2d)")
    # the fused op normalizes over all axes but the last: move the channels there
    channels_last = x.transpose(1, 2) if x.ndim == 3 else x.permute(0, 2, 3, 1) if x.ndim == 4 else x
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
            if isinstance(fn, ops.BatchNorm):  # the op keeps the batch statistics when a graph was recorded
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
    return out.transpose(1, 2) if x.ndim == 3 else out.permute(0, 3, 1, 2) if x.ndim == 4 else out


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


def legacy_reduction(size_average: Any, reduce: Any, reduction: str, where: str) -> str:
    """torch's deprecated ``size_average``/``reduce`` turned into ``reduction`` (with torch's warning).

    A string in ``size_average``'s place is taken as ``reduction`` (``l1_loss(x, y, "sum")`` keeps working).
    """
    if isinstance(size_average, str):
        return check_reduction(size_average, where)
    if size_average is None and reduce is None:
        return check_reduction(reduction, where)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{result}' instead.",
                  UserWarning, stacklevel=3)
    return result


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _weighted_reduce(loss: Tensor, weight: np.ndarray | None, reduction: str) -> Tensor:
    """``loss`` reduced; with an elementwise ``weight``, ``sum(w·l)`` or ``sum(w·l) / sum(w)`` for 'mean'."""
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / weight.sum(dtype=weight.dtype)


def _target(target: Any, x: Tensor, where: str) -> Any:
    """The target as a constant array in ``x``'s dtype (or as is, if it is a tensor that needs a gradient)."""
    if isinstance(target, Tensor):
        array = target._data
        if not target.requires_grad:
            target = array = array if array.dtype == x._data.dtype else array.astype(x._data.dtype)
    else:
        # straight to x's dtype: a float64 target for float64 input must not pass through float32 on its way
        target = array = to_array(target, x._data.dtype, where=where)
    if array.shape != x._data.shape:
        raise ValueError(
            f"{where}: input and target must have the same shape, got input {x.shape} and target {array.shape}"
            + ("; reshape one of them (e.g. target.reshape(-1, 1))" if array.size == x._data.size else "")
        )
    return target


def _weight_array(value: Any, x: Tensor, where: str, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A weight as an array in ``x``'s dtype (weights carry no gradient, as in torch)."""
    array = to_array(value, x._data.dtype, where=where)
    if shape is not None and array.shape != shape:
        raise ValueError(f"{where}: {name} must have shape {shape}, got {array.shape}")
    return array


def _constant(value: Any, x: Tensor, where: str, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray | None:
    """An optional weight (None stays None) as :func:`_weight_array` gives it."""
    return None if value is None else _weight_array(value, x, where, name, shape)


def _elementwise_weight(weight: Any, x: Tensor, where: str) -> np.ndarray | None:
    if weight is None:
        return None
    array = to_array(weight, x._data.dtype, where=where)
    if array.shape != x.shape:
        raise ValueError(f"{where}: weight and input must have the same shape, got weight {array.shape} and "
                         f"input {x.shape}")
    return array


def mse_loss(x: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
             weight: Any = None) -> Tensor:
    """Mean squared error (x - target)², reduced by 'mean', 'sum' or 'none' (one fused op).

    ``weight`` (the input's shape) weighs each element; 'mean' then divides by ``sum(weight)``, as torch.

    Raises:
        ValueError: shapes differ or ``reduction`` is unknown.

    >>> import chainrule as cr
    >>> mse_loss(cr.tensor([1.0, 3.0]), [0.0, 0.0]).item()
    5.0
    """
    if size_average is not None or reduce is not None or reduction not in REDUCTIONS:
        reduction = legacy_reduction(size_average, reduce, reduction, "mse_loss")
    target = _target(target, x, "mse_loss")
    if weight is not None:
        return _weighted_reduce(ops.MSE.apply(x, target, "none"), _elementwise_weight(weight, x, "mse_loss"),
                                reduction)
    return ops.MSE.apply(x, target, reduction)


def l1_loss(x: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
            weight: Any = None) -> Tensor:
    """Mean absolute error |x - target|, reduced by 'mean', 'sum' or 'none' (``weight`` as in :func:`mse_loss`).

    Raises:
        ValueError: shapes differ or ``reduction`` is unknown.
    """
    reduction = legacy_reduction(size_average, reduce, reduction, "l1_loss")
    loss = (x - _target(target, x, "l1_loss")).abs()
    return _weighted_reduce(loss, _elementwise_weight(weight, x, "l1_loss"), reduction)


def smooth_l1_loss(x: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5·d²/beta where |d| < beta, else |d| - 0.5·beta, with d = x - target (``beta=0``: the L1 loss).

    Raises:
        ValueError: shapes differ, ``beta`` < 0, or ``reduction`` is unknown.
    """
    reduction = legacy_reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta!r}")
    if beta == 0:
        return l1_loss(x, target, reduction=reduction)
    d = x - _target(target, x, "smooth_l1_loss")
    ad = d.abs()
    loss = ops.where(ad._data < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(x: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None) -> Tensor:
    """0.5·d² where |d| < delta, else delta·(|d| - 0.5·delta), with d = x - target (``weight``: elementwise).

    Raises:
        ValueError: shapes differ, ``delta`` <= 0, or ``reduction`` is unknown.
    """
    check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    d = x - _target(target, x, "huber_loss")
    ad = d.abs()
    loss = ops.where(ad._data < delta, d * d * 0.5, (ad - 0.5 * delta) * float(delta))
    if weight is not None:  # torch's weighted Huber 'mean' is the plain mean of w·loss (not divided by sum(w))
        loss = loss * _elementwise_weight(weight, x, "huber_loss")
    return _reduce(loss, reduction)


def binary_cross_entropy(x: Tensor, target: Any, weight: Any = None, size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """-w·[t·log x + (1 - t)·log(1 - x)] for probabilities x in [0, 1], each log clamped to >= -100 (as torch).

    ``weight`` broadcasts against the input. The gradient is torch's w·(x - t) / max(x(1 - x), 1e-12).

    Raises:
        ValueError: shapes differ, a value of input or target is outside [0, 1], or ``reduction`` is unknown.

    >>> import chainrule as cr
    >>> round(binary_cross_entropy(cr.tensor([0.5]), [1.0]).item(), 4)
    0.6931
    """
    reduction = legacy_reduction(size_average, reduce, reduction, "binary_cross_entropy")
    x = _float_tensor(x, "binary_cross_entropy")
    t = _target(target, x, "binary_cross_entropy")
    for name, array in (("input", x._data), ("target", t._data if isinstance(t, Tensor) else t)):
        if array.size and not ((array >= 0) & (array <= 1)).all():
            raise ValueError(f"binary_cross_entropy: all elements of {name} should be between 0 and 1 "
                             f"(probabilities{', e.g. sigmoid outputs' if name == 'input' else ''}), got values in "
                             f"[{array.min()}, {array.max()}]"
                             + ("; for logits use binary_cross_entropy_with_logits" if name == "input" else ""))
    w = _constant(weight, x, "binary_cross_entropy", "weight")
    if w is not None:
        try:
            w = np.broadcast_to(w, x.shape)
        except ValueError:
            raise ValueError(f"binary_cross_entropy: weight of shape {w.shape} does not broadcast to the input's "
                             f"shape {x.shape}") from None
    return _reduce(_fused.BinaryCrossEntropy.apply(x, t, w), reduction)


def binary_cross_entropy_with_logits(x: Tensor, target: Any, weight: Any = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of sigmoid(x) against targets in [0, 1], stable for logits of any size.

    Uses softplus(x) - x·t, which equals -[t·log σ(x) + (1-t)·log(1-σ(x))] and never overflows; with
    ``pos_weight`` (broadcast over the last dimension: one weight per class) the positive term is weighted,
    ``(1 - t)·x + (1 + (pos_weight - 1)·t)·softplus(-x)``; ``weight`` weighs each element (broadcast).

    Raises:
        ValueError: shapes differ or ``reduction`` is unknown.
    """
    if isinstance(weight, str):  # (x, target, reduction) positionally, as chainrule took it before
        weight, reduction = None, weight
    reduction = legacy_reduction(size_average, reduce, reduction, "binary_cross_entropy_with_logits")
    target = _target(target, x, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = ops.Softplus.apply(x) - x * target
    else:
        pw = _weight_array(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
        log_weight = (pw - 1) * target + 1
        loss = (1 - target) * x + log_weight * ops.Softplus.apply(-x)
    if weight is not None:
        loss = loss * _weight_array(weight, x, "binary_cross_entropy_with_logits", "weight")
    return _reduce(loss, reduction)


def _labels(target: Any, x: Tensor, where: str, ignore_index: int) -> np.ndarray:
    """Integer class labels for input (N, C, d1, ...) or (C,), checked: shape (N, d1, ...) or (), values in
    [0, C) or ``ignore_index``."""
    return _checked_labels(target, x, where, ignore_index)[0]


def _checked_labels(target: Any, x: Tensor, where: str, ignore_index: int) -> tuple[np.ndarray, bool]:
    """(labels, whether none equals ``ignore_index``), checked as :func:`_labels` says."""
    labels = target._data if isinstance(target, Tensor) else np.asarray(target)
    shape = x._data.shape  # read once: Tensor.shape and .ndim are properties
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: target must hold integer class labels, got dtype {labels.dtype}"
            + ("; convert it with .astype(int)" if labels.dtype.kind in "fb" else "")
            + (f" (or give class probabilities of the input's shape {shape})" if labels.dtype.kind == "f" else "")
        )
    if len(shape) == 1 and labels.ndim == 0:
        expected: tuple[int, ...] = ()
    elif len(shape) == 1 or len(shape) == 0:
        raise ValueError(f"{where}: expected logits of shape (N, C), got shape {shape} with a target of shape "
                         f"{labels.shape} (an unbatched (C,) input takes a 0-d target)")
    else:
        expected = (shape[0], *shape[2:])
    if labels.shape != expected:
        if len(shape) == 2:
            raise ValueError(f"{where}: expected target of shape ({shape[0]},), one label per row of the (N, C) = "
                             f"{shape} input, got shape {labels.shape}")
        raise ValueError(f"{where}: expected target of shape {expected} for input of shape {shape}, got shape "
                         f"{labels.shape}")
    classes = shape[0] if len(shape) == 1 else shape[1]
    if not labels.size:
        return labels, True
    if labels.min() < 0 or labels.max() >= classes:
        bad = ((labels < 0) | (labels >= classes)) & (labels != ignore_index)
        if bad.any():
            raise TargetOutOfRangeError(f"{where}: class labels must be in [0, {classes}) for {classes} classes, got "
                                        f"label {labels[bad].reshape(-1)[0]}")
        return labels, False  # out of [0, C): some equal ignore_index
    return labels, (ignore_index < 0 or ignore_index >= classes) or not (labels == ignore_index).any()


def _nll(logp: Tensor, labels: np.ndarray, weight: np.ndarray | None, ignore_index: int, reduction: str) -> Tensor:
    """torch's nll_loss on log-probabilities (N, C, d1, ...) and labels (N, d1, ...), checked already."""
    ignored = labels == ignore_index
    any_ignored = bool(ignored.any())
    safe = np.where(ignored, 0, labels) if any_ignored else labels
    picked = ops.take_along_dim(logp, np.expand_dims(safe, 1), 1)
    picked = picked.reshape(*labels.shape)
    dtype = logp._data.dtype
    if weight is None and not any_ignored:
        return _reduce(-picked, reduction)
    w = weight[safe] if weight is not None else np.ones(labels.shape, dtype)
    if any_ignored:
        w[ignored] = 0
    losses = -picked * w
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    denominator = w.sum(dtype=dtype)
    if denominator == 0:  # every target ignored: torch gives nan, and a zero gradient
        return total * 0.0 + float("nan")
    return total / denominator


def nll_loss(x: Tensor, target: Any, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
             reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) (or (C,), or (N, C, d1, ...)) at integer labels.

    The loss of sample i is ``-weight[y_i]·x[i, y_i]``; labels equal to ``ignore_index`` count for nothing,
    and 'mean' divides by the summed weights of the counted samples (their number without ``weight``).

    Raises:
        TypeError: labels are not integers.
        ValueError: the shapes don't fit, or ``reduction`` is unknown.
        IndexError: a label is outside [0, C) and not ``ignore_index``.

    >>> import chainrule as cr
    >>> nll_loss(cr.tensor([[-1.0, -2.0], [-3.0, -0.5]]), [0, 1]).item()
    0.75
    """
    reduction = legacy_reduction(size_average, reduce, reduction, "nll_loss")
    x = _float_tensor(x, "nll_loss")
    labels = _labels(target, x, "nll_loss", ignore_index)
    classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    w = _constant(weight, x, "nll_loss", "weight", (classes,))
    if x.ndim == 1:
        out = _nll(x.reshape(1, classes), labels.reshape(1), w, ignore_index, reduction)
        return out.reshape() if reduction == "none" else out
    return _nll(x, labels, w, ignore_index, reduction)


def class_labels(target: Any, logits: Tensor, where: str) -> np.ndarray:
    """Integer labels (N,) in [0, C) for logits (N, C), or a ValueError/TypeError that says what is wrong."""
    return _labels(target, logits, where, ignore_index=-100)


def _check_smoothing(label_smoothing: Any) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real) or not (
        0 <= label_smoothing <= 1  # type: ignore[operator]  # numbers.Real's stub has only < and <=
    ):
        raise ValueError(f"cross_entropy: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    return float(label_smoothing)


def cross_entropy(
    x: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy from logits, as ``torch.nn.functional.cross_entropy``.

    Args:
        x: unnormalized scores (logits), shape (N, C), (C,) or (N, C, d1, ...).
        target: class labels in [0, C) (a Tensor, NumPy array or list of ints) of shape (N,), () or
            (N, d1, ...); or class probabilities, a float tensor of the input's shape.
        weight: a weight per class (C,); 'mean' then divides by the summed weights of the counted samples.
        ignore_index: a label that contributes nothing (nor to the 'mean' denominator).
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution over the C classes.

    Plain (N, C) logits with labels and no weight or ignored label take one fused op (``CrossEntropy``).

    Raises:
        ValueError: bad shapes, labels out of range (also an IndexError, as torch), bad ``reduction`` or
            ``label_smoothing``.
        TypeError: labels are not integers (and not probabilities of the input's shape).

    >>> import chainrule as cr
    >>> round(cross_entropy(cr.tensor([[0.0, 0.0]]), [1]).item(), 4)
    0.6931
    """
    if size_average is not None or reduce is not None or reduction not in REDUCTIONS:
        reduction = legacy_reduction(size_average, reduce, reduction, "cross_entropy")
    if type(label_smoothing) is not float or not 0.0 <= label_smoothing <= 1.0:
        label_smoothing = _check_smoothing(label_smoothing)
    if not isinstance(x, Tensor):
        raise TypeError(f"cross_entropy: expected logits as a Tensor, got {type(x).__name__}")
    if not isinstance(target, Tensor | np.ndarray):
        target = np.asarray(target)
    raw = target._data if isinstance(target, Tensor) else target
    if raw.dtype.kind == "f" and raw.shape == x.shape and x.ndim >= 1:
        return _cross_entropy_probs(x, target, weight, reduction, label_smoothing)
    labels, none_ignored = _checked_labels(raw, x, "cross_entropy", ignore_index)
    if x.ndim == 2 and weight is None and none_ignored:
        return ops.CrossEntropy.apply(x, labels, label_smoothing, reduction)  # the fast path: one fused op
    if x.ndim == 1:
        out = cross_entropy(x.reshape(1, x.shape[0]), labels.reshape(1), weight, None, ignore_index, None,
                            reduction, label_smoothing)
        return out.reshape() if reduction == "none" else out
    classes = x.shape[1]
    w = _constant(weight, x, "cross_entropy", "weight", (classes,))
    logp = ops.log_softmax(x, 1)
    loss = _nll(logp, labels, w, ignore_index, reduction)
    if not label_smoothing:
        return loss
    class_shape = (classes,) + (1,) * (x.ndim - 2)
    smooth = -(logp if w is None else logp * w.reshape(class_shape)).sum(1)
    ignored = labels == ignore_index
    if ignored.any():
        smooth = smooth * ~ignored
    if reduction == "mean":
        counted = labels[~ignored]
        denominator = w[counted].sum(dtype=w.dtype) if w is not None else x._data.dtype.type(counted.size)
        smooth = smooth.sum() / denominator if denominator != 0 else smooth.sum() * 0.0 + float("nan")
    elif reduction == "sum":
        smooth = smooth.sum()
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def _cross_entropy_probs(x: Tensor, target: Any, weight: Any, reduction: str, label_smoothing: float) -> Tensor:
    """Cross-entropy against class probabilities of the input's shape (torch's probability-target form)."""
    class_dim = 0 if x.ndim == 1 else 1
    classes = x.shape[class_dim]
    t = _target(target, x, "cross_entropy")
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / classes
    prod = ops.log_softmax(x, class_dim) * t
    if weight is not None:
        w = _weight_array(weight, x, "cross_entropy", "weight", (classes,))
        prod = prod * w.reshape((classes,) + (1,) * (x.ndim - class_dim - 1))
    if reduction == "none":
        return -prod.sum(class_dim)
    total = -prod.sum()
    if reduction == "sum":
        return total
    if x._data.size == 0:
        return total * 0.0 + float("nan")
    return total / x._data.dtype.type(x._data.size // classes)



def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,  # noqa: A002 - torch's names
              out: Any = None) -> Tensor:
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``), as ``F.normalize``: unit vectors."""
    if out is not None:
        raise NotImplementedError("normalize(out=...): chainrule returns a new tensor; assign the result instead")
    x = _float_tensor(input, "normalize")
    return x / ops.norm(x, p, dim, True).clamp(min=eps)

# ---------------------------------------------------------------------------- attention


def attention_bias(mask: Any, where: str, name: str, dtype: np.dtype, allowed: bool) -> np.ndarray | None:
    """A mask as the constant added to attention scores: a bool mask becomes 0 and -inf in ``dtype`` (``allowed``:
    True marks the positions that may attend, as ``scaled_dot_product_attention`` reads it; else True marks those
    that may not, as ``MultiheadAttention`` reads it); a float mask is added as it is."""
    if mask is None:
        return None
    array = mask._data if isinstance(mask, Tensor) else None
    if array is None:
        raise TypeError(f"{where}: {name} must be a bool or float Tensor, got {type(mask).__name__}")
    if array.dtype == np.bool_:
        blocked = ~array if allowed else array
        return np.where(blocked, dtype.type(-np.inf), dtype.type(0))
    if array.dtype.kind != "f":
        raise DtypeError(f"{where}: {name} must be a bool or float tensor (as in PyTorch), got {array.dtype}")
    if array.dtype != dtype:
        raise DtypeError(f"{where}: a float {name} must have the query's dtype {dtype}, got {array.dtype} (as in "
                         f"PyTorch); convert it with .to({dtype})")
    return array


def _masked_rows(bias: np.ndarray | None, scores_shape: tuple[int, ...]) -> np.ndarray | None:
    """Where every key of a query is masked (its scores all -inf), broadcast to the scores' rows; None if none."""
    if bias is None:
        return None
    dead = np.isneginf(bias).all(axis=-1, keepdims=True)
    return np.broadcast_to(dead, (*scores_shape[:-1], 1)) if dead.any() else None


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ keyᵀ · scale + mask) @ value, as ``F.scaled_dot_product_attention`` (its math path).

    Shapes (..., L, E), (..., S, E), (..., S, Ev) give (..., L, Ev); ``scale`` defaults to 1/√E. ``attn_mask``:
    bool, True where a query may attend (note: ``MultiheadAttention``'s masks mean the opposite), or float, added
    to the scores; ``is_causal``: each query attends to keys up to its own position (not together with
    ``attn_mask``, as PyTorch documents). A query whose keys are all masked gets zeros (PyTorch's safe softmax),
    not NaN. ``dropout_p`` drops attention weights whatever the mode: pass ``p if self.training else 0``.
    ``enable_gqa``: fewer key/value heads than query heads, each shared by a group of query heads.

    >>> import chainrule as cr
    >>> q = cr.ones(2, 3, 4)
    >>> scaled_dot_product_attention(q, q, q).shape
    (2, 3, 4)
    """
    where = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{where}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise ShapeError(f"{where}: {name} must have at least 2 dimensions (..., length, features), got shape "
                             f"{tuple(t.shape)}")
    q_shape, k_shape, v_shape = query._data.shape, key._data.shape, value._data.shape
    if k_shape[-1] != q_shape[-1] or k_shape[-2] != v_shape[-2]:
        raise ShapeError(f"{where}: query (..., L, E) {q_shape}, key (..., S, E) {k_shape} and value (..., S, Ev) "
                         f"{v_shape} must agree in E and S")
    if query._data.dtype != key._data.dtype or query._data.dtype != value._data.dtype:
        raise DtypeError(f"{where}: query, key and value must have one dtype (as in PyTorch), got "
                         f"{query._data.dtype}, {key._data.dtype} and {value._data.dtype}")
    if enable_gqa and query.ndim >= 3 and k_shape[-3] != q_shape[-3]:
        if q_shape[-3] % k_shape[-3] or v_shape[-3] != k_shape[-3]:
            raise ShapeError(f"{where}: with enable_gqa the query's heads ({q_shape[-3]}) must be a multiple of the "
                             f"key's and value's ({k_shape[-3]} and {v_shape[-3]})")
        group = q_shape[-3] // k_shape[-3]
        key, value = key.repeat_interleave(group, dim=-3), value.repeat_interleave(group, dim=-3)
    p = check_probability(dropout_p, where)
    dtype = query._data.dtype
    length, source = q_shape[-2], k_shape[-2]
    bias = attention_bias(attn_mask, where, "attn_mask", dtype, allowed=True)
    if is_causal:
        if bias is not None:  # PyTorch's documented rule (some of its kernels combine the two instead)
            raise RuntimeError(f"{where}: Explicit attn_mask should not be set when is_causal=True; fold the "
                               "causal mask into attn_mask instead")
        bias = np.where(np.tri(length, source, dtype=bool), dtype.type(0), dtype.type(-np.inf))
    factor = 1 / np.sqrt(q_shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * factor
    if bias is not None:
        try:
            scores = scores + bias
        except ValueError:
            raise ShapeError(f"{where}: attn_mask of shape {bias.shape} does not broadcast to the scores' shape "
                             f"{tuple(scores.shape)} (..., L, S)") from None
    dead = _masked_rows(bias, tuple(scores.shape))
    if dead is None:
        weights = ops.softmax(scores, -1)
    else:  # PyTorch's safe softmax: rows with nothing to attend to are 0 (and pass no gradient), not NaN
        weights = ops.softmax(scores.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)
    if p > 0:
        weights = drop(weights, p)
    return weights @ value


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'chainrule.nn.functional' has no attribute {name!r}: torch.nn.functional.{name} is "
                         "not available in chainrule (the README lists what is)")
