"""``chainrule explain`` and ``chainrule graph`` through the CLI entry point."""

from __future__ import annotations

import json
import re

import pytest

from chainrule.cli import main
from chainrule.learn import viz
from chainrule.learn.explain import explain

MAZUR_FLAGS = ["--sizes", "2,2,2", "--inputs", "0.05,0.1", "--targets", "0.01,0.99",
               "--weights", "[[[0.15,0.2],[0.25,0.3]],[[0.4,0.45],[0.5,0.55]]]",
               "--biases", "[[0.35,0.35],[0.6,0.6]]", "--lr", "0.5"]


def run_json(capsys, *argv: str) -> dict:
    assert main(["explain", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_default_run_prints_every_step(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    for text in ["The network", "Step 1 · forward pass", "Step 2 · the loss", "Step 3 · backward pass",
                 "Step 4 · update", "0.3775", "0.082167", "finite differences"]:
        assert text in out, text


def test_json_is_the_python_result(capsys):
    assert run_json(capsys) == explain().to_dict()


def test_flags_are_reproduced_exactly(capsys):
    d = run_json(capsys, *MAZUR_FLAGS, "--activation", "tanh", "--seed", "3")
    assert d["network"] == {
        "sizes": [2, 2, 2], "activation": "tanh", "output_activation": "tanh", "loss": "squared_error",
        "lr": 0.5, "seed": 3, "weights": [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]],
        "biases": [[0.35, 0.35], [0.6, 0.6]], "inputs": [0.05, 0.1], "targets": [0.01, 0.99],
    }


def test_network_file_and_flags_that_override_it(tmp_path, capsys):
    described = {"sizes": [3, 2, 2], "activation": "relu", "loss": "cross_entropy", "lr": 0.125,
                 "inputs": [0.5, -1.0, 2.0], "targets": [0.0, 1.0],
                 "weights": [[[0.1, 0.2, 0.3], [-0.4, 0.5, 0.6]], [[0.7, -0.8], [0.9, 1.0]]],
                 "biases": [[0.01, -0.02], [0.03, 0.04]]}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(described))
    network = run_json(capsys, "--network", str(path))["network"]
    assert {k: network[k] for k in described} == described
    assert network["output_activation"] == "softmax"
    overridden = run_json(capsys, "--network", str(path), "--lr", "0.25", "--targets", "1,0")["network"]
    assert overridden["lr"] == 0.25 and overridden["targets"] == [1.0, 0.0]
    assert overridden["weights"] == described["weights"]


@pytest.mark.parametrize(("content", "match"), [
    ('{"sizes": [2, 2, 1],', r"net.json: not valid JSON: .* at line 1, column 21"),
    ('{"sizes": [2, 2, 1], "weights": [[[1, 2], [3, 4]], [[1, 2], [3, 4]]]}',
     r"net.json: weights\[1\] \(.*\) must have shape \(1, 2\); got shape \(2, 2\)"),
    ('{"sizes": [2, 2, 1], "inputs": [1, 2, 3]}', r"net.json: inputs .* must have shape \(2,\); got shape \(3,\)"),
    ('{"size": [2, 2, 1]}', r"net.json: unknown field 'size'"),
    ("[2, 2, 1]", r"net.json: expected a JSON object"),
])
def test_bad_network_files_are_clear_errors(tmp_path, capsys, content, match):
    path = tmp_path / "net.json"
    path.write_text(content)
    assert main(["explain", "--network", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chainrule explain: error: ")
    assert re.search(match, err), err


@pytest.mark.parametrize(("argv", "match"), [
    (["--network", "missing.json"], "--network: no file at 'missing.json'"),
    (["--inputs", "0.1,x"], "--inputs: expected comma-separated floats such as 0.05,0.1; got '0.1,x'"),
    (["--sizes", "2,two"], "--sizes: expected comma-separated ints such as 2,2,1; got '2,two'"),
    (["--weights", "[[1,2]"], "--weights: expected JSON such as"),
    (["--sizes", "30,10,5"], "has 45 units, too many to explain step by step (at most 40)"),
])
def test_bad_flags_are_clear_errors(capsys, argv, match):
    assert main(["explain", *argv]) == 2
    assert match in capsys.readouterr().err


def test_html_page_is_written(tmp_path, capsys):
    path = tmp_path / "out" / "step.html"
    assert main(["explain", "--sizes", "2,3,2", "--html", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    page = path.read_text(encoding="utf-8")
    assert "<svg" in page and page.count('<circle class="unit"') == 7


def test_graph_writes_dot_without_graphviz(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    assert main(["graph", "--out", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    assert f"dot -Tsvg {tmp_path / 'g.dot'} -o {tmp_path / 'g.svg'}" in out
    dot = (tmp_path / "g.dot").read_text(encoding="utf-8")
    assert "loss of the 2-2-1 sigmoid network" in dot and "grad" in dot and "W1" in dot
    assert main(["graph", "--out", str(tmp_path / "h"), "--no-grads", "--sizes", "3,2,2", "--activation", "tanh"]) == 0
    dot = (tmp_path / "h.dot").read_text(encoding="utf-8")
    assert "grad" not in dot and dot.count("tanh") == 3  # title and two tanh layers
