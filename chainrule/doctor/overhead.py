"""How much the doctor costs: ``python -m chainrule.doctor.overhead`` times the reference MLP with and without it.

The reference is 784-256-256-10 ReLU, batch 128, plain SGD, on synthetic MNIST-shaped data; runs
alternate (off, on, off, on, ...) so drift in machine load hits both alike, and each side keeps its
fastest epoch. The budget is 5% per epoch.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np


def measure_overhead(samples: int = 4096, epochs: int = 2, repeats: int = 3, seed: int = 0) -> dict[str, Any]:
    """Seconds per epoch with the doctor off and on, and their ratio, on the reference MLP."""
    from chainrule.doctor import Doctor
    from chainrule.training import fit
    from chainrule.training.models import MLPSpec, build_mlp

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, 784)).astype(np.float32)
    y = rng.integers(0, 10, samples)
    spec = MLPSpec(784, (256, 256), 10)
    best = {"off": np.inf, "on": np.inf}
    for _ in range(repeats):
        for side in ("off", "on"):
            started = time.perf_counter()
            history = fit(build_mlp(spec, seed=seed), (X, y), optimizer="sgd", lr=0.01, batch_size=128,
                          epochs=epochs, metrics=(), verbose=0, callbacks=[Doctor()] if side == "on" else [])
            per_epoch = (time.perf_counter() - started) / len(history.epochs)
            best[side] = min(best[side], per_epoch)
    return {"seconds_off": best["off"], "seconds_on": best["on"], "ratio": best["on"] / best["off"],
            "steps_per_epoch": -(-samples // 128)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS threads (threadpoolctl)")
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    result = measure_overhead(samples=args.samples, repeats=args.repeats)
    print(f"reference MLP 784-256-256-10, batch 128, SGD, {result['steps_per_epoch']} steps/epoch: "
          f"{result['seconds_off']:.3f} s/epoch without the doctor, {result['seconds_on']:.3f} s with it "
          f"(ratio {result['ratio']:.3f})")


if __name__ == "__main__":
    main()
