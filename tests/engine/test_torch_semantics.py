"""PyTorch's semantics, checked against PyTorch itself: dtype promotion, in-place ops and the version
counter, comparisons, ``.grad``/``.data`` as tensors, custom Functions, exception types."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import chainrule as cr

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _values(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    counts = np.arange(1, 1 + int(np.prod(shape))).reshape(shape)
    return np.asarray(counts % 2 if dtype == "bool" else counts).astype(dtype)


def _pair(dtype: str, shape: tuple[int, ...]) -> tuple[cr.Tensor, torch.Tensor]:
    array = _values(dtype, shape)
    return cr.tensor(array), torch.from_numpy(array.copy())


def _torch_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# ---------------------------------------------------------------------------- dtype promotion

# (left shape, right shape): tensors with dimensions, 0-d tensors, in every ranking PyTorch distinguishes
RANKS = [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(DTYPES, DTYPES)))
def test_tensor_tensor_promotion_is_torch_result_type(a: str, b: str) -> None:
    for sa, sb in RANKS:
        (x, tx), (y, ty) = _pair(a, sa), _pair(b, sb)
        expected = _torch_name(torch.result_type(tx, ty))
        assert str(cr.result_type(x, y)) == expected, (a, sa, b, sb)
        if a == b == "bool":
            continue  # torch refuses bool + bool for add? no: it gives bool; covered by result_type above
        assert str((x + y).dtype) == _torch_name((tx + ty).dtype), (a, sa, b, sb)
        assert str((x * y).dtype) == _torch_name((tx * ty).dtype), (a, sa, b, sb)


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("scalar", [True, 3, 0.5])
def test_tensor_scalar_promotion_is_torch_result_type(a: str, scalar: object) -> None:
    for shape in [(2,), ()]:
        x, tx = _pair(a, shape)
        assert str(cr.result_type(x, scalar)) == _torch_name(torch.result_type(tx, scalar)), (a, shape, scalar)
        if not (a == "bool" and isinstance(scalar, bool)):
            assert str((x * scalar).dtype) == _torch_name((tx * scalar).dtype)
            assert str((scalar * x).dtype) == _torch_name((scalar * tx).dtype)


@pytest.mark.parametrize("a", DTYPES)
def test_true_division_and_float_ops_give_the_default_float_for_integers(a: str) -> None:
    x, tx = _pair(a, (3,))
    assert str((x / 2).dtype) == _torch_name((tx / 2).dtype)
    if a != "float16":  # torch's float16 exp on CPU is fine, NumPy's too; both float16
        assert str(x.exp().dtype) == _torch_name(tx.exp().dtype)
        np.testing.assert_allclose(x.exp().numpy(), tx.exp().numpy(), rtol=1e-6)
    assert str(x.sum().dtype) == _torch_name(tx.sum().dtype)


def test_issue_examples_and_default_dtype() -> None:
    i32 = cr.tensor([1, 2], dtype=cr.int32)
    assert (i32 + 0.5).dtype == cr.float32 and (i32 + 1).dtype == cr.int32
    assert (cr.ones(2) ** cr.tensor([1, 2])).dtype == cr.float32
    assert cr.tensor([1, 2]).exp().dtype == cr.float32
    assert cr.tensor(np.zeros(2)).dtype == cr.float64 and cr.from_numpy(np.zeros(2, np.int16)).dtype == cr.int16
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor([0.5]).dtype == cr.float64 and (i32 + 0.5).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    with pytest.raises(TypeError, match="set_default_dtype: only floating-point types"):
        cr.set_default_dtype(cr.int64)


# ---------------------------------------------------------------------------- in-place ops and versions


def test_manual_sgd_step_under_no_grad_trains_in_place() -> None:
    """The line the issue found silently doing nothing: `p -= lr * p.grad` must update p itself."""
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    same = w
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with cr.no_grad():
            w -= 0.25 * w.grad
        w.grad = None
    assert w is same and w.requires_grad and w.is_leaf
    tw = torch.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(3):
        (tw * tw).sum().backward()
        with torch.no_grad():
            tw -= 0.25 * tw.grad
        tw.grad = None
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy())


INPLACE = [
    ("add_", lambda t: t.add_(2)), ("sub_", lambda t: t.sub_(1, alpha=3)), ("mul_", lambda t: t.mul_(3)),
    ("div_", lambda t: t.div_(4)), ("clamp_", lambda t: t.clamp_(-0.5, 0.5)), ("zero_", lambda t: t.zero_()),
    ("fill_", lambda t: t.fill_(7)), ("copy_", lambda t: t.copy_(t * 0 + 3)), ("iadd", lambda t: t.__iadd__(1)),
    ("isub", lambda t: t.__isub__(1)), ("imul", lambda t: t.__imul__(2)), ("itruediv", lambda t: t.__itruediv__(2)),
    ("setitem", lambda t: t.__setitem__(0, 9.0)), ("setitem_mask", lambda t: t.__setitem__(t > 0, 0.0)),
]


@pytest.mark.parametrize(("name", "op"), INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_ops_match_torch_and_keep_the_tensor(name: str, op: object) -> None:
    data = np.array([[0.25, -1.5], [2.0, -0.75]], dtype=np.float32)
    x, t = cr.tensor(data), torch.tensor(data)
    before = x._version[0] if x._version else 0
    result = op(x)
    op(t)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)
    assert result is None or result is x
    assert x._version is not None and x._version[0] > before  # the version counter moved


@pytest.mark.parametrize(("name", "op"), INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_on_a_leaf_that_requires_grad_is_an_error_outside_no_grad(name: str, op: object) -> None:
    x = cr.tensor([[0.25, -1.5], [2.0, -0.75]], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad is being used in an in-place operation"):
        op(x)
    with cr.no_grad():
        op(x)  # fine, as an optimizer's update


def test_modifying_a_saved_tensor_makes_backward_raise_naming_the_op() -> None:
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * b  # mul saves b
    b += 1
    with pytest.raises(RuntimeError, match=r"input 0 of op 'mul' .* was modified by an in-place operation"):
        c.sum().backward()
    ta = torch.tensor([1.0, 2.0], requires_grad=True)
    tb = ta * 2
    tc = tb * tb
    tb += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tc.sum().backward()


def test_modifying_a_saved_output_makes_backward_raise() -> None:
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    y.mul_(2)  # exp saves its output
    with pytest.raises(RuntimeError, match=r"output of op 'exp' was modified by an in-place operation"):
        y.sum().backward()


def test_inplace_on_a_non_leaf_records_the_op_as_torch_does() -> None:
    def run(lib: object, x0: object) -> tuple:
        h = x0 * 3
        h += x0 * x0
        h[0] = h[1] * 2
        h.mul_(0.5)
        h.sum().backward()
        return h.detach().numpy(), x0.grad.numpy()

    ours = run(cr, cr.tensor([1.0, 2.0, -1.0], requires_grad=True))
    theirs = run(torch, torch.tensor([1.0, 2.0, -1.0], requires_grad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_augmented_assignment_to_an_indexed_tensor_in_the_graph() -> None:
    """makemore's `dlogits[range(n), Yb] -= 1` on a softmax that requires grad, then a backward through it."""
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -0.3, 0.2]])
    rows, cols = range(2), [2, 0]

    def run(lib: object, lg: object) -> tuple:
        probs = lg.exp() / lg.exp().sum(1, keepdim=True)
        d = probs * 1.0
        d[rows, cols] -= 1
        (d * d).sum().backward()
        return d.detach().numpy(), lg.grad.numpy()

    ours = run(cr, cr.tensor(logits, requires_grad=True))
    theirs = run(torch, torch.tensor(logits, requires_grad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_grad_is_a_tensor_and_zero_grad_sets_none() -> None:
    model = cr.nn.Linear(3, 2)
    model(cr.ones(4, 3)).sum().backward()
    g = model.weight.grad
    assert isinstance(g, cr.Tensor) and g.shape == (2, 3)
    g.zero_()  # through the tensor: the parameter's gradient is zeroed too
    assert (model.weight.grad == 0).all()
    model.weight.grad += 1
    assert (model.weight.grad.data == 1).all()
    model.zero_grad()
    assert model.weight.grad is None
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None"):
        model.weight.grad = np.ones((2, 3), np.float32)


def test_data_is_a_tensor_outside_the_graph_that_shares_memory() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert isinstance(d, cr.Tensor) and not d.requires_grad
    d.mul_(3)  # the PyTorch idiom for an untracked update
    assert w.tolist() == [3.0, 6.0]
    w.data = cr.tensor([5.0])
    assert w.shape == (1,) and w.requires_grad
    w.data.normal_()  # init idiom


# ---------------------------------------------------------------------------- comparisons and logic


def test_comparisons_are_elementwise_bool_tensors_and_hash_is_identity() -> None:
    x, t = cr.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    y, u = cr.tensor([1, 0, 3]), torch.tensor([1, 0, 3])
    for f in [lambda a, b: a == b, lambda a, b: a != b, lambda a, b: a < b, lambda a, b: a <= b,
              lambda a, b: a > b, lambda a, b: a >= b, lambda a, b: (a > 1) & (b > 0), lambda a, b: (a > 1) | (b > 0),
              lambda a, b: ~(a == b), lambda a, b: (a == b) ^ (b > 0), lambda a, b: a == 2]:
        out, expected = f(x, y), f(t, u)
        assert isinstance(out, cr.Tensor) and out.dtype == cr.bool
        assert out.tolist() == expected.tolist()
    assert (x == y).sum().item() == 2 and (x == y).float().mean().item() == pytest.approx(2 / 3)
    assert (x == x).all().item() is True and (x == y).any().item() is True
    assert len({x, y, x}) == 2  # identity hash: tensors can be dict keys and set members
    nan = cr.tensor([1.0, float("nan"), float("inf")])
    assert nan.isnan().tolist() == [False, True, False] and nan.isfinite().tolist() == [True, False, False]
    with pytest.raises(TypeError, match="bitwise_and: only integer and bool tensors"):
        cr.ones(2) & cr.ones(2)


def test_accuracy_code_as_courses_write_it() -> None:
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5], [0.0, 0.2, 0.1]], dtype=np.float32)
    labels = np.array([1, 0, 0])
    out, y = cr.tensor(logits), cr.tensor(labels)
    _, predicted = cr.max(out, 1)
    assert (predicted == y).sum().item() == 2
    pred = out.argmax(dim=1, keepdim=True)
    assert pred.eq(y.view_as(pred)).sum().item() == 2
    values, indices = out.max(dim=1)
    tv, ti = torch.tensor(logits).max(dim=1)
    assert indices.dtype == cr.int64 and indices.tolist() == ti.tolist()
    np.testing.assert_allclose(values.numpy(), tv.numpy())


