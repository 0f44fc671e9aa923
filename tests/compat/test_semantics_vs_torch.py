"""PyTorch semantics that chainrule once got silently wrong, each row run on real torch and on chainrule.

Every row is a function of the library (``torch`` or ``chainrule``) written the way PyTorch code is written; both
runs must give the same result: tensors compared by shape, dtype and values (gradients included, as the rows
return them), other values exactly. Where PyTorch raises, chainrule must raise an error of PyTorch's type (its own
class subclasses it). Where PyTorch warns, chainrule must warn with the same category. The rows came from a
differential hunt (course-style programs and a table of ~1,000 snippets run under both); 91 of the first
104 failed on the code before their fixes (the other thirteen are controls, cases next to them that were
already right): wrong index order, a byte mask read as positions, gradients through a saved tensor changed in
place, the legacy ``Tensor(...)`` constructor, dtype promotion in clamp and cat, a ``view`` that silently copied,
``inplace=True`` ignored, integer division by zero returning 0, ``dim=()`` reducing nothing, ``state_dict``
values that were copies, ``clip_grad_norm_`` returning a float, shape errors that were not RuntimeErrors,
and missing pieces (``size=``, ``new_zeros``,
``div(rounding_mode=)``, ``pad_sequence``, ``MultiStepLR``, ``LambdaLR``, ``inference_mode``, ``set_grad_enabled``,
``@no_grad`` without parentheses, ``index_put_``, ``bincount``, ``diag``, ``nonzero``, ``unique``, ``meshgrid``,
``F.normalize``, ``FloatTensor``, ...). Three rows came later (2026-12-02) and fail on 7bba906: grad mode
shared by every thread (a playground tab's no_grad stopped another tab's training) and ``nan_to_num``.
"""

from __future__ import annotations

import copy
import threading
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional

# ---------------------------------------------------------------------------- indexing


def _x(m):
    return m.arange(24.0).reshape(2, 3, 4)


def _index_grad(index):
    """x[index] with a gradient: the values, and where a weighted sum's gradient lands."""

    def row(m):
        x = _x(m).requires_grad_()
        y = x[index(m)]
        (y * m.arange(float(y.numel())).reshape(y.shape)).sum().backward()
        return y, x.grad

    return row


def _setitem(index, shape):
    """x[index] = v on a plain tensor and on one in a graph (the gradients of both sides)."""

    def row(m):
        plain = m.zeros(2, 3, 4)
        plain[index] = m.arange(float(np.prod(shape))).reshape(shape)
        a = m.zeros(2, 3, 4, requires_grad=True)
        v = m.ones(shape, requires_grad=True)
        b = a * 1
        b[index] = v * 2
        (b * m.arange(24.0).reshape(2, 3, 4)).sum().backward()
        return plain, a.grad, v.grad

    return row


INDEXING = [
    ("int, ..., list", _index_grad(lambda m: (0, ..., [0, 1]))),
    ("int, None, list", _index_grad(lambda m: (0, None, [1, 2]))),
    ("..., int, list", _index_grad(lambda m: (..., 0, [1, 2]))),
    ("None, int, :, list", _index_grad(lambda m: (None, 0, slice(None), [1, 2]))),
    ("list, int, list", _index_grad(lambda m: ([1, 0], 0, [1, 2]))),
    ("list, :, int", _index_grad(lambda m: ([1, 0], slice(None), 0))),
    ("2-d mask, int", _index_grad(lambda m: (m.tensor([[True, False, True], [False, True, True]]), 1))),
    ("0-d tensor, :, list", _index_grad(lambda m: (m.tensor(0), slice(None), [1, 2]))),
    ("list, :, 0-d tensor", _index_grad(lambda m: ([1, 0], slice(None), m.tensor(1)))),
    ("int, ..., repeated list", _index_grad(lambda m: (0, ..., [1, 1, 3]))),
    ("setitem int, ..., list", _setitem((0, ..., [0, 1]), (3, 2))),
    ("setitem int, None, list", _setitem((0, None, [1, 2]), (1, 2, 4))),
    ("setitem list, :, int", _setitem(([1, 0], slice(None), 0), (2, 3))),
]

# PyTorch warns about these two legacy forms and still reads them its old way
WARNED_INDEXING = [
    ("a uint8 tensor is a mask", _index_grad(lambda m: m.tensor([1, 0], dtype=m.uint8))),
    ("a list of 0-d tensors is a tuple", _index_grad(lambda m: [m.tensor(0), m.tensor(1)])),
    ("a list of lists is a tuple", _index_grad(lambda m: [[0, 1], [1, 2]])),
    ("a list holding a list is a tuple", _index_grad(lambda m: [0, [1, 2]])),
]

# ---------------------------------------------------------------------------- autograd


