"""The in-memory replay cache for request signatures.

Remembers each accepted (keyid, nonce) until its signature expires, so the
same signed request is refused if it arrives again within its window. The
cache is bounded: did:keys cost nothing to mint, so anyone can fill it. When
it is full the entry with the oldest `created` is evicted and the cache
raises its *horizon* to that `created`; from then on it refuses (as
stale_signature) any unseen signature created at or before the horizon,
because it can no longer tell whether that one was seen. So eviction costs
old-but-valid requests a retry with a fresh signature, and never lets a
replay through. Requests are signed just before they are sent, so their
`created` is newer than anything evicted unless the cache turns over in
under a second.
"""

import heapq

from protocol.errors import ReplayedSignature, StaleSignature
from protocol.httpsig import MAX_LIFETIME


class ReplayCache:
    """Bounded (keyid, nonce) memory; implements `protocol.httpsig.ReplayCache`."""

    def __init__(self, max_entries: int = 100_000):
        if max_entries < 1:
            raise ValueError("a replay cache holds at least one entry")
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[int, int]] = {}  # -> (created, expires)
        self._by_created: list[tuple[int, str, str]] = []  # heap; may hold superseded items
        self.horizon = -1

    @property
    def size(self) -> int:
        # Not __len__: an empty cache must not be falsy (`cache or ReplayCache()`).
        return len(self._entries)

    def remember(self, keyid: str, nonce: str, created: int, expires: int, now: int) -> None:
        """Record a verified signature's nonce, or refuse it as a replay."""
        self._forget_expired(now)
        key = (keyid, nonce)
        seen = self._entries.get(key)
        if seen is not None and seen[1] >= now:
            raise ReplayedSignature(f"nonce {nonce!r} from {keyid} was already used")
        if created <= self.horizon:
            raise StaleSignature(
                "the replay cache is under load and cannot vouch for a signature this old; sign again"
            )
        while len(self._entries) >= self.max_entries:
            self._evict_oldest(now)
        self._entries[key] = (created, expires)
        heapq.heappush(self._by_created, (created, keyid, nonce))

    def _forget_expired(self, now: int) -> None:
        # Every signature expires within MAX_LIFETIME of its creation.
        while self._by_created and self._by_created[0][0] + MAX_LIFETIME < now:
            self._pop(now)

    def _evict_oldest(self, now: int) -> None:
        created, live = self._pop(now)
        if live:
            self.horizon = max(self.horizon, created)

    def _pop(self, now: int) -> tuple[int, bool]:
        created, keyid, nonce = heapq.heappop(self._by_created)
        entry = self._entries.get((keyid, nonce))
        if entry is None or entry[0] != created:
            return created, False  # superseded by a later use of the same nonce
        del self._entries[(keyid, nonce)]
        return created, entry[1] >= now
