"""The outbox queue and the peer table."""

import pytest

from storage import listing, outbox, peers
from storage.errors import NotFound
from storage_factory import T0, identity, offer

ANN = identity("ann")
HUB_A, HUB_B = "did:key:hub-a", "did:key:hub-b"


def test_objects_are_queued_in_the_same_transaction_as_they_are_stored(store):
    objs = [offer(ANN, f"Offer {i}", T0) for i in range(3)]
    results = store.ingest_sync([o.wire for o in objs] + [objs[0].wire], now=T0, forward_to=[HUB_A, HUB_B])
    assert [r.status for r in results] == ["accepted"] * 3 + ["duplicate"]
    assert store.read_sync(outbox.depth) == {HUB_A: 3, HUB_B: 3}
    due = store.read_sync(outbox.due, T0, 10)
    assert {(e.destination, e.object_id) for e in due} == {(d, o.id) for d in (HUB_A, HUB_B) for o in objs}
    assert all(e.wire == store.read_sync(listing.get, e.object_id).wire for e in due)


def test_a_rejected_object_is_never_queued(store):
    bad = {**offer(ANN, "Forged", T0).as_dict(), "sig": "00" * 64}
    store.ingest_sync([bad], now=T0, forward_to=[HUB_A])
    assert store.read_sync(outbox.depth) == {}


def test_delivery_failure_retry_and_quarantine(store):
    obj = offer(ANN, "Logo", T0)
    store.ingest_sync([obj.wire], now=T0, forward_to=[HUB_A, HUB_B])
    a, b = sorted(store.read_sync(outbox.due, T0, 10), key=lambda e: e.destination)
    store.write_sync(outbox.mark_failed, a.entry_id, T0 + 60, "connection refused")
    assert [e.destination for e in store.read_sync(outbox.due, T0 + 59, 10)] == [HUB_B]
    [retry] = [e for e in store.read_sync(outbox.due, T0 + 60, 10) if e.destination == HUB_A]
    assert (retry.attempts, retry.last_error) == (1, "connection refused")

    store.write_sync(outbox.mark_delivered, b.entry_id)
    store.write_sync(outbox.quarantine, a.entry_id, T0 + 61, "peer answers 400 malformed")
    assert store.read_sync(outbox.due, T0 + 10_000, 10) == []
    assert store.read_sync(outbox.depth) == {}
    [parked] = store.read_sync(outbox.quarantined)
    assert (parked.entry_id, parked.quarantined_at) == (a.entry_id, T0 + 61)
    store.write_sync(outbox.release, a.entry_id, T0 + 70)
    assert [e.entry_id for e in store.read_sync(outbox.due, T0 + 70, 10)] == [a.entry_id]


def test_due_respects_the_limit_and_order(store):
    objs = [offer(ANN, f"Offer {i}", T0) for i in range(5)]
    for i, o in enumerate(objs):
        store.ingest_sync([o.wire], now=T0 + i, forward_to=[HUB_A])
    assert [e.object_id for e in store.read_sync(outbox.due, T0 + 10, 2)] == [objs[0].id, objs[1].id]


def test_unknown_entries_and_peers_are_not_found(store):
    with pytest.raises(NotFound):
        store.write_sync(outbox.mark_delivered, 12345)
    with pytest.raises(NotFound):
        store.write_sync(peers.record_failure, "did:key:nobody", "timeout")


def test_peers_keep_their_health_across_updates(store):
    store.write_sync(peers.upsert_peer, HUB_A, "https://a.example", ["web-design"], ["hub"], T0)
    store.write_sync(peers.upsert_peer, HUB_B, "https://b.example", [], ["node"], T0)
    store.write_sync(peers.record_failure, HUB_A, "timeout")
    store.write_sync(peers.record_failure, HUB_A, "connection refused")
    store.write_sync(peers.upsert_peer, HUB_A, "https://a2.example", ["web-design", "branding"], ["hub"], T0 + 5)
    a = store.read_sync(peers.get_peer, HUB_A)
    assert (a.url, a.categories, a.roles, a.failures, a.last_error, a.added_at) == (
        "https://a2.example", ("branding", "web-design"), ("hub",), 2, "connection refused", T0)
    assert [p.did for p in store.read_sync(peers.list_peers)] == [HUB_B, HUB_A]  # healthiest first
    assert [p.did for p in store.read_sync(peers.list_peers, role="hub", category="branding")] == [HUB_A]
    store.write_sync(peers.record_success, HUB_A, T0 + 9)
    a = store.read_sync(peers.get_peer, HUB_A)
    assert (a.failures, a.last_error, a.last_seen) == (0, None, T0 + 9)
    store.write_sync(peers.remove_peer, HUB_B)
    assert store.read_sync(peers.get_peer, HUB_B) is None


def test_expedite_makes_backed_off_entries_due_but_leaves_quarantine_alone(store):
    objs = [offer(ANN, f"Expedite {i}", T0) for i in range(3)]
    store.ingest_sync([o.wire for o in objs], now=T0, forward_to=[HUB_A, HUB_B])
    entries = {(e.destination, e.object_id): e for e in store.read_sync(outbox.due, T0, 10)}
    for obj in objs:
        store.write_sync(outbox.mark_failed, entries[(HUB_A, obj.id)].entry_id, T0 + 3600, "down")
    store.write_sync(outbox.quarantine, entries[(HUB_A, objs[2].id)].entry_id, T0, "poison")
    changed = store.write_sync(outbox.expedite, HUB_A, [o.id for o in objs], T0 + 5)
    assert changed == 2
    due_a = {e.object_id for e in store.read_sync(outbox.due, T0 + 5, 10) if e.destination == HUB_A}
    assert due_a == {objs[0].id, objs[1].id}
