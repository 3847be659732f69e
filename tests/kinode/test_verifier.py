"""Verification in worker processes gives the same answers, in the same order, as in threads."""

import asyncio
import json
import os
import signal

from kinode.verifier import Verifier
from protocol import canonical
from protocol.envelope import sign
from protocol.errors import ProtocolError
from protocol.identity import Identity

NOW = 1767225600


def _batch() -> list:
    alice = Identity(bytes([1]) * 32)
    items = []
    for n in range(60):
        obj = sign(alice, "profile", {"name": f"Alice {n}"}, NOW)
        items.append(obj.wire)
        if n % 7 == 0:  # a forged copy: same content, someone else's signature
            forged = json.loads(obj.wire)
            forged["sig"] = "00" * 64
            items.append(json.dumps(forged).encode())
    items.append(b"[]")
    return items


def _outcome(result) -> str:
    return result.code if isinstance(result, ProtocolError) else result.id


async def test_worker_processes_agree_with_threads() -> None:
    items = _batch()
    threads, processes = Verifier(0), Verifier(2)
    try:
        in_threads = await threads.validate(items, NOW)
        in_processes = await processes.validate(items, NOW)
    finally:
        processes.close()
    assert [_outcome(r) for r in in_processes] == [_outcome(r) for r in in_threads]
    assert [_outcome(r) for r in in_threads].count("bad_signature") == 9
    assert _outcome(in_processes[-1]) == "malformed"
    assert [r.wire for r in in_processes if not isinstance(r, ProtocolError)] == \
        [r.wire for r in in_threads if not isinstance(r, ProtocolError)]


def _canonical_batch() -> list:
    """Canonical bytes only (what nodes send), valid and not: each takes the worker path."""
    alice = Identity(bytes([2]) * 32)
    items = []
    for n in range(40):
        obj = sign(alice, "profile", {"name": f"Alice {n}"}, NOW)
        items.append(obj.wire)
        if n % 9 == 0:  # canonical, but someone else's signature / a wrong id / from the far future
            forged = json.loads(obj.wire)
            forged["sig"] = "00" * 64
            items.append(canonical.encode(forged))
            wrong = json.loads(obj.wire)
            wrong["id"] = "0" * 64
            items.append(canonical.encode(wrong))
            items.append(sign(alice, "profile", {"name": "later"}, NOW + 3600).wire)
    return items


async def test_workers_get_bytes_and_answer_what_threads_answer() -> None:
    items = _canonical_batch()
    threads, processes = Verifier(0), Verifier(1)
    try:
        in_threads = await threads.validate(items, NOW)
        in_processes = await processes.validate(items, NOW)
        assert processes.round_trips == 1  # it did go to the worker
    finally:
        processes.close()
    assert [_outcome(r) for r in in_processes] == [_outcome(r) for r in in_threads]
    assert {"bad_signature", "bad_id", "clock_skew"} <= {_outcome(r) for r in in_processes}
    assert [r for r in in_processes if not isinstance(r, ProtocolError)] == \
        [r for r in in_threads if not isinstance(r, ProtocolError)]  # same fields, bodies, bytes


async def test_concurrent_requests_share_a_round_trip_to_a_worker() -> None:
    alice = Identity(bytes([3]) * 32)
    requests = [[sign(alice, "profile", {"name": f"Alice {n}"}, NOW).wire] for n in range(10)]
    verifier = Verifier(1)
    try:
        answers = await asyncio.gather(*(verifier.validate(items, NOW) for items in requests))
        # the first request went alone; the nine that queued behind it went together
        assert verifier.round_trips == 2
    finally:
        verifier.close()
    assert [a[0].wire for a in answers] == [items[0] for items in requests]


async def test_a_dead_worker_costs_no_answer() -> None:
    items = _canonical_batch()
    verifier = Verifier(1)
    try:
        expected = [_outcome(r) for r in await verifier.validate(items, NOW)]
        for worker in verifier._pool:
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.join()
        again = [_outcome(r) for r in await verifier.validate(items, NOW)]
        third = [_outcome(r) for r in await verifier.validate(items, NOW)]  # on the new workers
    finally:
        verifier.close()
    assert again == expected and third == expected


async def test_a_batch_is_shared_among_idle_workers() -> None:
    alice = Identity(bytes([4]) * 32)
    items = [sign(alice, "profile", {"name": f"Alice {n}"}, NOW).wire for n in range(64)]
    verifier = Verifier(2)
    try:
        answers = await verifier.validate(items, NOW)
        assert verifier.round_trips == 2  # one half to each worker
    finally:
        verifier.close()
    assert [a.wire for a in answers] == items


async def test_many_objects_fetched_whole_take_the_worker_path_too() -> None:
    alice = Identity(bytes([6]) * 32)
    items = [sign(alice, "profile", {"name": f"Alice {n}", "about": "x" * 1000}, NOW).wire for n in range(100)]
    assert sum(map(len, items)) > 64 * 1024  # parsed in a thread before they go to the worker
    verifier = Verifier(1)
    try:
        answers = await verifier.validate(items, NOW)
        assert verifier.round_trips == 1
    finally:
        verifier.close()
    assert [a.wire for a in answers] == items