def test_max_with_dim_sends_the_gradient_to_the_chosen_element() -> None:
    data = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 5.0]])
    x, t = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    (x.max(1).values * cr.tensor([1.0, 2.0], dtype=cr.float64)).sum().backward()
    (t.max(1).values * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


# ---------------------------------------------------------------------------- autograd


def test_custom_function_in_pytorch_form_matches_torch() -> None:
    def make(lib: object) -> type:
        class Legendre3(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return 0.5 * (5 * x**3 - 3 * x)

            @staticmethod
            def backward(ctx, grad_output):
                (x,) = ctx.saved_tensors
                return grad_output * 1.5 * (5 * x**2 - 1)

        return Legendre3

    data = np.linspace(-1, 1, 5)
    x, t = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, u = make(cr).apply(x), make(torch).apply(t)
    np.testing.assert_allclose(y.detach().numpy(), u.detach().numpy())
    (y * y).sum().backward()
    (u * u).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
    assert "Legendre3" in repr(y.grad_fn)


def test_custom_function_returning_too_few_gradients_is_an_error() -> None:
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    a, b = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward returned 1 gradient\(s\) but forward took 2 input"):
        Bad.apply(a, b).sum().backward()


def test_autograd_grad_retain_grad_and_next_functions() -> None:
    w, tw = cr.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    h, th = (w * 3).tanh(), (tw * 3).tanh()
    h.retain_grad()
    th.retain_grad()
    (gw,) = cr.autograd.grad((h * h).sum(), w, retain_graph=True)
    (tgw,) = torch.autograd.grad((th * th).sum(), tw, retain_graph=True)
    np.testing.assert_allclose(gw.numpy(), tgw.numpy(), rtol=1e-5)  # float32: tanh' rounds differently
    assert w.grad is None  # autograd.grad leaves .grad alone
    loss = (h * h).sum()
    loss.backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), th.grad.numpy(), rtol=1e-5)
    nodes, node = [], loss.grad_fn
    while node is not None and hasattr(node, "next_functions"):
        nodes.append(node)
        node = node.next_functions[0][0] if node.next_functions else None
    assert [repr(n) for n in nodes[:3]] == ["<SumBackward>", "<MulBackward>", "<TanhBackward>"]
    assert type(node).__name__ == "AccumulateGrad" and node.variable is w


