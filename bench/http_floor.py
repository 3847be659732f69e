"""The floor under a hub's single-object rate: aiohttp answering POST /ki/v1/inbox and doing nothing else.

    .venv/bin/python bench/http_floor.py     # prints "listening on http://127.0.0.1:PORT", serves until killed

`http_ingest_bench.py` drives it with the same clients as the hub, in the same
run: what it reaches is what HTTP alone (aiohttp's parser, the event loop,
loopback TCP, the load generator on the same cores) leaves for the hub's work.
It reads the whole body and answers one accepted result per request, with a
`results` list shaped like the hub's, so both sides do the same HTTP work.
"""

import asyncio
import sys

from aiohttp import web

ANSWER = b'{"results":[{"id":"%s","status":"accepted"}]}' % (b"0" * 64)


async def inbox(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")


async def main() -> None:
    app = web.Application()
    app.router.add_post("/ki/v1/inbox", inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=512)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
