"""Convolution, pooling, padding, resampling and their layers against torch.

Table rows run the chainrule op and torch's on the same float64 inputs: values, then the gradients of every input
(input, weight, bias) for one random output gradient, to rtol 1e-6; tiny cases also go through ``cr.gradcheck``.
Layers load torch's state_dicts (and torch loads theirs), and a LeNet-5 trained 50 SGD steps tracks torch's losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from nn_helpers import compare_with_torch, torch_state

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention

TF = torch.nn.functional
RTOL = ATOL = 1e-6


def check_against_torch(ours: Callable[..., Any], theirs: Callable[..., Any], *arrays: np.ndarray | None,
                        seed: int = 0) -> None:
    """Same float64 inputs to both; compare the output and every input's gradient (None inputs are passed as None)."""
    cs = [None if a is None else cr.tensor(a, requires_grad=True) for a in arrays]
    ts = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = ours(*cs), theirs(*ts)
    assert tuple(out.shape) == tuple(tout.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg="forward")
    g = np.random.default_rng(seed).standard_normal(tuple(tout.shape))
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    for k, (c, t) in enumerate(zip(cs, ts)):
        if c is not None:
            np.testing.assert_allclose(c.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=f"gradient of input {k}")


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------- convolution

# (N, C, H, W), out_channels, kernel, stride, padding, dilation, groups, bias
CONV2D = {
    "plain": ((2, 3, 7, 8), 4, 3, 1, 0, 1, 1, True),
    "stride2-pad1": ((2, 3, 9, 7), 5, 3, 2, 1, 1, 1, True),
    "rect-kernel-stride": ((1, 2, 8, 9), 3, (2, 3), (2, 1), (1, 0), 1, 1, True),
    "same-odd": ((2, 2, 5, 6), 4, 3, 1, "same", 1, 1, True),
    "same-even-kernel": ((2, 2, 5, 6), 3, (2, 4), 1, "same", 1, 1, True),
    "same-dilated": ((1, 2, 7, 7), 2, 3, 1, "same", 2, 1, False),
    "valid": ((2, 2, 6, 5), 2, 2, 1, "valid", 1, 1, True),
    "dilation": ((2, 3, 9, 10), 2, 3, 1, 1, (2, 3), 1, True),
    "groups2": ((2, 4, 6, 6), 6, 3, 1, 1, 1, 2, True),
    "depthwise": ((2, 3, 6, 5), 6, 3, 2, 1, 1, 3, False),
    "batch1-1x1": ((1, 5, 4, 3), 2, 1, 1, 0, 1, 1, True),
    "kernel-fills-input": ((3, 2, 3, 4), 2, (3, 4), 1, 0, 1, 1, True),
    "lenet-conv1": ((2, 1, 12, 12), 6, 5, 1, 2, 1, 1, True),
}


