"""Must show: fuzzing ops x dtypes (bool, int8-int64, uint8, float16-float64) x shapes (size 0 included).

For every example the op runs in PyTorch and in chainrule. Where PyTorch gives a result, chainrule gives the
same dtype (``torch.result_type``'s promotion, checked through the result) and the same values; where PyTorch
refuses, chainrule may refuse too, but with its own error: no ZeroDivisionError or AttributeError, and nothing
raised from inside NumPy. Deterministic (derandomize) and small, so it runs the same everywhere in seconds.

Gradients: every differentiable op of the tables (and pow, matmul) on float64 inputs of those shapes, backward
of ``sum(op(x) * upstream)`` with a seeded random upstream, against ``torch.autograd`` on the same inputs; ties
(maximum, amax), zeros (abs, relu, sqrt) and broadcasting included.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, broadcastable_shapes

import chainrule as cr

FUZZ = settings(derandomize=True, max_examples=150, deadline=None, database=None)
DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64"]
INTERNAL = (ZeroDivisionError, AttributeError)
TOLERANCE = {"float16": 1e-2, "float32": 1e-5, "float64": 1e-10}


def _last_dim(t: Any) -> dict[str, int]:
    return {"dim": -1} if t.ndim else {}


# name -> (chainrule, torch); each takes a tensor of its library
UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "neg": (lambda t: -t, lambda t: -t),
    "abs": (lambda t: t.abs(), lambda t: t.abs()),
    "exp": (lambda t: t.exp(), lambda t: t.exp()),
    "log1p_abs": (lambda t: (t.abs() + 1).log(), lambda t: (t.abs() + 1).log()),
    "sqrt_abs": (lambda t: t.abs().sqrt(), lambda t: t.abs().sqrt()),
    "sigmoid": (lambda t: t.sigmoid(), lambda t: t.sigmoid()),
    "tanh": (lambda t: t.tanh(), lambda t: t.tanh()),
    "relu": (lambda t: t.relu(), lambda t: t.relu()),
    "square": (lambda t: t * t, lambda t: t * t),
    "pow_2": (lambda t: t ** 2, lambda t: t ** 2),
    "pow_-1": (lambda t: t ** -1, lambda t: t ** -1),
    "sum": (lambda t: t.sum(), lambda t: t.sum()),
    "sum_last": (lambda t: t.sum(**_last_dim(t)), lambda t: t.sum(**_last_dim(t))),
    "mean": (lambda t: t.mean(), lambda t: t.mean()),
    "mean_last": (lambda t: t.mean(**_last_dim(t)), lambda t: t.mean(**_last_dim(t))),
    "amax_last": (lambda t: t.amax(**_last_dim(t)), lambda t: t.amax(**_last_dim(t))),
    "amin": (lambda t: t.amin(), lambda t: t.amin()),
    "prod": (lambda t: t.prod(), lambda t: t.prod()),
    "softmax_last": (lambda t: t.softmax(-1), lambda t: t.softmax(-1)),
    "log_softmax_last": (lambda t: t.log_softmax(-1), lambda t: t.log_softmax(-1)),
    "logsumexp_last": (lambda t: t.logsumexp(-1), lambda t: t.logsumexp(-1)),
    "argmax": (lambda t: t.argmax(), lambda t: t.argmax()),
    "transpose_sum": (lambda t: t.T.sum(), lambda t: t.mT.sum() if t.ndim >= 2 else t.sum()),
    "reshape_flat": (lambda t: t.reshape(-1), lambda t: t.reshape(-1)),
}
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
}
BINARY_FUNCTIONS = {"maximum": (cr.maximum, torch.maximum), "minimum": (cr.minimum, torch.minimum)}


def small_arrays(dtype: str, shape: Any = None) -> st.SearchStrategy[np.ndarray]:
    low = 0 if dtype in ("bool", "uint8") else -3
    elements = st.booleans() if dtype == "bool" else (
        st.integers(low, 3) if "int" in dtype else st.floats(-3, 3, width=16 if dtype == "float16" else 32))
    shapes = shape if shape is not None else array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
    return arrays(np.dtype(dtype), shapes, elements=elements)


def run_both(name: str, ours: Callable[[], Any], theirs: Callable[[], Any]) -> None:
    try:
        want = theirs()
    except (RuntimeError, TypeError, ValueError, IndexError, ZeroDivisionError):
        want = None
    try:
        got = ours()
    except Exception as error:
        frames = traceback.extract_tb(error.__traceback__)
        inside_numpy = frames and "/numpy/" in frames[-1].filename
        assert not isinstance(error, INTERNAL) and not inside_numpy, \
            f"{name}: an internal {type(error).__name__} escaped from {frames[-1].filename}: {error}"
        assert want is None, f"{name}: PyTorch gives {want!r} but chainrule raised {type(error).__name__}: {error}"
        return
    if want is None:
        return  # PyTorch refuses what chainrule defines (softmax of integers): no reference to compare against
    got_array = np.asarray(got.data)
    want_dtype = str(want.dtype).removeprefix("torch.")
    assert str(got_array.dtype) == want_dtype, f"{name}: dtype {got_array.dtype}, PyTorch gives {want_dtype}"
    assert got_array.shape == tuple(want.shape), f"{name}: shape {got_array.shape}, PyTorch gives {tuple(want.shape)}"
    tolerance = TOLERANCE.get(want_dtype, 0.0)
    np.testing.assert_allclose(got_array.astype(np.float64), want.double().numpy(), rtol=tolerance,
                               atol=tolerance, equal_nan=True, err_msg=name)


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(UNARY)), dtype=st.sampled_from(DTYPES))
def test_unary_ops_and_reductions_follow_torch_across_dtypes_and_empty_shapes(data: Any, name: str,
                                                                               dtype: str) -> None:
    array = data.draw(small_arrays(dtype))
    ours, theirs = UNARY[name]
    with np.errstate(all="ignore"):
        run_both(f"{name}({dtype}{array.shape})", lambda: ours(cr.tensor(array)), lambda: theirs(torch.tensor(array)))


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(BINARY) + sorted(BINARY_FUNCTIONS)),
       dtypes=st.tuples(st.sampled_from(DTYPES), st.sampled_from(DTYPES)))
def test_binary_ops_promote_as_torch_result_type(data: Any, name: str, dtypes: tuple[str, str]) -> None:
    a = data.draw(small_arrays(dtypes[0]))
    b = data.draw(small_arrays(dtypes[1], broadcastable_shapes(a.shape, min_dims=0, max_dims=3, min_side=0)))
    ours, theirs = BINARY_FUNCTIONS.get(name, (BINARY.get(name), BINARY.get(name)))
    with np.errstate(all="ignore"):
        run_both(f"{name}({dtypes[0]}{a.shape}, {dtypes[1]}{b.shape})", lambda: ours(cr.tensor(a), cr.tensor(b)),
                 lambda: theirs(torch.tensor(a), torch.tensor(b)))
    if name in BINARY:  # the promotion table itself, where PyTorch defines the op
        expected = torch.result_type(torch.tensor(a), torch.tensor(b))
        if name not in ("eq", "lt", "truediv") and not (name == "sub" and "bool" == dtypes[0] == dtypes[1]):
            assert str(np.asarray(ours(cr.tensor(a), cr.tensor(b)).data).dtype) == str(expected).removeprefix("torch.")


# ---------------------------------------------------------------------------- gradients

# The ops above that are differentiable for floats; argmax has no gradient.
DIFFERENTIABLE_UNARY = sorted(set(UNARY) - {"argmax"})
DIFFERENTIABLE_BINARY = ["add", "sub", "mul", "truediv", "pow_abs_plus_1", *sorted(BINARY_FUNCTIONS)]
GRAD_ONLY_BINARY = {"pow_abs_plus_1": lambda a, b: (a.abs() + 1) ** b}  # a positive base: real for every b
GRAD = settings(derandomize=True, max_examples=120, deadline=None, database=None)


def grads_of_both(name: str, ours: Callable[..., Any], theirs: Callable[..., Any], inputs: list[np.ndarray],
                  upstream_seed: int) -> None:
    """Backward of ``sum(op(inputs) * upstream)`` in both libraries: the same gradient for every input.

    The upstream gradient is random (seeded), so a rule that is right only for all-ones upstreams fails.
    """
    theirs_inputs = [torch.tensor(x, requires_grad=True) for x in inputs]
    try:
        want_out = theirs(*theirs_inputs)
    except (RuntimeError, TypeError, ValueError, IndexError):
        return  # PyTorch refuses these inputs (amin of an empty tensor): the forward table covers the error
    upstream = np.random.default_rng(upstream_seed).normal(size=tuple(want_out.shape))
    (want_out * torch.tensor(upstream)).sum().backward()
    ours_inputs = [cr.tensor(x, requires_grad=True) for x in inputs]
    (ours(*ours_inputs) * cr.tensor(upstream)).sum().backward()
    for index, (mine, reference) in enumerate(zip(ours_inputs, theirs_inputs, strict=True)):
        want = reference.grad.numpy() if reference.grad is not None else np.zeros(reference.shape)
        assert mine.grad is not None, f"{name}: no gradient for input {index}"
        got = np.asarray(mine.grad.data)
        assert got.shape == want.shape and got.dtype == want.dtype, \
            f"{name}: gradient {index} is {got.dtype}{got.shape}, PyTorch's {want.dtype}{want.shape}"
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, equal_nan=True,
                                   err_msg=f"{name}: gradient of input {index}")


@GRAD
@given(data=st.data(), name=st.sampled_from(DIFFERENTIABLE_UNARY), seed=st.integers(0, 2**16))
def test_unary_gradients_follow_torch_autograd(data: Any, name: str, seed: int) -> None:
    array = data.draw(small_arrays("float64"))
    ours, theirs = UNARY[name]
    with np.errstate(all="ignore"):
        grads_of_both(f"d {name}(float64{array.shape})", ours, theirs, [array], seed)


@GRAD
@given(data=st.data(), name=st.sampled_from(DIFFERENTIABLE_BINARY), seed=st.integers(0, 2**16))
def test_binary_gradients_follow_torch_autograd_through_broadcasting(data: Any, name: str, seed: int) -> None:
    a = data.draw(small_arrays("float64"))
    b = data.draw(small_arrays("float64", broadcastable_shapes(a.shape, min_dims=0, max_dims=3, min_side=0)))
    same_in_both = {**BINARY, **GRAD_ONLY_BINARY}
    ours, theirs = BINARY_FUNCTIONS[name] if name in BINARY_FUNCTIONS else (same_in_both[name], same_in_both[name])
    with np.errstate(all="ignore"):
        grads_of_both(f"d {name}(float64{a.shape}, float64{b.shape})", ours, theirs, [a, b], seed)


@GRAD
@given(sizes=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), batch=st.sampled_from([(), (2,)]),
       seed=st.integers(0, 2**16), data=st.data())
def test_matmul_gradients_follow_torch_autograd(sizes: tuple[int, int, int], batch: tuple[int, ...], seed: int,
                                                data: Any) -> None:
    n, k, m = sizes
    a = data.draw(small_arrays("float64", st.just((*batch, n, k))))
    b = data.draw(small_arrays("float64", st.just((k, m))))
    grads_of_both(f"d matmul(float64{a.shape}, float64{b.shape})", lambda x, y: x @ y, lambda x, y: x @ y, [a, b], seed)
