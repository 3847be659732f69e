"""Batch ingest: one answer per item, in order; bad items change nothing; idempotent."""

import json

import pytest

from protocol import canonical
from protocol.errors import BadId, ClockSkew, Malformed
from storage import derived, listing
from storage.derived import Derived
from storage.ingest import IngestResult, validate_batch
from storage_factory import T0, identity, offer, profile

ANN, BOB = identity("ann"), identity("bob")


def dump(store):
    """Every row of every table: the whole state a batch may change."""
    def read(db):
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: db.execute(f"SELECT * FROM [{t}] ORDER BY 1, 2").fetchall() for t in tables}
    return store.read_sync(read)


def test_accepted_objects_are_stored_byte_for_byte_with_their_metadata(store):
    first, second = offer(ANN, "Logo design", T0), offer(BOB, "Brand book", T0 + 1, category="branding")
    assert store.ingest_sync([first.wire, second.as_dict()], now=T0 + 5) == [
        IngestResult(first.id, "accepted"), IngestResult(second.id, "accepted")]
    stored = store.read_sync(listing.get, second.id)
    assert stored.wire == second.wire
    assert (stored.type, stored.author, stored.created_at, stored.category, stored.received_at) == (
        "offer", BOB.did, T0 + 1, "branding", T0 + 5)
    assert stored.seq == store.read_sync(listing.get, first.id).seq + 1


def test_each_input_form_is_accepted(store):
    a, b, c = offer(ANN, "A", T0), offer(ANN, "B", T0), offer(ANN, "C", T0)
    results = store.ingest_sync([a.wire, b.wire.decode(), json.loads(c.wire)], now=T0)
    assert [r.status for r in results] == ["accepted"] * 3


@pytest.mark.parametrize("item", [42, None, ["a list"], 3.5, b"[1, 2]", b"not json", "{}"])
def test_a_non_object_is_rejected_and_stores_nothing(store, item):
    before = dump(store)
    [result] = store.ingest_sync([item], now=T0)
    assert result.status == "rejected" and result.code in {"malformed", "duplicate_key", "not_canonical_number"}
    assert result.detail
    assert dump(store) == before


def test_a_rejected_object_in_the_middle_leaves_the_others_stored(store):
    good_1, good_2 = offer(ANN, "One", T0), offer(ANN, "Two", T0)
    forged = {**good_1.as_dict(), "sig": "00" * 64}
    tampered = {**good_2.as_dict(), "body": {**good_2.body, "title": "Changed"}}
    results = store.ingest_sync([good_1.wire, forged, tampered, 7, good_2.wire], now=T0)
    assert [(r.id, r.status, r.code) for r in results] == [
        (good_1.id, "accepted", None),
        (good_1.id, "rejected", "bad_signature"),  # verified before the duplicate check
        (good_2.id, "rejected", "bad_id"),
        (None, "rejected", "malformed"),
        (good_2.id, "accepted", None),
    ]
    assert [o.id for o in store.read_sync(listing.list_objects)] == [good_1.id, good_2.id]


def test_future_objects_are_rejected_with_clock_skew(store):
    early = offer(ANN, "Too early", T0 + 3600)
    [result] = store.ingest_sync([early.wire], now=T0)
    assert (result.id, result.status, result.code) == (early.id, "rejected", "clock_skew")
    assert store.read_sync(listing.get, early.id) is None


def test_the_same_batch_twice_changes_nothing(store):
    ann_profile, ann_offer = profile(ANN, "Ann", T0), offer(ANN, "Logo", T0)
    batch = [ann_profile.wire, ann_offer.wire, b"{", offer(BOB, "Late", T0 + 9999).wire]
    first = store.ingest_sync(batch, now=T0)
    state = dump(store)
    second = store.ingest_sync(batch, now=T0 + 50)
    assert dump(store) == state
    assert [r.status for r in first] == ["accepted", "accepted", "rejected", "rejected"]
    assert [r.status for r in second] == ["duplicate", "duplicate", "rejected", "rejected"]


def test_a_duplicate_within_one_batch_is_stored_once(store):
    obj = offer(ANN, "Twice", T0)
    results = store.ingest_sync([obj.wire, obj.as_dict()], now=T0)
    assert [r.status for r in results] == ["accepted", "duplicate"]
    assert store.read_sync(listing.count) == 1


def test_a_failure_while_storing_leaves_nothing_half_stored(store):
    def explode(db, obj, hidden):
        if obj.body.get("title") == "Bomb":
            raise RuntimeError("derived table failed")

    derived.register(Derived("exploding", lambda db: None, explode, lambda db, i: None, lambda db: None))
    try:
        before = dump(store)
        with pytest.raises(RuntimeError):
            store.ingest_sync([offer(ANN, "Fine", T0).wire, offer(ANN, "Bomb", T0).wire], now=T0)
        assert dump(store) == before
        # the writer is still healthy afterwards
        assert store.ingest_sync([offer(ANN, "Fine", T0).wire], now=T0)[0].status == "accepted"
    finally:
        derived.unregister("exploding")


def test_validate_batch_is_positional_and_pure():
    obj = offer(ANN, "Pure", T0)
    checked = validate_batch([obj.wire, {"v": 1}, object()], now=T0)
    assert checked[0] == obj
    assert isinstance(checked[1], Malformed) and isinstance(checked[2], Malformed)


def test_items_of_a_canonical_batch_verify_like_their_dicts():
    good, future = offer(ANN, "Good", T0), offer(BOB, "Later", T0 + 3600)
    forged = {**json.loads(good.wire), "created_at": T0 + 1}  # same id and sig: bad_id
    body = b'{"objects":[' + b",".join([good.wire, future.wire, canonical.encode(forged)]) + b"]}"
    batch, wired = canonical.parse_batch(body, "objects")
    assert [item.wire for item in wired] == [good.wire, future.wire, canonical.encode(forged)]
    by_wire, by_dict = validate_batch(wired, now=T0), validate_batch(batch["objects"], now=T0)
    assert by_wire[0] == by_dict[0] == good
    assert [(type(e), e.detail, e.claimed_id) for e in by_wire[1:]] == [
        (type(e), e.detail, e.claimed_id) for e in by_dict[1:]] == [
        (ClockSkew, by_dict[1].detail, future.id), (BadId, by_dict[2].detail, good.id)]


async def test_async_ingest_verifies_off_the_loop_and_answers_after_commit(file_store):
    objs = [offer(ANN, f"Offer {i}", T0) for i in range(20)]
    results = await file_store.ingest([o.wire for o in objs], now=T0)
    assert [r.id for r in results] == [o.id for o in objs]
    assert await file_store.read(listing.count) == 20
