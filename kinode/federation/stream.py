"""GET /ki/v1/stream: server-sent events of newly stored objects.

One `Broadcast` task follows the log for every subscriber: it reads each new
object once, encodes its event once, and appends the bytes to the bounded
queue of each subscriber whose category matches, so ingest costs the same
with two hundred subscribers as with none (spec 9.7). The node's `changed`
event wakes it; a tick every second covers objects written by another
process (a CLI publish).

A subscriber that resumes (Last-Event-ID) first pages through the log
itself, then follows its queue. A live subscriber that falls more than
`stream_queue_events` behind is dropped: its connection is aborted and it
resumes from the last id it received. One client address holds at most
`max_streams_per_address` streams. At shutdown every stream ends at once
rather than holding the exit up until aiohttp's shutdown timeout.
"""

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict, deque

from aiohttp import web

from kinode.federation.appkeys import NODE
from kinode.federation.problem import problem
from kinode.federation.query import QueryError, cursor
from kinode.node import Node
from storage import listing

KEEP_ALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
PAGE = 200
log = logging.getLogger("kinode.stream")
routes = web.RouteTableDef()


class Subscriber:
    def __init__(self, category: str | None, address: str, limit: int, transport):
        self.category, self.address, self.limit = category, address, limit
        self.queue: deque[tuple[int, bytes]] = deque()
        self.wake = asyncio.Event()
        self.live = False  # caught up with the log: follows the queue only
        self.overflowed = False
        self.dropped = False
        self._transport = transport

    def offer(self, seq: int, event: bytes) -> None:
        if len(self.queue) >= self.limit:
            if self.live:  # too slow: drop it; it resumes from the last id it got
                self.dropped = True
                if self._transport is not None:
                    self._transport.abort()
            else:  # still paging through the log, which has these too
                self.queue.clear()
                self.overflowed = True
            self.wake.set()
            return
        self.queue.append((seq, event))
        self.wake.set()

    def take(self, after: int) -> tuple[int, bytes]:
        """The queued events after `after`, joined, and the new cursor."""
        events = []
        while self.queue:
            seq, event = self.queue.popleft()
            if seq > after:
                events.append(event)
                after = seq
        return after, b"".join(events)


class Broadcast:
    def __init__(self, node: Node):
        self.node = node
        self.closing = asyncio.Event()
        self._by_category: dict[str | None, set[Subscriber]] = defaultdict(set)
        self._per_address: Counter[str] = Counter()
        self._head: int | None = None

    def subscribe(self, category: str | None, address: str, transport) -> Subscriber | None:
        if self._per_address[address] >= self.node.config.max_streams_per_address:
            return None
        subscriber = Subscriber(category, address, self.node.config.stream_queue_events, transport)
        self._by_category[category].add(subscriber)
        self._per_address[address] += 1
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._by_category[subscriber.category].discard(subscriber)
        if not self._by_category[subscriber.category]:
            del self._by_category[subscriber.category]
        self._per_address[subscriber.address] -= 1
        if not self._per_address[subscriber.address]:
            del self._per_address[subscriber.address]

    async def run(self) -> None:
        watcher = self.node.watch()
        try:
            while not self.closing.is_set():
                if not self._by_category:
                    # Nobody listens: keep only where the log ends. A subscriber's own
                    # first read of the log comes after this one, so no object falls between.
                    self._head = await self.node.store.read(listing.last_seq)
                elif await self._fan_out():
                    continue
                await watcher.wait(POLL_SECONDS)
        finally:
            watcher.close()

    async def _fan_out(self) -> bool:
        """Hand the next page of the log to the subscribers; True if there was one."""
        store = self.node.store
        if self._head is None:
            self._head = await store.read(listing.last_seq)
        stored = await store.read(listing.list_objects, self._head, limit=PAGE,
                                  include_hidden=True, include_superseded=True)
        everyone = self._by_category.get(None, ())
        for obj in stored:
            event = b"id: %d\nevent: object\ndata: %s\n\n" % (obj.seq, obj.wire)
            for subscriber in (*everyone, *self._by_category.get(obj.category, ())):
                subscriber.offer(obj.seq, event)
        if stored:
            self._head = stored[-1].seq
        return len(stored) == PAGE


BROADCAST = web.AppKey("stream_broadcast", Broadcast)


def setup(app: web.Application) -> None:
    app[BROADCAST] = Broadcast(app[NODE])
    app.add_routes(routes)
    app.cleanup_ctx.append(_broadcasting)
    app.on_shutdown.append(_end_streams)


async def _broadcasting(app: web.Application):
    task = asyncio.create_task(app[BROADCAST].run(), name="stream-broadcast")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _end_streams(app: web.Application) -> None:
    broadcast = app[BROADCAST]
    broadcast.closing.set()
    for subscribers in list(broadcast._by_category.values()):
        for subscriber in subscribers:
            subscriber.wake.set()


@routes.get("/ki/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    node, broadcast = request.app[NODE], request.app[BROADCAST]
    category = request.query.get("category")
    last_event = request.headers.get("Last-Event-ID", request.query.get("after"))
    try:
        after = None if last_event is None else cursor(last_event, "Last-Event-ID")
    except QueryError as error:
        return problem("invalid_query", f"{error.detail}: it must be an event id this stream sent")
    if after is None:
        after = await node.store.read(listing.last_seq)
    subscriber = broadcast.subscribe(category, request.remote or "unknown", request.transport)
    if subscriber is None:
        return problem("rate_limited", f"{request.remote} already holds "
                       f"{node.config.max_streams_per_address} streams", headers={"Retry-After": "5"})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    try:
        await response.prepare(request)
        await _follow(request, response, broadcast, subscriber, after)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        broadcast.unsubscribe(subscriber)
    return response


async def _follow(request: web.Request, response: web.StreamResponse, broadcast: Broadcast,
                  subscriber: Subscriber, after: int) -> None:
    store, category = request.app[NODE].store, subscriber.category
    clock = asyncio.get_running_loop().time
    keep_alive_at = clock() + KEEP_ALIVE_SECONDS
    while not broadcast.closing.is_set() and not subscriber.dropped:
        if not subscriber.live:
            subscriber.overflowed = False
            stored = await store.read(listing.list_objects, after, category=category, limit=PAGE,
                                      include_hidden=True, include_superseded=True)
            if stored:
                await response.write(b"".join(b"id: %d\nevent: object\ndata: %s\n\n" % (o.seq, o.wire)
                                              for o in stored))
                after = stored[-1].seq
            subscriber.live = len(stored) < PAGE and not subscriber.overflowed
            continue
        after, events = subscriber.take(after)
        if events:
            await response.write(events)
            continue
        subscriber.wake.clear()
        try:
            async with asyncio.timeout(max(0.0, keep_alive_at - clock())):
                await subscriber.wake.wait()
        except TimeoutError:
            await response.write(b": keep-alive\n\n")
            keep_alive_at = clock() + KEEP_ALIVE_SECONDS
    if subscriber.dropped:
        log.info("dropped a stream subscriber at %s that fell %d events behind",
                 subscriber.address, subscriber.limit)
