"""torch.nn API coverage against torch: new activations, Embedding, Unflatten, containers, Module API, init."""

from __future__ import annotations

import copy
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
from nn_helpers import TOLERANCE, assert_close, compare_with_torch

import chainrule as cr
from chainrule import nn
from chainrule.engine.random import Generator
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn import init

TF = torch.nn.functional

# name: (ours, theirs); inputs include the special points (0, the hardtanh bounds, past softplus' threshold)
ACTIVATIONS = {
    "SiLU": (nn.SiLU, torch.nn.SiLU),
    "ELU": (nn.ELU, torch.nn.ELU),
    "ELU-alpha": (lambda: nn.ELU(0.3), lambda: torch.nn.ELU(0.3)),
    "Softplus": (nn.Softplus, torch.nn.Softplus),
    "Softplus-beta": (lambda: nn.Softplus(2.0, 3.0), lambda: torch.nn.Softplus(2.0, 3.0)),
    "Mish": (nn.Mish, torch.nn.Mish),
    "Hardtanh": (nn.Hardtanh, torch.nn.Hardtanh),
    "Hardtanh-bounds": (lambda: nn.Hardtanh(-2.0, 0.5), lambda: torch.nn.Hardtanh(-2.0, 0.5)),
    "ReLU6": (nn.ReLU6, torch.nn.ReLU6),
    "Softsign": (nn.Softsign, torch.nn.Softsign),
    "Tanhshrink": (nn.Tanhshrink, torch.nn.Tanhshrink),
    "LogSigmoid": (nn.LogSigmoid, torch.nn.LogSigmoid),
    "LogSoftmax-1": (lambda: nn.LogSoftmax(1), lambda: torch.nn.LogSoftmax(1)),
    "Unflatten": (lambda: nn.Unflatten(1, (2, -1)), lambda: torch.nn.Unflatten(1, (2, -1))),
}
SPECIAL = np.array([0.0, -1.0, 1.0, -2.0, 0.5, 6.0, 1.5, 25.0, -30.0, 3.0 / 2.0, 1e-3, -1e-3])


def activation_input(dtype):
    x = np.random.default_rng(0).standard_normal((4, 6)) * 3
    x.reshape(-1)[: SPECIAL.size] = SPECIAL
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_layers_match_torch(name, dtype):
    make, make_twin = ACTIVATIONS[name]
    compare_with_torch(make(), make_twin(), activation_input(dtype))


@pytest.mark.parametrize("fn, twin", [
    (lambda x: F.elu(x, 2.0), lambda x: TF.elu(x, 2.0)),
    (lambda x: F.softplus(x, beta=0.5, threshold=5.0), lambda x: TF.softplus(x, beta=0.5, threshold=5.0)),
    (lambda x: F.hardtanh(x, -0.5, 0.5), lambda x: TF.hardtanh(x, -0.5, 0.5)),
    (lambda x: F.relu6(x * 4), lambda x: TF.relu6(x * 4)),
    (lambda x: F.silu(x), TF.silu),
    (lambda x: F.mish(x), TF.mish),
    (lambda x: F.logsigmoid(x), TF.logsigmoid),
    (lambda x: F.softmax(x, dim=0, dtype=np.float64), lambda x: TF.softmax(x, dim=0, dtype=torch.float64)),
    (lambda x: F.log_softmax(x, dim=-1), lambda x: TF.log_softmax(x, dim=-1)),
])
def test_functional_activations_match_torch(fn, twin):
    x = activation_input(np.float32)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = fn(xc), twin(xt)
    assert out.dtype == np.dtype(str(tout.dtype).removeprefix("torch."))
    assert_close(out.data, tout, 1e-5, "forward")
    g = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    assert_close(xc.grad, xt.grad, 1e-5, "gradient")


def test_activations_stay_finite_at_extreme_inputs():
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], np.float32)
    for fn, twin in [(F.elu, TF.elu), (F.silu, TF.silu), (F.mish, TF.mish), (F.softplus, TF.softplus),
                     (F.logsigmoid, TF.logsigmoid), (F.softsign, TF.softsign)]:
        xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an overflow warning would mean an intermediate inf
            out = fn(xc)
            out.sum().backward()
        twin(xt).sum().backward()
        assert_close(out.data, twin(torch.tensor(x)), 1e-5, fn.__name__)
        assert_close(xc.grad, xt.grad, 1e-5, fn.__name__)


