"""The elementwise table, the reductions, scans, products, shape and index ops, and the factories, against PyTorch.

Each row runs the chainrule op and the torch op on the same float64 inputs and checks: values, shapes, dtypes
and ``requires_grad`` against torch, gradients against torch autograd (rtol 1e-6) and against finite
differences (``cr.gradcheck``). Dtype tables check each op's output dtype against torch for float32, float64,
int64, int32 and bool inputs (an input torch refuses must be refused too); error rows check that a misuse
raises an error that names the op.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 - torch's own spelling

import chainrule as cr
from chainrule.engine import creation, dtypes, elementwise, ops
from chainrule.engine.random import Generator

RTOL, ATOL = 1e-6, 1e-12
Shape = tuple[int, ...]
Sampler = Callable[[np.random.Generator, Shape], np.ndarray]


# ---------------------------------------------------------------------------- samplers: inputs away from kinks


def normal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.standard_normal(shape)


def uniform(low: float, high: float) -> Sampler:
    return lambda rng, shape: rng.uniform(low, high, shape)


def signed(low: float, high: float) -> Sampler:
    """|x| in [low, high], either sign: away from 0 for abs, sign and 1/x."""
    return lambda rng, shape: rng.choice([-1.0, 1.0], shape) * rng.uniform(low, high, shape)


def avoiding(*kinks: float, low: float = -3.0, high: float = 3.0) -> Sampler:
    """Uniform in [low, high], at least 0.05 from each kink, so finite differences never straddle one."""

    def sample(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        x = rng.uniform(low, high, shape)
        for k in kinks:
            x = np.where(np.abs(x - k) < 0.05, x + 0.1, x)
        return x

    return sample


def off_grid(scale: float = 1.0) -> Sampler:
    """Values 0.2 or 0.7 (± 0.05) past an integer (times ``scale``): away from rounding's jumps."""
    return lambda rng, shape: scale * (rng.integers(-2, 2, shape) + rng.choice([0.2, 0.7], shape)
                                       + rng.uniform(-0.05, 0.05, shape))


