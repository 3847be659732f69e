"""HTTP handlers of the federation protocol (specs/protocol.md section 9).

Handlers stay thin: parse and check the request, call the node's service
layer, shape the answer. Every refusal is problem+json with a spec code.
"""

import asyncio
import json

import orjson
from aiohttp import web

from kinode.federation import query as parse
from kinode.federation import request_body
from kinode.federation.query import QueryError
from kinode.federation.appkeys import BUDGET, LIMITS, NODE, REPLAYS
from kinode.federation.httpsig import CHALLENGE, signature_problem, verify_aiohttp_request
from kinode.federation.problem import problem, problem_from
from kinode.federation.hub_routes import freshness_fields, honoured
from kinode.hub import moderation, receipts
from kinode.verifier import PARSE_ON_LOOP_BYTES  # larger batch bodies are parsed in a thread
from protocol import canonical
from protocol.envelope import is_object_id
from protocol.errors import ProtocolError
from storage import listing
from storage.errors import InvalidCursor, InvalidQuery
from storage.search import SearchQuery, search

routes = web.RouteTableDef()
JSON = "application/json"


@routes.get("/.well-known/kinode")
async def well_known(request: web.Request) -> web.Response:
    return web.json_response(request.app[NODE].describe())


@routes.post("/ki/v1/inbox")
async def inbox(request: web.Request) -> web.Response:
    node, limits = request.app[NODE], request.app[LIMITS]
    limited = limits.work(request, 1, node.clock())  # an address in debt is refused before its body is read
    if limited is not None:
        return limited
    got = await read_body(request, signature_required=False)
    if isinstance(got, web.Response):
        return got
    body, signer = got
    del got
    try:
        # A node's batch is the canonical encoding of {"objects": [...]}: then each
        # object comes with its wire bytes and is not encoded again to verify it.
        if len(body) > PARSE_ON_LOOP_BYTES:  # the loop never stalls on a multi-megabyte batch
            batch, wired = await asyncio.to_thread(canonical.parse_batch, body, "objects")
        else:
            batch, wired = canonical.parse_batch(body, "objects")
    except ProtocolError as error:
        return problem_from(error)
    objects = batch.get("objects") if isinstance(batch, dict) else None
    if not isinstance(objects, list) or not objects:
        return problem("malformed", 'the body must be {"objects": [OBJECT, ...]} with at least one object')
    if len(objects) > node.config.max_batch:
        return problem("too_large", f"{len(objects)} objects in one request; the limit is {node.config.max_batch}")
    limited = (limits.work(request, len(objects) - 1, node.clock()) if len(objects) > 1 else None) \
        or limits.authors(objects, node.clock())
    if limited is not None:
        return limited
    del body, batch  # the objects (and their wire bytes) are all that is needed from here
    results = await node.receive(wired if wired is not None else objects, source=signer)
    limits.charge_failures(request, _failed_authors(objects, results), node.clock())
    answers = [_result(r) for r in results]
    if node.config.is_hub:  # inclusion receipts (spec section 14.5)
        receipts.attach(node.identity, answers, node.now())
    # orjson: the answer to a batch is the hub's largest JSON write (stdlib json cost 7 us an object)
    return web.Response(body=orjson.dumps({"results": answers}), content_type="application/json")


FAILED_VERIFICATION = frozenset({"bad_signature", "bad_id"})


def _failed_authors(objects: list, results: list) -> list[str]:
    """The claimed author of each object whose hash or signature check failed."""
    return [str(obj.get("author")) if isinstance(obj, dict) else "unknown"
            for obj, result in zip(objects, results) if result.code in FAILED_VERIFICATION]


MAX_OFFERED_IDS = 1000


@routes.post("/ki/v1/have")
async def have(request: web.Request) -> web.Response:
    """Lazy gossip: a peer offers ids; answer the ones this node lacks, so only those travel."""
    ids = await _ids(request)
    if isinstance(ids, web.Response):
        return ids
    held = await request.app[NODE].store.read(listing.held_ids, ids, retracted_too=True)
    return web.json_response({"missing": [i for i in ids if i not in held]})


MAX_FETCH_BYTES = 4 * 1024 * 1024  # of objects in one fetch answer; the first always goes in whole