def _function_saved_changed(m):
    class Square(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    a = m.ones(2, requires_grad=True)
    b = a * 1
    y = Square.apply(b)
    b.add_(1)  # after save_for_backward: backward would read the new values
    y.sum().backward()
    return a.grad


def _exp_saving_its_output(m):
    class Exp(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return y * g

    return Exp


def _function_output_saved_changed(m):
    a = m.ones(2, requires_grad=True)
    y = _exp_saving_its_output(m).apply(a)
    y.mul_(2)  # the returned tensor is the one forward saved
    y.sum().backward()
    return a.grad


def _function_unchanged(m):
    a = m.tensor([0.5, 1.0], requires_grad=True)
    (_exp_saving_its_output(m).apply(a) * 2).sum().backward()
    return a.grad


def _grad_modes(m):
    x = m.ones(2, requires_grad=True)

    @m.no_grad
    def bare():
        return (x * 2).requires_grad

    @m.inference_mode()
    def inference():
        return (x * 2).requires_grad

    @m.set_grad_enabled(False)
    def disabled():
        return (x * 2).requires_grad

    seen = [bare(), inference(), disabled(), (x * 2).requires_grad]
    with m.inference_mode(False):
        seen.append((x * 2).requires_grad)
    m.set_grad_enabled(False)  # a plain call sets the mode until changed
    seen.append((x * 2).requires_grad)
    m.set_grad_enabled(True)
    with m.set_grad_enabled(False):
        seen.append((x * 2).requires_grad)
    seen.append(m.is_grad_enabled())
    return seen


def _grad_mode_is_per_thread(m):
    """PyTorch's grad mode belongs to a thread: a no_grad block in one thread leaves another thread recording."""
    x = m.ones(2, requires_grad=True)
    seen = {}
    main_in_no_grad, other_in_no_grad, main_left = threading.Event(), threading.Event(), threading.Event()

    def other():
        main_in_no_grad.wait()
        seen["other, main in no_grad"] = (x * 2).requires_grad
        with m.no_grad():
            other_in_no_grad.set()
            main_left.wait()
            seen["other in no_grad, main left its own"] = (x * 2).requires_grad
        seen["other after"] = (x * 2).requires_grad

    thread = threading.Thread(target=other)
    thread.start()
    with m.no_grad():
        main_in_no_grad.set()
        other_in_no_grad.wait()
    seen["main after"] = (x * 2).requires_grad
    main_left.set()
    thread.join()
    seen["main after the other's block"] = (x * 2).requires_grad
    return seen


def _grad_mode_decorator_in_two_threads(m):
    """One @no_grad function running in two threads at once, one of them already in no_grad: each thread gets its
    own mode back when the call returns, whichever returns first."""
    x = m.ones(2, requires_grad=True)
    inside = threading.Barrier(2)
    first_out = threading.Event()
    seen = {}

    @m.no_grad()
    def wait_inside(first):
        inside.wait()
        if not first:
            first_out.wait()

    def recording():
        wait_inside(True)
        seen["recording thread after the call"] = (x * 2).requires_grad
        first_out.set()

    def not_recording():
        m.set_grad_enabled(False)
        wait_inside(False)
        seen["no_grad thread after the call"] = (x * 2).requires_grad

    threads = [threading.Thread(target=recording), threading.Thread(target=not_recording)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def _nan_to_num(m):
    x = m.tensor([float("nan"), float("inf"), -float("inf"), 1.5], requires_grad=True)
    y = x.nan_to_num()
    (y * m.tensor([1.0, 0.0, 0.0, 2.0])).sum().backward()  # (inf · 0 would be NaN: the replaced values' weights are 0)
    return y, x.grad, m.nan_to_num(x.detach(), nan=1.0, posinf=2.0, neginf=-3.0), m.tensor([1, 2]).nan_to_num()


def _data_is_not_counted(m):
    a = m.ones(2, requires_grad=True)
    b = a * 1
    c = b.sin()
    b.data.add_(1)  # .data: untracked and uncounted, so backward runs (with the new values, as PyTorch's does)
    c.sum().backward()
    return a.grad


def _detach_is_counted(m):
    a = m.ones(2, requires_grad=True)
    b = a * 1
    c = b.sin()
    b.detach().add_(1)  # .detach() shares the version counter: backward refuses
    c.sum().backward()
    return a.grad


AUTOGRAD = [
    (".data changes are not counted", _data_is_not_counted),
    (".detach() changes are counted", _detach_is_counted),
    ("Function: a saved input changed in place raises", _function_saved_changed),
    ("Function: its saved output changed in place raises", _function_output_saved_changed),
    ("Function: saved output unchanged", _function_unchanged),
    ("grad modes: decorators, inference_mode, set_grad_enabled", _grad_modes),
    ("grad mode belongs to a thread", _grad_mode_is_per_thread),
    ("a grad-mode decorator in two threads at once", _grad_mode_decorator_in_two_threads),
    ("nan_to_num: values, gradient 0 where replaced, ints kept", _nan_to_num),
]

# ---------------------------------------------------------------------------- creation, dtypes, shapes


def _view_writes_through(m):
    x = m.arange(12.0).view(3, 4)
    v = x.view(2, 6)
    v[0, 0] = 100
    return x


DTYPES_AND_SHAPES = [
    ("Tensor(list of ints) is float32", lambda m: m.Tensor([1, 2])),
    ("Tensor(int array) is float32", lambda m: m.Tensor(np.array([[1, 2], [3, 4]]))),
    ("Tensor(2, 3) is a shape", lambda m: m.Tensor(2, 3).shape),
    ("Tensor() is empty", lambda m: m.Tensor()),
    ("Tensor(dtype=...) raises", lambda m: m.Tensor([1], dtype=m.float64)),
    ("Tensor(a number) raises", lambda m: m.Tensor(3.5)),
    ("clamp of ints stays int", lambda m: m.tensor([-2, 0, 3]).clamp(-1, 1)),
    ("clamp of ints by floats is float32", lambda m: m.tensor([-2, 0, 3]).clamp(-1.5, 1.5)),
    ("clamp_ of ints in place", lambda m: m.tensor([-2, 0, 3]).clamp_(0, 2)),
    ("clamp of bools by ints is int64", lambda m: m.tensor([True, False]).clamp(0, 1)),
    ("cat int64 with float32", lambda m: m.cat([m.tensor([1]), m.tensor([2.5])])),
    ("stack int64 with float32", lambda m: m.stack([m.tensor(1), m.tensor(2.5)])),
    ("int // 0 raises", lambda m: m.tensor([1]) // 0),
    ("int % 0 raises", lambda m: m.tensor([5, 3]) % m.tensor([2, 0])),
    ("float % 0 is NaN", lambda m: m.tensor([5.0]) % 0),
    ("sum(dim=()) reduces everything", lambda m: m.arange(6.0).view(2, 3).sum(dim=())),
    ("amax(dim=()) reduces everything", lambda m: m.arange(6.0).view(2, 3).amax(dim=())),
    ("softmax of ints raises", lambda m: m.tensor([1, 2]).softmax(0)),
    ("view of a transpose raises", lambda m: m.arange(12.0).view(3, 4).t().view(12)),
    ("view of a column slice raises", lambda m: m.arange(12.0).view(3, 4)[:, :2].view(6)),
    ("view of a row slice is a view", lambda m: m.arange(12.0).view(3, 4)[1:].view(8)),
    ("contiguous() then view", lambda m: m.arange(12.0).view(3, 4).t().contiguous().view(12)),
    ("is_contiguous", lambda m: (m.zeros(3, 4).t().is_contiguous(), m.zeros(3, 4).is_contiguous())),
    ("a view writes through", _view_writes_through),
    ("rand(size=...)", lambda m: m.rand(size=(1, 1, 8, 8)).shape),
    ("zeros(size=..., dtype=...)", lambda m: m.zeros(size=(2, 3), dtype=m.int64)),
    ("new_zeros and kin keep the dtype", lambda m: [m.zeros(3, dtype=m.float64).new_zeros(1, 4, 3),
                                                    m.zeros(3, dtype=m.float64).new_full((2,), 7),
                                                    m.zeros(3, dtype=m.float64).new_tensor([1, 2])]),
    ("div(rounding_mode=)", lambda m: [m.div(m.tensor([-7.0, 5.0, -0.5]), 2, rounding_mode="floor"),
                                       m.div(m.tensor([-7.0, 5.0, -0.5]), 2, rounding_mode="trunc"),
                                       m.tensor([-7, 7]).div(2, rounding_mode="trunc")]),
    ("add(alpha=), sub(alpha=)", lambda m: [m.add(m.ones(2), m.ones(2), alpha=2), m.sub(m.ones(2), 1, alpha=3)]),
    ("logsumexp(dim=)", lambda m: m.logsumexp(m.arange(6.0).view(2, 3), dim=1)),
    ("std(False): the unbiased overload", lambda m: m.arange(6.0).std(False)),
    # shape errors are PyTorch's RuntimeError (and still chainrule's ValueError)
    ("view(-1, -1) raises", lambda m: m.zeros(2, 3).view(-1, -1)),
    ("permute with a repeated dim raises", lambda m: m.zeros(2, 3).permute(0, 0)),
    ("expand to fewer dims raises", lambda m: m.zeros(2, 3).expand(3)),
    ("topk beyond the size raises", lambda m: m.zeros(2, 3).topk(5)),
    ("mm of mismatched shapes raises", lambda m: m.mm(m.zeros(2, 3), m.zeros(2, 3))),
    ("dot of different lengths raises", lambda m: m.dot(m.zeros(2), m.zeros(3))),
    ("gather with a larger index raises", lambda m: m.zeros(2, 3).gather(1, m.zeros(3, 3, dtype=m.long))),
    ("tril of a vector raises", lambda m: m.zeros(3).tril()),
    ("unflatten to the wrong sizes raises", lambda m: m.zeros(2, 3).unflatten(1, (2, 2))),
    ("clamp with no bounds raises", lambda m: m.zeros(2).clamp()),
    ("t() of a 3-d tensor raises", lambda m: m.zeros(2, 3, 4).t()),
    ("expand of a non-1 size raises", lambda m: m.tensor([1.0, 2.0]).expand(3, 3)),
    ("split sizes that do not add up raise", lambda m: m.arange(10).split([3, 6])),
    ("gather out of bounds raises", lambda m: m.ones(2, 2).gather(1, m.tensor([[0], [2]]))),
    ("x[i] = v of the wrong shape raises", lambda m: m.zeros(3, 4).__setitem__(0, m.ones(3))),
    ("mean of ints raises", lambda m: m.tensor([1, 2, 3]).mean()),
    ("norm of ints raises", lambda m: m.tensor([3, 4]).norm()),
    ("masked_fill with an int mask raises", lambda m: m.zeros(3).masked_fill(m.tensor([1, 0, 1]), 1.0)),
    ("bool - bool raises", lambda m: m.tensor([True]) - m.tensor([False])),
    ("softmax of a row all -inf is NaN", lambda m: m.tensor([[-float("inf")] * 3, [0.0, 1.0, 2.0]]).softmax(-1)),
]

# ---------------------------------------------------------------------------- nn


def _relu_inplace_grad(m):
    a = m.tensor([-1.0, 2.0], requires_grad=True)
    b = a * 1
    m.nn.functional.relu(b, inplace=True)  # b itself becomes relu(b), in the graph
    b.sum().backward()
    return a.grad


def _module_inplace(m):
    model = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.ReLU(inplace=True))
    seen = []
    model[0].register_forward_hook(lambda module, args, out: seen.append(out))
    y = model(m.ones(4, 2))
    return seen[0] is y, bool((seen[0] >= 0).all())


def _activations_inplace(m):
    x = m.tensor([-2.0, 0.5, 3.0])
    m.nn.LeakyReLU(0.1, inplace=True)(x)
    m.nn.Hardtanh(inplace=True)(x)
    m.nn.functional.elu(x, inplace=True)
    m.nn.functional.silu(x, inplace=True)
    return x


def _relu6_inplace_grad(m):
    a = m.tensor([-1.0, 2.0, 3.5], requires_grad=True)
    b = a * 2
    y = m.nn.ReLU6(inplace=True)(b)
    (y * m.tensor([1.0, 2.0, 3.0])).sum().backward()
    return a.grad, y is b


def _dropout_inplace(m):
    x = m.ones(1000)
    y = m.nn.Dropout(0.5, inplace=True)(x)
    return y is x, sorted(set(x.tolist()))


def _state_dict_aliases(m):
    m.manual_seed(0)
    model = m.nn.Sequential(m.nn.Linear(2, 2), m.nn.BatchNorm1d(2))
    model.state_dict()["0.weight"].copy_(m.ones(2, 2))  # the forum's weight-transfer recipe
    kept, snapshot = model.state_dict(), copy.deepcopy(model.state_dict())
    optimizer = m.optim.SGD(model.parameters(), lr=0.1)
    loss = model(m.arange(8.0).reshape(4, 2)).pow(2).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return (m.equal(kept["0.weight"], model[0].weight), m.equal(kept["1.running_mean"], model[1].running_mean),
            snapshot["0.weight"], int(kept["1.num_batches_tracked"]), kept["0.weight"].requires_grad)


def _schedules(m):
    w = m.zeros(1, requires_grad=True)
    optimizer = m.optim.SGD([w], lr=0.1)
    steps = m.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[5, 2, 5], gamma=0.3)
    lrs = []
    for _ in range(7):
        optimizer.step()
        steps.step()
        lrs.append(round(steps.get_last_lr()[0], 10))
    optimizer = m.optim.SGD([{"params": [w]}, {"params": [m.zeros(1, requires_grad=True)], "lr": 1.0}], lr=0.1)
    warmup = m.optim.lr_scheduler.LambdaLR(optimizer, [lambda e: 0.9 ** e, lambda e: min(1.0, (e + 1) / 4)])
    for _ in range(5):
        optimizer.step()
        warmup.step()
        lrs.append([round(lr, 10) for lr in warmup.get_last_lr()])
    return lrs


def _clip_inf_string(m):
    w = m.tensor([1.0, -5.0, 2.0], requires_grad=True)
    (w * m.tensor([1.0, -5.0, 2.0])).sum().backward()
    total = m.nn.utils.clip_grad_norm_([w], max_norm=1.0, norm_type="inf")
    return float(total), w.grad


def _clip_returns_a_tensor(m):
    w = m.tensor([3.0, 4.0], requires_grad=True)
    (w * w / 2).sum().backward()
    norm = m.nn.utils.clip_grad_norm_([w], 1.0)
    return norm, norm.item(), w.grad


def _pad_sequence(m):
    from importlib import import_module

    pad = import_module(f"{m.__name__}.nn.utils.rnn").pad_sequence
    a, b = m.tensor([1.0, 2.0, 3.0], requires_grad=True), m.tensor([4.0], requires_grad=True)
    padded = pad([a, b], batch_first=True, padding_value=-1)
    (padded * m.arange(6.0).view(2, 3)).sum().backward()
    left = pad([m.ones(2, 3), m.ones(1, 3)], padding_side="left")
    return pad([a, b]), padded, left, a.grad, b.grad


def _step_lr_float_step(m):
    optimizer = m.optim.SGD([m.zeros(1, requires_grad=True)], lr=5.0)
    schedule = m.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)  # the transformer tutorial's line
    optimizer.step()
    schedule.step()
    return schedule.get_last_lr()


def _confusion_matrix(m):
    y, p = m.tensor([0, 1, 1, 2, 2, 2]), m.tensor([0, 1, 2, 2, 2, 0])
    by_put = m.zeros(3, 3, dtype=m.int64)
    by_put.index_put_((y, p), m.ones_like(y), accumulate=True)
    by_count = m.bincount(y * 3 + p, minlength=9).reshape(3, 3)
    return by_put, by_count, by_put.diag(), by_put.trace(), m.bincount(y, weights=m.ones(6))


def _index_put_grad(m):
    a, v = m.zeros(3, requires_grad=True), m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = (a * 1).index_put((m.tensor([0, 0, 2]),), v, accumulate=True)
    (out * m.tensor([1.0, 10.0, 100.0])).sum().backward()
    return out, a.grad, v.grad


def _diagonals_grad(m):
    x = m.arange(24.0).view(2, 3, 4).requires_grad_()
    d = m.diagonal(x, -1, 2, 0)
    v = m.tensor([1.0, 2.0], requires_grad=True)
    square = m.diag(v, -1)
    (d * m.arange(float(d.numel())).view(d.shape)).sum().backward()
    (square * m.arange(9.0).view(3, 3)).sum().backward()
    return d, x.grad, square, v.grad


def _relu_inplace_after_batchnorm(m):
    m.manual_seed(0)
    net = m.nn.Sequential(m.nn.Conv2d(1, 2, 3), m.nn.BatchNorm2d(2), m.nn.ReLU(inplace=True))
    out = net(m.arange(32.0).view(2, 1, 4, 4) / 10)
    out.sum().backward()
    return out.shape, bool((out >= 0).all()), net[0].weight.grad.shape


def _masked_select_grad(m):
    a = m.tensor([[0.0, 2.0, 0.0], [3.0, 0.0, 1.0]], requires_grad=True)
    picked = m.masked_select(a, a > 0.5)
    (picked * m.arange(3.0)).sum().backward()
    return picked, a.grad, m.masked_select(a.detach(), m.tensor([True, False, True]))


def _repeat_interleave_grad(m):
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    r = a.repeat_interleave(m.tensor([2, 0, 1]))
    (r * m.arange(3.0)).sum().backward()
    grid = m.tensor([[1, 2], [3, 4]])
    return r, a.grad, grid.repeat_interleave(2), grid.repeat_interleave(2, dim=0), \
        m.repeat_interleave(grid, m.tensor([1, 2]), dim=1)


def _meshgrid_grad(m):
    a, b = m.tensor([1.0, 2.0, 3.0], requires_grad=True), m.tensor([4.0, 5.0], requires_grad=True)
    gx, gy = m.meshgrid(a, b, indexing="xy")
    (gx * 2 + gy * 3).sum().backward()
    return gx, gy, a.grad, b.grad, m.meshgrid(m.arange(3), m.arange(2), indexing="ij")


def _normalize_grad(m):
    a = m.tensor([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]], requires_grad=True)
    unit = m.nn.functional.normalize(a, dim=1)  # a zero row: divided by eps, as torch
    (unit * m.tensor([1.0, 2.0])).sum().backward()
    return unit, a.grad, m.nn.functional.normalize(m.tensor([[1.0, 2.0, 2.0]]), p=1, dim=-1)


