"""The torch doctor's overhead on the reference MLP, measured in interleaved blocks: less hit by other load.

Two copies of the reference MLP (784-256-256-10, batch 128, SGD) in one process, one watched by the doctor
(default ``stats_every=10``); they train in alternating blocks of 10 steps (one sample period each, so every
doctor block holds exactly one sample step), the order flipping every block. Load from other processes hits
both within milliseconds of each other. Prints the median seconds per step of each, what the doctor adds, the
median per-block wall ratio and the ratio of the median CPU (process) times.

    python benchmarks/bench_torch_doctor_blocks.py [--blocks 80]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

import chainrule as cr


def mlp() -> nn.Module:
    """The reference MLP (as in bench_torch_doctor.py)."""
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=80)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    models = [mlp(), mlp()]
    opts = [torch.optim.SGD(m.parameters(), lr=0.05) for m in models]
    doctor = cr.Doctor().watch(models[1], opts[1])
    x, y = torch.randn(10, 128, 784), torch.randint(0, 10, (10, 128))
    wall: dict[int, list[float]] = {0: [], 1: []}
    cpu: dict[int, list[float]] = {0: [], 1: []}
    for block in range(args.blocks + 2):  # the first two blocks warm up
        for which in ((0, 1) if block % 2 else (1, 0)):
            model, opt = models[which], opts[which]
            start, cpu_start = time.perf_counter(), time.process_time()
            for i in range(10):
                loss = F.cross_entropy(model(x[i]), y[i])
                opt.zero_grad()
                loss.backward()
                if which:
                    doctor.check(loss)
                opt.step()
            if block >= 2:
                wall[which].append(time.perf_counter() - start)
                cpu[which].append(time.process_time() - cpu_start)
    plain, watched = statistics.median(wall[0]) / 10, statistics.median(wall[1]) / 10
    ratio = statistics.median(d / p for p, d in zip(wall[0], wall[1], strict=True))
    cpu_plain, cpu_watched = statistics.median(cpu[0]) / 10, statistics.median(cpu[1]) / 10
    print(f"plain {plain * 1e6:.0f} us/step, doctor {watched * 1e6:.0f} us/step (+{(watched - plain) * 1e6:.0f} us); "
          f"median block ratio {ratio:.3f}; CPU +{(cpu_watched - cpu_plain) * 1e6:.0f} us/step, "
          f"ratio {cpu_watched / cpu_plain:.3f}")


if __name__ == "__main__":
    main()
