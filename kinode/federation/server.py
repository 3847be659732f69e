"""The HTTP server under the app: connection caps, and framing errors as problem+json.

`GuardedSite` listens like aiohttp's `SockSite`, but each connection is a
`GuardedRequestHandler`: admitted by the `ConnectionGuard` before aiohttp
parses a byte of it, and answering a message aiohttp cannot parse (an
over-long line, a duplicate Content-Length, no Host) with a problem+json 400
and one quiet log line instead of text/plain and a traceback (spec 9.1).
"""

import asyncio
import json
import logging

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from kinode.federation.connections import ConnectionGuard, refusal
from kinode.federation.quietlog import QuietLog

log = QuietLog(logging.getLogger("kinode.http"))
PROBLEM_TYPE = "application/problem+json"


class GuardedRequestHandler(RequestHandler):
    def __init__(self, server: web.Server, guard: ConnectionGuard, **kwargs):
        super().__init__(server, **kwargs)
        self._guard = guard
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else "unknown"
        if not self._guard.admit(self, address):
            self._refused = True
            transport.write(refusal("the node holds as many connections as it can; retry shortly"))
            transport.close()
            return
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.closed(self)
        if not self._refused:
            super().connection_lost(exc)

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            logging.getLogger("kinode").error("internal error answering %s: %r", request.remote, exc)
            code, detail = "internal_error", "the node failed to answer; the error is in its log"
        else:
            log.info("bad_http", "refused a malformed HTTP message from %s: %s", request.remote, message or exc)
            code, detail = "bad_http_message", f"not a valid HTTP/1.1 request: {_reason(exc, message)}"
        body = {"type": "about:blank", "title": "Bad request" if status < 500 else "Internal error",
                "status": status, "code": code, "detail": detail}
        response = web.Response(status=status, body=json.dumps(body).encode(), content_type=PROBLEM_TYPE)
        response.force_close()
        return response

    def log_exception(self, *args, **kwargs) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, (ConnectionError, asyncio.TimeoutError)):
            log.info("disconnect", "a client went away mid-request: %r", exc)
        else:
            super().log_exception(*args, **kwargs)


def _reason(exc: BaseException | None, message: str | None) -> str:
    text = str(getattr(exc, "message", None) or message or exc or "unparsable")
    return text.splitlines()[0][:200]


class GuardedSite(web.SockSite):
    """A SockSite whose connections go through `guard`."""

    def __init__(self, runner: web.AppRunner, sock, guard: ConnectionGuard, **kwargs):
        super().__init__(runner, sock, **kwargs)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers with the runner, as SockSite.start does
        server = self._runner.server
        loop = asyncio.get_running_loop()

        def connection() -> GuardedRequestHandler:
            # Server() would build a plain RequestHandler; these are the same arguments.
            return GuardedRequestHandler(server, self._guard, loop=loop, **server._kwargs)

        self._server = await loop.create_server(connection, sock=self._sock, backlog=self._backlog)
