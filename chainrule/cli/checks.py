"""Argument checks shared by the subcommands: output paths before any work, numbers that mean what they say.

Each raises ``ValueError`` (or argparse's ``ArgumentTypeError`` while parsing) with one line naming the flag,
what was expected and what was received; ``chainrule``'s ``main`` prints it and exits with code 2.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

# The widest hidden layer `chainrule train --hidden` builds: far above what its data sets need, small enough
# that two such layers in a row (16.8M weights, 64 MiB) fit any laptop.
MAX_WIDTH = 4096


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def writable_path(path: str | os.PathLike[str], flag: str, *, folder: bool) -> Path:
    """``path`` if a file (or, with ``folder``, a folder) can be written there, else a ValueError naming ``flag``.

    Checked before the work starts, so that a bad path never costs a training run.

    >>> writable_path("/dev/null/run", "--out", folder=True)
    Traceback (most recent call last):
    ...
    ValueError: --out: cannot write '/dev/null/run': '/dev/null' is not a folder
    """
    path = Path(path)
    what = "a folder" if folder else "a file"
    if path.exists() and path.is_dir() != folder:
        raise ValueError(f"--{flag.lstrip('-')}: {str(path)!r} exists and is not {what}; expected {what} path")
    existing = _nearest_existing(path if not path.exists() else path.parent)
    if not existing.is_dir():
        raise ValueError(f"--{flag.lstrip('-')}: cannot write {str(path)!r}: {str(existing)!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--{flag.lstrip('-')}: cannot write {str(path)!r}: no permission to write in "
                         f"{str(existing)!r}")
    if path.is_file() and not os.access(path, os.W_OK):
        raise ValueError(f"--{flag.lstrip('-')}: cannot write {str(path)!r}: the file is read-only")
    return path


def finite_float(flag: str, low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    """An argparse ``type=`` that accepts a finite number in [low, high] (``inf`` and ``nan`` alike refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            interval = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}")
        return value

    parse.__name__ = flag  # argparse names the type in its messages
    return parse


def whole_number(flag: str, low: int) -> Callable[[str], int]:
    """An argparse ``type=`` that accepts a whole number of at least ``low`` (a seed, an epoch count)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}")
        return value

    parse.__name__ = flag
    return parse


def hidden_widths(text: str) -> tuple[int, ...]:
    """``--hidden``'s value: comma-separated whole widths in [1, MAX_WIDTH]; ``88`` is one layer, ``8,8`` two.

    >>> hidden_widths("88"), hidden_widths("8,8"), hidden_widths("")
    ((88,), (8, 8), ())
    """
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if any(not part.isdigit() for part in parts):  # "8.7", "-3", "8,,8", "1e3": no silent rounding
        raise argparse.ArgumentTypeError(f"expected widths like 64,64 (whole numbers separated by commas), "
                                         f"got {text!r}")
    widths = tuple(int(part) for part in parts)
    if any(not 1 <= w <= MAX_WIDTH for w in widths):
        raise argparse.ArgumentTypeError(f"expected widths from 1 to {MAX_WIDTH}, got {text!r}")
    return widths
