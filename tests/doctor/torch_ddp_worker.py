"""One rank of the DDP doctor test (test_torch_ddp.py), and the single-process run it is compared with.

    python torch_ddp_worker.py RANK WORLD_SIZE STORE_FILE OUT_DIR

Each rank joins a gloo group through a file store, trains the same MLP (same seed) wrapped in DDP on its own
half of every global batch of scikit-learn's digits, with the doctor watching the DDP model, then asks for the
report at ``OUT_DIR/report<RANK>.html`` and saves the doctor's series to ``OUT_DIR/metrics<RANK>.json`` (the
test's own record, not the doctor's output). With WORLD_SIZE 1, ``train`` runs without torch.distributed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

import chainrule as cr

GLOBAL_BATCH = 64
STEPS_PER_EPOCH = 21
EPOCHS = 2
COMPARED = ("loss", "grad_rms_total", "grad_rms", "weight_rms", "update_ratio", "signal_rms", "act_mean",
            "act_std", "saturation", "zero_grad_fraction", "dead_fraction")


def train(rank: int, world: int, report: Path | None = None) -> dict[str, Any]:
    """Train on rows [rank * share, (rank + 1) * share) of each global batch; the doctor's compared series."""
    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X[np.random.default_rng(0).permutation(len(X))] / 16.0, dtype=torch.float32)
    y = torch.tensor(y[np.random.default_rng(0).permutation(len(y))])
    torch.manual_seed(0)
    # every kind of statistic the ranks combine: tanh (saturation), ReLU (dead units, zero gradients)
    model: nn.Module = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    doctor = cr.Doctor().watch(model, opt)
    share = GLOBAL_BATCH // world
    for _ in range(EPOCHS):
        for step in range(STEPS_PER_EPOCH):
            start = step * GLOBAL_BATCH + rank * share
            loss = F.cross_entropy(model(X[start:start + share]), y[start:start + share])
            opt.zero_grad()
            loss.backward()
            doctor.check(loss)
            opt.step()
        doctor.end_epoch()
    doctor.report() if report is None else doctor.report(report)
    metrics = doctor.metrics
    return {key: metrics[key] for key in COMPARED}


def main() -> None:
    rank, world, store, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        series = train(rank, world, out / f"report{rank}.html")
        # both ranks leave together: rank 1 is done long before rank 0 has drawn its report, and tearing down
        # gloo while the peer is still connected aborted rank 1 ("terminate called without an active exception")
        # in one CI run of two
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()
    (out / f"metrics{rank}.json").write_text(json.dumps(series))


if __name__ == "__main__":
    main()
