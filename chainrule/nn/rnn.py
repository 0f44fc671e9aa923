"""Recurrent layers with PyTorch's names, arguments and weight layouts: RNN, LSTM, GRU and their cells.

Weights are stored as torch stores them (``weight_ih_l{k}[_reverse]`` of shape (gates·H, H_in), gate order
i, f, g, o for LSTM and r, z, n for GRU), so a torch ``state_dict`` loads as is and outputs match.

Speed: each layer and direction runs as one op (:class:`Recurrence`), a NumPy loop over the steps with a
hand-written backward (backpropagation through time), so the graph holds a handful of nodes instead of a dozen per
step. For RNN and GRU the input projection of all time steps is one matmul before it (the engine's Linear op on x
reshaped to (L·N, H_in)); the LSTM's op projects its input itself, a chunk of steps just before its loop reaches
them (and computes dW_ih, dW_hh, the biases' gradients and dx a chunk at a time behind the backward loop), so the
sequence-sized arrays are visited in cache-sized pieces, inside the loop's one-BLAS-thread block: no product of
the layer wakes OpenBLAS's second thread, which would then spin beside the loop. When BLAS may use more than one
thread, that chunk work runs on a side thread beside the loop instead (``SIDE_THREAD``), with the same results bit
for bit: the loop is a chain no thread can split, and the chunk work is most of what is not. The cells are built
from the engine's differentiable ops.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from chainrule.engine import ops
from chainrule.engine.autograd import Function, HookHandle
from chainrule.engine.backend import DEFAULT_DTYPE, DtypeError, blas_threads_for, matmul_small, one_blas_thread
from chainrule.engine.tensor import Tensor
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn import init
from chainrule.nn._checks import flag, positive_int
from chainrule.nn.module import Module, Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
StepHook = Callable[[int, int, np.ndarray], None]  # (layer, direction, per-step array)


def _call_all(hooks: list[StepHook], layer: int, direction: int, array: np.ndarray) -> None:
    for hook in hooks:
        hook(layer, direction, array)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)) in place on ``a``; the caller silences overflow (exp(40000) = inf gives the right 0)."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)
    return a


# The LSTM's gates in its per-step loop: i, f, o, g (torch stores i, f, g, o), so that the three sigmoid gates are one
# contiguous slice. The permutation swaps the last two gates, so it is its own inverse.
_LSTM_ORDER = [0, 1, 3, 2]


def _lstm_scales(dtype: np.dtype) -> np.ndarray:
    """The factor each gate's pre-activation is scaled by in the LSTM's loop, (4, 1) in the internal gate order:
    -1 for the sigmoid gates i, f, o and -2 for g, so that one exp, one add and one reciprocal give all four gates,
    σ(a) = 1 / (1 + exp(-a)) and tanh(a) = 2σ(2a) - 1 (see :func:`_lstm_prepare`)."""
    return np.array([[-1], [-1], [-1], [-2]], dtype=dtype)


def _lstm_weight(w: np.ndarray) -> np.ndarray:
    """W^T (H_in, 4H) of W_hh or W_ih (4H, H_in) in the LSTM loop's internal gate order, each gate's columns scaled
    by :func:`_lstm_scales`: a new, C-contiguous array (BLAS is faster on a contiguous right operand)."""
    hidden = w.shape[0] // 4
    w4 = np.take(w.reshape(4, hidden, -1), _LSTM_ORDER, axis=0)
    w4 *= _lstm_scales(w.dtype)[:, :, None]
    return np.ascontiguousarray(w4.reshape(4 * hidden, -1).T)


def _lstm_bias(b_ih: np.ndarray | None, b_hh: np.ndarray | None) -> np.ndarray | None:
    """b_ih + b_hh (4H,) as (4, H) in the internal gate order, scaled as the weights are (a new array; None
    without biases): one pass over each chunk of the projection instead of two."""
    biases = [b.reshape(4, -1)[_LSTM_ORDER] for b in (b_ih, b_hh) if b is not None]
    if not biases:
        return None
    total = biases[0] if len(biases) == 1 else biases[0] + biases[1]
    return total * _lstm_scales(total.dtype)


def _lstm_prepare(pre: np.ndarray, x: np.ndarray, w_t: np.ndarray, bias: np.ndarray | None, lo: int,
                  hi: int) -> None:
    """Steps lo..hi-1 of the LSTM's pre-activations x @ W_ih^T + (b_ih + b_hh) into ``pre`` (L, N, 4H), in the
    internal gate order and scaled by -1 (sigmoid gates) or -2 (g), as ``w_t`` (W_ih^T) and ``bias`` ((4, H)) come
    from :func:`_lstm_weight` and :func:`_lstm_bias`. Scaling by -1 or -2 is exact in binary floating point (a
    sign flip and an exponent step; only a value within a factor 2 of the dtype's overflow or underflow could
    change), so each product and sum rounds as the unscaled one does, scaled: x @ (-2W) + (-2b) is -2(x @ W + b),
    and h @ (-2W_hh) + that is -2(h @ W_hh + x @ W + b), in every bit."""
    dst = pre[lo:hi]
    np.matmul(x[lo:hi].reshape(-1, x.shape[2]), w_t, out=dst.reshape(-1, dst.shape[2]))
    if bias is not None:
        dst4 = dst.reshape(hi - lo, dst.shape[1], 4, -1)
        dst4 += bias


def _chunks(length: int, backwards: bool) -> list[tuple[int, int]]:
    """The steps 0..length-1 in chunks of :data:`_CHUNK`, as (lo, hi) in time order, listed in the order a loop
    that runs ``backwards`` in time meets them."""
    bounds = [(lo, min(lo + _CHUNK, length)) for lo in range(0, length, _CHUNK)]
    return bounds[::-1] if backwards else bounds


def _lstm_to_torch_order(gates: np.ndarray) -> np.ndarray:
    """(..., 4H) gates from the internal order i, f, o, g to torch's i, f, g, o (a copy)."""
    hidden = gates.shape[-1] // 4
    return np.take(gates.reshape(*gates.shape[:-1], 4, hidden), _LSTM_ORDER, axis=-2).reshape(gates.shape)