# ---------------------------------------------------------------------------- exceptions and devices

ERRORS = [
    ("dim out of range", lambda m: m.ones(2, 3).sum(dim=5), IndexError),
    ("matmul shapes", lambda m: m.ones(2, 3) @ m.ones(4, 5), RuntimeError),
    ("reshape size", lambda m: m.ones(2, 3).reshape(4, 2), RuntimeError),
    ("cat shapes", lambda m: m.cat([m.ones(2, 3), m.ones(3, 4)], 1), RuntimeError),
    ("item of many", lambda m: m.ones(2).item(), RuntimeError),
    ("bool of many", lambda m: bool(m.ones(2)), RuntimeError),
    ("int requires grad", lambda m: m.ones(2, dtype=m.int64).requires_grad_(), RuntimeError),
    ("backward without graph", lambda m: m.ones(2).sum().backward(), RuntimeError),
]


@pytest.mark.parametrize(("name", "fn", "kind"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_pytorchs_types_and_chainrules_value_errors(name: str, fn: object, kind: type) -> None:
    with pytest.raises(kind):
        fn(torch)
    with pytest.raises(kind) as caught:
        fn(cr)
    assert isinstance(caught.value, ValueError | TypeError)  # and chainrule's own kind, with its message


def test_devices_are_cpu_and_anything_else_says_so() -> None:
    x = cr.ones(2)
    assert x.to("cpu") is x and x.cpu() is x and str(x.device) == "cpu" and x.device == cr.device("cpu")
    assert x.to(cr.float64).dtype == cr.float64 and x.to("cpu", dtype=cr.int64).dtype == cr.int64
    with pytest.raises(RuntimeError, match=r"chainrule runs on the CPU only \(NumPy\), so device 'cuda'"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="chainrule runs on the CPU only"):
        cr.tensor([1.0], device="cuda:0")


def test_interchange_with_numpy_and_torch_shares_memory() -> None:
    x = cr.tensor([1.0, 2.0, 3.0])
    assert np.shares_memory(np.asarray(x), x.numpy())
    t = torch.from_dlpack(x)  # DLPack: no copy
    t[0] = 7.0
    assert x[0].item() == 7.0
    assert torch.from_numpy(np.asarray(x)).tolist() == [7.0, 2.0, 3.0]
    back = cr.from_numpy(t.numpy())
    assert np.shares_memory(back.numpy(), t.numpy())


def test_missing_pytorch_apis_say_so() -> None:
    with pytest.raises(AttributeError, match=r"torch.fft is not available in chainrule"):
        cr.fft  # noqa: B018
    assert not hasattr(cr, "fft")  # hasattr stays a plain False


def test_zero_grad_defaults_to_none_for_modules_and_optimizers() -> None:
    model = cr.nn.Linear(2, 1)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    model(cr.ones(3, 2)).sum().backward()
    opt.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None
    model(cr.ones(3, 2)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is not None and (model.weight.grad == 0).all()
