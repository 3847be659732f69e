"""Delivering the outbox: push each queued object to its destination's inbox.

Entries for the pseudo-destination `@gossip` are first expanded to one entry
per remote that serves the object (in one transaction with the removal of
the `@gossip` entry), then every destination gets its due entries in batches.
An answer of accepted or duplicate ends an entry; a rejected object is
quarantined so it never blocks the others; transport failures, 408, 429 and
5xx retry with backoff and jitter (Retry-After as a floor), guarded by a
per-host circuit breaker.
"""

import asyncio
import json
import logging
import random
from collections import defaultdict

import aiohttp

from kinode.federation.httpsig import sign_request
from kinode.federation.lookup import fetch_profiles
from kinode.hub import receipts
from kinode.work import routing
from kinode.node import GOSSIP, Node
from kinode.federation.sessions import Sessions
from kinode.retry import classify, next_attempt, parse_retry_after
from storage import deliveries, outbox
from storage.deliveries import UNREACHABLE
from storage.derived import signed_from_wire

log = logging.getLogger("kinode.federation.gossip")
BATCH = 200
POLL_SECONDS = 1.0
REROUTE_SECONDS = 30.0  # how often destinations that had no address are looked up again
ASK_PER_ROUND = 20  # of their dids, at most this many profiles asked of the hubs in one round
COALESCE_SECONDS = 0.02


