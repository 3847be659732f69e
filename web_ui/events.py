"""GET /events: server-sent events telling open pages that the node's state changed.

Progressive enhancement only: pages are whole without it; the page script
shows a "new activity" notice (or refreshes a live region) on each event.
"""

import asyncio

from aiohttp import web

from web_ui.appkeys import NODE
from web_ui.security import secure_headers

HEARTBEAT_SECONDS = 15.0
STREAMS = web.AppKey("streams", set)


def setup(app: web.Application) -> None:
    app[STREAMS] = set()
    app.router.add_get("/events", stream)
    app.on_shutdown.append(_end_streams)


async def _end_streams(app: web.Application) -> None:
    # Open pages would otherwise hold the shutdown for its whole timeout.
    for task in list(app[STREAMS]):
        task.cancel()


async def stream(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    secure_headers(response)
    await response.prepare(request)
    watcher = node.watch()
    task = asyncio.current_task()
    request.app[STREAMS].add(task)
    try:
        await response.write(b"retry: 3000\n\n")
        while True:
            changed = await watcher.wait(HEARTBEAT_SECONDS)
            line = b"event: changed\ndata: %d\n\n" % node.now() if changed else b": heartbeat\n\n"
            await response.write(line)
    except ConnectionResetError:
        pass  # the page went away
    finally:
        request.app[STREAMS].discard(task)
        watcher.close()
    return response
