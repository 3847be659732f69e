"""What a participant or hub operator looks at: their objects, their profile, delivery, search.

The read side of the service layer for the web UI (and anything else that
shows a node to its owner). Writes go through `Node.publish`; nothing here
changes state. Results are small frozen dataclasses of plain values, so a
caller never sees storage rows.
"""

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kinode.node import GOSSIP, Node
from protocol.envelope import verify
from protocol.errors import ProtocolError
from storage import listing, peers
from storage.derived import signed_from_wire
from storage.search import SearchQuery, search

SEARCH_TIMEOUT = aiohttp.ClientTimeout(total=8)
LISTING_TYPES = ("offer", "project", "task", "profile")


@dataclass(frozen=True)
class Item:
    """One stored object as the owner sees it."""

    id: str
    type: str
    author: str
    created_at: int
    category: str | None
    body: dict[str, Any]
    hidden: bool = False

    @property
    def title(self) -> str:
        return str(self.body.get("title") or self.body.get("name") or self.type)


@dataclass(frozen=True)
class Delivery:
    """Where one of my objects has got to: 'delivered to N of M', what waits, what was refused."""

    item: Item
    destinations: int
    delivered: int
    waiting: tuple[dict[str, Any], ...] = ()   # {destination, attempts, next_attempt_at, last_error}
    rejected: tuple[dict[str, Any], ...] = ()  # {destination, reason, at}


@dataclass(frozen=True)
class Found:
    """A search result from a hub, with whether its signature verified here, and the hub's judgements
    (an endorsed expert of the category; delisted, and why) when its marketplace search gives them."""

    item: Item
    hub: str
    verified: bool
    problem: str | None = None
    endorsed_expert: bool = False
    delisted: tuple[str, ...] = ()


@dataclass
class HubAnswer:
    hub: str
    results: list[Found] = field(default_factory=list)
    next: str | None = None
    error: str | None = None
    facets: dict = field(default_factory=dict)  # {"category"|"skill"|"price": {value: count}}
    total: int | None = None
    behind: int = 0  # objects the hub held but had not indexed yet when it answered (spec 9.6, Freshness)


MARKET_PARAMS = {"q", "type", "category", "skill", "currency", "min_price", "max_price", "sort", "endorsed", "limit"}


def _item(stored: listing.StoredObject) -> Item:
    obj = json.loads(stored.wire)
    return Item(stored.id, stored.type, stored.author, stored.created_at, stored.category,
                obj.get("body", {}), stored.hidden)


async def mine(node: Node, type_: str | None = None, limit: int = 50) -> list[Item]:
    """My own current objects, newest first."""
    rows = await node.store.read(listing.recent, type=type_, author=node.did, limit=limit)
    return [_item(r) for r in rows]


async def recent(node: Node, type_: str | None = None, limit: int = 50) -> list[Item]:
    """Anyone's current objects held here, newest first."""
    return [_item(r) for r in await node.store.read(listing.recent, type=type_, limit=limit)]


async def counts(node: Node) -> dict[str, int]:
    """Objects held here by type (visible ones)."""
    return await node.store.read(_counts)


def _counts(db) -> dict[str, int]:
    return dict(db.execute("SELECT type, count(*) FROM objects WHERE hidden_by IS NULL "
                           "GROUP BY type ORDER BY type").fetchall())


async def item(node: Node, object_id: str) -> Item | None:
    stored = await node.get(object_id)
    return _item(stored) if stored is not None else None


async def profile(node: Node, did: str | None = None) -> Item | None:
    """The current profile of `did` (default: mine) held here."""
    [found] = (await node.store.read(listing.recent, type="profile", author=did or node.did, limit=1)) or [None]
    return _item(found) if found else None


async def deliveries(node: Node, limit: int = 50) -> list[Delivery]:
    """My newest objects with their delivery state across the remotes that serve them."""
    return await node.store.read(_deliveries, node, limit)


