"""Ops that the layers need whole, with PyTorch's exact backward: embedding lookup and binary cross-entropy.

They live beside the layers (not in the engine): each is a ``Function`` with forward and backward on
NumPy arrays, as the engine's own ops are.
"""

from __future__ import annotations

import numpy as np

from chainrule.engine.autograd import Function


class Embedding(Function):
    """Rows of ``weight`` picked by integer indices; backward adds each output row's gradient into its row
    (a scatter-add, so repeated indices add up), leaves the ``padding_idx`` row at zero and, with
    ``scale_grad_by_freq``, divides each row's gradient by how often its index occurs in the batch."""

    saves_inputs = False  # backward needs the indices only, not the weight

    def forward(self, weight, indices, padding_idx, scale_grad_by_freq):
        self.shape, self.dtype = weight.shape, weight.dtype
        self.indices, self.padding_idx, self.scale = indices, padding_idx, scale_grad_by_freq
        return weight[indices]

    def backward(self, g):
        flat = self.indices.reshape(-1)
        rows = g.reshape(flat.size, self.shape[1])
        if self.scale:
            counts = np.bincount(flat, minlength=self.shape[0])
            rows = rows / counts[flat, None].astype(g.dtype)
        grad = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(grad, flat, rows)
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
        return grad, None, None, None


# torch's EPSILON in the binary cross-entropy backward: 1e-12 as a float32 (9.9999998e-13), in every dtype
_EPSILON = float(np.float32(1e-12))


class BinaryCrossEntropy(Function):
    """-w·[t·max(log x, -100) + (1 - t)·max(log(1 - x), -100)] elementwise, as ``torch.binary_cross_entropy``,
    with its backward w·(x - t) / max(x(1 - x), 1e-12) (finite at x = 0 and 1) and gradient for ``t``."""

    def forward(self, x, t, weight):
        self.x, self.t, self.weight = x, t, weight
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        loss = (t - 1) * log_1mx - t * log_x
        self.log_ratio = log_x - log_1mx  # d loss / d t
        return loss if weight is None else loss * weight

    def backward(self, g):
        x, t = self.x, self.t
        if self.weight is not None:
            g = g * self.weight
        gx = g * (x - t) / np.maximum((1 - x) * x, x.dtype.type(_EPSILON)) if self.needs[0] else None
        gt = -g * self.log_ratio if self.needs[1] else None
        return gx, gt, None
