"""``chainrule graph``: draw the explainer network's loss graph (Graphviz DOT, and SVG when ``dot`` is installed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from chainrule.cli.checks import writable_path
from chainrule.cli.explain import add_network_arguments, network_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``chainrule graph`` to the command's subparsers."""
    parser = subparsers.add_parser(
        "graph", help="draw the computation graph of the explainer network's loss",
        description="Build the loss of the `chainrule explain` network with the engine and draw its graph: one "
        "node per op with its output shape, value and gradient. Writes PATH.dot, and PATH.svg when Graphviz's "
        "`dot` is installed.",
    )
    parser.add_argument("--out", default="chainrule-graph", metavar="PATH",
                        help="where to write, without suffix (default chainrule-graph)")
    parser.add_argument("--no-grads", dest="with_grads", action="store_false",
                        help="leave out the gradients (no backward pass)")
    add_network_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Draw the loss graph; print where it went (and how to render it without Graphviz)."""
    from chainrule.learn.explain import loss_graph
    from chainrule.learn.viz import draw

    writable_path(Path(args.out).with_suffix(".dot") if Path(args.out).suffix in (".dot", ".svg")
                  else Path(f"{args.out}.dot"), "out", folder=False)
    net = network_from_args(args)
    title = f"loss of the {'-'.join(map(str, net.sizes))} {net.activation} network ({net.loss})"
    drawing = draw(loss_graph(net), args.out, with_grads=args.with_grads, title=title)
    print(drawing.message)
    return 0
