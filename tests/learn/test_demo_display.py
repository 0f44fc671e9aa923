"""A demo's result shows itself in a notebook: a one-line repr and its gallery section as HTML."""

from __future__ import annotations

import math

from chainrule.learn.demos import DemoResult, DemoRun


def _result(holds: bool) -> DemoResult:
    run = DemoRun("lr 0.1", {}, 0.5, 0.25, 2.0, {"layers.0": 1e-3}, [1.0, 10.0, math.inf], [2.3, 2.2, math.nan],
                  {}, [{"kind": "exploding_gradients", "severity": "error"}], 0.1)
    return DemoResult("exploding", "Exploding gradients", "Large weights blow the gradient up.", [run],
                      [("the gradient norm overflows", True), ("the doctor says so", holds)], {}, ["A story."])


def test_demo_result_repr_is_one_line_with_the_verdict():
    assert repr(_result(True)) == "DemoResult(exploding: the claim holds; runs: lr 0.1)"
    assert repr(_result(False)) == "DemoResult(exploding: the claim does NOT hold; runs: lr 0.1)"


def test_demo_result_html_has_story_plot_table_and_checks():
    page = _result(False)._repr_html_()
    assert "<h2>Exploding gradients</h2>" in page and "A story." in page
    assert "src='data:image/png;base64," in page and "<td>lr 0.1</td>" in page
    assert "✓ the gradient norm overflows" in page and "✗ the doctor says so" in page
    assert "The claim does NOT hold." in page
