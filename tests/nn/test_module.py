"""Module: traversal and names, modes, zero_grad, state_dict round trips, strict loading, hooks, dtype casts."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from nn_helpers import torch_state

import chainrule as cr
from chainrule import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(),
                                    nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1)))
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.layers(x))


class TorchBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                          torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.1)))
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.layers(x))


def test_names_match_torch_in_nested_sequential():
    ours, theirs = Block(), TorchBlock()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [type(m).__name__ for m in ours.children()] == ["Sequential", "Linear"]
    assert len(list(ours.parameters())) == 8
    assert len(list(ours.buffers())) == 3


def test_state_dict_loads_into_torch_and_back():
    cr.manual_seed(0)
    ours, theirs = Block(), TorchBlock()
    theirs.load_state_dict(torch_state(ours), strict=True)
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(cr.tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    torch.manual_seed(1)
    theirs = TorchBlock()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for name, param in ours.named_parameters():
        np.testing.assert_array_equal(param.data, theirs.state_dict()[name].numpy())


def test_state_dict_round_trip_shares_values():
    cr.manual_seed(0)
    source = Block()
    source(cr.randn(6, 3))  # moves the running statistics
    snapshot = copy.deepcopy(source.state_dict())
    state = source.state_dict()
    assert all(isinstance(v, cr.Tensor) for v in state.values())  # as torch: tensors, buffers included
    state["head.bias"][...] = 99.0  # as torch: the values share the model's memory
    assert (source.head.bias.data == 99.0).all() and (snapshot["head.bias"] != 99.0).all()
    cr.manual_seed(1)
    target = Block()
    weight = target.head.weight._data
    missing, unexpected = target.load_state_dict(source.state_dict())
    assert missing == [] and unexpected == []
    assert target.head.weight._data is weight  # loaded in place: optimizers keep their references
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert int(target.layers[1].num_batches_tracked) == 1


def test_load_state_dict_strict_errors_name_the_keys():
    model = Block()
    state = model.state_dict()
    del state["head.bias"]
    state["head.scale"] = np.ones(2)
    with pytest.raises(KeyError, match=r"missing keys \['head.bias'\], unexpected keys \['head.scale'\]"):
        model.load_state_dict(state)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["head.bias"] and unexpected == ["head.scale"]


def test_load_state_dict_shape_mismatch_changes_nothing():
    model = Block()
    before = model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    state["head.weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"load_state_dict: head.weight has shape \(2, 4\) in the model but \(3, 4\)"):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("assign", [False, True])
def test_load_state_dict_assign_shares_or_copies_as_torch(assign):
    weight, bias = np.arange(6.0).reshape(2, 3), np.array([0.5, -0.5])  # float64 into a float32 layer
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours.load_state_dict({"weight": weight, "bias": bias}, assign=assign)
    their_weight = torch.from_numpy(weight.copy())
    theirs.load_state_dict({"weight": their_weight, "bias": torch.from_numpy(bias.copy())}, assign=assign)
    weight[0, 0] = their_weight[0, 0] = 100.0  # a change to the given array after loading
    assert str(ours.weight.dtype).removeprefix("cr.") == str(theirs.weight.dtype).removeprefix("torch.")
    assert ours.weight[0, 0].item() == theirs.weight[0, 0].item()
    assert isinstance(ours.weight, nn.Parameter) and ours.weight.requires_grad == theirs.weight.requires_grad


def test_train_eval_reach_every_submodule():
    model = Block()
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match=r"Block.train: mode must be a bool, got str 'no'"):
        model.train("no")


def test_a_child_registered_as_none_is_skipped_as_in_torch():
    ours, theirs = nn.Module(), torch.nn.Module()
    for m, mod in ((ours, nn), (theirs, torch.nn)):
        m.add_module("gone", None)
        m.add_module("head", mod.Linear(2, 2))
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()] == ["head"]
    assert [type(c).__name__ for c in ours.children()] == ["Linear"]
    visited = []
    assert ours.apply(lambda m: visited.append(type(m).__name__)) is ours  # used to call None.apply
    assert visited == ["Linear", "Module"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["head.weight", "head.bias"]


def test_zero_grad():
    model = nn.Linear(2, 2)
    model(cr.ones(1, 2)).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert (model.weight.grad == 0).all()
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_forward_hooks_see_and_may_replace():
    layer = nn.Linear(2, 3)
    seen = []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape, out.shape)))
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    x = cr.ones(4, 2)
    out = layer(x)
    assert seen == [(layer, (4, 2), (4, 3))]
    np.testing.assert_allclose(out.data, (2 * x.data) @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    replaced = layer.register_forward_hook(lambda m, args, out: out * 0)
    assert (layer(x).data == 0).all()
    for h in (handle, pre, replaced):
        h.remove()
    layer(x)
    assert len(seen) == 2


def test_backward_hook_gets_the_output_gradient():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    grads = {}
    with model[1].register_full_backward_hook(lambda m, grad_in, grad_out: grads.setdefault("tanh", grad_out)):
        x = cr.randn(4, 2, requires_grad=True)
        model(x).sum().backward()
    # d sum / d tanh_output = the last layer's weight, for every row (torch's tuple of tensors)
    np.testing.assert_allclose(grads["tanh"][0], np.broadcast_to(model[2].weight.data, (4, 3)), rtol=1e-6)
    grads.clear()
    model(x).sum().backward()
    assert grads == {}  # removed by the with block


def test_backward_pre_hook_may_replace_the_output_gradient():
    layer = nn.Linear(2, 2)
    layer.register_full_backward_pre_hook(lambda m, grad_out: (grad_out[0] * 0,))
    x = cr.ones(3, 2, requires_grad=True)
    layer(x).sum().backward()
    assert (x.grad == 0).all() and (layer.weight.grad == 0).all()


def test_a_backward_hook_on_a_module_of_two_inputs_says_it_is_not_available():
    class Pair(nn.Module):
        def forward(self, a, b):
            return a * b

    pair = Pair()
    pair.register_full_backward_hook(lambda m, grad_in, grad_out: None)
    with pytest.raises(NotImplementedError, match="Pair: backward hooks on a module called with 2 tensors"):
        pair(cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True))


def test_parameter_slot_refuses_a_plain_tensor():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"Linear: cannot assign a Tensor to parameter 'weight'; expected a Parameter"):
        layer.weight = cr.zeros(2, 2)
    layer.weight = nn.Parameter(np.zeros((2, 2), np.float32))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]  # order kept


def test_double_casts_parameters_and_buffers():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    assert model(cr.ones(4, 2, dtype=np.float64)).dtype == np.float64
    assert model.float()[0].weight.dtype == np.float32
    with pytest.raises(TypeError, match=r"Sequential.to: dtype must be a floating-point type, got int32"):
        model.to(np.int32)


def test_copy_and_pickle_keep_structure_and_values():
    model = Block()
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert list(clone.state_dict()) == list(model.state_dict())
        assert clone.head.weight is not model.head.weight
        np.testing.assert_array_equal(clone.head.weight.data, model.head.weight.data)


def test_repr_of_a_custom_module():
    assert repr(Block()) == repr(TorchBlock()).replace("TorchBlock", "Block")
