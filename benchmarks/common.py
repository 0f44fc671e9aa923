"""Shared pieces of the benchmarks: thread matching, BLAS report, timing, data, tables.

Every benchmark runs chainrule and PyTorch in the same process, alternating, with PyTorch
limited to the number of threads NumPy's BLAS uses, and reports medians.
"""

from __future__ import annotations

import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from a checkout without installing
    sys.path.insert(0, str(ROOT))


def blas_info() -> list[dict]:
    """NumPy's BLAS libraries as threadpoolctl sees them (torch not imported yet)."""
    from threadpoolctl import threadpool_info

    return [
        {key: info.get(key) for key in ("internal_api", "version", "architecture", "corename", "num_threads")}
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def blas_threads() -> int:
    """How many threads NumPy's BLAS runs (the count PyTorch is held to)."""
    infos = blas_info()
    return int(infos[0]["num_threads"]) if infos else 1


def match_torch_threads() -> int:
    """Give PyTorch as many threads as NumPy's BLAS; returns that number."""
    import torch

    n = blas_threads()
    torch.set_num_threads(n)
    return n


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine() -> str:
    """One paragraph: CPU, cores, BLAS kernel and threads, forced OpenBLAS settings."""
    lines = [f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; Python {platform.python_version()}, "
             f"NumPy {np.__version__}"]
    for info in blas_info():
        kernel = info.get("architecture") or info.get("corename")
        lines.append(f"NumPy BLAS: {info['internal_api']} {info['version']}, kernel {kernel}, "
                     f"{info['num_threads']} threads")
    from chainrule.engine import malloc  # importing chainrule tunes glibc's malloc for every framework in the run

    lines.append(f"glibc malloc thresholds (chainrule/engine/malloc.py): {malloc.status}")
    forced = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    if forced:
        lines.append(f"NOTE: {forced} is set and may force a slower OpenBLAS kernel; for a real run use "
                     "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run_all.py`")
    return "\n".join(lines)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(runners: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Time each runner ``repeats`` times, interleaved (order flips every round), so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            times[name].append(timed(runners[name]))
    return times


def training_step(model: Any, loss_fn: Any, optimizer: Any, x: np.ndarray, y: np.ndarray,
                  as_tensor: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], float]:
    """The step a user writes, for either framework (``as_tensor`` is torch.from_numpy or cr.from_numpy):
    batch rows ``idx``, zero_grad, forward, loss, backward, step; returns the loss as a float."""

    def step(idx: np.ndarray) -> float:
        xb, yb = as_tensor(x[idx]), as_tensor(y[idx])
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def median(values: list[float]) -> float:
    return statistics.median(values)


def init_params(sizes: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    """PyTorch's default Linear init for an MLP of ``sizes``, drawn once so all frameworks start alike."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return params


def synthetic_mnist(n: int = 60_000, features: int = 784, classes: int = 10, seed: int = 0):
    """MNIST-shaped data: pixels in [0, 1), labels from a fixed random linear teacher (learnable)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, features), dtype=np.float32)
    teacher = rng.standard_normal((features, classes)).astype(np.float32)
    y = np.empty(n, dtype=np.int64)
    for start in range(0, n, 4096):  # in chunks: no data-sized temporary to inflate peak memory
        y[start : start + 4096] = np.argmax((x[start : start + 4096] - 0.5) @ teacher, axis=1)
    return x, y


def epoch_batches(n: int, batch_size: int, seed: int, limit: int | None = None) -> list[np.ndarray]:
    """Index arrays of one shuffled epoch (the same for every framework), optionally the first ``limit``."""
    order = np.random.default_rng(seed).permutation(n)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return batches[:limit] if limit else batches


def batch_rounds(steps: dict[str, Callable[[np.ndarray], Any]], n: int, batch_size: int, limit: int,
                 warmup: int) -> dict[str, Callable[[], None]]:
    """Warm each framework's ``step`` up on ``warmup`` batches (first-call costs stay out), then one runner per
    framework for :func:`alternate`: each round runs ``limit`` batches of a fresh shuffle, round k with seed k
    for every framework."""
    for step in steps.values():
        for idx in epoch_batches(n, batch_size, 0, warmup):
            step(idx)

    def runner(step: Callable[[np.ndarray], Any]) -> Callable[[], None]:
        rounds = [0]

        def one_round() -> None:
            rounds[0] += 1
            for idx in epoch_batches(n, batch_size, rounds[0], limit):
                step(idx)

        return one_round

    return {name: runner(step) for name, step in steps.items()}


def sgemm_gflops(sizes: tuple[int, ...] = (256, 512, 1024, 2048), repeats: int = 10) -> float:
    """The machine's best float32 matmul rate in GFLOP/s: the fastest of a few square products of each size."""
    rng = np.random.default_rng(0)
    best = 0.0
    for size in sizes:
        a = rng.random((size, size), dtype=np.float32)
        b = rng.random((size, size), dtype=np.float32)
        out = np.empty_like(a)
        np.matmul(a, b, out=out)  # warm up threads and caches
        seconds = min(timed(lambda a=a, b=b, out=out: np.matmul(a, b, out=out)) for _ in range(repeats))
        best = max(best, 2 * size**3 / seconds / 1e9)
    return best


def mlp_flops(n: int, sizes: tuple[int, ...]) -> float:
    """Matmul FLOPs to train an MLP for one pass over ``n`` samples.

    Forward x@W.T, backward g.T@x for each weight and g@W for every layer but the first
    (its input needs no gradient): 2·n·in·out FLOPs each.
    """
    layers = list(itertools.pairwise(sizes))
    forward = sum(2 * n * a * b for a, b in layers)
    grad_inputs = sum(2 * n * a * b for a, b in layers[1:])
    return 2 * forward + grad_inputs


def print_table(title: str, headers: list[str], rows: list[list[object]]) -> str:
    """Print (and return) a Markdown table, so output pastes straight into README.md."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    text_rows = [[cell(v) for v in row] for row in rows]
    lines = [f"\n### {title}\n", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in text_rows]
    text = "\n".join(lines)
    print(text, flush=True)
    return text