@routes.post("/ki/v1/fetch")
async def fetch(request: web.Request) -> web.Response:
    """Many objects by id in one answer (spec 9.16): what a reconciliation found missing, without a GET
    for each. In request order, each as GET /ki/v1/objects/{id} would serve it; those held but past
    MAX_FETCH_BYTES are listed in `unsent`, to be asked for again."""
    ids = await _ids(request)
    if isinstance(ids, web.Response):
        return ids
    wires = await request.app[NODE].store.read(listing.served_wires, ids)
    sent: list[bytes] = []
    unsent: list[str] = []
    size = 0
    for object_id in ids:
        wire = wires.get(object_id)
        if wire is None:
            continue
        if unsent or (sent and size + len(wire) > MAX_FETCH_BYTES):
            unsent.append(object_id)
        else:
            sent.append(wire)
            size += len(wire) + 1
    body = b'{"objects":[' + b",".join(sent) + b'],"unsent":' + orjson.dumps(unsent) + b"}"
    return web.Response(body=body, content_type=JSON)


async def _ids(request: web.Request) -> list[str] | web.Response:
    """The body {"ids": [ID, ...]} of /have and /fetch: 1 to MAX_OFFERED_IDS ids, without repeats."""
    got = await read_body(request, signature_required=False)
    if isinstance(got, web.Response):
        return got
    body, _ = got
    try:
        asked = canonical.parse(body)
    except ProtocolError as error:
        return problem_from(error)
    ids = asked.get("ids") if isinstance(asked, dict) else None
    if not (isinstance(ids, list) and 1 <= len(ids) <= MAX_OFFERED_IDS and all(is_object_id(i) for i in ids)):
        return problem("malformed", f'the body must be {{"ids": [ID, ...]}} with 1 to {MAX_OFFERED_IDS} object ids')
    return list(dict.fromkeys(ids))


@routes.get("/ki/v1/objects/{id}")
async def get_object(request: web.Request) -> web.Response:
    object_id = request.match_info["id"]
    if not is_object_id(object_id):
        return problem("malformed", "an object id is 64 lowercase hex digits")
    node = request.app[NODE]
    stored = await node.get(object_id)
    if stored is None:
        return problem("not_found", f"no object {object_id} here")
    # Answer as the node would answer a delivery of it now (spec 9.4), whatever order things arrived in.
    if stored.rotated_by is not None:
        return problem("key_rotated", f"{object_id} was signed after its author's key was rotated",
                       status=410, rotated_by=stored.rotated_by)
    if stored.retracted_by is not None:
        return problem("retracted", f"its author retracted {object_id}", retracted_by=stored.retracted_by)
    if stored.hidden:  # a void retract: a node that saw its target first refused it and does not hold it
        return problem("not_found", f"no object {object_id} here")
    headers = None
    if node.config.is_hub:  # delisted here: the signed bytes as ever, the label beside them (spec 9.4)
        marks = await node.store.read(moderation.marks, [stored], node.now(), honoured(node))
        if marks:
            headers = {"Ki-Moderation": moderation.header(marks[object_id])}
    return web.Response(body=stored.wire, content_type=JSON, headers=headers)


@routes.get("/ki/v1/objects")
async def list_objects(request: web.Request) -> web.Response:
    query = request.query
    try:
        unknown = set(query) - {"after", "limit", "type", "category", "author"}
        if unknown:
            raise QueryError(f"unknown parameters: {', '.join(sorted(unknown))}")
        after = parse.cursor(query.get("after", "0"), "after")
        limit = parse.integer(query.get("limit", "100"), "limit", 1, 500)
        filters = {name: parse.text(query[name], name) for name in ("type", "category") if name in query}
        if "author" in query:
            filters["author"] = parse.did(query["author"], "author")
    except QueryError as error:
        return problem(error.code, error.detail)
    node = request.app[NODE]
    stored, marks = await node.store.read(_log_page, after, filters, limit, _honoured_here(node), node.now())
    next_cursor = stored[-1].seq if stored else after
    body = b'{"next":"%d","objects":[' % next_cursor + b",".join(s.wire for s in stored) + b"]"
    if marks is not None:  # a hub says beside the log which entries it delists (spec 9.5)
        body += b',"moderation":' + json.dumps(marks, separators=(",", ":")).encode()
    return web.Response(body=body + b"}", content_type=JSON)


def _honoured_here(node) -> set[str] | None:
    """The DIDs whose labels this node applies: a hub's (section 14.4); None on a participant's node."""
    return honoured(node) if node.config.is_hub else None


def _log_page(db, after: int, filters: dict, limit: int, honoured_dids: set[str] | None, now: int):
    """One page of the log and, on a hub, its entries' moderation marks, from one read snapshot."""
    stored = listing.list_objects(db, after, **filters, limit=limit, include_hidden=True, include_superseded=True)
    return stored, (None if honoured_dids is None else moderation.marks(db, stored, now, honoured_dids))


