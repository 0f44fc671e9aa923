"""Must show (5): checkpoints resume to the exact same losses, survive a crash mid-write, reject damaged files."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import _io, optim
from chainrule.training import LambdaCallback, MLPSpec, build_mlp, fit, load_checkpoint, save_checkpoint

from .training_helpers import blobs

SPEC = MLPSpec(4, (16, 16), 3, batch_norm=True, dropout=0.2)  # dropout and shuffling draw from the generator


def run(model, opt, **kwargs):
    return fit(model, blobs(), blobs(n=60, seed=1), optimizer=opt, batch_size=16, verbose=0, **kwargs)


def test_resume_from_a_checkpoint_gives_the_same_losses_as_an_uninterrupted_run(tmp_path):
    model = build_mlp(SPEC, seed=0)
    straight = run(model, optim.Adam(model.parameters(), lr=1e-2), epochs=6, seed=0)

    path = tmp_path / "ckpt.safetensors"
    model = build_mlp(SPEC, seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    saver = LambdaCallback(on_epoch_end=lambda epoch, logs: save_checkpoint(
        path, saver.trainer.model, saver.trainer.optimizer, epoch=epoch + 1, history=saver.trainer.history))
    first = run(model, opt, epochs=3, seed=0, callbacks=[saver])
    del model, opt

    cr.manual_seed(12345)  # a fresh process: the generator is somewhere else entirely
    ckpt = load_checkpoint(path)  # the model is rebuilt from the architecture stored in the file
    opt = optim.Adam(ckpt.model.parameters(), lr=1e-2)
    load_checkpoint(path, ckpt.model, opt)  # and the optimizer state (and generator) restored
    assert ckpt.epoch == 3 and [e["epoch"] for e in ckpt.history] == [0, 1, 2]
    rest = run(ckpt.model, opt, epochs=6, initial_epoch=ckpt.epoch, seed=None)

    resumed = first.history["loss"] + rest.history["loss"]
    assert resumed == straight.history["loss"]  # exactly: bit-identical float64 epoch means
    assert first.history["val_loss"] + rest.history["val_loss"] == straight.history["val_loss"]


def test_resume_without_the_rng_state_would_differ(tmp_path):
    # The control for the test above: restoring weights and optimizer alone is not enough.
    path = tmp_path / "ckpt.safetensors"
    model = build_mlp(SPEC, seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    run(model, opt, epochs=2, seed=0)
    save_checkpoint(path, model, opt, epoch=2)
    expected = run(model, opt, epochs=3, initial_epoch=2, seed=None).history["loss"]
    model2 = build_mlp(SPEC, seed=0)
    opt2 = optim.Adam(model2.parameters(), lr=1e-2)
    cr.manual_seed(99)
    load_checkpoint(path, model2, opt2, restore_rng=False)
    assert run(model2, opt2, epochs=3, initial_epoch=2, seed=None).history["loss"] != expected


def test_crash_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    model = build_mlp(SPEC, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    run(model, opt, epochs=1, seed=0)
    save_checkpoint(path, model, opt, epoch=1)
    good = path.read_bytes()
    run(model, opt, epochs=2, initial_epoch=1, seed=None)

    def killed(f, data):
        f.write(data[: len(data) // 3])
        f.flush()
        raise KeyboardInterrupt  # the process is stopped mid-write

    monkeypatch.setattr(_io, "_write_bytes", killed)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, opt, epoch=2)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no stray temporary file
    assert load_checkpoint(path, build_mlp(SPEC), optim.SGD(build_mlp(SPEC).parameters(), lr=0.1,
                                                            momentum=0.9)).epoch == 1


def test_damaged_or_mismatched_checkpoints_are_clear_errors(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model = build_mlp(SPEC, seed=0)
    opt = optim.Adam(model.parameters())
    run(model, opt, epochs=1)
    save_checkpoint(path, model, opt, epoch=1)
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"load_checkpoint: '.*cut\.safetensors' is not a readable"):
        load_checkpoint(tmp_path / "cut.safetensors")
    with pytest.raises(ValueError, match="holds Adam state, got a SGD"):
        load_checkpoint(path, build_mlp(SPEC), optim.SGD(build_mlp(SPEC).parameters(), lr=0.1))
    with pytest.raises(ValueError, match="don't fit the model"):
        load_checkpoint(path, build_mlp(SPEC.replace(hidden=(8, 8))))
    cr.save(model, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"not a chainrule checkpoint .*use chainrule\.load"):
        load_checkpoint(tmp_path / "model.safetensors")


def test_optimizer_state_round_trips_exactly(tmp_path):
    model = build_mlp(SPEC, seed=0)
    opt = optim.AdamW(model.parameters(), lr=3e-3, betas=(0.8, 0.95), weight_decay=0.05)
    run(model, opt, epochs=1)
    save_checkpoint(tmp_path / "c.safetensors", model, opt, epoch=1, extra={"note": "hello"})
    model2 = build_mlp(SPEC, seed=5)
    opt2 = optim.AdamW(model2.parameters(), lr=1.0)
    ckpt = load_checkpoint(tmp_path / "c.safetensors", model2, opt2)
    assert ckpt.extra == {"note": "hello"}
    a, b = opt.state_dict(), opt2.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for index, state in a["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(np.asarray(b["state"][index][key]), np.asarray(value))
