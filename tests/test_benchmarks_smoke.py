"""Smoke test of benchmarks/: each runs once at a tiny size (no timing assertions), and the
frameworks a benchmark compares really do the same work (same losses from the same start)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_blas_threads  # noqa: E402
import bench_digits  # noqa: E402
import bench_doctor  # noqa: E402
import bench_lenet  # noqa: E402
import bench_lstm  # noqa: E402
import bench_memory  # noqa: E402
import bench_mlp  # noqa: E402
import bench_mnist1d_cnn  # noqa: E402
import bench_playground  # noqa: E402
import common  # noqa: E402


def _rows(table: str) -> dict[str, list[str]]:
    """Markdown table text -> {first cell: other cells}."""
    lines = [line for line in table.splitlines() if line.startswith("|")]
    rows = {}
    for line in lines[2:]:  # past the header and the |---| line
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_mlp_tiny_prints_both_workloads_with_floor_and_gemm_limit(capsys):
    tables = bench_mlp.main(["--tiny"])
    assert len(tables) == 2
    for table in tables:
        rows = _rows(table)
        assert {"chainrule", "pytorch", "numpy", "sgemm limit"} <= set(rows)
        assert rows["pytorch"][1] == "1"  # the × PyTorch column is relative to PyTorch
        assert float(rows["chainrule"][0]) > 0
    assert "Workload 1" in capsys.readouterr().out


def test_blas_threads_tiny_sweeps_four_aspects_per_size():
    lines = [line for line in bench_blas_threads.main(["--tiny"])[0].splitlines() if line.startswith("| (")]
    assert len(lines) == 2 * 4  # two sizes, four aspects each
    for line in lines:
        product, _, macs, _, _, ratio = (c.strip() for c in line.strip().strip("|").split("|"))
        m, k, k2, n = (int(v) for v in product.replace("(", "").replace(")", "").replace("@", ",").split(","))
        assert k == k2
        assert float(macs) == pytest.approx(m * k * n / 1e6, rel=0.01)  # the size column is m·k·n
        assert float(ratio) > 0


def test_playground_tiny_reports_steps_per_second():
    rows = _rows(bench_playground.main(["--tiny"])[0])
    assert {"chainrule", "pytorch", "numpy"} <= set(rows)
    assert all(float(r[0].replace(",", "")) > 0 for r in rows.values())


def test_memory_tiny_runs_each_framework_in_its_own_process():
    rows = _rows(bench_memory.main(["--tiny"])[0])
    assert {"chainrule", "pytorch", "numpy"} <= set(rows)
    # the PyTorch process carries torch's import cost; chainrule's must not (it never imports torch)
    assert float(rows["chainrule"][0]) < float(rows["pytorch"][0])


def test_doctor_tiny_compares_doctor_on_and_off():
    tables = bench_doctor.main(["--tiny"])
    assert len(tables) == 1, "fit and the doctor exist, so workload 5 must run"
    assert {"doctor off", "doctor on"} <= set(_rows(tables[0]))


def test_digits_tiny_reports_time_and_accuracy():
    rows = _rows(bench_digits.main(["--tiny"])[0])
    assert {"chainrule", "scikit-learn"} <= set(rows)
    for name in ("chainrule", "scikit-learn"):
        assert 0.5 < float(rows[name][2]) <= 1  # one epoch of Adam already beats chance (0.1) by far


def test_lenet_tiny_reports_both_frameworks():
    rows = _rows(bench_lenet.main(["--tiny"])[0])
    assert {"chainrule", "pytorch"} <= set(rows)
    assert rows["pytorch"][1] == "1"
    assert float(rows["chainrule"][0]) > 0


def test_lstm_tiny_compares_chainrule_with_pytorch():
    rows = _rows(bench_lstm.main(["--tiny"])[0])
    assert {"chainrule", "pytorch"} <= set(rows)
    assert rows["pytorch"][1] == "1"


def test_mnist1d_cnn_tiny_reports_time_and_accuracy_of_both_frameworks():
    rows = _rows(bench_mnist1d_cnn.main(["--tiny"])[0])
    assert {"chainrule", "pytorch"} <= set(rows)
    assert rows["pytorch"][1] == "1"
    assert all(0 <= float(rows[name][2]) <= 1 for name in ("chainrule", "pytorch"))


def test_mnist1d_cnn_frameworks_train_identically():
    """Same weights, same MNIST-1D batches: chainrule's Conv1d network and PyTorch's take the same Adam steps."""
    x, y, _, _ = bench_mnist1d_cnn.data(300)
    batches = common.epoch_batches(300, 100, seed=1)
    losses = {}
    for name, make in bench_mnist1d_cnn.TRAINERS.items():
        step, _ = make(x, y, 8)
        losses[name] = [step(idx) for idx in batches * 2]
    np.testing.assert_allclose(losses["chainrule"], losses["pytorch"], rtol=1e-4)


def test_lstm_frameworks_train_identically():
    """Same weights, same batches: chainrule's LSTM and PyTorch's take the same Adam steps."""
    x, y = bench_lstm.synthetic_sequences(96, 6, bench_lstm.INPUT)
    batches = common.epoch_batches(96, 32, seed=1)
    losses = {name: [step(idx) for idx in batches] for name, step in
              ((name, make(x, y, 16)) for name, make in bench_lstm.TRAINERS.items())}
    np.testing.assert_allclose(losses["chainrule"], losses["pytorch"], rtol=1e-4)


@pytest.mark.parametrize("bench", [bench_mlp, bench_playground, bench_lenet], ids=["mlp", "playground", "lenet"])
def test_frameworks_train_identically(bench):
    """Same start, same batches: chainrule, PyTorch and hand-written NumPy reach the same weights' losses."""
    if bench is bench_mlp:
        x, y = common.synthetic_mnist(384)
        batches = common.epoch_batches(384, 128, seed=1)
        args = batches
    elif bench is bench_lenet:
        x, y = bench_lenet.images(192)
        args = common.epoch_batches(192, 64, seed=1)
    else:
        x, y = bench_playground.circle_data(100)
        args = [0, 10, 20]
    losses = {}
    for name, make in bench.TRAINERS.items():
        step = make(x, y)
        losses[name] = [step(a) for a in args]
    np.testing.assert_allclose(losses["chainrule"], losses["pytorch"], rtol=1e-4)
    if "numpy" in losses:
        np.testing.assert_allclose(losses["numpy"], losses["pytorch"], rtol=1e-4)


def test_torch_doctor_benchmark_interleaved_runs_both_models_and_refuses_a_device(capsys):
    """``bench_torch_doctor.py --interleaved``: one tiny round of each model, a ratio per model; with a device it
    stops with a clear message (timing each step on the host would make the plain loop wait for the device)."""
    pytest.importorskip("torch")
    import bench_torch_doctor

    bench_torch_doctor.main(["--rounds", "1", "--steps", "4", "--interleaved"])
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()
            if line.startswith(("MLP", "CNN"))}
    assert set(rows) == {"MLP", "CNN"}
    for cells in rows.values():
        assert float(cells[3].rstrip("×")) > 0  # the wall ratio
    with pytest.raises(SystemExit):
        bench_torch_doctor.main(["--interleaved", "--device", "cuda"])
    assert "CPU only" in capsys.readouterr().err
