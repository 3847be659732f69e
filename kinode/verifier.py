"""Verifying incoming objects off the event loop: threads, or worker processes.

Signature checks release the GIL, but parsing and body checks do not, so in
one process they contend with the event loop and the storage writer. A hub
with spare cores verifies in worker processes instead (`--verify-workers`,
by default one per core beyond the first).

What crosses to a worker is bytes: each object's canonical wire bytes, which
the event loop already cut out of the batch (`canonical.parse_batch`). The
worker parses and verifies them itself and answers only the failures, as
(position, error); the parent then builds each `SignedObject` from the value
it parsed from the same bytes. Returning verified objects instead (as this
module once did) cost more than it saved: pickling each object's body and
bytes in the worker and unpickling them in the parent, under the GIL the
event loop and the writer need, made two workers slower than threads.

Jobs are queued and sent in groups: while a worker verifies one group, the
requests that arrive meanwhile wait for the next, so concurrent single-object
requests share one round trip to a worker (as the writer's group commit
shares one fsync), and while the writer commits batch N, batch N+1 is being
verified on another core.
"""

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
from collections import deque
from typing import Any

from protocol import canonical
from protocol.envelope import SignedObject
from protocol.errors import ProtocolError
from storage.ingest import validate_batch

MIN_CHUNK = 16  # a batch is split across workers only into pieces at least this large
MAX_GROUP = 512  # objects sent to a worker at once: bounds one round trip's latency
log = logging.getLogger("kinode.verifier")


def default_workers(is_hub: bool) -> int:
    """A hub verifies in one process per core it may use beyond the first (event loop and writer)."""
    if not is_hub:
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, cores - 1)


def verify_wires(jobs: list[tuple[list[bytes], int]]) -> list[list[tuple[int, ProtocolError]]]:
    """In a worker: verify each job's wire bytes at its time; per job, (position, error) of each failure."""
    return [[(position, result) for position, result in enumerate(validate_batch(wires, now))
             if isinstance(result, ProtocolError)]
            for wires, now in jobs]


class Verifier:
    def __init__(self, workers: int = 0):
        self.workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._queue: deque[tuple[list[bytes], int, asyncio.Future]] = deque()
        self._in_flight = 0
        self.round_trips = 0  # calls to a worker; fewer than jobs when requests shared one
        if workers > 0:
            self._pool = _new_pool(workers)

    async def validate(self, items: list[Any], now: int) -> list[SignedObject | ProtocolError]:
        loop = asyncio.get_running_loop()
        wired = _wired(items) if self._pool is not None else None
        if wired is None:
            # No workers, or items that are not canonical JSON (a batch sent otherwise spelled, a
            # dict): verify them in a thread, as they are, where each gets its exact error.
            return await loop.run_in_executor(None, validate_batch, items, now)
        items = wired
        size = max(MIN_CHUNK, -(-len(items) // self.workers))
        pieces = [items[i:i + size] for i in range(0, len(items), size)]
        futures = []
        for piece in pieces:
            future = loop.create_future()
            self._queue.append(([item.wire for item in piece], now, future))
            futures.append(future)
        self._dispatch(loop)
        answers = await asyncio.gather(*futures)
        failed = {offset + position: error for offset, failures in zip(range(0, len(items), size), answers)
                  for position, error in failures}
        return [failed[i] if i in failed else _verified(item) for i, item in enumerate(items)] if failed \
            else [_verified(item) for item in items]

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send queued jobs to idle workers, in groups of up to MAX_GROUP objects."""
        while self._queue and self._in_flight < self.workers:
            group, objects = [], 0
            while self._queue and (not group or objects + len(self._queue[0][0]) <= MAX_GROUP):
                job = self._queue.popleft()
                if not job[2].done():  # its request went away meanwhile
                    group.append(job)
                    objects += len(job[0])
            if not group:
                return
            self._in_flight += 1
            self.round_trips += 1
            loop.create_task(self._run(loop, group))

    async def _run(self, loop: asyncio.AbstractEventLoop, group: list) -> None:
        jobs = [(wires, now) for wires, now, _ in group]
        try:
            try:
                answers = await loop.run_in_executor(self._pool, verify_wires, jobs)
            except concurrent.futures.BrokenExecutor:
                # A worker died (killed, out of memory): verify this group here and start new workers.
                log.error("a verification worker died; starting new ones")
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = _new_pool(self.workers)
                answers = await loop.run_in_executor(None, verify_wires, jobs)
        except BaseException as error:  # noqa: BLE001 - every waiting request gets it
            for _, _, future in group:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
        else:
            for (_, _, future), failures in zip(group, answers):
                if not future.done():
                    future.set_result(failures)
        finally:
            self._in_flight -= 1
            self._dispatch(loop)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _new_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    # forkserver: the node has threads (the storage writer), which a plain fork would copy mid-flight
    context = multiprocessing.get_context("forkserver")
    return concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)


def _wired(items: list[Any]) -> list[canonical.Canonical] | None:
    """Each item with its canonical bytes (objects fetched whole are parsed here), or None if one lacks them."""
    wired = []
    for item in items:
        if type(item) is not canonical.Canonical:
            if type(item) is not bytes:
                return None
            try:
                value, wire = canonical.parse_canonical(item)
            except ProtocolError:
                return None
            if wire is None or type(value) is not dict:
                return None
            item = canonical.Canonical(value, wire)
        wired.append(item)
    return wired


def _verified(item: canonical.Canonical) -> SignedObject:
    """The object a worker found valid, built from the value the parent parsed from the same bytes.

    Only for bytes this node's own worker verified: parsing is deterministic, so
    the value is the one the worker checked. Built as `envelope.verify` builds it.
    """
    value = item.value
    verified = object.__new__(SignedObject)
    object.__setattr__(verified, "__dict__", {
        "id": value["id"], "type": value["type"], "author": value["author"], "created_at": value["created_at"],
        "body": value["body"], "sig": value["sig"], "wire": item.wire})
    return verified
