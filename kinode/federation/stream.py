"""GET /ki/v1/stream: server-sent events of newly stored objects.

One `Broadcast` task follows the log for every subscriber: it reads each new
object once and encodes its event once, off the ingest path, so ingest does
the same work with two hundred subscribers as with none (spec 9.7). The node's `changed`
event wakes it; a tick every second covers objects written by another
process (a CLI publish).

A subscriber that resumes (Last-Event-ID) first pages through the log
itself until it reaches the broadcast; from then on the broadcast writes
each page's events to it as one chunk, built once for every subscriber of
that category. A subscriber that leaves more than `stream_buffer_bytes`
unread is dropped: its connection is aborted and it resumes from the last
id it received. One client address holds at most
`max_streams_per_address` streams. At shutdown every stream ends at once
rather than holding the exit up until aiohttp's shutdown timeout.
"""

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict

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
    def __init__(self, category: str | None, address: str, max_buffer: int, transport):
        self.category, self.address, self.max_buffer = category, address, max_buffer
        self.transport = transport
        self.after = 0  # the last seq it was sent
        self.live = False  # caught up: the broadcast writes to it directly
        self.dropped = False
        self.wake = asyncio.Event()
        self.last_write = 0.0
        self.chunked = True

    def send(self, payload: bytes, framed: bytes, last_seq: int, now: float) -> None:
        """Write events (as one chunk on a chunked body), or drop the subscriber if it has not
        read what it was sent."""
        if self.transport is None or self.transport.is_closing():
            self.dropped = True
        elif self.transport.get_write_buffer_size() > self.max_buffer:
            self.dropped = True  # too slow: it resumes from the last id it received
            self.transport.abort()
        else:
            self.transport.write(framed if self.chunked else payload)  # HTTP/1.0: no chunks
            self.after, self.last_write = last_seq, now
            return
        self.wake.set()


def chunk(payload: bytes) -> bytes:
    """`payload` as one HTTP/1.1 chunk: the stream's body is chunked, and live events bypass
    aiohttp's writer so that one framed copy serves every subscriber."""
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def event(obj) -> bytes:
    return b"id: %d\nevent: object\ndata: %s\n\n" % (obj.seq, obj.wire)


class Broadcast:
    def __init__(self, node: Node):
        self.node = node
        self.closing = asyncio.Event()
        self._by_category: dict[str | None, set[Subscriber]] = defaultdict(set)
        self._per_address: Counter[str] = Counter()
        self.head = 0  # the last seq handed to live subscribers

    def subscribe(self, category: str | None, address: str, transport) -> Subscriber | None:
        if self._per_address[address] >= self.node.config.max_streams_per_address:
            return None
        subscriber = Subscriber(category, address, self.node.config.stream_buffer_bytes, transport)
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
        self.head = await self.node.store.read(listing.last_seq)
        try:
            while not self.closing.is_set():
                if await self._fan_out():
                    continue
                await watcher.wait(POLL_SECONDS)
        finally:
            watcher.close()

    async def _fan_out(self) -> bool:
        """Hand the next page of the log to the live subscribers; True if the page was full."""
        if not self._by_category:  # nobody listens: keep only where the log ends, without a read
            self.head = max(self.head, self.node.store.committed_seq)  # (a read per change cost a thread hop)
            return False
        stored = await self.node.store.read(listing.list_objects, self.head, limit=PAGE,
                                            include_hidden=True, include_superseded=True)
        if not stored:
            return False
        now = asyncio.get_running_loop().time()
        events = [(obj.seq, obj.category, event(obj)) for obj in stored]
        for category, subscribers in list(self._by_category.items()):
            mine = [(seq, data) for seq, cat, data in events if category is None or cat == category]
            live = [s for s in subscribers if s.live]
            if not mine or not live:
                continue
            payload = b"".join(data for _, data in mine)
            framed = chunk(payload)  # encoded and framed once for all of them
            last = mine[-1][0]
            for subscriber in live:
                if subscriber.after < mine[0][0]:
                    subscriber.send(payload, framed, last, now)
                elif subscriber.after < last:  # it read a little ahead from the log as it went live
                    rest = b"".join(d for seq, d in mine if seq > subscriber.after)
                    subscriber.send(rest, chunk(rest), last, now)
        self.head = stored[-1].seq
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
    """Page through the log from `after` until caught up with the broadcast, then stay live."""
    store, category = request.app[NODE].store, subscriber.category
    clock = asyncio.get_running_loop().time
    while not broadcast.closing.is_set():
        target = broadcast.head  # the log holds at least this much; the broadcast sends what follows
        if after >= target:
            break
        stored = await store.read(listing.list_objects, after, category=category, limit=PAGE,
                                  include_hidden=True, include_superseded=True)
        if stored:
            await response.write(b"".join(event(o) for o in stored))
            after = stored[-1].seq
        if len(stored) < PAGE:  # nothing more of this category up to the end of the log
            after = max(after, target)
    subscriber.chunked = request.version >= (1, 1)  # aiohttp chunks an HTTP/1.1 body of unknown length
    subscriber.after, subscriber.live, subscriber.last_write = after, True, clock()
    while not broadcast.closing.is_set() and not subscriber.dropped:
        subscriber.wake.clear()
        quiet_until = subscriber.last_write + KEEP_ALIVE_SECONDS
        try:
            async with asyncio.timeout(max(0.0, quiet_until - clock())):
                await subscriber.wake.wait()
        except TimeoutError:
            if clock() >= subscriber.last_write + KEEP_ALIVE_SECONDS:
                await response.write(b": keep-alive\n\n")
                subscriber.last_write = clock()
    if subscriber.dropped:
        log.info("dropped a stream subscriber at %s that left more than %d bytes unread",
                 subscriber.address, subscriber.max_buffer)