def _deliveries(db, node: Node, limit: int) -> list[Delivery]:
    rows = listing.recent(db, author=node.did, limit=limit)
    ids = [r.id for r in rows]
    entries: dict[str, list] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        for row in db.execute(
                "SELECT object_id, destination, attempts, next_attempt_at, last_error, quarantined_at "
                f"FROM outbox WHERE object_id IN ({marks}) ORDER BY entry_id", ids).fetchall():
            entries.setdefault(row[0], []).append(row[1:])
    url_by_did = {r.did: r.url for r in node.remotes.values() if r.did}
    result = []
    for row in rows:
        mine_entries = entries.get(row.id, [])
        waiting, rejected = [], []
        for destination, attempts, next_at, error, quarantined_at in mine_entries:
            name = url_by_did.get(destination, destination)
            if quarantined_at is not None:
                rejected.append({"destination": name, "reason": error or "refused", "at": quarantined_at})
            else:
                waiting.append({"destination": "every hub" if destination == GOSSIP else name,
                                "attempts": attempts, "next_attempt_at": next_at, "last_error": error})
        item = _item(row)
        signed = signed_from_wire(row.wire)
        serving = [r for r in node.remotes.values() if r.serves(signed)]
        total = max(len(serving), len([e for e in mine_entries if e[0] != GOSSIP]))
        delivered = 0 if any(e[0] == GOSSIP for e in mine_entries) else max(0, total - len(mine_entries))
        result.append(Delivery(item, total, delivered, tuple(waiting), tuple(rejected)))
    return result


async def remotes(node: Node) -> list[dict[str, Any]]:
    """The hubs (or peer hubs) this node talks to, with their health."""
    known = {p.did: p for p in await node.store.read(peers.list_peers)}
    answer = []
    for remote in node.remotes.values():
        peer = known.get(remote.did) if remote.did else None
        answer.append({"url": remote.url, "did": remote.did, "reached": remote.did is not None,
                       "categories": list(remote.categories or ()),
                       "last_seen": peer.last_seen if peer else None,
                       "failures": peer.failures if peer else 0,
                       "last_error": peer.last_error if peer else None})
    return answer


async def search_local(node: Node, **query: Any) -> tuple[list[Item], str | None, int]:
    """Search this node's own index (a hub's operator, or a participant offline): the items, the next
    cursor, and how many objects the index had still to take in (0 when it was fresh)."""
    page, freshness = await node.store.read_indexed(search, SearchQuery(**query), node.now())  # sees what was just stored
    found = []
    for hit in page.results:
        stored = await node.get(hit.id)
        if stored is not None:
            found.append(_item(stored))
    return found, page.next_cursor, freshness.behind


async def search_hubs(node: Node, session: aiohttp.ClientSession, params: dict[str, str]) -> list[HubAnswer]:
    """Ask every hub this node publishes to; each object is verified here, not trusted."""
    hubs = [r.url for r in node.remotes.values()]
    return list(await asyncio.gather(*(_search_one(node, session, hub, params) for hub in hubs)))


async def _search_one(node: Node, session: aiohttp.ClientSession, hub: str, params: dict[str, str]) -> HubAnswer:
    """The hub's marketplace search (facets, endorsed experts, delisting), else its plain search."""
    if params.get("type", "offer") in ("offer", "project", "task") and set(params) <= MARKET_PARAMS:
        answer = await _market_one(node, session, hub, params)
        if answer is not None:
            return answer
    plain = {k: v for k, v in params.items() if k not in ("skill", "sort", "endorsed")}
    answer = HubAnswer(hub)
    try:
        async with session.get(hub + "/ki/v1/search", params=plain, timeout=SEARCH_TIMEOUT) as response:
            body = json.loads(await response.read())
            if response.status != 200:
                answer.error = str(body.get("detail") or f"the hub answered HTTP {response.status}")
                return answer
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as error:
        answer.error = f"the hub could not be reached ({type(error).__name__})"
        return answer
    answer.next, answer.behind = body.get("next"), index_behind(body)
    for result in body.get("results", []):
        answer.results.append(_checked(node, result.get("object"), hub))
    return answer


def index_behind(body: dict) -> int:
    """How far the hub's index trailed its log in this answer (0 when fresh, or not said)."""
    log_seq, indexed = body.get("log_seq"), body.get("indexed_through")
    return max(log_seq - indexed, 0) if type(log_seq) is int and type(indexed) is int else 0


async def _market_one(node: Node, session: aiohttp.ClientSession, hub: str, params: dict[str, str]) -> HubAnswer | None:
    """None when the hub has no marketplace search (404), so the caller falls back to /ki/v1/search."""
    answer = HubAnswer(hub)
    try:
        async with session.get(hub + "/ki/v1/market", params=params, timeout=SEARCH_TIMEOUT) as response:
            if response.status == 404:
                return None
            body = json.loads(await response.read())
            if response.status != 200:
                answer.error = str(body.get("detail") or f"the hub answered HTTP {response.status}")
                return answer
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as error:
        answer.error = f"the hub could not be reached ({type(error).__name__})"
        return answer
    answer.next, answer.total, answer.behind = body.get("next"), body.get("total"), index_behind(body)
    answer.facets = body.get("facets") if isinstance(body.get("facets"), dict) else {}
    for result in body.get("results", []):
        found = _checked(node, result.get("object"), hub)
        delisted = result.get("delisted") or {}
        answer.results.append(Found(found.item, hub, found.verified, found.problem,
                                    bool(result.get("endorsed_expert")), tuple(delisted.get("why", ()))))
    return answer


