"""The doctor benchmark's fast subset (benchmarks/doctor): stable labels; the doctor gets every fast run right.

(a) The independent measurement labels each fast run as it was designed to (benchmarks/doctor/cases.py).
(b) Regression guard: on every fast run the doctor reports every true kind, at a layer the measurement points
    at, raises no false alarm, warns before the first non-finite loss, and leads with a remedy aimed at the
    run's cause (the full benchmark's record is in benchmarks/README.md).
(c) The recorder only reads: the runs' losses are bit-identical to a run without any observer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "doctor"))

import cases
import run as bench

from chainrule.training import fit
from chainrule.training.callbacks import LambdaCallback

FAST = [c for c in cases.CASES if c.fast]

# Where the measurement points, for the runs whose labels name layers.
MEASURED_LAYERS = {
    ("dead-digits-adam-lr0.3", "dead_relu"): ["layers.3"],
    ("van-digits-sigmoid-saturated-bias", "saturation"): ["layers.1", "layers.3"],
    ("van-digits-sigmoid-saturated-bias", "vanishing_gradients"): ["layers.0", "layers.2"],
    ("nf-digits-sgd-lr10", "non_finite"): ["layers.4"],
}


@pytest.fixture(scope="module")
def results():
    out = {}
    for c in FAST:
        r = bench.execute(c)
        r["score"] = bench.score(r, c)
        out[c.name] = r
    return out


def test_the_fast_subset_covers_every_kind_and_healthy_runs():
    assert 8 <= len(FAST) <= 12
    assert set().union(*(c.expect for c in FAST)) == set(bench.ALL_KINDS)
    assert sum(not c.expect for c in FAST) >= 2


@pytest.mark.parametrize("case", FAST, ids=[c.name for c in FAST])
def test_measured_labels_are_what_the_run_was_designed_to_show(results, case):
    labels = results[case.name]["labels"]
    assert set(labels) == set(case.expect), results[case.name]["summary"]
    for (name, kind), layers in MEASURED_LAYERS.items():
        if name == case.name:
            assert sorted(labels[kind]) == layers


@pytest.mark.parametrize("case", FAST, ids=[c.name for c in FAST])
def test_the_doctor_names_every_true_kind_at_the_right_layer_with_no_false_alarm(results, case):
    r = results[case.name]
    found = {f["kind"] for f in r["findings"]}
    assert set(r["labels"]) <= found, f"{case.name}: missed {sorted(set(r['labels']) - found)}"
    assert not found - set(r["labels"]), f"{case.name}: false alarm {sorted(found - set(r['labels']))}"
    assert all(x["correct"] for x in r["score"]["layers"]), r["score"]["layers"]
    if "non_finite" in r["labels"]:
        assert r["score"]["warned_before_non_finite"]


@pytest.mark.parametrize("case", [c for c in FAST if c.expect], ids=[c.name for c in FAST if c.expect])
def test_the_first_remedy_is_aimed_at_the_runs_cause(results, case):
    remedies = results[case.name]["score"]["remedies"]
    assert remedies and all(x["addresses_cause"] for x in remedies), remedies


@pytest.mark.parametrize("name", ["h-digits-noisy-dropout", "nf-digits-sgd-lr10"])
def test_the_recorder_and_the_doctor_only_read(name):
    # dropout draws random masks and the NaN run keeps going: both would show any extra random draw or change
    c = next(c for c in cases.CASES if c.name == name)
    observed = bench.execute(c)["losses"]
    train, val, classes = cases.data(c)
    net = cases.model(c, train[0].shape[1], classes)
    opt, lr = cases.optimizer(c, net)
    plain: list[float] = []
    with np.errstate(all="ignore"):
        fit(net, train, val, optimizer=opt, lr=lr, epochs=c.epochs, batch_size=c.batch_size, seed=0,
            verbose=0, callbacks=[LambdaCallback(on_batch_end=lambda batch, logs: plain.append(logs["loss"]))])
    np.testing.assert_array_equal(np.array(observed), np.array(plain))
