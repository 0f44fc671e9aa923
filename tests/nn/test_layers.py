"""Every layer against torch.nn: forward and backward with the same weights and inputs, float64 and float32."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_helpers import compare_with_torch

import chainrule as cr
from chainrule import nn

LAYERS = {
    "Linear": (lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), (4, 5)),
    "Linear-3d": (lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), (2, 4, 5)),
    "Linear-nobias": (lambda: nn.Linear(5, 3, bias=False), lambda: torch.nn.Linear(5, 3, bias=False), (4, 5)),
    "ReLU": (nn.ReLU, torch.nn.ReLU, (4, 5)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2), (4, 5)),
    "Sigmoid": (nn.Sigmoid, torch.nn.Sigmoid, (4, 5)),
    "Tanh": (nn.Tanh, torch.nn.Tanh, (4, 5)),
    "GELU": (nn.GELU, torch.nn.GELU, (4, 5)),
    "GELU-tanh": (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh"), (4, 5)),
    "Softmax": (nn.Softmax, lambda: torch.nn.Softmax(dim=-1), (4, 5)),
    "Softmax-dim0": (lambda: nn.Softmax(0), lambda: torch.nn.Softmax(0), (4, 5)),
    "LogSoftmax": (nn.LogSoftmax, lambda: torch.nn.LogSoftmax(dim=-1), (4, 5)),
    "Identity": (nn.Identity, torch.nn.Identity, (4, 5)),
    "Flatten": (nn.Flatten, torch.nn.Flatten, (2, 3, 4)),
    "Flatten-0": (lambda: nn.Flatten(0, 1), lambda: torch.nn.Flatten(0, 1), (2, 3, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(5), lambda: torch.nn.LayerNorm(5), (4, 5)),
    "LayerNorm-2d": (lambda: nn.LayerNorm((3, 5)), lambda: torch.nn.LayerNorm((3, 5)), (2, 3, 5)),
    "LayerNorm-noaffine": (
        lambda: nn.LayerNorm(5, eps=1e-3, elementwise_affine=False),
        lambda: torch.nn.LayerNorm(5, eps=1e-3, elementwise_affine=False),
        (4, 5),
    ),
    "LayerNorm-nobias": (lambda: nn.LayerNorm(5, bias=False), lambda: torch.nn.LayerNorm(5, bias=False), (4, 5)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(5), lambda: torch.nn.BatchNorm1d(5), (8, 5)),
    "BatchNorm1d-3d": (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3), (4, 3, 6)),
    "Dropout-eval": (lambda: nn.Dropout(0.5).eval(), lambda: torch.nn.Dropout(0.5).eval(), (4, 5)),
    "MLP": (
        lambda: nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.LayerNorm(8),
                              nn.Tanh(), nn.Linear(8, 2)),
        lambda: torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                    torch.nn.Linear(8, 8), torch.nn.LayerNorm(8), torch.nn.Tanh(),
                                    torch.nn.Linear(8, 2)),
        (6, 5),
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_torch(name, dtype):
    make, make_twin, shape = LAYERS[name]
    cr.manual_seed(1)
    layer = make()
    for p in layer.parameters():  # move affine parameters away from their 1/0 defaults
        p.data[...] = cr.randn(*p.shape).data
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype) * 2
    compare_with_torch(layer, make_twin(), x)


def test_activations_at_extreme_inputs_match_torch():
    x = np.array([[-1000.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 1000.0]])
    for make, make_twin in LAYERS["Sigmoid"][:2], LAYERS["Tanh"][:2], LAYERS["GELU"][:2], LAYERS["Softmax"][:2]:
        out, _ = compare_with_torch(make(), make_twin(), x)
        assert np.isfinite(out.data).all()


def test_linear_forward_is_the_fused_op():
    out = nn.Linear(3, 2)(cr.randn(4, 3, requires_grad=True))
    assert type(out.grad_fn).__name__ == "Linear"


def test_linear_default_init_matches_pytorch_distribution():
    cr.manual_seed(0)
    fan_in = 400
    layer = nn.Linear(fan_in, 300)
    bound = 1 / np.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) gives the same bound as the bias
    for p in (layer.weight.data, layer.bias.data):
        assert p.dtype == np.float32
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.98 * bound
    w = layer.weight.data
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound  # std of U(-b, b) is b/sqrt(3)
    assert abs(w.mean()) < 0.01 * bound
    torch.manual_seed(0)
    assert abs(w.std() - torch.nn.Linear(fan_in, 300).weight.detach().numpy().std()) < 0.01 * bound


def test_linear_init_is_seeded():
    cr.manual_seed(3)
    a = nn.Linear(4, 4).weight.data.clone()
    cr.manual_seed(3)
    assert (nn.Linear(4, 4).weight.data == a).all()


REPRS = [
    (nn.Linear(4, 3), torch.nn.Linear(4, 3)),
    (nn.Linear(4, 3, bias=False), torch.nn.Linear(4, 3, bias=False)),
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.GELU(), torch.nn.GELU()),
    (nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)),
    (nn.Flatten(), torch.nn.Flatten()),
    (nn.Dropout(0.25), torch.nn.Dropout(0.25)),
    (nn.BatchNorm1d(6), torch.nn.BatchNorm1d(6)),
    (nn.LayerNorm(6), torch.nn.LayerNorm(6)),
    (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()),
    (nn.MSELoss(), torch.nn.MSELoss()),
    (nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Tanh(), nn.Linear(3, 1))),
     torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(3, 1)))),
]


@pytest.mark.parametrize("layer, twin", REPRS, ids=[type(t).__name__ for _, t in REPRS])
def test_repr_matches_torch(layer, twin):
    assert repr(layer) == repr(twin)


BAD_ARGUMENTS = [
    (lambda: nn.Linear(-3, 2), ValueError, r"Linear: in_features must be a positive int, got -3"),
    (lambda: nn.Linear(3, 2.5), ValueError, r"Linear: out_features must be a positive int, got 2.5"),
    (lambda: nn.Linear(True, 2), ValueError, r"Linear: in_features must be a positive int, got True"),
    (lambda: nn.Linear(3, 2, bias="yes"), TypeError, r"Linear: bias must be True or False, got 'yes'"),
    (lambda: nn.LeakyReLU("big"), ValueError, r"LeakyReLU: negative_slope must be a real number, got 'big'"),
    (lambda: nn.GELU("fast"), ValueError, r"GELU: approximate must be 'none' or 'tanh', got 'fast'"),
    (lambda: nn.Softmax(1.0), TypeError, r"Softmax: dim must be an int, got 1.0"),
    (lambda: nn.Flatten("1"), TypeError, r"Flatten: start_dim must be an int, got '1'"),
    (lambda: nn.BatchNorm1d(0), ValueError, r"BatchNorm1d: num_features must be a positive int, got 0"),
    (lambda: nn.BatchNorm1d(3, eps=-1.0), ValueError, r"BatchNorm1d: eps must be in \[0.0, inf\], got -1.0"),
    (lambda: nn.BatchNorm1d(3, momentum=2), ValueError, r"BatchNorm1d: momentum must be in \[0.0, 1.0\], got 2"),
    (lambda: nn.LayerNorm(-1), ValueError, r"LayerNorm: normalized_shape must be a positive int, got -1"),
    (lambda: nn.LayerNorm("5"), ValueError, r"LayerNorm: normalized_shape must be a positive int or a tuple"),
    (lambda: nn.Sequential(nn.ReLU(), "relu"), TypeError, r"Sequential: entry 1 must be a Module .* got str"),
    (lambda: nn.ModuleList([3]), TypeError, r"ModuleList.append: entry 0 must be a Module .* got int"),
]


@pytest.mark.parametrize("make, error, message", BAD_ARGUMENTS)
def test_bad_constructor_arguments_are_quoted(make, error, message):
    with pytest.raises(error, match=message):
        make()


BAD_INPUTS = [
    (nn.Linear(4, 2), (2, 3),
     r"Linear\(in_features=4\): expected input with 4 features in its last dimension, got shape \(2, 3\)"),
    (nn.Linear(4, 2), (), r"Linear\(in_features=4\): .* got shape \(\)"),
    (nn.BatchNorm1d(4), (2, 3),
     r"BatchNorm1d\(4\): expected input of shape \(N, 4\) or \(N, 4, L\), got shape \(2, 3\)"),
    (nn.BatchNorm1d(4), (4,), r"BatchNorm1d\(4\): .* got shape \(4,\)"),
    (nn.BatchNorm1d(4), (1, 4), r"batch_norm: expected more than 1 value per channel when training"),
    (nn.LayerNorm(4), (2, 3), r"LayerNorm\(\(4,\)\): expected input whose last dimensions are \(4,\), got shape"),
    (nn.Flatten(2), (3, 4), r"Flatten: axis 2 is out of range for a tensor with 2 dimensions"),
    (nn.Softmax(2), (3, 4), r"softmax: axis 2 is out of range"),
    (nn.Flatten(2, 1), (3, 4, 5), r"Flatten: start_dim=2 comes after end_dim=1 for input of shape \(3, 4, 5\)"),
]


@pytest.mark.parametrize("layer, shape, message", BAD_INPUTS)
def test_bad_input_shapes_name_the_layer(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(cr.zeros(*shape))


def test_sequential_indexing_length_iteration():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert head(cr.ones(1, 2)).shape == (1, 3)
    model.append(nn.Sigmoid())
    assert len(model) == 4 and isinstance(model[3], nn.Sigmoid)
    with pytest.raises(IndexError, match=r"Sequential: index 4 is out of range for 4 modules"):
        model[4]
    with pytest.raises(TypeError, match=r"Sequential: index must be an int or a slice, got str"):
        model["0"]


def test_sequential_from_ordered_dict_and_module_list():
    from collections import OrderedDict

    model = nn.Sequential(OrderedDict(hidden=nn.Linear(2, 3), act=nn.ReLU()))
    assert [name for name, _ in model.named_parameters()] == ["hidden.weight", "hidden.bias"]
    blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    assert len(blocks) == 2 and blocks[-1] is list(blocks)[1]
    assert [name for name, _ in blocks.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