def test_softmax_without_dim_warns_and_picks_torchs_dimension():
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been deprecated"):
        out = nn.Softmax()(cr.tensor(x))
    with pytest.warns(UserWarning):
        expected = torch.nn.Softmax()(torch.from_numpy(x))
    assert_close(out.data, expected, 1e-6)


REPRS = [
    (nn.SiLU(), torch.nn.SiLU()), (nn.ELU(0.5, inplace=True), torch.nn.ELU(0.5, inplace=True)),
    (nn.Softplus(2.0, 10.0), torch.nn.Softplus(2.0, 10.0)), (nn.Mish(), torch.nn.Mish()),
    (nn.Hardtanh(-2.0, 3.0), torch.nn.Hardtanh(-2.0, 3.0)), (nn.ReLU6(), torch.nn.ReLU6()),
    (nn.Softsign(), torch.nn.Softsign()), (nn.Tanhshrink(), torch.nn.Tanhshrink()),
    (nn.Softmax(), torch.nn.Softmax()), (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
    (nn.Unflatten(1, (2, 3)), torch.nn.Unflatten(1, (2, 3))), (nn.Unflatten(1, [2, 3]), torch.nn.Unflatten(1, [2, 3])),
    (nn.Embedding(10, 3), torch.nn.Embedding(10, 3)),
    (nn.Embedding(10, 3, padding_idx=0, max_norm=1.0), torch.nn.Embedding(10, 3, padding_idx=0, max_norm=1.0)),
    (nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"), torch.nn.CrossEntropyLoss(label_smoothing=0.1)),
    (nn.NLLLoss(), torch.nn.NLLLoss()), (nn.BCELoss(), torch.nn.BCELoss()), (nn.HuberLoss(), torch.nn.HuberLoss()),
    (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5)),
    (nn.ModuleDict({"a": nn.ReLU(), "b": nn.Linear(2, 3)}),
     torch.nn.ModuleDict({"a": torch.nn.ReLU(), "b": torch.nn.Linear(2, 3)})),
]


@pytest.mark.parametrize("layer, twin", REPRS, ids=[repr(t).split("(")[0] for _, t in REPRS])
def test_repr_matches_torch(layer, twin):
    assert repr(layer) == repr(twin)


BAD_ARGUMENTS = [
    (lambda: nn.Hardtanh(1.0, -1.0), ValueError, r"Hardtanh: max_val \(-1.0\) must be greater than min_val \(1.0\)"),
    (lambda: F.hardtanh(cr.zeros(2), 1.0, -1.0), ValueError, r"hardtanh: min_val cannot be greater than max_val"),
    (lambda: nn.ELU("big"), ValueError, r"ELU: alpha must be a real number, got 'big'"),
    (lambda: nn.SiLU(inplace=1), TypeError, r"SiLU: inplace must be True or False, got 1"),
    (lambda: F.silu(cr.tensor([1, 2])), TypeError, r"silu: expected a floating-point tensor, got dtype int64"),
    (lambda: nn.Unflatten(1, 6), TypeError, r"Unflatten: unflattened_size must be a tuple or list of ints"),
    (lambda: nn.Unflatten(1, (4, 2))(cr.zeros(2, 6)), ValueError,
     r"Unflatten: unflattened_size \(4, 2\) does not fit dimension 1 of size 6"),
    (lambda: nn.Embedding(0, 3), ValueError, r"Embedding: num_embeddings must be a positive int, got 0"),
    (lambda: nn.Embedding(5, 3, padding_idx=5), ValueError,
     r"Embedding: padding_idx must be within num_embeddings \(-5 to 4\), got 5"),
    (lambda: nn.Embedding(5, 3, sparse=True), NotImplementedError, r"sparse=True is not available"),
    (lambda: nn.Embedding.from_pretrained(cr.zeros(3)), ValueError, r"embeddings parameter is expected to be 2-dim"),
]


@pytest.mark.parametrize("make, error, message", BAD_ARGUMENTS)
def test_bad_arguments_are_quoted(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------------------- Embedding


def embedding_pair(dtype=np.float32, **kwargs):
    cr.manual_seed(0)
    ours = nn.Embedding(7, 4, dtype=dtype, **kwargs)
    twin = torch.nn.Embedding(7, 4, dtype=torch.float64 if dtype == np.float64 else torch.float32, **kwargs)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(ours.weight.data.numpy().copy()))
    return ours, twin


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                    {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0}],
                         ids=["plain", "padding", "padding-negative", "freq", "max_norm", "max_norm-l1"])
