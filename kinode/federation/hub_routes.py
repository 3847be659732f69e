"""HTTP reads of the category hub role (spec sections 9.13 and 14) and its background work.

Thin handlers over kinode.hub: this hub's description, the verified hub
directory, endorsements and experts with whether each counts and why,
moderation labels, and the marketplace search. `setup(app)` registers the
routes and, on a hub, the announcer and the directory verifier; on a
participant's node, the hub picker (kinode.federation.hub_tasks).
"""

from aiohttp import web

from kinode.federation import hub_tasks
from kinode.federation.appkeys import NODE
from kinode.federation.problem import problem
from kinode.hub import announce, directory, market, moderation, standing
from kinode.hub.config import HubConfig
from protocol.envelope import is_object_id
from protocol.identity import is_did
from protocol.shapes import SLUG
from storage import hub_objects

routes = web.RouteTableDef()


def setup(app: web.Application) -> None:
    if app[NODE].config.is_hub:
        app.add_routes(routes)
    app.cleanup_ctx.append(hub_tasks.background)


def hub_config(node) -> HubConfig:
    return node.config.extra.get("hub") or HubConfig(categories=())


def own_announcement(node):
    return announce.would_announce(node)


def honoured(node) -> set[str]:
    return {node.did, *hub_config(node).honour}


def _query(request: web.Request, allowed: dict[str, str]) -> dict[str, str] | web.Response:
    """The query's parameters if each is known and well-formed (`allowed`: name -> slug|did|id)."""
    unknown = set(request.query) - set(allowed)
    if unknown:
        return problem("invalid_query", f"unknown parameters: {', '.join(sorted(unknown))}; "
                                        f"this endpoint takes {', '.join(sorted(allowed))}")
    checks = {"slug": SLUG.ok, "did": is_did, "id": is_object_id}
    for name, value in request.query.items():
        if not checks[allowed[name]](value):
            return problem("invalid_query", f"{name} must be a {allowed[name]}: {value[:80]!r} is not one")
    return dict(request.query)


def freshness_fields(freshness) -> dict:
    """How far the index behind an answer had got (spec 9.6, Freshness): its mark and the log's end."""
    return {"indexed_through": freshness.indexed_through, "log_seq": freshness.log_seq}


@routes.get("/ki/v1/hub")
async def this_hub(request: web.Request) -> web.Response:
    node = request.app[NODE]
    config = hub_config(node)
    announcement = await node.store.read(hub_objects.announcement_of, node.did)
    return web.json_response({
        "did": node.did, "url": node.config.url, "name": config.name, "categories": list(node.config.categories),
        "leaders": [node.did, *config.leaders], "fee_bps": config.fee_bps, "policy": config.policy,
        "honour": sorted(honoured(node)), "objects_held": await node.store.read(hub_objects.held_count),
        "announcement": announcement.as_dict() if announcement else None})


@routes.get("/ki/v1/hubs")
async def hubs(request: web.Request) -> web.Response:
    query = _query(request, {"category": "slug"})
    if isinstance(query, web.Response):
        return query
    node = request.app[NODE]
    return web.json_response(await node.store.read(directory.directory, node.did, node.now(), query.get("category")))


@routes.get("/ki/v1/endorsements")
async def endorsements(request: web.Request) -> web.Response:
    query = _query(request, {"subject": "did", "category": "slug", "endorser": "did"})
    if isinstance(query, web.Response):
        return query
    node = request.app[NODE]
    return web.json_response(await node.store.read(standing.endorsements_answer, node.did, **query,
                                                   own=own_announcement(node)))


@routes.get("/ki/v1/experts")
async def experts(request: web.Request) -> web.Response:
    query = _query(request, {"category": "slug"})
    if isinstance(query, web.Response):
        return query
    if "category" not in query:
        return problem("invalid_query", "category is required: the experts of which category?")
    node = request.app[NODE]
    return web.json_response(await node.store.read(standing.experts_answer, node.did, query["category"],
                                                   own_announcement(node)))


@routes.get("/ki/v1/labels")
async def labels(request: web.Request) -> web.Response:
    query = _query(request, {"target": "id", "subject": "did"})
    if isinstance(query, web.Response):
        return query
    node = request.app[NODE]
    return web.json_response(await node.store.read(moderation.labels_answer, node.now(), honoured(node), **query))


@routes.get("/ki/v1/moderation/{id}")
async def object_moderation(request: web.Request) -> web.Response:
    object_id = request.match_info["id"]
    if not is_object_id(object_id):
        return problem("malformed", "an object id is 64 lowercase hex digits")
    node = request.app[NODE]
    answer = await node.store.read(moderation.object_moderation, object_id, node.now(), honoured(node))
    if answer is None:
        return problem("not_found", f"no object {object_id} here")
    return web.json_response(answer)


@routes.get("/ki/v1/market")
async def market_search(request: web.Request) -> web.Response:
    node = request.app[NODE]
    try:
        query = market.parse_query(request.query)
        answer, freshness = await node.store.read_indexed(market.search, query, node.did, node.now(),
                                                          honoured(node), own_announcement(node))
    except market.BadMarketQuery as error:
        return problem(error.code, error.detail)
    return web.json_response({**answer, **freshness_fields(freshness)})


@routes.get("/ki/v1/match/{id}")
async def match(request: web.Request) -> web.Response:
    object_id = request.match_info["id"]
    if not is_object_id(object_id):
        return problem("malformed", "an object id is 64 lowercase hex digits")
    node = request.app[NODE]
    answer, freshness = await node.store.read_indexed(market.match, object_id, node.did, node.now(), honoured(node),
                                                      own_announcement(node))
    if answer is None:
        return problem("not_found", f"no task, project or profile {object_id} here")
    return web.json_response({**answer, **freshness_fields(freshness)})
