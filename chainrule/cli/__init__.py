"""The ``chainrule`` command: one subcommand module each, registered below."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from chainrule._version import __version__

# Each module defines register(subparsers); its parser's `func(args) -> int` runs the command.
SUBCOMMANDS = (
    "chainrule.cli.train",
    "chainrule.cli.report",
    "chainrule.cli.demo",
    "chainrule.cli.explain",
    "chainrule.cli.graph",
    "chainrule.cli.playground",
)


# What a user can cause (a bad path or value, an unreadable or malformed file): one line and exit code 2.
# An ImportError is an optional extra that is not installed (--tensorboard without tensorboardX).
# Anything else is a bug in chainrule: a traceback and a request to report it.
USER_ERRORS = (ValueError, TypeError, KeyError, OSError, MemoryError, ImportError)
BUG_REPORT = "this is a bug in chainrule; please report it with the command you ran and the traceback above"


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit code 2) with a pointer to --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _one_line(error: BaseException) -> str:
    if isinstance(error, MemoryError):
        return f"out of memory ({str(error) or 'the input asks for more than this machine has'})"
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(text.split()) or type(error).__name__


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="chainrule",
        description="Backpropagation you can watch: train networks, diagnose why they fail, learn the chain rule.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:  # not written yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as error:
        print(f"chainrule {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(f"chainrule {args.command}: internal error: {BUG_REPORT}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
