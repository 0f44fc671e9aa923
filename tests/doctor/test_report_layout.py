"""report.html's plots as a reader sees them: every legend inside its axes and every text inside its figure,
accuracy on 0..1 with the chance line, layers named by what they are, a diverged run marked where it diverged.

The figures are caught before they become PNGs and measured with matplotlib's own layout (window extents in
pixels); the references are the model's weight shapes and the run's recorded losses.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from doctor_helpers import train

from chainrule.doctor import report
from chainrule.training.models import MLPSpec

PLOTS = [report.plot_curves, report.plot_gradient_heatmap, report.plot_dead, report.plot_update_ratio,
         report.plot_activations]


@pytest.fixture(scope="module")
def runs(digits):
    """A vanishing sigmoid run with findings and a run that diverges at lr 10 (stopped at the first NaN)."""
    sigmoid = train(MLPSpec(64, (32, 32, 32, 32), 10, activation="sigmoid"), digits, epochs=2, optimizer="sgd",
                    lr=0.01, val=digits.val)
    diverged = train(MLPSpec(64, (64, 64), 10), digits, epochs=2, optimizer="sgd", lr=10.0, val=digits.val)
    return {"sigmoid": sigmoid, "diverged": diverged}


def facts(history) -> dict:
    return {**history.doctor.metrics, **report._model_facts(history.doctor.model)}


def figures(monkeypatch, plot, metrics, findings) -> list:
    caught: list = []
    monkeypatch.setattr(report, "png_base64", lambda fig: caught.append(fig) or "png")
    plot(metrics, findings) if plot is report.plot_curves else plot(metrics)
    return caught


def inside(inner, outer, slack: float = 1.0) -> bool:
    return (inner.x0 >= outer.x0 - slack and inner.y0 >= outer.y0 - slack and inner.x1 <= outer.x1 + slack
            and inner.y1 <= outer.y1 + slack)


@pytest.mark.parametrize("name", ["sigmoid", "diverged"])
def test_legends_sit_inside_their_axes_and_all_text_inside_the_figure(runs, monkeypatch, name):
    history = runs[name]
    metrics = facts(history)
    drawn = 0
    for plot in PLOTS:
        for fig in figures(monkeypatch, plot, metrics, history.doctor.findings):
            renderer = fig.canvas.get_renderer()
            fig.canvas.draw()
            page = fig.bbox
            for ax in fig.axes:
                legend = ax.get_legend()
                if legend is not None:
                    drawn += 1
                    assert inside(legend.get_window_extent(renderer), ax.get_window_extent(renderer)), (
                        f"{plot.__name__}: the legend leaves its axes")
                low, high = sorted(ax.get_ylim())
                shown_ticks = [label for tick, label in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)
                               if low <= tick <= high]  # matplotlib draws no label outside the axis range
                for text in [*ax.texts, ax.title, ax.xaxis.label, ax.yaxis.label, *shown_ticks]:
                    if text.get_text() and text.get_visible():
                        assert inside(text.get_window_extent(renderer), page), (
                            f"{plot.__name__}: {text.get_text()!r} is cut off at the figure's edge")
    assert drawn >= 3


def test_accuracy_is_shown_on_zero_to_one_with_the_chance_line(runs, monkeypatch):
    history = runs["sigmoid"]
    (fig,) = figures(monkeypatch, report.plot_curves, facts(history), history.doctor.findings)
    accuracy = fig.axes[1]
    assert accuracy.get_ylim()[0] == 0 and 1 <= accuracy.get_ylim()[1] <= 1.05
    chance = [line for line in accuracy.lines if line.get_label().startswith("chance")]
    assert len(chance) == 1 and chance[0].get_ydata()[0] == pytest.approx(1 / 10)  # ten digit classes


def test_layer_labels_say_what_each_layer_is(runs):
    model = runs["sigmoid"].doctor.model
    labels = report.layer_labels(model)
    modules = dict(model.named_modules())
    for name, label in labels.items():
        module = modules[name]
        if hasattr(module, "weight") and module.weight is not None and module.weight.ndim == 2:
            out_features, in_features = module.weight.shape  # the reference: the weight's own shape
            assert label == f"{name} (Linear {in_features}→{out_features})"
        else:
            assert label == f"{name} ({type(module).__name__})"
    assert labels["layers.1"] == "layers.1 (Sigmoid)"


def test_a_diverged_run_is_marked_at_its_first_non_finite_loss(runs, monkeypatch):
    history = runs["diverged"]
    losses = history.doctor.metrics["loss"]
    first_bad = next(i for i, v in enumerate(losses) if v is None or not math.isfinite(v))
    assert report.divergence_step(history.doctor.metrics) == first_bad
    (fig,) = figures(monkeypatch, report.plot_curves, facts(history), history.doctor.findings)
    assert any(t.get_text().strip() == f"loss NaN/inf from step {first_bad}" for t in fig.axes[0].texts)
    page = report.render_html(history.doctor.findings, facts(history))
    assert f"The run diverged at step {first_bad}</b>" in page
    assert report.divergence_step({"loss": [1.0, 0.5]}) is None
    assert np.isfinite(losses[:first_bad]).all()


def test_a_diverged_runs_few_samples_are_drawn_as_points_on_a_readable_axis(runs, monkeypatch):
    history = runs["diverged"]
    samples = len(history.doctor.metrics["steps"])
    assert samples < 3  # the run stopped before the doctor sampled its layers a third time
    for plot in (report.plot_update_ratio, report.plot_activations, report.plot_dead):
        for fig in figures(monkeypatch, plot, facts(history), history.doctor.findings):
            ax = fig.axes[0]
            low, high = ax.get_xlim()
            assert high - low >= 1, f"{plot.__name__}: x axis spans {high - low:.2g}"
            for line in ax.lines:  # the data's lines, not reference lines (unlabelled: "_child…")
                few = len(line.get_xdata()) < 3 and np.isfinite(np.asarray(line.get_ydata(), float)).any()
                if few and not line.get_label().startswith("_"):
                    assert line.get_marker() not in ("None", None, ""), (
                        f"{plot.__name__}: {line.get_label()} has {len(line.get_xdata())} samples and no marker")


def test_finding_cards_name_the_layer_by_what_it_is(runs):
    history = runs["sigmoid"]
    metrics = facts(history)
    page = report.render_html(history.doctor.findings, metrics)
    located = [f for f in history.doctor.findings if f.layer]
    assert located
    for i, f in enumerate(history.doctor.findings, start=1):
        if f.layer:
            module = dict(history.doctor.model.named_modules())[f.layer]
            what = (f"Linear {module.weight.shape[1]}→{module.weight.shape[0]}" if hasattr(module, "weight")
                    else type(module).__name__)
            assert f"at <b>{f.layer} ({what})</b>" in page
            assert f"<h3>{i}. " in page  # numbered like its mark on the loss plot
