"""The doctor's cheaper per-step and per-epoch arithmetic gives the values the plain version gave.

* ``dead_since`` tests every unit at once from a table of ``math.lgamma`` values; the per-unit loop it replaced
  is the reference here, on random firing histories, and the two must agree unit for unit (exact floats).
* The gradient dots run without ``np.errstate``: a dot product raises no floating-point warning, which is
  checked here under ``np.errstate(all="raise")`` for the overflows and NaNs the doctor must survive.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule.doctor.measurements import ReLUFiring, log_choose, sumsq


def scalar_log_choose(n: int, k: int) -> float:
    """The per-unit formula ``dead_since`` used before: the reference."""
    if k > n:
        return -math.inf
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def test_log_choose_is_the_lgamma_formula_exactly():
    table = np.array([math.lgamma(i + 1) for i in range(61)])
    n, k = np.meshgrid(np.arange(61), np.arange(61), indexing="ij")
    got = log_choose(n.ravel(), k.ravel(), table)
    want = [scalar_log_choose(int(a), int(b)) for a, b in zip(n.ravel(), k.ravel(), strict=True)]
    assert got.tolist() == want  # floats compared exactly (-inf where k > n)


@pytest.mark.parametrize("seed", range(6))
def test_dead_since_counts_the_units_the_per_unit_test_counts(seed):
    rng = np.random.default_rng(seed)
    firing = ReLUFiring(["relu"])
    take, _ = firing.hooks("relu", "ReLU")
    rates = rng.uniform(0.0, 0.2, 300) * (rng.random(300) < 0.8)  # some units never fire
    alpha = 10.0 ** rng.uniform(-4, -1)
    for stretch in range(3):  # each call judges the batches since the previous one
        batches = int(rng.integers(4, 40))
        stop = rng.integers(0, batches + 1, 300)  # unit j falls silent after batch stop[j]
        for b in range(batches):
            fires = (rng.random((8, 300)) < rates) & (b < stop)
            take((), None, fires.astype(np.float32))
        start, before = firing.base["relu"]
        total = firing.batches["relu"] - start
        fired = (firing.fired_in["relu"] - before).tolist()
        silent = (firing.batches["relu"] - np.maximum(firing.last_batch["relu"], start)).tolist()
        want = sum(1 for m, s in zip(fired, silent, strict=True) if m == 0
                   or scalar_log_choose(total - s, m) - scalar_log_choose(total, m) < math.log(alpha)) / 300
        assert firing.dead_since(alpha)["relu"] == want, stretch


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sum_of_squares_warns_of_nothing_on_overflow_or_nan(dtype):
    big = np.full((64, 80), np.finfo(dtype).max / 2, dtype=dtype)
    wide = big.astype(np.float64).reshape(-1)
    with np.errstate(over="ignore"):
        expected = float(wide @ wide)  # float32 and float16 squares overflow their dtype, float64's its own
    with np.errstate(all="raise"):
        assert sumsq(big) == pytest.approx(expected)  # redone in float64 where the dtype overflowed
        assert sumsq(big.reshape(-1)[::7]) > 0
        big[3, 4] = np.nan
        assert math.isnan(sumsq(big))


class StepByStep:
    """The per-step bookkeeping ``ReLUFiring`` did before it buffered the column sums: the reference."""

    def __init__(self) -> None:
        self.windows: list[dict[str, np.ndarray]] = [{}]
        self.batches, self.fired_in, self.last_batch, self.base = 0, None, None, None

    def take(self, out: np.ndarray) -> None:
        fired = out.sum(axis=0) > 0
        old = self.windows[-1].get("relu")
        if old is not None and old.shape == fired.shape:
            old |= fired
        else:
            self.windows[-1]["relu"] = fired
        self.batches += 1
        if self.last_batch is None or self.last_batch.shape != fired.shape:
            self.last_batch, self.fired_in = np.zeros(fired.shape, np.int64), np.zeros(fired.shape, np.int64)
            self.base = (self.batches - 1, self.fired_in.copy())
        self.last_batch[fired] = self.batches
        self.fired_in += fired


def test_buffered_firing_counts_are_the_step_by_step_ones():
    # 200 steps: more than FOLD_ROWS between reads, window cuts, a layer that changes width and then changes back
    rng = np.random.default_rng(0)
    firing, reference = ReLUFiring(["relu"]), StepByStep()
    take, _ = firing.hooks("relu", "ReLU")
    rates = rng.uniform(0.0, 0.05, 40)
    for step in range(200):
        width = 25 if 120 <= step < 150 else 40
        out = ((rng.random((16, width)) < rates[:width]) * rng.random((16, width))).astype(np.float32)
        take((), None, out)
        reference.take(out)
        if step % 70 == 69:
            firing.cut()
            reference.windows.append({})
        if step in (10, 130, 199):  # reading the counts folds the buffer; reading again changes nothing
            for _ in range(2):
                assert firing.batches["relu"] == reference.batches
                assert firing.fired_in["relu"].tolist() == reference.fired_in.tolist()
                assert firing.last_batch["relu"].tolist() == reference.last_batch.tolist()
                assert firing.base["relu"][0] == reference.base[0]
    assert len(firing.windows) == len(reference.windows)
    for mine, theirs in zip(firing.windows, reference.windows, strict=True):
        assert mine["relu"].tolist() == theirs["relu"].tolist()


def test_between_samples_a_big_layer_s_gradient_rms_is_read_in_runs():
    """Sample steps read each gradient whole; between them a big one (over 4 × SUBSET weights) is read in runs of
    RUN elements (``run_layout``), scaled to the whole: checked against NumPy summing the same elements, and
    against the whole gradient's RMS (an estimate, within 10% here)."""
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.doctor import Doctor
    from chainrule.doctor.measurements import RUN, run_layout

    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(320, 64)).astype(np.float32), rng.integers(0, 10, 320)
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 10))  # 32768 weights: runs; 5120: whole
    opt = optim.SGD(model.parameters(), lr=0.05)
    doctor = Doctor(stats_every=10).watch(model, opt)
    exact, estimate = [], []
    for i in range(5):
        loss = nn.CrossEntropyLoss()(model(cr.tensor(X[i * 64:(i + 1) * 64])), cr.tensor(y[i * 64:(i + 1) * 64]))
        opt.zero_grad()
        loss.backward()
        grads = [model[j].weight.grad.numpy().astype(np.float64).ravel() for j in (0, 2)]
        exact.append(np.sqrt(np.mean(np.concatenate(grads) ** 2)))
        runs, stride = run_layout(grads[0].size, 64)
        read = np.concatenate([grads[0][k * stride:k * stride + RUN] for k in range(runs)])
        squares = np.sum(read ** 2) * grads[0].size / read.size + np.sum(grads[1] ** 2)
        estimate.append(np.sqrt(squares / (grads[0].size + grads[1].size)))
        doctor.check(model, loss=loss.item())
        opt.step()
    doctor.end_epoch()  # the steps since the last sample are judged here
    totals = doctor.metrics["grad_rms_total"]
    assert totals[0] == pytest.approx(exact[0], rel=1e-5)  # the sample step: whole
    for step in range(1, 5):
        assert totals[step] == pytest.approx(estimate[step], rel=1e-5)
        assert totals[step] == pytest.approx(exact[step], rel=0.1)
    assert len({k * stride % 64 for k in range(runs)}) > 1  # the runs start at different columns


