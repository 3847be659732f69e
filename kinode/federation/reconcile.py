"""Hub-to-hub reconciliation: POST /ki/v1/sync and the periodic initiator.

The reconciled set is every visible object the two hubs would both take:
filed under a category they share, or of a type every hub takes. Hidden
objects (retracted, or signed after a key rotation) are left out on both
sides, so a retract that overtook its target does not make the peers chase
an object neither will serve. After a round the initiator pushes what the
peer lacks through the outbox and fetches what it lacks by id.
"""

import asyncio
import functools
import json
import logging
import os

import aiohttp
from aiohttp import web

from kinode.federation.appkeys import LIMITS, NODE
from kinode.federation.handlers import MAX_OFFERED_IDS, read_body
from kinode.federation.httpsig import sign_request
from kinode.node import Node
from kinode.policy import HUB_GLOBAL_TYPES
from kinode.federation.sessions import Sessions
from kinode.federation.problem import problem_from
from kinode.verifier import PARSE_ON_LOOP_BYTES
from protocol import canonical, sync
from protocol.errors import InvalidSyncMessage, ProtocolError
from storage.sync_items import StoredItems
from storage import listing, outbox

log = logging.getLogger("kinode.federation.reconcile")
MAX_ROUNDS = 64
FETCH_CONCURRENCY = 8
routes = web.RouteTableDef()


def item_set(db, categories: list[str]) -> sync.SortedItems:
    """The initiator's copy of the set: a session spans several requests, so it holds a snapshot."""
    return sync.SortedItems(StoredItems(db, categories, HUB_GLOBAL_TYPES).ids(""))


def _respond(db, categories: list[str], message: dict) -> dict:
    """Answer from one read snapshot, straight from the index: no per-request copy of the set."""
    return sync.respond(StoredItems(db, categories, HUB_GLOBAL_TYPES), message)


@routes.post("/ki/v1/sync")
async def sync_endpoint(request: web.Request) -> web.Response:
    node = request.app[NODE]
    got = await read_body(request, signature_required=True)
    if isinstance(got, web.Response):
        return got
    body, signer = got
    try:
        message = sync.decode_request(body)
        requested = sync.requested_categories(message)
        if requested is None:
            raise InvalidSyncMessage("name the categories to reconcile (those both hubs serve)")
        unserved = sorted(set(requested) - set(node.config.categories))
        if unserved:  # reconciling different sets would find the same "differences" every round
            raise InvalidSyncMessage(f"this hub does not serve {', '.join(unserved)}")
    except ProtocolError as error:
        return problem_from(error)
    if not await is_known_hub(node, signer, requested):
        limited = request.app[LIMITS].stranger_sync(request, signer, node.clock())
        if limited is not None:
            return limited
    try:
        reply = await node.store.read(_respond, requested, message)
    except ProtocolError as error:
        return problem_from(error)
    return web.Response(body=sync.encode(reply), content_type="application/json")


async def is_known_hub(node: Node, signer: str, categories: list[str]) -> bool:
    """Spec 10.8: a configured peer (by the did its description gave), or a hub whose current
    announcement this hub holds and names every category asked for. Anyone else reconciles
    under a budget per key and per address: each exchange costs range scans and fingerprints."""
    if any(remote.did == signer for remote in node.remotes.values()):
        return True
    return set(categories) <= await node.store.read(_announced_categories, signer)


def _announced_categories(db, did: str) -> set[str]:
    [announcement] = listing.recent(db, type="hub", author=did, limit=1) or [None]
    if announcement is None:
        return set()
    categories = json.loads(announcement.wire)["body"].get("categories")
    return set(categories) if isinstance(categories, list) else set()


async def reconcile_forever(node: Node, sessions: Sessions) -> None:
    while True:
        await asyncio.sleep(node.config.reconcile_interval)
        for remote in list(node.remotes.values()):
            if remote.did is None or remote.categories is None:
                continue
            try:
                await reconcile_with(node, sessions.for_url(remote.url), remote.url, remote.categories)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ProtocolError, ValueError) as error:
                log.info("reconciliation with %s failed: %s", remote.url, error)


