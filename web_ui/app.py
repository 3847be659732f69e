"""The local web UI: `create_app(node, guard) -> web.Application`, served on its own loopback port.

It runs in the node's process next to the federation app and calls the
service layer (`kinode.node.Node`, `kinode.overview`); it never touches
storage. Every request passes the guard (web_ui.security).
"""

import asyncio
import logging
from pathlib import Path

import aiohttp
from aiohttp import web

from kinode.node import Node
from web_ui import contracts, events, login, participant, security, settings, work
from web_ui.appkeys import CLIENT, NODE
from web_ui.render import render
from web_ui.security import GUARD, Guard

log = logging.getLogger("kinode.web_ui")
STATIC = Path(__file__).parent / "static"
MAX_FORM_BYTES = 1024 * 1024  # forms are small; only a delivery's upload may be larger
UPLOAD_PATHS = ("/deliver",)


def create_app(node: Node, guard: Guard) -> web.Application:
    app = web.Application(middlewares=[security.guard_middleware, _pages_for_errors],
                          client_max_size=contracts.MAX_UPLOAD_BYTES + MAX_FORM_BYTES)
    app[NODE], app[GUARD] = node, guard
    app[security.BODY_LIMITS] = security.BodyLimits(MAX_FORM_BYTES, contracts.MAX_UPLOAD_BYTES + MAX_FORM_BYTES,
                                                    UPLOAD_PATHS)
    app.router.add_get("/login", login.login)
    app.router.add_post("/login", login.login)
    app.router.add_post("/logout", login.logout)
    events.setup(app)
    app.router.add_static("/static", STATIC, append_version=False)
    app.add_routes(participant.routes)
    app.add_routes(work.routes)
    app.add_routes(contracts.routes)
    app.add_routes(settings.routes)
    if node.config.is_hub:
        from web_ui import hub
        app.add_routes(hub.routes)
    app.cleanup_ctx.append(_client)
    return app


async def _client(app: web.Application):
    # Only the operator's own --hub URLs are fetched, so no SSRF guard is needed here.
    async with aiohttp.ClientSession(trust_env=False) as session:
        app[CLIENT] = session
        yield


@web.middleware
async def _pages_for_errors(request: web.Request, handler) -> web.StreamResponse:
    """A 404 or 413 is a page with a sentence, never aiohttp's bare text or a traceback."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return render(request, "missing.html", status=404, what=f"There is no page at {request.path}.")
    except web.HTTPRequestEntityTooLarge:
        return render(request, "missing.html", status=413,
                      what=f"That was too large: the limit is {request.client_max_size // 1024} KiB.")
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("web UI failed on %s %s", request.method, request.path)
        return render(request, "missing.html", status=500,
                      what="Something went wrong on this node; the error is in its log.")