def test_embedding_matches_torch_forward_backward(kwargs, dtype):
    ours, twin = embedding_pair(dtype, **kwargs)
    idx = np.array([[0, 2, 2, 6], [3, 2, 0, 0], [6, 6, 6, 1]])  # repeats: the gradient must add up
    out, tout = ours(cr.tensor(idx)), twin(torch.from_numpy(idx))
    assert out.shape == (3, 4, 4) and out.dtype == dtype
    assert_close(out.data, tout, TOLERANCE[dtype], "forward")
    assert_close(ours.weight.data, twin.weight, TOLERANCE[dtype], "weight (renormalized in place by max_norm)")
    g = np.random.default_rng(3).standard_normal(out.shape).astype(dtype)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    assert_close(ours.weight.grad, twin.weight.grad, TOLERANCE[dtype], "weight gradient")


def test_embedding_init_padding_row_and_seeding():
    cr.manual_seed(1)
    a = nn.Embedding(1000, 8, padding_idx=3)
    assert a.weight.dtype == np.float32 and a.weight.requires_grad
    assert (a.weight.data.numpy()[3] == 0).all()
    w = np.delete(a.weight.data.numpy(), 3, axis=0)
    assert abs(w.mean()) < 0.03 and abs(w.std() - 1) < 0.03  # N(0, 1), as torch
    cr.manual_seed(1)
    np.testing.assert_array_equal(nn.Embedding(1000, 8, padding_idx=3).weight.data.numpy(), a.weight.data.numpy())


def test_embedding_from_pretrained_and_functional():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    frozen = nn.Embedding.from_pretrained(cr.tensor(table))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(cr.tensor([3, 1])).numpy(), table[[3, 1]])
    learned = nn.Embedding.from_pretrained(cr.tensor(table), freeze=False, padding_idx=0)
    learned(cr.tensor([0, 1, 1])).sum().backward()
    np.testing.assert_array_equal(learned.weight.grad.numpy(), [[0, 0, 0], [2, 2, 2], [0, 0, 0], [0, 0, 0]])
    w = cr.tensor(table, requires_grad=True)
    F.embedding(cr.tensor([[2]]), w, padding_idx=2).sum().backward()
    assert (w.grad.numpy() == 0).all()


@pytest.mark.parametrize("indices, error, message", [
    ([0, 7], IndexError, r"Embedding\(7, 4\): index 7 is out of range for 7 embeddings \(valid: 0 to 6\)"),
    ([-1, 2], IndexError, r"Embedding\(7, 4\): index -1 is out of range for 7 embeddings"),
    ([0.0, 1.0], TypeError, r"Embedding\(7, 4\): expected integer indices .* got dtype float32"),
])
def test_embedding_bad_indices(indices, error, message):
    with pytest.raises(error, match=message):
        nn.Embedding(7, 4)(cr.tensor(indices))


# ---------------------------------------------------------------------------- containers


def test_module_dict_parameter_list_and_dict_names_match_torch():
    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"b": nn.Linear(2, 3), "a": nn.Linear(3, 1)})
            self.scales = nn.ParameterList([cr.ones(3), nn.Parameter(cr.zeros(2))])
            self.extra = nn.ParameterDict({"t": cr.zeros(1)})

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = torch.nn.ModuleDict({"b": torch.nn.Linear(2, 3), "a": torch.nn.Linear(3, 1)})
            self.scales = torch.nn.ParameterList([torch.ones(3), torch.nn.Parameter(torch.zeros(2))])
            self.extra = torch.nn.ParameterDict({"t": torch.zeros(1)})

    ours, theirs = Ours(), Theirs()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours.parameters())
    assert list(ours.heads) == ["b", "a"] and "a" in ours.heads and len(ours.heads) == 2
    assert [k for k, _ in ours.heads.items()] == ["b", "a"] and ours.heads["a"] is ours.heads.a
    ours.heads["c"] = nn.ReLU()
    del ours.heads["b"]
    assert list(ours.heads.keys()) == ["a", "c"] and ours.heads.pop("c").__class__ is nn.ReLU
    ours.scales.append(cr.ones(4))
    assert len(ours.scales) == 3 and ours.scales[-1].shape == (4,)
    assert [n for n, _ in ours.scales.named_parameters()] == ["0", "1", "2"]
    ours.extra["u"] = cr.ones(2)
    assert list(ours.extra) == ["t", "u"] and ours.extra.get("v") is None
    with pytest.raises(KeyError, match=r"ModuleDict: no module named 'zz'"):
        ours.heads["zz"]
    with pytest.raises(KeyError, match=r"attribute 'keys' already exists"):
        nn.ModuleDict({"keys": nn.ReLU()})
    with pytest.raises(KeyError, match=r'module name can.{1,2}t contain ".", got: a.b'):
        nn.ModuleDict({"a.b": nn.ReLU()})
    with pytest.raises(TypeError, match=r"ParameterList.append: expected a Parameter or Tensor, got int"):
        nn.ParameterList([1])


