"""Background work of the hub role (spec section 14), started and stopped with the app.

On a hub:
- the announcer publishes the hub's `hub` and `category` objects on start and
  whenever hub.toml changes (kinode.hub.announce);
- the directory verifier challenges the URL of every other hub announcement
  held here and records the outcome and the hub's health (objects held).
On a participant's node (unless the directory is switched off):
- the hub picker asks its hubs which verified hubs serve the categories its
  owner publishes in, adds those hubs as remotes (so what it publishes reaches
  them), and logs a warning for a category no hub serves.
"""

import asyncio
import dataclasses
import json
import logging

import aiohttp

from kinode.errors import ChallengeFailed
from kinode.federation import tasks as background_tasks
from kinode.federation.challenge import challenge_peer
from kinode.federation.sessions import open_sessions
from kinode.hub import announce, directory
from kinode.node import Remote
from kinode.work.routing import NOWHERE
from storage import deliveries, hub_state, outbox

log = logging.getLogger("kinode.hub")
WATCH_SECONDS = 2.0
PICK_SECONDS = 15.0
TIMEOUT = aiohttp.ClientTimeout(total=10)


async def background(app):
    from kinode.federation.appkeys import NODE
    node = app[NODE]
    tasks = []
    async with open_sessions(node.config) as sessions:
        if node.config.is_hub:
            tasks.append(background_tasks.start(announce_forever(node), "hub-announce"))
            tasks.append(background_tasks.start(verify_forever(node, sessions), "hub-directory"))
        elif node.config.extra.get("hub_directory", True) and node.config.hubs:
            tasks.append(background_tasks.start(pick_forever(node, sessions), "hub-picker"))
        yield
        await background_tasks.stop(tasks)


async def announce_forever(node) -> None:
    config = node.config.extra.get("hub")
    if config is None:
        return
    watcher = announce.ConfigWatcher(config, node.config.extra.get("hub_flags", ([], [])))
    if config.announce:  # run from a config file (spec 14.1; flags alone announce nothing)
        await _announce(node, config)
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        fresh = watcher.poll()
        if fresh is not None:
            # the hub serves what the file now says, and announces it
            node.config = dataclasses.replace(node.config, categories=fresh.slugs,
                                              extra={**node.config.extra, "hub": fresh})
            await _announce(node, fresh)


async def _announce(node, config) -> None:
    try:
        published = await announce.announce(node, config)
    except Exception:  # never kill the hub over an announcement; say why
        log.exception("announcing this hub failed")
        return
    if published:
        node.changes.notify()


async def verify_forever(node, sessions) -> None:
    while True:
        for announcement in await node.store.read(directory.to_check, node.did):
            await verify_one(node, sessions, announcement)
        await asyncio.sleep(max(node.config.reconcile_interval, 0.5))


async def verify_one(node, sessions, announcement) -> None:
    url = announcement.body["url"].rstrip("/")
    session = sessions.for_url(url)
    held, error = None, None
    try:
        await challenge_peer(session, url, announcement.author)
        held = await _objects_held(session, url)
    except ChallengeFailed as failure:
        error = failure.detail
    await node.store.write(hub_state.record_check, announcement.author, announcement.body["url"], announcement.id,
                           node.now(), ok=error is None, objects_held=held, error=error)


async def _objects_held(session, url: str) -> int | None:
    try:
        async with session.get(url + "/ki/v1/hub", timeout=TIMEOUT) as response:
            if response.status != 200:
                return None
            held = json.loads(await response.read()).get("objects_held")
            return held if type(held) is int else None
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError, AttributeError):
        return None


async def pick_forever(node, sessions) -> None:
    """Ask the directories at once when the owner's categories change, else every PICK_SECONDS."""
    asked, since = None, 0.0
    while True:
        categories = await node.store.read(_own_categories, node.did)
        if categories != asked or since >= PICK_SECONDS:
            await pick_hubs(node, sessions, categories)
            asked, since = categories, 0.0
        await asyncio.sleep(WATCH_SECONDS)
        since += WATCH_SECONDS


async def pick_hubs(node, sessions, categories: list[str]) -> dict[str, list[str]]:
    """Category -> hub URLs serving it, per the directories of this node's hubs. A hub new to this node
    becomes a remote, and what the owner published in that category is queued for it."""
    found: dict[str, list[str]] = {}
    for category in categories:
        urls: list[str] = []
        for hub in node.config.hubs:
            for entry in await _directory(sessions.for_url(hub), hub.rstrip("/"), category):
                url = entry.get("url")
                if isinstance(url, str) and entry.get("verified") and url.rstrip("/") not in urls:
                    urls.append(url.rstrip("/"))
        found[category] = urls
        for url in urls:
            if url not in node.remotes:
                node.remotes[url] = Remote(url)
                log.info("hub %s serves %s (from the hub directory); publishing there too", url, category)
            await node.store.write(_queue_for_hub, node.did, category, url, node.now())
        if not urls:
            log.warning("no hub serves category %s: what you publish in it reaches no hub until one does", category)
    node.changes.notify()
    return found


def _queue_for_hub(db, did: str, category: str, url: str, now: int) -> None:
    """Queue the owner's objects filed under `category` (and its profile) for a hub that serves it;
    entries already queued (INSERT OR IGNORE), delivered or refused there are left alone."""
    rows = db.execute("SELECT id FROM objects WHERE author = ? AND hidden_by IS NULL AND (category = ? OR id IN "
                      "(SELECT object_id FROM current_versions WHERE type = 'profile' AND author = ?)) "
                      "AND id NOT IN (SELECT object_id FROM deliveries WHERE destination = ? "
                      "AND state IN ('delivered', 'rejected'))", [did, category, did, url]).fetchall()
    ids = [i for (i,) in rows]
    outbox.enqueue_many(db, ids, [url], now)
    # The delivery log follows: it goes to this hub now, and is no longer "nowhere" (spec 9.13 outcomes).
    deliveries.moved(db, [(object_id, NOWHERE, url, f"hub {url} (serves {category})") for object_id in ids], now)


async def _directory(session, hub: str, category: str) -> list[dict]:
    try:
        async with session.get(f"{hub}/ki/v1/hubs", params={"category": category}, timeout=TIMEOUT) as response:
            if response.status != 200:
                return []
            hubs = json.loads(await response.read()).get("hubs", [])
            return [h for h in hubs if isinstance(h, dict)]
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError, AttributeError):
        return []


def _own_categories(db, did: str) -> list[str]:
    """The categories this node's owner publishes in: its offers', projects' and profile's."""
    rows = db.execute("SELECT DISTINCT category FROM objects WHERE author = ? AND category IS NOT NULL "
                      "AND hidden_by IS NULL AND type IN ('offer', 'project') ORDER BY category", [did]).fetchall()
    found = [c for (c,) in rows]
    row = db.execute("SELECT o.wire FROM current_versions c JOIN objects o ON o.id = c.object_id "
                     "WHERE c.type = 'profile' AND c.author = ?", [did]).fetchone()
    if row:
        for slug in json.loads(row[0])["body"].get("categories", []):
            if slug not in found:
                found.append(slug)
    return found
