"""GET /ki/v1/stream: server-sent events of newly stored objects.

Each subscriber pages through the log after its last event id, so resuming
with Last-Event-ID and following live are the same code path. The node's
`changed` event wakes subscribers; a tick every second covers objects written
by another process (a CLI publish), and a quieter one sends the keep-alive.
At shutdown every stream ends at once rather than holding the exit up until
aiohttp's shutdown timeout.
"""

import asyncio

from aiohttp import web

from kinode.federation.appkeys import NODE
from kinode.federation.handlers import DIGITS
from kinode.federation.problem import problem
from storage import listing

KEEP_ALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
PAGE = 200
CLOSING = web.AppKey("stream_closing", asyncio.Event)

routes = web.RouteTableDef()


def setup(app: web.Application) -> None:
    app[CLOSING] = asyncio.Event()
    app.add_routes(routes)
    app.on_shutdown.append(_end_streams)


async def _end_streams(app: web.Application) -> None:
    app[CLOSING].set()
    app[NODE].changes.notify()


@routes.get("/ki/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    category = request.query.get("category")
    last_event = request.headers.get("Last-Event-ID", request.query.get("after"))
    if last_event is None:
        after = await node.store.read(listing.last_seq)
    elif DIGITS.fullmatch(last_event):
        after = int(last_event)
    else:
        return problem("invalid_query", "Last-Event-ID must be an event id this stream sent")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    watcher = node.watch()
    closing = request.app[CLOSING]
    clock = asyncio.get_running_loop().time
    keep_alive_at = clock() + KEEP_ALIVE_SECONDS
    try:
        while not closing.is_set():
            stored = await node.store.read(listing.list_objects, after, category=category, limit=PAGE,
                                           include_hidden=True, include_superseded=True)
            for obj in stored:
                await response.write(b"id: %d\nevent: object\ndata: %s\n\n" % (obj.seq, obj.wire))
            if stored:
                after = stored[-1].seq
                continue
            if not await watcher.wait(POLL_SECONDS) and clock() >= keep_alive_at:
                await response.write(b": keep-alive\n\n")
                keep_alive_at = clock() + KEEP_ALIVE_SECONDS
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        watcher.close()
    return response
