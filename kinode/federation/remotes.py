"""Learning what each configured remote is: its did, roles and categories."""

import asyncio
import json
import logging

import aiohttp

from kinode.node import Node
from kinode.federation.sessions import Sessions
from storage import peers

log = logging.getLogger("kinode.federation.remotes")
REFRESH_SECONDS = 30.0
RETRY_SECONDS = 2.0


async def refresh_remotes(node: Node, sessions: Sessions) -> None:
    """Fetch every remote's /.well-known/kinode now and then (sooner while one is unknown)."""
    while True:
        await asyncio.gather(*(describe_remote(node, sessions.for_url(remote.url), remote)
                               for remote in list(node.remotes.values())))
        unknown = any(r.did is None for r in node.remotes.values())
        await asyncio.sleep(RETRY_SECONDS if unknown else REFRESH_SECONDS)


async def describe_remote(node: Node, session: aiohttp.ClientSession, remote) -> None:
    try:
        async with session.get(remote.url + "/.well-known/kinode", timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            description = json.loads(await response.read())
        did, roles = description["did"], tuple(description.get("roles", ()))
        categories = tuple(description.get("categories", ()))
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError, KeyError, TypeError) as error:
        why = str(error) or type(error).__name__
        if remote.reachable is not False:
            # Being offline is not an error, but the operator should know where objects wait.
            log.warning("%s is unreachable (%s); what is queued for it waits in the outbox and is retried "
                        "with backoff", remote.url, why)
            remote.reachable = False
        if remote.did is not None:
            await node.store.write(peers.record_failure, remote.did, why)
        return
    if remote.reachable is False:
        log.info("%s answers again; delivering what waited for it", remote.url)
    remote.reachable = True
    first = remote.did is None
    remote.did, remote.roles = did, roles
    remote.categories = categories if "hub" in roles else None
    await node.store.write(_seen, did, remote.url, categories, roles, node.now())
    if first:
        log.info("remote %s is %s (%s)", remote.url, did, ", ".join(categories) or "no categories")
        node.changes.notify()


def _seen(db, did: str, url: str, categories, roles, now: int) -> None:
    peers.upsert_peer(db, did, url, categories, roles, now)
    peers.record_success(db, did, now)
