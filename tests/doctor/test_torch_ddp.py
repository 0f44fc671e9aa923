"""The doctor under torch.distributed: two gloo processes training an MLP with DDP on a fixed global batch
measure the same statistics as one process on the whole batch, and rank 0 alone writes the report.

The ranks are separate Python processes (torch_ddp_worker.py), so each one's stdout and stderr are its own.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch_ddp_worker as worker  # noqa: E402 - after the skip: it imports torch

WORKER = Path(worker.__file__).resolve()


def flat(series, prefix=""):
    """Every number of a nested series, keyed by its path (key/layer/index)."""
    if isinstance(series, dict):
        return {k: v for name, sub in series.items() for k, v in flat(sub, f"{prefix}{name}/").items()}
    if isinstance(series, list):
        return {k: v for i, sub in enumerate(series) for k, v in flat(sub, f"{prefix}{i}/").items()}
    return {prefix: series}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Run the two ranks; per rank: its exit code, stdout and stderr, and the series it saved."""
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WORKER.parents[2]), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(rank), "2", str(out / "store"), str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for rank in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    results = [(p.returncode, stdout, stderr) for p, (stdout, stderr) in zip(procs, outputs, strict=True)]
    for rank, (code, _, err) in enumerate(results):
        assert code == 0, f"rank {rank} failed:\n{err}"
    return out, results


def test_rank_zero_alone_writes_the_report_and_rank_one_stays_quiet(ranks):
    out, results = ranks
    assert sorted(p.name for p in out.glob("report*")) == ["report0.html"]
    assert (out / "report0.html").stat().st_size > 0
    _, stdout, stderr = results[1]
    assert stdout == "" and stderr == "", f"rank 1 printed:\n{stdout}{stderr}"


def test_the_ranks_statistics_equal_one_process_over_the_global_batch(ranks):
    out, _ = ranks
    single = flat(worker.train(0, 1))
    for rank in range(2):
        ddp = flat(json.loads((out / f"metrics{rank}.json").read_text()))
        assert ddp.keys() == single.keys()
        # 42 steps of loss and total; 5 samples of 3 weighted layers x 4, of 2 activations x 2, of tanh and ReLU
        # (saturation, zero gradients); 2 epochs of the dead fraction
        assert len(single) == 2 * 42 + 4 * 3 * 5 + 2 * 2 * 5 + 2 * 5 + 2
        for key, expected in single.items():
            got = ddp[key]
            assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, rel=1e-4, abs=1e-6), (
                f"rank {rank} {key}: {got} vs one process {expected}")
