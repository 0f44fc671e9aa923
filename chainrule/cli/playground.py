"""``chainrule playground``: the TensorFlow Playground with backpropagation you can watch, in the browser."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import webbrowser

LOOPBACK = "127.0.0.1"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``chainrule playground`` to the command's subparsers."""
    parser = subparsers.add_parser(
        "playground", help="train small networks in the browser and watch their gradients",
        description="Start a local web server with the playground page: pick a data set, build a network, press "
        "play and watch the decision boundary, the weights, the gradients and the doctor's findings. Training "
        "runs in chainrule's engine on this machine; every browser tab gets its own run.",
        epilog="example: chainrule playground --no-browser",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--host", default=LOOPBACK,
                        help=f"address to listen on (default {LOOPBACK}: this machine only)")
    parser.add_argument("--no-browser", action="store_true", help="print the address but do not open a browser")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the playground until interrupted."""
    try:
        import uvicorn

        from chainrule.playground.server import MAX_MESSAGE_BYTES, create_app
    except ModuleNotFoundError as error:
        raise ImportError(f"the playground needs {error.name}: pip install 'chainrule' (it is a dependency)") from None
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535]; got {args.port}")
    if args.host != LOOPBACK:
        print(f"chainrule playground: warning: listening on {args.host}, not {LOOPBACK}: other machines can reach "
              "this server", file=sys.stderr)
    listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.host, args.port))
    except OSError as error:
        raise ValueError(f"--host/--port: cannot listen on {args.host}:{args.port} ({error.strerror})") from None
    listener.listen(128)  # before the URL is printed: a client that connects at once waits in the backlog
    port = listener.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    hosts = {f"{host}:{port}"} | ({f"localhost:{port}"} if args.host == LOOPBACK else set())
    url = f"http://{host}:{port}/"
    print(f"chainrule playground: {url}  (Ctrl+C stops it)", flush=True)
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    config = uvicorn.Config(create_app(hosts), log_level="warning", ws_max_size=4 * MAX_MESSAGE_BYTES,
                            ws_ping_interval=None)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    return 0