def _per_step_threads(macs: int) -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread around a per-step loop whose products, ``macs`` multiply-adds each, are small (the engine's
    rule, :data:`chainrule.engine.backend.SMALL_PRODUCT_MACS`)."""
    return blas_threads_for(macs) or contextlib.nullcontext()


# Steps per chunk of the LSTM's sequence-wide work (the input projection ahead of the forward loop; the local
# derivatives ahead of the backward loop, the weights' gradients and dx behind it): 10 steps of batch 32, hidden 128
# make a 655 KB chunk of d_pre and a (512, 320) @ (320, 128) product for dW_hh, large enough for BLAS to run near its
# peak. (The 2-core AMD EPYC the benchmarks run on has 512 KB of L2 a core, so a chunk is not within it; smaller
# chunks, of 5 and 4 steps, measured 1.08x and 1.05x the training step, one of 17 steps the same: 2026-12-01, 1 BLAS
# thread, one process alternated, 24 blocks of 10 steps each)
_CHUNK = 10
_side: tuple[int, ThreadPoolExecutor] | None = None  # (the process it was started in, the executor)


def _side_thread() -> ThreadPoolExecutor:
    """One worker thread for the LSTM's chunk work, started at first use and again in a forked child (a fork copies
    no threads, and an executor whose thread is gone would wait forever)."""
    global _side
    if _side is None or _side[0] != os.getpid():
        _side = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="chainrule-recurrence"))
    return _side[1]


def _beside_loop(threads: contextlib.AbstractContextManager[Any]) -> ThreadPoolExecutor | None:
    """The side thread when the loop runs on one BLAS thread (``threads``, the entered :func:`_per_step_threads`
    block) and BLAS was allowed more (so a core is there for it); else None: the loop's thread does the chunk work."""
    held = isinstance(threads, one_blas_thread) and bool(threads.restore)
    return _side_thread() if SIDE_THREAD and held else None


