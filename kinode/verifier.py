"""Verifying incoming objects off the event loop: threads, or worker processes.

Signature checks release the GIL, but parsing and body checks do not, so in
one process they contend with the event loop and the storage writer. A hub
with spare cores verifies in worker processes instead (`--verify-workers`,
by default one per core beyond the first two: `default_workers`).

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
import logging
import multiprocessing
import os
import pickle
import signal
from collections import deque
from typing import Any

from protocol import canonical
from protocol.envelope import SignedObject, built
from protocol.errors import ProtocolError
from storage.ingest import validate_batch

MIN_CHUNK = 16  # a batch is split across workers only into pieces at least this large
MAX_GROUP = 512  # objects sent to a worker at once: bounds one round trip's latency
PIPE_BYTES = 64 * 1024  # a pipe's buffer on Linux: a larger group is written from a thread
INLINE_OBJECTS = 2  # threads mode: this few objects are verified on the event loop (see `validate`)
PARSE_ON_LOOP_BYTES = 64 * 1024  # more bytes than this to cut into objects are parsed in a thread (here and
# in the inbox): below it, the hop costs more than the parse
log = logging.getLogger("kinode.verifier")


def default_workers(is_hub: bool) -> int:
    """A hub verifies in one process per core it may use beyond the first two.

    The event loop and the storage writer share one GIL, so they keep about a
    core busy; in threads, the signature checks (libsodium, GIL released) run
    on the second core anyway. Measured on two shared cores, a worker process
    there cost more CPU per object than it saved the parent and was no faster
    (bench/http_ingest_bench.py), so it pays only from the third core on.
    """
    if not is_hub:
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, cores - 2)


def verify_wires(jobs: list[tuple[list[bytes], int]]) -> list[list[tuple[int, ProtocolError]]]:
    """In a worker: verify each job's wire bytes at its time; per job, (position, error) of each failure."""
    return [[(position, result) for position, result in enumerate(validate_batch(wires, now))
             if isinstance(result, ProtocolError)]
            for wires, now in jobs]


