"""The failure gallery's claims, checked on the numbers each demo measures from its fixed seeds."""

from __future__ import annotations

import json
import math
import warnings

import pytest
from learn_browser import browser, png_sizes, render

from chainrule.cli import main
from chainrule.learn.demo_report import write_html
from chainrule.learn.demos import run_demo


@pytest.fixture(scope="module")
def results() -> dict:
    return {}


def _run(name: str, results: dict):
    if name not in results:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # a demo's output must read cleanly: no stray warnings
            results[name] = run_demo(name, seed=0)
    return results[name]


def _strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"{constant} is not valid JSON")
    return json.loads(text, parse_constant=refuse)


def _failed(result) -> list[str]:
    return [text for text, ok in result.checks if not ok]


def test_vanishing_gradients_shrink_by_orders_of_magnitude_with_sigmoid_but_not_relu(results):
    result = _run("vanishing", results)
    assert not _failed(result), _failed(result)
    orders = result.numbers["orders_of_magnitude"]
    assert orders["sigmoid"] < -3  # first/last RMS ratio below 1e-3
    assert orders["relu + He init"] > -2
    acc = result.numbers["val_accuracy"]
    assert acc["relu + He init"] > acc["sigmoid"] + 0.2
    assert result.claim_holds


def test_exploding_gradients_overflow_and_each_fix_converges(results):
    result = _run("exploding", results)
    assert not _failed(result), _failed(result)
    _problem, *fixes = result.runs
    assert result.numbers["first_non_finite_step"] is not None
    assert result.numbers["growth"] > 1e3
    for fix in fixes:
        assert math.isfinite(fix.final_loss) and fix.val_accuracy >= 0.7
        assert all(math.isfinite(v) for v in fix.grad_norms)
    assert result.claim_holds


def test_dead_relu_high_learning_rate_kills_units_and_low_rate_keeps_them(results):
    result = _run("dead-relu", results)
    assert not _failed(result), _failed(result)
    dead = result.numbers["mean_dead_fraction"]
    assert dead["ReLU, lr 0.1"] >= 0.5 > 0.25 >= dead["ReLU, lr 0.001"]
    assert result.claim_holds


def test_dropout_sweep_has_best_middle_rate_and_learns_nothing_at_one(results):
    result = _run("dropout", results)
    assert not _failed(result), _failed(result)
    val, train = result.numbers["val_accuracy"], result.numbers["train_accuracy"]
    assert 0.0 < result.numbers["best_rate"] < 1.0
    assert train[0.0] >= 0.95  # rate 0.0: no regularization, the noisy labels are memorized
    assert abs(val[1.0] - 0.1) <= 0.08  # rate 1.0: chance on 10 classes
    assert train[0.0] - val[0.0] > train[0.5] - val[0.5]  # dropout narrows the generalization gap
    assert result.claim_holds
    # the story may repeat the doctor's prescribed rate only with what its own table shows for that rate
    prescribed = [r["change"]["dropout"] for f in result.run("p=0.0").findings if f["kind"] == "overfitting"
                  for r in f["remedies"] if "dropout" in r.get("change", {})]
    rate = prescribed[0]
    story = " ".join(result.story)
    if rate in val:
        still_overfits = "overfitting" in result.run(f"p={rate}").kinds
        assert (f"p={rate} still overfits" in story) == still_overfits, story
        assert f"Dropout({rate}) works here" in story or still_overfits, story


def test_gallery_page_has_a_plot_per_demo_and_opens_in_a_headless_browser(results, tmp_path):
    names = ("vanishing", "exploding", "dead-relu", "dropout")
    demos = [_run(name, results) for name in names]
    path = write_html(demos, tmp_path / "index.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert all(f"<section id='{name}'>" in page for name in names)
    sizes = png_sizes(page)  # one decodable plot per demo, checked with or without a browser
    assert len(sizes) == len(names) and all(w >= 300 and h >= 200 for w, h in sizes)
    if browser():
        assert render(path)["images"] == sizes  # Chromium decoded every plot at its size
    for result in demos:
        payload = _strict_json(json.dumps(result.to_dict()))
        assert payload["claim_holds"] is True and payload["numbers"]


def test_unknown_demo_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown demo 'nope'; choose from vanishing"):
        run_demo("nope")


def test_cli_demo_json_prints_claim_holds(tmp_path, capsys):
    code = main(["demo", "dead-relu", "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["name"] == "dead-relu" and payload["claim_holds"] is True
    assert (tmp_path / "dead-relu.html").exists()


def test_cli_demo_json_is_strict_json_even_when_the_loss_overflows(tmp_path, capsys):
    # The exploding demo's diverging run has an infinite gradient ratio and a non-finite loss along the way.
    assert main(["demo", "exploding", "--json", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    payload = _strict_json(captured.out)
    assert payload["name"] == "exploding" and payload["claim_holds"] is True
    assert "Warning" not in captured.err