def _quietly(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` under the loop's floating-point settings (np.errstate is per thread): exp overflowing to inf
    is how a saturated gate reads 0 or 1, not a warning."""
    with np.errstate(over="ignore"):
        return fn(*args)


def _ahead(side: ThreadPoolExecutor | None, fn: Callable[..., Any],
           chunks: list[tuple[int, int]]) -> list[Future[Any] | None]:
    """Per chunk, ``fn(lo, hi)`` handed to the side thread ahead of the loop (None: the first chunk, which the
    loop needs at once, and every chunk without a side thread)."""
    return [None] + [side.submit(fn, lo, hi) for lo, hi in chunks[1:]] if side is not None else [None] * len(chunks)


def _taken_back(done: Future[Any] | None, fn: Callable[..., Any], *args: Any) -> Any:
    """A chunk's work when the loop needs it: the side thread's result, or ``fn(*args)`` on the loop's thread when
    the side thread has not started it (it may not get a core for a while) or there is none."""
    return fn(*args) if done is None or done.cancel() else done.result()


# The chunk work (the projection ahead of the forward loop; the local derivatives ahead of the backward loop and the
# sums behind it) runs on a second thread beside the loop when BLAS may use more than one: the loop is a chain no
# thread can split, and the chunk work is most of what is not. Off: the loop's thread does it, in the same order.
SIDE_THREAD = True


class Recurrence(Function):
    """The recurrent part of one layer and direction over a whole sequence, as one op.

    Inputs: ``xp`` (L, N, G·H), the input projection x @ W_ih.T + b_ih of every step; ``h0`` (N, H); ``c0`` (N, H)
    or None (LSTM only); ``w_hh`` (G·H, H); ``b_hh`` (G·H,) or None; for LSTM also ``w_ih`` (4H, H_in) and ``b_ih``
    (4H,) or None, with ``xp`` the input x itself (L, N, H_in), projected inside. Output: (L + 1, N, H) — the
    hidden state of each step in time order, then h_n — and for LSTM (L + 2, N, H), with c_n last. ``reverse`` runs
    from the last step to the first. Backward is backpropagation through time in NumPy, with the gates saved at forward.

    Observers, given only when someone watches (the layer's hooks): ``on_gates(gates)`` at forward with the gate
    activations of every step, (L, N, G·H) in time order (LSTM i, f, g, o; GRU r, z, n); ``on_hidden_grad(grads)``
    at backward with ∂loss/∂h_t of every step, (L, N, H) in time order: the gradient that reached each step's
    hidden state from the loss, through later steps included (what ``retain_grad`` on each h_t shows in torch).
    """

    saves_output = True  # backward reads the states it produced

    def forward(self, xp, h0, c0, w_hh, b_hh, w_ih=None, b_ih=None, *, mode, reverse, on_gates=None,
                on_hidden_grad=None):
        self.on_hidden_grad = on_hidden_grad
        threads = _per_step_threads(h0.shape[0] * w_hh.size)
        with threads, np.errstate(over="ignore"):
            side = _beside_loop(threads) if mode == "LSTM" else None
            out = self._forward(xp, h0, c0, w_hh, b_hh, w_ih, b_ih, mode, reverse, side)
        if on_gates is not None and mode == "LSTM":
            on_gates(_lstm_to_torch_order(self.gates))
        elif on_gates is not None and mode == "GRU":
            on_gates(self.gates)
        return out

    def backward(self, grad):
        threads = _per_step_threads(grad.shape[1] * self.w_hh.size)
        with threads:
            return self._backward(grad, _beside_loop(threads) if self.mode == "LSTM" else None)

    def _forward(self, xp, h0, c0, w_hh, b_hh, w_ih, b_ih, mode, reverse, side=None):
        length, batch = xp.shape[0], xp.shape[1]
        hidden = w_hh.shape[1]
        self.mode, self.reverse, self.w_hh = mode, reverse, w_hh
        self.has_bias = b_hh is not None
        extra = 2 if mode == "LSTM" else 1
        out = np.empty((length + extra, batch, hidden), dtype=xp.dtype)
        steps = range(length - 1, -1, -1) if reverse else range(length)
        h = h0
        if mode == "LSTM":
            # xp is the layer's input x here, projected chunk by chunk: W_ih^T, b_ih and b_hh in the internal order
            x, self.x, self.w_ih = xp, xp, w_ih
            w_t, w_ih_t, bias = _lstm_weight(w_hh), _lstm_weight(w_ih), _lstm_bias(b_ih, b_hh)
            pre = np.empty((length, batch, 4 * hidden), dtype=x.dtype)
            c = c0
            self.c = cs = np.empty((length, batch, hidden), dtype=xp.dtype)
            self.tanh_c = tcs = np.empty((length, batch, hidden), dtype=xp.dtype)
            i_times_g = np.empty((batch, hidden), dtype=xp.dtype)
            h2, h3 = 2 * hidden, 3 * hidden
            one, two = xp.dtype.type(1), xp.dtype.type(2)  # the array's dtype: faster than a Python number on a slice
            bounds = _chunks(length, reverse)
            # later chunks prepared on the side thread while the loop runs; a chunk it has not started when the loop
            # reaches it, the loop takes back (the side thread may not get a core for a while)
            prepare = partial(_lstm_prepare, pre, x, w_ih_t, bias)
            pending = _ahead(side, partial(_quietly, prepare), bounds)
            for k, (lo, hi) in enumerate(bounds):
                _taken_back(pending[k], prepare, lo, hi)  # each chunk just before the loop reads it
                for t in (range(hi - 1, lo - 1, -1) if reverse else range(lo, hi)):
                    z = pre[t]
                    z += h @ w_t
                    # z is -a for i, f, o and -2a for g: 1 / (1 + exp(z)) is σ(a) or σ(2a), and tanh(a) = 2σ(2a) - 1
                    # (exp over all four gates costs about half of one tanh; exp overflowing to inf gives σ = 0)
                    np.exp(z, out=z)
                    z += one
                    np.reciprocal(z, out=z)
                    g = z[:, h3:]
                    g *= two
                    g -= one
                    c = np.multiply(z[:, hidden:h2], c, out=cs[t])  # f·c_{t-1} + i·g
                    c += np.multiply(z[:, :hidden], g, out=i_times_g)
                    h = np.multiply(z[:, h2:h3], np.tanh(c, out=tcs[t]), out=out[t])
            out[length + 1] = c
            self.c0 = c0
            self.gates = pre  # i, f, o, g: the internal order
        elif mode == "GRU":
            w_t = np.ascontiguousarray(w_hh.T)  # BLAS is faster on a contiguous right operand
            self.gates = gates = np.empty((length, batch, 3 * hidden), dtype=xp.dtype)  # r, z, n
            self.ghn = ghn_all = np.empty((length, batch, hidden), dtype=xp.dtype)  # W_hn h + b_hn
            for t in steps:
                gh = h @ w_t
                if b_hh is not None:
                    gh += b_hh
                x_t = xp[t]
                rz = _sigmoid(x_t[:, : 2 * hidden] + gh[:, : 2 * hidden])
                r, z = rz[:, :hidden], rz[:, hidden:]
                ghn = gh[:, 2 * hidden:]
                n = np.tanh(x_t[:, 2 * hidden:] + r * ghn)
                h = n + z * (h - n)  # (1 - z)·n + z·h
                gates[t, :, : 2 * hidden] = rz
                gates[t, :, 2 * hidden:] = n
                ghn_all[t] = ghn
                out[t] = h
        else:
            w_t = np.ascontiguousarray(w_hh.T)
            pre = xp + b_hh if b_hh is not None else xp.copy()
            for t in steps:
                z = pre[t]
                z += h @ w_t
                h = np.tanh(z, out=out[t]) if mode == "RNN_TANH" else np.maximum(z, 0, out=out[t])
            self.gates = pre
        out[length] = h
        self.h0, self.outputs = h0, out
        return out

    def _backward(self, grad, side=None):
        mode, reverse, w_hh = self.mode, self.reverse, self.w_hh
        length, batch, hidden = grad.shape[0] - (2 if mode == "LSTM" else 1), grad.shape[1], grad.shape[2]
        out = self.outputs
        gates = self.gates
        steps = range(length) if reverse else range(length - 1, -1, -1)
        dh = grad[length].copy()
        d_pre = np.empty(gates.shape, dtype=grad.dtype)  # gradient of each step's pre-activations
        # ∂loss/∂h_t of each step, kept only when observed: one copy per step
        seen = np.empty((length, batch, hidden), dtype=grad.dtype) if self.on_hidden_grad is not None else None
        if mode == "LSTM":
            return self._lstm_backward(grad, dh, d_pre, seen, side)
        elif mode == "GRU":
            previous = self._previous_states(out, length)  # h_{t-1} of each step, (L, N, H)
            d_gh = np.empty(gates.shape, dtype=grad.dtype)
            for t in steps:
                dh += grad[t]
                if seen is not None:
                    seen[t] = dh
                r, z, n = (gates[t, :, k * hidden: (k + 1) * hidden] for k in range(3))
                h_prev = previous[t]
                dzn = dh * (1 - z) * (1 - n * n)
                dxp, dgh = d_pre[t], d_gh[t]
                dxp[:, 2 * hidden:] = dzn
                np.multiply(dzn, r, out=dgh[:, 2 * hidden:])
                np.multiply(dzn * self.ghn[t], r * (1 - r), out=dxp[:, :hidden])
                np.multiply(dh * (h_prev - n), z * (1 - z), out=dxp[:, hidden: 2 * hidden])
                dgh[:, : 2 * hidden] = dxp[:, : 2 * hidden]
                dh = dh * z
                dh += dgh @ w_hh
            d_c0 = None
        else:
            previous = self._previous_states(out, length)
            for t in steps:
                dh += grad[t]
                if seen is not None:
                    seen[t] = dh
                h = out[t]
                dz = d_pre[t]
                if mode == "RNN_TANH":
                    np.multiply(dh, 1 - h * h, out=dz)
                else:
                    np.multiply(dh, h > 0, out=dz)
                dh = dz @ w_hh
            d_c0 = None
            d_gh = d_pre
        if seen is not None:
            self.on_hidden_grad(seen)
        needs = self.needs
        d_w = None
        if needs[3]:
            # RNN and GRU keep one product over the shifted copy, bit for bit what the gallery's demos were set on:
            # the vanishing-through-time demo's tanh RNN reached 74.6% instead of chance (26%) when this sum's
            # float32 rounding changed by 1e-7 (measured with the split product)
            d_w = matmul_small(d_gh.reshape(length * batch, -1).T, previous.reshape(length * batch, hidden))
        d_b = d_gh.reshape(length * batch, -1).sum(axis=0) if self.has_bias and needs[4] else None
        return (d_pre if needs[0] else None, dh if needs[1] else None, d_c0 if needs[2] else None, d_w, d_b)

    def _lstm_backward(self, grad, dh, d_pre, seen, side=None):
        """Backpropagation through the LSTM's steps: the gradients of the op's seven inputs (x, h_0, c_0, W_hh,
        b_hh, W_ih, b_ih; None where not needed), with d_pre as scratch for every step's pre-activations.

        The work that is not a chain from step to step (each step's local derivatives before the loop reaches it;
        dW_hh = Σ_t d_pre_t^T h_{t-1}, db_hh = db_ih = Σ_t d_pre_t, dW_ih = Σ_t d_pre_t^T x_t and dx_t = d_pre_t W_ih
        once it has passed) runs in chunks of :data:`_CHUNK` steps, so that each chunk's arrays are still in cache
        when the loop reads them or when its sums read what the loop wrote. With ``side`` (the side thread) that
        work runs beside the loop, else on the loop's thread, in the same order and with the same sums either way."""
        length, batch, hidden = grad.shape[0] - 2, grad.shape[1], grad.shape[2]
        w_hh, gates, tanh_c = self.w_hh, self.gates, self.tanh_c
        # d_pre is in torch's gate order i, f, g, o, which W_hh, W_ih and the biases have; the gates are i, f, o, g
        g4 = gates.reshape(length, batch, 4, hidden)
        d4 = d_pre.reshape(length, batch, 4, hidden)
        f, d_o = g4[:, :, 1], d4[:, :, 3]
        dc_dh = np.empty((length, batch, hidden), dtype=grad.dtype)  # ∂h/∂c of each step
        needs, x, w_ih = self.needs, self.x, self.w_ih
        want_w, want_b, want_w_ih = needs[3], self.has_bias and (needs[4] or needs[6]), needs[5]
        dx = np.empty(x.shape, dtype=grad.dtype) if needs[0] else None

        one = grad.dtype.type(1)  # the array's dtype: faster than a Python number on a strided slice
        outputs = self.outputs  # h_t of each step, in place: h_t = o·tanh(c_t) saves a pass in two of the factors

        def local(lo: int, hi: int) -> None:
            """The local derivatives of steps lo..hi-1 (time order), written straight into d_pre, which the loop
            then scales by dc and dh: 12 passes over the chunk's strided gate slices (each ~2.5x an op over as
            many contiguous floats), no sequence-sized temporaries (fresh arrays of megabytes cost page faults:
            10 ms of the old layer's 27.5 ms CPU a step were the kernel's)."""
            i, f, o, g = (g4[lo:hi, :, k] for k in range(4))
            d_i, d_f, d_g, d_o = (d4[lo:hi, :, k] for k in range(4))
            # its own scratch: the loop's thread may take a chunk back while the side thread works on a later one
            h, tc, spare = outputs[lo:hi], tanh_c[lo:hi], np.empty((hi - lo, batch, hidden), dtype=grad.dtype)
            np.multiply(i, g, out=d_i)  # i·g, shared by the two below
            np.multiply(d_i, g, out=d_g)  # ∂c/∂z_g = i·tanh'(z_g) = i - i·g·g
            np.subtract(i, d_g, out=d_g)
            np.subtract(one, i, out=spare)  # ∂c/∂z_i = g·σ'(z_i) = i·g·(1 - i)
            d_i *= spare
            np.subtract(one, f, out=d_f)  # ∂c/∂z_f = c_{t-1}·σ'(z_f)
            d_f *= f
            later, earlier, first = self._chunk_previous(lo, hi, length)
            d_f[later.start - lo:later.stop - lo] *= self.c[earlier]
            if first is not None:
                d_f[first - lo] *= self.c0
            np.subtract(one, o, out=d_o)  # ∂h/∂z_o = tanh(c)·σ'(z_o) = h·(1 - o)
            d_o *= h
            ch = dc_dh[lo:hi]
            np.multiply(h, tc, out=ch)  # ∂h/∂c = o·(1 - tanh²(c)) = o - h·tanh(c)
            np.subtract(o, ch, out=ch)

        def sums(lo: int, hi: int) -> tuple[Any, Any, Any]:
            """Steps lo..hi-1's parts of dW_hh (their d_pre against the states they started from, the outputs in
            place and h_0), of db_hh (= db_ih) and of dW_ih, and their rows of dx."""
            d_w = d_b = d_w_ih = None
            d_chunk = d_pre[lo:hi].reshape(-1, 4 * hidden)
            if dx is not None:
                np.matmul(d_chunk, w_ih, out=dx[lo:hi].reshape(-1, x.shape[2]))
            if want_w_ih:
                d_w_ih = d_chunk.T @ x[lo:hi].reshape(-1, x.shape[2])
            if want_w:
                later, earlier, first = self._chunk_previous(lo, hi, length)
                if later.stop > later.start:
                    d_w = d_pre[later].reshape(-1, 4 * hidden).T @ self.outputs[earlier].reshape(-1, hidden)
                if first is not None:
                    d_first = d_pre[first].T @ self.h0
                    d_w = d_first if d_w is None else d_w + d_first
            if want_b:
                d_b = d_chunk.sum(axis=0)
            return d_w, d_b, d_w_ih

        bounds = _chunks(length, not self.reverse)
        # (a chunk the side thread has not started when the loop reaches it, the loop's thread takes back)
        pending = _ahead(side, local, bounds)
        parts: list[tuple[Any, Any, Any]] = []
        later_sums: list[Future[tuple[Any, Any, Any]]] = []  # the same, from the side thread
        dc = grad[length + 1].copy()
        dh_dc = np.empty_like(dc)  # per-step scratch: dh·∂h/∂c
        for k, (lo, hi) in enumerate(bounds):
            _taken_back(pending[k], local, lo, hi)
            for t in (range(lo, hi) if self.reverse else range(hi - 1, lo - 1, -1)):
                dh += grad[t]
                if seen is not None:
                    seen[t] = dh
                dc += np.multiply(dh, dc_dh[t], out=dh_dc)
                d_ifg = d4[t, :, :3]
                d_ifg *= dc[:, None, :]
                d_o[t] *= dh
                dc *= f[t]
                np.matmul(d_pre[t], w_hh, out=dh)  # dh is spent by here: no fresh array a step
            if side is None:
                parts.append(sums(lo, hi))
            elif k < len(bounds) - 1:
                later_sums.append(side.submit(sums, lo, hi))
        if side is not None:
            last = sums(*bounds[-1])  # the loop's thread, left with no other work, does the last chunk's itself
            parts = [_taken_back(part, sums, *bounds[k]) for k, part in enumerate(later_sums)]
            parts.append(last)
        totals: list[Any] = [None, None, None]  # dW_hh, db, dW_ih
        for part in parts:  # in running order, whichever thread computed them
            for j, value in enumerate(part):
                if value is not None:
                    totals[j] = value if totals[j] is None else np.add(totals[j], value, out=totals[j])
        d_w, d_b, d_w_ih = totals
        if seen is not None:
            self.on_hidden_grad(seen)
        return (dx, dh if needs[1] else None, dc if needs[2] else None, d_w, d_b if needs[4] else None, d_w_ih,
                (d_b.copy() if needs[4] else d_b) if needs[6] else None)  # two gradients, two arrays

    def _chunk_previous(self, lo: int, hi: int, length: int) -> tuple[slice, slice, int | None]:
        """For steps lo..hi-1: the slice of those that start from an output, the slice of those outputs, and the
        step among them that starts from the initial state (None if none does)."""
        if self.reverse:
            top = min(hi, length - 1)
            return slice(lo, top), slice(lo + 1, top + 1), (length - 1 if hi == length else None)
        bottom = max(lo, 1)
        return slice(bottom, hi), slice(bottom - 1, hi - 1), (0 if lo == 0 else None)

    def _previous_states(self, out: np.ndarray, length: int) -> np.ndarray:
        """h_{t-1} for each step t in time order: the state each step started from."""
        prev = np.empty((length, *out.shape[1:]), dtype=out.dtype)
        if self.reverse:
            prev[: length - 1] = out[1:length]
            prev[length - 1] = self.h0
        else:
            prev[1:] = out[: length - 1]
            prev[0] = self.h0
        return prev


def _check_mode_args(where: str, num_layers: Any, dropout: Any) -> tuple[int, float]:
    layers = positive_int(num_layers, "num_layers", where)
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:  # type: ignore[operator]
        raise ValueError(f"{where}: dropout should be a number in range [0, 1] representing the probability of an "
                         f"element being zeroed, got {dropout!r}")
    if dropout > 0 and layers == 1:  # type: ignore[operator]
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={dropout} and num_layers={layers}", UserWarning, stacklevel=4)
    return layers, float(dropout)


class RNNBase(Module):
    """The shared body of :class:`RNN`, :class:`LSTM` and :class:`GRU` (as ``torch.nn.RNNBase``)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        where = type(self).__name__
        self.mode = mode
        self.input_size = positive_int(input_size, "input_size", where)
        self.hidden_size = positive_int(hidden_size, "hidden_size", where)
        self.num_layers, self.dropout = _check_mode_args(where, num_layers, dropout)
        self.bias = flag(bias, "bias", where)
        self.batch_first = flag(batch_first, "batch_first", where)
        self.bidirectional = flag(bidirectional, "bidirectional", where)
        if proj_size:
            raise NotImplementedError(f"{where}: proj_size is not supported by chainrule (got {proj_size!r})")
        self.proj_size = 0
        self._hidden_grad_hooks: list[StepHook] = []
        self._gate_hooks: list[StepHook] = []
        dtype = np.dtype(dtype or DEFAULT_DTYPE)
        gate_size = _GATES[mode] * self.hidden_size
        directions = 2 if self.bidirectional else 1
        self._flat_weights_names: list[str] = []
        for layer in range(self.num_layers):
            for direction in range(directions):
                layer_input = self.input_size if layer == 0 else self.hidden_size * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes: list[tuple[str, tuple[int, ...]]] = [
                    ("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, self.hidden_size))]
                if self.bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for name, shape in shapes:
                    full = f"{name}_l{layer}{suffix}"
                    setattr(self, full, Parameter(np.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(full)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: every weight and bias from U(-1/√hidden_size, 1/√hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def register_hidden_grad_hook(self, hook: StepHook) -> HookHandle:
        """Call ``hook(layer, direction, grads)`` in backward with ∂loss/∂h_t of every step of that layer and
        direction: an array (L, N, H) in time order, the gradient that reached each step's hidden state through
        the later steps (chainrule's own; torch shows the same with ``retain_grad`` on each h_t of a cell loop).
        It costs one copy per step, and only while a hook is registered.

        >>> import chainrule as cr
        >>> rnn, seen = RNN(2, 3), []
        >>> handle = rnn.register_hidden_grad_hook(lambda layer, direction, g: seen.append(g.shape))
        >>> rnn(cr.ones(5, 4, 2))[0][-1].sum().backward()
        >>> seen
        [(5, 4, 3)]
        """
        self._hidden_grad_hooks.append(hook)
        return HookHandle(self._hidden_grad_hooks, hook)

    def register_gate_hook(self, hook: StepHook) -> HookHandle:
        """Call ``hook(layer, direction, gates)`` in forward with the gate activations of every step, an array
        (L, N, G·H) in time order (LSTM: i, f, g, o; GRU: r, z, n; a plain RNN has no gates and never calls it)."""
        self._gate_hooks.append(hook)
        return HookHandle(self._gate_hooks, hook)

    def _observers(self, layer: int, direction: int) -> dict[str, Any]:
        """Recurrence's observers for one layer and direction: none unless a hook is registered."""
        observers: dict[str, Any] = {}
        for key, hooks in (("on_gates", self._gate_hooks), ("on_hidden_grad", self._hidden_grad_hooks)):
            if hooks:
                observers[key] = partial(_call_all, list(hooks), layer, direction)
        return observers

    def _param(self, name: str) -> Parameter:
        return getattr(self, name)

    def flatten_parameters(self) -> None:
        """Does nothing: torch packs weights for cuDNN here; chainrule's weights need no packing."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        per = 4 if self.bias else 2
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[k: k + per]] for k in range(0, len(names), per)]

    def _check_input(self, x: Any) -> None:
        where = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}: expected a Tensor input, got {type(x).__name__}")
        if x.ndim not in (2, 3):
            raise ValueError(f"{where}: expected input to be 2D (L, H_in) or 3D (L, N, H_in) or (N, L, H_in) with "
                             f"batch_first, got {x.ndim}D input of shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{where}(input_size={self.input_size}): expected input with {self.input_size} "
                             f"features in its last dimension, got {x.shape[-1]} (input shape {tuple(x.shape)})")
        length = x.shape[1] if x.ndim == 3 and self.batch_first else x.shape[0]
        if length == 0:
            raise ValueError(f"{where}: expected a sequence length larger than 0, got input of shape {tuple(x.shape)}")
        weight = self._param("weight_ih_l0")
        if x._data.dtype != weight._data.dtype:
            raise DtypeError(
                f"{where}: input has dtype {x._data.dtype} but the layer's weights have dtype {weight._data.dtype}; "
                f"they must match (as in PyTorch): convert the input (x.to(cr.{weight._data.dtype})) or the model "
                f"(model.to(cr.{x._data.dtype}))")

    def _check_state(self, h: Any, expected: tuple[int, ...], what: str) -> None:
        if not isinstance(h, Tensor):
            raise TypeError(f"{type(self).__name__}: expected {what} to be a Tensor, got {type(h).__name__}")
        if tuple(h.shape) != expected:
            raise ValueError(f"{type(self).__name__}: expected {what} of shape {expected}, got {tuple(h.shape)}")
        dtype = self._param("weight_ih_l0")._data.dtype
        if h._data.dtype != dtype:
            raise DtypeError(f"{type(self).__name__}: {what} has dtype {h._data.dtype} but the layer's weights have "
                             f"dtype {dtype}; they must match")

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:  # noqa: A002 - PyTorch's name
        self._check_input(input)
        batch = (input.shape[0] if self.batch_first else input.shape[1]) if input.ndim == 3 else 1
        # small per-step products: the whole layer on one BLAS thread (idle BLAS threads left spinning by a threaded
        # input projection would otherwise compete with the step loop for the cores)
        with _per_step_threads(batch * _GATES[self.mode] * self.hidden_size ** 2):
            return self._run(input, hx)

    def _run(self, input: Tensor, hx: Any) -> tuple[Tensor, Any]:  # noqa: A002 - PyTorch's name
        x = input
        batched = x.ndim == 3
        is_lstm = self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        length, batch = x.shape[0], x.shape[1]
        state_shape = (self.num_layers * directions, batch, self.hidden_size)
        shown = state_shape if batched else (state_shape[0], state_shape[2])
        h0: Any = None
        c0: Any = None
        if hx is not None:
            if is_lstm:
                if not isinstance(hx, tuple | list) or len(hx) != 2:
                    raise ValueError(f"LSTM: expected hx to be a tuple (h_0, c_0), got {type(hx).__name__}")
                h0, c0 = hx
                self._check_state(h0, shown, "h_0")
                self._check_state(c0, shown, "c_0")
                if not batched:
                    h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            else:
                self._check_state(hx, shown, "hx")
                h0 = hx if batched else hx.unsqueeze(1)
        dtype = self._param("weight_ih_l0")._data.dtype
        zeros = np.zeros((batch, self.hidden_size), dtype=dtype)
        layer_input = x
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                suffix = "_reverse" if direction == 1 else ""
                w_ih = getattr(self, f"weight_ih_l{layer}{suffix}")
                w_hh = getattr(self, f"weight_hh_l{layer}{suffix}")
                b_ih = getattr(self, f"bias_ih_l{layer}{suffix}") if self.bias else None
                b_hh = getattr(self, f"bias_hh_l{layer}{suffix}") if self.bias else None
                h_init = h0[k] if h0 is not None else zeros
                observers = self._observers(layer, direction)
                if is_lstm:  # the LSTM projects its input inside the op, chunk by chunk as its loop reaches them
                    c_init = c0[k] if c0 is not None else zeros
                    y = Recurrence.apply(layer_input, h_init, c_init, w_hh, b_hh, w_ih, b_ih, mode=self.mode,
                                         reverse=direction == 1, **observers)
                else:
                    features = layer_input.shape[2]
                    flat = layer_input.reshape(length * batch, features)
                    xp = (ops.Linear.apply(flat, w_ih) if b_ih is None else ops.Linear.apply(flat, w_ih, b_ih))
                    xp = xp.reshape(length, batch, w_ih.shape[0])
                    y = Recurrence.apply(xp, h_init, None, w_hh, b_hh, mode=self.mode, reverse=direction == 1,
                                         **observers)
                outputs.append(y[:length])
                h_n.append(y[length])
                if is_lstm:
                    c_n.append(y[length + 1])
            layer_output = outputs[0] if directions == 1 else ops.cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_output = F.drop(layer_output, self.dropout)
            layer_input = layer_output
        output = layer_input
        h = ops.stack(h_n, 0)
        c = ops.stack(c_n, 0) if is_lstm else None
        if not batched:
            output, h = output.squeeze(1), h.squeeze(1)
            c = c.squeeze(1) if c is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((h, c) if is_lstm else h)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity!r}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(RNNBase):
    """Elman RNN, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or ReLU), as ``torch.nn.RNN``.

    Arguments as torch (positional order input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
    dropout, bidirectional). ``forward(input, hx=None)`` returns ``(output, h_n)``.

    >>> import chainrule as cr
    >>> out, h = RNN(4, 3, num_layers=2)(cr.ones(5, 2, 4))
    >>> out.shape, h.shape
    ((5, 2, 3), (2, 2, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; expected 'tanh' or 'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o stacked in that order in each weight, as ``torch.nn.LSTM``.

    ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``. ``proj_size`` is not supported.

    >>> import chainrule as cr
    >>> out, (h, c) = LSTM(4, 3, batch_first=True, bidirectional=True)(cr.ones(2, 5, 4))
    >>> out.shape, h.shape, c.shape
    ((2, 5, 6), (2, 2, 3), (2, 2, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n stacked in that order, n = tanh(W_in x + b_in + r·(W_hn h + b_hn)),
    as ``torch.nn.GRU``. ``forward(input, hx=None)`` returns ``(output, h_n)``.

    >>> import chainrule as cr
    >>> GRU(4, 3)(cr.ones(5, 4))[0].shape
    (5, 3)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


# ---------------------------------------------------------------------------- cells


class RNNCellBase(Module):
    """The shared body of the cells: weight_ih (G·H, H_in), weight_hh (G·H, H), bias_ih, bias_hh (G·H,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, gates: int, dtype: Any) -> None:
        super().__init__()
        where = type(self).__name__
        self.input_size = positive_int(input_size, "input_size", where)
        self.hidden_size = positive_int(hidden_size, "hidden_size", where)
        self.bias = flag(bias, "bias", where)
        dtype = np.dtype(dtype or DEFAULT_DTYPE)
        self.weight_ih = Parameter(np.empty((gates * self.hidden_size, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((gates * self.hidden_size, self.hidden_size), dtype=dtype))
        if self.bias:
            self.bias_ih = Parameter(np.empty(gates * self.hidden_size, dtype=dtype))
            self.bias_hh = Parameter(np.empty(gates * self.hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: every weight and bias from U(-1/√hidden_size, 1/√hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _prepare(self, x: Any, hx: Any, what: str = "hx") -> tuple[Tensor, Any, bool]:
        where = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}: expected a Tensor input, got {type(x).__name__}")
        if x.ndim not in (1, 2):
            raise ValueError(f"{where}: expected input to be 1D (H_in) or 2D (N, H_in), got {x.ndim}D input of "
                             f"shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{where}(input_size={self.input_size}): expected input with {self.input_size} "
                             f"features in its last dimension, got {x.shape[-1]} (input shape {tuple(x.shape)})")
        if x._data.dtype != self.weight_ih._data.dtype:
            raise DtypeError(f"{where}: input has dtype {x._data.dtype} but the cell's weights have dtype "
                             f"{self.weight_ih._data.dtype}; they must match (as in PyTorch)")
        batched = x.ndim == 2
        if not batched:
            x = x.unsqueeze(0)
        return x, hx, batched

    def _state(self, h: Any, x: Tensor, batched: bool, what: str) -> Any:
        if h is None:
            return Tensor._wrap(np.zeros((x.shape[0], self.hidden_size), dtype=x._data.dtype))
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if not isinstance(h, Tensor) or tuple(h.shape) != expected:
            got = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
            raise ValueError(f"{type(self).__name__}: expected {what} of shape {expected}, got {got}")
        return h if batched else h.unsqueeze(0)

    def _gates(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        if self.bias:
            return ops.Linear.apply(x, self.weight_ih, self.bias_ih), ops.Linear.apply(h, self.weight_hh, self.bias_hh)
        return ops.Linear.apply(x, self.weight_ih), ops.Linear.apply(h, self.weight_hh)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity!r}"
        return text


class RNNCell(RNNCellBase):
    """One step of an Elman RNN, h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or ReLU), as ``torch.nn.RNNCell``.

    >>> import chainrule as cr
    >>> RNNCell(4, 3)(cr.ones(2, 4)).shape
    (2, 3)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; expected 'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002 - PyTorch's name
        x, hx, batched = self._prepare(input, hx)
        h = self._state(hx, x, batched, "hx")
        gi, gh = self._gates(x, h)
        pre = gi + gh
        out = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step, gates i, f, g, o: returns (h', c'), as ``torch.nn.LSTMCell``.

    >>> import chainrule as cr
    >>> h, c = LSTMCell(4, 3)(cr.ones(2, 4))
    >>> h.shape, c.shape
    ((2, 3), (2, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002 - PyTorch's name
        x, hx, batched = self._prepare(input, hx)
        if hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise ValueError(f"LSTMCell: expected hx to be a tuple (h_0, c_0), got {type(hx).__name__}")
        h = self._state(hx[0] if hx is not None else None, x, batched, "h_0")
        c = self._state(hx[1] if hx is not None else None, x, batched, "c_0")
        gi, gh = self._gates(x, h)
        i, f, g, o = ops.split(gi + gh, self.hidden_size, dim=1)
        c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h_new = o.sigmoid() * c_new.tanh()
        if not batched:
            return h_new.squeeze(0), c_new.squeeze(0)
        return h_new, c_new


class GRUCell(RNNCellBase):
    """One GRU step, gates r, z, n with n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), as ``torch.nn.GRUCell``.

    >>> import chainrule as cr
    >>> GRUCell(4, 3)(cr.ones(4)).shape
    (3,)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002 - PyTorch's name
        x, hx, batched = self._prepare(input, hx)
        h = self._state(hx, x, batched, "hx")
        gi, gh = self._gates(x, h)
        i_r, i_z, i_n = ops.split(gi, self.hidden_size, dim=1)
        h_r, h_z, h_n = ops.split(gh, self.hidden_size, dim=1)
        r = (i_r + h_r).sigmoid()
        z = (i_z + h_z).sigmoid()
        n = (i_n + r * h_n).tanh()
        h_new = (1 - z) * n + z * h
        return h_new if batched else h_new.squeeze(0)
