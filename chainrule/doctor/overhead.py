"""How much the doctor costs: ``python -m chainrule.doctor.overhead`` times the reference MLP with and without it.

The reference is 784-256-256-10 ReLU, batch 128, plain SGD, on synthetic MNIST-shaped data. Rounds alternate
the order (off then on, on then off, ...) so drift in machine load hits both alike; each round times both sides
in wall-clock and in CPU seconds (the process's: on a shared machine waiting for a core is not the doctor's
cost), and the result is the median over rounds of each round's on/off ratio. The budget is 5% per epoch.

``--paired N`` measures the same cost more tightly: two copies of the MLP train in one loop, a step of one then a
step of the other (the order flipping every step), one watched by a doctor the way a user's own loop does it
(``watch``, ``check`` after each backward, ``end_epoch``, ``report``); each step is timed, so load from other
processes hits both copies within milliseconds. The result is the median over N runs of each run's on/off ratio of
summed step times. On a shared machine the rounds above move by ±3-5% from run to run, these by ±0.5%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import numpy as np


def reference_data(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray, Any]:
    """Synthetic MNIST-shaped data (``samples`` rows of 784 normal features, 10 classes) and the MLP's spec."""
    from chainrule.training.models import MLPSpec

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, 784)).astype(np.float32)
    return X, rng.integers(0, 10, samples), MLPSpec(784, (256, 256), 10)


def measure_overhead(samples: int = 4096, epochs: int = 2, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Seconds per epoch with the doctor off and on (medians over ``repeats`` alternated rounds) and the median
    of the rounds' on/off ratios, in wall-clock and in CPU time; the 1-minute load average before and after."""
    from chainrule.doctor import Doctor
    from chainrule.training import fit
    from chainrule.training.models import build_mlp

    X, y, spec = reference_data(samples, seed)
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


def measure_paired(samples: int = 4096, epochs: int = 2, runs: int = 20, seed: int = 0) -> dict[str, Any]:
    """Each of ``runs`` runs: two copies of the reference MLP, trained ``epochs`` epochs step by step in turn, one
    watched by a fresh Doctor (own loop); the ratio of their summed step times (the doctor's watch, end_epoch and
    report counted on its side). Returns the per-run ratios' median and quartiles, and the median seconds per
    epoch of each side."""
    import chainrule as cr
    from chainrule import nn
    from chainrule.doctor import Doctor
    from chainrule.training.models import build_mlp

    X, y, spec = reference_data(samples, seed)
    batch = 128
    loss_fn = nn.CrossEntropyLoss()

    def step(model: Any, optimizer: Any, doctor: Any, xb: np.ndarray, yb: np.ndarray) -> float:
        started = time.perf_counter()
        loss = loss_fn(model(cr.from_numpy(xb)), cr.from_numpy(yb))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if doctor is not None:
            doctor.check(loss=float(loss.item()))
        optimizer.step()
        return time.perf_counter() - started

    ratios, seconds_off, seconds_on = [], [], []
    for run in range(runs):
        sides: list[list[Any]] = []  # [model, optimizer, doctor or None, seconds so far] per copy
        for watched in (False, True):
            model = build_mlp(spec, seed=seed)
            optimizer = cr.optim.SGD(model.parameters(), lr=0.01)
            started = time.perf_counter()
            doctor = Doctor().watch(model, optimizer) if watched else None
            sides.append([model, optimizer, doctor, time.perf_counter() - started])
        off, on = sides
        for epoch in range(epochs):
            order = np.random.default_rng([seed, run, epoch]).permutation(samples)
            for k in range(samples // batch):
                rows = order[k * batch:(k + 1) * batch]
                for side in ((off, on) if k % 2 == 0 else (on, off)):
                    side[3] += step(side[0], side[1], side[2], X[rows], y[rows])
            started = time.perf_counter()
            on[2].end_epoch()
            on[3] += time.perf_counter() - started
        started = time.perf_counter()
        on[2].report()
        on[2].unwatch()
        on[3] += time.perf_counter() - started
        ratios.append(on[3] / off[3])
        seconds_off.append(off[3] / epochs)
        seconds_on.append(on[3] / epochs)
    ordered = sorted(ratios)
    quartiles = (ordered[len(ordered) // 4], ordered[3 * len(ordered) // 4])
    return {"ratio": statistics.median(ratios), "quartiles": quartiles,
            "seconds_off": statistics.median(seconds_off), "seconds_on": statistics.median(seconds_on),
            "steps_per_epoch": samples // batch, "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5, help="alternated rounds (each times off and on)")
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS threads (threadpoolctl)")
    parser.add_argument("--paired", type=int, default=0, metavar="RUNS",
                        help="instead: RUNS runs of two copies trained step by step in turn (see above)")
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    if args.paired:
        paired = measure_paired(samples=args.samples, runs=args.paired)
        low, high = paired["quartiles"]
        print(f"reference MLP 784-256-256-10, batch 128, SGD, {paired['steps_per_epoch']} steps/epoch, two copies "
              f"step by step in turn: {paired['seconds_off']:.3f} s/epoch without the doctor, "
              f"{paired['seconds_on']:.3f} s with it (median of {args.paired} runs: ratio {paired['ratio']:.3f}, "
              f"quartiles {low:.3f}-{high:.3f}; load average {paired['load']:.1f})")
        return
    result = measure_overhead(samples=args.samples, repeats=args.repeats)
    print(f"reference MLP 784-256-256-10, batch 128, SGD, {result['steps_per_epoch']} steps/epoch: "
          f"{result['seconds_off']:.3f} s/epoch without the doctor, {result['seconds_on']:.3f} s with it "
          f"(median of {args.repeats} alternated rounds: ratio {result['ratio']:.3f} wall-clock, "
          f"{result['cpu_ratio']:.3f} CPU time; load average {result['load'][0]:.1f} → {result['load'][1]:.1f})")


if __name__ == "__main__":
    main()
