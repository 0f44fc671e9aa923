"""The backward pass itself: accumulation, deep graphs, freeing, grad mode, hooks, aliasing, dtypes, Tensor basics."""

from __future__ import annotations

import gc
import time
import weakref

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.engine import autograd, ops


def _pair(data: object) -> tuple[cr.Tensor, torch.Tensor]:
    """The same float64 leaf in chainrule and torch."""
    array = np.asarray(data, dtype=np.float64)
    return cr.tensor(array, dtype=np.float64, requires_grad=True), torch.tensor(array, requires_grad=True)


# ---------------------------------------------------------------------------- accumulation


def test_x_times_x_gives_two_x() -> None:
    x = cr.tensor([1.5, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


@pytest.mark.parametrize(
    "name, fn",
    [
        # y feeds two branches that meet again: a diamond
        ("diamond", lambda x: (lambda y: (y.tanh() * y.exp() + y**2).sum())(x * 3)),
        ("two_branches", lambda x: (x.exp() + x.sigmoid() * x).sum()),
        ("reused_many_times", lambda x: (x * x * x + x / (x * x + 1)).sum()),
        ("branch_through_reshape", lambda x: (x.reshape(3, 1) * x + x.sum()).sum()),
    ],
)
def test_gradients_from_several_paths_add_up_like_torch(name: str, fn: object) -> None:
    x, t = _pair([0.3, -0.7, 1.1])
    fn(x).backward()
    fn(t).backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_grad_accumulates_across_backward_calls() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 + 2 * x.data)
    x.zero_grad()
    assert x.grad is None


# ---------------------------------------------------------------------------- big and freed graphs


def test_a_chain_of_100000_ops_needs_no_recursion_and_is_fast() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    start = time.perf_counter()
    y = x
    for _ in range(100_000):
        y = -y  # the cheapest op: the test is about graph depth, not arithmetic
    y.sum().backward()
    elapsed = time.perf_counter() - start
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    assert elapsed < 30, f"100,000 ops took {elapsed:.1f} s forward and backward"
    del y  # dropping a long unfreed chain must not overflow the C stack either
    z = x
    for _ in range(100_000):
        z = -z
    del z


def test_backward_frees_the_graph_and_a_second_backward_is_a_clear_error() -> None:
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    hidden = x.exp()
    watch = weakref.ref(hidden)
    loss = (hidden * 2).sum()
    del hidden
    loss.backward()
    gc.collect()
    assert watch() is None, "an intermediate tensor outlived backward()"
    assert loss.grad_fn is not None and not loss.grad_fn.__dict__, "saved arrays were kept after backward()"
    with pytest.raises(RuntimeError, match=r"backward: the graph through op 'sum' was already freed.*retain_graph"):
        loss.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates() -> None:
    logits = cr.tensor([[1.0, -1.0, 0.5], [0.2, 0.1, -0.3]], dtype=np.float64, requires_grad=True)
    loss = (ops.CrossEntropy.apply(logits, np.array([0, 2]), 0.1, "mean") + logits.tanh().sum()) * 1.5
    loss.backward(retain_graph=True)
    first = logits.grad.clone()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(logits.grad, 2 * first, rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(logits.grad, 3 * first, rtol=1e-12)


def test_two_losses_sharing_a_subgraph_and_backward_from_an_intermediate() -> None:
    x, t = _pair([0.5, -1.0, 2.0])
    for leaf in (x, t):
        hidden = leaf * 2
        first, second = hidden.sum(), (hidden * hidden).sum()
        first.backward(retain_graph=True)
        second.backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy())
    y = x.exp()
    z = y * 3  # built but not part of the backward below
    x.grad = None
    y.backward(np.ones(3))
    np.testing.assert_allclose(x.grad, np.exp(x.data))
    assert z.grad_fn is not None


def test_ops_recorded_after_a_graph_is_built_still_run_in_order() -> None:
    x, t = _pair([0.3, 0.6])
    for leaf in (x, t):
        early = leaf * 2
        late_leaf_use = leaf.exp()  # created after `early`, used before it below
        (late_leaf_use * early + early.tanh()).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy())


# ---------------------------------------------------------------------------- grad mode, detach, backward misuse


def test_no_grad_records_nothing_and_enable_grad_turns_it_back_on() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = (x * 2).exp()
        with cr.enable_grad():
            z = x * 2
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_is_restored_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError), cr.no_grad():
        1 / 0  # noqa: B018
    assert cr.is_grad_enabled()


