"""The node's service layer: what a participant or hub does, independent of HTTP.

`Node` ties an identity, a store and a config together. HTTP handlers, the CLI
and (later) the web UI call these methods; none of them touch storage
directly for writes.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from kinode import __version__
from kinode.changes import Changes, Watcher
from kinode.config import NodeConfig
from kinode.policy import REFERENCE_KEYS, admit
from kinode.retry import CircuitBreakers
from kinode.verifier import Verifier
from kinode.write_groups import WriteGroups
from protocol.envelope import MAX_OBJECT_BYTES, SignedObject, sign
from protocol.errors import ProtocolError
from protocol.identity import Identity
from protocol.lifecycle.refs import LIFECYCLE_TYPES
from protocol.message import MESSAGE_TYPE, open_object
from storage import deliveries, lineage, listing, mailbox, outbox, peers, pending
from storage.ingest import IngestResult
from storage.objects import store_verified
from storage.store import Store

MAILBOX_TTL = 30 * 24 * 3600  # a hub holds a message this long for a recipient who never fetches it
log = logging.getLogger("kinode.node")
GOSSIP = "@gossip"
"""Outbox pseudo-destination: 'every remote that serves this object', expanded
at delivery time, so a hub learned (or a CLI publish made) later still gets it."""


@dataclass
class Remote:
    """A hub this node publishes to (participant) or federates with (hub)."""

    url: str
    did: str | None = None
    categories: tuple[str, ...] | None = None  # None: not reached yet, so unknown
    roles: tuple[str, ...] = ()
    reachable: bool | None = None  # None: not tried yet; a change is logged once, not every retry

    def serves(self, obj: SignedObject, category: str | None = None) -> bool:
        """Whether this remote takes `obj`, filed under `category` (its inherited one, when known)."""
        if self.categories is None:
            return True
        if obj.type == MESSAGE_TYPE:  # a hub holds messages in its mailbox; hubs do not forward them
            return "hub" in self.roles
        return admit(obj, hub_categories=self.categories, category=category) is None


class Node:
    def __init__(self, config: NodeConfig, identity: Identity, store: Store,
                 clock: Callable[[], float] = time.time, verifier: Verifier | None = None):
        self.config = config
        self.identity = identity
        self.store = store
        self.clock = clock
        self.remotes = {url.rstrip("/"): Remote(url.rstrip("/")) for url in (config.peers if config.is_hub else config.hubs)}
        self.verifier = verifier or Verifier()
        self.breakers = CircuitBreakers(failure_threshold=5, cool_down=30)  # per destination URL
        self.changes = Changes()  # notified whenever objects or outbox entries are added
        self.writes = WriteGroups(self._store)  # concurrent deliveries share writer jobs

    @property
    def did(self) -> str:
        return self.identity.did

    def watch(self) -> Watcher:
        return self.changes.watch()

    def now(self) -> int:
        return int(self.clock())

    def describe(self) -> dict[str, Any]:
        """The body of GET /.well-known/kinode."""
        config = self.config
        description = {
            "did": self.did, "roles": list(config.roles), "protocol": ["ki/1"],
            "software": f"kinode {__version__}", "url": config.url,
            "categories": sorted(config.categories),
            "limits": {"max_body_bytes": config.max_body_bytes, "max_batch": config.max_batch,
                       "max_object_bytes": MAX_OBJECT_BYTES},
        }
        if config.is_hub:
            description["policy"] = {"accepts": (
                "objects whose body.category is one of `categories`; profile, hub, category, "
                "endorsement, key_rotation and retract objects from anyone")}
        else:
            description["policy"] = {"accepts": (
                "objects by this node's owner, and objects that name it or refer to objects it holds")}
        return description

    # --- writing ------------------------------------------------------------

    async def publish(self, type_: str, body: dict[str, Any]) -> tuple[SignedObject, IngestResult]:
        """Sign an object as this node's owner, store it and queue it for gossip."""
        obj = sign(self.identity, type_, body, self.now())
        [result] = await self.store.write(store_verified, [obj], self.now(), (GOSSIP,))
        self.changes.notify()
        return obj, result

    async def receive(self, items: list[Any], source: str | None = None) -> list[IngestResult]:
        """Verify, admit and store objects delivered to this node, in one commit.

        A hub queues each newly accepted object for every remote that serves
        it except `source` (the did that delivered it), in the same commit.
        """
        now = self.now()
        checked = await self.verifier.validate(items, now)
        is_hub = self.config.is_hub
        referenced = await self.store.read(listing.held_ids, _references(checked)) if not is_hub else set()
        # A lifecycle object is filed under its root listing's category (spec section 13).
        categories = await self._categories(checked) if is_hub else {}
        admitted = self._admit_all(checked, referenced, categories)
        routes = self._routes(admitted, source, categories) if is_hub else {}
        results = await self.writes.store((now, source), admitted, routes)
        if any(r.status == "accepted" for r in results):
            self.changes.notify()
        if not is_hub:
            await self._open_messages(admitted, results, now)
        return results

    async def _store(self, key: tuple[int, str | None], admitted: list,
                     routes: dict[str, list[str]]) -> list[IngestResult]:
        """One writer job for deliveries judged at `now` from `source` (see kinode.write_groups)."""
        now, source = key
        is_hub = self.config.is_hub
        # Storage judges lifecycle objects once their context is held (perhaps later in this batch, or
        # in a later one, from pending): it asks the hub's policy again then with the inherited category,
        # and routes such objects with that category.
        in_context = self._in_context if is_hub else None
        route = self._route_from(source) if is_hub else None
        return await self.store.write(_store_routed, admitted, now, routes, MAILBOX_TTL if is_hub else None,
                                      in_context, route)

    async def _open_messages(self, admitted: list, results: list[IngestResult], now: int) -> None:
        """Take in the object sealed in each newly accepted message addressed to this node's owner."""
        accepted = {r.id for r in results if r.status == "accepted"}
        inner = []
        for item in admitted:
            if isinstance(item, SignedObject) and item.type == MESSAGE_TYPE and item.id in accepted:
                try:
                    inner.append(open_object(self.identity, item, now).wire)
                except ProtocolError as error:  # not for us after all, or tampered: the message stays, unread
                    log.info("message %s does not open: %s [%s]", item.id, error.detail, error.code)
        if inner:
            await self.receive(inner)

    async def _categories(self, checked: list) -> dict[str, str | None]:
        """Object id -> the category it is filed under; only lifecycle objects without one of their
        own need a read (most of a hub's traffic is listings: no thread hop, no read transaction)."""
        objects = [o for o in checked if isinstance(o, SignedObject)]
        inherit = [o for o in objects if lineage.inherits_category(o)]
        categories = {o.id: o.category for o in objects}
        if inherit:
            categories.update(await self.store.read(lineage.inherited_categories, inherit))
        return categories

    def _routes(self, admitted: list, source: str | None, categories: dict[str, str | None]) -> dict[str, list[str]]:
        """Object id -> the remotes a hub forwards it to (messages stay in this hub's mailbox)."""
        remotes = [r for r in self.remotes.values() if source is None or r.did != source]
        return {item.id: [r.url for r in remotes if r.serves(item, categories.get(item.id))]
                for item in admitted if isinstance(item, SignedObject) and item.type != MESSAGE_TYPE}

    def _admit_all(self, checked: list, referenced: set[str], categories: dict[str, str | None]) -> list:
        """Admit each item; on a participant's node an object referring to one admitted in the same
        batch is admitted too (a contract and its sign in one batch, in either order)."""
        admitted = [self._admit(item, referenced, categories) for item in checked]
        if self.config.is_hub:
            return admitted
        while True:
            taken = referenced | {o.id for o in admitted if isinstance(o, SignedObject)}
            again = [self._admit(item, taken, categories) if isinstance(item, SignedObject) else item
                     for item in checked]
            if sum(isinstance(o, SignedObject) for o in again) == sum(isinstance(o, SignedObject) for o in admitted):
                return again
            admitted = again

    def _in_context(self, obj: SignedObject, category: str | None) -> ProtocolError | None:
        return admit(obj, hub_categories=self.config.categories, category=category)

    def _route_from(self, source: str | None) -> Callable[[SignedObject, str | None], list[str]]:
        remotes = [r for r in self.remotes.values() if source is None or r.did != source]
        return lambda obj, category: [r.url for r in remotes if r.serves(obj, category)]

    def _admit(self, item: SignedObject | ProtocolError, referenced: set[str],
               categories: dict[str, str | None]) -> SignedObject | ProtocolError:
        if not isinstance(item, SignedObject):
            return item
        if self.config.is_hub:
            # A lifecycle object's category is judged by storage, after its static rules (spec 13.1 rule 4),
            # so the answer does not depend on whether its context came before it or with it.
            error = None if item.type in LIFECYCLE_TYPES else admit(
                item, hub_categories=self.config.categories, category=categories.get(item.id))
        else:
            error = admit(item, owner=self.did, held=referenced)
        if error is not None:
            error.claimed_id = item.id
            return error
        return item

    # --- reading ------------------------------------------------------------

    async def get(self, object_id: str) -> listing.StoredObject | None:
        return await self.store.read(listing.get, object_id)