def _checked(node: Node, raw: Any, hub: str) -> Found:
    try:
        obj = verify(raw, node.now())
        return Found(Item(obj.id, obj.type, obj.author, obj.created_at, obj.category, dict(obj.body)), hub, True)
    except ProtocolError as error:
        raw = raw if isinstance(raw, dict) else {}
        body = raw.get("body") if isinstance(raw.get("body"), dict) else {}
        fake = Item(str(raw.get("id", "?")), str(raw.get("type", "?")), str(raw.get("author", "?")),
                    int(raw.get("created_at", 0)) if isinstance(raw.get("created_at"), int) else 0,
                    body.get("category"), body)
        return Found(fake, hub, False, f"{error.detail} [{error.code}]")


async def fetch(node: Node, session: aiohttp.ClientSession, object_id: str) -> Found | None:
    """One object by id: from this node if held, else from the first hub that has it; verified."""
    stored = await node.get(object_id)
    if stored is not None and not stored.hidden:
        return Found(_item(stored), "this node", True)
    for remote in list(node.remotes.values()):
        try:
            async with session.get(f"{remote.url}/ki/v1/objects/{object_id}", timeout=SEARCH_TIMEOUT) as response:
                if response.status != 200:
                    continue
                raw = json.loads(await response.read())
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
            continue
        found = _checked(node, raw, remote.url)
        if found.item.id == object_id:
            return found
    return None


async def author_profile(node: Node, session: aiohttp.ClientSession, did: str) -> Item | None:
    """The author's current profile: held here, else the newest any hub serves (verified)."""
    held = await profile(node, did)
    if held is not None:
        return held
    for answer in await search_hubs(node, session, {"type": "profile", "author": did, "limit": "1"}):
        for found in answer.results:
            if found.verified and found.item.author == did:
                return found.item
    return None


async def endorsements(node: Node, session: aiohttp.ClientSession, did: str) -> list[Found]:
    """Endorsements naming `did` that this node or its hubs hold, verified (empty if none are served)."""
    held = [i for i in await recent(node, "endorsement", 500) if i.body.get("subject") == did]
    found = {i.id: Found(i, "this node", True) for i in held}
    for remote in list(node.remotes.values()):
        # The hub's log of endorsements (every hub serves it), each verified here.
        try:
            async with session.get(f"{remote.url}/ki/v1/objects", params={"type": "endorsement", "limit": "500"},
                                   timeout=SEARCH_TIMEOUT) as response:
                page = json.loads(await response.read()) if response.status == 200 else {}
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
            continue
        for raw in page.get("objects", []) if isinstance(page, dict) else []:
            checked = _checked(node, raw, remote.url)
            if checked.verified and checked.item.body.get("subject") == did:
                found.setdefault(checked.item.id, checked)
    return sorted(found.values(), key=lambda f: (f.item.created_at, f.item.id))


async def queue_depth(node: Node) -> dict[str, int]:
    """Outbox entries waiting per destination (a hub's forwarding backlog)."""
    from storage import outbox
    return await node.store.read(outbox.depth)


async def endorsements_by(node: Node, did: str | None = None) -> list[Item]:
    """Endorsements authored by `did` (default: this node's owner), current ones, newest first."""
    return await mine(node, "endorsement", 500) if did is None else [
        _item(r) for r in await node.store.read(listing.recent, type="endorsement", author=did, limit=500)]


async def hub_json(node: Node, session: aiohttp.ClientSession, path: str) -> tuple[str, dict] | None:
    """(hub URL, JSON body) of the first hub answering 200 to GET `path` (e.g. a project's view there)."""
    for remote in list(node.remotes.values()):
        try:
            async with session.get(remote.url + path, timeout=SEARCH_TIMEOUT) as response:
                if response.status == 200:
                    body = json.loads(await response.read())
                    if isinstance(body, dict):
                        return remote.url, body
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
            continue
    return None


async def learn_profiles(node: Node, fetcher: Any, dids: list[str]) -> None:
    """Store the current profiles of `dids` (their node URLs) from the hubs, before publishing to them.

    Routing reads a party's node URL from a profile held here when the outbox
    expands an object; fetching it first means the object is routed to that
    node rather than reported unreachable. `fetcher` is a kinode.work HubFetcher.
    """
    missing = [did for did in dict.fromkeys(dids) if did and await profile(node, did) is None]
    if missing and fetcher is not None:
        found = await fetcher.profiles(missing)
        if found:
            await node.store.ingest(found, node.now())
