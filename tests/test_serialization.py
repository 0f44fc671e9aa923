"""chainrule.save/load: safetensors weights + JSON architecture, atomic writes, clear errors, no code execution."""

import json
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule import _io, nn, serialization
from chainrule.training import MLP, MLPSpec, build_mlp


def every_layer_sequential():
    cr.manual_seed(3)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(6, 8), nn.BatchNorm1d(8, eps=1e-3, momentum=0.2), nn.LeakyReLU(0.2),
        nn.Dropout(0.25), nn.Linear(8, 8, bias=False), nn.LayerNorm(8, eps=1e-4), nn.GELU(approximate="tanh"),
        nn.Sequential(nn.Linear(8, 4), nn.Tanh()), nn.Sigmoid(), nn.ReLU(), nn.Identity(),
        nn.BatchNorm1d(4, affine=False, track_running_stats=False), nn.Linear(4, 3), nn.Softmax(dim=1),
    )


def outputs(model, x):
    with cr.no_grad():
        return model.eval()(cr.tensor(x)).data


def test_mlp_round_trip_keeps_spec_weights_and_buffers(tmp_path):
    spec = MLPSpec(5, (7, 6), 3, activation="leaky_relu", batch_norm=True, dropout=0.1, init="he",
                   negative_slope=0.05)
    model = build_mlp(spec, seed=0)
    x = np.random.default_rng(0).normal(size=(16, 5)).astype(np.float32)
    model.train()(cr.tensor(x))  # move the BatchNorm running statistics away from their defaults
    path = tmp_path / "mlp.safetensors"
    cr.save(model, path)
    loaded = cr.load(path)
    assert isinstance(loaded, MLP) and loaded.spec == spec and not loaded.training
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value, err_msg=key)
    np.testing.assert_array_equal(outputs(loaded, x), outputs(model, x))


def test_sequential_of_every_builtin_layer_round_trips(tmp_path):
    model = every_layer_sequential()
    x = np.random.default_rng(1).normal(size=(10, 2, 3)).astype(np.float32)
    model.train()(cr.tensor(x))
    cr.save(model, tmp_path / "seq.safetensors")
    loaded = cr.load(tmp_path / "seq.safetensors")
    assert repr(loaded) == repr(model)  # every constructor argument came back
    np.testing.assert_array_equal(outputs(loaded, x), outputs(model, x))


def test_file_is_plain_safetensors_with_json_architecture(tmp_path):
    import safetensors.numpy

    model = build_mlp(MLPSpec(2, (3,), 2), seed=0)
    cr.save(model, tmp_path / "m.safetensors")
    data = (tmp_path / "m.safetensors").read_bytes()
    tensors = safetensors.numpy.load(data)  # any safetensors reader gets the weights by state_dict name
    assert sorted(tensors) == sorted(model.state_dict())
    (size,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8:8 + size])["__metadata__"]
    assert json.loads(metadata["chainrule.architecture"]) == {"type": "MLP", "spec": model.spec.to_dict()}


def test_custom_module_is_a_clear_error(tmp_path):
    class Mine(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

    with pytest.raises(TypeError, match=r"cannot describe a Mine layer.*save_state_dict"):
        cr.save(Mine(), tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="cannot describe a Mine layer"):
        cr.save(nn.Sequential(nn.Linear(2, 2), Mine()), tmp_path / "x.safetensors")
    assert not list(tmp_path.iterdir())
    # The escape hatch: weights only, rebuilt by the user.
    serialization.save_state_dict(Mine().state_dict(), tmp_path / "w.safetensors")
    assert sorted(serialization.load_state_dict(tmp_path / "w.safetensors")) == ["fc.bias", "fc.weight"]
    with pytest.raises(ValueError, match="holds weights without an architecture"):
        cr.load(tmp_path / "w.safetensors")


def test_truncated_and_corrupted_files_are_value_errors_naming_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    cr.save(build_mlp(MLPSpec(4, (8,), 2), seed=0), path)
    good = path.read_bytes()
    cases = {
        "truncated.safetensors": good[: len(good) - 10],
        "header-only.safetensors": good[:5],
        "flipped.safetensors": good[:-4] + bytes(b ^ 0xFF for b in good[-4:]),  # a weight changed: digest fails
        "garbage.safetensors": b"\x00" * 64,
        "text.safetensors": b"import os; os.system('echo pwned')",
    }
    for name, data in cases.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        with pytest.raises(ValueError, match=f"'{bad}'.*(truncated or corrupted|not one chainrule wrote)"):
            cr.load(bad)
    with pytest.raises(FileNotFoundError, match="no file at"):
        cr.load(tmp_path / "missing.safetensors")


def test_foreign_safetensors_file_is_a_clear_error(tmp_path):
    import safetensors.numpy

    safetensors.numpy.save_file({"w": np.zeros(3, np.float32)}, tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="not one chainrule wrote"):
        cr.load(tmp_path / "other.safetensors")


def test_crash_mid_write_keeps_the_previous_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    first = build_mlp(MLPSpec(4, (8,), 2), seed=0)
    cr.save(first, path)
    before = path.read_bytes()

    def crash(f, data):
        f.write(data[: len(data) // 2])
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(_io, "_write_bytes", crash)
    with pytest.raises(OSError, match="simulated"):
        cr.save(build_mlp(MLPSpec(4, (8,), 2), seed=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
    np.testing.assert_array_equal(cr.load(path).layers[0].weight.data, first.layers[0].weight.data)


def test_weights_that_do_not_fit_the_architecture_are_a_clear_error(tmp_path):
    model = build_mlp(MLPSpec(4, (8,), 2), seed=0)
    state = model.state_dict()
    state["layers.0.weight"] = np.zeros((8, 5), np.float32)
    metadata = {"format": "chainrule", "chainrule.architecture": json.dumps(serialization.architecture(model))}
    serialization.write_tensors(tmp_path / "bad.safetensors", state, metadata)
    with pytest.raises(ValueError, match=r"don't fit its architecture.*layers\.0\.weight"):
        cr.load(tmp_path / "bad.safetensors")
    metadata["chainrule.architecture"] = json.dumps({"type": "Conv2d"})
    serialization.write_tensors(tmp_path / "conv.safetensors", state, metadata)
    with pytest.raises(ValueError, match="unknown layer type 'Conv2d'"):
        cr.load(tmp_path / "conv.safetensors")