@pytest.mark.parametrize("name", list(CONV2D))
def test_conv2d_matches_torch(name):
    shape, out, kernel, stride, padding, dilation, groups, bias = CONV2D[name]
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rand(*shape)
    w = rand(out, shape[1] // groups, *k, seed=1)
    b = rand(out, seed=2) if bias else None
    check_against_torch(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                        lambda x, w, b: TF.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b)


def _first(v: Any) -> Any:
    return v[0] if isinstance(v, tuple) else v


@pytest.mark.parametrize("name", list(CONV2D))
def test_conv1d_matches_torch(name):
    shape, out, kernel, stride, padding, dilation, groups, bias = CONV2D[name]
    kernel, stride, padding, dilation = map(_first, (kernel, stride, padding, dilation))
    x = rand(shape[0], shape[1], shape[3])
    w = rand(out, shape[1] // groups, kernel, seed=1)
    b = rand(out, seed=2) if bias else None
    check_against_torch(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups),
                        lambda x, w, b: TF.conv1d(x, w, b, stride, padding, dilation, groups), x, w, b)


def test_conv_unbatched_input_matches_torch():
    check_against_torch(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
                        rand(2, 5, 4), rand(3, 2, 3, 3, seed=1))
    check_against_torch(lambda x, w: F.conv1d(x, w, stride=2), lambda x, w: TF.conv1d(x, w, stride=2),
                        rand(2, 7), rand(3, 2, 3, seed=1))


def test_conv_float32_keeps_dtype_and_matches_torch():
    x, w, b = (a.astype(np.float32) for a in (rand(2, 3, 8, 8), rand(4, 3, 3, 3, seed=1), rand(4, seed=2)))
    out = F.conv2d(cr.tensor(x), cr.tensor(w), cr.tensor(b), padding=1)
    assert out.dtype == np.float32
    expected = TF.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1).numpy()
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn, wshape", [
    (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), (4, 4, 3, 3)),
    (lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=2, groups=2), (4, 2, 3, 3)),
    (lambda x, w, b: F.conv1d(x[:, :, 0], w[:, :, 0], b, stride=2, padding=1, groups=2), (4, 2, 3, 3)),
], ids=["conv2d-stride", "conv2d-same-groups", "conv1d"])
def test_conv_gradcheck(fn, wshape):
    x = cr.tensor(rand(2, 4, 5, 5), requires_grad=True)
    w = cr.tensor(rand(*wshape, seed=1), requires_grad=True)
    b = cr.tensor(rand(4, seed=2), requires_grad=True)
    assert cr.gradcheck(fn, [x, w, b])


# ---------------------------------------------------------------------------- pooling

POOL2D = {
    "k2": dict(kernel_size=2),
    "k3-s2-p1": dict(kernel_size=3, stride=2, padding=1),
    "rect": dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
    "ceil": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "ceil-nopad": dict(kernel_size=2, stride=2, ceil_mode=True),
}


@pytest.mark.parametrize("name", list(POOL2D))
def test_max_pool2d_matches_torch(name):
    kw = POOL2D[name]
    check_against_torch(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), rand(2, 3, 7, 9))


def test_max_pool_dilation_and_indices_match_torch():
    x = rand(2, 2, 9, 8)
    kw = dict(kernel_size=3, stride=2, padding=1, dilation=2)
    check_against_torch(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), x)
    _, idx = F.max_pool2d(cr.tensor(x), return_indices=True, **kw)
    _, tidx = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == np.int64
    _, idx1 = F.max_pool1d(cr.tensor(x[:, :, 0]), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx1.numpy(), TF.max_pool1d(torch.tensor(x[:, :, 0]), 3, 2, 1,
                                                               return_indices=True)[1].numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=2, stride=1)], ids=["k2", "overlap-pad", "overlap"])
def test_max_pool_ties_send_the_gradient_to_the_first_max_as_torch(kw):
    x = np.ones((1, 2, 4, 4))
    x[0, 1, 1:3, 1:3] = 3.0  # a block of equal maxima
    check_against_torch(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), x)
    check_against_torch(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), x[0])


@pytest.mark.parametrize("name", list(POOL2D))
@pytest.mark.parametrize("include_pad", [True, False])
def test_avg_pool2d_matches_torch(name, include_pad):
    kw = dict(POOL2D[name], count_include_pad=include_pad)
    check_against_torch(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), rand(2, 3, 7, 9))


def test_avg_pool2d_divisor_override_matches_torch():
    check_against_torch(lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=5),
                        lambda x: TF.avg_pool2d(x, 3, 2, 1, divisor_override=5), rand(1, 2, 6, 7))


@pytest.mark.parametrize("args", [(2,), (3, 2, 1), (3, 2, 1, True), (3, 2, 1, True, False), (4, 3)])
def test_pool1d_match_torch(args):
    x = rand(2, 3, 11)
    check_against_torch(lambda x: F.avg_pool1d(x, *args), lambda x: TF.avg_pool1d(x, *args), x)
    margs = (*args[:3], 1, *args[3:4])  # max_pool1d's 4th argument is dilation
    check_against_torch(lambda x: F.max_pool1d(x, *margs), lambda x: TF.max_pool1d(x, *margs), x)


