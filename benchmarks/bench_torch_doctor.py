"""What the doctor costs a PyTorch loop: doctor on vs a plain loop, alternated in one run, as ratios.

The plain loop is zero_grad, forward, loss, backward, step, with no ``loss.item()`` (the strictest baseline:
nothing waits for the device). The doctor loop adds ``doctor.check(loss)`` between backward and step, with the
default ``stats_every=10``. Models: the reference MLP (784-256-256-10, batch 128) and a small CNN (two 3x3
convolutions, 28x28 inputs, batch 64), on synthetic MNIST-shaped data. Each round trains ``steps`` steps with
each loop, the order flipping every round; the table shows the median seconds per step and the median of
the per-round ratios.

``--interleaved`` (CPU): each round trains the two copies in one loop instead, a step of one then a step of the
other (the order flipping every step), each step timed, the doctor's ``watch`` and final ``unwatch`` on its side:
load from other processes then hits both within milliseconds, and the per-round ratios move by about ±1% where
the rounds above move by ±10% on a shared machine.

    python benchmarks/bench_torch_doctor.py [--rounds 15] [--steps 60] [--device cpu|cuda] [--threads 1]
                                            [--interleaved]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

import chainrule as cr


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn() -> nn.Module:
    return nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * 7 * 7, 10))


def train_step(model: nn.Module, opt: torch.optim.Optimizer, watcher: cr.Doctor | None, x: torch.Tensor,
               y: torch.Tensor) -> None:
    """The plain loop's step, with ``watcher.check(loss)`` between backward and step when there is a doctor."""
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    if watcher is not None:
        watcher.check(loss)
    opt.step()


def loop(build, batch: int, steps: int, device: str, doctor: bool):
    """One round: a fresh model (same seed) trained ``steps`` steps; returns (wall, CPU) seconds per step."""
    torch.manual_seed(0)
    model = build().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(steps, batch, 784, device=device)
    y = torch.randint(0, 10, (steps, batch), device=device)
    watcher = cr.Doctor().watch(model, opt) if doctor else None
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        train_step(model, opt, watcher, x[i], y[i])
    sync()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if watcher is not None:
        watcher.unwatch()
    return elapsed / steps, cpu / steps


def interleaved(build, batch: int, steps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """One round on the CPU: two copies (same seed), one watched, trained ``steps`` steps in turn, step by step;
    returns ((wall, CPU) seconds per step plain, the same with the doctor)."""
    torch.manual_seed(0)
    x, y = torch.randn(steps, batch, 784), torch.randint(0, 10, (steps, batch))
    sides = []
    for watched in (False, True):
        torch.manual_seed(0)
        model = build()
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        start, cpu = time.perf_counter(), time.process_time()
        watcher = cr.Doctor().watch(model, opt) if watched else None
        sides.append([model, opt, watcher, time.perf_counter() - start, time.process_time() - cpu])
    for i in range(steps):
        for side in (sides if i % 2 == 0 else sides[::-1]):
            start, cpu = time.perf_counter(), time.process_time()
            train_step(side[0], side[1], side[2], x[i], y[i])
            side[3] += time.perf_counter() - start
            side[4] += time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    sides[1][2].unwatch()
    sides[1][3] += time.perf_counter() - start
    sides[1][4] += time.process_time() - cpu
    return (sides[0][3] / steps, sides[0][4] / steps), (sides[1][3] / steps, sides[1][4] / steps)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--interleaved", action="store_true", help="the two loops step by step in turn (CPU)")
    args = parser.parse_args(argv)
    if args.interleaved and args.device != "cpu":
        parser.error("--interleaved times each step on the host, which would make the plain loop wait for the "
                     f"device too: CPU only (got --device {args.device})")
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, device {args.device}, {args.threads} thread(s), {os.cpu_count()} cores, "
          f"load average {load:.2f} at start")
    print("seconds per step (median over rounds) and the median of the per-round ratios doctor/plain, with their "
          "interquartile range; CPU = process time (this process's CPU seconds: less hit by other processes' load "
          "than wall time, and what the doctor adds on a CPU)")
    print(f"{'model':<6} {'plain wall':>11} {'doctor wall':>12} {'wall ratio':>11} {'IQR':>13} "
          f"{'CPU ratio':>10} {'IQR':>13}")
    for name, build, batch in (("MLP", mlp, 128), ("CNN", cnn, 64)):
        loop(build, batch, 5, args.device, True)  # warm-up: allocator, kernels, the doctor's imports
        rounds: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for r in range(args.rounds):
            if args.interleaved:
                plain, doctor = interleaved(build, batch, args.steps)
                rounds[False].append(plain)
                rounds[True].append(doctor)
                continue
            for on in ((False, True) if r % 2 == 0 else (True, False)):
                rounds[on].append(loop(build, batch, args.steps, args.device, on))
        cells = [f"{name:<6}", f"{statistics.median(w for w, _ in rounds[False]):>11.5f}",
                 f"{statistics.median(w for w, _ in rounds[True]):>12.5f}"]
        for i in (0, 1):  # wall, CPU
            ratios = sorted(d[i] / p[i] for p, d in zip(rounds[False], rounds[True], strict=True))
            q = len(ratios) // 4
            cells += [f"{statistics.median(ratios):>10.3f}×", f"{ratios[q]:>6.3f}–{ratios[-q - 1]:.3f}"]
        print(" ".join(cells))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f} at the end")


if __name__ == "__main__":
    main()