def test_sequential_and_module_list_editing_match_torch():
    def build(lib):
        return lib.Sequential(lib.Linear(2, 3), lib.ReLU(), lib.Linear(3, 4), lib.Tanh())

    ours, theirs = build(nn), build(torch.nn)
    for model, lib in ((ours, nn), (theirs, torch.nn)):
        del model[1]
        model.insert(1, lib.Sigmoid())
        model.insert(-1, lib.ReLU())
        model[0] = lib.Linear(2, 3)
        model.pop(2)
        model.extend(lib.Sequential(lib.Identity()))
        model.append(lib.Tanh())
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(ours + nn.Sequential(nn.ReLU())) == len(ours) + 1
    layers = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
    layers.insert(0, nn.Tanh())
    layers += [nn.Sigmoid()]
    del layers[1]
    assert [type(m).__name__ for m in layers] == ["Tanh", "ReLU", "Sigmoid"]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2"]


# ---------------------------------------------------------------------------- Module API


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.SiLU())
        self.head = nn.Linear(4, 2)
        self.register_buffer("scratch", cr.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.body(x))


def test_state_dict_holds_tensors_sharing_the_model_s_memory_and_loads_back():
    cr.manual_seed(0)
    model = Net()
    state = model.state_dict()
    assert list(state) == ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "body.1.running_mean",
                           "body.1.running_var", "body.1.num_batches_tracked", "head.weight", "head.bias"]
    assert all(type(v) is cr.Tensor and not v.requires_grad for v in state.values())
    assert state["body.1.num_batches_tracked"].dtype == np.int64 and state["body.1.num_batches_tracked"].shape == ()
    snapshot = copy.deepcopy(state)
    state["head.bias"][...] = 7.0  # as torch: written into the model (a snapshot takes copy.deepcopy)
    assert (model.head.bias.data.numpy() == 7.0).all() and (snapshot["head.bias"].numpy() != 7.0).all()
    assert model.state_dict(keep_vars=True)["head.bias"] is model.head.bias
    assert next(iter(model.state_dict(prefix="net."))) == "net.body.0.weight"
    other = Net()
    weight = other.head.weight
    result = other.load_state_dict(state)
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    assert other.head.weight is weight and (other.head.bias.data.numpy() == 7.0).all()
    # the torch twin takes the same dict (the names and shapes match torch's)
    twin = torch.nn.Module()
    twin.body = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.SiLU())
    twin.head = torch.nn.Linear(4, 2)
    twin.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in state.items()})


def test_load_state_dict_errors_are_runtime_errors_as_torch():
    model = Net()
    state = model.state_dict()
    del state["head.bias"]
    with pytest.raises(RuntimeError, match=r"missing keys \['head.bias'\], unexpected keys \[\]"):
        model.load_state_dict(state)
    assert model.load_state_dict(state, strict=False).missing_keys == ["head.bias"]
    state = model.state_dict()
    state["head.weight"] = cr.zeros(4, 2)
    with pytest.raises(RuntimeError, match=r"head.weight has shape \(2, 4\) in the model but \(4, 2\)"):
        model.load_state_dict(state)


def test_to_device_and_dtype_forms():
    model = Net()
    assert model.to("cpu") is model and model.to(device="cpu:0") is model
    assert model.to(dtype=np.float64).head.weight.dtype == np.float64
    assert model.body[1].running_mean.dtype == np.float64
    assert model.to(cr.zeros(1, dtype=np.float32)).head.weight.dtype == np.float32
    assert model.to("cpu", np.float64).head.bias.dtype == np.float64
    assert model.half().head.weight.dtype == np.float16 and model.float().cpu() is model
    with pytest.raises(RuntimeError, match=r"Net.to: chainrule runs on the CPU only .* device 'cuda'"):
        model.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        model.cuda()


