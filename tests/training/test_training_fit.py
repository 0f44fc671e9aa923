"""fit: history, determinism, the eval-mode metrics, argument and data errors, schedulers, clipping."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.training import Callback, MLPSpec, build_mlp, fit

from .training_helpers import blobs


def small_model(seed=0, **changes):
    return build_mlp(MLPSpec(4, (16,), 3, **changes), seed=seed)


def test_fit_learns_and_fills_the_history(train_val):
    train, val = train_val
    history = fit(small_model(), train, val, epochs=4, verbose=0, lr=1e-2)
    assert [e["epoch"] for e in history.epochs] == [0, 1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        assert len(history.history[key]) == 4
    assert history.epochs[-1]["loss"] < history.epochs[0]["loss"]
    assert history.epochs[-1]["val_accuracy"] > 0.9
    assert history.epochs[-1]["lr"] == 1e-2
    assert not history.stopped_early and history.callbacks == []  # the loop adds no observer of its own
    assert history.to_dict()["epochs"][0]["epoch"] == 0


def test_same_seed_gives_bit_identical_losses(train_val):
    train, val = train_val
    runs = [fit(small_model(dropout=0.3), train, val, epochs=3, batch_size=16, verbose=0, seed=7)
            for _ in range(2)]
    assert runs[0].history["loss"] == runs[1].history["loss"]
    assert runs[0].history["val_loss"] == runs[1].history["val_loss"]
    other = fit(small_model(dropout=0.3), train, val, epochs=3, batch_size=16, verbose=0, seed=8)
    assert other.history["loss"] != runs[0].history["loss"]  # the seed drives shuffling and dropout


def test_accepts_tuples_and_dataloaders_and_optimizer_instances(train_val):
    train, _ = train_val
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    h1 = fit(model, (train.X, train.y), optimizer=opt, epochs=2, verbose=0)
    steps = []
    counter = Callback()
    counter.on_batch_end = lambda batch, logs: steps.append(batch)
    loader = cr.data.DataLoader(train, batch_size=50, drop_last=True)
    h2 = fit(small_model(), loader, epochs=2, verbose=0, callbacks=[counter])
    assert len(h1.epochs) == len(h2.epochs) == 2
    assert steps == [0, 1, 0, 1]  # the loader's batch_size and drop_last: 120 samples -> 2 batches of 50


def test_train_accuracy_is_measured_in_eval_mode(train_val):
    # With dropout p=0.9 the training-mode outputs are noise; eval-mode accuracy must not be.
    seen = []

    class Modes(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(self.trainer.model.training)

    train, _ = train_val
    model = small_model(dropout=0.5)
    history = fit(model, train, epochs=3, verbose=0, lr=1e-2, callbacks=[Modes()])
    assert all(seen)  # batches run in training mode ...
    manual = (model.eval()(cr.tensor(train.X)).argmax(dim=1).numpy() == train.y).mean()
    assert history.epochs[-1]["accuracy"] == pytest.approx(manual)  # ... accuracy is the eval-mode one


def test_hooks_run_in_order_with_trainer_state(train_val):
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"epoch_begin {epoch}")

        def on_after_backward(self, batch, logs=None):
            grads = [p.grad for p in self.trainer.model.parameters()]
            assert all(g is not None for g in grads)
            calls.append("after_backward")

        def on_batch_end(self, batch, logs=None):
            assert logs["loss"] == self.trainer.last_loss
            calls.append("batch_end")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            calls.append(f"train_end step={self.trainer.step}")

    train, val = train_val
    fit(small_model(), train, val, epochs=2, batch_size=60, verbose=0, callbacks=[Recorder()])
    keys = ["accuracy", "epoch", "loss", "lr", "seconds", "val_accuracy", "val_loss"]
    assert calls == ["train_begin", "epoch_begin 0", "after_backward", "batch_end", "after_backward", "batch_end",
                     f"epoch_end 0 {keys}", "epoch_begin 1", "after_backward", "batch_end", "after_backward",
                     "batch_end", f"epoch_end 1 {keys}", "train_end step=4"]


def test_clip_grad_norm_clips_before_the_step():
    norms = []

    class Norm(Callback):
        def on_batch_end(self, batch, logs=None):
            norms.append(float(np.sqrt(sum((p.grad ** 2).sum() for p in self.trainer.model.parameters()))))

    train = blobs()
    fit(build_mlp(MLPSpec(4, (16,), 3, init="normal:5.0"), seed=0), train, epochs=1, clip_grad_norm=0.5,
        optimizer="sgd", verbose=0, callbacks=[Norm()])
    assert max(norms) <= 0.5 + 1e-5


def test_scheduler_steps_once_per_epoch_and_plateau_uses_val_loss(train_val):
    train, val = train_val
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = fit(model, train, optimizer=opt, scheduler=step, epochs=3, verbose=0)
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])

    model = small_model()
    opt = optim.SGD(model.parameters(), lr=1e-6)  # far too small: val_loss cannot improve much
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.5)
    seen = []
    original = plateau.step
    plateau.step = lambda metric: (seen.append(metric), original(metric))
    history = fit(model, train, val, optimizer=opt, scheduler=plateau, epochs=3, verbose=0)
    assert seen == history.history["val_loss"]
    # The first epoch sets the best value; each later one fails to improve by 50 % and halves the lr.
    assert history.history["lr"] == pytest.approx([1e-6, 1e-6, 5e-7])


def test_regression_and_binary_losses_get_targets_in_the_right_form():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y_reg = (X @ np.array([1.0, -2.0, 0.5])).astype(np.float32)
    h = fit(build_mlp(MLPSpec(3, (8,), 1), seed=0), (X, y_reg), loss="mse", epochs=20, lr=1e-2,
            verbose=0)
    assert "accuracy" not in h.epochs[0] and h.epochs[-1]["loss"] < h.epochs[0]["loss"]
    y_bin = (X[:, 0] > 0).astype(np.int64)
    h = fit(build_mlp(MLPSpec(3, (8,), 1), seed=0), (X, y_bin), loss="bce_with_logits", epochs=20, lr=1e-2,
            verbose=0)
    assert h.epochs[-1]["accuracy"] > 0.9


ERRORS = [
    (dict(loss="hinge"), ValueError, "loss must be one of"),
    (dict(optimizer="adagrad"), ValueError, "optimizer must be one of"),
    (dict(epochs=0), ValueError, "epochs must be a positive int"),
    (dict(batch_size=-1), ValueError, "batch_size must be a positive int"),
    (dict(clip_grad_norm=0), ValueError, "clip_grad_norm must be a positive number"),
    (dict(metrics=("f1",)), ValueError, "metrics: only 'accuracy'"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), ERRORS)
def test_bad_arguments_are_clear_errors(kwargs, error, match, train_val):
    with pytest.raises(error, match=match):
        fit(small_model(), train_val[0], verbose=0, **kwargs)


def test_data_is_validated_before_training(train_val):
    train, _ = train_val
    with pytest.raises(ValueError, match=r"first layer layers.0 = Linear\(in_features=5.*expects 5 features.*has 4"):
        fit(build_mlp(MLPSpec(5, (8,), 3)), train, verbose=0)
    with pytest.raises(ValueError, match=r"class labels in 0..1"):
        fit(build_mlp(MLPSpec(4, (8,), 2)), train, verbose=0)
    bad = train.X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        fit(small_model(), (bad, train.y), verbose=0)
    with pytest.raises(TypeError, match=r"train must be a chainrule\.data\.Dataset, an \(X, y\) tuple"):
        fit(small_model(), train.X, verbose=0)
    with pytest.raises(TypeError, match=r"model must be a chainrule\.nn\.Module"):
        fit(lambda x: x, train, verbose=0)
    with pytest.raises(ValueError, match=r"lr=0\.1 was given with an Optimizer instance"):
        model = small_model()
        fit(model, train, optimizer=optim.Adam(model.parameters()), lr=0.1, verbose=0)


def _with(X=None, y=None, rows=12, features=4):
    """Clean blob-like arrays with one field replaced, for the bad-data table below."""
    X = np.ones((rows, features), dtype=np.float32) if X is None else X
    y = np.arange(rows) % 3 if y is None else y
    return X, y


def _poked(value, row=5, column=2):
    X, _ = _with()
    X[row, column] = value
    return X


BAD_DATA = [  # issue 3: every kind of bad data is refused before the first step, naming the value and its place
    (dict(train=_with(X=_poked(np.nan))), r"dataset 'train' has 1 non-finite feature .* nan at row 5, column 2"),
    (dict(train=_with(X=_poked(np.inf))), r"dataset 'train' has 1 non-finite feature .* inf at row 5, column 2"),
    (dict(train=_with(X=_poked(-np.inf)), val=_with()), r"dataset 'train' has 1 non-finite .* -inf at row 5"),
    (dict(val=_with(X=_poked(np.nan, row=1))), r"dataset 'val' has 1 non-finite feature .* nan at row 1, column 2"),
    (dict(train=_with(y=np.array([0, 1, 2, 3] * 3))), r"'train': expected class labels in 0..2 .* first is 3 at row 3"),
    (dict(train=_with(y=np.array([0, -1, 2] * 4))), r"'train': expected class labels in 0..2 .* first is -1 at row 1"),
    (dict(val=_with(y=np.array([0, 1, 7] * 4))), r"'val': expected class labels in 0..2 .* first is 7 at row 2"),
    (dict(train=_with(y=np.array([0, 1.5, 2] * 4))), r"expected integer class labels .* first is 1.5 at row 1"),
    (dict(train=_with(features=5)), r"expects 4 features, but the training data has 5"),
    (dict(val=_with(features=3)), r"expects 4 features, but the validation data has 3"),
    (dict(train=_with(rows=0)), r"dataset 'train' is empty \(0 samples\)"),
    (dict(val=_with(rows=0)), r"dataset 'val' is empty \(0 samples\)"),
]


@pytest.mark.parametrize(("data", "match"), BAD_DATA)
def test_bad_data_is_refused_before_training_starts(data, match):
    seen = []
    probe = cr.callbacks.LambdaCallback(on_train_begin=lambda logs=None: seen.append("began"))
    with pytest.raises(ValueError, match=match):
        fit(small_model(), data.get("train", _with()), val=data.get("val"), callbacks=[probe], verbose=0)
    assert seen == []  # refused before any callback (or step) ran


def test_whole_number_float_labels_train_a_classifier_like_integer_labels(train_val):
    train, val = train_val
    as_ints = fit(small_model(), (train.X, train.y), val=(val.X, val.y), epochs=3, verbose=0)
    as_floats = fit(small_model(), (train.X, train.y.astype(np.float64)), val=(val.X, val.y.astype(np.float32)),
                    epochs=3, verbose=0)
    assert as_floats.history == as_ints.history | {"seconds": as_floats.history["seconds"]}


def test_trainer_log_collects_messages_and_respects_verbose(train_val, capsys):
    class Talker(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.trainer.log(f"note {epoch}")

    history = fit(small_model(), train_val[0], epochs=2, verbose=0, callbacks=[Talker()])
    assert history.messages == ["note 0", "note 1"]
    captured = capsys.readouterr()
    assert "note" not in captured.out + captured.err
    fit(small_model(), train_val[0], epochs=1, verbose=1, callbacks=[Talker()])
    out = capsys.readouterr().out  # not a terminal: no bar, but the message and a line per epoch are printed
    assert "note 0" in out and "epoch 1/1  loss" in out


def test_loss_module_and_custom_model_work(train_val):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x)

    cr.manual_seed(0)
    h = fit(Net(), train_val[0], loss=nn.CrossEntropyLoss(label_smoothing=0.1), epochs=3, lr=0.05,
            verbose=0)
    assert h.epochs[-1]["accuracy"] > 0.9


def test_the_history_holds_every_callback_that_watched(train_val):
    class Counter(Callback):
        pass

    mine = Counter()
    history = fit(small_model(), train_val[0], epochs=1, verbose=0, callbacks=[mine])
    assert history.callbacks == [mine] and history.callback(Counter) is mine
    assert history.callback(cr.callbacks.EarlyStopping) is None


def test_the_training_loop_does_not_import_the_doctor():
    """chainrule.training knows callbacks only: the doctor builds on it, never the reverse (no import circle)."""
    import subprocess
    import sys

    code = ("import sys, chainrule.training, chainrule.training.trainer, chainrule.training.callbacks; "
            "print(sorted(m for m in sys.modules if m.startswith('chainrule.doctor')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _record_inputs(model):
    """Every input the model sees, with the mode it ran in (training or eval)."""
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append((module.training, args[0].data.clone())))
    return seen


def test_batches_follow_one_permutation_per_epoch_from_the_library_generator(train_val):
    train, _ = train_val
    model = small_model()
    seen = _record_inputs(model)
    fit(model, train, epochs=1, batch_size=50, verbose=0, seed=3, metrics=())
    cr.manual_seed(3)
    order = cr.engine.random.get_generator().permutation(len(train.X))
    expected = [train.X[order[a:a + 50]] for a in range(0, len(train.X), 50)]
    assert [mode for mode, _ in seen] == [True] * len(expected)
    for (_, got), want in zip(seen, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_eval_pass_over_the_training_set_only_when_train_accuracy_is_asked(train_val):
    train, _ = train_val
    model = small_model()
    seen = _record_inputs(model)
    history = fit(model, train, epochs=2, batch_size=40, verbose=0, metrics=())
    assert all(mode for mode, _ in seen) and len(seen) == 2 * 3  # 3 training batches per epoch, nothing else
    assert "accuracy" not in history.epochs[-1]
    seen.clear()
    history = fit(model, train, epochs=2, batch_size=40, verbose=0)
    assert sum(not mode for mode, _ in seen) == 2  # one eval-mode pass (120 samples, one eval batch) per epoch
    assert "accuracy" in history.epochs[-1]
