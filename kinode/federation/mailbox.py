"""The hub mailbox over HTTP, and a participant's node fetching its own (spec section 9.11).

A hub holds sealed `message`s for their recipients (storage.mailbox): a
recipient fetches them with `GET /ki/v1/mailbox`, signed (section 8) by the
recipient's key, so only the recipient learns what is waiting; after taking
them in it acknowledges with `POST /ki/v1/mailbox/ack` and the hub drops them.

A participant's node fetches from each of its hubs when it starts and every
FETCH_SECONDS after, takes the messages in like any delivery (the node opens
those addressed to its owner and ingests the object inside) and acknowledges
what it stored or already held.
"""

import asyncio
import json
import logging

import aiohttp
from aiohttp import web

from kinode.federation.appkeys import NODE
from kinode.federation.handlers import _check_signature, read_body
from kinode.federation.httpsig import sign_request
from kinode.federation.problem import problem
from kinode.federation.sessions import Sessions
from kinode.node import Node
from protocol import canonical
from protocol.envelope import is_object_id
from protocol.errors import ProtocolError
from storage import mailbox

log = logging.getLogger("kinode.federation.mailbox")
routes = web.RouteTableDef()
FETCH_SECONDS = 15.0
PAGE = 100
MAX_ACK = 1000


@routes.get("/ki/v1/mailbox")
async def fetch(request: web.Request) -> web.Response:
    node = request.app[NODE]
    signer = _check_signature(request, b"", required=True)
    if isinstance(signer, web.Response):
        return signer
    held = await node.store.read(mailbox.held_for, signer, node.now(), PAGE)
    body = b'{"messages":[' + b",".join(h.wire for h in held) + b"]}"
    return web.Response(body=body, content_type="application/json")


@routes.post("/ki/v1/mailbox/ack")
async def acknowledge(request: web.Request) -> web.Response:
    got = await read_body(request, signature_required=True)
    if isinstance(got, web.Response):
        return got
    body, signer = got
    try:
        parsed = canonical.parse(body)
    except ProtocolError as error:
        return problem(error.code, error.detail)
    ids = parsed.get("ids") if isinstance(parsed, dict) else None
    if not (isinstance(ids, list) and 1 <= len(ids) <= MAX_ACK and all(is_object_id(i) for i in ids)):
        return problem("malformed", f'the body must be {{"ids": [ID, ...]}} with 1 to {MAX_ACK} message ids')
    node = request.app[NODE]
    dropped = await node.store.write(mailbox.acknowledge, signer, ids)
    return web.json_response({"acknowledged": dropped})


async def expire_forever(node: Node) -> None:
    """A hub drops messages nobody fetched within their TTL."""
    while True:
        await node.store.write(mailbox.expire, node.now())
        await asyncio.sleep(600)


async def fetch_forever(node: Node, sessions: Sessions) -> None:
    """A participant's node empties its mailbox at each of its hubs: now, then periodically."""
    while True:
        for remote in list(node.remotes.values()):
            try:
                await fetch_mailbox(node, sessions, remote.url)
            except Exception:  # one hub's failure must not stop the loop
                log.exception("mailbox fetch from %s failed", remote.url)
        await asyncio.sleep(FETCH_SECONDS)


async def fetch_mailbox(node: Node, sessions: Sessions, hub: str) -> int:
    """Take in every message `hub` holds for this node's owner; returns how many were taken."""
    taken = 0
    while True:
        signed = sign_request(node.identity, "GET", hub + "/ki/v1/mailbox", now=node.now())
        try:
            async with sessions.for_url(hub).get(signed.url, headers=signed.headers,
                                                 timeout=aiohttp.ClientTimeout(total=30)) as response:
                if response.status != 200:
                    return taken  # not a hub, or an older one without a mailbox
                messages = json.loads(await response.read()).get("messages", [])
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError, AttributeError):
            return taken
        if not messages:
            return taken
        results = await node.receive(messages)
        done = [r.id for r in results if r.status in ("accepted", "duplicate") and r.id]
        # A message this node refuses (not for it, or broken) is acknowledged too, or it would come back forever.
        done += [m.get("id") for m, r in zip(messages, results) if r.status == "rejected" and is_object_id(m.get("id"))]
        if not done or not await _acknowledge(node, sessions, hub, done):
            return taken
        taken += len(messages)
        if len(messages) < PAGE:
            return taken


async def _acknowledge(node: Node, sessions: Sessions, hub: str, ids: list[str]) -> bool:
    body = json.dumps({"ids": sorted(set(ids))}).encode()
    signed = sign_request(node.identity, "POST", hub + "/ki/v1/mailbox/ack",
                          {"Content-Type": "application/json"}, body, now=node.now())
    try:
        async with sessions.for_url(hub).post(signed.url, data=signed.body, headers=signed.headers,
                                              timeout=aiohttp.ClientTimeout(total=30)) as response:
            return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
        return False
