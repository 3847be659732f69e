"""Verification in worker processes gives the same answers, in the same order, as in threads."""

import json

from kinode.verifier import Verifier
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
