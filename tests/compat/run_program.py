"""Run a PyTorch-style program from tests/compat/programs under real torch and under chainrule.

Every program's first line is exactly `import torch`. The chainrule run uses the same source with that line
replaced by `SHIM_LINE`, and nothing else changed. A program prints a JSON object as its last stdout line.

    python tests/compat/run_program.py                  # every program, both engines, one summary line each
    python tests/compat/run_program.py p06 --engine chainrule
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
REPO_ROOT = Path(__file__).resolve().parents[2]
TORCH_LINE = "import torch"
SHIM_LINE = "import chainrule.torch_shim  # noqa"
TIMEOUT_S = 120


def program_paths() -> list[Path]:
    return sorted(PROGRAMS_DIR.glob("p*.py"))


def chainrule_source(torch_source: str) -> str:
    """The torch source with line 1 (`import torch`) replaced by the shim line; nothing else changes."""
    first, newline, rest = torch_source.partition("\n")
    if first != TORCH_LINE:
        raise ValueError(f"a program's first line must be exactly {TORCH_LINE!r}, got {first!r}")
    return SHIM_LINE + newline + rest


def env() -> dict[str, str]:
    """One thread per BLAS/torch pool (CI has two cores) and this checkout's chainrule first on the path."""
    environment = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        environment[name] = "1"
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    environment["PYTHONHASHSEED"] = "0"
    return environment


@dataclass
class Result:
    engine: str
    returncode: int
    stdout: str
    stderr: str
    source: str
    metrics: dict | None  # the last stdout line's JSON, or None when the run failed or printed none

    @property
    def first_error(self) -> str:
        """The exception line of a failed run (its last stderr line), or why there are no metrics."""
        if self.returncode != 0:
            lines = [line for line in self.stderr.splitlines() if line.strip()]
            return lines[-1] if lines else f"exit status {self.returncode} and no stderr"
        if self.metrics is None:
            return "the last stdout line is not a JSON object"
        return ""

    def describe(self) -> str:
        tail = "\n".join(self.stderr.splitlines()[-15:])
        return f"{self.engine} run: {self.first_error}\n--- stderr tail ---\n{tail}"


def run_source(source: str, name: str, engine: str, timeout: float = TIMEOUT_S) -> Result:
    """Run `source` as the script `name` in a fresh interpreter; `engine` only labels the result."""
    with tempfile.TemporaryDirectory(prefix=f"compat-{engine}-") as folder:
        script = Path(folder) / name
        script.write_text(source)
        try:
            done = subprocess.run(
                [sys.executable, str(script)], cwd=folder, env=env(), capture_output=True, text=True,
                timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as error:
            stderr = error.stderr.decode() if isinstance(error.stderr, bytes) else (error.stderr or "")
            return Result(engine, -1, "", stderr + f"\nTimeoutExpired: ran past {timeout} s", source, None)
    return Result(engine, done.returncode, done.stdout, done.stderr, source, parse_metrics(done.stdout))


def parse_metrics(stdout: str) -> dict | None:
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        metrics = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    return metrics if isinstance(metrics, dict) else None


def run_program(path: Path, engine: str, timeout: float = TIMEOUT_S) -> Result:
    torch_source = path.read_text()
    source = torch_source if engine == "torch" else chainrule_source(torch_source)
    return run_source(source, path.name, engine, timeout)


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="program name prefixes (default: all)")
    parser.add_argument("--engine", choices=["torch", "chainrule", "both"], default="both")
    args = parser.parse_args()
    engines = ["torch", "chainrule"] if args.engine == "both" else [args.engine]
    for path in program_paths():
        if args.names and not any(path.name.startswith(prefix) for prefix in args.names):
            continue
        for engine in engines:
            result = run_program(path, engine)
            outcome = json.dumps(result.metrics) if result.metrics is not None else result.first_error
            print(f"{path.stem:32s} {engine:9s} {outcome}", flush=True)


if __name__ == "__main__":
    _main()