def test_the_paired_overhead_counts_the_doctor_s_time_on_its_side(monkeypatch):
    """``overhead --paired``: whatever the doctor spends inside its calls lands on the watched copy's side. A check
    made to sleep 5 ms a call must show as at least that much per step (2 steps an epoch here), and the unwatched
    copy must not pay it."""
    import time

    from chainrule.doctor import Doctor
    from chainrule.doctor.overhead import measure_paired

    real_check = Doctor.check

    def slow_check(self, *args, **kwargs):
        time.sleep(0.005)
        return real_check(self, *args, **kwargs)

    monkeypatch.setattr(Doctor, "check", slow_check)
    result = measure_paired(samples=256, epochs=2, runs=3)
    assert result["steps_per_epoch"] == 2
    # 2 sleeps an epoch: the doctor's side is at least 10 ms an epoch slower (the steps themselves are ~5 ms each;
    # their noise is far below the 10 ms), and the ratio says the same
    assert result["seconds_on"] - result["seconds_off"] >= 0.009
    # the ratio (a median of per-run ratios, not of the medians above) by at least half what the sleeps add
    assert result["ratio"] >= 1.0 + 0.5 * 0.009 / result["seconds_off"]


@pytest.mark.parametrize("order", ["C", "F"])
def test_runs_view_reads_a_big_array_where_it_lies_in_memory(order):
    """``runs_view``: a live view of SUBSET elements in runs for a row-major array and for a transposed one (so the
    update ratio reads the weights the optimizer changes, not a copy), whose RMS estimates the whole's (±5% here)."""
    from chainrule.doctor.measurements import RUN, SUBSET, runs_view

    weights = np.random.default_rng(0).normal(size=(256, 784)).astype(np.float32)
    stored = weights if order == "C" else np.asfortranarray(weights)
    view = runs_view(stored)
    assert view.shape == (SUBSET // RUN, RUN) and np.shares_memory(view, stored)
    stored[...] *= 2  # an in-place update, as an optimizer's step: the view sees it
    assert math.sqrt(float(np.mean(view.astype(np.float64) ** 2))) == pytest.approx(
        math.sqrt(float(np.mean(stored.astype(np.float64) ** 2))), rel=0.05)
    assert runs_view(np.ones(100, np.float32)).shape == (100,)  # small: whole


@pytest.mark.parametrize("change", ["in place", "a new array"])
def test_the_update_ratio_follows_the_weights_however_they_change(change):
    """The update ratio reads a big weight through a runs view made once per weight array: a change in place (an
    optimizer's step) and a new array put in the parameter's place are both seen. Scaling the weights by 1.5 moves
    every subset of them by half its norm: the ratio is 0.5 whichever elements are read."""
    import chainrule as cr
    from chainrule import nn
    from chainrule.doctor import Doctor

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 10))  # 32768 weights: read in runs
    doctor = Doctor(stats_every=2).watch(model)
    x = cr.tensor(np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32))
    for _ in range(5):
        loss = model(x).sum()
        loss.backward()
        doctor.check(loss=loss.item())
        with cr.no_grad():
            if change == "in place":
                model[0].weight.mul_(1.5)
            else:
                model[0].weight.data = cr.tensor(model[0].weight.detach().numpy() * 1.5)
        model.zero_grad()
    doctor.end_epoch()
    ratios = doctor.metrics["update_ratio"]["0"]
    assert len(ratios) == 3 and ratios[:2] == pytest.approx([0.5, 0.5], rel=1e-5)  # the last: no step after it yet
