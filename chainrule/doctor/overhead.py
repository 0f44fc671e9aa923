"""How much the doctor costs: ``python -m chainrule.doctor.overhead`` times the reference MLP with and without it.

The reference is 784-256-256-10 ReLU, batch 128, plain SGD, on synthetic MNIST-shaped data. Rounds alternate
the order (off then on, on then off, ...) so drift in machine load hits both alike; each round times both sides
in wall-clock and in CPU seconds (the process's: on a shared machine waiting for a core is not the doctor's
cost), and the result is the median over rounds of each round's on/off ratio. The budget is 5% per epoch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import numpy as np


def measure_overhead(samples: int = 4096, epochs: int = 2, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Seconds per epoch with the doctor off and on (medians over ``repeats`` alternated rounds) and the median
    of the rounds' on/off ratios, in wall-clock and in CPU time; the 1-minute load average before and after."""
    from chainrule.doctor import Doctor
    from chainrule.training import fit
    from chainrule.training.models import MLPSpec, build_mlp

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, 784)).astype(np.float32)
    y = rng.integers(0, 10, samples)
    spec = MLPSpec(784, (256, 256), 10)
    wall: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    load_before = os.getloadavg()[0]
    for round_ in range(repeats):
        for side in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
            started, started_cpu = time.perf_counter(), time.process_time()
            history = fit(build_mlp(spec, seed=seed), (X, y), optimizer="sgd", lr=0.01, batch_size=128,
                          epochs=epochs, metrics=(), verbose=0, callbacks=[Doctor()] if side == "on" else [])
            wall[side].append((time.perf_counter() - started) / len(history.epochs))
            cpu[side].append((time.process_time() - started_cpu) / len(history.epochs))

    def ratio(times: dict[str, list[float]]) -> float:
        return statistics.median(on / off for on, off in zip(times["on"], times["off"], strict=True))

    return {"seconds_off": statistics.median(wall["off"]), "seconds_on": statistics.median(wall["on"]),
            "ratio": ratio(wall), "cpu_ratio": ratio(cpu), "steps_per_epoch": -(-samples // 128),
            "load": (load_before, os.getloadavg()[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5, help="alternated rounds (each times off and on)")
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS threads (threadpoolctl)")
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    result = measure_overhead(samples=args.samples, repeats=args.repeats)
    print(f"reference MLP 784-256-256-10, batch 128, SGD, {result['steps_per_epoch']} steps/epoch: "
          f"{result['seconds_off']:.3f} s/epoch without the doctor, {result['seconds_on']:.3f} s with it "
          f"(median of {args.repeats} alternated rounds: ratio {result['ratio']:.3f} wall-clock, "
          f"{result['cpu_ratio']:.3f} CPU time; load average {result['load'][0]:.1f} → {result['load'][1]:.1f})")


if __name__ == "__main__":
    main()