def _relu_method_in_place(m):
    a = m.tensor([-1.0, 2.0], requires_grad=True)
    b = a * 1
    b.relu_()
    b.sum().backward()
    return b, a.grad, m.tensor([-1.0, 2.0, 5.0]).clamp_min(0), m.tensor([-1, 2, 5]).clamp_max_(3)


def _weighted_backward(m, out, *inputs):
    """Backpropagate a weighted sum of ``out`` (weights 1, 2, 3, ...); the inputs' gradients."""
    (out * m.arange(1.0, out.numel() + 1).reshape(tuple(out.shape))).sum().backward()
    return [t.grad for t in inputs]


def _order_statistics(m):
    x = m.tensor([[3.0, 1.0, 4.0, 1.5], [9.0, 2.0, 6.0, 5.0]], requires_grad=True)
    whole = x.median()
    per_row = x.median(dim=1)
    kth = m.kthvalue(x, 3, dim=1, keepdim=True)
    total = whole * 10 + (per_row.values * m.tensor([1.0, 2.0])).sum() + kth.values.sum() * 100
    total.backward()
    return whole, per_row.values, per_row.indices, kth.values, kth.indices, x.grad


def _moments(m):
    x = m.arange(24.0).reshape(2, 3, 4).requires_grad_()
    std, mean = m.std_mean(x, dim=1)
    var, mean2 = m.var_mean(x, dim=(0, 2), unbiased=False, keepdim=True)
    (std.sum() + mean.sum() * 2 + var.sum() * 3 + mean2.sum()).backward()
    return std, mean, var, mean2, x.grad


