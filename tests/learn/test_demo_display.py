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


def _run(kinds: list[str], val_accuracy: float) -> DemoRun:
    findings = [{"kind": kind, "severity": "warning"} for kind in kinds] + [{"kind": "note", "severity": "info"}]
    return DemoRun("run", {}, val_accuracy, val_accuracy, 1.0, {}, [], [], {}, findings, 0.1)


# (findings, validation accuracy, chance) -> the doctor column: "healthy" only when the run clearly beats chance
DOCTOR_LABELS = [
    (["dead_relu", "exploding_gradients"], 0.9, 0.1, "dead relu, exploding gradients"),
    ([], 0.9, 0.1, "healthy"),
    ([], 0.31, 0.1, "healthy"),
    ([], 0.12, 0.1, "no finding, but it does not learn (chance is 10%)"),
    ([], 0.4, 0.25, "no finding, but it does not learn (chance is 25%)"),
]


def test_the_doctor_column_calls_healthy_only_a_run_that_learns():
    from chainrule.learn.demo_report import doctor_label

    for kinds, accuracy, chance, expected in DOCTOR_LABELS:
        result = _result(True)
        result.chance = chance
        assert doctor_label(result, _run(kinds, accuracy)) == expected, (kinds, accuracy, chance)


def test_one_format_per_quantity_in_the_demo_table():
    from chainrule.learn.demo_report import _loss, _sci

    # the stories and checks write losses with 3 significant digits and ratios with 2 (f"{x:#.3g}", f"{x:.1e}")
    assert [_loss(v) for v in (0.19706, 2.1234, 2.3, 0.021349, 123456.0, math.nan, math.inf)] == [
        "0.197", "2.12", "2.30", "0.0213", "1.2e+05", "diverged", "diverged"]
    assert [_sci(v) for v in (2.1134e-07, 0.5391, math.inf)] == ["2.1e-07", "5.4e-01", "inf"]