def status_report(db) -> dict[str, Any]:
    """What `kinode status` prints: objects by type, outbox depth, quarantine, deliveries, peers' health."""
    waiting = _destinations(db)
    return {
        "objects": dict(db.execute("SELECT type, count(*) FROM objects GROUP BY type ORDER BY type").fetchall()),
        "objects_total": listing.count(db),
        "outbox": outbox.depth(db),
        "quarantined": len(outbox.quarantined(db, 1000)),
        "peers": [{"did": p.did, "url": p.url, "categories": list(p.categories), "roles": list(p.roles),
                   "last_seen": p.last_seen, "failures": max(p.failures, waiting.get(p.url, {}).get("failures", 0)),
                   "last_error": p.last_error or waiting.get(p.url, {}).get("last_error")}
                  for p in peers.list_peers(db)],
        "destinations": list(waiting.values()),
        # Per object: delivered to N of M, and why each other destination has not taken it (routing).
        "deliveries": deliveries.summary(db, limit=50),
        "pending": pending.list_pending(db, 50),  # held here until their context arrives
        "refused_later": pending.refusals(db, 50),  # pending objects refused once their context came
    }


def _destinations(db) -> dict[str, dict[str, Any]]:
    """Per destination: entries waiting, failed attempts of the most-tried one, its last error, next retry.

    Counted from the outbox itself, so a hub that never answered (and so has
    no peers row) still shows its failures.
    """
    rows = db.execute(
        "SELECT destination, count(*), max(attempts), min(enqueued_at), min(next_attempt_at), "
        "(SELECT last_error FROM outbox l WHERE l.destination = q.destination AND l.quarantined_at IS NULL "
        " AND l.last_error IS NOT NULL ORDER BY l.attempts DESC, l.entry_id DESC LIMIT 1) "
        "FROM outbox q WHERE quarantined_at IS NULL GROUP BY destination ORDER BY destination").fetchall()
    return {dest: {"destination": dest, "waiting": count, "failures": attempts, "oldest_enqueued_at": oldest,
                   "next_attempt_at": next_at, "last_error": error}
            for dest, count, attempts, oldest, next_at, error in rows}


