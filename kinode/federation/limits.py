"""Rate limits per client address and per author, answered with 429 and Retry-After.

Requests are charged per request (`client`); inbox batches are also charged
per object verified, to the sending address and to each author (`work`),
before verification. A verification that fails (spec 9.3: bad_signature,
bad_id) is charged `failed_verification_cost` objects afterwards, putting the
bucket into debt if need be: forged objects from throwaway authors cost the
address that sent them, so a flood of them runs dry sooner than valid ones.
"""

from collections import Counter

from aiohttp import web

from kinode.config import NodeConfig
from kinode.federation.problem import problem
from kinode.federation.ratelimit import RateLimiter


class Limits:
    def __init__(self, config: NodeConfig):
        self._clients = RateLimiter(config.client_rate, config.client_burst)
        self._authors = RateLimiter(config.author_rate, config.author_burst)
        self._work = RateLimiter(config.work_rate, config.work_burst)
        self.failed_cost = config.failed_verification_cost
        # Sync messages from hubs this hub does not know (spec 10.8): per key, and per address
        # because keys cost nothing to mint.
        self._stranger_keys = RateLimiter(config.stranger_sync_rate, config.stranger_sync_burst)
        self._stranger_addresses = RateLimiter(4 * config.stranger_sync_rate, 4 * config.stranger_sync_burst)

    def stranger_sync(self, request: web.Request, signer: str, now: float) -> web.Response | None:
        for limiter, key in ((self._stranger_keys, signer), (self._stranger_addresses, request.remote or "unknown")):
            decision = limiter.check(key, now)
            if not decision.allowed:
                return _too_many(f"too many sync messages from {key}, which is not a peer or announced hub "
                                 "of these categories", decision.retry_after)
        return None

    def work(self, request: web.Request, objects: int, now: float) -> web.Response | None:
        """Charge the client address for verifying `objects` objects, or refuse the batch."""
        decision = self._work.check(request.remote or "unknown", now, cost=min(objects, self._work.burst))
        if decision.allowed:
            return None
        return _too_many(f"{request.remote} sent more objects than it may have verified", decision.retry_after)

    def charge_failures(self, request: web.Request, authors: list[str], now: float) -> None:
        """Charge the address, and each claimed author, for verifications that failed."""
        if not authors:
            return
        extra = self.failed_cost - 1  # each was charged once already, when admitted
        self._work.charge(request.remote or "unknown", now, extra * len(authors))
        for author, count in Counter(authors).items():
            self._authors.charge(author, now, extra * count)

    def client(self, request: web.Request, now: float) -> web.Response | None:
        decision = self._clients.check(request.remote or "unknown", now)
        if decision.allowed:
            return None
        return _too_many(f"too many requests from {request.remote}", decision.retry_after)

    def authors(self, objects: list, now: float) -> web.Response | None:
        """Charge each author for its objects in a batch; refuse the batch if any is over."""
        per_author = Counter(o.get("author") for o in objects if isinstance(o, dict) and isinstance(o.get("author"), str))
        for author, count in per_author.items():
            decision = self._authors.check(author, now, cost=min(count, self._authors.burst))
            if not decision.allowed:
                return _too_many(f"too many objects from {author}", decision.retry_after)
        return None


def _too_many(detail: str, retry_after: int) -> web.Response:
    return problem("rate_limited", detail, headers={"Retry-After": str(max(1, retry_after))})
