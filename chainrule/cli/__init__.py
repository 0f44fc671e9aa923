"""The ``chainrule`` command: one subcommand module each, registered below."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    # ImportError: an optional extra that is not installed (e.g. --tensorboard without tensorboardX)
    except (ValueError, TypeError, FileNotFoundError, KeyError, ImportError) as error:
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
