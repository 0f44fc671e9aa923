"""CSV history as Keras's CSVLogger writes it (``epoch``, then the other keys sorted), read back with the
standard library's csv reader and checked against the run's own epoch logs."""

from __future__ import annotations

import csv
import json
import math

import pytest

from chainrule.cli import main
from chainrule.training import CSVLogger, fit
from chainrule.training.models import MLPSpec, build_mlp

from .training_helpers import blobs

KERAS_HEADER = ["epoch", "accuracy", "loss", "lr", "seconds", "val_accuracy", "val_loss"]


def _read(path, delimiter=","):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f, delimiter=delimiter))


def _same(field: str, value) -> bool:
    """A CSV field equals a logged value: exactly for floats (repr round-trips), empty for None."""
    if value is None:
        return field == ""
    return float(field) == value or (math.isnan(float(field)) and math.isnan(value))


def _model():
    return build_mlp(MLPSpec(4, (8,), 3), seed=0)


def test_csv_logger_writes_keras_columns_and_every_epoch(tmp_path):
    path = tmp_path / "logs" / "history.csv"
    history = fit(_model(), blobs(), blobs(n=60, seed=1), epochs=3, verbose=0, callbacks=[CSVLogger(path)])
    rows = _read(path)
    assert rows[0] == KERAS_HEADER
    assert len(rows) == 1 + len(history.epochs) == 4
    for row, logs in zip(rows[1:], history.epochs):
        assert all(_same(field, logs[key]) for key, field in zip(KERAS_HEADER, row)), (row, logs)


def test_csv_logger_appends_when_resuming_and_takes_a_separator(tmp_path):
    path = tmp_path / "history.csv"
    model = _model()
    fit(model, blobs(), epochs=2, verbose=0, callbacks=[CSVLogger(path, separator=";")])
    fit(model, blobs(), epochs=4, initial_epoch=2, seed=None, verbose=0,
        callbacks=[CSVLogger(path, separator=";", append=True)])
    rows = _read(path, delimiter=";")
    assert rows[0] == ["epoch", "accuracy", "loss", "lr", "seconds"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2", "3"]  # one header, the resumed epochs under it


@pytest.mark.parametrize("separator", ["", ";;"])
def test_csv_logger_refuses_a_separator_that_is_not_one_character(separator):
    with pytest.raises(ValueError, match="CSVLogger: separator must be one character"):
        CSVLogger("h.csv", separator=separator)


def test_chainrule_train_writes_history_csv_beside_the_jsonl(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "iris", "--hidden", "8", "--epochs", "2", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    rows = _read(out / "history.csv")
    logs = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert rows[0] == KERAS_HEADER and len(rows) == 1 + len(logs) == 3
    for row, log in zip(rows[1:], logs):
        assert all(_same(field, log[key]) for key, field in zip(KERAS_HEADER, row)), (row, log)
