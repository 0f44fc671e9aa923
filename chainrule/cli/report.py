"""``chainrule report RUN_FOLDER``: show a finished run's diagnoses again and regenerate its report.html."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
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
        ValueError: the folder has no manifest (it was not finished) or its files are not as the manifest lists.
    """
    from chainrule._io import check_manifest, write_manifest
    from chainrule.doctor.report import HTML, findings_table, load_run, render_report

    if Path(args.run_dir).is_dir():  # a missing folder is load_run's to explain
        check_manifest(args.run_dir, "chainrule report", rebuilt={HTML})
    findings, _, diagnoses, fixes = load_run(args.run_dir)
    path = render_report(args.run_dir)
    write_manifest(args.run_dir)  # the page was rendered anew; the folder is complete again
    if args.json:
        json.dump({**diagnoses, "fixes": fixes, "report_html": str(path)}, sys.stdout, indent=2)
        print()
        return 0
    console = Console()
    console.print(findings_table(findings))
    console.print(f"report: {path}")
    return 0