def _products(m):
    a = m.arange(6.0).reshape(2, 3).requires_grad_()
    v = m.tensor([1.0, -1.0, 2.0], requires_grad=True)
    c = m.tensor([0.5, -0.5], requires_grad=True)
    b = m.arange(6.0).reshape(3, 2).requires_grad_()
    y = m.mv(a, v)
    z = m.addmm(c, a, b, beta=2, alpha=0.5)
    return [y, z, *_weighted_backward(m, y.sum() + z.sum() * 0 + (z * z).sum(), a, v, c, b)]


def _lerp_diff_cdist(m):
    start = m.tensor([0.0, 1.0, 4.0, 9.0], requires_grad=True)
    end = m.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    out = [m.lerp(start, end, 0.3), m.diff(start), m.diff(start, n=2, prepend=m.tensor([-1.0]))]
    x1 = m.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]], requires_grad=True)
    x2 = m.tensor([[0.0, 0.0], [1.0, 1.0]], requires_grad=True)
    distances = [m.cdist(x1, x2), m.cdist(x1, x2, p=1), m.cdist(x1, x2, p=3)]  # a distance of 0 among them
    total = sum(((o * o).sum() for o in out), m.tensor(0.0)) + sum((d.sum() for d in distances), m.tensor(0.0))
    total.backward()
    return [*out, *distances, start.grad, end.grad, x1.grad, x2.grad]


