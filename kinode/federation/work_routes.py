"""HTTP reads of the work lifecycle (spec section 9.12): a project, a contract, a reputation.

Thin handlers over the service layer (kinode.work): the same views the CLI
prints with --json and the web UI shows.
"""

import re

from aiohttp import web

from kinode.errors import KinodeError
from kinode.federation.appkeys import NODE
from kinode.federation.problem import problem
from kinode.work.service import WorkService
from protocol.envelope import is_object_id
from protocol.identity import is_did
from protocol.shapes import SLUG

routes = web.RouteTableDef()
DIGITS = re.compile(r"[0-9]{1,16}")


def _service(request: web.Request) -> WorkService:
    return WorkService(request.app[NODE])


@routes.get("/ki/v1/projects/{id}")
async def project(request: web.Request) -> web.Response:
    object_id = request.match_info["id"]
    if not is_object_id(object_id):
        return problem("malformed", "a project id is 64 lowercase hex digits")
    return await _answer(_service(request).project_view(object_id))


@routes.get("/ki/v1/contracts/{id}")
async def contract(request: web.Request) -> web.Response:
    object_id = request.match_info["id"]
    if not is_object_id(object_id):
        return problem("malformed", "a contract id is 64 lowercase hex digits")
    return await _answer(_service(request).contract_view(object_id))


@routes.get("/ki/v1/contracts")
async def contracts_of(request: web.Request) -> web.Response:
    """Ids of the contracts naming `party` that this node holds: what a node fetches to compute a
    reputation from the same objects as the hub (spec 9.12)."""
    party = request.query.get("party")
    if set(request.query) != {"party"} or not is_did(party):
        return problem("invalid_query", "give party, an Ed25519 did:key, and nothing else")
    return web.json_response({"contracts": await _service(request).contracts_of(party)})


@routes.get("/ki/v1/reputation/{did}")
async def reputation(request: web.Request) -> web.Response:
    did = request.match_info["did"]
    if not is_did(did):
        return problem("malformed", "a participant is named by an Ed25519 did:key")
    category, at = request.query.get("category"), request.query.get("at")
    unknown = set(request.query) - {"category", "at"}
    if unknown or (category is not None and not SLUG.ok(category)) or (at is not None and not DIGITS.fullmatch(at)):
        return problem("invalid_query", "the parameters are category, a category slug, and at, Unix seconds")
    return await _answer(_service(request).reputation(did, category, None if at is None else int(at)))


async def _answer(pending) -> web.Response:
    try:
        return web.json_response(await pending)
    except KinodeError as error:
        return problem(error.code, error.detail)
