"""The example notebook runs in a real Jupyter kernel (nbclient + ipykernel), and its saved outputs show
what a learner sees: progress per epoch, and each object drawn as HTML (or a PNG for the figure)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "train_diagnose_fix_explain.ipynb"
EPOCHS = 4  # fit_kwargs in the notebook's first code cell
FIT = "history = cr.fit(build_mlp(spec, seed=0), **fit_kwargs)"
TRY_FIXES = "fixes = cr.doctor.try_fixes(spec, fit_kwargs, history.doctor.findings, steps=100)"


@pytest.fixture(scope="module")
def executed():
    """The notebook after one run, top to bottom, in a fresh kernel (a failing cell fails the test)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return notebook


def _outputs(notebook, first_line: str) -> list:
    """The outputs of the code cell whose first line, without its comment, is ``first_line``."""
    cells = [c for c in notebook.cells
             if c.cell_type == "code" and c.source.splitlines()[0].split("#")[0].strip() == first_line]
    assert len(cells) == 1, f"expected one code cell starting with {first_line!r}"
    return cells[0].outputs


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def test_fit_in_a_notebook_shows_a_table_with_one_row_per_epoch(executed):
    displays = [o for o in _outputs(executed, FIT) if o.output_type == "display_data"]
    progress = [o["data"]["text/html"] for o in displays if "chainrule-progress" in o["data"].get("text/html", "")]
    assert len(progress) == 1, "one display, updated in place (not one output per update)"
    rows = re.findall(r"<tr><td>(\d+)/(\d+)</td>((?:<td>[^<]*</td>)+)</tr>", progress[0])
    assert [(int(n), int(total)) for n, total, _ in rows] == [(e, EPOCHS) for e in range(1, EPOCHS + 1)]
    for _, _, cells in rows:  # loss, accuracy, val_loss, val_accuracy, seconds: all numbers
        values = re.findall(r"<td>([^<]*)</td>", cells)
        assert len(values) == 5 and all(float(v) >= 0 for v in values)


@pytest.mark.parametrize(("cell", "plain", "html_marker"), [
    ("history", "History(4 epochs", "<table>"),
    ("history.doctor", "Doctor(watching MLP", "Gradient flow"),
    # Adam at lr 0.1: the gradient grows 10× within the first steps (an error), then ReLUs die (a warning)
    ("history.doctor.findings", "[Finding([error] exploding_gradients", "chainrule doctor: "),
    ("history.doctor.findings[0]", "Finding([error] exploding_gradients", 'class="finding error"'),
    ("change = fixes[0].remedy.change", "History(4 epochs", "<table>"),
    ("cr.explain()", "Explanation(2-2-1 network", "<iframe srcdoc="),
])
def test_each_object_shows_itself_as_html(executed, cell, plain, html_marker):
    result = [o for o in _outputs(executed, cell) if o.output_type == "execute_result"]
    assert len(result) == 1
    data = result[0]["data"]
    assert data["text/plain"].startswith(plain)
    assert html_marker in data["text/html"]


def test_history_plot_shows_as_a_png(executed):
    result = [o for o in _outputs(executed, "history.plot()") if o.output_type == "execute_result"]
    assert len(result) == 1 and result[0]["data"]["image/png"]


def test_try_the_fix_reports_a_verdict(executed):
    text = "".join(o.get("text", "") for o in _outputs(executed, TRY_FIXES) if o.output_type == "stream")
    assert re.search(r"dead_relu: .* -> (improved|no better)", text)