def _counts_and_membership(m):
    x = m.tensor([[0, 1, 2], [3, 0, 0]])
    return [m.count_nonzero(x), m.count_nonzero(x, dim=0), m.isin(x, m.tensor([0, 3])),
            m.remainder(m.tensor([-3.0, 3.0]), 2), m.tensor([-3, 3]).remainder(-2)]


def _clamp_by_tensors(m):
    x = m.tensor([-2.0, 0.5, 3.0, 1.0], requires_grad=True)
    low = m.tensor([-1.0, 0.0, 0.0, 1.0], requires_grad=True)
    high = m.tensor([0.0, 2.0, 2.0, 2.0], requires_grad=True)
    y = x.clamp(low, high)
    return [y, *_weighted_backward(m, y, x, low, high), m.clamp(m.tensor([1, 5]), min=m.tensor([2, 2]))]


def _linalg(m):
    a = m.tensor([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]], dtype=m.float64, requires_grad=True)
    b = m.tensor([[1.0, 2.0], [0.0, 1.0], [1.0, -1.0]], dtype=m.float64, requires_grad=True)
    vec = m.tensor([1.0, 0.0, 2.0], dtype=m.float64, requires_grad=True)
    outs = [m.linalg.inv(a), m.linalg.det(a), m.linalg.solve(a, b), m.linalg.solve(a, vec),
            m.linalg.norm(a), m.linalg.norm(a, ord=1), m.linalg.norm(a, ord=m.inf), m.linalg.norm(vec, ord=1),
            m.linalg.vector_norm(a, ord=3, dim=1), m.linalg.matrix_norm(a, ord=-1)]
    total = sum(((o * o).sum() for o in outs), m.tensor(0.0, dtype=m.float64))
    total.backward()
    return [*outs, a.grad, b.grad, vec.grad]


