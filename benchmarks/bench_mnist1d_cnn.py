"""Workload 9: the MNIST-1D paper's 1-D CNN (Greydanus 2020: three Conv1d layers of 25 channels, strides 2, ReLU,
a Linear classifier on the 25×5 features) on MNIST-1D's 4000 training / 1000 test signals, trained as the paper
trains it (Adam, lr 1e-2, batch 100, 6000 steps = 150 epochs): seconds per epoch and test accuracy, chainrule
against PyTorch CPU from the same weights on the same batches, one epoch of each in turn.

The paper reports ~94% test accuracy for this CNN. The data come from the ``mnist1d`` package's generator
(``chainrule.data.load_mnist1d``: offline, cached), so both frameworks see the same signals.
"""

from __future__ import annotations

import argparse
import math

import common
import numpy as np

CHANNELS, LENGTH, CLASSES = 25, 40, 10
BATCH, LR, EPOCHS = 100, 1e-2, 150


def convnet(lib, channels: int = CHANNELS):
    """The paper's ConvBase as one Sequential, in either framework's ``nn`` (signals in as (N, 40))."""
    return lib.Sequential(
        lib.Unflatten(1, (1, LENGTH)),
        lib.Conv1d(1, channels, 5, stride=2, padding=1), lib.ReLU(),
        lib.Conv1d(channels, channels, 3, stride=2, padding=1), lib.ReLU(),
        lib.Conv1d(channels, channels, 3, stride=2, padding=1), lib.ReLU(),
        lib.Flatten(), lib.Linear(channels * 5, CLASSES),
    )


def init_params(channels: int = CHANNELS, seed: int = 0) -> list[np.ndarray]:
    """PyTorch's default bound 1/sqrt(fan_in) for every weight and bias, drawn once for both frameworks."""
    shapes = [(channels, 1, 5), (channels, channels, 3), (channels, channels, 3), (CLASSES, channels * 5)]
    rng = np.random.default_rng(seed)
    params = []
    for shape in shapes:
        bound = 1 / math.sqrt(math.prod(shape[1:]))
        params.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    return params


def torch_trainer(x: np.ndarray, y: np.ndarray, channels: int = CHANNELS, lr: float = LR):
    import torch

    model = convnet(torch.nn, channels)
    with torch.no_grad():
        for p, value in zip(model.parameters(), init_params(channels), strict=True):
            p.copy_(torch.from_numpy(value))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def accuracy(xt: np.ndarray, yt: np.ndarray) -> float:
        with torch.no_grad():
            return float((model(torch.from_numpy(xt)).argmax(1).numpy() == yt).mean())

    return common.training_step(model, torch.nn.CrossEntropyLoss(), optimizer, x, y, torch.from_numpy), accuracy


def chainrule_trainer(x: np.ndarray, y: np.ndarray, channels: int = CHANNELS, lr: float = LR):
    """chainrule as a user writes it: nn.Sequential of Conv1d/ReLU/Linear, CrossEntropyLoss, optim.Adam."""
    import chainrule as cr
    from chainrule import nn, optim

    model = convnet(nn, channels)
    for p, value in zip(model.parameters(), init_params(channels), strict=True):
        p.data[...] = value
    optimizer = optim.Adam(model.parameters(), lr=lr)

    def accuracy(xt: np.ndarray, yt: np.ndarray) -> float:
        with cr.no_grad():
            return float((model(cr.from_numpy(xt)).numpy().argmax(1) == yt).mean())

    return common.training_step(model, nn.CrossEntropyLoss(), optimizer, x, y, cr.from_numpy), accuracy


TRAINERS = {"chainrule": chainrule_trainer, "pytorch": torch_trainer}


def data(n_train: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D's signals as the package generates them (the first ``n_train`` training ones)."""
    from chainrule.data import load_mnist1d

    train, test = load_mnist1d()
    # writable copies: a Dataset's arrays are read-only, and torch.from_numpy warns about those
    return train.X[:n_train].copy(), train.y[:n_train].copy(), test.X.copy(), test.y.copy()


def run(epochs: int = EPOCHS, n_train: int = 4000, channels: int = CHANNELS) -> dict[str, tuple[float, float]]:
    """(median seconds per epoch, final test accuracy) per framework, the epochs of the two in turn."""
    x, y, x_test, y_test = data(n_train)
    trainers = {name: make(x, y, channels) for name, make in TRAINERS.items()}
    times: dict[str, list[float]] = {name: [] for name in trainers}
    for epoch in range(epochs):
        batches = common.epoch_batches(len(x), BATCH, seed=epoch)
        names = list(trainers) if epoch % 2 == 0 else list(reversed(trainers))
        for name in names:
            step = trainers[name][0]
            times[name].append(common.timed(lambda step=step, batches=batches: [step(idx) for idx in batches]))
    return {name: (common.median(times[name]), trainers[name][1](x_test, y_test)) for name in trainers}


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="one quick epoch on a few signals (smoke test)")
    args = parser.parse_args(argv)
    common.match_torch_threads()
    epochs, n_train = (1, 300) if args.tiny else (EPOCHS, 4000)
    results = run(epochs, n_train)
    torch_seconds = results["pytorch"][0]
    rows = [[name, seconds, seconds / torch_seconds, accuracy] for name, (seconds, accuracy) in results.items()]
    return [common.print_table(
        f"Workload 9: the MNIST-1D paper's 1-D CNN ({CHANNELS} channels), {n_train} signals, batch {BATCH}, Adam "
        f"lr {LR:g}, {epochs} epochs; median seconds per epoch and final test accuracy (paper: ~0.94)",
        ["", "s/epoch", "× PyTorch", "test accuracy"], rows)]


if __name__ == "__main__":
    print(common.describe_machine())
    main()
