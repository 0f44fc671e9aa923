"""The doctor's part of ``chainrule train``: ``--doctor/--no-doctor``, ``--try-fixes``, and what happens after."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from chainrule.doctor.fixes import fixes_table, try_fixes
from chainrule.doctor.report import findings_table, write_report

TRY_FIX_STEPS = 300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--doctor/--no-doctor`` (default on) and ``--try-fixes`` to a ``chainrule train`` parser."""
    parser.add_argument("--doctor", action=argparse.BooleanOptionalAction, default=True,
                        help="watch training and diagnose problems (default: on)")
    parser.add_argument("--try-fixes", action="store_true",
                        help=f"re-run ~{TRY_FIX_STEPS} steps from the same seed with each finding's top remedy "
                             "and show before/after")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse flag combinations that would silently do nothing, before any training (a ValueError naming them)."""
    if getattr(args, "try_fixes", False) and not getattr(args, "doctor", True):
        raise ValueError("--try-fixes: tries the doctor's remedies, so it needs the doctor; "
                         "received --no-doctor (drop one of the two)")


def after_training(args: argparse.Namespace, history: Any, run_dir: str | Path, console: Any,
                   fit_kwargs: dict[str, Any], shown_dir: str | Path | None = None) -> dict[str, Path]:
    """Print the findings table, try the fixes when asked, and write diagnoses.json/metrics.json/report.html.

    ``shown_dir``: the folder to name in the printed message when ``run_dir`` is a staging folder moved there later.
    Returns the written paths (empty when the doctor was off).
    """
    doctor = getattr(history, "doctor", None)
    if doctor is None:
        return {}
    if not doctor.summary_printed:
        console.print(findings_table(doctor.findings))
    fixes = None
    if getattr(args, "try_fixes", False) and doctor.findings:
        spec = getattr(doctor.model, "spec", None)  # an MLP knows the MLPSpec it was built from
        if spec is None:
            console.print("try the fix: needs the model's MLPSpec; skipped")
        else:
            console.print(f"trying the top remedy of each finding ({TRY_FIX_STEPS} steps per run) ...")
            fixes = try_fixes(spec, fit_kwargs, doctor.findings, steps=TRY_FIX_STEPS)
            console.print(fixes_table(fixes))
    paths = write_report(doctor, run_dir, fixes=fixes)
    console.print(f"doctor report: {Path(shown_dir) / paths['html'].name if shown_dir else paths['html']}")
    return paths
