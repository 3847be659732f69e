"""The node's aiohttp application: `create_app(node) -> web.Application`.

Background work (gossip delivery, learning about remotes, hub
reconciliation, discovery) runs as cleanup_ctx tasks, so it starts and stops
with the app and a shutdown finishes in-flight writes before the store closes.
"""

import asyncio
import logging

from aiohttp import web

from kinode.federation import handlers as federation
from kinode.federation import hub_routes, tasks as background_tasks, mailbox, stream, work_routes
from kinode.federation.front_page import front_page
from kinode.federation.appkeys import BUDGET, GUARD, LIMITS, NODE, REPLAYS
from kinode.federation.connections import ConnectionGuard, descriptor_cap
from kinode.federation.request_body import BodyBudget, release_body
from kinode.federation.challenge import challenge_handler
from kinode.federation.gossip import Gossip
from kinode.federation.lookup import fetch_context_forever
from kinode.federation.limits import Limits
from kinode.node import Node
from kinode.federation.problem import problem
from kinode.federation.remotes import refresh_remotes
from kinode.federation.replay_cache import ReplayCache
from kinode.federation.sessions import Sessions, open_sessions

log = logging.getLogger("kinode")
SESSIONS = web.AppKey("sessions", Sessions)


def create_app(node: Node) -> web.Application:
    config = node.config
    app = web.Application(middlewares=[connection_middleware, problem_middleware, client_limit_middleware],
                          client_max_size=config.max_body_bytes)
    app[NODE] = node
    app[GUARD] = ConnectionGuard(descriptor_cap(config.max_connections), config.max_connections_per_address)
    app[BUDGET] = BodyBudget(config.body_budget_bytes, config.body_budget_wait)
    app[LIMITS] = Limits(node.config)
    app[REPLAYS] = ReplayCache()
    app.router.add_get("/", front_page)  # a person who opens the node's URL in a browser
    app.add_routes(federation.routes)
    stream.setup(app)
    app.router.add_post("/ki/v1/challenge", challenge_handler(node.identity))
    app.add_routes(work_routes.routes)
    hub_routes.setup(app)  # the hub role (spec section 14): its reads, announcer, directory, hub picker
    if node.config.is_hub:
        from kinode.federation import reconcile
        app.add_routes(reconcile.routes)
        app.add_routes(mailbox.routes)
    app.cleanup_ctx.append(_client_session)
    app.cleanup_ctx.append(_background)
    return app


@web.middleware
async def connection_middleware(request: web.Request, handler) -> web.StreamResponse:
    """A connection handling a request is busy (not evicted); its body budget is freed after."""
    guard = request.app[GUARD]
    guard.started(request.protocol)
    try:
        return await handler(request)
    finally:
        release_body(request, request.app[BUDGET])
        guard.finished(request.protocol)


@web.middleware
async def problem_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Every error a client sees is problem+json with a code, never an HTML page or a traceback."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        # aiohttp keeps no max_size on the exception; the request knows its limit.
        return problem("too_large", f"the body exceeds the limit of {request.client_max_size} bytes")
    except web.HTTPNotFound:
        return problem("not_found", f"no such endpoint: {request.method} {request.path}")
    except web.HTTPMethodNotAllowed as error:
        return problem("method_not_allowed", f"{request.method} is not allowed here; use {', '.join(sorted(error.allowed_methods))}",
                       headers={"Allow": ", ".join(sorted(error.allowed_methods))})
    except web.HTTPException:
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise  # a client that went away is not an internal error; aiohttp logs it at debug level
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return problem("internal_error", "the node failed to answer; the error is in its log", 500)


CHARGED_READS = frozenset({"/ki/v1/search", "/ki/v1/stream"})


@web.middleware
async def client_limit_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Charge each client address for writes and for the reads that cost real work."""
    if request.method != "GET" or request.path in CHARGED_READS:
        limited = request.app[LIMITS].client(request, request.app[NODE].clock())
        if limited is not None:
            return limited
    return await handler(request)


async def _client_session(app: web.Application):
    async with open_sessions(app[NODE].config) as sessions:
        app[SESSIONS] = sessions
        yield


async def _background(app: web.Application):
    node, sessions = app[NODE], app[SESSIONS]
    tasks = [background_tasks.start(Gossip(node, sessions).run(), name="gossip"),
             background_tasks.start(refresh_remotes(node, sessions), name="remotes")]
    if node.config.is_hub:
        from kinode.federation.reconcile import reconcile_forever
        tasks.append(background_tasks.start(reconcile_forever(node, sessions), name="reconcile"))
        tasks.append(background_tasks.start(mailbox.expire_forever(node), name="mailbox-expiry"))
    else:
        tasks.append(background_tasks.start(mailbox.fetch_forever(node, sessions), name="mailbox"))
        tasks.append(background_tasks.start(fetch_context_forever(node, sessions), name="context"))
    if node.config.discover:
        from kinode.federation.discovery_task import discover_forever
        tasks.append(background_tasks.start(discover_forever(node, sessions), name="discovery"))
    yield
    await background_tasks.stop(tasks)