def _singular_inverse(m):
    """torch raises its LinAlgError, a RuntimeError; chainrule's is a RuntimeError too."""
    try:
        m.linalg.inv(m.tensor([[1.0, 2.0], [2.0, 4.0]]))
    except RuntimeError as error:
        return "RuntimeError", "singular" in str(error)
    return "no error"


def _running_extremes(m):
    x = m.tensor([[1.0, 3.0, 3.0, 2.0, 4.0], [5.0, 1.0, 2.0, 1.0, 0.0]], requires_grad=True)
    high, low = x.cummax(1), m.cummin(x, dim=1)
    (high.values * m.arange(1.0, 6.0)).sum().backward()
    return high.values, high.indices, low.values, low.indices, x.grad


def _index_fill_and_copy(m):
    x = m.arange(6.0).reshape(2, 3).requires_grad_()
    source = m.tensor([[10.0, 20.0], [30.0, 40.0]], requires_grad=True)
    filled = x.index_fill(1, m.tensor([0, 2]), -1.0)
    copied = x.index_copy(1, m.tensor([2, 0]), source)
    (filled * 2 + copied * m.arange(6.0).reshape(2, 3)).sum().backward()
    return filled, copied, x.grad, source.grad


def _tensordot_cross(m):
    a = m.arange(24.0).reshape(2, 3, 4).requires_grad_()
    b = m.arange(12.0).reshape(4, 3).requires_grad_()
    u = m.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]], requires_grad=True)
    v = m.tensor([[4.0, 5.0, 6.0], [2.0, 0.0, 1.0]], requires_grad=True)
    out = [m.tensordot(a, b, dims=1), m.tensordot(a, b, dims=([1, 2], [1, 0])), m.linalg.cross(u, v)]
    sum(((o * o).sum() for o in out), m.tensor(0.0)).backward()
    return [*out, a.grad, b.grad, u.grad, v.grad]