@pytest.mark.parametrize("out", [1, 3, (4, 2), (None, 5), (7, 9), (10, 11)])
def test_adaptive_avg_pool_matches_torch(out):
    x = rand(2, 3, 7, 9)
    check_against_torch(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out), x)
    if not isinstance(out, tuple):
        check_against_torch(lambda x: F.adaptive_avg_pool1d(x, out), lambda x: TF.adaptive_avg_pool1d(x, out),
                            x[:, :, 0])


def test_pool_gradcheck():
    x = cr.tensor(rand(1, 2, 5, 6), requires_grad=True)
    assert cr.gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    assert cr.gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), [x])
    assert cr.gradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 4)), [x])


# ---------------------------------------------------------------------------- pad and interpolate


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 0, 1, 3)])
def test_pad_matches_torch(mode, pad):
    x = rand(2, 3, 5, 4)
    if len(pad) == 2:
        x = x[:, :, 0]
    check_against_torch(lambda x: F.pad(x, pad, mode), lambda x: TF.pad(x, pad, mode), x)


def test_pad_constant_value_and_three_axes_match_torch():
    check_against_torch(lambda x: F.pad(x, (1, 0, 2, 1, 0, 1), value=-2.5),
                        lambda x: TF.pad(x, (1, 0, 2, 1, 0, 1), value=-2.5), rand(2, 3, 4))
    x = cr.tensor(rand(1, 2, 3, 3), requires_grad=True)
    assert cr.gradcheck(lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [x])


INTERPOLATE = {
    "size-up": dict(size=(11, 13)),
    "size-down": dict(size=(3, 4)),
    "scale2": dict(scale_factor=2),
    "scale-frac": dict(scale_factor=1.7),
    "scale-pair": dict(scale_factor=(0.5, 2.5)),
}


@pytest.mark.parametrize("name", list(INTERPOLATE))
@pytest.mark.parametrize("mode, align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_interpolate_matches_torch(name, mode, align):
    kw = dict(INTERPOLATE[name], mode=mode, align_corners=align)
    check_against_torch(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), rand(2, 3, 6, 7))


@pytest.mark.parametrize("mode, align", [("nearest", None), ("linear", False), ("linear", True)])
def test_interpolate_1d_matches_torch(mode, align):
    for base in (dict(size=9), dict(scale_factor=2.5)):
        kw = dict(base, mode=mode, align_corners=align)
        check_against_torch(lambda x, kw=kw: F.interpolate(x, **kw), lambda x, kw=kw: TF.interpolate(x, **kw),
                            rand(2, 3, 6))


def test_interpolate_gradcheck_and_upsample_layer():
    x = cr.tensor(rand(1, 2, 3, 4), requires_grad=True)
    assert cr.gradcheck(lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=False), [x])
    compare_with_torch(nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2), rand(2, 3, 4, 5))
    compare_with_torch(nn.Upsample(size=(7, 3), mode="bilinear", align_corners=True),
                       torch.nn.Upsample(size=(7, 3), mode="bilinear", align_corners=True), rand(2, 3, 4, 5))


# ---------------------------------------------------------------------------- layers

