"""cr.save/cr.load of state dicts and trees of tensors, as torch.save/torch.load: safetensors, never pickle."""

from __future__ import annotations

import json
import struct
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.numpy

import chainrule as cr
from chainrule import nn, optim


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.SiLU())

    def forward(self, idx):
        return self.body(self.emb(idx))


def test_state_dict_round_trip_as_torch(tmp_path):
    cr.manual_seed(0)
    model = Custom()
    model(cr.tensor([0, 1, 2, 4]))  # move the running statistics
    path = tmp_path / "weights.safetensors"
    cr.save(model.state_dict(), path)
    loaded = cr.load(path)
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(model.state_dict())
    assert all(type(v) is cr.Tensor for v in loaded.values())
    assert loaded["body.1.num_batches_tracked"].shape == () and loaded["body.1.num_batches_tracked"].item() == 1
    cr.manual_seed(1)
    fresh = Custom()
    assert fresh.load_state_dict(loaded) == ([], [])
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    # any safetensors reader sees the weights under their state_dict names
    assert sorted(safetensors.numpy.load(path.read_bytes())) == sorted(model.state_dict())


def test_a_checkpoint_dict_with_optimizer_state_and_numbers(tmp_path):
    model = nn.Linear(2, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(cr.ones(3, 2)).sum().backward()
    opt.step()
    checkpoint = {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(), "note": None,
                  "losses": [0.5, 0.25], "shape": (2, 2), "mask": np.array([True, False]), "nan": float("nan")}
    cr.save(checkpoint, tmp_path / "ckpt.safetensors")
    back = cr.load(tmp_path / "ckpt.safetensors", map_location="cpu", weights_only=True)
    assert type(back) is dict and back["epoch"] == 3 and back["note"] is None and back["losses"] == [0.5, 0.25]
    assert back["shape"] == (2, 2) and np.isnan(back["nan"])
    assert isinstance(back["mask"], np.ndarray) and back["mask"].tolist() == [True, False]
    assert list(back["optimizer"]["state"]) == [0, 1]  # int keys come back as ints
    other = optim.Adam(nn.Linear(2, 2).parameters(), lr=0.1)
    other.load_state_dict(back["optimizer"])
    assert other.state_dict()["state"][0]["step"] == 1


def test_single_tensors_and_parameters(tmp_path):
    t = cr.tensor([[1.0, 2.0]], requires_grad=True)
    cr.save([t, nn.Parameter(cr.ones(2)), cr.tensor([1, 2])], tmp_path / "t.safetensors")
    a, p, i = cr.load(tmp_path / "t.safetensors")
    assert type(a) is cr.Tensor and a.requires_grad and a.tolist() == [[1.0, 2.0]]
    assert isinstance(p, nn.Parameter) and p.requires_grad
    assert i.dtype == np.int64
    a.data[...] = 0  # loaded tensors own writable memory
    cr.save(t, tmp_path / "one.safetensors")
    assert cr.load(tmp_path / "one.safetensors").tolist() == [[1.0, 2.0]]


def test_file_layout_and_models_still_round_trip(tmp_path):
    cr.save({"w": cr.zeros(2)}, tmp_path / "s.safetensors")
    data = (tmp_path / "s.safetensors").read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8:8 + size])["__metadata__"]
    assert json.loads(metadata["chainrule.object"]) == {"__dict__": {"w": {"__tensor__": "w"}}}
    model = nn.Sequential(nn.Embedding(4, 2), nn.Flatten(), nn.Linear(6, 3), nn.ELU(0.5), nn.Softplus(2.0),
                          nn.Hardtanh(-2.0, 2.0), nn.Mish(), nn.LogSoftmax(dim=1), nn.Unflatten(1, (3, 1)))
    cr.save(model, tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    assert repr(loaded) == repr(model)
    idx = cr.tensor([[0, 1, 3], [2, 2, 0]])
    np.testing.assert_array_equal(loaded(idx).detach().numpy(), model.eval()(idx).detach().numpy())


def test_objects_that_need_pickle_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"chainrule.save: cannot store a set at 'tags'.*never pickles"):
        cr.save({"tags": {1, 2}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match=r"cannot store a function"):
        cr.save(lambda: 0, tmp_path / "x.safetensors")
    assert not list(tmp_path.iterdir())
    with pytest.raises(RuntimeError, match=r"chainrule.load: chainrule runs on the CPU only"):
        cr.load(tmp_path / "x.safetensors", map_location="cuda")
