"""Rate limits per client address and per author, answered with 429 and Retry-After."""

from collections import Counter

from aiohttp import web

from kinode.config import NodeConfig
from kinode.federation.problem import problem
from kinode.federation.ratelimit import RateLimiter


class Limits:
    def __init__(self, config: NodeConfig):
        self._clients = RateLimiter(config.client_rate, config.client_burst)
        self._authors = RateLimiter(config.author_rate, config.author_burst)

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
