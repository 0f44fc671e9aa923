"""``chainrule explain``: one training step of a small network, one chain-rule step at a time."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chainrule._io import atomic_write, check_regular_file
from chainrule.cli.checks import writable_path

EXAMPLE = ("chainrule explain --sizes 2,2,2 --inputs 0.05,0.1 --targets 0.01,0.99 "
           "--weights '[[[0.15,0.2],[0.25,0.3]],[[0.4,0.45],[0.5,0.55]]]' --biases '[[0.35,0.35],[0.6,0.6]]'")


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that describe a network; every one overrides the same field of ``--network``."""
    group = parser.add_argument_group(
        "network", "Without any of these: the default 2-2-1 sigmoid network (Mazur's worked example). "
        "Fields left out are drawn from --seed for other sizes.")
    group.add_argument("--network", metavar="FILE", help="a JSON file with the fields below (sizes, activation, "
                       "output_activation, loss, lr, seed, weights, biases, inputs, targets)")
    group.add_argument("--sizes", metavar="N,N,...", help="units per layer, inputs first (default 2,2,1)")
    group.add_argument("--activation", help="hidden units: sigmoid, tanh, relu or linear (default sigmoid)")
    group.add_argument("--output-activation", dest="output_activation",
                       help="output units (default: as --activation; cross_entropy picks sigmoid or softmax)")
    group.add_argument("--loss", help="squared_error (default) or cross_entropy")
    group.add_argument("--lr", type=float, help="learning rate (default 0.5)")
    group.add_argument("--inputs", metavar="X,X,...", help="one example, e.g. 0.05,0.1")
    group.add_argument("--targets", metavar="T,T,...", help="one target per output unit, e.g. 0.01")
    group.add_argument("--weights", metavar="JSON", help="per layer a list of rows (out, in), like nn.Linear.weight")
    group.add_argument("--biases", metavar="JSON", help="per layer a list of numbers")
    group.add_argument("--seed", type=int, help="seed for the fields left out (default 0)")


def _numbers(flag: str, text: str, kind: type) -> list[Any]:
    try:
        return [kind(part) for part in text.split(",")]
    except ValueError:
        example = "2,2,1" if kind is int else "0.05,0.1"
        raise ValueError(
            f"--{flag}: expected comma-separated {kind.__name__}s such as {example}; got {text!r}"
        ) from None


def _json_flag(flag: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--{flag}: expected JSON such as [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45]]]; "
                         f"got {text!r} ({error.msg} at column {error.colno})") from None


def read_network_file(path: str) -> dict[str, Any]:
    """The JSON object in ``path``, or an error naming the file and what is wrong with it."""
    file = Path(path)
    check_regular_file(file, "--network")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply") from None


def network_from_args(args: argparse.Namespace) -> Any:
    """The checked :class:`~chainrule.learn.network.Network` the flags (and ``--network`` file) describe."""
    from chainrule.learn.network import network_from_dict

    data: Any = read_network_file(args.network) if args.network else {}
    where = args.network or "command line"
    if not isinstance(data, dict):
        return network_from_dict(data, where)
    data = dict(data)
    parsers = {"sizes": lambda v: _numbers("sizes", v, int), "inputs": lambda v: _numbers("inputs", v, float),
               "targets": lambda v: _numbers("targets", v, float), "weights": lambda v: _json_flag("weights", v),
               "biases": lambda v: _json_flag("biases", v)}
    for key in ("sizes", "activation", "output_activation", "loss", "lr", "inputs", "targets", "weights",
                "biases", "seed"):
        value = getattr(args, key)
        if value is not None:
            data[key] = parsers[key](value) if key in parsers else value
    return network_from_dict(data, where)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``chainrule explain`` to the command's subparsers."""
    parser = subparsers.add_parser(
        "explain", help="walk through one training step, one chain-rule step at a time",
        description="Run one step of gradient descent on a small fully-connected network with chainrule's engine "
        "and show every number: the forward pass, the loss, each unit's ∂E/∂x and each weight's ∂E/∂w, and the "
        "update. Every gradient is checked against the hand formulas and finite differences.",
        epilog=f"example: {EXAMPLE}",
    )
    add_network_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print every number as JSON instead of tables")
    parser.add_argument("--html", metavar="PATH", help="also write a self-contained HTML page with the network drawn")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Explain one training step: tables on the terminal, or JSON; optionally an HTML page."""
    from rich.console import Console

    from chainrule.learn.explain import explain_network

    if args.html:
        writable_path(args.html, "html", folder=False)  # before the work, not after
    result = explain_network(network_from_args(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        result.render(Console(highlight=False))
    if args.html:
        path = Path(args.html)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, result.to_html())
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    return 0
