"""Property tests: broadcasting gradients and random composed expressions agree with torch (float64)."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import chainrule as cr

# Deterministic: the same examples on every run and machine, nothing saved between runs.
DETERMINISTIC = settings(derandomize=True, max_examples=60, deadline=None, database=None)
RTOL, ATOL = 1e-9, 1e-12

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 0.5), lambda a, b: a / (b * b + 0.5)),
    "pow": (lambda a, b: (a * a + 0.5) ** b, lambda a, b: (a * a + 0.5) ** b),
    "maximum": (cr.maximum, torch.maximum),
    "minimum": (cr.minimum, torch.minimum),
    "where": (lambda a, b: cr.where(a.data > b.data, a, b), lambda a, b: torch.where(a > b, a, b)),
}


def _both(array: np.ndarray) -> tuple[cr.Tensor, torch.Tensor]:
    return cr.tensor(array, dtype=np.float64, requires_grad=True), torch.tensor(array, requires_grad=True)


def _close(got: np.ndarray, want: torch.Tensor, what: str) -> None:
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=what)


@DETERMINISTIC
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**32 - 1),
)
def test_broadcast_gradients_have_input_shapes_and_match_torch(shapes: object, op: str, seed: int) -> None:
    fn, torch_fn = BINARY[op]
    rng = np.random.default_rng(seed)
    (a, ta), (b, tb) = (_both(rng.standard_normal(shape)) for shape in shapes.input_shapes)
    out = fn(a, b)
    assert out.shape == shapes.result_shape
    out.sum().backward()
    torch_fn(ta, tb).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    _close(a.grad, ta.grad, f"{op}: gradient of a {a.shape}")
    _close(b.grad, tb.grad, f"{op}: gradient of b {b.shape}")


@DETERMINISTIC
@given(
    batch=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
    sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    vector=st.sampled_from(["none", "left", "right"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_batched_matmul_gradients_match_torch(batch: object, sizes: tuple, vector: str, seed: int) -> None:
    n, k, m = sizes
    left = (k,) if vector == "left" else (*batch.input_shapes[0], n, k)
    right = (k,) if vector == "right" else (*batch.input_shapes[1], k, m)
    rng = np.random.default_rng(seed)
    (a, ta), (b, tb) = _both(rng.standard_normal(left)), _both(rng.standard_normal(right))
    out, expected = a @ b, ta @ tb
    _close(out.data, expected, f"{left} @ {right}")
    weights = rng.standard_normal(out.shape)
    (out * weights).sum().backward()
    (expected * torch.from_numpy(weights)).sum().backward()
    _close(a.grad, ta.grad, f"{left} @ {right}: gradient of the left operand")
    _close(b.grad, tb.grad, f"{left} @ {right}: gradient of the right operand")


@DETERMINISTIC
@given(
    shape=st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple),
    data=st.data(),
    reduction=st.sampled_from(["sum", "mean", "amax", "logsumexp", "var"]),
    keepdims=st.booleans(),
)
def test_reductions_over_any_axes_match_torch(
    shape: tuple, data: st.DataObject, reduction: str, keepdims: bool
) -> None:
    ndim = len(shape)
    axes = tuple(data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, unique_by=lambda a: a % ndim)))
    assume(reduction != "var" or math.prod(shape[a] for a in axes) > 1)  # var of one element divides by 0
    a, ta = _both(np.random.default_rng(len(shape)).standard_normal(shape))
    out = getattr(a, reduction)(axes, keepdim=keepdims)
    torch_fns = {
        "sum": lambda t: t.sum(axes, keepdims),
        "mean": lambda t: t.mean(axes, keepdims),
        "amax": lambda t: torch.amax(t, axes, keepdims),
        "logsumexp": lambda t: torch.logsumexp(t, axes, keepdims),
        "var": lambda t: torch.var(t, axes, keepdim=keepdims),
    }
    expected = torch_fns[reduction](ta)
    assert out.shape == tuple(expected.shape)
    _close(out.data, expected, f"{reduction} over {axes} of {shape}")
    out.sum().backward()
    expected.sum().backward()
    assert a.grad.shape == shape
    _close(a.grad, ta.grad, f"{reduction} over {axes} of {shape}: gradient")


# ---------------------------------------------------------------------------- random composed expressions

UNARY = {
    "tanh": (lambda x: x.tanh(), torch.tanh),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
    "softplus": (lambda x: cr.nn.functional.softplus(x), torch.nn.functional.softplus),
    "neg": (lambda x: -x, lambda x: -x),
    "square": (lambda x: x * x, lambda x: x * x),
    "exp_tanh": (lambda x: x.tanh().exp(), lambda x: x.tanh().exp()),
    "log1p_square": (lambda x: (x * x + 1).log(), lambda x: (x * x + 1).log()),
    "gelu": (lambda x: x.gelu(), torch.nn.functional.gelu),
    "softmax": (lambda x: x.softmax(-1), lambda x: x.softmax(-1)),
    "row_sum": (lambda x: x.sum(1, keepdims=True), lambda x: x.sum(1, keepdim=True)),
    "column_mean": (lambda x: x.mean(0, keepdims=True), lambda x: x.mean(0, keepdim=True)),
    "transpose_twice": (lambda x: (x.T * 1.5).T, lambda x: (x.T * 1.5).T),
    "self_matmul": (lambda x: x @ x.T @ x * 0.1, lambda x: x @ x.T @ x * 0.1),
}
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY)), st.integers(0, 100), st.just(0)),
        st.tuples(st.just("binary"), st.sampled_from(sorted(BINARY)), st.integers(0, 100), st.integers(0, 100)),
    ),
    min_size=1,
    max_size=12,
)


def _run(steps: list, leaves: list, library: int) -> object:
    """Apply ``steps`` to a growing pool that starts with ``leaves``; every result joins the pool."""
    pool = list(leaves)
    for kind, name, i, j in steps:
        table = UNARY if kind == "unary" else BINARY
        fn = table[name][library]
        args = (pool[i % len(pool)],) if kind == "unary" else (pool[i % len(pool)], pool[j % len(pool)])
        pool.append(fn(*args))
    # every pool member counts, so unused branches are checked too
    return sum((p * (k + 1)).sum() for k, p in enumerate(pool[len(leaves):])) / len(pool)


@settings(DETERMINISTIC, max_examples=150)
@given(steps=STEPS, seed=st.integers(0, 2**32 - 1))
def test_composed_expressions_match_torch(steps: list, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pairs = [_both(rng.uniform(-1.5, 1.5, shape)) for shape in [(2, 3), (2, 3), (1, 3)]]
    leaves, tleaves = [p[0] for p in pairs], [p[1] for p in pairs]
    loss, expected = _run(steps, leaves, 0), _run(steps, tleaves, 1)
    _close(loss.data, expected, f"value of {steps}")
    loss.backward()
    expected.backward()
    for k, (leaf, tleaf) in enumerate(zip(leaves, tleaves)):
        want = tleaf.grad if tleaf.grad is not None else torch.zeros(leaf.shape, dtype=torch.float64)
        got = leaf.grad if leaf.grad is not None else np.zeros(leaf.shape)
        _close(got, want, f"gradient of leaf {k} through {steps}")
