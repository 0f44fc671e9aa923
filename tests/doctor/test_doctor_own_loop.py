"""The doctor in a hand-written loop with only watch and check: the README's example as written, and windows.

A loop that never calls end_epoch is judged at ``report()`` in windows of ``window_steps`` steps; the
steps after the last full window are a window of their own when at least half as long, else they join
the one before. A loop that calls end_epoch, and fit, get their epochs judged whole, as before.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.doctor import Doctor
from chainrule.training.models import MLPSpec, build_mlp

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_own_loop() -> str:
    """The first Python block of the README's "The training doctor" section, exactly as written."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The training doctor"):]
    section = section[: section.index("\n## ", 3)]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


@pytest.mark.parametrize(("spec", "lr", "expected"), [
    # a deep sigmoid net: its scale already shrinks with depth at step 0 (bad_initialization), then vanishes
    (MLPSpec(64, (32,) * 8, 10, activation="sigmoid"), 0.1,
     [("bad_initialization", None), ("vanishing_gradients", "layers.0")]),
    (MLPSpec(64, (32,) * 8, 10, activation="relu", init="he"), 0.05, []),  # the healthy twin: same depth, fixed
], ids=["deep-sigmoid-vanishes", "healthy-twin"])
def test_the_readme_own_loop_example_as_written_reports_the_problem(digits, spec, lr, expected):
    block = _readme_own_loop()
    assert "end_epoch" not in block  # only watch, check and report
    model = build_mlp(spec, seed=0)
    namespace = {"cr": cr, "model": model, "opt": optim.SGD(model.parameters(), lr=lr),
                 "loss_fn": nn.CrossEntropyLoss(), "splits": digits}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, str(README), "exec"), namespace)  # our own documentation
    doctor = namespace["doctor"]
    assert [(f.kind, f.layer) for f in doctor.findings] == expected
    lines = printed.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [[kind, str(layer)] for kind, layer in expected]


def _tiny_loop(doctor: Doctor, steps: int, end_epoch_every: int | None = None, model=None) -> None:
    model = model or nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=0.01)
    doctor.watch(model, opt)
    X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    for step in range(steps):
        loss = nn.CrossEntropyLoss()(model(cr.tensor(X)), cr.tensor(y))
        opt.zero_grad()
        loss.backward()
        doctor.check(model, loss=loss.item())
        opt.step()
        if end_epoch_every and (step + 1) % end_epoch_every == 0:
            doctor.end_epoch(train_loss=loss.item())


@pytest.mark.parametrize(("steps", "windows"), [
    (0, []),                       # nothing seen, nothing judged
    (24, [(0, 24)]),               # a short run: judged whole
    (100, [(0, 100)]),
    (120, [(0, 120)]),             # 20 left over (< half a window): they join the window before
    (160, [(0, 100), (100, 160)]),  # 60 left over (>= half): a window of their own
    (300, [(0, 100), (100, 200), (200, 300)]),
])
def test_a_loop_without_epochs_is_judged_in_windows_at_report(steps, windows):
    doctor = Doctor(window_steps=100)
    _tiny_loop(doctor, steps)
    assert doctor.metrics["epochs"] == []  # nothing is judged before report()
    doctor.report()
    records = doctor.metrics["epochs"]
    starts = [0] + [r["step"] for r in records[:-1]]
    assert [(start, r["step"]) for start, r in zip(starts, records)] == windows
    assert all(r["inferred"] for r in records) and [r["epoch"] for r in records] == list(range(len(windows)))
    assert len(doctor.metrics["dead_fraction"]["1"]) == len(windows)  # one dead-unit fraction per window
    doctor.report()
    assert len(doctor.metrics["epochs"]) == len(windows)  # a second report() judges nothing twice


def test_a_short_stub_after_windows_already_judged_waits_for_more_steps():
    doctor, model = Doctor(window_steps=100), nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    ends = []
    for steps in (100, 20, 40):  # report() after each stretch, the loop going on with the same model
        _tiny_loop(doctor, steps, model=model)
        doctor.report()
        ends.append([r["step"] for r in doctor.metrics["epochs"]])
    assert ends == [[100], [100], [100, 160]]


@pytest.mark.parametrize(("steps", "every", "ends"), [
    (300, 150, [150, 300]),  # epochs longer than a window: windows cut before end_epoch merge into it
    (60, 20, [20, 40, 60]),
])
def test_a_loop_that_calls_end_epoch_gets_whole_epochs(steps, every, ends):
    doctor = Doctor(window_steps=100)
    _tiny_loop(doctor, steps, end_epoch_every=every)
    doctor.report()
    assert [r["step"] for r in doctor.metrics["epochs"]] == ends
    assert not any(r.get("inferred") for r in doctor.metrics["epochs"])


def test_fit_gives_epochs_so_no_windows_are_cut():
    X = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    doctor = Doctor(window_steps=10)
    cr.fit(build_mlp(MLPSpec(4, (8,), 2), seed=0), (X, y), epochs=2, batch_size=8, verbose=0, doctor=doctor)
    assert [r["step"] for r in doctor.metrics["epochs"]] == [50, 100]
    assert doctor.report() == doctor.findings


def test_dead_units_are_counted_per_window():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    model[0].weight.data[...] = [[1, 0], [0, 1], [-1, -1]]
    model[0].bias.data[...] = [0, 0, -10]  # unit 2 never fires on these inputs
    doctor = Doctor(window_steps=2).watch(model)
    for xb in ([[1.0, -1.0]], [[-1.0, 1.0]], [[1.0, -1.0]], [[1.0, -1.0]]):  # window 2: unit 1 stays silent
        model(cr.tensor(xb)).sum().backward()
        doctor.check(model, loss=1.0)
        model.zero_grad()
    doctor.report()
    assert doctor.metrics["dead_fraction"]["1"] == [pytest.approx(1 / 3), pytest.approx(2 / 3)]
