"""Callbacks: EarlyStopping stops and restores, TerminateOnNaN stops on NaN, ModelCheckpoint writes, and friends."""

import copy
import io
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.training import (
    Callback,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    MLPSpec,
    ModelCheckpoint,
    TerminateOnNaN,
    build_mlp,
    fit,
)

from .training_helpers import blobs


def small_model(seed=0):
    return build_mlp(MLPSpec(4, (16,), 3), seed=seed)


class ValLossScript(Callback):
    """Overwrites val_loss with a scripted sequence (so the test decides which epoch is best) and
    snapshots the weights at each epoch end."""

    def __init__(self, values):
        self.values, self.weights = values, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        self.weights.append(copy.deepcopy(self.trainer.model.state_dict()))  # (its values alias the model, as torch)


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    train, val = blobs(), blobs(n=60, seed=1)
    script = ValLossScript([1.0, 0.5, 0.7, 0.6, 0.55, 0.1, 0.1])
    stopper = EarlyStopping(patience=2, restore_best_weights=True)
    model = small_model()
    history = fit(model, train, val, epochs=7, lr=1e-2, verbose=0, callbacks=[script, stopper])
    # Best at epoch 1; epochs 2 and 3 are within patience; epoch 4 (0.55) still no better: stop there.
    assert len(history.epochs) == 5 and history.stopped_early
    assert stopper.stopped_epoch == 4 and stopper.best_epoch == 1
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, script.weights[1][key])
    assert not np.array_equal(script.weights[1]["layers.0.weight"], script.weights[4]["layers.0.weight"])
    assert any("EarlyStopping" in m for m in history.messages)


def test_early_stopping_min_delta_and_accuracy_mode():
    stopper = EarlyStopping(monitor="val_loss", patience=0, min_delta=0.1)
    script = ValLossScript([1.0, 0.95, 0.5])  # 0.95 is not better by min_delta
    history = fit(small_model(), blobs(), blobs(n=60, seed=1), epochs=3, verbose=0,
                  callbacks=[script, stopper])
    assert len(history.epochs) == 2
    stopper = EarlyStopping(monitor="accuracy", patience=1)
    assert stopper.mode == "auto"
    fit(small_model(), blobs(), epochs=2, verbose=0, callbacks=[stopper])
    assert stopper._tracker.mode == "max"


def test_early_stopping_without_validation_data_says_what_to_do():
    with pytest.raises(ValueError, match=r"monitor 'val_loss' is not in the epoch logs.*pass val= to fit"):
        fit(small_model(), blobs(), epochs=2, verbose=0, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="patience must be a non-negative int"):
        EarlyStopping(patience=-1)


def test_terminate_on_nan_stops_at_the_first_non_finite_loss():
    X = blobs().X.copy()
    X *= 1e30  # float32 overflow: the logits and the loss become inf/NaN in the first batches
    stopper = TerminateOnNaN()
    with np.errstate(over="ignore", invalid="ignore"):
        history = fit(build_mlp(MLPSpec(4, (16,), 3), seed=0), (X, blobs().y), epochs=5, batch_size=16,
                      optimizer="sgd", lr=1.0, verbose=0, callbacks=[stopper])
    assert history.stopped_early and len(history.epochs) == 1
    assert stopper.trainer.step < stopper.trainer.batches_per_epoch  # stopped inside the first epoch
    assert not math.isfinite(stopper.trainer.last_loss)
    assert any("TerminateOnNaN" in m for m in history.messages)
    assert history.to_dict()["epochs"][0]["loss"] is None  # NaN is written as null in JSON


def test_model_checkpoint_writes_every_epoch_or_only_the_best(tmp_path):
    every = ModelCheckpoint(tmp_path / "epoch-{epoch:02d}.safetensors", monitor="loss")
    best = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_loss", save_best_only=True)
    script = ValLossScript([0.9, 0.4, 0.8])
    model = small_model()
    fit(model, blobs(), blobs(n=60, seed=1), epochs=3, verbose=0, callbacks=[script, every, best])
    assert sorted(p.name for p in tmp_path.glob("epoch-*")) == ["epoch-01.safetensors", "epoch-02.safetensors",
                                                                 "epoch-03.safetensors"]
    assert best.saved == [str(tmp_path / "best.safetensors")] * 2  # epochs 0 and 1 improved, 2 did not
    restored = cr.load(tmp_path / "best.safetensors")
    np.testing.assert_array_equal(restored.layers[0].weight.data, script.weights[1]["layers.0.weight"])
    last = cr.load(tmp_path / "epoch-03.safetensors")
    np.testing.assert_array_equal(last.layers[0].weight.data, model.layers[0].weight.data)


def test_lambda_callback_and_its_errors():
    seen = []
    cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch),
                        on_after_backward=lambda batch, logs: seen.append("b") if batch == 0 else None)
    fit(small_model(), blobs(), epochs=2, verbose=0, callbacks=[cb])
    assert seen == ["b", 0, "b", 1]
    with pytest.raises(ValueError, match="unknown hook 'on_step'"):
        LambdaCallback(on_step=print)
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        LambdaCallback(on_epoch_end=3)


def test_learning_rate_scheduler_callback():
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    history = fit(model, blobs(), optimizer=opt, epochs=4, verbose=0,
                  callbacks=[LearningRateScheduler(sched)])
    assert history.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    with pytest.raises(TypeError, match="expected an lr_scheduler with step"):
        LearningRateScheduler(object())


def test_progress_bar_renders_on_a_terminal():
    from rich.console import Console

    from chainrule.training import ProgressBar

    console = Console(file=io.StringIO(), force_terminal=True, record=True, width=120)

    class Talker(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.trainer.log(f"finding at epoch {epoch} in [Linear] layers.0")

    fit(small_model(), blobs(), blobs(n=60, seed=1), epochs=2, verbose=1,
        callbacks=[ProgressBar(console=console), Talker()])
    text = console.export_text()
    assert "epoch 2/2  loss" in text and "val_accuracy" in text
    assert "finding at epoch 1 in [Linear] layers.0" in text  # printed as is, not as rich markup
    silent = Console(file=io.StringIO(), force_terminal=True, record=True)
    fit(small_model(), blobs(), epochs=1, verbose=0, callbacks=[ProgressBar(console=silent)])
    assert silent.export_text() == ""


def test_progress_bar_prints_one_plain_line_per_epoch_when_output_is_not_a_terminal():
    from rich.console import Console

    from chainrule.training import ProgressBar

    piped = io.StringIO()
    console = Console(file=piped, force_terminal=False, width=120)  # e.g. `chainrule train ... > log.txt`

    class Talker(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.trainer.log("a finding worth reading")

    history = fit(small_model(), blobs(), epochs=3, verbose=1, callbacks=[ProgressBar(console=console), Talker()])
    # No bar or ETA in a log file: per epoch one line (number, loss, metrics, seconds), and the callback's line.
    lines = piped.getvalue().splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/3", "2/3", "3/3"]
    for line, logs in zip(epoch_lines, history.epochs):
        assert f"loss {logs['loss']:.4f}" in line and f"accuracy {logs['accuracy']:.4f}" in line
        assert line.endswith(f"{logs['seconds']:.1f}s")
    assert lines.count("a finding worth reading") == 1 and "\x1b" not in piped.getvalue()
