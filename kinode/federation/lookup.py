"""Fetching what routing and context need from the hubs: profiles (node URLs) and referenced objects.

A participant's node holds only what concerns its owner; to reach a party it
needs that party's current profile (its `node` URL), and to judge an object
it needs the chain it refers to. Both are asked of the node's hubs and
verified here like anything else that arrives; nothing is trusted because a
hub served it.
"""

import asyncio
import json
import logging

import aiohttp

from kinode.federation.sessions import Sessions
from kinode.node import Node

log = logging.getLogger("kinode.federation.lookup")
TIMEOUT = aiohttp.ClientTimeout(total=10)


async def fetch_profiles(node: Node, sessions: Sessions, dids: list[str]) -> bool:
    """Ask every hub for the profiles of `dids`; True if any new profile was stored."""
    wires: list = []
    for remote in list(node.remotes.values()):
        for did in dids:
            page = await _get_json(sessions, f"{remote.url}/ki/v1/objects", {"type": "profile", "author": did, "limit": "100"})
            if isinstance(page, dict) and isinstance(page.get("objects"), list):
                wires += [o for o in page["objects"] if isinstance(o, dict)]
    return await _store(node, wires)


async def fetch_objects(node: Node, sessions: Sessions, ids: list[str]) -> bool:
    """Fetch objects by id from the hubs (the first that has each); True if any was stored."""
    wires: list = []
    for object_id in ids:
        for remote in list(node.remotes.values()):
            got = await _get_raw(sessions, f"{remote.url}/ki/v1/objects/{object_id}")
            if got is not None:
                wires.append(got)
                break
    return await _store(node, wires)


CONTEXT_SECONDS = 5.0
RETRY_MISSING_SECONDS = 60  # an id no hub had is asked for again after this long, not every round
MAX_CHAIN = 8  # ruling, dispute, contract, proposal, task, project: a chain is a handful of links


async def fetch_context_forever(node: Node, sessions: Sessions) -> None:
    """A participant's node asks its hubs for what its pending objects wait for.

    An object that concerns the owner may arrive before its context (a contract
    naming a resolver who never saw the task it covers): without this it would
    wait until evicted while its sender retries.
    """
    tried: dict[str, int] = {}
    while True:
        try:
            await fetch_missing_context(node, sessions, tried)
        except Exception:  # the loop must survive anything one round meets
            log.exception("fetching pending context failed")
        await asyncio.sleep(CONTEXT_SECONDS)


async def fetch_missing_context(node: Node, sessions: Sessions, tried: dict[str, int] | None = None,
                                limit: int = 100) -> bool:
    """Fetch the ids pending objects wait for (those not tried lately), and then what those wait for,
    up the chain to the root; True if anything was stored."""
    tried = {} if tried is None else tried
    stored = False
    for _ in range(MAX_CHAIN):
        now = node.now()
        needed = [i for i in await node.store.read(_awaited, limit * 2) if tried.get(i, 0) <= now][:limit]
        if not needed:
            break
        for object_id in needed:
            tried[object_id] = now + RETRY_MISSING_SECONDS
        if not await fetch_objects(node, sessions, needed):
            break
        stored = True
    return stored


def _awaited(db, limit: int) -> list[str]:
    return [row[0] for row in db.execute(
        "SELECT DISTINCT n.needed FROM pending_needs n WHERE NOT EXISTS "
        "(SELECT 1 FROM objects o WHERE o.id = n.needed) ORDER BY n.needed LIMIT ?", [limit]).fetchall()]


async def _store(node: Node, wires: list) -> bool:
    if not wires:
        return False
    # Verified (store.ingest), but not admitted by policy: the node asked for these itself.
    results = await node.store.ingest(wires, node.now())
    if any(r.status == "accepted" for r in results):
        node.changes.notify()
    return any(r.status in ("accepted", "pending") for r in results)


async def _get_json(sessions: Sessions, url: str, params: dict[str, str]):
    try:
        async with sessions.for_url(url.split("/ki/v1/")[0]).get(url, params=params, timeout=TIMEOUT) as response:
            if response.status != 200:
                return None
            return json.loads(await response.read())
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as error:
        log.info("lookup %s failed: %s", url, error)
        return None


async def _get_raw(sessions: Sessions, url: str) -> bytes | None:
    try:
        async with sessions.for_url(url.split("/ki/v1/")[0]).get(url, timeout=TIMEOUT) as response:
            return await response.read() if response.status == 200 else None
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
        log.info("lookup %s failed: %s", url, error)
        return None
