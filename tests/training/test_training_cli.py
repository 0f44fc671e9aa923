"""Must show (7): `chainrule train` writes a run folder and, with --json, prints only the summary on stdout."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main


def test_train_json_writes_the_run_folder_and_prints_only_the_summary(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "iris", "--hidden", "16", "--epochs", "3", "--batch-size", "16",
                 "--batch-norm", "--dropout", "0.1", "--init", "he", "--clip-grad", "1.0", "--optimizer", "sgd",
                 "--lr", "0.1", "--out", str(out), "--json"])
    assert code == 0
    stdout = capsys.readouterr().out
    summary = json.loads(stdout)  # the whole of stdout is one JSON document
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "iris" and summary["epochs_run"] == 3
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and summary["seconds"] > 0
    assert summary["config"]["spec"] == {"in_features": 4, "hidden": [16], "out_features": 3, "activation": "relu",
                                         "batch_norm": True, "dropout": 0.1, "init": "he", "negative_slope": 0.01}
    assert summary["config"]["optimizer"] == "sgd" and summary["config"]["clip_grad_norm"] == 1.0
    lines = (out / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1, 2]
    assert json.loads(lines[-1]) == summary["final"]
    model = cr.load(out / "model.safetensors")
    assert model.spec.hidden == (16,) and model.spec.batch_norm
    assert json.loads((out / "model.json").read_text())["type"] == "MLP"
    assert (out / "diagnoses.json").is_file()  # the doctor watched and wrote its report into the run folder


def test_train_on_a_csv_file_without_doctor(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    path = tmp_path / "points.csv"
    path.write_text("a,b,c,label\n" + "".join(f"{r[0]},{r[1]},{r[2]},{label}\n" for r, label in zip(X, y)))
    out = tmp_path / "r"
    assert main(["train", "--data", str(path), "--hidden", "8,8", "--epochs", "2", "--out", str(out), "--json",
                 "--no-doctor"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == ["history.csv", "history.jsonl", "manifest.json", "model.json",
                                                     "model.safetensors", "summary.json"]
    assert summary["samples"]["train"] + summary["samples"]["val"] + summary["samples"]["test"] == 90
    assert summary["config"]["spec"]["in_features"] == 3


def test_train_without_json_prints_a_summary_table(tmp_path, capsys):
    assert main(["train", "--dataset", "xor", "--hidden", "8", "--epochs", "1", "--out", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out
    assert "chainrule train: xor" in out and "test_accuracy" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--dataset", "digitz", "--epochs", "1"], "unknown dataset 'digitz'"),
    (["train", "--dataset", "iris", "--init", "kaiming", "--epochs", "1"], "init must be"),
    (["train", "--dataset", "iris", "--epochs", "0"], "epochs must be a positive int"),
    (["train", "--dataset", "iris", "--epochs", "1", "--try-fixes", "--no-doctor"], "--try-fixes: tries the doctor"),
])
def test_train_errors_are_one_clear_line(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "e")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_bad_hidden_is_an_argument_error(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--hidden", "64,x"])
    assert "--hidden: expected widths like 64,64" in capsys.readouterr().err


def _points(cell=None, label=None):
    rows = [[float(i % 5), float(i % 3), i % 2] for i in range(20)]
    if cell is not None:
        rows[6][1] = cell
    if label is not None:
        rows[7][2] = label
    return "a,b,label\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)


@pytest.mark.parametrize(("text", "message"), [
    (_points(cell="nan"), "dataset 'points' has 1 non-finite feature value(s) (NaN or Inf); expected finite numbers; "
                          "the first is nan at row 6, column 1 ('b')"),
    (_points(cell="inf"), "the first is inf at row 6, column 1 ('b')"),
    (_points(label=-1), "expected class labels in 0..1 (num_classes=2), got 1 label(s) out of range; "
                        "the first is -1 at row 7"),
    ("a,b,label\n", "has a header but no data rows"),
    (_points(cell="x"), "row 8, column 'b': expected a number, got 'x'"),
])
def test_bad_data_files_are_refused_before_training(text, message, tmp_path, capsys):
    path = tmp_path / "points.csv"
    path.write_text(text)
    assert main(["train", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "run"), "--json"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""
    assert not (tmp_path / "run").exists()


def test_json_outputs_stay_strict_json_when_training_diverges(tmp_path, capsys):
    # A learning rate of 1e6 sends the loss to inf/NaN at once; the summary and history must still be valid JSON.
    out = tmp_path / "run"
    assert main(["train", "--dataset", "xor", "--hidden", "8", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "2",
                 "--out", str(out), "--json", "--no-doctor"]) == 0

    def refuse(constant):
        raise AssertionError(f"{constant} is not valid JSON")

    summary = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert summary["final"]["loss"] is None  # a non-finite number is written as null
    json.loads((out / "summary.json").read_text(), parse_constant=refuse)
    for line in (out / "history.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=refuse)


def test_activation_and_seed_flags(tmp_path, capsys):
    def run(seed, name):
        argv = ["train", "--dataset", "wine", "--hidden", "8,8", "--activation", "tanh", "--epochs", "2",
                "--seed", str(seed), "--out", str(tmp_path / name), "--json", "--no-doctor"]
        assert main(argv) == 0
        summary = json.loads(capsys.readouterr().out)
        losses = [json.loads(line)["loss"] for line in (tmp_path / name / "history.jsonl").read_text().splitlines()]
        return summary, losses

    (first, losses), (_, same), (_, other) = run(3, "a"), run(3, "b"), run(4, "c")
    assert first["config"]["spec"]["activation"] == "tanh"
    assert cr.load(tmp_path / "a" / "model.safetensors").spec.activation == "tanh"
    assert losses == same != other  # the seed decides the run, bit for bit


def test_a_diverging_run_is_reported_by_the_doctor_not_by_numpy_warnings(tmp_path, capsys):
    assert main(["train", "--dataset", "xor", "--hidden", "8", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "2",
                 "--out", str(tmp_path / "run"), "--json"]) == 0
    err = capsys.readouterr().err
    assert "non_finite" in err and "RuntimeWarning" not in err
