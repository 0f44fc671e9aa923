"""Must show: loading any crafted file of at most 1 KB stays under 100 MB of peak memory.

Each file is loaded in a child process whose address space is capped at its size after the imports plus
100 MB (``RLIMIT_AS``), so an allocation of what a file asks for fails there with MemoryError instead of
swapping the machine; the child reports each load's exception and how far its peak resident size rose above
what was resident before (``VmHWM``, restarted through ``/proc/self/clear_refs``; not ``ru_maxrss``, which on
Linux keeps the forking parent's peak across exec). A control allocation of 150 MB in the same child must fail,
which shows the cap is in force.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.hostile.crafted import SMALL_DATA_FILES, SMALL_MODEL_FILES

LIMIT_MB = 100

CHILD = r"""
import json, resource, sys
import numpy as np
import pytest
import chainrule as cr
from chainrule.data import load_file
from chainrule.data.idx import read_idx
from chainrule.training.checkpoint import load_checkpoint

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

limit = status("VmSize") + LIMIT_MB * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
results = {}
try:
    np.ones(150 * 2**20, dtype=np.uint8)
    results["control"] = "allocated"
except MemoryError:
    results["control"] = "MemoryError"
open("/proc/self/clear_refs", "w").write("5")  # restart the peak (VmHWM) from what is resident now
rss_before = status("VmRSS")
for name, kind, path in json.loads(sys.argv[1]):
    reader = {"model": cr.load, "checkpoint": load_checkpoint, "data": load_file, "idx": read_idx}[kind]
    try:
        reader(path)
        results[name] = ["loaded", ""]
    except Exception as error:
        results[name] = [type(error).__name__, str(error)]
results["rss_growth_mb"] = (status("VmHWM") - rss_before) / 2**20
print(json.dumps(results))
""".replace("LIMIT_MB", str(LIMIT_MB))


def test_crafted_files_of_at_most_1kb_are_refused_without_allocating(tmp_path: Path) -> None:
    jobs = []
    for name, data in SMALL_MODEL_FILES.items():
        assert len(data) <= 1024, name
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        jobs.append((name, "checkpoint" if name.startswith("checkpoint") else "model", str(path)))
    for name, (suffix, data) in SMALL_DATA_FILES.items():
        assert len(data) <= 1024, name
        path = tmp_path / f"{name}{suffix}"
        path.write_bytes(data)
        jobs.append((name, "idx" if "idx" in suffix else "data", str(path)))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(jobs)], capture_output=True, text=True,
                           env=env, timeout=120, check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    results = json.loads(child.stdout)
    assert results.pop("control") == "MemoryError", "the address-space cap is not in force: the test proves nothing"
    growth = results.pop("rss_growth_mb")
    assert growth < LIMIT_MB, f"peak memory grew by {growth:.0f} MB while loading {len(jobs)} files of <= 1 KB"
    for name, (kind, message) in results.items():
        # ValueError with the file named: refused up front, not a MemoryError from trying.
        assert kind == "ValueError", f"{name}: {kind}: {message}"
        assert f"{name}" in message, f"{name}: the error does not name the file: {message}"


CSV_CHILD = r"""
import sys
from chainrule.data import load_file

def status(field):
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith(field + ":"))

open("/proc/self/clear_refs", "w").write("5")  # restart the peak (VmHWM) from what is resident now
rss = status("VmRSS")
dataset = load_file(sys.argv[1])
print(status("VmHWM") - rss, len(dataset))
"""


def run_child(code: str, *args: str) -> list[str]:
    """Run ``code`` in a fresh interpreter (this checkout's chainrule, one BLAS thread): the words it printed."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120,
                           check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    return child.stdout.split()


def test_a_csv_is_read_within_a_small_multiple_of_its_size(tmp_path: Path) -> None:
    rows = 150_000
    rng = np.random.default_rng(0)
    table = np.column_stack([rng.normal(size=(rows, 5)), rng.integers(0, 3, rows)])
    path = tmp_path / "big.csv"
    np.savetxt(path, table, fmt=["%.6f"] * 5 + ["%d"], delimiter=",", header="a,b,c,d,e,label", comments="")
    size = path.stat().st_size
    growth, samples = (int(v) for v in run_child(CSV_CHILD, str(path)))
    assert samples == rows
    # Rows as Python lists of strings cost about 10x the file; values streamed into a float buffer about 2x.
    assert growth < 4 * size, f"reading a {size / 2**20:.1f} MiB CSV grew peak memory by {growth / 2**20:.1f} MiB"


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])
def test_an_npz_is_read_within_a_small_multiple_of_its_data(tmp_path: Path, save: Callable[..., None]) -> None:
    rows = 200_000
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(rows, 20)).astype(np.float32), rng.integers(0, 3, rows)
    path = tmp_path / "big.npz"
    save(path, X=X, y=y)
    growth, samples = (int(v) for v in run_child(CSV_CHILD, str(path)))
    assert samples == rows
    data = X.nbytes + y.nbytes
    assert growth < 3 * data, f"reading {data / 2**20:.1f} MiB of arrays grew peak memory by {growth / 2**20:.1f} MiB"


MODEL_CHILD = r"""
import sys
import chainrule as cr

def status(field):
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith(field + ":"))

cr.manual_seed(0)
expected_draw = cr.randn(3).tolist()
cr.manual_seed(0)
open("/proc/self/clear_refs", "w").write("5")  # restart the peak (VmHWM) from what is resident now
rss = status("VmRSS")
model = cr.load(sys.argv[1])
print(status("VmHWM") - rss, int(cr.randn(3).tolist() == expected_draw))
"""


def test_a_model_loads_within_twice_its_file_and_leaves_the_random_stream_alone(tmp_path: Path) -> None:
    import chainrule as cr

    model = cr.nn.Sequential(cr.nn.Linear(1000, 4000), cr.nn.ReLU(), cr.nn.Linear(4000, 1000),
                             cr.nn.BatchNorm1d(1000), cr.nn.Linear(1000, 10))
    path = tmp_path / "model.safetensors"
    cr.save(model, path)
    size = path.stat().st_size
    growth, same_draw = (int(v) for v in run_child(MODEL_CHILD, str(path)))
    # The file's pages (memory-mapped while read) and the arrays read from them: 2x. Building the layers with
    # their own random weights and then copying the file's into them, as loading did, peaked at 3x.
    assert growth < 2.3 * size, f"loading a {size / 2**20:.1f} MiB model grew peak memory by {growth / 2**20:.1f} MiB"
    assert same_draw, "loading a model drew from the global random generator (as initializing its layers would)"
