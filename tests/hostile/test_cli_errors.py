"""Must show: `chainrule` subcommands x bad arguments and unwritable output paths give exit code 2 and one line
on stderr, checked before any training; a bug in chainrule gives a traceback and a request to report it.

Training and the demos are replaced by a function that fails the test, so a row passes only if the command
stopped before it would have trained; the values only fit checks (epochs, batch size) run the real fit instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chainrule._io import write_manifest
from chainrule.cli import main

NOT_UTF8 = "a,b,label\n1,2,café\n".encode("latin-1")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "latin1.csv").write_bytes(NOT_UTF8)
    rows = "".join(f"{i},{i % 2}\n" for i in range(29))
    (tmp_path / "label_10^8.csv").write_text(f"a,label\n{rows}1,100000000\n")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "diagnoses.json").write_text("[1, 2]")
    write_manifest(tmp_path / "run")
    (tmp_path / "changed").mkdir()
    (tmp_path / "changed" / "diagnoses.json").write_text('{"findings": []}')
    write_manifest(tmp_path / "changed")
    (tmp_path / "changed" / "diagnoses.json").write_text('{"findings": [], "note": "edited after the run"}')
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "diagnoses.json").write_text('{"findings": []}')
    os.mkfifo(tmp_path / "pipe.csv")
    names = {"file": "a_file", "latin1": "latin1.csv", "labels": "label_10^8.csv", "run": "run", "fifo": "pipe.csv",
             "unfinished": "unfinished", "changed": "changed"}
    return {"dir": str(tmp_path), **{key: str(tmp_path / name) for key, name in names.items()}}


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def trained(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started before the arguments were checked")

    monkeypatch.setattr("chainrule.cli.train.fit", trained)
    monkeypatch.setattr("chainrule.learn.demos.run_demo", trained)


TRAIN = ["train", "--dataset", "iris", "--epochs", "1"]
# (argv with {file}/{dir}/... placeholders, text the one line must contain)
CASES = [
    ([*TRAIN, "--lr", "inf"], "argument --lr: expected a finite number, got 'inf'"),
    ([*TRAIN, "--lr", "nan"], "argument --lr: expected a finite number, got 'nan'"),
    ([*TRAIN, "--lr", "-1"], "argument --lr: expected a number in [0.0, inf], got '-1'"),
    ([*TRAIN, "--dropout", "1.5"], "argument --dropout: expected a number in [0.0, 1.0]"),
    ([*TRAIN, "--clip-grad", "inf"], "argument --clip-grad: expected a finite number"),
    ([*TRAIN, "--hidden", "8.7"], "argument --hidden: expected widths like 64,64"),
    ([*TRAIN, "--hidden", "100000000"], "argument --hidden: expected widths from 1 to 4096, got '100000000'"),
    ([*TRAIN, "--hidden", "8,,8"], "argument --hidden: expected widths like 64,64"),
    ([*TRAIN, "--epochs", "x"], "argument --epochs: invalid int value: 'x'"),
    ([*TRAIN, "--seed", "-1"], "argument --seed: expected a whole number >= 0, got '-1'"),
    ([*TRAIN, "--init", "normal:inf"], "init must be 'default', 'he', 'xavier' or 'normal:<std>'"),
    (["demo", "--seed", "x"], "argument --seed: expected a whole number, got 'x'"),
    ([*TRAIN, "--optimizer", "adamw2"], "argument --optimizer: invalid choice"),
    ([*TRAIN, "--out", "{file}"], "--out: '{file}' exists and is not a folder"),
    ([*TRAIN, "--out", "{file}/run"], "--out: cannot write '{file}/run': '{file}' is not a folder"),
    ([*TRAIN, "--out", "/dev/null"], "--out: '/dev/null' exists and is not a folder"),
    (["train", "--data", "/dev/zero", "--out", "{dir}/r"], "'/dev/zero' is not a regular file"),
    (["train", "--data", "{fifo}", "--out", "{dir}/r"], "is not a regular file (it is a FIFO"),
    (["train", "--data", "{latin1}", "--out", "{dir}/r"], "{latin1} is not UTF-8 text"),
    (["train", "--data", "{labels}", "--out", "{dir}/r"], "100000001 classes for 30 samples"),
    (["train", "--data", "{dir}/missing.csv", "--out", "{dir}/r"], "no file at '{dir}/missing.csv'"),
    (["demo", "dead-relu", "--out", "{file}"], "--out: '{file}' exists and is not a folder"),
    (["demo", "nosuchdemo"], "unknown demo nosuchdemo"),
    (["explain", "--html", "{dir}"], "--html: '{dir}' exists and is not a file"),
    (["explain", "--html", "{file}/page.html"], "--html: cannot write '{file}/page.html': '{file}' is not a folder"),
    (["explain", "--network", "/dev/zero"], "--network: '/dev/zero' is not a regular file"),
    (["explain", "--network", "{latin1}"], "not UTF-8 text"),
    (["explain", "--lr", "x"], "argument --lr: invalid float value: 'x'"),
    (["graph", "--out", "{file}/g"], "--out: cannot write '{file}/g.dot': '{file}' is not a folder"),
    (["report", "{run}"], "{run}/diagnoses.json holds a JSON list; expected a dict"),
    (["report", "{unfinished}"], "'{unfinished}' has no manifest.json, so it is not a complete run folder"),
    (["report", "{changed}"], "manifest.json lists 'diagnoses.json' with 16 bytes, the file has 48"),
    (["report", "{dir}/nope"], "expected {dir}/nope/diagnoses.json"),
    (["nosuchcommand"], "argument COMMAND: invalid choice: 'nosuchcommand'"),
]


@pytest.mark.usefixtures("no_training")
@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in CASES])
def test_bad_arguments_exit_2_with_one_line_before_any_training(files: dict[str, str], capsys: pytest.CaptureFixture,
                                                                  argv: list[str], message: str) -> None:
    argv = [arg.format(**files) for arg in argv]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert message.format(**files) in lines[0]
    assert lines[0].startswith("chainrule")
    assert not Path(files["dir"], "r").exists()


# Values only fit itself checks: the real fit runs (on iris, with a tiny network) and must refuse them.
FIT_CASES = [
    (["--epochs", "0"], "fit: epochs must be a positive int, got 0"),
    (["--epochs", "-1"], "fit: epochs must be a positive int, got -1"),
    (["--batch-size", "0"], "fit: batch_size must be a positive int, got 0"),
    (["--batch-size", "-5"], "fit: batch_size must be a positive int, got -5"),
    (["--clip-grad", "0"], "fit: clip_grad_norm must be a positive number or None, got 0.0"),
]


@pytest.mark.parametrize(("extra", "message"), FIT_CASES, ids=[" ".join(c[0]) for c in FIT_CASES])
def test_fits_own_checks_exit_2_with_one_line_and_no_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch, extra: list[str],
                                                                message: str) -> None:
    from chainrule.cli import train

    calls, fit = [], train.fit

    def counted_fit(*args: object, **kwargs: object) -> object:  # the real fit, its calls counted
        calls.append(kwargs)
        return fit(*args, **kwargs)

    monkeypatch.setattr(train, "fit", counted_fit)
    out = tmp_path / "run"
    code = main(["train", "--dataset", "iris", "--hidden", "2", "--epochs", "1", *extra, "--out", str(out)])
    captured = capsys.readouterr()
    assert len(calls) == 1, "the command stopped before fit: this row tests the CLI's checks, not fit's"
    assert code == 2, captured.err
    assert captured.err.splitlines() == [f"chainrule train: error: {message}"]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_bug_in_chainrule_prints_a_traceback_and_asks_for_a_report(monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("chainrule.learn.explain.explain_network", broken)
    assert main(["explain"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError" in err
    assert err.splitlines()[-1] == ("chainrule explain: internal error: this is a bug in chainrule; please report it "
                                    "with the command you ran and the traceback above")