LAYERS = {
    "Conv2d": (lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
               lambda: torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), (2, 4, 7, 8)),
    "Conv2d-same-nobias": (lambda: nn.Conv2d(3, 2, (3, 2), padding="same", dilation=2, bias=False),
                           lambda: torch.nn.Conv2d(3, 2, (3, 2), padding="same", dilation=2, bias=False),
                           (1, 3, 6, 5)),
    "Conv1d": (lambda: nn.Conv1d(3, 4, 5, padding=2), lambda: torch.nn.Conv1d(3, 4, 5, padding=2), (2, 3, 9)),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, 2, 1), lambda: torch.nn.MaxPool2d(3, 2, 1), (2, 3, 7, 7)),
    "MaxPool1d": (lambda: nn.MaxPool1d(2), lambda: torch.nn.MaxPool1d(2), (2, 3, 9)),
    "AvgPool2d": (lambda: nn.AvgPool2d(2, ceil_mode=True), lambda: torch.nn.AvgPool2d(2, ceil_mode=True),
                  (2, 3, 5, 7)),
    "AvgPool1d": (lambda: nn.AvgPool1d(3, 2, 1), lambda: torch.nn.AvgPool1d(3, 2, 1), (2, 3, 9)),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((2, 3)), lambda: torch.nn.AdaptiveAvgPool2d((2, 3)),
                          (2, 3, 7, 8)),
    "AdaptiveAvgPool1d": (lambda: nn.AdaptiveAvgPool1d(4), lambda: torch.nn.AdaptiveAvgPool1d(4), (2, 3, 9)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), lambda: torch.nn.BatchNorm2d(3), (4, 3, 5, 6)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_match_torch(name, dtype):
    make, make_twin, shape = LAYERS[name]
    layer, twin = make(), make_twin()
    compare_with_torch(layer, twin, (rand(*shape) * 2).astype(dtype))
    for key, value in twin.state_dict().items():  # running statistics too
        np.testing.assert_allclose(np.asarray(layer.state_dict()[key]), value.numpy(), rtol=1e-5, atol=1e-6)