def _store_routed(db, admitted: list, now: int, routes: dict[str, list[str]],
                  mailbox_ttl: int | None = None, in_context=None, route=None) -> list[IngestResult]:
    if mailbox_ttl is not None and any(isinstance(o, SignedObject) and o.type == MESSAGE_TYPE for o in admitted):
        return _store_with_mailbox(db, admitted, now, routes, mailbox_ttl, in_context, route)
    # With `route`, storage routes each object it accepts (lifecycle ones by their inherited category,
    # and pending ones when they are accepted later); `routes` is then only what the policy foresaw.
    results = store_verified(db, admitted, now, in_context=in_context, route=route)
    if route is None:
        for result in results:
            if result.status == "accepted" and routes.get(result.id):
                outbox.enqueue(db, result.id, routes[result.id], now)
    return results


def _store_with_mailbox(db, admitted: list, now: int, routes: dict[str, list[str]], ttl: int,
                        in_context=None, route=None) -> list[IngestResult]:
    """A hub holds messages in its mailbox (not in `objects`); the rest is stored as usual, answers in order."""
    is_message = [isinstance(o, SignedObject) and o.type == MESSAGE_TYPE for o in admitted]
    stored = iter(_store_routed(db, [o for o, m in zip(admitted, is_message) if not m], now, routes, None,
                                in_context, route))
    return [mailbox.deposit(db, o, now, ttl) if m else next(stored) for o, m in zip(admitted, is_message)]


def _references(checked: Iterable[object]) -> list[str]:
    ids = []
    for item in checked:
        if isinstance(item, SignedObject):
            for key in REFERENCE_KEYS:
                value = item.body.get(key)
                if isinstance(value, str):
                    ids.append(value)
    return ids