class Verifier:
    def __init__(self, workers: int = 0):
        self.workers = workers
        self._pool: list[_Worker] | None = None if workers <= 0 else []  # started on first use
        self._idle: list[_Worker] = []
        self._queue: deque[tuple[list[bytes], int, asyncio.Future]] = deque()
        self.round_trips = 0  # groups sent to a worker; fewer than jobs when requests shared one

    async def validate(self, items: list[Any], now: int) -> list[SignedObject | ProtocolError]:
        loop = asyncio.get_running_loop()
        if self._pool is None:
            wired = None
        elif sum(len(item) for item in items if type(item) is bytes) > PARSE_ON_LOOP_BYTES:
            wired = await loop.run_in_executor(None, _wired, items)  # objects fetched whole, many of them
        else:
            wired = _wired(items)
        if wired is None and len(items) <= INLINE_OBJECTS:
            return validate_batch(items, now)  # ~50 µs an object: less than a hop to a thread and back
        if wired is None:
            # No workers, or items that are not canonical JSON (a batch sent otherwise spelled, a
            # dict): verify them in a thread, as they are, where each gets its exact error.
            return await loop.run_in_executor(None, validate_batch, items, now)
        items = wired
        if not self._pool:
            self._pool = [_Worker() for _ in range(self.workers)]
            self._idle = list(self._pool)
        size = max(MIN_CHUNK, -(-len(items) // self.workers))
        futures = []
        for start in range(0, len(items), size):
            future = loop.create_future()
            self._queue.append(([item.wire for item in items[start:start + size]], now, future))
            futures.append(future)
        self._dispatch(loop)
        answers = await asyncio.gather(*futures)
        failed = {offset + position: error for offset, failures in zip(range(0, len(items), size), answers)
                  for position, error in failures}
        return [failed[i] if i in failed else _verified(item) for i, item in enumerate(items)] if failed \
            else [_verified(item) for item in items]

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send queued jobs to idle workers, in groups of up to MAX_GROUP objects, shared among them."""
        while self._queue and self._idle:
            queued = sum(len(job[0]) for job in self._queue)
            cap = min(MAX_GROUP, max(MIN_CHUNK, -(-queued // len(self._idle))))
            group, objects = [], 0
            while self._queue and (not group or objects + len(self._queue[0][0]) <= cap):
                job = self._queue.popleft()
                if not job[2].done():  # its request went away meanwhile
                    group.append(job)
                    objects += len(job[0])
            if not group:
                return
            worker = self._idle.pop()
            self.round_trips += 1
            loop.create_task(self._run(loop, worker, group))

    async def _run(self, loop: asyncio.AbstractEventLoop, worker: "_Worker", group: list) -> None:
        jobs = [(wires, now) for wires, now, _ in group]
        try:
            try:
                answers = await worker.verify(loop, jobs)
            except (EOFError, OSError):
                # The worker died (killed, out of memory): verify this group here; it is replaced below.
                log.error("a verification worker died; starting a new one")
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
            self._release(loop, worker)

    def _release(self, loop: asyncio.AbstractEventLoop, worker: "_Worker") -> None:
        if worker.broken:  # dead, or an answer may still be on its way: never ask this one again
            worker.close(kill=True)
        if not self._pool or worker not in self._pool:  # the verifier was closed meanwhile
            return
        if worker.broken:
            slot = self._pool.index(worker)
            worker = self._pool[slot] = _Worker()
        self._idle.append(worker)
        self._dispatch(loop)

    def close(self) -> None:
        for worker in self._pool or ():
            worker.close()
        self._pool, self._idle = (None if self.workers <= 0 else []), []


class _Worker:
    """One verification process, spoken to over a pipe straight from the event loop.

    No executor threads between them (a process pool has two in the parent):
    the loop writes a group, and reads the answer when its end of the pipe is
    readable (registered once, not per group).
    """

    def __init__(self):
        # forkserver: the node has threads (the storage writer), which a plain fork would copy mid-flight
        context = multiprocessing.get_context("forkserver")
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(child,), name="kinode-verify", daemon=True)
        self.process.start()
        child.close()
        self.broken = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._answer: asyncio.Future | None = None

    async def verify(self, loop: asyncio.AbstractEventLoop, jobs: list) -> list:
        """The worker's answer to `jobs` (see `verify_wires`); EOFError or OSError if it is gone."""
        if self.broken:
            raise EOFError("the verification worker is gone")
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self.conn.fileno(), self._readable)
        request = pickle.dumps(jobs, protocol=pickle.HIGHEST_PROTOCOL)
        self._answer = loop.create_future()
        try:
            if len(request) > PIPE_BYTES:  # would block until the worker has read most of it
                await loop.run_in_executor(None, self.conn.send_bytes, request)
            else:
                self.conn.send_bytes(request)
            return pickle.loads(await self._answer)
        except BaseException:
            self.broken = True  # gone, or an answer may still be on its way: never ask this one again
            raise
        finally:
            self._answer = None

    def _readable(self) -> None:
        try:
            answer = self.conn.recv_bytes()  # the worker writes an answer whole, right away
        except (EOFError, OSError) as error:
            self._stop_reading()  # an end-of-file stays readable: stop watching it
            self.broken = True
            if self._answer is not None and not self._answer.done():
                self._answer.set_exception(error)
            return
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(answer)
        else:
            self.broken = True  # an answer nobody waits for: this worker is out of step

    def _stop_reading(self) -> None:
        if self._loop is not None:
            if not self._loop.is_closed():
                self._loop.remove_reader(self.conn.fileno())
            self._loop = None

    def close(self, kill: bool = False) -> None:
        self._stop_reading()
        self.conn.close()  # the worker reads EOF and exits
        if kill:
            self.process.kill()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _serve(conn) -> None:
    """A worker's life: verify each group it is sent, answer, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent closes us
    while True:
        try:
            request = conn.recv_bytes()
            conn.send_bytes(pickle.dumps(verify_wires(pickle.loads(request)), protocol=pickle.HIGHEST_PROTOCOL))
        except (EOFError, OSError):  # the parent closed the pipe, or is gone
            return


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
    the value is the one the worker checked.
    """
    return built(item.value, item.wire)
