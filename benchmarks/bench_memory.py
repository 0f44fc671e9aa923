"""Workload 4: peak memory (RSS) of training the reference MLP (workload 1), each framework in its
own fresh process: peak RSS after the imports (the baseline), and at the end.

The data (60,000 × 784 float32, 188 MB) is made after the baseline, in every process alike, so
"peak - baseline" is data + model + training; "peak" adds what importing the framework costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

import common

FRAMEWORKS = ("chainrule", "pytorch", "numpy")


def max_rss_mb() -> float:
    """Peak RSS of this process in MB.

    Linux's ``getrusage`` max RSS survives ``exec`` and so starts at the parent's peak when a big
    process (pytest) spawns this one; VmHWM in /proc/self/status is this program's own peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(framework: str, n: int, steps: int) -> dict:
    """Run inside the subprocess: import only this framework, train ``steps`` steps, report RSS."""
    if framework == "pytorch":
        import torch  # noqa: F401

        common.match_torch_threads()
    elif framework == "chainrule":
        import chainrule
        import chainrule.nn
        import chainrule.optim  # noqa: F401
    import bench_mlp

    baseline = max_rss_mb()
    x, y = common.synthetic_mnist(n)
    step = bench_mlp.TRAINERS[framework](x, y)
    for k, idx in enumerate(common.epoch_batches(n, 128, seed=1)):
        if k >= steps:
            break
        step(idx)
    return {"framework": framework, "baseline_mb": baseline, "peak_mb": max_rss_mb(),
            "torch_imported": "torch" in sys.modules}


def run(n: int, steps: int) -> dict[str, dict]:
    """Peak RSS per framework, each in a fresh process; the processes run side by side (RSS is not a time)."""
    processes = {
        framework: subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--child", framework, "--n", str(n), "--steps", str(steps)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for framework in FRAMEWORKS
    }
    results = {}
    for framework, process in processes.items():
        out, err = process.communicate()
        if process.returncode:
            raise RuntimeError(f"bench_memory: the {framework} process failed:\n{err}")
        results[framework] = json.loads(out.strip().splitlines()[-1])
        if results[framework]["torch_imported"] != (framework == "pytorch"):
            raise RuntimeError(f"bench_memory: the {framework} process imported torch: its RSS would include it")
    return results


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="a tiny data set and a few steps (smoke test)")
    parser.add_argument("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=60_000, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=469, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.n, args.steps)))
        return []
    n, steps = (1024, 3) if args.tiny else (args.n, args.steps)
    results = run(n, steps)
    torch_peak = results["pytorch"]["peak_mb"]
    torch_extra = torch_peak - results["pytorch"]["baseline_mb"]
    rows = []
    for name, r in results.items():
        extra = r["peak_mb"] - r["baseline_mb"]
        rows.append([name, r["baseline_mb"], r["peak_mb"], extra, r["peak_mb"] / torch_peak,
                     extra / torch_extra if torch_extra > 0 else "n/a"])
    return [common.print_table(
        f"Workload 4: peak RSS (MB) training the MLP at batch 128 for {steps} steps on {n:,} samples, "
        "each framework in a fresh process",
        ["", "after imports", "peak", "peak - after imports", "peak × PyTorch", "(peak - imports) × PyTorch"],
        rows)]


if __name__ == "__main__":
    main()