def test_detach_shares_data_and_stops_gradients() -> None:
    x = cr.tensor([1.0, 3.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.data, x.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, x.data)  # d is a constant: only one path counts


def test_backward_on_a_non_scalar_needs_a_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"backward: grad can be implicitly created only for a tensor with one"):
        (x * 2).backward()
    y = x * 2
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0])


# ---------------------------------------------------------------------------- hooks


def test_tensor_hook_sees_the_gradient_can_replace_it_and_can_be_removed() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    hidden = x * 3
    handle = hidden.register_hook(lambda g: seen.append(g.clone()))
    doubling = hidden.register_hook(lambda g: g * 2)
    (hidden * hidden).sum().backward(retain_graph=True)
    np.testing.assert_allclose(seen[0], 2 * hidden.data)
    np.testing.assert_allclose(x.grad, 2 * (2 * hidden.data) * 3)
    handle.remove()
    doubling.remove()
    x.zero_grad()
    (hidden * hidden).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(x.grad, 2 * hidden.data * 3)


def test_hook_on_a_leaf_sees_its_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(seen.append)
    (x * 5).sum().backward()
    np.testing.assert_array_equal(seen[0], [5.0, 5.0])


class CountingHook:
    def __init__(self) -> None:
        self.forward: list[str] = []
        self.backward: list[str] = []

    def on_forward(self, fn: cr.Function, inputs: tuple, output: cr.Tensor) -> None:
        self.forward.append(fn.name)

    def on_backward(self, fn: cr.Function, grad_output: np.ndarray, grad_inputs: tuple) -> None:
        self.backward.append(fn.name)


def test_op_hook_sees_every_forward_and_backward_once_and_removal_stops_it() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    hook = CountingHook()
    handle = cr.register_op_hook(hook)
    try:
        loss = (x.exp() * x).sum()
        loss.backward()
    finally:
        handle.remove()
    assert hook.forward == ["exp", "mul", "sum"]
    assert hook.backward == ["sum", "mul", "exp"]
    (x * 2).sum().backward()
    assert len(hook.forward) == 3 and len(hook.backward) == 3
    assert autograd._op_hooks == [], "no hook left registered: the hot path tests an empty list only"
    handle.remove()  # removing twice is harmless


def test_op_hook_as_context_manager_and_in_no_grad() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    hook = CountingHook()
    with cr.register_op_hook(hook), cr.no_grad():
        x * 2 + 1
    assert hook.forward == ["mul", "add"] and hook.backward == []
    assert autograd._op_hooks == []


# ---------------------------------------------------------------------------- aliasing


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: x + y,
        lambda x, y: x - y,
        lambda x, y: cr.stack([x, y]),
        lambda x, y: cr.cat([x, y]),
        lambda x, y: (x + y) * 2,
        lambda x, y: x.expand(2, 3) + y,
    ],
    ids=["add", "sub", "stack", "cat", "add_then_mul", "expand_add"],
)
def test_leaf_grads_are_never_shared_arrays(fn: object) -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([4.0, 5.0, 6.0], requires_grad=True)
    out = fn(x, y)
    seed = np.ones(out.shape, dtype=np.float32)
    out.backward(seed)
    before = y.grad.clone()
    x.grad += 100
    seed += 100
    np.testing.assert_array_equal(y.grad, before)
    assert x._grad.flags.writeable and y._grad.flags.writeable


def test_a_leaf_grad_does_not_alias_the_seed_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0], dtype=np.float32)
    x.backward(seed)
    seed[0] = 7
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


# ---------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "constant",
    [2.5, 3, np.float64(2.5), np.array(2.5), np.array([2.5, 0.5]), np.float32(2.5), [2.5, 0.5]],
    ids=["python_float", "python_int", "np_float64", "0d_float64_array", "float64_array", "np_float32", "list"],
)
def test_float32_with_any_constant_follows_torch_promotion(constant: object) -> None:
    """A float32 tensor meets numbers and arrays as PyTorch's promotion says: it stays float32 except against a
    float64 array with dimensions, which ranks as a float64 tensor (a list is made into a tensor first)."""
    t_constant = torch.as_tensor(constant) if isinstance(constant, np.ndarray | list) else constant
    expected = torch.result_type(torch.ones(2), t_constant)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    outs = [x + constant, constant + x, x * constant, constant - x, x / constant, constant / x, x**constant,
            cr.maximum(x, constant), cr.where(x.data > 1, x, constant)]
    for out in outs:
        assert str(out.dtype) == str(expected).removeprefix("torch."), out
    sum(out.sum() for out in outs).backward()
    assert x.grad.dtype == np.float32


