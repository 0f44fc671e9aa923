"""TensorBoard events, read back with the `tensorboard` package's own reader (EventAccumulator): the tags,
how many points each has at which steps, and the values against the run's history and the doctor's series."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.training.models import MLPSpec, build_mlp

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

EPOCHS = 4


def _read(log_dir):
    events = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0,
                                                                             "tensors": 0})
    events.Reload()
    return events


@pytest.fixture(scope="module")
def dead_run(tmp_path_factory):
    """Adam at lr 0.1 on digits kills ReLU units (the doctor's dead_relu), with TensorBoard watching."""
    log_dir = tmp_path_factory.mktemp("tb")
    splits = cr.data.load_dataset("digits", seed=0)
    model = build_mlp(MLPSpec(64, (64, 64, 64), 10, activation="relu"), seed=0)
    history = cr.fit(model, splits.train, splits.val, optimizer="adam", lr=0.1, epochs=EPOCHS, verbose=0,
                     callbacks=[cr.callbacks.TensorBoard(log_dir)])
    return history, _read(log_dir)


def test_epoch_scalars_have_one_point_per_epoch_with_the_history_values(dead_run):
    history, events = dead_run
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        points = events.Scalars(key)
        assert [p.step for p in points] == list(range(EPOCHS)), key
        expected = [log[key] for log in history.epochs]
        np.testing.assert_allclose([p.value for p in points], expected, rtol=1e-6, err_msg=key)  # stored as float32


def test_histograms_of_every_weight_and_gradient_per_epoch(dead_run):
    history, events = dead_run
    params = dict(history.doctor.model.named_parameters())
    tags = set(events.Tags()["histograms"])
    assert tags == {f"{kind}/{name}" for kind in ("weights", "grads") for name in params}
    for name, param in params.items():
        last = events.Histograms(f"weights/{name}")
        assert [h.step for h in last] == list(range(EPOCHS))
        values = param._data.astype(np.float64)
        assert last[-1].histogram_value.num == values.size
        assert last[-1].histogram_value.min == pytest.approx(values.min(), rel=1e-6)
        assert last[-1].histogram_value.max == pytest.approx(values.max(), rel=1e-6)


def test_the_doctors_measurements_and_findings_are_written(dead_run):
    history, events = dead_run
    metrics = history.doctor.metrics
    scalars = set(events.Tags()["scalars"])
    for key in ("grad_rms", "update_ratio", "dead_fraction"):
        for layer, series in metrics[key].items():
            points = events.Scalars(f"{key}/{layer}")
            steps = metrics["steps"][: len(series)] if key != "dead_fraction" else list(range(len(series)))
            assert [p.step for p in points] == steps, (key, layer)
            np.testing.assert_allclose([p.value for p in points], series, rtol=1e-6)
    assert {f"grad_rms/{layer}" for layer in history.doctor.layer_names} <= scalars
    texts = events.Tensors("findings/text_summary")
    assert "dead_relu" in history.doctor.kinds()  # with the too-high rate that kills them
    assert len(texts) == len(history.doctor.findings) >= 1
    written = [t.tensor_proto.string_val[0].decode() for t in texts]
    assert written == [f.summary() for f in history.doctor.findings]
    assert [t.step for t in texts] == [f.step for f in history.doctor.findings]


def test_chainrule_train_tensorboard_flag_writes_events(tmp_path, capsys):
    log_dir = tmp_path / "tb"
    assert main(["train", "--dataset", "iris", "--hidden", "8", "--epochs", "2", "--out", str(tmp_path / "run"),
                 "--tensorboard", str(log_dir), "--json"]) == 0
    capsys.readouterr()
    events = _read(log_dir)
    assert [p.step for p in events.Scalars("val_loss")] == [0, 1]
    assert "grad_rms/layers.0" in events.Tags()["scalars"]  # the doctor's, handed over by fit


def test_bad_histogram_freq_is_refused():
    with pytest.raises(ValueError, match="TensorBoard: histogram_freq must be a non-negative int, got -1"):
        cr.callbacks.TensorBoard("runs/x", histogram_freq=-1)


def test_without_tensorboardx_training_stops_with_what_to_install(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as on a light install: `import tensorboardX` fails
    model = build_mlp(MLPSpec(4, (8,), 2), seed=0)
    X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    with pytest.raises(ImportError, match=r"TensorBoard: .*pip install 'chainrule\[tensorboard\]'"):
        cr.fit(model, (X, (X[:, 0] > 0).astype("int64")), epochs=1, verbose=0,
               callbacks=[cr.callbacks.TensorBoard(tmp_path)])


def test_a_diverging_run_is_written_up_to_and_including_the_divergence(tmp_path):
    splits = cr.data.load_dataset("digits", seed=0)
    with np.errstate(all="ignore"):
        history = cr.fit(build_mlp(MLPSpec(64, (64, 64), 10), seed=0), splits.train, optimizer="sgd", lr=10.0,
                         epochs=2, verbose=0, callbacks=[cr.callbacks.TensorBoard(tmp_path)])
    events = _read(tmp_path)
    losses = [p.value for p in events.Scalars("loss")]
    assert len(losses) == len(history.epochs) and np.isnan(losses[-1]) == np.isnan(history.epochs[-1]["loss"])
    assert "non_finite" in history.doctor.kinds()
    written = [t.tensor_proto.string_val[0].decode() for t in events.Tensors("findings/text_summary")]
    assert any("non_finite" in text for text in written)


def test_chainrule_train_tensorboard_without_tensorboardx_is_one_clear_line(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    code = main(["train", "--dataset", "iris", "--epochs", "1", "--out", str(tmp_path / "run"),
                 "--tensorboard", str(tmp_path / "tb"), "--json"])
    assert code == 2
    err = capsys.readouterr().err
    assert "chainrule train: error: TensorBoard: writing events needs the tensorboardX package" in err
    assert "Traceback" not in err
