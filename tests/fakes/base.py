"""A loopback HTTP/1.1 server that records every request and can be told to fail.

Subclasses implement :meth:`LoopbackServer.handle` and return a :class:`Reply`. The server keeps
connections alive (the SDKs use connection pools), always sets Content-Length, and reads request
bodies sent with Content-Length or chunked transfer encoding.

`hold_next` keeps matching requests waiting, before they are handled or after (then the fake has
acted on the request, e.g. recorded a send, and only its answer waits): a test can kill the client
while it waits, or let the answer come after the client's timeout.
"""
from __future__ import annotations

import contextlib
import json as jsonlib
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it. Header names are lower-cased; query keeps the last value."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any | None


@dataclass(frozen=True)
class Reply:
    """What the server answers; Content-Length is added by the server."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, jsonlib.dumps(obj, ensure_ascii=False).encode(), "application/json", dict(headers or {}))


@dataclass
class _Failure:
    remaining: int
    reply: Reply
    path_contains: str | None


HOLD_LIMIT = 120.0  # a held request is answered after this at the latest


@dataclass
class Hold:
    """Requests held by the fake: `arrived` is set when one came (and, with `after_handling`, was handled), its
    answer waits until `release()`, `seconds` passed or the server stops."""

    remaining: int
    match: Callable[[Recorded], bool]
    after_handling: bool
    seconds: float | None
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    held: list[Recorded] = field(default_factory=list)

    def release(self) -> None:
        self.released.set()

    def wait_arrived(self, timeout: float = 60.0) -> Recorded:
        """The first held request, once it came; AssertionError when none came within `timeout`."""
        assert self.arrived.wait(timeout), "the held request never came"
        return self.held[0]

    def _wait(self) -> None:
        self.released.wait(self.seconds if self.seconds is not None else HOLD_LIMIT)


class LoopbackServer:
    """Base class: start()/stop() or use as a context manager; `url` is `http://127.0.0.1:PORT`.

    `requests` holds every request received (including injected failures), in arrival order.
    `errors` holds tracebacks of exceptions raised by `handle` (answered with status 500).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._holds: list[Hold] = []
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[Recorded] = []
        self.errors: list[str] = []

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with self._lock:
            for hold in self._holds:  # held handler threads answer now
                hold.release()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # kept-alive connections would otherwise still be served
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # failure injection -------------------------------------------------------------------------
    def fail_next(self, count: int, status: int, body: dict[str, Any], path_contains: str | None = None,
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next `count` requests (whose path contains `path_contains`, if given) with
        `status` and the JSON `body` instead of handling them. Rules are consumed in the order given."""
        with self._lock:
            self._failures.append(_Failure(count, json_reply(status, body, headers), path_contains))

    def hold_next(self, count: int = 1, path_contains: str | None = None,
                  match: Callable[[Recorded], bool] | None = None, after_handling: bool = False,
                  seconds: float | None = None) -> Hold:
        """Hold the next `count` requests whose path contains `path_contains` and that `match` accepts: before they
        are handled, or, with `after_handling`, after (the fake acted on it; only the answer waits). They are
        answered on `release()`, after `seconds`, or when the server stops."""
        def accepts(request: Recorded) -> bool:
            return (path_contains is None or path_contains in request.path) and (match is None or match(request))

        hold = Hold(count, accepts, after_handling, seconds)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _take_hold(self, request: Recorded) -> Hold | None:
        with self._lock:
            for hold in self._holds:
                if hold.remaining > 0 and hold.match(request):
                    hold.remaining -= 1
                    hold.held.append(request)
                    return hold
        return None

    def _take_failure(self, path: str) -> Reply | None:
        with self._lock:
            for failure in self._failures:
                if failure.remaining > 0 and (failure.path_contains is None or failure.path_contains in path):
                    failure.remaining -= 1
                    return failure.reply
        return None

    # request handling --------------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        """Override: answer one request."""
        return json_reply(404, {"error": "not found"})

    def _dispatch(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
        failure = self._take_failure(request.path)
        if failure is not None:
            return failure
        hold = self._take_hold(request)
        if hold is not None and not hold.after_handling:
            hold.arrived.set()
            hold._wait()
        try:
            reply = self.handle(request)
        except Exception:  # a bug in the fake must show up in the test, not hang the client
            text = traceback.format_exc()
            with self._lock:
                self.errors.append(text)
            return Reply(500, text.encode(), "text/plain; charset=utf-8")
        if hold is not None and hold.after_handling:
            hold.arrived.set()
            hold._wait()
        return reply

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def _parse_json(body: bytes, content_type: str) -> Any | None:
    if not body or "json" not in content_type:
        return None
    try:
        return jsonlib.loads(body)
    except ValueError:
        return None


def _make_handler(owner: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # idle kept-alive connections end after this

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two sends: without this, Nagle's algorithm holds the body back until
            # the client's delayed ACK, ~40 ms per call on loopback
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            owner._track(self.connection, True)

        def finish(self) -> None:
            owner._track(self.connection, False)
            with contextlib.suppress(OSError):
                super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            if self.headers.get("Expect", "").lower() == "100-continue":
                self.send_response_only(100)
                self.end_headers()
            body = self._read_body()
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Recorded(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                               headers, body, _parse_json(body, headers.get("content-type", "")))
            reply = owner._dispatch(request)
            payload = b"" if self.command == "HEAD" else reply.body
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client is gone (timed out, killed while held)
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815 - stdlib handler names

    return Handler