def test_float32_defaults_and_reductions() -> None:
    assert cr.tensor([1.0]).dtype == np.float32
    assert cr.tensor(np.float64(1.0)).dtype == np.float64  # NumPy values keep their dtype, as torch.tensor
    assert cr.tensor(np.zeros(2)).dtype == np.float64
    assert cr.tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert cr.tensor([1, 2]).dtype == np.int64
    x = cr.tensor(np.arange(6.0).reshape(2, 3), dtype=cr.float32, requires_grad=True)
    for out in [x.mean(), x.mean(axis=0), x.var(), x.sum(), x.logsumexp(axis=1), x.softmax(), x.max()]:
        assert out.dtype == np.float32
    x.mean().backward()
    assert x.grad.dtype == np.float32


def test_float64_stays_float64() -> None:
    x = cr.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    out = ((x * 2.5 + np.float32(1)) / 3).exp().mean() + x.var() + x.softmax()[0]
    assert out.dtype == np.float64
    out.backward()
    assert x.grad.dtype == np.float64


def test_astype_is_differentiable_between_float_types() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


# ---------------------------------------------------------------------------- randomness and Tensor basics


def test_manual_seed_makes_random_draws_reproducible() -> None:
    cr.manual_seed(7)
    a, b = cr.randn(3, 2), cr.rand(4)
    cr.manual_seed(7)
    np.testing.assert_array_equal(cr.randn(3, 2).data, a.data)
    np.testing.assert_array_equal(cr.rand(4).data, b.data)
    generator = cr.manual_seed(8)
    assert cr.get_generator() is generator
    assert not np.array_equal(cr.randn(3, 2).data, a.data)
    assert a.dtype == np.float32


def test_numpy_interop_len_repr_item() -> None:
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    array = np.asarray(x)
    assert array is x._data and x.detach().numpy() is x._data
    with pytest.raises(RuntimeError, match=r"numpy\(\): can't call numpy\(\) on a tensor that requires grad"):
        x.numpy()
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.array(x).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert len(x) == 2
    with pytest.raises(TypeError, match=r"len\(\) of a 0-d tensor"):
        len(cr.tensor(1.0))
    assert repr(x) == "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)"
    assert repr(x.sum()) == "tensor(10., grad_fn=<SumBackward>)"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"  # int64 and bool go without a dtype, as in torch
    assert repr(cr.tensor([1, 2], dtype=cr.int32)) == "tensor([1, 2], dtype=int32)"
    assert x.sum().item() == 10.0 and isinstance(x.sum().item(), float)
    assert float(x[1, 1]) == 4.0 and int(x[0, 1]) == 2
    with pytest.raises(ValueError, match=r"item\(\): a Tensor with 4 elements cannot be converted to a Python scalar"):
        x.item()
    assert x.shape == (2, 2) and x.ndim == 2 and x.numel() == 4 and x.size(1) == 2 and x.dim() == 2


def test_iterating_gives_rows_that_carry_gradient() -> None:
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    (rows[0] * rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[3.0, 4.0], [1.0, 2.0]])
    with pytest.raises(TypeError, match=r"iter\(\): iteration over a 0-d tensor"):
        list(cr.tensor(1.0))


def test_clone_copies_memory_and_keeps_the_graph() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    copy = x.clone()
    copy.data[0] = 5.0
    assert x.data[0] == 1.0
    (copy * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    assert not np.shares_memory(cr.tensor([1.0]).clone().data, x.data)


def test_casting_to_an_integer_type_leaves_the_graph() -> None:
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    as_int = x.astype(np.int64)
    assert as_int.dtype == np.int64 and not as_int.requires_grad and as_int.tolist() == [1, 2]


def test_indexing_with_an_empty_list_selects_nothing() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    empty = x[[]]
    assert empty.shape == (0,)
    (empty.sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_tensor_copies_numpy_input_and_from_numpy_shares_it() -> None:
    array = np.array([1.0, 2.0], dtype=np.float32)
    assert not np.shares_memory(cr.tensor(array).data, array)
    assert np.shares_memory(cr.from_numpy(array).data, array)


def test_comparisons_give_boolean_tensors_without_gradient() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert mask.tolist() == [False, True, True]
    assert (x <= 2).tolist() == [True, True, False]
    assert x.eq(2.0).tolist() == [False, True, False]


def test_power_zero_has_zero_gradient_at_zero_like_torch():
    x = cr.tensor([0.0, 2.0], dtype=np.float64, requires_grad=True)
    (x**0).sum().backward()
    xt = torch.tensor([0.0, 2.0], dtype=torch.float64, requires_grad=True)
    (xt**0).sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
