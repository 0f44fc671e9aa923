"""Convolution, pooling, padding and resampling ops over the trailing 1 or 2 spatial axes (PyTorch's semantics).

Everything works on 2-D internally: a 1-D op is the 2-D op with a unit height. A convolution is im2col
(``sliding_window_view``, one copy) and one matmul per direction; its input gradient is col2im, a strided add
per kernel position (never a loop over output positions or batch items). Max and average pooling share the
window view and col2im. Adaptive average pooling, nearest/bilinear interpolation and reflect/replicate padding are
all linear maps that act on each spatial axis separately, so they are one op, :class:`AxisMaps`: a small
matrix per axis, applied by matmul, with the transposed matrices in backward.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from chainrule.engine.autograd import Function
from chainrule.engine.backend import FLOAT_DTYPES, DtypeError, ShapeError, matmul_small
from chainrule.engine.tensor import Tensor

Pair = tuple[int, int]


# ---------------------------------------------------------------------------- shared helpers


def _windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out: Pair) -> np.ndarray:
    """A view (..., Ho, Wo, kh, kw) of every window of the (already padded) last two axes of ``xp``."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    v = sliding_window_view(xp, (span_h, span_w), axis=(-2, -1))
    return v[..., : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]


def _col2im(gcols: np.ndarray, padded: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """The adjoint of :func:`_windows`: add each window's gradient (..., Ho, Wo, kh, kw) back into (..., Hp, Wp),
    one strided add per kernel position."""
    *lead, ho, wo, kh, kw = gcols.shape
    (sh, sw), (dh, dw) = stride, dilation
    out = np.zeros((*lead, *padded), dtype=gcols.dtype)
    if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1):  # windows tile the input: one transposed copy
        tiles = out[..., : ho * kh, : wo * kw].reshape(*lead, ho, kh, wo, kw)
        tiles[...] = np.moveaxis(gcols, -2, -3)  # (..., Ho, kh, Wo, kw)
        return out
    for i in range(kh):
        rows = slice(i * dh, i * dh + (ho - 1) * sh + 1, sh)
        for j in range(kw):
            out[..., rows, j * dw : j * dw + (wo - 1) * sw + 1 : sw] += gcols[..., i, j]
    return out


def _pad_array(x: np.ndarray, pads: tuple[int, int, int, int], value: float = 0.0) -> np.ndarray:
    """Constant-pad the last two axes by (top, bottom, left, right)."""
    if not any(pads):
        return x
    t, b, left, r = pads
    width = [(0, 0)] * (x.ndim - 2) + [(t, b), (left, r)]
    return np.pad(x, width, constant_values=value)


def _float_check(op: str, *arrays: np.ndarray | None) -> None:
    dtypes = {a.dtype for a in arrays if a is not None}
    if len(dtypes) > 1:
        raise DtypeError(f"{op}: input, weight and bias must have the same dtype, got {sorted(map(str, dtypes))}")
    if dtypes and next(iter(dtypes)) not in FLOAT_DTYPES:
        raise DtypeError(f"{op}: expected a floating-point input, got dtype {next(iter(dtypes))}")


