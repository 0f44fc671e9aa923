"""One helper that runs the same computation through chainrule, NumPy and PyTorch (like tinygrad's helper_test_op).

``check_op`` draws float64 inputs, then checks, for each set of input shapes:
the forward value against a NumPy reference, the gradients against central finite
differences (``cr.gradcheck``), and values and gradients against torch autograd.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

import chainrule as cr

Shape = tuple[int, ...]
RTOL, ATOL = 1e-6, 1e-12


def normal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Away from 0, for log, sqrt, pow bases and divisors."""
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """|x| >= 0.1, so finite differences never straddle the kink of relu or abs."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


def away_from_clip_bounds(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Values at least 0.1 from the bounds -0.5 and 0.5 used by the clip rows."""
    return rng.choice([-1.0, 0.0, 1.0], shape) + rng.uniform(-0.4, 0.4, shape)


@dataclass(frozen=True)
class Op:
    """One row of the op table.

    ``fn`` takes chainrule tensors; ``torch_fn`` takes torch tensors (defaults to ``fn``
    when both libraries spell the computation the same way); ``reference`` takes float64
    NumPy arrays. Each entry of ``shapes`` is one tuple of input shapes. A function may
    return one tensor or a list of them.
    """

    name: str
    fn: Callable
    reference: Callable
    shapes: Sequence[tuple[Shape, ...]]
    torch_fn: Callable | None = None
    sample: Callable[[np.random.Generator, Shape], np.ndarray] = normal
    samples: Sequence[Callable] = field(default=())  # one sampler per input, overriding ``sample``


def as_list(out: object) -> list:
    """An op's result as a list of outputs (split returns several)."""
    return list(out) if isinstance(out, list | tuple) else [out]


def draw_inputs(op: Op, shapes: tuple[Shape, ...], k: int) -> list[np.ndarray]:
    """float64 inputs for ``op``'s ``k``-th set of shapes, the same on every run."""
    rng = np.random.default_rng([zlib.crc32(op.name.encode()), k])
    samplers = op.samples or [op.sample] * len(shapes)
    return [np.asarray(sampler(rng, shape), dtype=np.float64) for sampler, shape in zip(samplers, shapes)]


def check_op(op: Op) -> None:
    """Check ``op`` over all its input shapes: NumPy forward, gradcheck, torch values and gradients."""
    torch_fn = op.torch_fn or op.fn
    for k, shapes in enumerate(op.shapes):
        arrays = draw_inputs(op, shapes, k)
        where = f"{op.name} with input shapes {shapes}"

        xs = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
        outs = as_list(op.fn(*xs))
        refs = as_list(op.reference(*[a.copy() for a in arrays]))
        assert len(outs) == len(refs), where
        rng = np.random.default_rng(k)
        weights = [rng.standard_normal(np.shape(r)) for r in refs]
        for out, ref in zip(outs, refs):
            assert isinstance(out, cr.Tensor), where
            assert out.dtype == np.float64, f"{where}: output dtype {out.dtype}"
            assert out.shape == np.shape(ref), f"{where}: shape {out.shape}, NumPy gives {np.shape(ref)}"
            np.testing.assert_allclose(out.data, ref, rtol=RTOL, atol=ATOL, err_msg=f"{where}: forward vs NumPy")

        loss = sum((out * w).sum() for out, w in zip(outs, weights))
        loss.backward()

        ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
        touts = as_list(torch_fn(*ts))
        for out, tout in zip(outs, touts):
            assert tuple(tout.shape) == out.shape, f"{where}: shape {out.shape}, torch gives {tuple(tout.shape)}"
            np.testing.assert_allclose(
                out.data, tout.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=f"{where}: forward vs torch"
            )
        tloss = sum((tout * torch.from_numpy(w)).sum() for tout, w in zip(touts, weights))
        tloss.backward()
        for i, (x, t) in enumerate(zip(xs, ts)):
            assert x.grad is not None and x.grad.shape == x.shape, f"{where}: gradient of input {i} is off"
            want = t.grad.numpy() if t.grad is not None else np.zeros(x.shape)
            np.testing.assert_allclose(
                x.grad, want, rtol=RTOL, atol=ATOL, err_msg=f"{where}: gradient of input {i} vs torch"
            )

        def weighted(*tensors: cr.Tensor, weights: list = weights) -> cr.Tensor:
            return sum((out * w).sum() for out, w in zip(as_list(op.fn(*tensors)), weights))

        leaves = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
        assert cr.gradcheck(weighted, leaves), where
