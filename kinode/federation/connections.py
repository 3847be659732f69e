"""Connection caps: how many connections one client address, and everyone, may hold.

A descriptor is what a slowloris attack spends, so the node decides who keeps
one before the kernel runs out (spec section 9.15). A connection is *busy*
while a request is being handled and *waiting* otherwise: connected with
nothing sent yet, part way through its request line and headers, or idle
between keep-alive requests. aiohttp's keep-alive timer closes a waiting
connection after `idle_timeout`, which is also the time a client has to
send its request line and headers.

When a new connection would pass a cap, the oldest waiting connection of
that address (per-address cap) or of the address holding the most (total
cap) is closed to make room: waiting costs the node a descriptor and
nothing else, so the newcomer is served and a flood of half-open
connections only displaces itself. Only when every counted connection is
busy is the newcomer answered at once with a 503 problem and closed.
"""

import json
import logging
import resource
from collections import OrderedDict, defaultdict

from kinode.federation.quietlog import QuietLog

log = QuietLog(logging.getLogger("kinode.connections"))
DESCRIPTOR_RESERVE = 128  # the store's connections, logs, outgoing gossip: kept out of the cap


def descriptor_cap(wanted: int) -> int:
    """`wanted`, lowered so that the process's descriptor limit is never the cap that bites."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft - DESCRIPTOR_RESERVE))


def refusal(detail: str, retry_after: int = 1) -> bytes:
    """A complete HTTP/1.1 503 problem response that closes the connection."""
    body = json.dumps({"type": "about:blank", "title": "Unavailable", "status": 503,
                       "code": "unavailable", "detail": detail}).encode()
    head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: {retry_after}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


class ConnectionGuard:
    """Counts open connections per address; admits, evicts or refuses each new one."""

    def __init__(self, max_total: int, max_per_address: int):
        self.max_total = max_total
        self.max_per_address = max_per_address
        self._address_of: dict[object, str] = {}
        self._count: dict[str, int] = defaultdict(int)
        # Waiting connections, least recently active first: globally and per address.
        self._waiting: OrderedDict[object, None] = OrderedDict()
        self._waiting_at: dict[str, OrderedDict] = defaultdict(OrderedDict)
        self.refused = 0
        self.evicted = 0

    @property
    def open(self) -> int:
        return len(self._address_of)

    def admit(self, conn, address: str) -> bool:
        """Make room for `conn` from `address` (closing waiting connections), or say no."""
        if self._count[address] >= self.max_per_address and not self._evict(self._waiting_at.get(address)):
            return self._refuse(address, f"{address} holds {self._count[address]} busy connections")
        if self.open >= self.max_total and not self._evict(self._waiting):
            return self._refuse(address, f"all {self.open} connections are busy")
        self._address_of[conn] = address
        self._count[address] += 1
        self._wait(conn, address)
        return True

    def started(self, conn) -> None:
        """`conn` is handling a request: not to be evicted."""
        address = self._address_of.get(conn)
        if address is not None:
            self._unwait(conn, address)

    def finished(self, conn) -> None:
        address = self._address_of.get(conn)
        if address is not None:
            self._wait(conn, address)

    def closed(self, conn) -> None:
        address = self._address_of.pop(conn, None)
        if address is None:
            return
        self._unwait(conn, address)
        self._count[address] -= 1
        if not self._count[address]:
            del self._count[address]

    def _wait(self, conn, address: str) -> None:
        self._waiting[conn] = None
        self._waiting_at[address][conn] = None

    def _unwait(self, conn, address: str) -> None:
        self._waiting.pop(conn, None)
        mine = self._waiting_at.get(address)
        if mine is not None:
            mine.pop(conn, None)
            if not mine:
                del self._waiting_at[address]

    def _evict(self, candidates) -> bool:
        if not candidates:
            return False
        oldest = next(iter(candidates))
        self.closed(oldest)
        oldest.force_close()
        self.evicted += 1
        return True

    def _refuse(self, address: str, why: str) -> bool:
        self.refused += 1
        log.warning("refused", "refused a connection from %s: %s", address, why)
        return False
