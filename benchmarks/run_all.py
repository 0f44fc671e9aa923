"""Run every benchmark and print its table: `python benchmarks/run_all.py` (or `make bench`).

``--tiny`` runs each once at a tiny size (CI's smoke test; the numbers mean nothing).
For a real run, make sure no forced OpenBLAS kernel is in effect:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run_all.py``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

import bench_digits
import bench_doctor
import bench_lenet
import bench_lstm
import bench_memory
import bench_mlp
import bench_mnist1d_cnn
import bench_playground
import common

WORKLOADS = {
    "mlp": bench_mlp,  # workloads 1 and 2
    "playground": bench_playground,  # 3
    "memory": bench_memory,  # 4
    "doctor": bench_doctor,  # 5
    "digits": bench_digits,  # 6
    "lenet": bench_lenet,  # 7
    "lstm": bench_lstm,  # 8
    "mnist1d-cnn": bench_mnist1d_cnn,  # 9
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="each benchmark once at a tiny size (smoke test)")
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), help="run just these")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"chainrule benchmarks, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"command: {' '.join(['python', *sys.argv])}")
    print(common.describe_machine())
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    extra = ["--tiny"] if args.tiny else []
    for name, module in WORKLOADS.items():
        if args.only and name not in args.only:
            continue
        module.main(extra)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