def ntuple(value: Any, n: int, name: str, op: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints as an ``n``-tuple, each at least ``minimum``, else a ValueError."""
    items = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else (value,) * n
    if len(items) == 1 and n > 1:
        items = items * n
    if len(items) != n or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum
                              for v in items):
        raise ValueError(f"{op}: {name} must be an int >= {minimum} or a tuple of {n} of them, got {value!r}")
    return tuple(int(v) for v in items)


def _as_2d(x: np.ndarray, ndim: int) -> np.ndarray:
    return x[..., None, :] if ndim == 1 else x


# ---------------------------------------------------------------------------- convolution


class Conv(Function):
    """N-d (1 or 2) convolution with stride, asymmetric zero padding, dilation and groups, as ``torch.conv2d``.

    Forward: im2col to columns (G, Cg·kh·kw, N·Ho·Wo) (one copy, read along the input's rows) and one matmul
    (batched over groups) with the weight (G, Og, Cg·kh·kw). The output is returned as an NCHW view of
    channel-major (C, N, H, W) memory, the layout the matmul produces; NumPy's elementwise ops keep it.
    Backward: one matmul for the weight's gradient, one for the columns' gradient, then col2im.
    """

    def forward(self, x, weight, bias, stride, padding, dilation, groups):
        _float_check("conv", x, weight, bias)
        nd = weight.ndim - 2
        x2, w2 = _as_2d(x, nd), _as_2d(weight, nd)
        n = x2.shape[0]
        o, cg, kh, kw = w2.shape
        xp = _pad_array(x2, padding)
        hp, wp = xp.shape[-2:]
        ho = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        wo = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        g, og = groups, o // groups
        win = _windows(xp, (kh, kw), stride, dilation, (ho, wo))  # (N, C, Ho, Wo, kh, kw)
        win = win.reshape(n, g, cg, ho, wo, kh, kw).transpose(1, 2, 5, 6, 0, 3, 4)  # (G, Cg, kh, kw, N, Ho, Wo)
        cols = np.ascontiguousarray(win).reshape(g, cg * kh * kw, n * ho * wo)
        wmat = w2.reshape(g, og, cg * kh * kw)
        out = matmul_small(wmat, cols)  # (G, Og, N·Ho·Wo)
        out = out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
        if bias is not None:
            out += bias[:, None, None]
        self.cols, self.wmat, self.nd = cols, wmat, nd
        self.geometry = (x.shape, (hp, wp), (kh, kw), stride, dilation, padding, g, (ho, wo))
        return out[:, :, 0, :] if nd == 1 else out

    def saved_inputs(self):
        return ()  # backward reads its own copies (the columns and the weight matrix)

    def backward(self, grad):
        _, padded, (kh, kw), stride, dilation, padding, g, (ho, wo) = self.geometry
        grad = _as_2d(grad, self.nd)
        n, o = grad.shape[:2]
        og = o // g
        g2 = grad.transpose(1, 0, 2, 3).reshape(g, og, n * ho * wo)  # (G, Og, N·Ho·Wo); free for our own layout
        gx = gw = gb = None
        if self.needs[0]:
            gcols = matmul_small(self.wmat.transpose(0, 2, 1), g2)  # (G, Cg·kh·kw, N·Ho·Wo)
            cg = self.wmat.shape[2] // (kh * kw)
            gcols = gcols.reshape(g * cg, kh, kw, n, ho, wo).transpose(0, 3, 4, 5, 1, 2)  # (C, N, Ho, Wo, kh, kw)
            gxp = _col2im(gcols, padded, stride, dilation)  # (C, N, Hp, Wp): the columns' own order, adds coalesce
            t, b, left, r = padding
            gx = gxp[..., t : padded[0] - b, left : padded[1] - r].transpose(1, 0, 2, 3)
            if self.nd == 1:
                gx = gx[:, :, 0, :]
        if self.needs[1]:
            # (cols · g2ᵀ)ᵀ: OpenBLAS runs this orientation about twice as fast as g2 · colsᵀ for these thin shapes
            gw = matmul_small(self.cols, g2.transpose(0, 2, 1)).transpose(0, 2, 1).reshape(o, -1, kh, kw)
            if self.nd == 1:
                gw = gw[:, :, 0, :]
        if self.needs[2]:
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None


def conv_padding(padding: Any, nd: int, kernel: tuple[int, ...], dilation: tuple[int, ...], stride: tuple[int, ...],
                 op: str) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from torch's ``padding`` (an int, a tuple, 'valid' or 'same')."""
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride={stride})")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))  # as torch: the odd extra goes after
        else:
            raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple of ints, got {padding!r}")
    else:
        pads = [(p, p) for p in ntuple(padding, nd, "padding", op, minimum=0)]
    if nd == 1:
        pads = [(0, 0), *pads]
    return (*pads[0], *pads[1])


def conv(nd: int, x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
         dilation: Any = 1, groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv1d`` (nd=1) / ``conv2d`` (nd=2): checks the arguments, then runs :class:`Conv`."""
    op = f"conv{nd}d"
    if not isinstance(x, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors, got {type(x).__name__} and {type(weight).__name__}")
    if weight.ndim != nd + 2:
        raise ValueError(f"{op}: expected a {nd + 2}-D weight (out_channels, in_channels/groups, *kernel), "
                         f"got shape {tuple(weight.shape)}")
    unbatched = x.ndim == nd + 1
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
                         f"{tuple(x.shape)}")
    if unbatched:
        x = x.unsqueeze(0)
    stride_t = ntuple(stride, nd, "stride", op)
    dilation_t = ntuple(dilation, nd, "dilation", op)
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    o, cg = weight.shape[:2]
    c = x.shape[1]
    if o % groups:
        raise ValueError(f"{op}: out_channels ({o}) must be divisible by groups ({groups})")
    if c != cg * groups:
        raise ValueError(f"{op}: expected input with {cg * groups} channels (weight {tuple(weight.shape)}, groups "
                         f"{groups}), got {c} channels in input of shape {tuple(x.shape)}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"{op}: expected bias of shape ({o},), got {tuple(bias.shape)}")
    kernel = tuple(weight.shape[2:])
    pads = conv_padding(padding, nd, kernel, dilation_t, stride_t, op)
    spatial = x.shape[2:]
    pad_pairs = [(pads[0], pads[1]), (pads[2], pads[3])][-nd:]
    for size, (lo, hi), k, d in zip(spatial, pad_pairs, kernel, dilation_t):
        if size + lo + hi < d * (k - 1) + 1:
            raise ValueError(f"{op}: kernel size {tuple(kernel)} (dilation {dilation_t}) is larger than the padded "
                             f"input {tuple(s + a + b for s, (a, b) in zip(spatial, pad_pairs))}")
    out = Conv.apply(x, weight, bias, stride=(1, *stride_t) if nd == 1 else stride_t, padding=pads,
                     dilation=(1, *dilation_t) if nd == 1 else dilation_t, groups=int(groups))
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------- pooling


def pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling output size, with its ceil_mode rule (the last window must start inside input or left pad)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


class MaxPool(Function):
    """Max over each window (padding is -inf), as torch: a kernel-position loop keeps the first maximum (a NaN
    wins); backward sends each output's gradient to that position."""

    saves_inputs = False
    geometry: Any
    arg: Any

    def forward(self, x, kernel, stride, padding, dilation, out):
        (kh, kw), (ph, pw), (ho, wo) = kernel, padding, out
        (sh, sw), (dh, dw) = stride, dilation
        h, w = x.shape[-2:]
        need_h = (ho - 1) * sh + dh * (kh - 1) + 1
        need_w = (wo - 1) * sw + dw * (kw - 1) + 1
        pads = (ph, max(need_h - h - ph, 0), pw, max(need_w - w - pw, 0))
        xp = _pad_array(x, pads, -np.inf)
        views = [xp[..., i * dh : i * dh + (ho - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw]
                 for i in range(kh) for j in range(kw)]  # one strided view per kernel position
        best = views[0].copy()
        for v in views[1:]:
            np.maximum(best, v, out=best)  # NaN propagates, as torch
        # the first position holding the maximum, as torch: scan backwards so the earliest match is written last
        arg = np.zeros(best.shape, dtype=np.int8 if len(views) < 128 else np.int64)
        for k in range(len(views) - 1, -1, -1):
            arg = np.where(views[k] == best, arg.dtype.type(k), arg)
        if np.isnan(best).any():  # torch's `val > max || isnan(val)` keeps the last NaN
            for k, v in enumerate(views):
                arg = np.where(np.isnan(v), arg.dtype.type(k), arg)
        self.arg = arg
        self.geometry = (x.shape, xp.shape[-2:], kernel, stride, dilation, pads)
        return best

    def indices(self) -> np.ndarray:
        """torch's ``return_indices``: each max's flat position in its (unpadded) input plane."""
        xshape, _, (_, kw), (sh, sw), (dh, dw), pads = self.geometry
        ho, wo = self.arg.shape[-2:]
        row = np.arange(ho)[:, None] * sh + (self.arg // kw) * dh - pads[0]
        col = np.arange(wo)[None, :] * sw + (self.arg % kw) * dw - pads[2]
        return (row * xshape[-1] + col).astype(np.int64)

    def backward(self, grad):
        xshape, padded, (kh, kw), (sh, sw), (dh, dw), pads = self.geometry
        ho, wo = grad.shape[-2:]
        gxp = np.zeros((*grad.shape[:-2], *padded), dtype=grad.dtype)
        zero = grad.dtype.type(0)
        tiled = (sh, sw) == (kh, kw) and (dh, dw) == (1, 1)  # disjoint windows: assign instead of add
        for i in range(kh):
            rows = slice(i * dh, i * dh + (ho - 1) * sh + 1, sh)
            for j in range(kw):
                target = gxp[..., rows, j * dw : j * dw + (wo - 1) * sw + 1 : sw]
                if tiled:
                    np.copyto(target, np.where(self.arg == i * kw + j, grad, zero))
                else:
                    target += np.where(self.arg == i * kw + j, grad, zero)
        return (gxp[..., pads[0] : pads[0] + xshape[-2], pads[2] : pads[2] + xshape[-1]],
                None, None, None, None, None)


def _avg_divisor(size: int, k: int, s: int, p: int, out: int, include_pad: bool) -> np.ndarray:
    """torch's avg_pool divisor along one axis: the window clipped to the padded input (count_include_pad) or to
    the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


class AvgPool(Function):
    """Mean over each window, with torch's divisor; backward spreads grad/divisor over the window (col2im)."""

    saves_inputs = False

    def forward(self, x, kernel, stride, padding, out, include_pad, divisor_override):
        (kh, kw), (ph, pw), (ho, wo) = kernel, padding, out
        h, w = x.shape[-2:]
        need_h, need_w = (ho - 1) * stride[0] + kh, (wo - 1) * stride[1] + kw
        pads = (ph, max(need_h - h - ph, 0), pw, max(need_w - w - pw, 0))
        xp = _pad_array(x, pads)
        win = _windows(xp, kernel, stride, (1, 1), out)
        if divisor_override:
            div = np.full((ho, wo), float(divisor_override))
        else:
            div = np.outer(_avg_divisor(h, kh, stride[0], ph, ho, include_pad),
                           _avg_divisor(w, kw, stride[1], pw, wo, include_pad))
        self.scale = (1 / div).astype(x.dtype)
        self.geometry = (x.shape, xp.shape[-2:], kernel, stride, pads)
        return win.sum(axis=(-2, -1)) * self.scale

    def backward(self, grad):
        xshape, padded, (kh, kw), stride, pads = self.geometry
        g = grad * self.scale
        gcols = np.broadcast_to(g[..., None, None], (*g.shape, kh, kw))
        gxp = _col2im(gcols, padded, stride, (1, 1))
        return (gxp[..., pads[0] : pads[0] + xshape[-2], pads[2] : pads[2] + xshape[-1]],
                None, None, None, None, None, None)


def _spatial_input(x: Any, nd: int, op: str) -> tuple[Tensor, bool]:
    """``x`` as a batched tensor (N, C, *spatial) and whether it was unbatched."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
                         f"{tuple(x.shape)}")
    if x._data.dtype not in FLOAT_DTYPES:
        raise DtypeError(f"{op}: expected a floating-point input, got dtype {x._data.dtype}")
    return (x.unsqueeze(0), True) if x.ndim == nd + 1 else (x, False)


def _pool_args(nd: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any, op: str):
    kernel = ntuple(kernel_size, nd, "kernel_size", op)
    strides = kernel if stride is None or (isinstance(stride, Sequence) and not stride) else \
        ntuple(stride, nd, "stride", op)
    pads = ntuple(padding, nd, "padding", op, minimum=0)
    dil = ntuple(dilation, nd, "dilation", op)
    for k, p in zip(kernel, pads):
        if p > k // 2:
            raise ValueError(f"{op}: padding should be at most half of the kernel size, got padding {pads} for "
                             f"kernel_size {kernel}")
    return kernel, strides, pads, dil


def _two(t: tuple[int, ...], fill: int) -> Pair:
    return (fill, t[0]) if len(t) == 1 else (t[0], t[1])


def _pool_sizes(op: str, x: Tensor, nd: int, kernel, strides, pads, dil, ceil_mode) -> Pair:
    spatial = x.shape[2:]
    out = tuple(pool_out(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(spatial, kernel, strides, pads, dil))
    if any(o < 1 for o in out):
        raise ValueError(f"{op}: the kernel {kernel} (dilation {dil}, padding {pads}) is larger than the input "
                         f"{tuple(spatial)}: output size would be {out}")
    return _two(out, 1)


def max_pool(nd: int, x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """``F.max_pool1d`` / ``F.max_pool2d``."""
    op = f"max_pool{nd}d"
    xb, unbatched = _spatial_input(x, nd, op)
    kernel, strides, pads, dil = _pool_args(nd, kernel_size, stride, padding, dilation, op)
    out = _pool_sizes(op, xb, nd, kernel, strides, pads, dil, ceil_mode)
    x2 = xb.unsqueeze(2) if nd == 1 else xb
    y = MaxPool.apply(x2, kernel=_two(kernel, 1), stride=_two(strides, 1), padding=_two(pads, 0),
                      dilation=_two(dil, 1), out=out)
    fn: Any = y._ctx
    if return_indices:
        if fn is None:  # no graph recorded: compute the indices by running the op's forward again
            fn = MaxPool()
            fn.forward(x2._data, _two(kernel, 1), _two(strides, 1), _two(pads, 0), _two(dil, 1), out)
        idx = Tensor._wrap(fn.indices())
    if nd == 1:
        y = y.squeeze(2)
        if return_indices:
            idx = idx.squeeze(2)
    if unbatched:
        y = y.squeeze(0)
        if return_indices:
            idx = idx.squeeze(0)
    return (y, idx) if return_indices else y


def avg_pool(nd: int, x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """``F.avg_pool1d`` / ``F.avg_pool2d``."""
    op = f"avg_pool{nd}d"
    xb, unbatched = _spatial_input(x, nd, op)
    kernel, strides, pads, dil = _pool_args(nd, kernel_size, stride, padding, 1, op)
    out = _pool_sizes(op, xb, nd, kernel, strides, pads, dil, ceil_mode)
    if divisor_override is not None and (isinstance(divisor_override, bool) or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got {divisor_override!r}")
    x2 = xb.unsqueeze(2) if nd == 1 else xb
    y = AvgPool.apply(x2, kernel=_two(kernel, 1), stride=_two(strides, 1), padding=_two(pads, 0), out=out,
                      include_pad=bool(count_include_pad), divisor_override=divisor_override)
    if nd == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


# ---------------------------------------------------------------------------- linear maps along spatial axes


class AxisMaps(Function):
    """``y = A_h · x · A_wᵀ`` over the last one or two axes (a matrix per axis; None leaves that axis alone).

    Adaptive average pooling, nearest and (bi)linear interpolation and reflect/replicate padding are all such
    maps; backward applies the transposed matrices.
    """

    saves_inputs = False

    def forward(self, x, mh, mw):
        self.mh, self.mw = mh, mw
        y = x
        if mw is not None:
            y = np.matmul(y, mw.T)
        if mh is not None:
            y = np.matmul(mh, y)
        return y

    def backward(self, grad):
        g = grad
        if self.mw is not None:
            g = np.matmul(g, self.mw)
        if self.mh is not None:
            g = np.matmul(self.mh.T, g)
        return g, None, None


def _apply_maps(x: Tensor, mats: list[np.ndarray]) -> Tensor:
    dtype = x._data.dtype
    mats = [m.astype(dtype) for m in mats]
    mh, mw = (None, mats[0]) if len(mats) == 1 else mats
    return AxisMaps.apply(x, mh, mw)


def adaptive_matrix(size: int, out: int) -> np.ndarray:
    """(out, size): row i averages input [floor(i·size/out), ceil((i+1)·size/out)), torch's formula."""
    i = np.arange(out)
    start = (i * size) // out
    end = -(-((i + 1) * size) // out)
    cols = np.arange(size)
    inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < end[:, None])
    return inside / (end - start)[:, None].astype(np.float64)


def adaptive_avg_pool(nd: int, x: Tensor, output_size: Any) -> Tensor:
    """``F.adaptive_avg_pool1d`` / ``F.adaptive_avg_pool2d`` (None in ``output_size`` keeps that size)."""
    op = f"adaptive_avg_pool{nd}d"
    xb, unbatched = _spatial_input(x, nd, op)
    items = tuple(output_size) if isinstance(output_size, Sequence) else (output_size,) * nd
    if len(items) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    sizes = [n if o is None else ntuple(o, 1, "output_size", op)[0] for o, n in zip(items, xb.shape[2:])]
    y = _apply_maps(xb, [adaptive_matrix(n, o) for n, o in zip(xb.shape[2:], sizes)])
    return y.squeeze(0) if unbatched else y


def _source_scale(size: int, out: int, scale: float | None, align_corners: bool) -> float:
    if align_corners:
        return (size - 1) / (out - 1) if out > 1 else 0.0
    return 1.0 / scale if scale else size / out


def nearest_matrix(size: int, out: int, scale: float | None) -> np.ndarray:
    """torch's 'nearest': output i reads input min(floor(i·s), size - 1), s = size/out (or 1/scale_factor)."""
    s = _source_scale(size, out, scale, False)
    src = np.minimum(np.floor(np.arange(out) * np.float32(s)).astype(np.int64), size - 1)
    m = np.zeros((out, size))
    m[np.arange(out), src] = 1
    return m


def linear_matrix(size: int, out: int, scale: float | None, align_corners: bool) -> np.ndarray:
    """torch's (bi)linear weights along one axis, with or without align_corners."""
    s = _source_scale(size, out, scale, align_corners)
    i = np.arange(out, dtype=np.float64)
    src = i * s if align_corners else np.maximum((i + 0.5) * s - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    i1 = np.minimum(i0 + 1, size - 1)
    lam = src - i0
    m = np.zeros((out, size))
    np.add.at(m, (np.arange(out), i0), 1 - lam)
    np.add.at(m, (np.arange(out), i1), lam)
    return m


def interpolate(x: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> Tensor:
    """``F.interpolate`` for 3-D (N, C, L) and 4-D (N, C, H, W) input, modes 'nearest', 'linear' and 'bilinear'."""
    op = "interpolate"
    if not isinstance(x, Tensor) or x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (N, C, L) or 4-D (N, C, H, W) Tensor, got "
                         f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    nd = x.ndim - 2
    linear_mode = {1: "linear", 2: "bilinear"}[nd]
    if mode not in ("nearest", linear_mode):
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported for {x.ndim}-D input (supported: "
                                  f"'nearest', {linear_mode!r})")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{op}: align_corners can only be set with the linear modes, not mode='nearest'")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    spatial = x.shape[2:]
    if size is not None:
        sizes = ntuple(size, nd, "size", op)
        scales: tuple[float | None, ...] = (None,) * nd
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, Sequence) else (scale_factor,) * nd
        if len(factors) != nd or any(not isinstance(f, numbers.Real) or f <= 0 for f in factors):
            raise ValueError(f"{op}: scale_factor must be a positive number or a tuple of {nd}, got {scale_factor!r}")
        sizes = tuple(math.floor(n * float(f)) for n, f in zip(spatial, factors))
        scales = (None,) * nd if recompute_scale_factor else tuple(float(f) for f in factors)
    if mode == "nearest":
        mats = [nearest_matrix(n, o, s) for n, o, s in zip(spatial, sizes, scales)]
    else:
        ac = bool(align_corners)
        mats = [linear_matrix(n, o, s, ac) for n, o, s in zip(spatial, sizes, scales)]
    return _apply_maps(x, mats)


# ---------------------------------------------------------------------------- padding


class ConstantPad(Function):
    """Pad with a constant; backward is the slice of the gradient that the input occupies."""

    saves_inputs = False

    def forward(self, x, width, value):
        self.inner = tuple(slice(lo, x.shape[k] + lo) for k, (lo, _) in enumerate(width))
        return np.pad(x, width, constant_values=value)

    def backward(self, grad):
        return grad[self.inner], None, None


def _index_matrix(size: int, lo: int, hi: int, mode: str) -> np.ndarray:
    src = np.pad(np.arange(size), (lo, hi), mode="reflect" if mode == "reflect" else "edge")
    m = np.zeros((size + lo + hi, size))
    m[np.arange(src.size), src] = 1
    return m


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """``F.pad``: ``pad`` lists (left, right) of the last axis first, then of the one before, ...

    'constant' pads any number of trailing axes; 'reflect' and 'replicate' pad the last one or two.
    """
    op = "pad"
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    widths = list(pad)
    if len(widths) % 2 or len(widths) // 2 > x.ndim or any(
            isinstance(p, bool) or not isinstance(p, numbers.Integral) for p in widths):
        raise ValueError(f"{op}: pad must be an even-length sequence of ints covering at most {x.ndim} dimensions, "
                         f"got {tuple(pad)!r}")
    k = len(widths) // 2
    pairs = [(int(widths[2 * i]), int(widths[2 * i + 1])) for i in range(k)][::-1]  # first axis first
    if any(p < 0 for pair in pairs for p in pair):
        raise NotImplementedError(f"{op}: negative padding (cropping) is not supported, got {tuple(pad)!r}")
    if mode == "constant":
        width = [(0, 0)] * (x.ndim - k) + pairs
        return ConstantPad.apply(x, width=width, value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate"):
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported (supported: 'constant', 'reflect', "
                                  "'replicate')")
    if k > 2 or x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"{op}: mode {mode!r} pads the last dimension of 2-D or 3-D input (pad of 2 ints) or "
                                  f"the last 2 of 3-D or 4-D input (4 ints), got pad {tuple(pad)!r} for shape "
                                  f"{tuple(x.shape)}")
    sizes = x.shape[x.ndim - k:]
    if mode == "reflect":
        for n, (lo, hi) in zip(sizes, pairs):
            if lo >= n or hi >= n:
                raise ValueError(f"{op}: padding size should be less than the corresponding input dimension, but "
                                 f"got padding ({lo}, {hi}) for dimension of size {n}")
    if x._data.size == 0:
        raise ShapeError(f"{op}: mode {mode!r} needs a non-empty input, got shape {tuple(x.shape)}")
    return _apply_maps(x, [_index_matrix(n, lo, hi, mode) for n, (lo, hi) in zip(sizes, pairs)])