def draw(name: str, sampler: Sampler, shapes: Sequence[Shape], k: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng([zlib.crc32(name.encode()), k])
    return [np.asarray(sampler(rng, shape), dtype=np.float64) for shape in shapes]


# ---------------------------------------------------------------------------- the checker


def _outputs(out: Any) -> list[Any]:
    return [out] if isinstance(out, cr.Tensor | torch.Tensor) else list(out)


def _np_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(str(dtype).removeprefix("torch."))


def _array(t: cr.Tensor | None, shape: Shape) -> np.ndarray:
    return np.zeros(shape) if t is None else t.detach().numpy()


def check_against_torch(name: str, fn: Callable, torch_fn: Callable, arrays: list[np.ndarray],
                        gradcheck: bool = True) -> None:
    """Values, dtypes, shapes, requires_grad and gradients of ``fn`` against ``torch_fn``, then gradcheck."""
    where = f"{name} with input shapes {[a.shape for a in arrays]}"
    xs = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    outs, touts = _outputs(fn(*xs)), _outputs(torch_fn(*ts))
    assert len(outs) == len(touts), where
    rng = np.random.default_rng(0)
    weights = []
    for k, (out, tout) in enumerate(zip(outs, touts)):
        assert isinstance(out, cr.Tensor), f"{where}: output {k} is a {type(out).__name__}"
        assert out.shape == tuple(tout.shape), f"{where}: output {k} has shape {out.shape}, torch {tuple(tout.shape)}"
        assert out.dtype == _np_dtype(tout.dtype), f"{where}: output {k} has dtype {out.dtype}, torch {tout.dtype}"
        assert out.requires_grad == tout.requires_grad, f"{where}: output {k} requires_grad differs from torch"
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{where}: output {k} vs torch")
        weights.append(rng.standard_normal(out.shape) if tout.requires_grad else None)
    differentiable = [k for k, w in enumerate(weights) if w is not None]
    if not differentiable:
        return
    sum((outs[k] * weights[k]).sum() for k in differentiable).backward()
    sum((touts[k] * torch.from_numpy(weights[k])).sum() for k in differentiable).backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(_array(x.grad, x.shape), _array(t.grad, x.shape), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{where}: gradient of input {i} vs torch")
    if gradcheck and any(a.size for a in arrays):

        def weighted(*tensors: cr.Tensor) -> cr.Tensor:
            results = _outputs(fn(*tensors))
            return sum((results[k] * weights[k]).sum() for k in differentiable)

        leaves = [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
        assert cr.gradcheck(weighted, leaves), where


# ---------------------------------------------------------------------------- the elementwise table


@dataclass(frozen=True)
class UnaryCase:
    name: str
    torch_fn: Callable
    sample: Sampler = normal
    kwargs: tuple[tuple[str, float], ...] = ()

    @property
    def row(self) -> elementwise.Unary:
        return next(r for r in elementwise.UNARY if r.name == self.name)

    @property
    def id(self) -> str:
        return self.name + "".join(f"[{k}={v}]" for k, v in self.kwargs)


POSITIVE, UNIT = uniform(0.5, 2.0), uniform(-0.9, 0.9)
UNARY_CASES = [
    UnaryCase("exp", torch.exp), UnaryCase("exp2", torch.exp2), UnaryCase("expm1", torch.expm1),
    UnaryCase("log", torch.log, POSITIVE), UnaryCase("log2", torch.log2, POSITIVE),
    UnaryCase("log10", torch.log10, POSITIVE), UnaryCase("log1p", torch.log1p, uniform(-0.5, 2.0)),
    UnaryCase("sqrt", torch.sqrt, POSITIVE), UnaryCase("rsqrt", torch.rsqrt, POSITIVE),
    UnaryCase("reciprocal", torch.reciprocal, signed(0.5, 2.0)), UnaryCase("square", torch.square),
    UnaryCase("sin", torch.sin), UnaryCase("cos", torch.cos), UnaryCase("tan", torch.tan, uniform(-1.2, 1.2)),
    UnaryCase("asin", torch.asin, UNIT), UnaryCase("acos", torch.acos, UNIT), UnaryCase("atan", torch.atan),
    UnaryCase("sinh", torch.sinh), UnaryCase("cosh", torch.cosh), UnaryCase("tanh", torch.tanh),
    UnaryCase("asinh", torch.asinh), UnaryCase("acosh", torch.acosh, uniform(1.2, 3.0)),
    UnaryCase("atanh", torch.atanh, UNIT), UnaryCase("erf", torch.erf), UnaryCase("erfc", torch.erfc),
    UnaryCase("erfinv", torch.erfinv, UNIT), UnaryCase("neg", torch.neg),
    UnaryCase("abs", torch.abs, signed(0.1, 2.0)), UnaryCase("sign", torch.sign, signed(0.1, 2.0)),
    UnaryCase("floor", torch.floor, off_grid()), UnaryCase("ceil", torch.ceil, off_grid()),
    UnaryCase("trunc", torch.trunc, off_grid()), UnaryCase("round", torch.round, off_grid()),
    UnaryCase("round", torch.round, off_grid(0.1), (("decimals", 1),)), UnaryCase("frac", torch.frac, off_grid()),
    UnaryCase("nan_to_num", torch.nan_to_num),  # finite values: the identity (NaN and inf: the semantics table)
    UnaryCase("sigmoid", torch.sigmoid), UnaryCase("softplus", F.softplus), UnaryCase("logsigmoid", F.logsigmoid),
    UnaryCase("silu", F.silu), UnaryCase("mish", F.mish), UnaryCase("elu", F.elu),
    UnaryCase("elu", F.elu, avoiding(0.0), (("alpha", 0.7),)), UnaryCase("selu", F.selu, avoiding(0.0)),
    UnaryCase("hardtanh", F.hardtanh, avoiding(-1.0, 1.0)),
    UnaryCase("hardtanh", F.hardtanh, avoiding(-0.5, 1.5), (("min_val", -0.5), ("max_val", 1.5))),
    UnaryCase("relu6", F.relu6, avoiding(0.0, 6.0, low=-2.0, high=8.0)),
    UnaryCase("hardsigmoid", F.hardsigmoid, avoiding(-3.0, 3.0, low=-5.0, high=5.0)),
    UnaryCase("hardswish", F.hardswish, avoiding(-3.0, 3.0, low=-5.0, high=5.0)),
    UnaryCase("softsign", F.softsign),
]
UNARY_SHAPES = [(), (0, 3), (5,), (2, 3)]


def test_every_row_of_the_table_has_a_case_and_a_module_level_function() -> None:
    assert {row.name for row in elementwise.UNARY} == {case.name for case in UNARY_CASES}
    for row in (*elementwise.UNARY, *elementwise.BINARY):
        for name in (row.name, *row.aliases):
            assert getattr(elementwise, name) is elementwise.FUNCTIONS[row.name], name


@pytest.mark.parametrize("case", UNARY_CASES, ids=lambda c: c.id)
def test_unary_matches_torch_in_float64(case: UnaryCase) -> None:
    fn, kwargs = elementwise.FUNCTIONS[case.name], dict(case.kwargs)
    for k, shape in enumerate(UNARY_SHAPES):
        (a,) = draw(case.id, case.sample, [shape], k)
        check_against_torch(case.id, lambda x: fn(x, **kwargs), lambda t: case.torch_fn(t, **kwargs), [a],
                            gradcheck=case.row.derivative is not None and shape in ((), (2, 3)))


@pytest.mark.parametrize("case", UNARY_CASES, ids=lambda c: c.id)
def test_unary_grad_fn_is_named_after_the_op_and_float32_stays_float32(case: UnaryCase) -> None:
    (a,) = draw(case.id, case.sample, [(2, 3)])
    x = cr.tensor(a.astype(np.float32), requires_grad=True)
    seen = []

    class RecordDtypes:
        def on_forward(self, fn: cr.Function, inputs: tuple, output: cr.Tensor) -> None:
            seen.append(("forward", output.dtype))

        def on_backward(self, fn: cr.Function, grad_output: np.ndarray, grad_inputs: tuple) -> None:
            seen.extend(("backward", np.asarray(g).dtype) for g in grad_inputs if g is not None)

    with cr.register_op_hook(RecordDtypes()):
        y = elementwise.FUNCTIONS[case.name](x, **dict(case.kwargs))
        y.sum().backward()
    assert type(y.grad_fn).__name__ == (case.row.cls_name or case.name.capitalize())
    assert [d for _, d in seen] == [np.float32] * len(seen), f"{case.id}: {seen}"


DTYPES = ["float32", "float64", "int64", "int32", "bool"]


def _dtype_inputs(dtype: str) -> tuple[cr.Tensor, torch.Tensor]:
    data = np.array([True, False, True, True, False]) if dtype == "bool" else np.array([-2, -1, 0, 1, 3])
    return cr.tensor(data.astype(dtype)), torch.tensor(data.astype(dtype))


def _same_outcome(name: str, fn: Callable[[], Any], torch_fn: Callable[[], Any], rtol: float) -> None:
    """Where torch refuses, chainrule raises a TypeError naming the op; else the same dtype and values."""
    try:
        want = torch_fn()
    except (RuntimeError, TypeError, NotImplementedError):
        with pytest.raises(TypeError, match=rf"^{name}: "):
            fn()
        return
    with np.errstate(all="ignore"):
        got = fn()
    assert got.dtype == _np_dtype(want.dtype), f"{name}: dtype {got.dtype}, torch {want.dtype}"
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", UNARY_CASES, ids=lambda c: c.id)
def test_unary_dtype_rules_match_torch(case: UnaryCase, dtype: str) -> None:
    x, t = _dtype_inputs(dtype)
    kwargs = dict(case.kwargs)
    fn = elementwise.FUNCTIONS[case.name]
    _same_outcome(case.name, lambda: fn(x, **kwargs), lambda: case.torch_fn(t, **kwargs), rtol=1e-5)
    if case.row.method and not kwargs:  # the Tensor method is the same function
        _same_outcome(case.name, lambda: getattr(x, case.name)(), lambda: getattr(t, case.name)(), rtol=1e-5)


def test_tensor_methods_mirror_torch() -> None:
    """A method (and its in-place form) exactly where torch.Tensor has one: activations stay functions."""
    for row in (*elementwise.UNARY, *elementwise.BINARY):
        for name in (row.name, *row.aliases):
            if name == "softplus":  # chainrule's Tensor had a softplus method before the table
                continue
            for method in (name, name + "_"):
                assert hasattr(cr.Tensor, method) == hasattr(torch.Tensor, method), method
    for name in ["prod", "cumsum", "cumprod", "norm", "sort", "argsort", "topk", "mm", "bmm", "dot", "outer", "ger",
                 "flip", "roll", "repeat", "tile", "gather", "scatter", "scatter_add", "index_select", "index_add",
                 "masked_fill", "chunk", "narrow", "movedim", "moveaxis", "unflatten", "unbind", "tril", "triu",
                 "where", "masked_fill_", "scatter_", "scatter_add_", "index_add_", "tril_", "triu_"]:
        assert hasattr(cr.Tensor, name) and hasattr(torch.Tensor, name), name


def test_inplace_unary_ops_write_into_the_tensor_and_keep_the_graph() -> None:
    a = np.array([0.3, -1.2, 2.0])
    x, t = cr.tensor(a, dtype=np.float64, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, u = x * 2, t * 2
    y.sin_().exp_()
    u.sin_().exp_()
    np.testing.assert_allclose(y.detach().numpy(), u.detach().numpy(), rtol=RTOL)
    y.sum().backward()
    u.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=RTOL)
    ints = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match=r"^sin_: result type float32 can't be cast to .* int64"):
        ints.sin_()
    assert ints.abs_().tolist() == [1, 2]
    with pytest.raises(cr.GraphError, match=r"^exp_: a leaf tensor that requires grad"):
        x.exp_()


# ---------------------------------------------------------------------------- binary elementwise

BINARY_SHAPES = [((), ()), ((3,), ()), ((2, 3), (3,)), ((2, 1, 3), (4, 1)), ((0, 3), (3,))]
BINARY_CASES = [
    ("atan2", torch.atan2, (normal, signed(0.3, 2.0))),
    ("fmod", torch.fmod, (normal, signed(0.5, 2.0))),
    ("hypot", torch.hypot, (signed(0.3, 2.0), signed(0.3, 2.0))),
]


@pytest.mark.parametrize("name, torch_fn, samplers", BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
def test_binary_matches_torch_with_broadcasting(name: str, torch_fn: Callable, samplers: tuple) -> None:
    fn = elementwise.FUNCTIONS[name]
    for k, shapes in enumerate(BINARY_SHAPES):
        arrays = [draw(name, s, [shape], k)[0] for s, shape in zip(samplers, shapes)]
        check_against_torch(name, fn, torch_fn, arrays, gradcheck=k < 3)
    # a Python number (torch takes a 0-d tensor there), and the method with its in-place form
    (a,) = draw(name, samplers[0], [(4,)])
    check_against_torch(f"{name}(x, 1.5)", lambda x: fn(x, 1.5), lambda t: torch_fn(t, torch.tensor(1.5)), [a])
    x, t = cr.tensor(a), torch.tensor(a, dtype=torch.float32)
    np.testing.assert_allclose(getattr(x.clone(), name + "_")(cr.tensor(2.0)).numpy(),
                               getattr(t, name + "_")(torch.tensor(2.0)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("other", ["float32", "float64", "int64", "int32", "bool", "int_number", "float_number"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["atan2", "fmod", "hypot"])
def test_binary_dtype_rules_match_torch(name: str, dtype: str, other: str) -> None:
    x, t = _dtype_inputs(dtype)
    if other.endswith("number"):  # torch's atan2 and hypot take a number as a 0-d tensor, which promotes alike
        y = 2 if other == "int_number" else 2.5
        u = torch.tensor(y)
    else:
        y, u = _dtype_inputs(other)
        y, u = y + (y == 0), u + (u == 0)  # no division by zero in fmod
    _same_outcome(name, lambda: elementwise.FUNCTIONS[name](x, y), lambda: getattr(torch, name)(t, u), rtol=1e-5)


# ---------------------------------------------------------------------------- reductions, scans, products, shape


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable
    torch_fn: Callable
    shapes: Sequence[tuple[Shape, ...]]
    sample: Sampler = normal


IDX = np.array([[0, 2], [1, 1], [2, 0]])  # along dim 1 of a (3, 3) input, index 1 repeated in row 1
UNIQUE = np.array([[2, 0], [1, 2], [0, 1]])  # no index repeated within a row: scatter's result is defined
ROWS = np.array([2, 0, 2])
MASK = np.array([[True, False, True], [False, False, True]])
ZEROS = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])  # one zero in row 0, two in row 1
INF = math.inf


def _i(a: np.ndarray) -> cr.Tensor:
    return cr.tensor(a)


def _ti(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)


def _same(fn: Callable) -> tuple[Callable, Callable]:
    return fn, fn


def _norm_cases() -> list[Case]:
    cases = []
    for p in (2, 1, INF, -INF, 3, 0.5, 0, "fro"):
        for dim, keepdim in ((None, False), (1, False), ((0, 1), True)):
            cases.append(Case(f"norm[p={p},dim={dim}]", lambda x, p=p, d=dim, k=keepdim: x.norm(p, d, k),
                              lambda t, p=p, d=dim, k=keepdim: torch.norm(t, p, d, k),
                              [((2, 3),), ((3, 1),)] if dim is not None or p in (INF, -INF) else [((2, 3),), ((),)],
                              signed(0.2, 2.0)))
    cases.append(Case("norm[empty]", lambda x: x.norm(dim=1), lambda t: t.norm(dim=1), [((0, 3),), ((2, 0),)]))
    return cases


CASES = [
    # ---- products, scans, norms
    Case("prod", *_same(lambda x: x.prod()), [((2, 3),), ((),), ((0, 3),)]),
    Case("prod_dim_keepdim", *_same(lambda x: x.prod(1, keepdim=True)), [((2, 3),), ((3, 1),), ((0, 3),)]),
    Case("prod_dim0", *_same(lambda x: x.prod(0)), [((2, 3),), ((4,),), ((),)]),
    Case("prod_with_zeros", *_same(lambda x: (x * _t_like(x, ZEROS)).prod(1)), [((2, 4),)]),
    Case("prod_all_with_zero", *_same(lambda x: (x * _t_like(x, ZEROS[0])).prod()), [((4,),)]),
    Case("cumsum", *_same(lambda x: x.cumsum(1)), [((2, 3),), ((0, 3),)]),
    Case("cumsum_0d", *_same(lambda x: x.cumsum(0)), [((),), ((4,),)]),
    Case("cumprod", *_same(lambda x: x.cumprod(-1)), [((2, 4),), ((0, 2),)]),
    Case("cumprod_dim0", *_same(lambda x: x.cumprod(0)), [((3, 2),), ((),)]),
    Case("cumprod_with_zeros", *_same(lambda x: (x * _t_like(x, ZEROS)).cumprod(1)), [((2, 4),)]),
    *_norm_cases(),
    # ---- sorting
    Case("sort", *_same(lambda x: x.sort()), [((2, 4),), ((5,),), ((0, 3),), ((),)]),
    Case("sort_descending_dim0", *_same(lambda x: x.sort(0, descending=True)), [((3, 2),)]),
    Case("argsort", *_same(lambda x: x.argsort(1, descending=True)), [((2, 4),)]),
    Case("topk", *_same(lambda x: x.topk(2)), [((2, 4),), ((3,),)]),
    Case("topk_smallest_dim0", *_same(lambda x: x.topk(1, dim=0, largest=False)), [((3, 2),)]),
    Case("topk_zero", *_same(lambda x: x.topk(0)), [((2, 3),)]),
    # ---- products
    Case("mm", *_same(lambda a, b: a.mm(b)), [((2, 3), (3, 4)), ((1, 1), (1, 2)), ((2, 0), (0, 3))]),
    Case("bmm", *_same(lambda a, b: a.bmm(b)), [((2, 2, 3), (2, 3, 4))]),
    Case("dot", *_same(lambda a, b: a.dot(b)), [((3,), (3,)), ((0,), (0,))]),
    Case("outer", *_same(lambda a, b: a.outer(b)), [((3,), (4,)), ((1,), (2,))]),
    Case("ger", *_same(lambda a, b: a.ger(b)), [((2,), (3,))]),
    # ---- einsum: products, transposes, sums, diagonals, three operands, implicit output
    Case("einsum_matmul", lambda a, b: ops.einsum("ij,jk->ik", a, b), lambda a, b: torch.einsum("ij,jk->ik", a, b),
         [((2, 3), (3, 4))]),
    Case("einsum_list", lambda a, b: ops.einsum("bij,bjk->bik", [a, b]), lambda a, b: torch.einsum("bij,bjk->bik",
                                                                                                   [a, b]),
         [((2, 2, 3), (2, 3, 2))]),
    Case("einsum_implicit", lambda a, b: ops.einsum("ij,jk", a, b), lambda a, b: torch.einsum("ij,jk", a, b),
         [((2, 3), (3, 2))]),
    Case("einsum_transpose", lambda a: ops.einsum("ij->ji", a), lambda a: torch.einsum("ij->ji", a), [((2, 3),)]),
    Case("einsum_sum", lambda a: ops.einsum("ij->", a), lambda a: torch.einsum("ij->", a), [((2, 3),)]),
    Case("einsum_own_letter", lambda a, b: ops.einsum("ijk,j->k", a, b),
         lambda a, b: torch.einsum("ijk,j->k", a, b), [((2, 3, 2), (3,))]),
    Case("einsum_trace", lambda a: ops.einsum("ii", a), lambda a: torch.einsum("ii", a), [((3, 3),)]),
    Case("einsum_diagonal", lambda a, b: ops.einsum("ii,ij->ij", a, b), lambda a, b: torch.einsum("ii,ij->ij", a, b),
         [((2, 2), (2, 3))]),
    # ellipsis: batched products, broadcast batch dimensions of size 1, implicit output, in the middle
    Case("einsum_ellipsis_matmul", lambda a, b: ops.einsum("...ij,...jk->...ik", a, b),
         lambda a, b: torch.einsum("...ij,...jk->...ik", a, b), [((2, 5, 3, 4), (5, 4, 2))]),
    Case("einsum_ellipsis_broadcast", lambda a, b: ops.einsum("...ij,...jk", a, b),
         lambda a, b: torch.einsum("...ij,...jk", a, b), [((1, 3, 4), (5, 4, 2))]),
    Case("einsum_ellipsis_middle", lambda a, b: ops.einsum("b...d,b...d->b...", a, b),
         lambda a, b: torch.einsum("b...d,b...d->b...", a, b), [((2, 3, 4), (2, 3, 4))]),
    Case("einsum_ellipsis_sum", lambda a: ops.einsum("i...->...", a), lambda a: torch.einsum("i...->...", a),
         [((3, 2, 4),)]),
    Case("einsum_three", lambda a, b, c: ops.einsum("ij,jk,kl->il", a, b, c),
         lambda a, b, c: torch.einsum("ij,jk,kl->il", a, b, c), [((2, 3), (3, 2), (2, 2))]),
    Case("einsum_outer_scalar", lambda a, b: ops.einsum("i,->i", a, b), lambda a, b: torch.einsum("i,->i", a, b),
         [((3,), ())]),
    # ---- reordering and repeating
    Case("flip", *_same(lambda x: x.flip(0, -1)), [((2, 3),), ((0, 3),)]),
    Case("flip_list", lambda x: ops.flip(x, [1]), lambda t: torch.flip(t, [1]), [((2, 3, 2),)]),
    Case("roll", *_same(lambda x: x.roll(1)), [((2, 3),), ((),)]),
    Case("roll_dims", *_same(lambda x: x.roll((1, -2), (0, 1))), [((2, 3),)]),
    Case("repeat", *_same(lambda x: x.repeat(2, 1, 2)), [((2, 3),), ((1,),), ((),)]),
    Case("tile", *_same(lambda x: x.tile((2,))), [((2, 3),), ((),)]),
    Case("movedim", *_same(lambda x: x.movedim(0, -1)), [((2, 3, 4),)]),
    Case("movedim_pairs", lambda x: ops.movedim(x, (0, 1), (2, 0)), lambda t: torch.movedim(t, (0, 1), (2, 0)),
         [((2, 3, 4),)]),
    Case("moveaxis", *_same(lambda x: x.moveaxis(1, 0)), [((2, 3),)]),
    Case("unflatten", *_same(lambda x: x.unflatten(1, (2, -1))), [((2, 6),), ((1, 4, 1),)]),
    Case("tril", *_same(lambda x: x.tril()), [((3, 3),), ((2, 3),), ((2, 3, 3),)]),
    Case("tril_below", *_same(lambda x: x.tril(-1)), [((3, 4),)]),
    Case("triu_above", *_same(lambda x: x.triu(1)), [((3, 3),), ((2, 4, 3),)]),
    # ---- picking and writing by index
    Case("gather", lambda x: x.gather(1, _i(IDX)), lambda t: t.gather(1, _ti(IDX)), [((3, 3),), ((4, 3),)]),
    Case("gather_dim0", lambda x: ops.gather(x, 0, _i(IDX.T)), lambda t: torch.gather(t, 0, _ti(IDX.T)),
         [((3, 3),), ((3, 4),)]),
    Case("scatter", lambda x, s: x.scatter(1, _i(UNIQUE), s), lambda t, s: t.scatter(1, _ti(UNIQUE), s),
         [((3, 3), (3, 2)), ((3, 4), (3, 2))]),
    Case("scatter_value", lambda x: x.scatter(1, _i(UNIQUE), 2.5), lambda t: t.scatter(1, _ti(UNIQUE), 2.5),
         [((3, 3),)]),
    Case("scatter_add", lambda x, s: x.scatter_add(1, _i(IDX), s), lambda t, s: t.scatter_add(1, _ti(IDX), s),
         [((3, 3), (3, 2)), ((3, 5), (3, 2))]),
    Case("index_select", lambda x: x.index_select(0, _i(ROWS)), lambda t: t.index_select(0, _ti(ROWS)),
         [((3, 2),), ((4,),)]),
    Case("index_select_0d_index", lambda x: x.index_select(1, cr.tensor(1)),
         lambda t: t.index_select(1, torch.tensor(1)), [((2, 3),)]),
    Case("index_add", lambda x, s: x.index_add(0, _i(ROWS), s, alpha=2.0),
         lambda t, s: t.index_add(0, _ti(ROWS), s, alpha=2.0), [((3, 2), (3, 2)), ((4,), (3,))]),
    Case("masked_fill", lambda x: x.masked_fill(_i(MASK), -1.5), lambda t: t.masked_fill(_ti(MASK), -1.5),
         [((2, 3),)]),
    Case("masked_fill_broadcast_mask", lambda x: x.masked_fill(_i(MASK[1]), 0.25),
         lambda t: t.masked_fill(_ti(MASK[1]), 0.25), [((2, 3),), ((4, 3),)]),
    Case("masked_fill_tensor_value", lambda x, v: x.masked_fill(_i(MASK), v),
         lambda t, v: t.masked_fill(_ti(MASK), v), [((2, 3), ())]),
    Case("where_scalar", lambda x: ops.where(_i(MASK), x, 0.5), lambda t: torch.where(_ti(MASK), t, 0.5),
         [((2, 3),), ((3,),)]),
    Case("where_method", lambda x, y: x.where(_i(MASK), y), lambda t, u: t.where(_ti(MASK), u),
         [((2, 3), (2, 3)), ((3,), (2, 1))]),
    # ---- splitting
    Case("chunk", *_same(lambda x: x.chunk(3)), [((5, 2),), ((6,),), ((2,),)]),
    Case("chunk_dim1", *_same(lambda x: x.chunk(2, 1)), [((2, 3),), ((2, 0),)]),
    Case("narrow", *_same(lambda x: x.narrow(1, -2, 2)), [((2, 3),), ((1, 4, 2),)]),
    Case("narrow_empty", *_same(lambda x: x.narrow(0, 2, 0)), [((2, 3),)]),
    Case("unbind", *_same(lambda x: x.unbind(1)), [((2, 3),), ((1, 2, 2),)]),
    # ---- in-place forms, on non-leaf tensors, through the Tensor's in-place mechanism
    Case("masked_fill_", lambda x: (x * 2).masked_fill_(_i(MASK), 0.5), lambda t: (t * 2).masked_fill_(_ti(MASK), 0.5),
         [((2, 3),)]),
    Case("scatter_", lambda x, s: (x * 2).scatter_(1, _i(UNIQUE), s), lambda t, s: (t * 2).scatter_(1, _ti(UNIQUE), s),
         [((3, 3), (3, 2))]),
    Case("scatter_add_", lambda x, s: (x * 2).scatter_add_(1, _i(IDX), s),
         lambda t, s: (t * 2).scatter_add_(1, _ti(IDX), s), [((3, 3), (3, 2))]),
    Case("index_add_", lambda x, s: (x * 2).index_add_(0, _i(ROWS), s, alpha=-1.0),
         lambda t, s: (t * 2).index_add_(0, _ti(ROWS), s, alpha=-1.0), [((3, 2), (3, 2))]),
    Case("triu_", lambda x: (x * 2).triu_(), lambda t: (t * 2).triu_(), [((3, 3),)]),
]


def _t_like(x: Any, a: np.ndarray) -> Any:
    """A constant in the library of ``x``: the same row works for chainrule and torch."""
    return cr.tensor(a, dtype=np.float64) if isinstance(x, cr.Tensor) else torch.from_numpy(a)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_matches_torch_in_float64(case: Case) -> None:
    for k, shapes in enumerate(case.shapes):
        check_against_torch(case.name, case.fn, case.torch_fn, draw(case.name, case.sample, shapes, k))


def test_ties_and_nan_sort_as_in_torch() -> None:
    data = np.array([[3.0, 1.0, 3.0, np.nan, 1.0], [0.0, 0.0, -1.0, 2.0, 0.0]])
    x, t = cr.tensor(data), torch.tensor(data, dtype=torch.float32)
    for descending in (False, True):
        got, want = x.sort(descending=descending), t.sort(descending=descending, stable=True)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())


def test_where_with_two_numbers_and_with_the_condition_alone() -> None:
    c, tc = cr.tensor([[True, False], [False, True]]), torch.tensor([[True, False], [False, True]])
    for a, b in ((1.0, 0.0), (1, 0), (1, 0.5), (True, False)):
        got, want = ops.where(c, a, b), torch.where(tc, a, b)
        assert got.dtype == _np_dtype(want.dtype) and got.tolist() == want.tolist()
    got_rows, got_cols = ops.where(c)
    want_rows, want_cols = torch.where(tc)
    assert got_rows.tolist() == want_rows.tolist() and got_cols.tolist() == want_cols.tolist()
    assert got_rows.dtype == np.int64


@pytest.mark.parametrize("dtype", DTYPES)
def test_reduction_scan_and_sort_dtypes_match_torch(dtype: str) -> None:
    x, t = _dtype_inputs(dtype)
    m, u = x.reshape(1, -1), t.reshape(1, -1)
    rows = [
        ("prod", lambda: x.prod(), lambda: t.prod()), ("prod", lambda: m.prod(1), lambda: u.prod(1)),
        ("prod", lambda: x.prod(dtype=np.float64), lambda: t.prod(dtype=torch.float64)),
        ("cumsum", lambda: x.cumsum(0), lambda: t.cumsum(0)), ("cumprod", lambda: x.cumprod(0), lambda: t.cumprod(0)),
        ("norm", lambda: x.norm(), lambda: t.norm()), ("sort", lambda: x.sort()[0], lambda: t.sort()[0]),
        ("topk", lambda: x.topk(2)[0], lambda: t.topk(2)[0]), ("flip", lambda: x.flip(0), lambda: t.flip(0)),
        ("mm", lambda: m.mm(m.T), lambda: u.mm(u.T)), ("dot", lambda: x.dot(x), lambda: t.dot(t)),
        ("outer", lambda: x.outer(x), lambda: t.outer(t)), ("tril", lambda: m.tril(), lambda: u.tril()),
        ("einsum", lambda: ops.einsum("ij->j", m), lambda: torch.einsum("ij->j", u)),
        ("repeat", lambda: x.repeat(2), lambda: t.repeat(2)), ("roll", lambda: x.roll(1), lambda: t.roll(1)),
        ("masked_fill", lambda: x.masked_fill(x != x, 0.5), lambda: t.masked_fill(t != t, 0.5)),
        ("masked_fill", lambda: x.masked_fill(x == x, True), lambda: t.masked_fill(t == t, True)),
        ("scatter", lambda: x.scatter(0, cr.tensor([1]), 1), lambda: t.scatter(0, torch.tensor([1]), 1)),
        ("index_add", lambda: x.index_add(0, cr.tensor([0, 0]), x[:2], alpha=2.5),
         lambda: t.index_add(0, torch.tensor([0, 0]), t[:2], alpha=2.5)),
    ]
    for name, fn, torch_fn in rows:
        _same_outcome(name, fn, torch_fn, rtol=1e-6)


def test_mixed_dtypes_in_products_are_an_error_as_in_torch_but_outer_promotes() -> None:
    a, b = cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0], dtype=np.float64)
    with pytest.raises(TypeError, match=r"^dot: expected both operands to have the same dtype, got float32 and "):
        a.dot(b)
    with pytest.raises(TypeError, match=r"^mm: expected both operands to have the same dtype"):
        a.reshape(1, 2).mm(b.reshape(2, 1))
    with pytest.raises(TypeError, match=r"^einsum: operands must have one dtype"):
        ops.einsum("i,i->", a, b)
    assert a.outer(b).dtype == torch.outer(torch.ones(2), torch.ones(2, dtype=torch.float64)).numpy().dtype


# ---------------------------------------------------------------------------- errors name the op


def _x(*shape: int) -> cr.Tensor:
    return cr.tensor(np.arange(float(math.prod(shape))).reshape(shape))


ERRORS = [
    (lambda: elementwise.sin(1.0), TypeError, r"^sin: expected a Tensor as input, got float"),
    (lambda: elementwise.silu(cr.tensor([1, 2])), TypeError,
     r"^silu: not implemented for dtype int64; it takes floating-point tensors \(convert first"),
    (lambda: elementwise.abs(cr.tensor([True])), TypeError,
     r"^abs: not implemented for dtype bool; it takes floating-point and integer tensors"),
    (lambda: elementwise.hardtanh(_x(2), 1.0, -1.0), ValueError, r"^hardtanh: min_val cannot be greater than max_val"),
    (lambda: elementwise.elu(_x(2), alpha="a"), TypeError, r"^elu: alpha must be a real number, got str"),
    (lambda: elementwise.elu(_x(2), beta=1.0), TypeError, r"^elu: unexpected keyword argument 'beta'"),
    (lambda: elementwise.round(_x(2), 1, 2), TypeError, r"^round: takes 1 argument\(s\) after the input"),
    (lambda: elementwise.hypot(cr.tensor([1]), cr.tensor([2])), TypeError, r"^hypot: not implemented for dtype int64"),
    (lambda: elementwise.atan2(_x(2), _x(3)), ValueError, r"^atan2: cannot broadcast shapes \(2,\) and \(3,\)"),
    (lambda: elementwise.fmod(cr.tensor([1, 2]), 0), ZeroDivisionError, r"^fmod: integer division by zero"),
    (lambda: _x(2, 3).gather(1, cr.tensor([[0.0]])), TypeError, r"^gather: index must be an integer tensor"),
    (lambda: _x(2, 3).gather(1, cr.tensor([0])), ValueError, r"^gather: index has 1 dimension\(s\) but the input"),
    (lambda: _x(2, 3).gather(1, cr.tensor([[3]])), IndexError, r"^gather: index 3 is out of bounds for dimension 1"),
    (lambda: _x(2, 3).gather(1, cr.tensor([[-1]])), IndexError, r"^gather: index -1 is out of bounds"),
    (lambda: _x(2, 3).gather(0, cr.tensor([[0, 0, 0, 0]])), ValueError, r"^gather: index of shape \(1, 4\) is larger"),
    (lambda: _x(2, 3).scatter(1, cr.tensor([[0]]), _x(1, 1).float()), TypeError,
     r"^scatter: src has dtype float32 but the input has float64"),
    (lambda: _x(2, 3).scatter(1, cr.tensor([[0]])), TypeError, r"^scatter: give exactly one of src"),
    (lambda: _x(2, 3).scatter_add(1, cr.tensor([[0, 1]]), _x(1, 1)), ValueError, r"^scatter_add: index of shape"),
    (lambda: _x(2, 3).index_select(0, cr.tensor([[0]])), ValueError, r"^index_select: index must be a vector"),
    (lambda: _x(2, 3).index_select(0, cr.tensor([2])), IndexError, r"^index_select: index 2 is out of bounds"),
    (lambda: _x(2, 3).index_add(0, cr.tensor([0]), _x(2, 3)), ValueError, r"^index_add: source must have shape"),
    (lambda: _x(2, 3).masked_fill(cr.tensor([1, 0, 1]), 0.0), TypeError, r"^masked_fill: mask must be a bool"),
    (lambda: _x(2, 3).masked_fill(cr.tensor([True]), _x(1)), ValueError, r"^masked_fill: value must be a number"),
    (lambda: _x(5).chunk(0), ValueError, r"^chunk: chunks must be greater than 0, got 0"),
    (lambda: _x(5).chunk(1.5), TypeError, r"^chunk: chunks must be an int"),
    (lambda: cr.tensor(1.0).chunk(2), ValueError, r"^chunk: expected a tensor with at least 1 dimension"),
    (lambda: _x(2, 3).narrow(1, 2, 2), ValueError, r"^narrow: start \(2\) \+ length \(2\) exceeds"),
    (lambda: _x(2, 3).narrow(1, -4, 1), IndexError, r"^narrow: start -4 is out of range for dimension 1"),
    (lambda: _x(2, 3).topk(4), ValueError, r"^topk: k=4 is out of range for dimension 1 of size 3"),
    (lambda: _x(2, 3).repeat(2), ValueError, r"^repeat: got 1 repeat count\(s\) \(2,\) for a tensor with 2"),
    (lambda: _x(2, 3).repeat(2, -1), ValueError, r"^repeat: repeat counts must be non-negative"),
    (lambda: _x(2, 3).mm(_x(2, 3)), ValueError, r"^mm: cannot multiply shapes \(2, 3\) and \(2, 3\)"),
    (lambda: _x(3).mm(_x(3, 1)), ValueError, r"^mm: input must be a matrix \(2-D\), got shape \(3,\)"),
    (lambda: _x(2, 2, 3).bmm(_x(3, 3, 2)), ValueError, r"^bmm: batch sizes differ"),
    (lambda: _x(3).dot(_x(2)), ValueError, r"^dot: vectors of different lengths: 3 and 2"),
    (lambda: cr.tensor([True]).dot(cr.tensor([True])), TypeError, r"^dot: not implemented for bool tensors"),
    (lambda: _x(2).outer(_x(2, 1)), ValueError, r"^outer: vec2 must be a vector"),
    (lambda: ops.einsum("..i->i", _x(2)), ValueError, r"^einsum: an ellipsis is written '...', at most once"),
    (lambda: ops.einsum("...ij->ij", _x(2)), ValueError, r"^einsum: operand 0 has 1 dimension\(s\), fewer than"),
    (lambda: ops.einsum("...i,...i", _x(2, 3), _x(4, 3)), ValueError, r"^einsum: the dimensions under '...' do"),
    (lambda: ops.einsum("ij,jk->ik", _x(2, 3)), ValueError, r"^einsum: 'ij,jk->ik' has subscripts for 2 operand"),
    (lambda: ops.einsum("ij,jk->ik", _x(2, 3), _x(2, 3)), ValueError, r"^einsum: letter 'j' stands for sizes 3 and 2"),
    (lambda: ops.einsum("ij->ik", _x(2, 3)), ValueError, r"^einsum: the output 'ik' must name each letter"),
    (lambda: ops.einsum("i->i", _x(2, 3)), ValueError, r"^einsum: operand 0 has 1 subscript\(s\)"),
    (lambda: _x(2, 3).norm(p="nuc"), NotImplementedError, r"^norm: p='nuc'"),
    (lambda: cr.tensor([1, 2]).norm(), TypeError, r"^norm: expected a floating-point tensor, got dtype int64"),
    (lambda: _x(0, 2).norm(INF), ValueError, r"^norm: the inf-norm of an empty tensor"),
    (lambda: _x(2, 3).prod((0, 1)), TypeError, r"^prod: dim must be an int, got tuple"),
    (lambda: _x(2, 3).cumsum(None), TypeError, r"^cumsum: dim must be an int, got NoneType"),
    (lambda: _x(2, 3).cumprod(2), ValueError, r"^cumprod: axis 2 is out of range"),
    (lambda: _x(2, 3).unflatten(1, (4, -1)), ValueError, r"^unflatten: sizes \(4, -1\) don't multiply up to"),
    (lambda: _x(2, 3).unflatten(1, ()), ValueError, r"^unflatten: sizes must be non-empty"),
    (lambda: _x(2, 3, 4).movedim((0, 0), (1, 2)), ValueError, r"^movedim: repeated dim in source"),
    (lambda: _x(2, 3).movedim((0, 1), 0), ValueError, r"^movedim: source \(0, 1\) and destination 0 must have"),
    (lambda: _x(3).tril(), ValueError, r"^tril: input must have at least 2 dimensions, got shape \(3,\)"),
    (lambda: _x(2, 3).roll((1, 2), 0), ValueError, r"^roll: shifts \(1, 2\) and dims 0 must have the same length"),
    (lambda: cr.tensor(1.0).unbind(), ValueError, r"^unbind: expected a tensor with at least 1 dimension"),
    (lambda: ops.where(cr.tensor([1, 0]), 1.0, 0.0), TypeError, r"^where: condition must be boolean"),
    (lambda: ops.where(cr.tensor([True]), 1.0), TypeError, r"^where: give both input and other"),
    # factories
    (lambda: creation.zeros(2, -1), ValueError, r"^zeros: sizes must be non-negative, got \(2, -1\)"),
    (lambda: creation.ones(2.5), TypeError, r"^ones: sizes must be ints, got float"),
    (lambda: creation.zeros(2, device="cuda"), RuntimeError, r"^zeros: chainrule runs on the CPU only"),
    (lambda: creation.zeros(2, dtype=np.int64, requires_grad=True), RuntimeError, r"only floating-point tensors"),
    (lambda: creation.randn(2, dtype=np.int64), TypeError, r"^randn: expected a floating-point dtype, got int64"),
    (lambda: creation.rand_like(cr.tensor([1, 2])), TypeError, r"^rand: expected a floating-point dtype"),
    (lambda: creation.randint(5, 5, (2,)), ValueError, r"^randint: expected low < high, got low=5 and high=5"),
    (lambda: creation.randint(5, 3), TypeError, r"^randint: size must be a tuple of ints, got int 3"),
    (lambda: creation.randint(5), TypeError, r"^randint: expected randint\(high, size\)"),
    (lambda: creation.arange(0, 5, 0), ValueError, r"^arange: step must be non-zero"),
    (lambda: creation.arange(5, 0), ValueError, r"^arange: end 0 lies on the wrong side of start 5"),
    (lambda: creation.linspace(0, 1, -1), ValueError, r"^linspace: steps must be non-negative, got -1"),
    (lambda: creation.eye(-1), ValueError, r"^eye: sizes must be non-negative"),
    (lambda: creation.normal(0.0, -1.0, (2,)), ValueError, r"^normal: std must be non-negative, got -1.0"),
    (lambda: creation.normal(0.0, 1.0), TypeError, r"^normal: with a number mean and std, give the size"),
    (lambda: creation.normal(cr.tensor([1, 2]), 1.0), TypeError, r"^normal: mean and std must be floating-point"),
    (lambda: creation.multinomial(cr.tensor([-1.0, 1.0]), 1), ValueError, r"^multinomial: weights must be finite"),
    (lambda: creation.multinomial(cr.tensor([0.0, 0.0]), 1), ValueError, r"^multinomial: each row of weights"),
    (lambda: creation.multinomial(cr.tensor([1.0, 2.0]), 3), ValueError, r"^multinomial: cannot draw 3 samples"),
    (lambda: creation.multinomial(cr.tensor([1, 2]), 1), TypeError, r"^multinomial: expected floating-point weights"),
    (lambda: creation.multinomial(cr.tensor(1.0), 1), ValueError, r"^multinomial: weights must be 1-D or 2-D"),
    (lambda: creation.multinomial(cr.tensor([1.0]), 0), ValueError, r"^multinomial: num_samples must be a positive"),
    (lambda: creation.bernoulli(cr.tensor([1.5])), ValueError, r"^bernoulli: probabilities must lie in \[0, 1\]"),
]


@pytest.mark.parametrize("fn, error, match", ERRORS, ids=[e[2].lstrip("^").split(":")[0] + f"-{i}"
                                                           for i, e in enumerate(ERRORS)])
def test_misuse_raises_an_error_that_names_the_op(fn: Callable, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        fn()


# ---------------------------------------------------------------------------- factories against torch

CR = SimpleNamespace(**{n: getattr(creation, n) for n in dir(creation) if not n.startswith("_")},
                     int32=dtypes.int32, int64=dtypes.int64, float32=dtypes.float32, float64=dtypes.float64,
                     bool=dtypes.bool_)
FACTORIES = [
    lambda m: m.zeros(2, 3), lambda m: m.zeros((2, 3), dtype=m.int32), lambda m: m.ones([2], dtype=m.bool),
    lambda m: m.ones(0, 3), lambda m: m.full((2,), 7), lambda m: m.full((2,), True), lambda m: m.full((2, 2), 1.5),
    lambda m: m.full((2,), 7, dtype=m.float64), lambda m: m.full([], 2.5), lambda m: m.eye(3),
    lambda m: m.eye(2, 3, dtype=m.int64), lambda m: m.eye(0), lambda m: m.arange(5), lambda m: m.arange(0, 5, 0.5),
    lambda m: m.arange(1, 0, -0.25), lambda m: m.arange(0.5, 3, dtype=m.int64), lambda m: m.arange(0, 1, 0.1),
    lambda m: m.arange(m.tensor(3)), lambda m: m.arange(2, 2), lambda m: m.arange(5, dtype=m.float64),
    lambda m: m.linspace(0, 1, 5), lambda m: m.linspace(0, 10, 5, dtype=m.int64), lambda m: m.linspace(-1, 1, 1),
    lambda m: m.linspace(0, 1, 0), lambda m: m.logspace(0, 2, 3), lambda m: m.logspace(0, 2, 3, base=2),
    lambda m: m.zeros_like(m.tensor([1, 2], dtype=m.int32)), lambda m: m.ones_like(m.tensor([1.5]), dtype=m.int64),
    lambda m: m.zeros_like(m.tensor([1, 2]), dtype=m.float64), lambda m: m.full_like(m.tensor([1, 2]), 2.7),
    lambda m: m.full_like(m.tensor([1.0, 2.0]), 2, dtype=m.float64), lambda m: m.as_tensor([1, 2.5]),
    lambda m: m.as_tensor(np.arange(3)), lambda m: m.as_tensor(np.arange(3.0), dtype=m.float32),
]


@pytest.mark.parametrize("factory", FACTORIES, ids=range(len(FACTORIES)))
def test_factories_match_torch(factory: Callable) -> None:
    got, want = factory(CR), factory(torch)
    assert got.shape == tuple(want.shape) and got.dtype == _np_dtype(want.dtype)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


RANDOM = [
    lambda m: m.rand(2, 3), lambda m: m.rand((2,), dtype=m.float64), lambda m: m.randn(2, 3),
    lambda m: m.randn(4, dtype=m.float64), lambda m: m.empty(2, 3), lambda m: m.empty((0,), dtype=m.int32),
    lambda m: m.empty_like(m.tensor([1, 2])), lambda m: m.rand_like(m.tensor([1.0, 2.0], dtype=m.float64)),
    lambda m: m.randn_like(m.tensor([1.0, 2.0]), dtype=m.float64), lambda m: m.randint(5, (3,)),
    lambda m: m.randint(2, 5, (2, 2), dtype=m.float32), lambda m: m.randint(high=5, size=(2,)),
    lambda m: m.randint(0, 5, size=(2,)), lambda m: m.randperm(4), lambda m: m.randperm(0),
    lambda m: m.randperm(3, dtype=m.float32), lambda m: m.normal(0.0, 1.0, (2,)), lambda m: m.normal(0, 1, (2, 1)),
    lambda m: m.normal(m.zeros(3, dtype=m.float64), 1.0), lambda m: m.normal(m.zeros(3), m.ones(2, 1)),
    lambda m: m.normal(0.0, m.ones(3)), lambda m: m.normal(m.zeros(3), m.ones(3, dtype=m.float64)),
    lambda m: m.multinomial(m.tensor([0.0, 1.0, 1.0]), 2), lambda m: m.multinomial(m.tensor([0.0, 1.0, 1.0]), 3),
    lambda m: m.multinomial(m.tensor([[0.0, 1.0], [1.0, 0.0]]), 3, True), lambda m: m.bernoulli(m.zeros(2, 2)),
    lambda m: m.bernoulli(m.ones(3, dtype=m.float64), 0.5),
]


@pytest.mark.parametrize("factory", RANDOM, ids=range(len(RANDOM)))
def test_random_factories_have_torchs_shape_and_dtype(factory: Callable) -> None:
    got, want = factory(CR), factory(torch)
    assert got.shape == tuple(want.shape) and got.dtype == _np_dtype(want.dtype)
    assert got.requires_grad == want.requires_grad


def test_random_factories_draw_from_the_generator_given() -> None:
    draws = {}
    for name, fn in [("rand", lambda g: creation.rand(5, generator=g)),
                     ("randn", lambda g: creation.randn(5, generator=g)),
                     ("randint", lambda g: creation.randint(0, 100, (5,), generator=g)),
                     ("randperm", lambda g: creation.randperm(5, generator=g)),
                     ("normal", lambda g: creation.normal(1.0, 2.0, (5,), generator=g)),
                     ("bernoulli", lambda g: creation.bernoulli(cr.full((20,), 0.5), generator=g)),
                     ("multinomial", lambda g: creation.multinomial(cr.ones(10), 5, generator=g))]:
        first = fn(Generator().manual_seed(7))
        cr.manual_seed(123)  # the global seed does not touch a generator of one's own
        second = fn(Generator().manual_seed(7))
        assert first.tolist() == second.tolist(), name
        draws[name] = first
    assert sorted(draws["randperm"].tolist()) == list(range(5))
    assert len(set(draws["multinomial"].tolist())) == 5  # without replacement: no repeats
    assert set(draws["bernoulli"].tolist()) <= {0.0, 1.0}
    cr.manual_seed(5)
    a = creation.randn(3)
    cr.manual_seed(5)
    assert creation.randn(3).tolist() == a.tolist()


def test_multinomial_follows_the_weights() -> None:
    g = Generator().manual_seed(0)
    drawn = creation.multinomial(cr.tensor([0.0, 1.0, 3.0]), 4000, replacement=True, generator=g).numpy()
    counts = np.bincount(drawn, minlength=3) / drawn.size
    assert counts[0] == 0 and abs(counts[2] - 0.75) < 0.03
    rows = creation.multinomial(cr.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), 3, generator=g)
    assert rows[:, 0].tolist() == [2, 0]  # the only category with weight comes first; zero-weight ones after


def test_normal_and_bernoulli_of_parameters_that_require_grad_have_zero_gradient_as_in_torch() -> None:
    mean, std = cr.tensor([0.0, 1.0], requires_grad=True), cr.tensor(2.0, requires_grad=True)
    y = creation.normal(mean, std)
    assert y.requires_grad and y.shape == (2,)
    y.sum().backward()
    assert mean.grad.tolist() == [0.0, 0.0] and std.grad.tolist() == 0.0
    p = cr.tensor([0.2, 0.9], requires_grad=True)
    creation.bernoulli(p).sum().backward()
    assert p.grad.tolist() == [0.0, 0.0]


def test_factories_follow_the_default_dtype() -> None:
    dtypes.set_default_dtype(np.float64)
    try:
        assert creation.zeros(2).dtype == creation.rand(2).dtype == creation.full((1,), 1.5).dtype == np.float64
        assert creation.arange(0.0, 2.0).dtype == creation.linspace(0, 1, 3).dtype == np.float64
        assert elementwise.sin(cr.tensor([1, 2])).dtype == np.float64
        assert creation.arange(3).dtype == np.int64
    finally:
        dtypes.set_default_dtype(np.float32)


def test_as_tensor_shares_memory_where_it_can() -> None:
    a = np.arange(3.0)
    t = creation.as_tensor(a)
    a[0] = 5.0
    assert t.tolist() == [5.0, 1.0, 2.0] and t.dtype == np.float64
    assert creation.as_tensor(t) is t
    copied = creation.as_tensor(a, dtype=np.float32)
    a[1] = 7.0
    assert copied.tolist() == [5.0, 1.0, 2.0]
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = creation.as_tensor(x, dtype=np.float64)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