class Gossip:
    def __init__(self, node: Node, sessions: Sessions, *, rng: random.Random | None = None):
        self.node = node
        self.sessions = sessions
        self.rng = rng or random.Random()
        self.reroute_every = REROUTE_SECONDS
        self._asked: dict[str, tuple[int, float]] = {}  # did -> (profile requests so far, when to ask again)

    async def run(self) -> None:
        """Deliver forever: after every change, and at least every POLL_SECONDS; and, beside it, route
        again every `reroute_every` seconds what had no address (its lookups never hold up a delivery)."""
        watcher = self.node.watch()
        rerouting = asyncio.get_running_loop().create_task(self._reroute_forever(), name="reroute")
        try:
            while True:
                try:
                    busy = await self.deliver_due()
                except Exception:  # the loop must survive anything one round meets
                    log.exception("gossip round failed")
                    busy = False
                if not busy and await watcher.wait(POLL_SECONDS):
                    # Woken by a change: let the rest of a burst land first, so one
                    # round (one outbox query, one POST per peer) carries many objects.
                    await asyncio.sleep(COALESCE_SECONDS)
        finally:
            watcher.close()
            rerouting.cancel()

    async def _reroute_forever(self) -> None:
        while True:
            try:
                await self.reroute_unreachable()
            except Exception:  # the loop must survive anything one round meets
                log.exception("re-routing failed")
            await asyncio.sleep(self.reroute_every)

    async def deliver_due(self) -> bool:
        """One round; True if a full page was due (so go again at once)."""
        node = self.node
        entries = await node.store.read(outbox.due, node.now(), 1000)
        fanout = [e for e in entries if e.destination == GOSSIP]
        if fanout:
            await node.store.write(_expand, await self._plan(fanout), node.now(), bool(node.remotes))
            entries = await node.store.read(outbox.due, node.now(), 1000)
        by_destination = defaultdict(list)
        for entry in entries:
            if entry.destination != GOSSIP:
                by_destination[entry.destination].append(entry)
        await asyncio.gather(*(self._deliver(dest, batch[i:i + BATCH])
                               for dest, batch in by_destination.items()
                               for i in range(0, len(batch), BATCH)))
        return len(entries) >= 1000 and bool(node.remotes)  # unassigned entries stay due: no spinning on them

    async def reroute_unreachable(self) -> int:
        """Route again the destinations that had no address (spec 9.13 step 2): a profile, hub
        announcement or peer may be held since, or one of the hubs may have the profile now.
        Returns how many destinations got an address (their objects are queued for them)."""
        node = self.node
        waiting = await node.store.read(deliveries.unreachable)
        dids = sorted({did for _, did, _ in waiting})
        if not dids:
            self._asked.clear()
            return 0
        known = await node.store.read(_addresses, dids)
        now = node.clock()
        ask = [did for did in dids if did not in known and self._asked.get(did, (0, now))[1] <= now][:ASK_PER_ROUND]
        if ask and node.remotes:
            for did in ask:  # each did asked again after 30 s, 60 s, ... at most hourly, while no hub has it
                tries = self._asked.get(did, (0, 0))[0] + 1
                self._asked[did] = (tries, now + min(REROUTE_SECONDS * 2 ** (tries - 1), 3600))
            if await fetch_profiles(node, self.sessions, ask):
                known = await node.store.read(_addresses, dids)
        still = set(dids) - known.keys()  # backoff kept only for those still waiting
        self._asked = {did: asked for did, asked in self._asked.items() if did in still}
        routed = [(object_id, did, known[did], name) for object_id, did, name in waiting if did in known]
        if routed:
            await node.store.write(_reroute, routed, node.now())
            node.changes.notify()
            log.info("%d destinations that had no address are routed now", len(routed))
        return len(routed)

    async def _plan(self, fanout: list) -> list[tuple[int, routing.Route]]:
        """Route each object (kinode.work.routing); first fetch the profiles of those it
        concerns that have no node URL here yet, from the hubs, so they can be reached."""
        node = self.node
        hubs = [routing.Hub(r.url, r.categories) for r in node.remotes.values()]
        objs = [(entry.entry_id, signed_from_wire(entry.wire)) for entry in fanout]
        plans = await node.store.read(_routes, objs, hubs, node.did)
        missing = {did for _, route in plans for did in route.unreachable_dids}
        if missing and await fetch_profiles(node, self.sessions, sorted(missing)):
            plans = await node.store.read(_routes, objs, hubs, node.did)
        return plans

    async def _deliver(self, destination: str, entries: list) -> None:
        node = self.node
        breaker = node.breakers[destination]
        if not breaker.allow(node.clock()):
            return
        remote = node.remotes.get(destination)
        if node.config.is_hub and remote is not None and "hub" in remote.roles:
            entries = await self._offer(destination, entries)
            if not entries:
                return
        body = b'{"objects":[' + b",".join(e.wire for e in entries) + b"]}"
        request = sign_request(node.identity, "POST", destination + "/ki/v1/inbox",
                               {"Content-Type": "application/json"}, body, now=node.now())
        status, answer, retry_after, error = None, None, None, None
        try:
            async with self.sessions.for_url(destination).post(request.url, data=request.body, headers=request.headers,
                                         timeout=aiohttp.ClientTimeout(total=30)) as response:
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"), node.clock())
                text = await response.read()
                answer = json.loads(text) if status == 200 else _problem_code(text)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
            error = exc
        outcome = classify(status, error) if error is None or status is None else "retry"
        if outcome == "delivered" and not _results_match(answer, entries):
            outcome, answer = "give_up", f"answer of {destination} does not list one result per object"
        if outcome == "retry":
            breaker.record_failure(node.clock())
        else:
            breaker.record_success()
        why = str(error) if error is not None else f"HTTP {status}: {answer}"
        await node.store.write(_settle, entries, outcome, answer, why, node.now(), self.rng, retry_after)
        if outcome != "delivered":
            log.info("delivery to %s: %s (%d objects, %s)", destination, outcome, len(entries), why)


    async def _offer(self, destination: str, entries: list) -> list:
        """Offer the ids first (hub to hub): the peer may have them from another peer already.

        Entries it holds are done without sending a byte of payload; the rest
        are returned to be pushed. Any failure here just means: push them all.
        """
        node = self.node
        body = json.dumps({"ids": [e.object_id for e in entries]}).encode()
        request = sign_request(node.identity, "POST", destination + "/ki/v1/have",
                               {"Content-Type": "application/json"}, body, now=node.now())
        try:
            async with self.sessions.for_url(destination).post(request.url, data=request.body, headers=request.headers,
                                                               timeout=aiohttp.ClientTimeout(total=30)) as response:
                if response.status != 200:
                    return entries
                missing = set(json.loads(await response.read())["missing"])
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError, KeyError, TypeError):
            return entries
        held = [e for e in entries if e.object_id not in missing]
        if held:
            await node.store.write(_delivered, held)
        return [e for e in entries if e.object_id in missing]


