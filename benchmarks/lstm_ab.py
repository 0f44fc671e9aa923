"""The LSTM benchmark's chainrule training step with two versions of the recurrence, in one process: this checkout's
``chainrule/nn/rnn.py`` against another ``rnn.py`` (an export of an older commit), alternated in blocks of 10 steps.

Both trainers start from the same weights and run the same batches; each block swaps ``rnn.Recurrence`` (the op the
LSTM layer calls) and alternates which side goes first. Prints the median ms per step of each side, wall and CPU, and
the median of the paired blocks' ratios (new / old). Run it pinned to one core, on one BLAS thread:

    git show bf0bcf6:chainrule/nn/rnn.py > /tmp/rnn_old.py
    cd benchmarks && taskset -c 0 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=268435456 PYTHONPATH=.. \\
        python lstm_ab.py /tmp/rnn_old.py 40

(the malloc settings keep page faults from deciding it: see the README's LSTM sections).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time

import bench_lstm
import numpy as np

import chainrule.nn.rnn as rnn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="path of the other rnn.py")
    parser.add_argument("blocks", type=int, nargs="?", default=40, help="pairs of 10-step blocks (default 40)")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("chainrule.nn.rnn_old", args.old)
    assert spec is not None and spec.loader is not None
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    print(f"new: {rnn.__file__}, old: {args.old}, load average {os.getloadavg()}")
    x, y = bench_lstm.synthetic_sequences(3200, bench_lstm.LENGTH, bench_lstm.INPUT)
    variants = {"old": old.Recurrence, "new": rnn.Recurrence}
    steps = {name: bench_lstm.chainrule_trainer(x, y) for name in variants}

    def block(name: str, first: int) -> tuple[float, float]:
        rnn.Recurrence = variants[name]
        wall, cpu = time.perf_counter(), time.process_time()
        for s in range(first, first + 10):
            start = (s % 100) * bench_lstm.BATCH
            steps[name](np.arange(start, start + bench_lstm.BATCH))
        return (time.perf_counter() - wall) * 100, (time.process_time() - cpu) * 100  # ms per step

    for name in variants:  # warm-up
        block(name, 0)
        block(name, 10)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for r in range(args.blocks):
        for name in (["old", "new"] if r % 2 == 0 else ["new", "old"]):
            times[name].append(block(name, 20 + 10 * r))
    rnn.Recurrence = variants["new"]
    for j, what in enumerate(("wall", "CPU")):
        before = [t[j] for t in times["old"]]
        after = [t[j] for t in times["new"]]
        ratios = [a / b for a, b in zip(after, before, strict=True)]
        print(f"{what}: old {statistics.median(before):.2f} ms/step, new {statistics.median(after):.2f}, median "
              f"paired ratio new/old {statistics.median(ratios):.3f} (from {min(ratios):.3f} to {max(ratios):.3f}, "
              f"{sum(r < 1 for r in ratios)} of {len(ratios)} below 1)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
