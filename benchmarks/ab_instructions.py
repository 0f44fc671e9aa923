"""Before/after a change, in instructions instead of seconds: run a workload under valgrind's callgrind for two
checkouts of chainrule and print the instructions each spends per unit of work.

Wall-clock A/B pairs on a shared 2-core machine move by ±5% with the load; callgrind's instruction count for the
same binary, inputs and environment repeats to about 0.1% whatever else runs, so a 1% change is visible. The cost of
start-up and imports is removed by running each workload twice (0 units and ``--units`` units) and taking the
difference. Instructions are not time (cache misses and BLAS threads are not counted), so this complements the
"× PyTorch" ratios of run_all.py, it doesn't replace them.

    python benchmarks/ab_instructions.py --base /path/to/old/checkout [--after /path/to/new] [--units 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# chainrule is imported before the benchmarks, whose common.py puts this checkout first on sys.path: otherwise
# both runs would measure this checkout. The check makes a wrong import fail loudly instead of reading "no change".
IMPORTS = """import sys, chainrule
assert chainrule.__file__.startswith({checkout!r}), f"measured {{chainrule.__file__}}, not {checkout!r}"
sys.path.insert(0, {here!r})"""

# Each workload: a program that does `units` units of work (argv[1]) after its set-up, and the name of a unit.
WORKLOADS = {
    "playground": ("""
{imports}
import bench_playground as bp
x, y = bp.circle_data()
step = bp.chainrule_trainer(x, y)
starts = list(range(0, len(x), bp.BATCH))
for k in range(int(sys.argv[1])): step(starts[k % len(starts)])
""", "step", 1000),
    # Workload 1's step (784-256-256-10, batch 128): mostly BLAS, whose instructions count too. Two warm-up steps
    # in both runs keep first-call costs (BLAS buffers, the optimizer's scratch) out of the difference.
    "mlp": ("""
{imports}
import bench_mlp as b, common
x, y = common.synthetic_mnist(4096)
step = b.chainrule_trainer(x, y)
batches = common.epoch_batches(len(x), 128, 0)
for idx in batches[:2]: step(idx)
for k in range(int(sys.argv[1])): step(batches[2 + k % (len(batches) - 2)])
""", "step (batch 128)", 20),
    "digits": ("""
{imports}
import bench_digits as b
x, x_test, y, y_test = b.digits_split()
b.train_chainrule(x, y, x_test, y_test, int(sys.argv[1]), 0)
""", "epoch", 6),
}


def instructions(checkout: Path, program: str, units: int) -> int:
    """Instructions callgrind counts for ``program units`` with ``checkout`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", program, str(units)],
        env=env, capture_output=True, text=True, cwd=checkout)  # `python -c` puts the cwd first on sys.path
    if done.returncode != 0:
        raise RuntimeError(f"the workload failed under {checkout}:\n{done.stderr[-3000:]}")
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="checkout before the change")
    parser.add_argument("--after", type=Path, default=HERE.parent, help="checkout after it (default: this one)")
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), default=sorted(WORKLOADS))
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("ab_instructions: valgrind is not installed (Debian package: valgrind)")
    print("| workload | unit | before: instructions/unit | after | after / before |")
    print("|---|---|---|---|---|")
    for name in args.only:
        template, unit, units = WORKLOADS[name]
        per_unit = []
        for checkout in (args.base, args.after):
            # Each checkout's own benchmark code: the API a workload's last lines use may differ between them.
            program = template.format(imports=IMPORTS.format(checkout=str(checkout.resolve()),
                                                             here=str(checkout.resolve() / "benchmarks")))
            per_unit.append((instructions(checkout, program, units) - instructions(checkout, program, 0)) / units)
        print(f"| {name} | {unit} | {per_unit[0]:,.0f} | {per_unit[1]:,.0f} | {per_unit[1] / per_unit[0]:.4f} |")


if __name__ == "__main__":
    main()
