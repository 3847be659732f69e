"""Both ends of kinode.hub.receipts (spec 14.5): the hub signs one root per inbox answer; the
delivering node keeps each receipt that verifies, checking the shared signature once, and drops the rest."""

import hashlib

from sqlite_utils import Database

from kinode.hub import receipts
from protocol.identity import Identity
from protocol.receipts import verify_receipt
from storage import hub_state

T = 1767225600
HUB = Identity(bytes([21]) * 32)


def ids(count: int) -> list[str]:
    return [hashlib.sha256(f"kept {n}".encode()).hexdigest() for n in range(count)]


def answers(statuses: list[str]) -> list[dict]:
    return [{"id": i, "status": s} for i, s in zip(ids(len(statuses)), statuses)]


def test_the_hub_signs_one_root_for_the_held_results_only():
    signed = receipts.attach(HUB, answers(["accepted", "rejected", "duplicate", "pending", "accepted"]), T)
    held = [a["receipt"] for a in signed if a["status"] in ("accepted", "duplicate")]
    assert len(held) == 3 and not any("receipt" in a for a in signed if a["status"] in ("rejected", "pending"))
    assert len({r["root"] for r in held}) == 1 and len({r["sig"] for r in held}) == 1
    for answer in signed[::2]:
        verify_receipt(answer["receipt"], hub=HUB.did, object_id=answer["id"])
    assert receipts.attach(HUB, answers(["rejected"]), T) == answers(["rejected"])  # nothing held: no signature


def test_the_sender_keeps_valid_receipts_and_drops_altered_ones_even_with_their_root_checked():
    db = Database(memory=True)
    signed = receipts.attach(HUB, answers(["accepted"] * 6), T)
    for answer in signed:
        receipts.keep(db, answer, answer["id"], "http://127.0.0.1:1")
    kept = hub_state.receipts_for(db)
    assert sorted(k["receipt"]["object"] for k in kept) == sorted(ids(6))
    assert all(verify_receipt(k["receipt"]) for k in kept)
    # the root's signature is cached as good now: a moved or re-pathed receipt must still be refused
    fresh = Database(memory=True)
    receipts.keep(fresh, {"receipt": signed[0]["receipt"]}, signed[1]["id"], "x")  # for another object
    receipts.keep(fresh, {"receipt": {**signed[1]["receipt"], "object": signed[0]["id"]}}, signed[0]["id"], "x")
    receipts.keep(fresh, {"receipt": {**signed[2]["receipt"], "path": signed[3]["receipt"]["path"]}},
                  signed[2]["id"], "x")
    receipts.keep(fresh, {"receipt": {**signed[2]["receipt"], "sig": "0" * 128}}, signed[2]["id"], "x")
    receipts.keep(fresh, {"receipt": {**signed[2]["receipt"], "at": T + 1}}, signed[2]["id"], "x")
    receipts.keep(fresh, {"receipt": "not a receipt"}, signed[2]["id"], "x")
    receipts.keep(fresh, "not an answer", signed[2]["id"], "x")
    assert hub_state.receipts_for(fresh) == []