def _delivered(db, entries: list) -> None:
    for entry in entries:
        outbox.mark_delivered(db, entry.entry_id)


def _results_match(answer: object, entries: list) -> bool:
    results = answer.get("results") if isinstance(answer, dict) else None
    return isinstance(results, list) and len(results) == len(entries)


def _problem_code(text: bytes) -> str:
    try:
        problem = json.loads(text)
        return f"{problem['code']}: {problem.get('detail', '')}"
    except (ValueError, KeyError, TypeError):
        return text[:200].decode("utf-8", "replace")


def _addresses(db, dids: list[str]) -> dict[str, str]:
    found = {did: routing.node_url(db, did) for did in dids}
    return {did: url for did, url in found.items() if url is not None}


def _reroute(db, routed: list[tuple[str, str, str, str]], now: int) -> None:
    for object_id, _, url, _ in routed:
        outbox.enqueue(db, object_id, [url], now)
    deliveries.moved(db, [(object_id, UNREACHABLE + did, url, f"{name.split()[0]} {routing.short(did)}")
                          for object_id, did, url, name in routed], now)


def _routes(db, objs: list, hubs: list, me: str) -> list[tuple[int, routing.Route]]:
    return [(entry_id, routing.plan(db, obj, hubs, me)) for entry_id, obj in objs]


def _expand(db, plan: list[tuple[int, routing.Route]], now: int, have_hubs: bool) -> None:
    for entry_id, route in plan:
        targets = [url for url, _ in route.reachable]
        if not targets and not have_hubs:
            continue  # with no hub configured and nobody else to reach, it waits for a hub, not for nobody
        outbox.enqueue(db, route.object_id, targets, now)
        deliveries.plan(db, route.object_id, list(route.destinations), now)
        outbox.mark_delivered(db, entry_id)


def _settle(db, entries: list, outcome: str, answer: object, why: str, now: int,
            rng: random.Random, retry_after: float | None) -> None:
    """Record one delivery attempt's outcome for every entry it carried."""
    if outcome == "delivered":
        for entry, result in zip(entries, answer["results"]):
            status = result.get("status") if isinstance(result, dict) else None
            code = result.get("code") if isinstance(result, dict) else None
            detail = result.get("detail") if isinstance(result, dict) else str(result)
            if status in ("accepted", "duplicate"):
                receipts.keep(db, result, entry.object_id, entry.destination)  # spec section 14.5
                outbox.mark_delivered(db, entry.entry_id)
                deliveries.settle(db, entry.object_id, entry.destination, "delivered", now)
            elif status == "pending":
                # Held there, not judged: its context has not reached that node yet. Not delivered
                # until it is, so retry with backoff (the destination may evict pending objects).
                when = next_attempt(entry.attempts + 1, now, rng=rng)
                outbox.mark_failed(db, entry.entry_id, int(when + 0.999), f"pending: {code}: {detail}")
                deliveries.settle(db, entry.object_id, entry.destination, "pending", now, code, detail)
            else:
                outbox.quarantine(db, entry.entry_id, now, f"rejected: {code}: {detail}")
                deliveries.settle(db, entry.object_id, entry.destination, "rejected", now, code, detail)
        return
    for entry in entries:
        if outcome == "retry":
            when = next_attempt(entry.attempts + 1, now, rng=rng, retry_after=retry_after)
            outbox.mark_failed(db, entry.entry_id, int(when + 0.999), why)
            deliveries.settle(db, entry.object_id, entry.destination, "queued", now, "retrying", why)
        else:
            outbox.quarantine(db, entry.entry_id, now, why)
            deliveries.settle(db, entry.object_id, entry.destination, "rejected", now, "refused", why)
