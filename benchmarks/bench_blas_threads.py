"""The sweep behind chainrule's small-product rule (``chainrule.engine.backend.SMALL_PRODUCT_MACS``): float32
products of several sizes and aspects timed on 1 and on all of NumPy's BLAS threads, alternating, the fastest
single product of each.

For each size (multiply-adds) four aspects: square, a thin inner dimension (k = 32), a thin output (n = 16) and
a long inner dimension (m = n = 64). Prints the time on 1 thread, on all threads and their ratio (below 1: the
threads pay).
"""

from __future__ import annotations

import argparse
import math
import time

import common
import numpy as np


def shapes(macs: int) -> dict[str, tuple[int, int, int]]:
    """(m, k, n) of four aspects with about ``macs`` multiply-adds."""
    side = round(macs ** (1 / 3))
    thin = round(math.sqrt(macs / 32))
    narrow = round(math.sqrt(macs / 16))
    return {"square": (side, side, side), "k=32": (thin, 32, thin), "n=16": (narrow, narrow, 16),
            "m=n=64": (64, macs // 4096, 64)}


def best_time(a: np.ndarray, b: np.ndarray, repeats: int) -> float:
    """The fastest of ``repeats`` single products: on a shared machine a mean mixes in other processes' time
    slices, the minimum is what the threads can do when they get their cores."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return best


def sweep(sizes: list[int], rounds: int) -> list[list]:
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    threads = common.blas_threads()
    rng = np.random.default_rng(0)
    rows = []
    for macs in sizes:
        for aspect, (m, k, n) in shapes(macs).items():
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((k, n), dtype=np.float32)
            repeats = max(5, min(100, int(3e7 / (m * k * n))))
            best = {1: math.inf, threads: math.inf}
            for _ in range(rounds):
                for count in best:
                    with controller.limit(limits=count, user_api="blas"):
                        a @ b
                        best[count] = min(best[count], best_time(a, b, repeats))
            rows.append([f"({m}, {k}) @ ({k}, {n})", aspect, m * k * n / 1e6, best[1] * 1e6, best[threads] * 1e6,
                         best[threads] / best[1]])
    return rows


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="two small sizes, one round (smoke test)")
    args = parser.parse_args(argv)
    sizes = [1 << 20, 1 << 22] if args.tiny else [1 << 18, 1 << 20, 1 << 22, 1 << 24, 1 << 25, 1 << 26, 1 << 28]
    threads = common.blas_threads()
    rows = sweep(sizes, 1 if args.tiny else 5)
    return [common.print_table(
        f"float32 products on 1 vs {threads} BLAS threads (fastest single product, µs)",
        ["product", "aspect", "M mult-adds", "1 thread", f"{threads} threads", "ratio"], rows)]


if __name__ == "__main__":
    print(common.describe_machine())
    main()
