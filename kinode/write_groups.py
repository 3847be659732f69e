"""Concurrent deliveries stored as one writer job while the writer is busy.

The writer's group commit already shares one fsync among the jobs that
queue behind a transaction, but every job still pays storage's fixed costs
(its savepoint, the lookups of `store_verified`, each derived table's
statements): a few hundred microseconds, which a hub taking one object per
request pays per object. So at most `in_flight` jobs of a node's deliveries
are with the writer at a time; deliveries that arrive meanwhile wait here,
and those with the same key (the time they are judged at, and who delivered
them) go to the writer together, as one batch, when a job comes back.

One job in flight by default: a commit waits for fsync (milliseconds), so
the writer idles only for the loop's turn between two commits, and each
commit takes every delivery that arrived during the one before. (With two,
the second waits at the writer alone while the rest gather behind it:
smaller commits, the same fsync each.)

Storing batches A and B as one batch ends in the same state as storing A
then B in one transaction (storage judges a batch in order, and a duplicate
of an earlier item is a duplicate either way); an object of A that waits for
context that B brings is answered with its final verdict instead of
"pending". Every answer still comes after COMMIT. If the merged job fails,
each delivery is stored again on its own, so one cannot fail another.
"""

import asyncio
from typing import Any, Awaitable, Callable, Hashable

from storage.ingest import IngestResult

MAX_MERGED = 1000  # objects in one merged job: bounds the writer's transaction
Run = Callable[[Hashable, list, dict], Awaitable[list[IngestResult]]]
"""Store (key, items, routes) as one writer job; one result per item, in order."""


class WriteGroups:
    def __init__(self, run: Run, in_flight: int = 1):
        self._run = run
        self.in_flight = in_flight
        self._busy = 0
        self._waiting: dict[Hashable, list[tuple[list, dict, asyncio.Future]]] = {}
        self.jobs = 0  # writer jobs sent; fewer than deliveries when they were merged
        self.deliveries = 0

    async def store(self, key: Hashable, items: list, routes: dict[str, Any]) -> list[IngestResult]:
        """Store `items` (with their outbox `routes`) as the job with `key` would; answers in order."""
        self.deliveries += 1
        if self._busy < self.in_flight and not self._waiting:
            self._busy += 1
            return await self._job(key, [(items, routes, None)])
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append((items, routes, future))
        return await future

    async def _job(self, key: Hashable, parts: list) -> list[IngestResult]:
        """Run one job of `parts` (counted in `_busy` by whoever started it); set each waiting
        part's answer; return the first part's."""
        self.jobs += 1
        try:
            items = [item for part in parts for item in part[0]]
            routes = {k: v for part in parts for k, v in part[1].items()}
            try:
                results = await self._run(key, items, routes)
            except Exception:
                if len(parts) == 1:
                    raise
                answers = await asyncio.gather(*(self._run(key, p[0], p[1]) for p in parts), return_exceptions=True)
            else:
                answers, at = [], 0
                for part in parts:
                    answers.append(results[at:at + len(part[0])])
                    at += len(part[0])
        finally:
            self._busy -= 1
            self._next()
        for (_, _, future), answer in zip(parts, answers):
            if future is not None and not future.done():
                future.set_exception(answer) if isinstance(answer, BaseException) else future.set_result(answer)
        first = answers[0]
        if isinstance(first, BaseException):
            raise first
        return first

    def _next(self) -> None:
        """Send the oldest waiting key's deliveries (up to MAX_MERGED objects) to the writer."""
        while self._waiting and self._busy < self.in_flight:
            key = next(iter(self._waiting))
            queued = self._waiting[key]
            parts, objects = [], 0
            while queued and (not parts or objects + len(queued[0][0]) <= MAX_MERGED):
                part = queued.pop(0)
                if not part[2].done():  # its request went away meanwhile
                    parts.append(part)
                    objects += len(part[0])
            if not queued:
                del self._waiting[key]
            if parts:
                self._busy += 1
                task = asyncio.get_running_loop().create_task(self._job(key, parts))
                task.add_done_callback(_quiet)


def _quiet(task: asyncio.Task) -> None:
    # Every part's future already holds the outcome; the task's own is the first part's, seen there.
    if not task.cancelled():
        task.exception()
