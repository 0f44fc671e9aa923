"""Convolution, pooling, channel dropout and upsampling layers with PyTorch's names, arguments and weight layouts.

Conv1d/Conv2d keep ``weight`` as (out_channels, in_channels/groups, *kernel_size) and ``bias`` as (out_channels,),
so their state_dicts load into ``torch.nn.Conv1d``/``Conv2d`` and back.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from chainrule.engine import conv as _conv
from chainrule.engine.backend import DEFAULT_DTYPE, DtypeError
from chainrule.engine.tensor import Tensor
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn import init
from chainrule.nn._checks import flag, positive_int
from chainrule.nn.module import Module, Parameter


class _ConvNd(Module):
    nd = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name, nd = type(self).__name__, self.nd
        self.in_channels = positive_int(in_channels, "in_channels", name)
        self.out_channels = positive_int(out_channels, "out_channels", name)
        self.groups = positive_int(groups, "groups", name)
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.kernel_size = _conv.ntuple(kernel_size, nd, "kernel_size", name)
        self.stride = _conv.ntuple(stride, nd, "stride", name)
        self.dilation = _conv.ntuple(dilation, nd, "dilation", name)
        if isinstance(padding, str):
            _conv.conv_padding(padding, nd, self.kernel_size, self.dilation, self.stride, name)  # checks it
            self.padding: Any = padding
        else:
            self.padding = _conv.ntuple(padding, nd, "padding", name, minimum=0)
        if padding_mode != "zeros":
            if padding_mode in ("reflect", "replicate", "circular"):
                raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not implemented; only 'zeros' is")
            raise ValueError(f"{name}: padding_mode must be one of 'zeros', 'reflect', 'replicate' or 'circular', "
                             f"got {padding_mode!r}")
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype or DEFAULT_DTYPE)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if flag(bias, "bias", name):
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=√5) for weight, U(±1/√fan_in) for bias, fan_in = in/groups·∏kernel."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        name, nd = type(self).__name__, self.nd
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
        dims = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
        if x.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{name}: expected {nd + 1}-D (unbatched) or {nd + 2}-D input {dims}, got shape "
                             f"{tuple(x.shape)}")
        channels = x.shape[0 if x.ndim == nd + 1 else 1]
        if channels != self.in_channels:
            raise ValueError(f"{name}(in_channels={self.in_channels}): expected input with {self.in_channels} "
                             f"channels, got {channels} channels in input of shape {tuple(x.shape)}")
        if x._data.dtype != self.weight._data.dtype:
            raise DtypeError(f"{name}: input has dtype {x._data.dtype} but the layer's weight has dtype "
                             f"{self.weight._data.dtype}; they must match (as in PyTorch)")
        try:
            return _conv.conv(nd, x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) input, as ``torch.nn.Conv1d``; weight (out, in/groups, k).

    >>> import chainrule as cr
    >>> Conv1d(2, 4, 3, padding=1)(cr.ones(1, 2, 5)).shape
    (1, 4, 5)
    """

    nd = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) input, as ``torch.nn.Conv2d``; weight (out, in/groups, kh, kw).

    ``padding`` may be an int, a pair, 'valid' or 'same'; only ``padding_mode='zeros'`` is implemented.

    >>> import chainrule as cr
    >>> Conv2d(1, 6, 5, padding=2)(cr.ones(1, 1, 28, 28)).shape
    (1, 6, 28, 28)
    """

    nd = 2


class _PoolNd(Module):
    nd = 2

    def _check(self, x: Tensor) -> None:
        nd = self.nd
        if not isinstance(x, Tensor) or x.ndim not in (nd + 1, nd + 2):
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{type(self).__name__}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) "
                             f"input, got {shape}")


class _MaxPoolNd(_PoolNd):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices = flag(return_indices, "return_indices", type(self).__name__)
        self.ceil_mode = flag(ceil_mode, "ceil_mode", type(self).__name__)

    def forward(self, x: Tensor) -> Any:
        self._check(x)
        try:
            return _conv.max_pool(self.nd, x, self.kernel_size, self.stride, self.padding, self.dilation,
                                  self.ceil_mode, self.return_indices)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__}: {error}") from None

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over windows of (N, C, L) input, as ``torch.nn.MaxPool1d`` (stride defaults to kernel_size)."""

    nd = 1


class MaxPool2d(_MaxPoolNd):
    """Max over windows of (N, C, H, W) input, as ``torch.nn.MaxPool2d`` (stride defaults to kernel_size).

    >>> import chainrule as cr
    >>> MaxPool2d(2)(cr.ones(1, 1, 4, 4)).shape
    (1, 1, 2, 2)
    """

    nd = 2


class _AvgPoolNd(_PoolNd):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = flag(ceil_mode, "ceil_mode", type(self).__name__)
        self.count_include_pad = flag(count_include_pad, "count_include_pad", type(self).__name__)
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        try:
            return _conv.avg_pool(self.nd, x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                  self.count_include_pad, self.divisor_override)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__}: {error}") from None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of (N, C, L) input, as ``torch.nn.AvgPool1d``."""

    nd = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of (N, C, H, W) input, as ``torch.nn.AvgPool2d`` (padding counts by default)."""

    nd = 2


class _AdaptiveAvgPoolNd(_PoolNd):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return _conv.adaptive_avg_pool(self.nd, x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average (N, C, L) input down to ``output_size`` bins, as ``torch.nn.AdaptiveAvgPool1d``."""

    nd = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average (N, C, H, W) input down to ``output_size``, as ``torch.nn.AdaptiveAvgPool2d``.

    >>> import chainrule as cr
    >>> AdaptiveAvgPool2d(1)(cr.ones(2, 3, 5, 7)).shape
    (2, 3, 1, 1)
    """

    nd = 2


class Dropout2d(Module):
    """Zero whole channels of (N, C, H, W) input with probability ``p`` in training, as ``torch.nn.Dropout2d``."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = F.check_probability(p, "Dropout2d")
        self.inplace = flag(inplace, "inplace", "Dropout2d")
        self._warned = False

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(f"Dropout2d: expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                             f"{tuple(x.shape)}")
        if not self.training or self.p == 0:
            return x
        if self.p == 1 and not self._warned:
            self._warned = True
            warnings.warn(F.ALL_DROPPED.format(where="Dropout2d"), UserWarning, stacklevel=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return F.dropout2d(x, self.p, True, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) input, as ``torch.nn.Upsample`` (modes 'nearest', 'linear', 'bilinear').

    >>> import chainrule as cr
    >>> Upsample(scale_factor=2)(cr.ones(1, 1, 2, 3)).shape
    (1, 1, 4, 6)
    """

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return _conv.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                                 self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"
