"""The op table: every op against NumPy (forward), finite differences (gradcheck) and torch (values and gradients).

Adding an op is adding one row to ``OPS`` (or to ``REDUCTIONS`` for a reduction).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F  # noqa: N812 - torch's own spelling

import chainrule as cr
from chainrule.engine import ops

from .op_check import Op, as_list, away_from_clip_bounds, away_from_zero, check_op, draw_inputs, normal, positive

UNARY = [((),), ((1,),), ((5,),), ((2, 3),), ((2, 1, 3),)]
BINARY = [((), ()), ((3,), ()), ((), (3,)), ((1,), (4,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1, 3), (4, 1))]
AT_LEAST_1D = UNARY[1:]
MATRICES = [((2, 3),), ((1, 4),), ((3, 1),)]
LOGITS = [((4, 3),), ((1, 5),), ((6, 2),)]


def _t(value: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(value, dtype=np.float64))


def _targets(shape: tuple[int, ...]) -> np.ndarray:
    """Fixed class indices for (N, C) logits, every class used."""
    return np.arange(shape[0]) % shape[1]


def _np_axis(x: np.ndarray, axis: object) -> object:
    return None if x.ndim == 0 else axis  # NumPy rejects axis 0 or -1 on a 0-d array in some functions


def _np_logsumexp(x: np.ndarray, axis: object = None, keepdims: bool = False) -> np.ndarray:
    axis = _np_axis(x, axis)
    peak = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x - _np_logsumexp(x, axis, keepdims=True)


def _np_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(_np_log_softmax(x, axis))


def _np_cross_entropy(z: np.ndarray, smoothing: float, reduction: str) -> np.ndarray:
    log_p = _np_log_softmax(z, axis=1)
    nll = -log_p[np.arange(len(z)), _targets(z.shape)]
    losses = (1 - smoothing) * nll - smoothing * log_p.mean(axis=1)
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


def _cross_entropy_row(smoothing: float, reduction: str) -> Op:
    return Op(
        f"cross_entropy[label_smoothing={smoothing},reduction={reduction}]",
        lambda z: ops.CrossEntropy.apply(z, _targets(z.shape), smoothing, reduction),
        lambda z: _np_cross_entropy(z, smoothing, reduction),
        LOGITS,
        lambda z: F.cross_entropy(
            z, torch.from_numpy(_targets(tuple(z.shape))), label_smoothing=smoothing, reduction=reduction
        ),
    )


def _mse_row(reduction: str) -> Op:
    """The fused MSE op; both inputs need a gradient, so the target's (the negated input's) is checked too."""
    return Op(
        f"mse[reduction={reduction}]",
        lambda x, t: ops.MSE.apply(x, t, reduction),
        lambda x, t: {"mean": np.mean, "sum": np.sum, "none": np.asarray}[reduction]((x - t) ** 2),
        [((4, 3), (4, 3)), ((5,), (5,)), ((), ()), ((3, 1), (3, 1))],
        lambda x, t: F.mse_loss(x, t, reduction=reduction),
    )


def _np_batch_norm(x: np.ndarray, w: np.ndarray | None = None, b: np.ndarray | None = None) -> np.ndarray:
    axes = tuple(range(x.ndim - 1))
    out = (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes) + 1e-5)
    return out * (1 if w is None else w) + (0 if b is None else b)


def _torch_batch_norm(x: torch.Tensor, w: torch.Tensor | None = None, b: torch.Tensor | None = None) -> torch.Tensor:
    # torch keeps channels in dim 1; chainrule's BatchNorm normalizes over all axes but the last
    return F.batch_norm(x.movedim(-1, 1), None, None, w, b, training=True, eps=1e-5).movedim(1, -1)


GELU_TANH_C = np.sqrt(2 / np.pi)
MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, False]])
ROWS = np.array([0, 2, 0, 0])  # repeats: backward must add them up (scatter-add)
CONST = (np.arange(6.0).reshape(2, 3) - 2.5).astype(np.float32)  # exact in float32: promotes like a tensor

OPS = [
    # ---- binary arithmetic, broadcasting included, and reflected forms with Python numbers
    Op("add", lambda a, b: a + b, np.add, BINARY),
    Op("sub", lambda a, b: a - b, np.subtract, BINARY),
    Op("mul", lambda a, b: a * b, np.multiply, BINARY),
    Op("div", lambda a, b: a / b, np.divide, BINARY, samples=(normal, positive)),
    Op("pow", lambda a, b: a**b, np.power, BINARY, samples=(positive, normal)),
    Op("pow_scalar", lambda a: a**3, lambda a: a**3, UNARY),
    Op("pow_fraction", lambda a: a**-1.5, lambda a: a**-1.5, UNARY, sample=positive),
    Op("radd", lambda a: 1.5 + a, lambda a: 1.5 + a, UNARY),
    Op("rsub", lambda a: 1.5 - a, lambda a: 1.5 - a, UNARY),
    Op("rmul", lambda a: 1.5 * a, lambda a: 1.5 * a, UNARY),
    Op("rdiv", lambda a: 1.5 / a, lambda a: 1.5 / a, UNARY, sample=positive),
    Op("rpow", lambda a: 1.5**a, lambda a: 1.5**a, UNARY),
    Op("sub_array_constant", lambda a: a - CONST, lambda a: a - CONST, [((2, 3),), ((3,),)], lambda a: a - _t(CONST)),
    Op("neg", lambda a: -a, np.negative, UNARY),
    # ---- unary elementwise
    Op("exp", lambda x: x.exp(), np.exp, UNARY),
    Op("log", lambda x: x.log(), np.log, UNARY, sample=positive),
    Op("sqrt", lambda x: x.sqrt(), np.sqrt, UNARY, sample=positive),
    Op("abs", lambda x: x.abs(), np.abs, UNARY, sample=away_from_zero),
    Op("tanh", lambda x: x.tanh(), np.tanh, UNARY),
    Op("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), UNARY),
    Op("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), UNARY, sample=away_from_zero),
    Op(
        "leaky_relu",
        lambda x: x.leaky_relu(0.1),
        lambda x: np.where(x > 0, x, 0.1 * x),
        UNARY,
        lambda x: F.leaky_relu(x, 0.1),
        sample=away_from_zero,
    ),
    Op("gelu", lambda x: x.gelu(), lambda x: x * 0.5 * (1 + scipy.special.erf(x / np.sqrt(2))), UNARY, F.gelu),
    Op(
        "gelu_tanh",
        lambda x: x.gelu("tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(GELU_TANH_C * (x + 0.044715 * x**3))),
        UNARY,
        lambda x: F.gelu(x, approximate="tanh"),
    ),
    Op("softplus", lambda x: cr.nn.functional.softplus(x), lambda x: np.log1p(np.exp(x)), UNARY, F.softplus),
    Op("clip", lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), UNARY, sample=away_from_clip_bounds),
    Op("clip_min", lambda x: x.clip(min=-0.5), lambda x: np.maximum(x, -0.5), UNARY, sample=away_from_clip_bounds),
    Op("clamp_max", lambda x: x.clamp(max=0.5), lambda x: np.minimum(x, 0.5), UNARY, sample=away_from_clip_bounds),
    # ---- binary selections
    Op("maximum", cr.maximum, np.maximum, BINARY, torch.maximum),
    Op("minimum", cr.minimum, np.minimum, BINARY, torch.minimum),
    Op(
        "maximum_constant",
        lambda a: cr.maximum(a, 0.3),
        lambda a: np.maximum(a, 0.3),
        UNARY,
        lambda a: torch.maximum(a, _t(0.3)),
    ),
    Op(
        "where",
        lambda a, b: cr.where(a.data > 0, a, b),
        lambda a, b: np.where(a > 0, a, b),
        BINARY,
        lambda a, b: torch.where(a > 0, a, b),
        sample=away_from_zero,
    ),
    # ---- softmax family (reductions are in REDUCTIONS below)
    Op("softmax", lambda x: x.softmax(), _np_softmax, UNARY, lambda x: x.softmax(-1)),
    Op("softmax_axis0", lambda x: cr.softmax(x, 0), lambda x: _np_softmax(x, 0), AT_LEAST_1D,
       lambda x: x.softmax(0)),
    Op("log_softmax", lambda x: x.log_softmax(), _np_log_softmax, UNARY, lambda x: x.log_softmax(-1)),
    Op("log_softmax_axis0", lambda x: cr.log_softmax(x, 0), lambda x: _np_log_softmax(x, 0), AT_LEAST_1D,
       lambda x: x.log_softmax(0)),
    # ---- shape
    Op("reshape_reversed", lambda x: x.reshape(tuple(reversed(x.shape))), lambda x: x.reshape(x.shape[::-1]), UNARY),
    Op("reshape_flat", lambda x: x.reshape(-1), lambda x: x.reshape(-1), UNARY),
    Op("flatten_unsqueeze", lambda x: x.flatten().unsqueeze(0), lambda x: x.reshape(1, -1), UNARY),
    Op("squeeze", lambda x: x.squeeze(), np.squeeze, UNARY),
    Op("transpose", lambda x: x.transpose(0, -1), lambda x: np.swapaxes(x, 0, -1),
       [((2, 3),), ((2, 3, 4),), ((1, 3),)]),
    Op("T", lambda x: x.T, np.transpose, [((),), ((3,),), ((2, 3),), ((2, 3, 4),)],
       lambda x: x.permute(tuple(reversed(range(x.ndim))))),
    Op("permute", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), [((2, 3, 4),), ((1, 2, 1),)]),
    Op("expand", lambda x: x.expand(2, 3, 4), lambda x: np.broadcast_to(x, (2, 3, 4)), [((),), ((3, 1),), ((4,),),
                                                                                        ((1, 1, 4),)]),
    Op("expand_keep", lambda x: x.expand(2, -1, 4), lambda x: np.broadcast_to(x, (2, x.shape[0], 4)),
       [((3, 1),), ((1, 4),)]),
    # ---- indexing: basic, integer arrays (with repeats), boolean masks
    Op("getitem_slices", lambda x: x[1:, ::2], lambda x: x[1:, ::2], [((3, 4),), ((3, 5, 2),)]),
    Op("getitem_reversed", lambda x: x[::-1, 1], lambda x: x[::-1, 1], [((3, 2),), ((2, 3, 2),)],
       lambda x: x.flip(0)[:, 1]),
    Op("getitem_int_ellipsis", lambda x: x[..., 1], lambda x: x[..., 1], [((3, 4),), ((2,),), ((2, 3, 2),)]),
    Op("getitem_none_neg", lambda x: x[None, -1, 1:3], lambda x: x[None, -1, 1:3], [((3, 4),)]),
    Op("getitem_ints_repeated", lambda x: x[ROWS], lambda x: x[ROWS], [((3,),), ((3, 2),)],
       lambda x: x[torch.from_numpy(ROWS)]),
    Op("getitem_int_list_slice", lambda x: x[[0, 0, 1], 1:], lambda x: x[[0, 0, 1], 1:], [((2, 3),), ((3, 4, 2),)]),
    Op("getitem_two_int_arrays", lambda x: x[[0, 1, 1, 0], [2, 2, 0, 2]], lambda x: x[[0, 1, 1, 0], [2, 2, 0, 2]],
       [((2, 3),)]),
    Op("getitem_mask", lambda x: x[MASK], lambda x: x[MASK], [((3, 4),)], lambda x: x[torch.from_numpy(MASK)]),
    Op("getitem_negative_ints", lambda x: x[[-1, 0, -1]], lambda x: x[[-1, 0, -1]], [((3,),), ((2, 2),)]),
    Op("getitem_tensor_mask", lambda x: x[x > 0], lambda x: x[x > 0], [((5,),), ((3, 4),)], sample=away_from_zero),
    Op("getitem_row_mask", lambda x: x[MASK[:, 0]], lambda x: x[MASK[:, 0]], [((3,),), ((3, 2),)],
       lambda x: x[torch.from_numpy(MASK[:, 0])]),
    # ---- joining and splitting
    Op("cat", lambda a, b: cr.cat([a, b], axis=1), lambda a, b: np.concatenate([a, b], 1),
       [((2, 3), (2, 1)), ((2, 3, 1), (2, 2, 1))], lambda a, b: torch.cat([a, b], dim=1)),
    Op("cat_same_tensor", lambda a: cr.cat([a, a, a]), lambda a: np.concatenate([a, a, a]), [((2,),), ((1, 3),)],
       lambda a: torch.cat([a, a, a])),
    Op("stack", lambda a, b: cr.stack([a, b, a], axis=-1), lambda a, b: np.stack([a, b, a], -1),
       [((), ()), ((3,), (3,)), ((2, 3), (2, 3))], lambda a, b: torch.stack([a, b, a], dim=-1)),
    Op("split_size", lambda x: x.split(2, axis=1), lambda x: np.split(x, [2, 4], 1), [((3, 5),), ((1, 5, 2),)],
       lambda x: x.split(2, dim=1)),
    Op("split_sections", lambda x: cr.split(x, [1, 3]), lambda x: np.split(x, [1]), [((4,),), ((4, 2),)],
       lambda x: x.split([1, 3])),
    # ---- matrix products: 1-D·1-D, matrix·vector, vector·matrix, matrix·matrix, batched with broadcasting
    Op("matmul", lambda a, b: a @ b, np.matmul, [
        ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((1, 1), (1, 1)),
        ((2, 2, 3), (3, 4)), ((4, 3), (2, 3, 2)), ((5, 2, 3), (1, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)),
        ((3,), (2, 3, 4)), ((2, 4, 3), (3,)),
    ]),
    Op("rmatmul", lambda b: CONST @ b, lambda b: CONST @ b, [((3,),), ((3, 4),), ((2, 3, 1),)],
       lambda b: _t(CONST) @ b),
    # ---- fused ops
    Op("linear", ops.linear, lambda x, w, b: x @ w.T + b,
       [((4, 3), (2, 3), (2,)), ((3,), (2, 3), (2,)), ((2, 4, 3), (5, 3), (5,)), ((1, 1), (1, 1), (1,))], F.linear),
    Op("linear_no_bias", ops.linear, lambda x, w: x @ w.T, [((4, 3), (2, 3)), ((2, 1, 3), (5, 3))], F.linear),
    *[_cross_entropy_row(smoothing, reduction) for smoothing in (0.0, 0.1) for reduction in ("mean", "sum", "none")],
    *[_mse_row(reduction) for reduction in ("mean", "sum", "none")],
    Op("batch_norm", lambda x, w, b: ops.BatchNorm.apply(x, w, b, 1e-5), _np_batch_norm,
       [((4, 3), (3,), (3,)), ((2, 5, 3), (3,), (3,)), ((3, 1), (1,), (1,))], _torch_batch_norm),
    Op("batch_norm_affine_free", lambda x: ops.BatchNorm.apply(x, None, None, 1e-5), _np_batch_norm,
       [((4, 3),), ((2, 3, 2),)], _torch_batch_norm),
]


# ---- reductions: each is one row; every row runs over every axis case, keepdims both ways
def _all(axis: object) -> object:
    return () if axis is None else axis  # torch spells "every axis" as dim=() for amax


def _torch_logsumexp(x: torch.Tensor, axis: object, keepdims: bool) -> torch.Tensor:
    if axis is not None:
        return torch.logsumexp(x, axis, keepdims)
    out = torch.logsumexp(x.reshape(-1), 0)  # torch's dim=() with keepdim=True fails in backward
    return out.reshape((1,) * x.ndim) if keepdims else out


REDUCTIONS = [
    # name, chainrule, NumPy, torch: each f(x, axis, keepdims)
    ("sum", lambda x, a, k: x.sum(a, k), lambda x, a, k: np.sum(x, _np_axis(x, a), keepdims=k),
     lambda x, a, k: x.sum(a, k)),
    ("mean", lambda x, a, k: x.mean(a, k), lambda x, a, k: np.mean(x, _np_axis(x, a), keepdims=k),
     lambda x, a, k: x.mean(a, k)),
    ("max", lambda x, a, k: x.amax(a, k), lambda x, a, k: np.max(x, _np_axis(x, a), keepdims=k),
     lambda x, a, k: torch.amax(x, _all(a), k)),
    ("min", lambda x, a, k: x.amin(a, k), lambda x, a, k: np.min(x, _np_axis(x, a), keepdims=k),
     lambda x, a, k: torch.amin(x, _all(a), k)),
    ("var", lambda x, a, k: x.var(a, keepdim=k), lambda x, a, k: np.var(x, _np_axis(x, a), ddof=1, keepdims=k),
     lambda x, a, k: torch.var(x, a, keepdim=k, correction=1)),
    ("logsumexp", lambda x, a, k: x.logsumexp(a, k), _np_logsumexp, _torch_logsumexp),
]
AXIS_CASES = [
    ((2, 3, 4), None), ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, -3)),
    ((), None), ((), 0), ((), -1), ((1,), 0), ((3, 1), -1), ((3, 1), (0, 1)),
]


def _reduction_rows() -> list[Op]:
    rows = []
    for name, fn, ref, tfn in REDUCTIONS:
        for shape, axis in AXIS_CASES:
            count = np.ones(shape).sum(axis=axis)
            if name == "var" and np.min(count) < 2:
                continue  # variance of one element divides by N - 1 = 0
            # both keepdims settings in one row: the op returns a list of two outputs
            rows.append(Op(
                f"{name}[shape={shape},axis={axis}]",
                lambda x, fn=fn, axis=axis: [fn(x, axis, False), fn(x, axis, True)],
                lambda x, ref=ref, axis=axis: [ref(x, axis, False), ref(x, axis, True)],
                [(shape,)],
                lambda x, tfn=tfn, axis=axis: [tfn(x, axis, False), tfn(x, axis, True)],
            ))
    return rows


ALL_OPS = OPS + _reduction_rows()


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_op_matches_numpy_gradcheck_and_torch(op: Op) -> None:
    check_op(op)


def test_every_tensor_op_method_has_a_row() -> None:
    """A new public op without a row in the table fails here, not silently."""
    names = " ".join(op.name for op in ALL_OPS)
    methods = [
        "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "leaky_relu", "gelu", "clip", "clamp",
        "sum", "mean", "max", "min", "var", "logsumexp", "softmax", "log_softmax", "reshape", "transpose", "permute",
        "expand", "split", "squeeze", "flatten", "T",
    ]
    for name in methods:
        assert hasattr(cr.Tensor, name), name
        assert name in names, f"no row in the op table for Tensor.{name}"
    for name in ["cat", "stack", "split", "softmax", "log_softmax", "maximum", "minimum", "where"]:
        assert name in names, f"no row in the op table for cr.{name}"


# ---- ties: NumPy picks one winner, chainrule and torch share the gradient; finite differences are one-sided here
TIES = [
    ("max", lambda x: x.amax(1), lambda x: torch.amax(x, 1)),
    ("min", lambda x: x.min(), lambda x: torch.amin(x, ())),
    ("maximum", lambda x: cr.maximum(x, x[:, :1]), lambda x: torch.maximum(x, x[:, :1])),
    ("minimum", lambda x: cr.minimum(x[:1], x), lambda x: torch.minimum(x[:1], x)),
]


@pytest.mark.parametrize("name, fn, torch_fn", TIES, ids=[t[0] for t in TIES])
def test_ties_share_the_gradient_like_torch(name: str, fn: object, torch_fn: object) -> None:
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [1.0, 1.0, 0.0]])
    x = cr.tensor(data, dtype=np.float64, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    out, tout = fn(x), torch_fn(t)
    np.testing.assert_allclose(out.data, tout.detach().numpy())
    weights = np.arange(1.0, out.numel() + 1).reshape(out.shape)
    (out * weights).sum().backward()
    (tout * _t(weights)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


# ---- float32 stays float32 through every op, forward and backward, and stays close to float64 torch
@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_float32_stays_float32_and_close_to_torch_in_float64(op: Op) -> None:
    shapes = op.shapes[-1]
    arrays = [a.astype(np.float32) for a in draw_inputs(op, shapes, 0)]
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    seen = []

    class RecordDtypes:
        def on_forward(self, fn: cr.Function, inputs: tuple, output: cr.Tensor) -> None:
            seen.append((fn.name, "forward", output.dtype))

        def on_backward(self, fn: cr.Function, grad_output: np.ndarray, grad_inputs: tuple) -> None:
            seen.extend((fn.name, "backward", g.dtype) for g in grad_inputs if g is not None)

    with cr.register_op_hook(RecordDtypes()):
        outs = as_list(op.fn(*xs))
        sum(out.sum() * (k + 1) for k, out in enumerate(outs)).backward()
    wrong = [entry for entry in seen if entry[2] != np.float32]
    assert not wrong, f"{op.name}: float32 inputs gave {wrong}"

    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    touts = as_list((op.torch_fn or op.fn)(*ts))
    sum(out.sum() * (k + 1) for k, out in enumerate(touts)).backward()
    for out, tout in zip(outs, touts):
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=op.name)
    for x, t in zip(xs, ts):
        assert x.grad.dtype == np.float32
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=op.name)