def test_traversal_buffers_apply_and_lookup():
    model = Net()
    assert [n for n, _ in model.named_buffers()] == ["scratch", "body.1.running_mean", "body.1.running_var",
                                                     "body.1.num_batches_tracked"]
    assert "scratch" not in model.state_dict()  # persistent=False
    assert [n for n, _ in model.named_buffers(recurse=False)] == ["scratch"]
    assert model.get_submodule("body.1") is model.body[1] and model.get_submodule("") is model
    assert model.get_parameter("head.weight") is model.head.weight
    assert model.get_buffer("body.1.running_var") is model.body[1].running_var
    with pytest.raises(AttributeError, match=r"Sequential has no attribute `7`"):
        model.get_submodule("body.7")
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "SiLU", "Sequential", "Linear", "Net"]  # children first, as torch
    shared = nn.Linear(2, 2)
    tied = nn.Sequential(shared, shared)
    assert len(list(tied.parameters())) == 2
    assert len(list(tied.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in tied.named_modules(remove_duplicate=False)] == ["", "0", "1"]
    model(cr.randn(5, 3)).sum().backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.requires_grad_(False).head.weight.requires_grad is False


def test_module_name_checks_as_torch():
    model = nn.Module()
    with pytest.raises(KeyError, match=r'module name can.{1,2}t be empty string ""'):
        model.add_module("", nn.ReLU())
    with pytest.raises(TypeError, match=r"add_module: module name should be a string, got int 3"):
        model.add_module(3, nn.ReLU())
    model.register_module("act", nn.ReLU())
    assert model.act.__class__ is nn.ReLU
    model.x = 1
    with pytest.raises(KeyError, match=r"attribute 'x' already exists"):
        model.register_buffer("x", cr.zeros(1))


# ---------------------------------------------------------------------------- init


def test_new_initializers():
    w = cr.zeros(3, 5, requires_grad=True)
    counter = w.detach()._version_counter()
    assert init.eye_(w) is w and counter[0] == 1
    np.testing.assert_array_equal(w.data.numpy(), np.eye(3, 5))
    for shape in [(4, 6), (6, 4), (3, 2, 2)]:
        q = init.orthogonal_(cr.zeros(*shape, dtype=np.float64), gain=2.0).numpy().reshape(shape[0], -1)
        small = min(q.shape)
        gram = q @ q.T if q.shape[0] == small else q.T @ q
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-12)
    big = cr.zeros(20000)
    init.trunc_normal_(big, mean=0.5, std=1.0, a=-1.0, b=1.5)
    values = big.numpy()
    theirs = torch.nn.init.trunc_normal_(torch.zeros(20000), mean=0.5, std=1.0, a=-1.0, b=1.5).numpy()
    assert values.min() >= -1.0 and values.max() <= 1.5
    assert abs(values.mean() - theirs.mean()) < 0.03 and abs(values.std() - theirs.std()) < 0.03
    with pytest.raises(ValueError, match=r"eye_: only tensors with 2 dimensions are supported"):
        init.eye_(cr.zeros(2, 2, 2))
    with pytest.raises(ValueError, match=r"orthogonal_: only tensors with 2 or more dimensions"):
        init.orthogonal_(cr.zeros(3))


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_,
                                init.xavier_normal_, init.normal_, init.uniform_, init.orthogonal_,
                                init.trunc_normal_])
def test_initializers_take_a_generator_and_bump_the_version(fn):
    draws = []
    for _ in range(2):
        w = cr.zeros(4, 3, requires_grad=True)
        g = Generator().manual_seed(11)
        assert fn(w, generator=g) is w
        assert w._version_counter()[0] == 1
        draws.append(w.data.numpy().copy())
    np.testing.assert_array_equal(draws[0], draws[1])
    assert draws[0].std() > 0


def test_kaiming_on_zero_elements_is_a_no_op_with_torchs_warning():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(cr.zeros(0, 3))


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("tanh", None), ("relu", None),
                                                 ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert math.isclose(init.calculate_gain(nonlinearity, param), torch.nn.init.calculate_gain(nonlinearity, param))


def test_ordered_dict_sequential_and_unflatten_round_trip():
    model = nn.Sequential(OrderedDict(flat=nn.Flatten(), grow=nn.Unflatten(1, (3, 4))))
    assert model(cr.zeros(2, 3, 4)).shape == (2, 3, 4)
