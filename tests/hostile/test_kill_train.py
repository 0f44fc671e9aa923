"""Must show: `chainrule train` killed at 20 seeded random moments leaves the run folder complete-old or
complete-new, and the next run leaves no temporaries.

Each run is `chainrule train` in a forked child of this process (the imports are done once, so a run takes a
fraction of a second and the kills land in training and in writing alike), killed with SIGKILL after a delay
drawn uniformly over a full run's duration. Two configurations alternate at the same --out: one with the
doctor (its report files) and one without, so a folder holding files of both runs is caught.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule._io import check_manifest
from chainrule.cli import main

KILLS = 20
BASE = ["train", "--dataset", "iris", "--hidden", "4", "--batch-size", "64"]
RUNS = {  # seed -> (extra arguments, the files that run writes)
    1: (["--epochs", "2"], {"model.safetensors", "model.json", "history.jsonl", "history.csv", "summary.json",
                            "diagnoses.json", "metrics.json", "report.html", "manifest.json"}),
    2: (["--epochs", "1", "--no-doctor"], {"model.safetensors", "model.json", "history.jsonl", "history.csv",
                                           "summary.json", "manifest.json"}),
}


def spawn(out: Path, seed: int) -> int:
    """Start `chainrule train` for ``seed`` in a forked child; returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: quiet, and never back into pytest
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        code = 3
        try:
            code = main([*BASE, *RUNS[seed][0], "--seed", str(seed), "--out", str(out), "--json"])
        finally:
            os._exit(code)
    return pid


def run_to_end(out: Path, seed: int) -> float:
    started = time.perf_counter()
    _, status = os.waitpid(spawn(out, seed), 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return time.perf_counter() - started


def complete_run(out: Path) -> int:
    """The seed of the complete run at ``out``; fails unless the folder is exactly one run, whole."""
    summary = json.loads((out / "summary.json").read_text())
    seed = summary["config"]["seed"]
    assert {p.name for p in out.iterdir()} == RUNS[seed][1], f"files of two runs mixed: {sorted(os.listdir(out))}"
    check_manifest(out, "test")  # written last: every file it lists is there at its size
    assert len((out / "history.jsonl").read_text().splitlines()) == summary["epochs_run"]
    assert cr.load(out / "model.safetensors").spec.hidden == (4,)
    if "diagnoses.json" in RUNS[seed][1]:
        json.loads((out / "diagnoses.json").read_text())
        assert (out / "report.html").read_text().rstrip().endswith("</html>")
    return seed


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_killed_runs_leave_the_old_folder_or_the_new_one_and_no_temporaries(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # Once in this process, so that every child inherits the imports (sklearn, matplotlib) and starts warm.
    assert main([*BASE, *RUNS[1][0], "--seed", "1", "--out", str(out), "--json"]) == 0
    durations = {seed: run_to_end(out, seed) for seed in (1, 2)}  # also leaves seed 2's run in place
    rng = np.random.default_rng(11)
    current, outcomes, leftovers = 2, {"old": 0, "new": 0}, 0
    for _ in range(KILLS):
        following = 3 - current
        pid = spawn(out, following)
        time.sleep(rng.uniform(0, durations[following]))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        seed = complete_run(out)
        assert seed in (current, following)
        outcomes["old" if seed == current else "new"] += 1
        leftovers += bool(temporaries(tmp_path))
        current = seed
    assert outcomes["old"] >= 1, outcomes  # some kills landed before the swap: the test saw the hard case
    run_to_end(out, 3 - current)
    assert temporaries(tmp_path) == [], "the next complete run left temporaries behind"
    assert complete_run(out) == 3 - current
    assert (out.stat().st_mode & 0o777) == 0o777 & ~_umask() and \
        ((out / "summary.json").stat().st_mode & 0o777) == 0o666 & ~_umask()
    print(f"{KILLS} kills: {outcomes}, {leftovers} left temporaries that the next run removed")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_next_save_removes_temporaries_of_killed_writers_only(tmp_path: Path) -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)  # a writer that is gone, as after kill -9
    orphan = tmp_path / f".m.safetensors.{pid}-x1.tmp"
    running = tmp_path / f".m.safetensors.{os.getppid()}-x2.tmp"  # a live process's write in progress
    foreign = tmp_path / ".m.safetensors.notes.tmp"  # not named by chainrule
    for path in (orphan, running, foreign):
        path.write_bytes(b"partial")
    cr.save(cr.nn.Linear(2, 1), tmp_path / "m.safetensors")
    assert temporaries(tmp_path) == sorted([running.name, foreign.name])
    assert ((tmp_path / "m.safetensors").stat().st_mode & 0o777) == 0o666 & ~_umask()


def test_without_an_atomic_exchange_the_folder_is_still_replaced_whole(tmp_path: Path, monkeypatch) -> None:
    from chainrule import _io

    monkeypatch.setattr(_io, "_exchange", lambda a, b: False)  # as on a system without renameat2
    for names in (["a.txt", "b.txt"], ["c.txt"]):
        with _io.atomic_folder(tmp_path / "run") as staging:
            for name in names:
                (staging / name).write_text(name * 3)
        assert sorted(os.listdir(tmp_path / "run")) == [*names, "manifest.json"]
        manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
        assert manifest["files"] == {name: os.path.getsize(tmp_path / "run" / name) for name in names}
    assert temporaries(tmp_path) == []
