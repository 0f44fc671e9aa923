"""The gallery's chapters on recurrent, residual and convolutional networks: each claim holds on the numbers its
demo measures from fixed seeds, the doctor finds each failure, and each healthy twin gets no finding at all."""

from __future__ import annotations

import itertools
import json
import warnings

import pytest
from learn_browser import png_sizes
from scipy import stats

from chainrule.learn.demo_report import write_html
from chainrule.learn.demos import run_demo


def run(name: str, tmp_path):
    """Run one demo (each test runs its own, so parallel workers never repeat one), and check its page: one
    section with one decodable plot, and strict JSON results."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a demo's output must read cleanly: no stray warnings
        result = run_demo(name, seed=0)
    page = write_html([result], tmp_path / f"{name}.html").read_text(encoding="utf-8")
    assert f"<section id='{name}'>" in page
    sizes = png_sizes(page)
    assert len(sizes) == 1 and all(w >= 300 and h >= 200 for w, h in sizes)
    payload = json.loads(json.dumps(result.to_dict()), parse_constant=pytest.fail)
    assert payload["claim_holds"] is True
    return result


def failed(result) -> list[str]:
    return [text for text, ok in result.checks if not ok]


def test_rnn_gradient_vanishes_through_time_and_a_gru_learns(tmp_path):
    result = run("vanishing-through-time", tmp_path)
    assert not failed(result), failed(result)
    rnn, gru = result.runs
    ratios = [result.numbers["ratio_by_gap"][str(gap)] for gap in (5, 10, 20, 35, 50)]
    assert all(a > 10 * b for a, b in itertools.pairwise(ratios)) and ratios[-1] < 1e-3
    assert gru.val_accuracy >= 0.95
    # at chance: inside the two-sided 99% binomial interval around 1/4 over the 512 validation samples, recomputed
    # here with scipy's exact binomial quantiles rather than the demo's normal approximation
    low, high = stats.binom.interval(0.99, 512, 0.25)
    assert low / 512 <= rnn.val_accuracy <= high / 512
    found = [f for f in rnn.findings if f["kind"] == "vanishing_gradients"]
    assert found and found[0]["layer"] == "rnn" and found[0]["evidence"]["variant"] == "through_time"
    assert found[0]["evidence"]["ratio_first_to_last"] < 1e-3
    assert gru.findings == []


def test_plain_depth_degrades_and_residual_blocks_train(tmp_path):
    result = run("residual-depth", tmp_path)
    assert not failed(result), failed(result)
    acc = result.numbers["train_accuracy"]
    assert acc["3"] > acc["10"] > acc["30"] and acc["30"] < 0.2
    *plain, residual = result.runs
    assert residual.train_accuracy > 0.95 and residual.findings == []
    assert plain[0].findings == []  # the shallow twin: healthy
    deep = plain[-1]
    assert any(f["kind"] == "vanishing_gradients" and f["layer"] == "layers.0" for f in deep.findings)
    assert len(result.numbers["branch_to_skip"]) == 30


def test_high_learning_rate_kills_filters_the_doctor_names_them_and_a_low_rate_keeps_them(tmp_path):
    result = run("cnn-dead-filters", tmp_path)
    assert not failed(result), failed(result)
    high, low = result.runs
    assert max(high.dead_fraction.values()) >= 0.5 and max(low.dead_fraction.values()) == 0.0
    dead_layer = max(high.dead_fraction, key=high.dead_fraction.get)
    found = [f for f in high.findings if f["kind"] == "dead_relu" and f["evidence"].get("variant") == "channels"]
    assert [f["layer"] for f in found] == [dead_layer]
    assert found[0]["evidence"]["dead_fraction"] == pytest.approx(high.dead_fraction[dead_layer], abs=0.01)
    assert low.findings == []
