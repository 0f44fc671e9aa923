"""The playground's web server: one page, and one WebSocket per tab with its own Session.

Safety: the server answers only requests whose Host is its own address (a page on another site that
resolves its name to 127.0.0.1, DNS rebinding, is refused) and WebSockets whose Origin is its own page;
it serves a fixed set of files from the package (no path from the request reaches the disk); messages
are capped in size and uploads are read with ``chainrule train``'s CSV rules (session.read_upload).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from chainrule.playground.session import MAX_UPLOAD_BYTES, Session, config_from_dict, read_upload, with_point

# Training runs this long between frames: about 25 frames a second, full speed in between.
FRAME_SECONDS = 0.035
MAX_MESSAGE_BYTES = 2 * MAX_UPLOAD_BYTES + 4096  # an upload's CSV, JSON-escaped (\n is two bytes)
STATIC = {"index.html": "text/html", "playground.js": "text/javascript", "playground.css": "text/css"}

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class OwnOriginOnly:
    """ASGI middleware: refuse (403, or WebSocket close 1008) a Host or Origin that is not the server's own."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app, self.hosts = app, set(hosts)

    def refusal(self, scope: Scope) -> str | None:
        host = _header(scope, b"host")
        if host not in self.hosts:
            return f"playground: refused Host {host!r}; this server answers only {sorted(self.hosts)}"
        origin = _header(scope, b"origin")
        if scope["type"] == "websocket" and origin not in {f"http://{h}" for h in self.hosts}:
            return f"playground: refused WebSocket Origin {origin!r}; only this server's own page may connect"
        return None

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        why = self.refusal(scope) if scope["type"] in ("http", "websocket") else None
        if why is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await PlainTextResponse(why, status_code=403)(scope, receive, send)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})


def _static(name: str) -> Response:
    text = resources.files("chainrule.playground").joinpath("static", name).read_text(encoding="utf-8")
    return Response(text, media_type=STATIC[name], headers={"Cache-Control": "no-store"})


async def page(request: Any) -> Response:
    return _static("index.html")


async def static_file(request: Any) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:  # a fixed list: nothing the page names reaches the file system
        return PlainTextResponse(f"playground: no such file {name!r}", status_code=404)
    return _static(name)


class Connection:
    """One tab: its Session, whether it is playing, and the task that trains and streams while it plays."""

    def __init__(self, socket: WebSocket) -> None:
        self.socket = socket
        self.session = Session()
        self.playing = asyncio.Event()
        self.previous: list[Any] | None = None  # the run before "apply fix": its loss curve, shown beside

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send_text(json.dumps(_finite(message), allow_nan=False))

    async def stream(self) -> None:
        while True:
            await self.playing.wait()
            try:
                self.session.train_for(FRAME_SECONDS)
            except (ValueError, TypeError, RuntimeError) as error:  # say so on the page rather than go quiet
                self.playing.clear()
                await self.send({"type": "error", "message": f"playground: training stopped: {error}"})
                continue
            await self.send(self.session.frame())
            await asyncio.sleep(0)  # let this tab's commands and other tabs in

    async def handle(self, text: str) -> None:
        if len(text) > MAX_MESSAGE_BYTES:
            raise ValueError(f"playground: a message of {len(text):,} bytes is too large; at most "
                             f"{MAX_MESSAGE_BYTES:,} (an uploaded CSV at most {MAX_UPLOAD_BYTES:,})")
        try:
            message = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"playground: a message must be JSON ({error.msg})") from None
        kind = message.get("type") if isinstance(message, dict) else None
        session = self.session
        if kind == "config":
            session.reset(config_from_dict(message.get("config", {})))
            self.previous = None
        elif kind == "upload":
            if session.config.problem != "classification":  # say so rather than switch the problem silently
                raise ValueError("upload: an uploaded CSV holds classification points (x1, x2, label 0/1); "
                                 "switch the problem to classification first")
            uploaded = read_upload(message.get("csv"))
            session.uploaded = uploaded
            session.reset(session.config.replace(dataset="upload", drawn=""))
        elif kind == "add_point":  # drawn with the mouse: one more point in the configuration (and link), a new run
            session.reset(with_point(session.config, message.get("x1"), message.get("x2"), message.get("label")))
        elif kind == "reset":
            session.reset()
        elif kind == "play":
            self.playing.set()
            return
        elif kind == "pause":
            self.playing.clear()
        elif kind == "step":
            try:
                session.train_steps(session.steps_per_epoch)
            except (TypeError, RuntimeError) as error:  # as the stream does: say so, keep the tab connected
                raise ValueError(f"playground: training stopped: {error}") from None
        elif kind == "fix":
            fix = session.first_fix()
            if fix is None:
                raise ValueError("playground: no finding has a remedy the playground can apply")
            finding, config = fix
            self.previous = session.history
            session.reset(config)
            await self.send({"type": "fixed", "kind": finding.kind,
                             "remedy": session.page_words(finding.remedies[0].description),
                             "config": config.to_dict(), "previous": self.previous})
        elif kind == "explain":
            self.playing.clear()
            await self.send(session.explain(message.get("index")))
            return
        else:
            raise ValueError(f"playground: unknown message type {kind!r}; expected config, upload, add_point, "
                             "reset, play, pause, step, fix or explain")
        if kind in ("config", "upload", "add_point", "reset", "fix"):
            await self.send(session.points_message())
        await self.send(session.frame())


def _finite(value: Any) -> Any:
    """NaN and infinities (a diverged run) as null: JSON has no NaN and the page shows null as "diverged"."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


async def playground_socket(socket: WebSocket) -> None:
    await socket.accept()
    connection = Connection(socket)
    open_tabs: set[Connection] = socket.app.state.connections
    open_tabs.add(connection)
    streamer = asyncio.create_task(connection.stream())
    try:
        await connection.send(connection.session.points_message())
        while True:
            text = await socket.receive_text()
            try:
                await connection.handle(text)
            except ValueError as error:
                await connection.send({"type": "error", "message": str(error)})
            if streamer.done():  # the stream failed (e.g. the socket broke): end the connection
                break
    except (WebSocketDisconnect, WebSocketDisconnected):  # the tab closed (while we were sending, for the second)
        pass
    finally:  # a closed tab stops its run
        open_tabs.discard(connection)
        streamer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await streamer


def create_app(hosts: Iterable[str]) -> OwnOriginOnly:
    """The ASGI app; ``hosts`` are the Host values it answers, e.g. ``{"127.0.0.1:8765", "localhost:8765"}``."""
    app = Starlette(routes=[
        Route("/", page), Route("/static/{name}", static_file), WebSocketRoute("/ws", playground_socket)])
    app.state.connections = set()  # the open tabs, each with its own run
    return OwnOriginOnly(app, hosts)
