"""Bad input gives an error a learner can act on (op, expected, received); NaN and Inf are data, not errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.engine import ops


def _m(*shape: int) -> cr.Tensor:
    return cr.tensor(np.ones(shape), requires_grad=True)


X = _m(2, 3)

ERRORS = [
    # (id, call, exception type, message pattern)
    ("matmul_inner", lambda: _m(2, 3) @ _m(4, 5), ValueError,
     r"matmul: cannot multiply shapes \(2, 3\) and \(4, 5\): inner dimensions 3 != 4"),
    ("matmul_vector", lambda: _m(3) @ _m(2), ValueError,
     r"matmul: .*shapes \(3,\) and \(2,\): inner dimensions 3 != 2"),
    ("matmul_batch", lambda: _m(2, 2, 3) @ _m(3, 3, 4), ValueError,
     r"matmul: .*batch dimensions \(2,\) and \(3,\) do not broadcast"),
    ("matmul_0d", lambda: cr.tensor(2.0) @ X, ValueError,
     r"matmul: both operands need at least 1 dimension, got shapes \(\) and \(2, 3\)"),
    ("add_broadcast", lambda: X + _m(4), ValueError, r"add: cannot broadcast shapes \(2, 3\) and \(4,\)"),
    ("sub_broadcast", lambda: X - _m(2), ValueError, r"sub: cannot broadcast shapes \(2, 3\) and \(2,\)"),
    ("mul_broadcast", lambda: _m(4, 1) * _m(3, 2), ValueError, r"mul: cannot broadcast shapes \(4, 1\) and \(3, 2\)"),
    ("div_broadcast", lambda: 1 / X / [1.0, 2.0], ValueError, r"div: cannot broadcast shapes \(2, 3\) and \(2,\)"),
    ("pow_broadcast", lambda: X ** _m(2), ValueError, r"pow: cannot broadcast"),
    ("maximum_broadcast", lambda: cr.maximum(X, _m(5)), ValueError, r"maximum: cannot broadcast"),
    ("where_broadcast", lambda: cr.where(np.ones(4, bool), X, 0.0), ValueError,
     r"where: cannot broadcast shapes \(4,\) and \(2, 3\)"),
    ("where_condition", lambda: cr.where(np.ones(3), X, 0.0), TypeError,
     r"where: condition must be boolean, got dtype float64"),
    ("binary_no_tensor", lambda: ops.add(1, 2), TypeError, r"add: expected at least one Tensor, got int and int"),
    # ---- data that is not real numbers
    ("string", lambda: cr.tensor("abc"), TypeError, r"tensor: expected numbers, got a str 'abc'"),
    ("string_list", lambda: cr.tensor(["a", "b"]), TypeError, r"tensor: expected real numbers .*got strings"),
    ("add_string", lambda: X + "a", TypeError, r"add: expected numbers, got a str 'a'"),
    ("object_array", lambda: cr.tensor(np.array([1, None], dtype=object)), TypeError,
     r"tensor: expected real numbers .*got Python objects"),
    ("none", lambda: cr.tensor(None), TypeError, r"tensor: expected real numbers .*got Python objects"),
    ("ragged", lambda: cr.tensor([[1.0, 2.0], [3.0]]), ValueError,
     r"tensor: expected a rectangular nested sequence of numbers, got a ragged one"),
    ("complex", lambda: cr.tensor(1 + 2j), TypeError, r"tensor: expected real numbers .*got complex numbers"),
    ("mul_complex", lambda: X * (1 + 2j), TypeError, r"mul: expected real numbers .*got complex numbers"),
    ("complex_dtype", lambda: cr.tensor([1.0], dtype="complex64"), TypeError,
     r"tensor: dtype complex64 is not supported; chainrule has bool, float16"),
    ("unknown_dtype", lambda: cr.tensor([1.0], dtype="nope"), TypeError,
     r"tensor: 'nope' is not a dtype; use one of cr.float32"),
    # ---- axes and shapes
    ("sum_axis", lambda: X.sum(axis=2), ValueError,
     r"sum: axis 2 is out of range for a tensor with 2 dimensions \(valid: -2 to 1\)"),
    ("mean_negative_axis", lambda: X.mean(axis=-3), ValueError, r"mean: axis -3 is out of range"),
    ("var_tuple_axis", lambda: X.var(axis=(0, 5)), ValueError, r"var: axis 5 is out of range"),
    ("logsumexp_axis", lambda: X.logsumexp(axis=2), ValueError, r"logsumexp: axis 2 is out of range"),
    ("max_0d_axis", lambda: cr.tensor(1.0).max(axis=1), ValueError,
     r"max: axis 1 is out of range for a tensor with 0 dimensions"),
    ("repeated_axis", lambda: X.mean(axis=(0, -2)), ValueError, r"mean: axis \(0, -2\) names the same dimension twice"),
    ("float_axis", lambda: X.max(axis=1.0), TypeError, r"max: axis must be an int, got float 1.0"),
    ("max_empty", lambda: cr.tensor(np.ones((0, 3))).max(), ValueError,
     r"max: cannot reduce an empty tensor of shape \(0, 3\)"),
    ("mean_int", lambda: cr.tensor([1, 2]).mean(), TypeError,
     r"mean: expected a floating-point tensor, got dtype int64"),
    ("softmax_axis", lambda: X.softmax(dim=2), IndexError, r"softmax: axis 2 is out of range"),
    ("log_softmax_axis", lambda: cr.log_softmax(X, -3), ValueError, r"log_softmax: axis -3 is out of range"),
    ("reshape", lambda: X.reshape(4, 2), ValueError,
     r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into shape \(4, 2\)"),
    ("reshape_infer", lambda: X.reshape(4, -1), ValueError, r"reshape: cannot reshape .* into shape \(4, -1\)"),
    ("reshape_two_unknowns", lambda: X.reshape(-1, -1), ValueError, r"reshape: invalid shape \(-1, -1\)"),
    ("reshape_float", lambda: X.reshape(2.0, 3), TypeError, r"reshape: shape entries must be ints, got float 2.0"),
    ("permute", lambda: X.permute(0, 0), ValueError, r"permute: dims \(0, 0\) must be a permutation"),
    ("transpose_axis", lambda: X.transpose(0, 5), ValueError, r"transpose: axis 5 is out of range"),
    ("expand", lambda: X.expand(4, 3), ValueError,
     r"expand: cannot expand shape \(2, 3\) to \(4, 3\): dimension 0 has size 2"),
    ("expand_fewer_dims", lambda: X.expand(3), ValueError, r"expand: target shape \(3,\) has fewer dimensions"),
    ("expand_new_minus_one", lambda: _m(3).expand(-1, 3), ValueError, r"expand: invalid target shape \(-1, 3\)"),
    ("squeeze_axis", lambda: X.squeeze(3), ValueError, r"squeeze: axis 3 is out of range"),
    ("unsqueeze_axis", lambda: X.unsqueeze(4), ValueError, r"unsqueeze: axis 4 is out of range"),
    # ---- indexing, joining, splitting
    ("index_out_of_range", lambda: X[5], IndexError, r"getitem: index 5 does not fit a tensor of shape \(2, 3\)"),
    ("index_float_array", lambda: X[np.array([0.5])], IndexError,
     r"getitem: index arrays must be integers or booleans \(long, int, byte or bool tensors\), got dtype float64"),
    ("index_mask_shape", lambda: X[np.ones(3, bool)], IndexError, r"getitem: index .* does not fit .*\(2, 3\)"),
    ("cat_shapes", lambda: cr.cat([X, _m(3, 4)], axis=1), ValueError,
     r"cat: tensor 1 has shape \(3, 4\) but tensor 0 has shape \(2, 3\); they must match in every dimension except 1"),
    ("cat_ndim", lambda: cr.cat([X, _m(3)]), ValueError, r"cat: tensor 1 has 1 dimensions but tensor 0 has 2"),
    ("cat_empty", lambda: cr.cat([]), ValueError, r"cat: expected a non-empty list of tensors, got \[\]"),
    ("cat_0d", lambda: cr.cat([cr.tensor(1.0), cr.tensor(2.0)]), ValueError,
     r"cat: cannot join zero-dimensional tensors.*use stack"),
    ("cat_axis", lambda: cr.cat([X, X], axis=2), ValueError, r"cat: axis 2 is out of range"),
    ("stack_shapes", lambda: cr.stack([X, _m(3, 2)]), ValueError,
     r"stack: tensor 1 has shape \(3, 2\) but tensor 0 has shape \(2, 3\); they must match in every dimension"),
    ("split_sections", lambda: X.split([1, 1], axis=1), ValueError,
     r"split: section sizes \[1, 1\] must be non-negative and add up to 3, the size of axis 1"),
    ("split_size", lambda: X.split(0), ValueError, r"split: split_size must be a positive int, got 0"),
    ("split_bool", lambda: X.split(True), TypeError,
     r"split: split_size_or_sections must be an int or a sequence of ints, got bool"),
    # ---- op arguments
    ("gelu_approximate", lambda: X.gelu("fast"), ValueError, r"gelu: approximate must be 'none' or 'tanh', got 'fast'"),
    ("clip_nothing", lambda: X.clip(), ValueError, r"clip: give at least one of min and max"),
    ("clip_string", lambda: X.clip("a"), TypeError, r"clip: min must be a real number, got str 'a'"),
    ("leaky_relu_slope", lambda: X.leaky_relu("a"), TypeError,
     r"leaky_relu: negative_slope must be a real number, got str 'a'"),
    ("linear_features", lambda: ops.linear(X, _m(4, 5)), ValueError,
     r"linear: expected input with 5 features .*weight shape \(4, 5\).*got input of shape \(2, 3\)"),
    ("manual_seed", lambda: cr.manual_seed(-1), ValueError, r"manual_seed: seed must be a non-negative int, got -1"),
    ("bool_ambiguous", lambda: bool(X), ValueError, r"bool\(\): the truth value of a tensor with 6 elements"),
    ("gradcheck_nothing", lambda: cr.gradcheck(lambda t: t * 2, [cr.tensor([1.0])]), ValueError,
     r"gradcheck: none of the inputs requires grad"),
    # ---- gradient misuse
    ("requires_grad_int", lambda: cr.tensor([1, 2], requires_grad=True), TypeError,
     r"requires_grad: only floating-point tensors can require gradients, got dtype int64"),
    ("backward_no_grad", lambda: cr.tensor([1.0]).backward(), ValueError,
     r"backward: this tensor does not require grad"),
    ("backward_non_scalar", lambda: (X * 2).backward(), ValueError,
     r"backward: grad can be implicitly created only for a tensor with one element, got shape \(2, 3\)"),
    ("backward_grad_shape", lambda: (X * 2).backward(np.ones(3)), ValueError,
     r"backward: grad must have shape \(2, 3\), got \(3,\)"),
    ("register_hook_no_grad", lambda: cr.tensor([1.0]).register_hook(print), ValueError,
     r"register_hook: this tensor does not require grad"),
]


@pytest.mark.parametrize("call, error, pattern", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_input_raises_a_clear_error(call: object, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call()


def test_graph_misuse_is_a_value_error_and_a_runtime_error_as_in_pytorch() -> None:
    # Every chainrule user error is a ValueError/TypeError; PyTorch users catch RuntimeError: both work.
    assert issubclass(cr.engine.GraphError, ValueError) and issubclass(cr.engine.GraphError, RuntimeError)
    loss = (_m(2, 3) * 2).sum()
    loss.backward()
    with pytest.raises(ValueError, match=r"backward: the graph through op 'sum' was already freed"):
        loss.backward()


def test_a_failed_op_records_nothing() -> None:
    x = _m(2, 3)
    with pytest.raises(ValueError, match="add: cannot broadcast"):
        x + _m(4)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


# ---------------------------------------------------------------------------- NaN and Inf are data

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 2.0])

ELEMENTWISE = [
    ("neg", lambda x: -x, np.negative),
    ("add", lambda x: x + 1.0, lambda a: a + 1.0),
    ("mul_self", lambda x: x * x, lambda a: a * a),
    ("div_self", lambda x: x / x, lambda a: a / a),
    ("pow", lambda x: x**2, lambda a: a**2),
    ("exp", lambda x: x.exp(), np.exp),
    ("log", lambda x: x.log(), np.log),
    ("sqrt", lambda x: x.sqrt(), np.sqrt),
    ("abs", lambda x: x.abs(), np.abs),
    ("tanh", lambda x: x.tanh(), np.tanh),
    ("sigmoid", lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    ("relu", lambda x: x.relu(), lambda a: np.maximum(a, 0)),
    ("softplus", lambda x: cr.nn.functional.softplus(x), lambda a: np.logaddexp(0, a)),
    ("clip", lambda x: x.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
    ("maximum", lambda x: cr.maximum(x, 0.5), lambda a: np.maximum(a, 0.5)),
    ("sum", lambda x: x.sum(), np.sum),
    ("mean", lambda x: x.mean(), np.mean),
    ("max", lambda x: x.max(), np.max),
    ("min", lambda x: x[3:].min(), lambda a: a[3:].min()),
]


@pytest.mark.parametrize("fn, reference", [e[1:] for e in ELEMENTWISE], ids=[e[0] for e in ELEMENTWISE])
def test_nan_and_inf_flow_through_like_numpy(fn: object, reference: object) -> None:
    x = cr.tensor(SPECIAL, dtype=np.float64, requires_grad=True)
    with np.errstate(all="ignore"):  # NumPy's own warnings, not errors: the values are the point
        out = fn(x)
        np.testing.assert_allclose(out.data, reference(SPECIAL.copy()), rtol=1e-12)  # NaN matches NaN
        out.sum().backward()
    assert x.grad.shape == SPECIAL.shape


def test_relu_of_inf_matches_torch() -> None:
    x = cr.tensor([-np.inf, np.inf, np.nan])
    np.testing.assert_array_equal(x.relu().data, torch.tensor(x.data).relu().numpy())


# ---------------------------------------------------------------------------- no overflow at +-1000

LARGE = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0], [1000.0, 1000.0, 999.0]])


@pytest.mark.parametrize(
    "name, fn, torch_fn",
    [
        ("softmax", lambda x: x.softmax(), lambda t: t.softmax(-1)),
        ("log_softmax", lambda x: x.log_softmax(), lambda t: t.log_softmax(-1)),
        ("log_softmax_axis0", lambda x: x.log_softmax(0), lambda t: t.log_softmax(0)),
        ("logsumexp", lambda x: x.logsumexp(axis=1), lambda t: t.logsumexp(1)),
        ("logsumexp_all", lambda x: x.logsumexp(), lambda t: t.reshape(-1).logsumexp(0)),
        ("cross_entropy", lambda x: ops.CrossEntropy.apply(x, np.array([1, 0, 2]), 0.1, "none"),
         lambda t: torch.nn.functional.cross_entropy(t, torch.tensor([1, 0, 2]), label_smoothing=0.1,
                                                     reduction="none")),
        ("sigmoid", lambda x: x.sigmoid(), torch.sigmoid),
        ("softplus", lambda x: cr.nn.functional.softplus(x), torch.nn.functional.softplus),
        ("tanh", lambda x: x.tanh(), torch.tanh),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_overflow_for_inputs_of_1000(name: str, fn: object, torch_fn: object, dtype: type) -> None:
    x = cr.tensor(LARGE, dtype=dtype, requires_grad=True)
    t = torch.tensor(LARGE, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would mean an intermediate inf
        out = fn(x)
        out.sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(x.grad).all(), f"{name}: {out.data}, {x.grad}"
    expected = torch_fn(t)
    expected.sum().backward()
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=tolerance, atol=tolerance)


def test_sigmoid_and_softplus_keep_relative_precision_far_below_zero() -> None:
    values = np.array([-40.0, -20.0, -700.0])
    x = cr.tensor(values, dtype=np.float64, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    np.testing.assert_allclose(x.sigmoid().data, torch.sigmoid(t).detach().numpy(), rtol=1e-12)
    cr.nn.functional.softplus(x).sum().backward()
    torch.nn.functional.softplus(t).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)  # softplus' = sigmoid
