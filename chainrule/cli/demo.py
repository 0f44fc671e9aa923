"""``chainrule demo [NAME ...]``: the failure gallery, each failure reproduced, diagnosed and fixed."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from chainrule.cli.checks import whole_number, writable_path


def register(subparsers: argparse._SubParsersAction) -> None:
    from chainrule.learn.demos import DEMOS

    parser = subparsers.add_parser(
        "demo", help="run the failure gallery (vanishing, exploding, dead-relu, dropout, vanishing-through-time, "
        "residual-depth, cnn-dead-filters)",
        description="Reproduce each failure of backpropagation on purpose, let the doctor diagnose it, "
        "train the fix side by side and check the claim with numbers. Without NAME, runs them all.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"demos to run: {', '.join(DEMOS)} (default: all)")
    parser.add_argument("--seed", type=whole_number("seed", 0), default=0,
                        help="seed for data, weights and batches (default 0)")
    parser.add_argument("--out", default="runs/demos", help="folder for the HTML pages (default runs/demos)")
    parser.add_argument("--json", action="store_true", help="print the machine-readable results only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chainrule.learn.demo_report import print_result, write_html
    from chainrule.learn.demos import DEMOS, run_demo

    names = args.names or list(DEMOS)
    unknown = [n for n in names if n not in DEMOS]
    if unknown:
        raise ValueError(f"unknown demo {', '.join(unknown)}; choose from {', '.join(DEMOS)}")
    out = writable_path(args.out, "out", folder=True)  # before the demos train, not after
    console = Console(stderr=args.json)
    quiet = args.json or not console.is_terminal
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, disable=quiet, transient=True) as progress:
        task = progress.add_task("failure gallery", total=len(names))
        for name in names:
            progress.update(task, description=f"demo {name}")
            result = run_demo(name, seed=args.seed)
            results.append(result)
            if not args.json:
                print_result(result, progress.console)
            progress.advance(task)
    pages = [write_html([r], out / f"{r.name}.html") for r in results]
    index = write_html(results, out / "index.html") if len(results) > 1 else pages[0]
    if args.json:
        payload = [r.to_dict() for r in results]
        json.dump(payload[0] if len(payload) == 1 else payload, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        held = sum(r.claim_holds for r in results)
        console.print(f"{held}/{len(results)} claims hold. Report: {index}")
    return 0 if all(r.claim_holds for r in results) else 1
