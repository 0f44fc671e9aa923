"""Reports: the rich table, diagnoses.json/metrics.json round trip, the HTML page, `chainrule report`, CLI hooks."""

from __future__ import annotations

import argparse
import base64
import io
import json
import re

import pytest
from doctor_helpers import train
from rich.console import Console

from chainrule.cli import main
from chainrule.doctor import Finding, load_run, render_report, write_report
from chainrule.doctor.cli import add_arguments, after_training
from chainrule.training.models import MLPSpec

PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def dead_run(digits):
    """A run with findings (Adam at a high rate kills ReLU units) and its fit arguments."""
    spec = MLPSpec(64, (64, 64), 10)
    history = train(spec, digits, epochs=4, optimizer="adam", lr=0.3, val=digits.val)
    assert "dead_relu" in history.doctor.kinds()
    return spec, history


@pytest.fixture(scope="module")
def run_dir(dead_run, tmp_path_factory):
    """The dead-ReLU run's report, written once (rendering plots is the slow part)."""
    path = tmp_path_factory.mktemp("run")
    paths = write_report(dead_run[1].doctor, path)
    assert {p.name for p in paths.values()} == {"diagnoses.json", "metrics.json", "report.html"}
    return path


def test_json_round_trip_keeps_every_finding(dead_run, run_dir):
    _, history = dead_run
    findings, metrics, diagnoses, fixes = load_run(run_dir)
    assert [f.to_dict() for f in findings] == [json.loads(json.dumps(f.to_dict())) for f in history.doctor.findings]
    assert all(isinstance(f, Finding) for f in findings) and fixes == []
    assert diagnoses["layer_names"] == ["layers.0", "layers.2", "layers.4"]
    assert metrics["dead_fraction"]["layers.3"] == pytest.approx(history.doctor.metrics["dead_fraction"]["layers.3"])
    assert "NaN" not in (run_dir / "metrics.json").read_text()  # strict JSON: NaN is written as null


def test_html_is_self_contained_with_the_plots_embedded(run_dir):
    page = (run_dir / "report.html").read_text()
    images = PNG.findall(page)
    assert len(images) >= 4  # curves, gradient heat map, dead units, update ratios (+ activations)
    assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)
    assert "dead relu" in page and "layers.3" in page and "LeakyReLU" in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch


def test_findings_table_lists_kind_layer_and_remedy(dead_run):
    _, history = dead_run
    console = Console(file=io.StringIO(), width=200)
    console.print(history.doctor.summary_table())
    text = console.file.getvalue()
    assert "dead_relu" in text and "layers.3" in text and "lower the learning rate from 0.3 to 0.03" in text


def test_chainrule_report_rerenders_a_run_folder(dead_run, run_dir, capsys):
    _, history = dead_run
    html = run_dir / "report.html"
    html.unlink()
    assert main(["report", str(run_dir), "--json"]) == 0
    assert html.is_file() and PNG.search(html.read_text())
    payload = json.loads(capsys.readouterr().out)  # nothing but JSON on stdout
    assert [f["kind"] for f in payload["findings"]] == [f.kind for f in history.doctor.findings]
    assert payload["report_html"] == str(html)
    assert main(["report", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "dead_relu" in out and "report.html" in out


def test_report_on_a_folder_without_diagnoses_says_what_is_missing(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match=r"expected .*diagnoses.json .*the folder exists"):
        render_report(tmp_path)
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_train_cli_arguments_and_after_training(dead_run, digits, tmp_path):
    _, history = dead_run
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).doctor is True and parser.parse_args([]).try_fixes is False
    args = parser.parse_args(["--no-doctor", "--try-fixes"])
    assert args.doctor is False and args.try_fixes is True
    console = Console(file=io.StringIO(), width=200)
    args = parser.parse_args([])
    paths = after_training(args, history, tmp_path, console, {"train": digits.train, "optimizer": "adam", "lr": 0.3})
    assert (tmp_path / "diagnoses.json").is_file() and paths["html"].is_file()
    assert "dead_relu" in console.file.getvalue()


def test_a_healthy_run_renders_an_all_clear_page(digits, tmp_path):
    history = train(MLPSpec(64, (32,), 10), digits, epochs=2, n=320, optimizer="adam", lr=1e-3)
    page = write_report(history.doctor, tmp_path)["html"].read_text()
    assert "No problems found" in page and len(PNG.findall(page)) >= 3


def test_verbose_fit_logs_findings_as_they_happen_and_ends_with_the_table(digits):
    import numpy as np

    from chainrule import fit  # the top-level fit: doctor=True by default
    from chainrule.training.models import build_mlp
    from chainrule.training.progress import ProgressBar

    console = Console(file=io.StringIO(), width=200)  # not a terminal: log lines print plainly
    with np.errstate(all="ignore"):
        fit(build_mlp(MLPSpec(64, (64, 64), 10), seed=0), digits.train, epochs=2, optimizer="sgd", lr=10.0,
            callbacks=[ProgressBar(console=console)], verbose=1)
    text = console.file.getvalue()
    exploding = text.index("doctor: [error] exploding_gradients")
    # lr=10 also makes each step move the weights by more than their size: learning_rate_too_high
    kinds = ("exploding_gradients", "non_finite", "learning_rate_too_high")
    table = text.index(f"chainrule doctor: {len(kinds)} findings")
    assert exploding < text.index("doctor: [error] non_finite") < table
    assert text.index("doctor: [warning] learning_rate_too_high") < table
    assert text.count("doctor: [error] exploding_gradients") == 1


def test_try_fix_results_are_saved_and_shown(dead_run, tmp_path):
    from chainrule.doctor import FixResult, Remedy

    _, history = dead_run
    fix = FixResult("dead_relu", "layers.3", Remedy("lower the learning rate from 0.3 to 0.03", {"lr": 0.03}),
                    {"final_loss": 2.36, "dead_fraction": 0.98, "kinds": ["dead_relu"]},
                    {"final_loss": 0.33, "dead_fraction": 0.16, "kinds": []}, "dead_fraction", True, True)
    paths = write_report(history.doctor, tmp_path, fixes=[fix])
    assert json.loads(paths["fixes"].read_text())[0]["after"]["dead_fraction"] == 0.16
    page = paths["html"].read_text()
    assert "Try the fix" in page and "lower the learning rate from 0.3 to 0.03" in page
    # the deciding metric under its human name, before → after, as a percentage like every fraction on the page
    table = page.split('<table class="fixes">')[1].split("</table>")[0]
    assert "<th>dead ReLU units<br>" in table and "98.0% → <b>16.0%</b>" in table and "dead_fraction" not in table


def test_after_training_does_nothing_with_the_doctor_off(tmp_path):
    args = argparse.Namespace(doctor=False, try_fixes=True)
    assert after_training(args, argparse.Namespace(doctor=None), tmp_path, Console(file=io.StringIO()), {}) == {}
    assert list(tmp_path.iterdir()) == []


def test_a_crash_while_rewriting_the_report_leaves_the_previous_files_whole(dead_run, tmp_path, monkeypatch):
    from chainrule import _io

    doctor = dead_run[1].doctor
    paths = write_report(doctor, tmp_path)
    before = {name: path.read_bytes() for name, path in paths.items()}

    def crash(f, data):
        f.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(_io, "_write_bytes", crash)
    with pytest.raises(OSError, match="disk full"):
        write_report(doctor, tmp_path)
    assert {name: path.read_bytes() for name, path in paths.items()} == before
    assert not list(tmp_path.glob(".*.tmp"))
