"""The doctor's cost on the reference MLP in instructions, which don't move with the machine's load.

``python -m chainrule.doctor.overhead`` times the reference MLP (784-256-256-10 ReLU, batch 128, SGD) with the
doctor off and on; on a shared machine its ratio swings by more than the 5% budget. This runs the same training
under valgrind's callgrind, 1 and 3 epochs each side, and prints the instructions per epoch (the difference,
so start-up and imports cancel) and their ratio. Instructions are not time: the BLAS products dominate both
sides and count the same, cache misses are not counted. Complements the timed ratio, doesn't replace it.

    python benchmarks/doctor_instructions.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = """
import sys
import numpy as np
from chainrule.doctor import Doctor
from chainrule.training import fit
from chainrule.training.models import MLPSpec, build_mlp
rng = np.random.default_rng(0)
X = rng.normal(size=(4096, 784)).astype(np.float32)
y = rng.integers(0, 10, 4096)
side, epochs = sys.argv[1], int(sys.argv[2])
fit(build_mlp(MLPSpec(784, (256, 256), 10), seed=0), (X, y), optimizer="sgd", lr=0.01, batch_size=128,
    epochs=epochs, metrics=(), verbose=0, callbacks=[Doctor()] if side == "on" else [])
"""


def instructions(side: str, epochs: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", PROGRAM, side,
         str(epochs)], env=env, capture_output=True, text=True, cwd=ROOT)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"the run failed (doctor {side}, {epochs} epochs):\n{done.stderr[-3000:]}")
    return int(found.group(1))


def main() -> None:
    per_epoch = {side: (instructions(side, 3) - instructions(side, 1)) / 2 for side in ("off", "on")}
    print(f"reference MLP, instructions per epoch: doctor off {per_epoch['off']:,.0f}, on {per_epoch['on']:,.0f}, "
          f"ratio {per_epoch['on'] / per_epoch['off']:.4f}")


if __name__ == "__main__":
    main()