def test_batchnorm2d_eval_uses_running_statistics_as_torch():
    layer, twin = nn.BatchNorm2d(3, momentum=0.3), torch.nn.BatchNorm2d(3, momentum=0.3)
    for seed in range(3):
        x = rand(4, 3, 5, 5, seed=seed).astype(np.float32)
        layer(cr.tensor(x)), twin(torch.tensor(x))
    layer.eval(), twin.eval()
    x = rand(2, 3, 5, 5, seed=9).astype(np.float32)
    np.testing.assert_allclose(layer(cr.tensor(x)).data, twin(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


def test_torch_state_dict_loads_into_conv_layers_and_back():
    for theirs, ours, shape in [
        (torch.nn.Conv2d(3, 8, 5, stride=2, padding=2), nn.Conv2d(3, 8, 5, stride=2, padding=2), (2, 3, 11, 10)),
        (torch.nn.Conv1d(4, 6, 3, groups=2, bias=False), nn.Conv1d(4, 6, 3, groups=2, bias=False), (2, 4, 9)),
    ]:
        ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
        x = rand(*shape).astype(np.float32)
        np.testing.assert_allclose(ours(cr.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                                   atol=1e-5)
        theirs.load_state_dict(torch_state(ours))  # and the other way: same keys and shapes


def test_conv_default_init_follows_torch():
    cr.manual_seed(0)
    layer = nn.Conv2d(6, 16, 5, groups=2)
    fan_in = 3 * 25
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=√5): gain √(1/3) · √3/√fan_in
    for p in (layer.weight, layer.bias):
        data = p.data.numpy()
        assert np.abs(data).max() <= bound
        assert np.abs(data).max() > 0.9 * bound
    assert tuple(layer.weight.shape) == (16, 3, 5, 5)
    assert tuple(layer.weight.shape) == tuple(torch.nn.Conv2d(6, 16, 5, groups=2).weight.shape)
    assert layer.weight.dtype == np.float32


def test_dropout2d_zeroes_whole_channels():
    cr.manual_seed(0)
    out = nn.Dropout2d(0.5)(cr.ones(8, 16, 3, 3))
    planes = out.data.numpy().reshape(8, 16, -1)
    assert set(np.unique(planes)) == {0.0, 2.0}
    assert (planes.min(axis=2) == planes.max(axis=2)).all()  # each channel kept or dropped whole
    layer = nn.Dropout2d(0.5).eval()
    x = cr.ones(2, 3, 4, 4)
    assert layer(x) is x
    x = cr.ones(2, 3, 4, 4, requires_grad=True)
    out = F.dropout2d(x, 0.25)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("make, x, words", [
    (lambda: nn.Conv2d(3, 4, 3), np.ones((3, 8)), ["Conv2d", "4-D", "(3, 8)"]),
    (lambda: nn.Conv2d(3, 4, 3), np.ones((2, 5, 8, 8)), ["Conv2d", "3 channels", "got 5"]),
    (lambda: nn.Conv2d(3, 4, 5), np.ones((1, 3, 4, 8)), ["Conv2d", "kernel", "larger than the padded input"]),
    (lambda: nn.Conv1d(3, 4, 3), np.ones((2, 4, 8)), ["Conv1d", "3 channels", "got 4"]),
    (lambda: nn.MaxPool2d(3), np.ones((1, 1, 2, 2)), ["MaxPool2d", "larger than the input"]),
    (lambda: nn.MaxPool2d(2), np.ones((4, 4)), ["MaxPool2d", "3-D", "4-D"]),
    (lambda: nn.BatchNorm2d(3), np.ones((2, 3, 4)), ["BatchNorm2d", "(N, 3, H, W)"]),
], ids=["rank", "channels", "kernel-too-big", "conv1d-channels", "pool-too-big", "pool-rank", "bn2d-rank"])
def test_layer_errors_name_the_layer_and_what_was_expected(make, x, words):
    layer = make()
    with pytest.raises(ValueError) as info:
        layer(cr.tensor(x.astype(np.float32)))
    for word in words:
        assert word in str(info.value)


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"in_channels.*divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match=r"out_channels.*divisible by groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        nn.Conv2d(3, 6, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 6, 0)
    with pytest.raises(ValueError, match="at most half of the kernel"):
        F.max_pool2d(cr.ones(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(cr.engine.backend.DtypeError):
        F.conv2d(cr.ones(1, 1, 3, 3), cr.ones(1, 1, 2, 2, dtype=cr.float64))


# ---------------------------------------------------------------------------- LeNet-5 against torch


def lenet(lib: Any) -> Any:
    """LeNet-5 as in the classic, on 28x28 input padded by 2 (ReLU and max pooling, the modern variant)."""
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5), lib.ReLU(), lib.MaxPool2d(2), lib.Flatten(),
        lib.Linear(400, 120), lib.ReLU(), lib.Linear(120, 84), lib.ReLU(), lib.Linear(84, 10),
    )


def test_lenet5_trained_50_sgd_steps_tracks_torch():
    """Same weights, same 50 batches, float32: chainrule's loss stays within 1e-4 (relative) of torch's each step.

    Why 1e-4: the two compute convolutions with different summation orders (im2col+sgemm here, oneDNN in torch),
    so each step's values differ by a few float32 ulps (~1e-7 relative); 50 SGD steps at lr 0.05 amplify that
    only mildly (measured worst step: 1.5e-7 relative, losses 2.30 -> 1.79), so 1e-4 leaves ~700x headroom for
    BLAS/thread differences on other machines while staying far below any real bug (a wrong gradient moves
    losses by >1e-2).
    """
    torch.manual_seed(0)
    twin = lenet(torch.nn)
    model = lenet(nn)
    model.load_state_dict({k: cr.tensor(v.numpy()) for k, v in twin.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.random((50 * 16, 1, 28, 28), dtype=np.float32)
    y = (x[:, 0, 10:18, 10:18].mean(axis=(1, 2)) * 40).astype(np.int64) % 10  # a learnable label
    opt, topt = cr.optim.SGD(model.parameters(), lr=0.05), torch.optim.SGD(twin.parameters(), lr=0.05)
    ours, theirs = [], []
    for step in range(50):
        xb, yb = x[step * 16 : (step + 1) * 16], y[step * 16 : (step + 1) * 16]
        opt.zero_grad()
        loss = F.cross_entropy(model(cr.tensor(xb)), cr.tensor(yb))
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = TF.cross_entropy(twin(torch.tensor(xb)), torch.tensor(yb))
        tloss.backward()
        topt.step()
        ours.append(loss.item())
        theirs.append(tloss.item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert theirs[-1] < theirs[0]  # it did learn something, so the comparison covers real updates
