"""Workloads 1 and 2: the reference MLP 784-256-256-10 (ReLU, softmax cross-entropy, SGD lr 0.1)
on synthetic MNIST-shaped data, seconds per epoch at batch 128 and at batch 16.

Compared: chainrule through its public API (nn + optim in a manual loop, and chainrule.fit at batch
128), PyTorch, and a hand-written NumPy forward/backward (the floor for a NumPy engine); plus the
limit the machine's sgemm rate puts on any implementation that does the same matrix products.
"""

from __future__ import annotations

import argparse

import common
import numpy as np

SIZES = (784, 256, 256, 10)
LR = 0.1


def init_params(seed: int = 0) -> list[np.ndarray]:
    """PyTorch's default Linear init for this MLP (see common.init_params)."""
    return common.init_params(SIZES, seed)


# ---------------------------------------------------------------------------- hand-written NumPy


def numpy_trainer(x: np.ndarray, y: np.ndarray, lr: float = LR):
    """The floor: forward and backward by hand, in place where NumPy allows."""
    w1, b1, w2, b2, w3, b3 = init_params()

    def step(idx: np.ndarray) -> float:
        xb, yb = x[idx], y[idx]
        n = len(idx)
        h1 = xb @ w1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = -np.log(z[rows, yb]).mean()
        z[rows, yb] -= 1
        z /= n
        gw3, gb3 = z.T @ h2, z.sum(axis=0)
        g2 = z @ w3
        g2 *= h2 > 0
        gw2, gb2 = g2.T @ h1, g2.sum(axis=0)
        g1 = g2 @ w2
        g1 *= h1 > 0
        gw1, gb1 = g1.T @ xb, g1.sum(axis=0)
        for p, g in ((w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2), (w3, gw3), (b3, gb3)):
            g *= lr
            p -= g
        return float(loss)

    return step


# ---------------------------------------------------------------------------- PyTorch


def torch_trainer(x: np.ndarray, y: np.ndarray, lr: float = LR):
    import torch
    from torch import nn

    params = init_params()
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    with torch.no_grad():
        for p, value in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(value))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    return common.training_step(model, loss_fn, optimizer, x, y, torch.from_numpy)


# ---------------------------------------------------------------------------- chainrule


def chainrule_trainer(x: np.ndarray, y: np.ndarray, lr: float = LR):
    """chainrule as a user writes it: nn.Sequential, nn.CrossEntropyLoss, optim.SGD, a manual loop."""
    import chainrule as cr
    from chainrule import nn, optim

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    for p, value in zip(model.parameters(), init_params()):
        p.data[...] = value
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)

    return common.training_step(model, loss_fn, optimizer, x, y, cr.from_numpy)  # as torch.from_numpy: no copy


TRAINERS = {"chainrule": chainrule_trainer, "pytorch": torch_trainer, "numpy": numpy_trainer}


def run(batch_size: int, epochs_fraction: float = 1.0, repeats: int = 3, n: int = 60_000, warmup: int = 3) -> dict:
    """Seconds per epoch for each framework (median of ``repeats``), measured on ``epochs_fraction`` of an epoch."""
    x, y = common.synthetic_mnist(n)
    steps = {name: make(x, y) for name, make in TRAINERS.items()}
    total = -(-n // batch_size)
    limit = max(1, int(total * epochs_fraction))
    runners = common.batch_rounds(steps, n, batch_size, limit, warmup)
    if epochs_fraction == 1.0 and batch_size == 128:
        runners["chainrule.fit"] = fit_runner(x, y, batch_size)
    times = common.alternate(runners, repeats)
    scale = total / limit
    return {name: common.median(t) * (1 if name == "chainrule.fit" else scale) for name, t in times.items()}


def fit_runner(x: np.ndarray, y: np.ndarray, batch_size: int):
    """One epoch of the fit loop, ``chainrule.training.fit`` (SGD, no doctor, quiet, no accuracy), fresh model each.

    fit also shuffles the data and measures the epoch's loss on the whole training set, as it always does.
    """
    from chainrule import nn
    from chainrule.training import fit

    def one_round():
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
        for p, value in zip(model.parameters(), init_params()):
            p.data[...] = value
        fit(model, (x, y), loss="cross_entropy", optimizer="sgd", lr=LR, epochs=1, batch_size=batch_size,
            verbose=0, metrics=(), seed=0)

    return one_round


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="one quick round at a tiny size (smoke test)")
    args = parser.parse_args(argv)
    common.match_torch_threads()
    tables = []
    if args.tiny:
        n, plan, gemm_sizes, warmup = 256, [(128, 1.0, 1), (16, 0.25, 1)], (128,), 1
    else:
        n, plan, gemm_sizes, warmup = 60_000, [(128, 1.0, 7), (16, 0.2, 5)], (256, 512, 1024, 2048), 3
    gflops = common.sgemm_gflops(gemm_sizes)
    for workload, (batch_size, fraction, repeats) in zip((1, 2), plan):
        seconds = run(batch_size, fraction, repeats, n, warmup)
        rows = []
        for name, value in seconds.items():
            rows.append([name, value, value / seconds["pytorch"], value / seconds["numpy"]])
        rows.sort(key=lambda row: row[0] not in ("chainrule", "chainrule.fit"))
        gemm_limit = common.mlp_flops(n, SIZES) / (gflops * 1e9)
        rows.append(["sgemm limit", gemm_limit, gemm_limit / seconds["pytorch"], gemm_limit / seconds["numpy"]])
        tables.append(common.print_table(
            f"Workload {workload}: MLP 784-256-256-10, batch {batch_size}, seconds per epoch "
            f"(median of {repeats}, {fraction:g} epoch each; sgemm {gflops:.0f} GFLOP/s)",
            ["", "s/epoch", "× PyTorch", "× NumPy floor"], rows))
    return tables


if __name__ == "__main__":
    print(common.describe_machine())
    main()
