"""Workload 7: a one-layer LSTM (input 32, hidden 128) over sequences of 50 steps, batch 32, a linear head on the
last step's hidden state and MSE against a synthetic target, trained with Adam: seconds per epoch (100 steps),
chainrule against PyTorch CPU, alternating in one run from the same weights and batches.
"""

from __future__ import annotations

import argparse
from typing import Any

import common
import numpy as np

INPUT, HIDDEN, LENGTH, BATCH, STEPS = 32, 128, 50, 32, 100
LR = 1e-3


def synthetic_sequences(n: int, length: int, features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, length, features) float32 sequences in batch-first layout; target: a fixed random readout of each
    sequence's running mean (learnable, and it needs the whole sequence)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, length, features), dtype=np.float32)
    teacher = rng.standard_normal((features, 1)).astype(np.float32) / np.sqrt(features)
    y = (x.mean(axis=1) @ teacher).astype(np.float32) * 4
    return x, y


def init_params(features: int, hidden: int, seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch's default init for the LSTM (U(±1/√H) everywhere) and the Linear head, drawn once."""
    rng = np.random.default_rng(seed)
    k = 1 / np.sqrt(hidden)
    shapes = {"lstm.weight_ih_l0": (4 * hidden, features), "lstm.weight_hh_l0": (4 * hidden, hidden),
              "lstm.bias_ih_l0": (4 * hidden,), "lstm.bias_hh_l0": (4 * hidden,)}
    params = {name: rng.uniform(-k, k, shape).astype(np.float32) for name, shape in shapes.items()}
    params["head.weight"] = rng.uniform(-k, k, (1, hidden)).astype(np.float32)
    params["head.bias"] = rng.uniform(-k, k, (1,)).astype(np.float32)
    return params


def build_model(nn: Any, features: int, hidden: int) -> Any:
    """The model as a user writes it, in either framework (``nn`` is ``torch.nn`` or ``chainrule.nn``):
    one LSTM layer and a linear head on its last step."""

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(features, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 1)

        def forward(self, xb):
            out, _ = self.lstm(xb)
            return self.head(out[:, -1])

    return Model()


def torch_trainer(x: np.ndarray, y: np.ndarray, hidden: int = HIDDEN, lr: float = LR):
    import torch
    from torch import nn

    model = build_model(nn, x.shape[2], hidden)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in init_params(x.shape[2], hidden).items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return common.training_step(model, nn.MSELoss(), optimizer, x, y, torch.from_numpy)


def chainrule_trainer(x: np.ndarray, y: np.ndarray, hidden: int = HIDDEN, lr: float = LR):
    import chainrule as cr
    from chainrule import nn, optim

    model = build_model(nn, x.shape[2], hidden)
    model.load_state_dict(init_params(x.shape[2], hidden))
    optimizer = optim.Adam(model.parameters(), lr=lr)
    return common.training_step(model, nn.MSELoss(), optimizer, x, y, cr.from_numpy)


TRAINERS = {"chainrule": chainrule_trainer, "pytorch": torch_trainer}


def run(length: int = LENGTH, hidden: int = HIDDEN, steps: int = STEPS, repeats: int = 3, warmup: int = 3) -> dict:
    """Seconds per epoch (``steps`` Adam steps) for each framework, the median of ``repeats`` alternating rounds."""
    n = steps * BATCH
    x, y = synthetic_sequences(n, length, INPUT)
    trainers = {name: make(x, y, hidden) for name, make in TRAINERS.items()}
    times = common.alternate(common.batch_rounds(trainers, n, BATCH, steps, warmup), repeats)
    return {name: common.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="one quick round at a tiny size (smoke test)")
    args = parser.parse_args(argv)
    common.match_torch_threads()
    if args.tiny:
        length, hidden, steps, repeats, warmup = 5, 16, 2, 1, 1
    else:
        length, hidden, steps, repeats, warmup = LENGTH, HIDDEN, STEPS, 5, 3
    seconds = run(length, hidden, steps, repeats, warmup)
    rows = [[name, value, value / seconds["pytorch"]] for name, value in seconds.items()]
    return [common.print_table(
        f"Workload 7: LSTM {INPUT}-{hidden}, sequences of {length}, batch {BATCH}, linear head + MSE, Adam; "
        f"seconds per epoch of {steps} steps (median of {repeats})",
        ["", "s/epoch", "× PyTorch"], rows)]


if __name__ == "__main__":
    print(common.describe_machine())
    main()
