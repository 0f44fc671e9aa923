"""Where the PyTorch doctor's cost goes on the reference MLP: each phase's CPU time by step in the sample period.

One process trains the reference MLP (784-256-256-10, batch 128, 1 thread) with the doctor on (default
``stats_every=10``) and times forward, backward and ``doctor.check`` with ``time.process_time`` at every step.
The table shows the medians by the step's place in the sample period (0 = the sample step, 1 = the step after
it, which measures the update ratio); a sample step's forward and backward, hooked, cost more than the others.
``--profile`` adds cProfile of the sample steps' ``check`` (where its host work goes).

    python benchmarks/profile_torch_doctor.py [--steps 600] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

import chainrule as cr


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--profile", action="store_true", help="cProfile the sample steps' check")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(20, 128, 784), torch.randint(0, 10, (20, 128))
    doctor = cr.Doctor().watch(model, opt)
    every = doctor.config.stats_every
    phases: dict[str, list[list[float]]] = {p: [[] for _ in range(every)] for p in ("forward", "backward", "check")}
    profile = cProfile.Profile() if args.profile else None
    warm = 5 * every  # the first forward (the activation probe) and the allocator's warm-up are left out
    for i in range(args.steps):
        start = time.process_time()
        loss = F.cross_entropy(model(x[i % len(x)]), y[i % len(y)])
        forward = time.process_time()
        opt.zero_grad()
        loss.backward()
        backward = time.process_time()
        if profile is not None and i >= warm and i % every == 0:
            profile.runcall(doctor.check, loss)
        else:
            doctor.check(loss)
        check = time.process_time()
        opt.step()
        if i >= warm:
            for phase, seconds in (("forward", forward - start), ("backward", backward - forward),
                                   ("check", check - backward)):
                phases[phase][i % every].append(seconds)
    median = {p: [statistics.median(v) * 1e6 for v in by_step] for p, by_step in phases.items()}
    print(f"torch {torch.__version__}, 1 thread; CPU µs per phase, medians over {args.steps - warm} steps "
          "by the step's place in the sample period")
    print(f"{'step':>4} {'forward':>8} {'backward':>9} {'check':>7}")
    for k in range(every):
        print(f"{k:>4} {median['forward'][k]:>8.0f} {median['backward'][k]:>9.0f} {median['check'][k]:>7.0f}")
    others = range(2, every)  # unsampled steps: their forward/backward are the plain loop's
    plain = {p: statistics.median(median[p][k] for k in others) for p in ("forward", "backward")}
    sample_forward, sample_backward = median["forward"][0] - plain["forward"], median["backward"][0] - plain["backward"]
    period = sum(median["check"]) + sample_forward + sample_backward
    print(f"per sample period: check {sum(median['check']):.0f} µs (sample step {median['check'][0]:.0f}, the step "
          f"after {median['check'][1]:.0f}, the others {statistics.median(median['check'][k] for k in others):.0f} "
          f"each), sample forward +{sample_forward:.0f}, sample backward +{sample_backward:.0f}: "
          f"{period / every:.0f} µs a step on a plain step of {plain['forward'] + plain['backward']:.0f} µs "
          "(forward + backward, before the optimizer step)")
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
