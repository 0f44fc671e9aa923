"""``chainrule report RUN_FOLDER``: show a finished run's diagnoses again and regenerate its report.html."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report", help="show a run's doctor findings and regenerate its report.html",
        description="Read diagnoses.json and metrics.json from a run folder written by `chainrule train`, "
                    "print the findings as a table (or JSON with --json) and re-render report.html.",
    )
    parser.add_argument("run_dir", metavar="RUN_FOLDER", help="a run folder, e.g. runs/digits-20250101-120000")
    parser.add_argument("--json", action="store_true", help="print the diagnoses as JSON on stdout, nothing else")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule report``; returns the exit status.

    Raises:
        FileNotFoundError: the folder has no diagnoses.json.
    """
    from chainrule.doctor.report import findings_table, load_run, render_report

    findings, _, diagnoses, fixes = load_run(args.run_dir)
    path = render_report(args.run_dir)
    if args.json:
        json.dump({**diagnoses, "fixes": fixes, "report_html": str(path)}, sys.stdout, indent=2)
        print()
        return 0
    console = Console()
    console.print(findings_table(findings))
    console.print(f"report: {path}")
    return 0
