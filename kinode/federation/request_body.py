"""Reading request bodies within a time limit and a memory budget shared by all requests.

Every request body the node buffers (inbox batches, lazy-gossip offers, sync
messages) first reserves its size from one `BodyBudget`: the declared
Content-Length, or the body limit for a chunked body, which may be any size
up to it. A request that cannot reserve within `wait` seconds is answered
503 with Retry-After, so a hundred clients holding 4 MiB bodies cost the node
at most the budget, not a hundred bodies (README, "Resource bounds"). The
reservation is held until the request's handler returns, because parsing
and verifying a body use memory in proportion to it.

The whole body must arrive within `body_timeout` seconds; a client sending
a byte a second is answered 408 and its connection closed.
"""

import asyncio
from collections import deque

from aiohttp import web

from kinode.federation import memory
from kinode.federation.problem import problem

RESERVATION = web.RequestKey("body_reservation", int)


class BodyBudget:
    """`capacity` bytes, reserved first come first served."""

    def __init__(self, capacity: int, wait: float):
        self.capacity = capacity
        self.wait = wait
        self.reserved = 0
        self.peak = 0
        self._waiters: deque[tuple[int, asyncio.Future]] = deque()

    async def reserve(self, size: int) -> bool:
        """Reserve `size` bytes, waiting up to `wait` seconds; False if they did not come free."""
        size = min(size, self.capacity)
        if not self._waiters and self.reserved + size <= self.capacity:
            self._take(size)
            return True
        turn = asyncio.get_running_loop().create_future()
        entry = (size, turn)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(self.wait):
                await turn
        except TimeoutError:
            pass
        except asyncio.CancelledError:  # the client went away while waiting
            self._give_up(entry)
            raise
        if turn.done() and not turn.cancelled():
            return True
        self._give_up(entry)
        return False

    def _give_up(self, entry: tuple[int, asyncio.Future]) -> None:
        size, turn = entry
        if turn.done() and not turn.cancelled():
            self.release(size)  # granted in the same instant
        else:
            if entry in self._waiters:  # _serve drops waiters that were cancelled already
                self._waiters.remove(entry)
            self._serve()  # it may have blocked smaller requests behind it

    def release(self, size: int) -> None:
        self.reserved -= min(size, self.capacity)
        self._serve()

    def _take(self, size: int) -> None:
        self.reserved += size
        self.peak = max(self.peak, self.reserved)

    def _serve(self) -> None:
        while self._waiters and (self._waiters[0][1].done() or
                                 self.reserved + self._waiters[0][0] <= self.capacity):
            size, turn = self._waiters.popleft()
            if not turn.done():  # a cancelled waiter is already on its way out
                self._take(size)
                turn.set_result(True)


async def read_body(request: web.Request, budget: BodyBudget, max_bytes: int,
                    timeout: float) -> bytes | web.Response:
    """The whole body, or the refusal: 503 (no budget), 413 (too large) or 408 (too slow).

    The reservation is recorded on the request; `release_body` gives it back.
    """
    size = request.content_length if request.content_length is not None else max_bytes
    if not await budget.reserve(size):
        return problem("unavailable", "the node is buffering as many request bodies as it can; retry shortly",
                       headers={"Retry-After": "1"})
    request[RESERVATION] = size
    chunks, got = [], 0
    try:
        async with asyncio.timeout(timeout):
            while chunk := await request.content.readany():
                got += len(chunk)
                if got > max_bytes:
                    return problem("too_large", f"the body exceeds the limit of {max_bytes} bytes")
                chunks.append(chunk)
    except TimeoutError:
        refusal = problem("request_timeout", f"the body did not arrive within {timeout:g} seconds")
        # Sent here and the connection closed: aiohttp would otherwise keep reading
        # the rest of the body for its lingering time, at this client's pace.
        await refusal.prepare(request)
        await refusal.write_eof()
        request.protocol.force_close()
        return refusal
    return b"".join(chunks)


LARGE_BODY = 1024 * 1024


def release_body(request: web.Request, budget: BodyBudget) -> None:
    size = request.get(RESERVATION)
    if size is not None:
        del request[RESERVATION]
        budget.release(size)
        if size >= LARGE_BODY and budget.reserved == 0:
            memory.give_back()
