"""The outbox's delivery policy, without I/O: when to try again, when to stop.

- `classify(status, error)`: what one delivery attempt's outcome means.
- `next_attempt(attempts, now, rng=...)`: when to try again, exponential
  backoff with full jitter, capped, never before the server's Retry-After.
- `parse_retry_after(value, now)`: the Retry-After header in seconds.
- `CircuitBreaker` / `CircuitBreakers`: stop hammering a host that keeps
  failing, probe it again after a cool-down.

Clocks and randomness are parameters: `now` is seconds (Unix seconds where
an HTTP-date is involved, otherwise any monotonic clock), `rng` a
`random.Random`.
"""

import datetime
import email.utils
import random
import re
from typing import Literal

from kinode.errors import KinodeError

Outcome = Literal["delivered", "retry", "give_up"]
RETRYABLE_STATUSES = frozenset({408, 429})  # plus every 5xx
_DELTA_SECONDS = re.compile(r"[0-9]+")


def classify(status: int | None, error: BaseException | None = None) -> Outcome:
    """What a delivery attempt that got `status` (or raised `error`) means.

    2xx: delivered. 408, 429 and 5xx: the server may succeed later, retry.
    Any other status (4xx: the server refuses this object; a final 1xx or
    3xx: it does not speak the protocol): give up, and the entry is
    quarantined for a person to look at. No status: a network error or
    timeout is retried, but the node's own refusal (a `KinodeError`, e.g. a
    forbidden address) will not change by waiting, so it gives up.
    """
    if status is None:
        if error is None:
            raise ValueError("classify needs a status or an error")
        return "give_up" if isinstance(error, KinodeError) else "retry"
    if 200 <= status <= 299:
        return "delivered"
    if status in RETRYABLE_STATUSES or 500 <= status <= 599:
        return "retry"
    return "give_up"


def next_attempt(
    attempts: int,
    now: float,
    *,
    base: float = 1,
    cap: float = 3600,
    rng: random.Random,
    retry_after: float | None = None,
) -> float:
    """When to try again after `attempts` failed attempts (1 after the first failure).

    The delay is drawn uniformly from [0, min(cap, base * 2**(attempts-1))]
    ("full jitter": failed senders spread out instead of retrying in
    lockstep), then raised to `retry_after` seconds if the server asked for
    that. The delay never exceeds `cap`, not even for a Retry-After beyond
    it: the next attempt will simply be told to wait again.
    """
    if attempts < 1:
        raise ValueError(f"attempts counts failures so far and starts at 1, not {attempts}")
    # Bounded exponent: 2**62 already dwarfs any cap, and huge ints would overflow the float.
    window = min(cap, base * 2 ** min(attempts - 1, 62))
    delay = rng.uniform(0, window)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return now + min(delay, cap)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait that a Retry-After header asks for, or None if absent or unreadable.

    Accepts delta-seconds ("120") and an HTTP-date (IMF-fixdate, RFC 850 or
    asctime, read as UTC), taken relative to `now` in Unix seconds. A date
    in the past means 0.
    """
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - now)


class CircuitBreaker:
    """One host's circuit: closed (send), open (don't), half-open (one probe).

    `failure_threshold` consecutive failures open it; after `cool_down`
    seconds it lets a single probe through. The probe's success closes it,
    its failure opens it for another cool-down. A probe that never reports
    (its task was cancelled) is replaced by a new one after a cool-down, so
    the circuit cannot stay stuck half-open.
    """

    def __init__(self, *, failure_threshold: int = 5, cool_down: float = 60):
        if failure_threshold < 1 or cool_down < 0:
            raise ValueError("failure_threshold must be at least 1 and cool_down not negative")
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self.failures = 0
        self._opened_at: float | None = None
        self._probe_since: float | None = None

    def state(self, now: float) -> Literal["closed", "open", "half_open"]:
        """The circuit's state at `now`."""
        if self._opened_at is None:
            return "closed"
        return "open" if now - self._opened_at < self.cool_down else "half_open"

    def allow(self, now: float) -> bool:
        """Whether to send to this host now; in half-open, True once per probe."""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "open":
            return False
        if self._probe_since is not None and now - self._probe_since < self.cool_down:
            return False
        self._probe_since = now
        return True

    def record_success(self) -> None:
        """A send to this host succeeded: close the circuit."""
        self.failures = 0
        self._opened_at = self._probe_since = None

    def record_failure(self, now: float) -> None:
        """A send to this host failed (network error, 408, 429, 5xx)."""
        self.failures += 1
        probe_failed = self._probe_since is not None
        if probe_failed or (self._opened_at is None and self.failures >= self.failure_threshold):
            self._opened_at = now
            self._probe_since = None


class CircuitBreakers:
    """A `CircuitBreaker` per host, created on first use with the same settings."""

    def __init__(self, *, failure_threshold: int = 5, cool_down: float = 60):
        self._settings = {"failure_threshold": failure_threshold, "cool_down": cool_down}
        self._by_host: dict[str, CircuitBreaker] = {}

    def __getitem__(self, host: str) -> CircuitBreaker:
        if host not in self._by_host:
            self._by_host[host] = CircuitBreaker(**self._settings)
        return self._by_host[host]
