"""Workload 6: scikit-learn's digits (8×8 images, 1,797 samples) with the MLP `chainrule train` builds
(64-64-64-10, ReLU, Adam lr 1e-3, batch 32, 20 epochs, on its standardized 70/15/15 split) against
scikit-learn's own MLPClassifier with the same architecture, optimizer, batch size, epochs and no
L2 penalty: training time and test accuracy.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import common
import numpy as np

HIDDEN = (64, 64)
LR = 1e-3
BATCH = 32


def digits_split(seed: int = 0):
    """The split `chainrule train` uses (70/15/15 stratified, standardized); train and test parts."""
    from chainrule.data import load_dataset

    splits = load_dataset("digits", seed=seed)
    return splits.train.X, splits.test.X, splits.train.y, splits.test.y


def train_chainrule(x, y, x_test, y_test, epochs: int, seed: int) -> float:
    """nn.Sequential + optim.Adam in a manual loop; returns test accuracy."""
    import chainrule as cr
    from chainrule import nn, optim

    cr.manual_seed(seed)
    sizes = (x.shape[1], *HIDDEN, 10)
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=LR)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start : start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(cr.tensor(x[idx])), cr.tensor(y[idx]))
            loss.backward()
            optimizer.step()
    model.eval()
    with cr.no_grad():
        predicted = model(cr.tensor(x_test)).argmax(dim=1).numpy()
    return float((predicted == y_test).mean())


def train_sklearn(x, y, x_test, y_test, epochs: int, seed: int) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, activation="relu", solver="adam", alpha=0.0, batch_size=BATCH,
                        learning_rate_init=LR, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
                        shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the point: a fixed epoch count
        clf.fit(x, y)
    return float(clf.score(x_test, y_test))


def run(epochs: int, repeats: int) -> dict[str, tuple[float, float]]:
    """(median seconds, mean test accuracy) per framework; seeds 0..repeats-1, alternating."""
    x, x_test, y, y_test = digits_split()
    results: dict[str, tuple[list[float], list[float]]] = {"chainrule": ([], []), "scikit-learn": ([], [])}
    trainers = {"chainrule": train_chainrule, "scikit-learn": train_sklearn}
    for seed in range(repeats):
        names = list(trainers) if seed % 2 == 0 else list(reversed(trainers))
        for name in names:
            start = time.perf_counter()
            accuracy = trainers[name](x, y, x_test, y_test, epochs, seed)
            results[name][0].append(time.perf_counter() - start)
            results[name][1].append(accuracy)
    return {name: (common.median(t), float(np.mean(a))) for name, (t, a) in results.items()}


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="one epoch, one round (smoke test)")
    args = parser.parse_args(argv)
    epochs, repeats = (1, 1) if args.tiny else (20, 5)
    results = run(epochs, repeats)
    sk_time = results["scikit-learn"][0]
    rows = [[name, t, t / sk_time, acc] for name, (t, acc) in results.items()]
    return [common.print_table(
        f"Workload 6: digits MLP 64-{'-'.join(map(str, HIDDEN))}-10, Adam lr {LR:g}, batch {BATCH}, {epochs} epochs "
        f"(median time, mean test accuracy over seeds 0-{repeats - 1})",
        ["", "seconds", "× scikit-learn", "test accuracy"], rows)]


if __name__ == "__main__":
    print(common.describe_machine())
    main()
