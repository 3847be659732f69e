"""GET /events: server-sent events telling open pages that the node's state changed.

Progressive enhancement only: pages are whole without it; the page script
shows a "new activity" notice (or refreshes a live region) on each event.
"""

from aiohttp import web

from web_ui.appkeys import NODE
from web_ui.security import secure_headers

HEARTBEAT_SECONDS = 15.0


async def stream(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    secure_headers(response)
    await response.prepare(request)
    watcher = node.watch()
    try:
        await response.write(b"retry: 3000\n\n")
        while True:
            changed = await watcher.wait(HEARTBEAT_SECONDS)
            line = b"event: changed\ndata: %d\n\n" % node.now() if changed else b": heartbeat\n\n"
            await response.write(line)
    except ConnectionResetError:
        pass  # the page went away
    finally:
        watcher.close()
    return response
