"""Token-bucket rate limiting keyed by a string (an author's DID, a client address).

Each key has a bucket of at most `burst` tokens refilled at `rate` tokens per
second; a request spends `cost` tokens or is told how long to wait. The
clock is a parameter (monotonic seconds), so tests drive it by hand.

Memory is bounded two ways. A bucket idle long enough to have refilled
completely is indistinguishable from a new one, so it is dropped for free
(buckets are kept in last-use order, so those sit at the front). Beyond
that, at most `max_keys` buckets are kept and the least recently used one
is dropped: its key then starts again with a full burst, the price of a
fixed memory ceiling under a flood of distinct keys.
"""

import math
from collections import OrderedDict
from dataclasses import dataclass

# Float refills land a hair off whole tokens (0.1 * 3 != 0.3). Admitting a
# request _EPSILON short, and rounding waits with a tenth of that slack, keeps
# "retry after N seconds" exact: allowed at N, not at N - 1.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Decision:
    """`allowed`, or else wait `retry_after` whole seconds (0 when allowed)."""

    allowed: bool
    retry_after: int = 0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Per-key token buckets: `rate` tokens a second, up to `burst` at once."""

    def __init__(self, rate: float, burst: float, *, max_keys: int = 10_000):
        if rate <= 0 or burst <= 0 or max_keys < 1:
            raise ValueError("rate and burst must be positive and max_keys at least 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def refill_seconds(self) -> float:
        """How long an emptied bucket takes to fill again: the idle time after which it is dropped."""
        return self.burst / self.rate

    def check(self, key: str, now: float, cost: float = 1) -> Decision:
        """Spend `cost` tokens of `key`'s bucket at time `now`, or say when to retry."""
        if not 0 < cost <= self.burst:
            raise ValueError(f"cost {cost} must be positive and at most the burst {self.burst}")
        self._drop_idle(now)
        bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        elapsed = max(0.0, now - bucket.updated)  # tolerate a clock that steps back
        bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
        bucket.updated = max(bucket.updated, now)
        self._buckets[key] = bucket  # re-inserted last: most recently used
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens + _EPSILON >= cost:
            bucket.tokens = max(0.0, bucket.tokens - cost)
            return Decision(True)
        return Decision(False, max(1, math.ceil((cost - bucket.tokens - _EPSILON / 10) / self.rate)))

    def charge(self, key: str, now: float, cost: float) -> None:
        """Spend `cost` more tokens of `key`'s bucket whatever it holds: work found out after
        it was admitted (a signature that failed). The bucket may go into debt, down to
        -burst, and admits nothing until it has refilled past zero."""
        self._drop_idle(now)
        bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + max(0.0, now - bucket.updated) * self.rate)
        bucket.updated = max(bucket.updated, now)
        bucket.tokens = max(-self.burst, bucket.tokens - cost)
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        """How many buckets are held."""
        return len(self._buckets)

    def _drop_idle(self, now: float) -> None:
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if oldest.tokens + (now - oldest.updated) * self.rate < self.burst:
                break  # not full again yet (a bucket in debt takes longer than refill_seconds)
            del self._buckets[key]
