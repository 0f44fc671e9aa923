"""How far a program's final loss moves under real torch when only its randomness or its precision changes.

The tolerances in test_programs.py come from here. chainrule draws different random numbers than torch, and
sums in a different order, so a program's chainrule run should differ from its torch run by about as much as
torch differs from itself under another seed (programs with random init, shuffling or sampling), or from
itself in float64 (deterministic programs: that bounds float32 round-off).

    python tests/compat/spread.py [name prefixes] [--seeds 4]
"""

from __future__ import annotations

import argparse
import re

from run_program import program_paths, run_source

# Only torch's seeds: NumPy, Python and scikit-learn draw the same numbers under both engines.
SEED = re.compile(r"manual_seed\((\d+)\)")


def reseed(source: str, offset: int) -> str:
    """Every torch seed in the program (global and Generator) moved by `offset`."""
    return SEED.sub(lambda match: f"manual_seed({int(match.group(1)) + offset})", source)


def to_float64(source: str) -> str:
    source = source.replace("torch.float32", "torch.float64").replace("dtype=torch.float,", "dtype=torch.float64,")
    source = source.replace("dtype = torch.float\n", "dtype = torch.float64\n").replace(".float()", ".double()")
    source = source.replace("astype(np.float32)", "astype(np.float64)")
    return "import torch\ntorch.set_default_dtype(torch.float64)\n" + source.partition("\n")[2]


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*")
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    for path in program_paths():
        if args.names and not any(path.name.startswith(prefix) for prefix in args.names):
            continue
        source = path.read_text()
        base = run_source(source, path.name, "torch").metrics
        seeded = [run_source(reseed(source, k), path.name, "torch").metrics
                  for k in range(1, args.seeds + 1)] if SEED.search(source) else []
        wide = run_source(to_float64(source), path.name, "torch").metrics
        print(f"{path.stem}  ({len(seeded)} other seeds)", flush=True)
        for key, value in base.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            others = [metrics[key] for metrics in seeded]
            seed_dev = max((abs(other - value) for other in others), default=0.0)
            wide_dev = abs(wide[key] - value)
            rel = [f"{dev / abs(value):.2e}" if value else "n/a" for dev in (seed_dev, wide_dev)]  # (0: a final lr)
            print(f"    {key:16s} {value:<12.6g} seeds abs dev {seed_dev:.3g} (rel {rel[0]})  "
                  f"float64 abs dev {wide_dev:.3g} (rel {rel[1]})", flush=True)

if __name__ == "__main__":
    _main()
