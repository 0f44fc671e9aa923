"""Progress where the output goes: a line per epoch in a piped log (a real subprocess); the notebook's
updating display is checked by executing the example notebook (tests/learn/test_notebooks.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import json, numpy as np, chainrule as cr
    from chainrule.training.models import MLPSpec, build_mlp
    X = np.random.default_rng(0).normal(size=(128, 4)).astype("float32"); y = (X[:, 0] > 0).astype("int64")
    history = cr.fit(build_mlp(MLPSpec(4, (8,), 2), seed=0), (X, y), epochs={epochs}, verbose={verbose})
    print("HISTORY " + json.dumps(history.epochs))
""")


def _run(epochs: int, verbose: int) -> tuple[list[str], list[dict]]:
    import json

    result = subprocess.run([sys.executable, "-c", SCRIPT.format(epochs=epochs, verbose=verbose)], cwd=ROOT,
                            capture_output=True, text=True, check=True)  # stdout is a pipe, not a terminal
    lines = result.stdout.splitlines()
    history = json.loads(lines[-1].removeprefix("HISTORY "))
    return lines[:-1], history


def test_fit_piped_to_a_log_prints_one_line_per_epoch_with_loss_metrics_and_time():
    lines, history = _run(epochs=4, verbose=1)
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 4, lines
    for epoch, (line, logs) in enumerate(zip(epoch_lines, history)):
        assert line == (f"epoch {epoch + 1}/4  loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.4f}  "
                        f"{logs['seconds']:.1f}s")
    assert not any("\x1b" in line or "━" in line for line in lines)  # no bar, no escape codes in a log file


def test_verbose_0_prints_nothing():
    lines, history = _run(epochs=2, verbose=0)
    assert lines == [] and len(history) == 2