async def reconcile_with(node: Node, session: aiohttp.ClientSession, url: str,
                         remote_categories: tuple[str, ...]) -> tuple[int, int]:
    """One reconciliation as initiator; returns (pushed, fetched) counts."""
    shared = sorted(set(node.config.categories) & set(remote_categories))
    if not shared:
        return 0, 0
    items = await node.store.read(item_set, shared)
    initiator = sync.Initiator(items, shared, salt=os.urandom(sync.SALT_BYTES))  # unforeseeable: spec 10.2
    message = initiator.start()
    while message is not None:
        if initiator.rounds >= MAX_ROUNDS:  # a huge difference (a new hub catching up): keep what was found,
            log.info("reconciliation with %s paused after %d rounds; it goes on next time", url, MAX_ROUNDS)
            break  # the next exchange starts from the sets as they are then, so it resumes, not restarts
        reply = await _post(node, session, url + "/ki/v1/sync", sync.encode(message))
        message = await asyncio.to_thread(initiator.receive, sync.decode_reply(reply))
    have, need = sorted(initiator.have), sorted(initiator.need)
    node.breakers[url].record_success()  # it answered every round: whatever backoff said, it is up
    if have:
        await node.store.write(_push_now, have, url, node.now())
        node.changes.notify()
    fetched = await _fetch(node, session, url, need, node.remotes[url].did if url in node.remotes else None)
    if have or need:
        log.info("reconciled with %s: pushed %d, fetched %d of %d", url, len(have), fetched, len(need))
    return len(have), fetched


def _push_now(db, object_ids: list[str], url: str, now: int) -> None:
    """Queue what the peer lacks, and make entries already waiting out a backoff due at once."""
    outbox.enqueue_many(db, object_ids, [url], now)
    outbox.expedite(db, url, object_ids, now)


async def _post(node: Node, session: aiohttp.ClientSession, url: str, body: bytes, *, seconds: float = 30,
                absent: tuple[int, ...] = ()) -> bytes | None:
    """POST a signed JSON body; the answer's bytes, None for a status in `absent`, else a ValueError."""
    request = sign_request(node.identity, "POST", url, {"Content-Type": "application/json"}, body, now=node.now())
    async with session.post(request.url, data=request.body, headers=request.headers,
                            timeout=aiohttp.ClientTimeout(total=seconds)) as response:
        if response.status in absent:
            return None
        answer = await response.read()
        if response.status != 200:
            raise ValueError(f"{url} answered HTTP {response.status}: {answer[:200]!r}")
        return answer


async def _fetch(node: Node, session: aiohttp.ClientSession, url: str, ids: list[str],
                 source: str | None = None) -> int:
    """Fetch `ids` from the peer and store them; how many were accepted. In batches of
    MAX_OFFERED_IDS with POST /ki/v1/fetch (spec 9.16); one GET each from a peer without it."""
    wires: list = []
    waiting = list(ids)
    while waiting:
        asked, waiting = waiting[:MAX_OFFERED_IDS], waiting[MAX_OFFERED_IDS:]
        answer = await _fetch_batch(node, session, url, asked)
        if answer is None:  # no batch fetch there (404/405): the GET of section 9.4, a few at a time
            wires += await _fetch_each(session, url, asked + waiting)
            break
        objects, unsent = answer
        wires += objects
        waiting = unsent + waiting if objects else waiting  # an answer with nothing sent cannot loop
    return await store_fetched(node, wires, source)


async def store_fetched(node: Node, items: list, source: str | None = None) -> int:
    """Take in fetched objects as deliveries, a batch at a time; how many were accepted."""
    accepted = 0
    for start in range(0, len(items), node.config.max_batch):
        results = await node.receive(items[start:start + node.config.max_batch], source=source)
        accepted += sum(r.status == "accepted" for r in results)
    return accepted


async def _fetch_batch(node: Node, session: aiohttp.ClientSession, url: str,
                       ids: list[str]) -> tuple[list, list[str]] | None:
    """(objects, ids held but not sent) from POST /ki/v1/fetch; None if the peer has no such endpoint."""
    answer = await _post(node, session, url + "/ki/v1/fetch", json.dumps({"ids": ids}).encode(), seconds=60,
                         absent=(404, 405))
    if answer is None:
        return None
    # Each object keeps the bytes it came in, so the verifier takes its fast path (workers get bytes);
    # a large answer is parsed off the loop, as the inbox parses a large batch.
    parse = functools.partial(canonical.parse_listing, answer, "objects")
    value, wired = await asyncio.to_thread(parse) if len(answer) > PARSE_ON_LOOP_BYTES else parse()
    objects, unsent = (value.get("objects"), value.get("unsent")) if isinstance(value, dict) else (None, None)
    if not isinstance(objects, list) or not isinstance(unsent, list):
        raise ValueError("fetch answered without objects and unsent lists")
    objects = wired if wired is not None else objects
    asked = set(ids)
    return objects, [i for i in unsent if isinstance(i, str) and i in asked]


async def _fetch_each(session: aiohttp.ClientSession, url: str, ids: list[str]) -> list[bytes]:
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(object_id: str) -> bytes | None:
        async with gate:
            async with session.get(f"{url}/ki/v1/objects/{object_id}",
                                   timeout=aiohttp.ClientTimeout(total=30)) as response:
                return await response.read() if response.status == 200 else None

    return [w for w in await asyncio.gather(*(one(i) for i in ids)) if w is not None]