def _counting(m):
    return [m.searchsorted(m.tensor([1.0, 3.0, 5.0]), m.tensor([2.0, 6.0, 3.0])),
            m.searchsorted(m.tensor([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), m.tensor([[2.0, 6.0], [1.0, 7.0]]),
                           right=True),
            m.histc(m.tensor([0.0, 1.0, 2.0, 3.0, 3.5, -1.0]), bins=3, min=0, max=3),
            m.histc(m.tensor([1.0, 2.0, 1.0]), bins=4),
            list(m.unique_consecutive(m.tensor([1, 1, 2, 2, 1]), return_inverse=True, return_counts=True)),
            m.take_along_dim(m.tensor([[10.0, 30.0, 20.0]]), m.tensor([[0, 2, 1]]), 1),
            m.take_along_dim(m.tensor([[10.0, 30.0], [20.0, 40.0]]), m.tensor([3, 0]))]


SELECTIONS = [
    ("nonzero", lambda m: [m.tensor([[0.0, 2.0, 0.0], [3.0, 0.0, 1.0]]).nonzero(), m.nonzero(m.tensor(0.0)),
                           m.nonzero(m.tensor([[0, 2], [3, 0]]), as_tuple=True)]),
    ("unique", lambda m: [m.unique(m.tensor([3, 1, 3, 2, 1])),
                          m.unique(m.tensor([[3, 1], [3, 2]]), return_inverse=True, return_counts=True)]),
    ("masked_select gradient", _masked_select_grad),
    ("repeat_interleave gradient", _repeat_interleave_grad),
    ("hstack and vstack", lambda m: [m.hstack([m.ones(2), m.zeros(3)]), m.hstack([m.ones(2, 1), m.zeros(2, 2)]),
                                     m.vstack([m.ones(2), m.zeros(2)])]),
    ("meshgrid gradient", _meshgrid_grad),
    ("FloatTensor, LongTensor and kin", lambda m: [m.FloatTensor([1, 2]), m.LongTensor([1, 2]),
                                                   m.FloatTensor(2, 3).shape, m.ByteTensor([1, 255]),
                                                   m.DoubleTensor([[1]]), m.BoolTensor([1, 0])]),
    ("inf, pi, e", lambda m: [m.inf, m.pi, m.e]),
    ("F.normalize gradient", _normalize_grad),
    ("relu_, clamp_min, clamp_max_", _relu_method_in_place),
    ("F.relu_", lambda m: m.nn.functional.relu_(m.tensor([-1.0, 2.0]))),
]

def _shared_module_state(m):
    shared = m.nn.Linear(2, 2)
    model = m.nn.Sequential(shared, m.nn.ReLU(), shared)  # one layer registered under two names
    twice = m.nn.Module()
    twice.a = m.nn.Linear(1, 1)
    twice.b = twice.a
    calls = [0]
    model.apply(lambda module: calls.__setitem__(0, calls[0] + 1))
    loaded = twice.load_state_dict({"a.weight": m.ones(1, 1), "a.bias": m.ones(1)}, strict=False)
    return (list(model.state_dict()), [name for name, _ in model.named_children()], calls[0], str(loaded),
            str(m.nn.Linear(2, 2).load_state_dict(m.nn.Linear(2, 2).state_dict())))


def _module_copies_and_containers(m):
    layer = m.nn.Linear(2, 1)
    layer(m.ones(1, 2)).sum().backward()
    copied = copy.deepcopy(layer)  # a copy starts without gradients, as torch's
    named = m.nn.Sequential(OrderedDict([("a", m.nn.ReLU()), ("b", m.nn.Tanh()), ("c", m.nn.Sigmoid())]))
    del named[0]  # renumbered, as torch
    grown = m.nn.Sequential(m.nn.ReLU())
    alias = grown
    grown += m.nn.Sequential(m.nn.Tanh())  # in place
    return copied.weight.grad is None, [name for name, _ in named.named_children()], alias is grown, len(alias)


def _full_backward_hooks(m):
    def values(t):  # to 5 decimals: tanh's last float32 bits differ between the libraries
        return None if t is None else [round(v, 5) for v in t.flatten().tolist()]

    model = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.Tanh(), m.nn.Linear(3, 1))
    with m.no_grad():
        model[0].weight.copy_(m.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        model[2].weight.copy_(m.tensor([[1.0, -1.0, 2.0]]))
        model[0].bias.zero_()
        model[2].bias.zero_()
    seen = []
    model[1].register_full_backward_hook(lambda mod, grad_in, grad_out: seen.append(
        (type(grad_in).__name__, len(grad_in), values(grad_in[0]), values(grad_out[0]))))
    model[0].register_full_backward_hook(lambda mod, grad_in, grad_out: seen.append(values(grad_in[0])))
    model[2].register_full_backward_pre_hook(lambda mod, grad_out: (grad_out[0] * 2,))  # doubles what flows down
    x = m.tensor([[0.1, -0.2], [0.3, 0.1]], requires_grad=True)
    model(x).sum().backward()
    model(m.tensor([[0.1, -0.2]])).sum().backward()  # no input gradient: grad_input is (None,), with a warning
    return seen, values(x.grad)


def _loader_iterator(m):
    from importlib import import_module

    data = import_module(f"{m.__name__}.utils.data")
    loader = data.DataLoader(data.TensorDataset(m.arange(10.0), m.arange(10)), batch_size=3)
    batches = iter(loader)
    first = next(batches)
    return len(batches), first, len(list(batches)), len(loader)


NN = [
    ("len(iter(loader))", _loader_iterator),
    ("full backward hooks and pre-hooks", _full_backward_hooks),
    ("a module registered twice: state_dict, children, apply", _shared_module_state),
    ("deepcopy drops grads, del renumbers, += in place", _module_copies_and_containers),
    ("a confusion matrix by index_put_ and bincount; diag, trace", _confusion_matrix),
    ("index_put(accumulate=True) gradient", _index_put_grad),
    ("diagonal and diag gradients", _diagonals_grad),
    ("ReLU(inplace=True) after BatchNorm2d trains", _relu_inplace_after_batchnorm),
    ("clip_grad_norm_ returns a tensor", _clip_returns_a_tensor),
    ("pad_sequence", _pad_sequence),
    ("StepLR(optimizer, 1.0)", _step_lr_float_step),
    ("F.relu(inplace=True) changes its input, gradient too", _relu_inplace_grad),
    ("ReLU(inplace=True) overwrites the layer before", _module_inplace),
    ("inplace activations", _activations_inplace),
    ("ReLU6(inplace=True) gradient", _relu6_inplace_grad),
    ("Dropout(inplace=True)", _dropout_inplace),
    ("state_dict values alias the model", _state_dict_aliases),
    ("MultiStepLR and LambdaLR", _schedules),
    ("clip_grad_norm_(norm_type='inf')", _clip_inf_string),
    ("median and kthvalue: values, indices, gradients", _order_statistics),
    ("std_mean and var_mean gradients", _moments),
    ("mv and addmm gradients", _products),
    ("lerp, diff, cdist (p 1, 2, 3) gradients", _lerp_diff_cdist),
    ("count_nonzero, isin, remainder", _counts_and_membership),
    ("clamp with tensor bounds: each bound's gradient", _clamp_by_tensors),
    ("linalg: inv, det, solve, norms and their gradients", _linalg),
    ("linalg.inv of a singular matrix raises", _singular_inverse),
    ("a buffer must be a tensor", lambda m: m.nn.Module().register_buffer("b", [1.0, 2.0])),
    ("train(mode) takes a bool", lambda m: m.nn.Linear(2, 2).train(1)),
    ("Flatten(start_dim after end_dim)", lambda m: m.nn.Flatten(2, 1)(m.ones(2, 3, 4))),
    ("flatten(start_dim after end_dim)", lambda m: m.ones(2, 3, 4).flatten(2, 1)),
    ("TensorDataset of tensors with different lengths",
     lambda m: m.utils.data.TensorDataset(m.ones(3), m.ones(4))),
    ("cummax and cummin: values, latest indices, gradients", _running_extremes),
    ("index_fill and index_copy gradients", _index_fill_and_copy),
    ("tensordot and linalg.cross gradients", _tensordot_cross),
    ("searchsorted, histc, unique_consecutive, take_along_dim", _counting),
    ("torch.Size compares with a shape", lambda m: [m.zeros(2, 3).shape == m.Size([2, 3]), m.Size([2, 3]).numel(),
                                                    repr(m.Size([2, 3])), m.Size([4]) == (4,)]),
    ("ModuleList prints runs of equal modules once",
     lambda m: repr(m.nn.ModuleList([m.nn.Linear(2, 2) for _ in range(3)] + [m.nn.ReLU(), m.nn.Tanh(), m.nn.Tanh()]))),
]

ROWS = INDEXING + AUTOGRAD + DTYPES_AND_SHAPES + SELECTIONS + NN


def _plain(value, lib):
    """A result as plain Python: tensors as (shape, dtype name, values), containers element by element."""
    if isinstance(value, lib.Tensor):
        array = value.detach().numpy() if lib is torch else np.asarray(value.detach())
        return ("tensor", tuple(value.shape), str(value.dtype).removeprefix("torch."), array)
    if isinstance(value, list | tuple):
        return [_plain(v, lib) for v in value]
    if isinstance(value, torch.Size):
        return tuple(value)
    return value


def _assert_same(ours, theirs, name):
    if isinstance(theirs, tuple) and theirs and theirs[0] == "tensor":
        assert isinstance(ours, tuple) and ours[0] == "tensor", f"{name}: chainrule gave {ours!r}, not a tensor"
        assert ours[1] == theirs[1], f"{name}: shape {ours[1]} but PyTorch's is {theirs[1]}"
        assert ours[2] == theirs[2], f"{name}: dtype {ours[2]} but PyTorch's is {theirs[2]}"
        np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-6, atol=1e-7, err_msg=name)
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), f"{name}: {ours!r} against {theirs!r}"
        for o, t in zip(ours, theirs, strict=True):
            _assert_same(o, t, name)
    else:
        assert ours == theirs, f"{name}: chainrule gave {ours!r}, PyTorch {theirs!r}"


def _run(row, lib):
    """(the row's result or the exception it raised, the categories of the warnings it gave)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _plain(row(lib), lib)
        except Exception as error:
            result = error
    return result, {w.category for w in caught}


@pytest.mark.parametrize(("name", "row"), ROWS + WARNED_INDEXING, ids=[r[0] for r in ROWS + WARNED_INDEXING])
def test_chainrule_does_what_torch_does(name, row):
    theirs, their_warnings = _run(row, torch)
    ours, our_warnings = _run(row, cr)
    torch.set_grad_enabled(True)  # (a row that failed half-way must not leave grad mode off for the next)
    cr.set_grad_enabled(True)
    if isinstance(theirs, Exception):
        assert isinstance(ours, type(theirs)), f"{name}: PyTorch raises {theirs!r}, chainrule gave {ours!r}"
        return
    assert not isinstance(ours, Exception), f"{name}: chainrule raised {ours!r}; PyTorch gives {theirs!r}"
    _assert_same(ours, theirs, name)
    if (name, row) in WARNED_INDEXING:
        assert UserWarning in their_warnings, f"{name}: PyTorch no longer warns here; revisit the row"
        assert UserWarning in our_warnings, f"{name}: PyTorch warns (a legacy form), chainrule did not"
