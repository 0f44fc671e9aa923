"""Normalization layers: BatchNorm1d/BatchNorm2d (per channel, over the batch) and LayerNorm (per sample)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from chainrule.engine.backend import DEFAULT_DTYPE
from chainrule.engine.tensor import Tensor
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn._checks import flag, positive_int, real
from chainrule.nn.module import Module, Parameter


class BatchNorm1d(Module):
    """Normalize each of ``num_features`` channels over the batch, as ``torch.nn.BatchNorm1d``.

    Accepts (N, C) or (N, C, L). Training normalizes with the batch's mean and (biased)
    variance and updates ``running_mean``/``running_var`` with the unbiased variance;
    eval mode normalizes with the running statistics.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance for numerical stability.
        momentum: weight of the new batch in the running averages (None: cumulative average).
        affine: learn a per-channel scale ``weight`` and shift ``bias``.
        track_running_stats: keep running statistics (otherwise batch statistics are always used).
        dtype: parameter and buffer dtype (float32 by default).
        bias: learn the shift too (with ``affine``).

    Raises:
        ValueError: a bad argument, quoted.

    >>> import chainrule as cr
    >>> BatchNorm1d(3)(cr.randn(4, 3)).shape
    (4, 3)
    """

    # Buffers (register_buffer), None without track_running_stats.
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", where)
        self.eps = real(eps, "eps", where, low=0.0)
        self.momentum = None if momentum is None else real(momentum, "momentum", where, 0.0, 1.0)
        self.affine = flag(affine, "affine", where)
        self.track_running_stats = flag(track_running_stats, "track_running_stats", where)
        dtype = np.dtype(dtype or DEFAULT_DTYPE)
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if affine and flag(bias, "bias", where):
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(np.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor._wrap(np.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(np.array(0, dtype=np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            for buffer, value in ((self.running_mean, 0), (self.running_var, 1), (self.num_batches_tracked, 0)):
                if buffer is not None:
                    buffer._data[...] = value

    def reset_parameters(self) -> None:
        """Reset the running statistics, weight to 1 and bias to 0."""
        self.reset_running_stats()
        if self.weight is not None:
            self.weight._data[...] = 1
        if self.bias is not None:
            self.bias._data[...] = 0

    def _check_input(self, shape: tuple[int, ...]) -> None:
        if len(shape) not in (2, 3) or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}): expected input of shape (N, {self.num_features}) or "
                f"(N, {self.num_features}, L), got shape {tuple(shape)}"
            )

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x.shape)
        momentum = self.momentum
        tracked = self.num_batches_tracked
        if self.training and self.track_running_stats and tracked is not None:  # as torch, None counts nothing
            count = tracked._data
            count += 1  # a 0-d array, updated in place
            if momentum is None:
                momentum = 1.0 / float(count)
        # Without running statistics (track_running_stats=False) batch statistics serve in eval too.
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            self.training or self.running_mean is None, momentum or 0.0, self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm2d(BatchNorm1d):
    """Normalize each of ``num_features`` channels of (N, C, H, W) input over the batch and both spatial axes,
    as ``torch.nn.BatchNorm2d`` (the same fused op as :class:`BatchNorm1d`, with the channels moved last).

    >>> import chainrule as cr
    >>> BatchNorm2d(3)(cr.randn(2, 3, 4, 4)).shape
    (2, 3, 4, 4)
    """

    def _check_input(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 4 or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm2d({self.num_features}): expected 4-D input of shape (N, {self.num_features}, H, W), "
                f"got shape {tuple(shape)}"
            )


class LayerNorm(Module):
    """Normalize each sample over its last dimensions ``normalized_shape``, as ``torch.nn.LayerNorm``.

    Args:
        normalized_shape: an int or tuple: the trailing shape to normalize over.
        eps: added to the variance for numerical stability.
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of that shape.
        bias: learn the bias too (with ``elementwise_affine``).
        dtype: parameter dtype (float32 by default).

    Raises:
        ValueError: a bad argument, quoted.

    >>> import chainrule as cr
    >>> LayerNorm(4)(cr.randn(2, 4)).shape
    (2, 4)
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
            normalized_shape = (normalized_shape,)
        if not isinstance(normalized_shape, tuple | list) or not normalized_shape:
            raise ValueError(f"LayerNorm: normalized_shape must be a positive int or a tuple of them, "
                             f"got {normalized_shape!r}")
        self.normalized_shape = tuple(positive_int(n, "normalized_shape", "LayerNorm") for n in normalized_shape)
        self.eps = real(eps, "eps", "LayerNorm", low=0.0)
        self.elementwise_affine = flag(elementwise_affine, "elementwise_affine", "LayerNorm")
        dtype = np.dtype(dtype or DEFAULT_DTYPE)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and flag(bias, "bias", "LayerNorm"):
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[-k:] != self.normalized_shape:
            raise ValueError(
                f"LayerNorm({self.normalized_shape}): expected input whose last dimensions are "
                f"{self.normalized_shape}, got shape {tuple(x.shape)}"
            )
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )
