"""Workload 7: LeNet-5 (conv-pool-conv-pool-fc-fc-fc, 28x28 input padded by 2, ReLU, max pooling) trained with
Adam (lr 1e-3) on synthetic MNIST-shaped images, batch 64: seconds per epoch of 60000/64 steps.

A fraction of an epoch is measured and scaled to a whole one. chainrule (nn + optim in a manual loop) and PyTorch
CPU start from the same weights, see the same batches and alternate in one run.
"""

from __future__ import annotations

import argparse
import math

import common
import numpy as np

BATCH = 64
LR = 1e-3
# (name, shape) of each parameter in the order both frameworks' Sequential lists them
SHAPES = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,), (10, 84), (10,)]


def init_params(seed: int = 0) -> list[np.ndarray]:
    """PyTorch's default bound 1/sqrt(fan_in) for every weight and bias, drawn once for all frameworks."""
    rng = np.random.default_rng(seed)
    params = []
    for k in range(0, len(SHAPES), 2):
        wshape, bshape = SHAPES[k], SHAPES[k + 1]
        bound = 1 / math.sqrt(math.prod(wshape[1:]))
        params.append(rng.uniform(-bound, bound, wshape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, bshape).astype(np.float32))
    return params


def images(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = common.synthetic_mnist(n)
    return x.reshape(n, 1, 28, 28), y


def lenet(lib):
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5), lib.ReLU(), lib.MaxPool2d(2), lib.Flatten(),
        lib.Linear(400, 120), lib.ReLU(), lib.Linear(120, 84), lib.ReLU(), lib.Linear(84, 10),
    )


def torch_trainer(x: np.ndarray, y: np.ndarray, lr: float = LR):
    import torch

    model = lenet(torch.nn)
    with torch.no_grad():
        for p, value in zip(model.parameters(), init_params()):
            p.copy_(torch.from_numpy(value))
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    return common.training_step(model, loss_fn, optimizer, x, y, torch.from_numpy)


def chainrule_trainer(x: np.ndarray, y: np.ndarray, lr: float = LR):
    """chainrule as a user writes it: nn.Sequential of Conv2d/MaxPool2d/Linear, CrossEntropyLoss, optim.Adam."""
    import chainrule as cr
    from chainrule import nn, optim

    model = lenet(nn)
    for p, value in zip(model.parameters(), init_params()):
        p.data[...] = value
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)

    return common.training_step(model, loss_fn, optimizer, x, y, cr.from_numpy)


TRAINERS = {"chainrule": chainrule_trainer, "pytorch": torch_trainer}


def run(epochs_fraction: float, repeats: int, n: int, warmup: int) -> dict[str, float]:
    """Seconds per epoch for each framework (median of ``repeats``), measured on ``epochs_fraction`` of an epoch."""
    x, y = images(n)
    steps = {name: make(x, y) for name, make in TRAINERS.items()}
    total = -(-n // BATCH)
    limit = max(1, int(total * epochs_fraction))
    times = common.alternate(common.batch_rounds(steps, n, BATCH, limit, warmup), repeats)
    return {name: common.median(t) * total / limit for name, t in times.items()}


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="one quick round at a tiny size (smoke test)")
    args = parser.parse_args(argv)
    common.match_torch_threads()
    if args.tiny:
        n, fraction, repeats, warmup = 256, 1.0, 1, 1
    else:
        n, fraction, repeats, warmup = 60_000, 0.1, 5, 5
    seconds = run(fraction, repeats, n, warmup)
    rows = [[name, value, value / seconds["pytorch"]] for name, value in seconds.items()]
    return [common.print_table(
        f"Workload 7: LeNet-5 on 28x28 images, batch {BATCH}, Adam, seconds per epoch of {n} images "
        f"(median of {repeats}, {fraction:g} epoch each)", ["", "s/epoch", "× PyTorch"], rows)]


if __name__ == "__main__":
    print(common.describe_machine())
    main()
