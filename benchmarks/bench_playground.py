"""Workload 3: a TensorFlow-Playground-sized net, 2-16-16-1 (ReLU, MSE, SGD lr 0.03), 1,000 points,
batch 10: steps per second (each step also reads its loss as a float, as a training loop does).
At this size every framework is overhead-bound: this measures the cost of the Python around the
arithmetic, not the arithmetic.
"""

from __future__ import annotations

import argparse

import common
import numpy as np

SIZES = (2, 16, 16, 1)
LR = 0.03
BATCH = 10


def circle_data(n: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Playground's "circle": points in [-6, 6]², target 1 inside radius 3 and -1 outside."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-6, 6, (n, 2)).astype(np.float32)
    y = np.where((x**2).sum(axis=1, keepdims=True) < 9, 1.0, -1.0).astype(np.float32)
    return x, y


def init_params(seed: int = 0) -> list[np.ndarray]:
    """PyTorch's default Linear init for the 2-16-16-1 net (see common.init_params)."""
    return common.init_params(SIZES, seed)


def numpy_trainer(x, y):
    w1, b1, w2, b2, w3, b3 = init_params()

    def step(i: int) -> float:
        xb, yb = x[i : i + BATCH], y[i : i + BATCH]
        h1 = np.maximum(xb @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        diff = h2 @ w3.T + b3 - yb
        loss = float((diff * diff).mean())
        g = (2 / diff.size) * diff
        g2 = (g @ w3) * (h2 > 0)
        g1 = (g2 @ w2) * (h1 > 0)
        for p, grad in ((w3, g.T @ h2), (b3, g.sum(0)), (w2, g2.T @ h1), (b2, g2.sum(0)),
                        (w1, g1.T @ xb), (b1, g1.sum(0))):
            p -= LR * grad
        return loss

    return step


def torch_trainer(x, y):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    with torch.no_grad():
        for p, value in zip(model.parameters(), init_params()):
            p.copy_(torch.from_numpy(value))
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step(i: int) -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(tx[i : i + BATCH]), ty[i : i + BATCH])
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def chainrule_trainer(x, y):
    """nn.Sequential + nn.MSELoss + optim.SGD, as a user writes it."""
    import chainrule as cr
    from chainrule import nn, optim

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    for p, value in zip(model.parameters(), init_params()):
        p.data[...] = value
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=LR)
    tx, ty = cr.tensor(x), cr.tensor(y)

    def step(i: int) -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(tx[i : i + BATCH]), ty[i : i + BATCH])
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


TRAINERS = {"chainrule": chainrule_trainer, "pytorch": torch_trainer, "numpy": numpy_trainer}


def run(steps: int, repeats: int, warmup: int = 20) -> dict[str, float]:
    """Steps per second for each framework (median of ``repeats`` rounds of ``steps`` steps)."""
    x, y = circle_data()
    trainers = {name: make(x, y) for name, make in TRAINERS.items()}
    starts = list(range(0, len(x), BATCH))

    def runner(step):
        def one_round():
            for k in range(steps):
                step(starts[k % len(starts)])

        return one_round

    for step in trainers.values():
        for i in starts[:warmup]:
            step(i)
    times = common.alternate({name: runner(s) for name, s in trainers.items()}, repeats)
    return {name: steps / common.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="one quick round (smoke test)")
    args = parser.parse_args(argv)
    common.match_torch_threads()
    steps, repeats, warmup = (20, 1, 2) if args.tiny else (3000, 7, 20)
    rate = run(steps, repeats, warmup)
    rows = [[name, r, 1e6 / r, r / rate["pytorch"]] for name, r in rate.items()]
    return [common.print_table(
        f"Workload 3: Playground net 2-16-16-1, MSE, batch {BATCH}: steps per second (median of {repeats} × {steps})",
        ["", "steps/s", "µs/step", "× PyTorch"], rows)]


if __name__ == "__main__":
    print(common.describe_machine())
    main()