@routes.get("/ki/v1/search")
async def search_listings(request: web.Request) -> web.Response:
    node = request.app[NODE]
    try:
        query = _search_query(request.query)
        (page, wires, marks), freshness = await node.store.read_indexed(
            _search_with_objects, query, node.now(), _honoured_here(node))
    except (InvalidQuery, InvalidCursor, QueryError) as error:
        return problem(error.code, error.detail)
    results = []
    for hit in page.results:
        if hit.id not in wires:
            continue
        result = {"id": hit.id, "type": hit.type, "author": hit.author, "created_at": hit.created_at,
                  "title": hit.title, "object": json.loads(wires[hit.id])}
        if hit.id in marks:  # delisted here: still found, and said so (spec 9.6)
            result["moderation"] = marks[hit.id]
        results.append(result)
    return web.json_response({"results": results, "next": page.next_cursor, **freshness_fields(freshness)})



def _search_with_objects(db, query: SearchQuery, now: int, honoured_dids: set[str] | None):
    """One page, its objects' bytes and (on a hub) their moderation marks, from one read snapshot."""
    page = search(db, query, now)
    ids = [hit.id for hit in page.results]
    places = ",".join("?" * len(ids))
    wires = dict(db.execute(f"SELECT id, wire FROM objects WHERE id IN ({places})", ids).fetchall()) if ids else {}
    marks = moderation.marks(db, page.results, now, honoured_dids) if honoured_dids is not None else {}
    return page, wires, marks


def _search_query(params) -> SearchQuery:
    unknown = set(params) - set(SEARCH_PARAMETERS)
    if unknown:
        raise QueryError(f"unknown search parameters: {', '.join(sorted(unknown))}")
    values = {name: SEARCH_PARAMETERS[name](params[name], name) for name in params}
    if values.get("order", "recent") not in ("recent", "relevance"):
        raise QueryError("order is recent or relevance")
    return SearchQuery(**values)


SEARCH_PARAMETERS = {
    "q": lambda value, name: value,
    "type": parse.text, "category": parse.text, "author": parse.did, "order": parse.text,
    "currency": lambda value, name: parse.currency(value),
    "min_price": parse.amount, "max_price": parse.amount,
    "limit": lambda value, name: parse.integer(value, name, 1, 100),
    "created_after": lambda value, name: parse.integer(value, name, 0, 2**32 - 1),
    "created_before": lambda value, name: parse.integer(value, name, 0, 2**32 - 1),
    "cursor": lambda value, name: value,  # opaque; the search checks it is one it issued
}


def _result(result) -> dict:
    answer = {"id": result.id, "status": result.status}
    if result.code is not None:
        answer["code"] = result.code
        answer["detail"] = result.detail
    return answer


async def read_body(request: web.Request, *, signature_required: bool) -> tuple[bytes, str | None] | web.Response:
    """(body, signer did or None), or the refusal: media type, declared size, body, request signature."""
    refusal = await _refuse_request(request)
    if refusal is not None:
        return refusal
    config = request.app[NODE].config
    body = await request_body.read_body(request, request.app[BUDGET], config.max_body_bytes, config.body_timeout)
    if isinstance(body, web.Response):
        return body
    signer = _check_signature(request, body, required=signature_required)
    if isinstance(signer, web.Response):
        return signer
    return body, signer


async def _refuse_request(request: web.Request) -> web.Response | None:
    """Content type and declared size, before reading the body (the client limit is a middleware)."""
    if request.content_type != JSON:
        return problem("unsupported_media_type", f"send {JSON}, not {request.content_type!r}")
    max_body = request.app[NODE].config.max_body_bytes
    if request.content_length is not None and request.content_length > max_body:
        return problem("too_large", f"the body is {request.content_length} bytes; the limit is {max_body}")
    return None


def _check_signature(request: web.Request, body: bytes, *, required: bool) -> str | None | web.Response:
    """The signer's did, None for an unsigned request that may be unsigned, or a refusal."""
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        if required:
            return problem("signature_required", "this endpoint needs an RFC 9421 request signature",
                           headers=dict(CHALLENGE))
        return None
    node = request.app[NODE]
    try:
        return verify_aiohttp_request(request, body, node.now(), request.app[REPLAYS], origin=node.config.public_url)
    except ProtocolError as error:
        return signature_problem(error)
