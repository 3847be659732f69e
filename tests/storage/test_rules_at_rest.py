"""Retraction, key rotation and replaceable types as the store applies them."""

from hypothesis import given, settings, strategies as st

from storage import listing
from storage.store import Store
from storage_factory import T0, identity, offer, profile, retract, rotation

ANN, BOB, ANN2 = identity("ann"), identity("bob"), identity("ann-2")


def visible_ids(store, **filters):
    return {o.id for o in store.read_sync(listing.list_objects, 0, **filters)}


def status(store, obj, now=T0 + 100):
    [result] = store.ingest_sync([obj.wire], now=now)
    return result.status, result.code


# --- retraction -------------------------------------------------------------

def test_a_retract_hides_its_target_which_stays_stored_for_audit(store):
    target = offer(ANN, "Logo", T0)
    withdrawal = retract(ANN, target.id)
    assert status(store, target) == ("accepted", None)
    assert status(store, withdrawal) == ("accepted", None)
    assert visible_ids(store) == {withdrawal.id}
    kept = store.read_sync(listing.get, target.id)
    assert kept.wire == target.wire and kept.hidden_by == withdrawal.id and kept.retracted_by == withdrawal.id
    assert target.id in {o.id for o in store.read_sync(listing.list_objects, 0, include_hidden=True)}


def test_a_redelivered_retracted_object_is_refused_as_retracted_and_stays_hidden(store):
    target = offer(ANN, "Logo", T0)
    store.ingest_sync([target.wire, retract(ANN, target.id).wire], now=T0 + 100)
    assert status(store, target) == ("rejected", "retracted")  # as if the retract had come first (6.3)
    assert target.id not in visible_ids(store)


def test_a_redelivered_object_hidden_by_a_rotation_is_refused_as_key_rotated(store):
    after = offer(ANN, "After", T0 + 90)
    store.ingest_sync([after.wire, rotation(ANN, ANN2, T0 + 50).wire], now=T0 + 100)
    assert status(store, after) == ("rejected", "key_rotated")
    assert after.id not in visible_ids(store)


def test_only_the_author_may_retract(store):
    target = offer(ANN, "Logo", T0)
    store.ingest_sync([target.wire], now=T0)
    assert status(store, retract(BOB, target.id)) == ("rejected", "not_authorized")
    assert target.id in visible_ids(store)


def test_a_retract_or_rotation_cannot_be_retracted(store):
    withdrawal = retract(ANN, offer(ANN, "Logo", T0).id)
    rotated = rotation(BOB, identity("bob-2"), T0)
    store.ingest_sync([withdrawal.wire, rotated.wire], now=T0 + 100)
    assert status(store, retract(ANN, withdrawal.id, T0 + 20)) == ("rejected", "not_authorized")
    assert status(store, retract(BOB, rotated.id, T0 - 5)) == ("rejected", "not_authorized")


def test_a_retract_that_arrives_first_refuses_its_target_later(store):
    target = offer(ANN, "Logo", T0)
    withdrawal = retract(ANN, target.id)
    assert status(store, withdrawal) == ("accepted", None)  # pending: the target is unknown
    assert status(store, target) == ("rejected", "retracted")
    kept = store.read_sync(listing.get, target.id)  # kept hidden, as if it had come before its retract
    assert kept.hidden_by == withdrawal.id and kept.retracted_by == withdrawal.id
    assert status(store, target) == ("rejected", "retracted")  # and again, never resurrected


def test_a_pending_retract_by_someone_else_is_void(store):
    target = offer(ANN, "Logo", T0)
    meddling = retract(BOB, target.id)
    assert status(store, meddling) == ("accepted", None)
    assert status(store, target) == ("accepted", None)
    assert visible_ids(store) == {target.id}  # the void retract is kept, hidden, like a refused one
    assert store.read_sync(listing.get, meddling.id).hidden_by == target.id


def test_a_retract_and_its_target_in_one_batch_in_either_order(store):
    first, second = offer(ANN, "First", T0), offer(ANN, "Second", T0)
    results = store.ingest_sync(
        [first.wire, retract(ANN, first.id).wire, retract(ANN, second.id).wire, second.wire], now=T0 + 100)
    assert [(r.status, r.code) for r in results] == [
        ("accepted", None), ("accepted", None), ("accepted", None), ("rejected", "retracted")]
    assert not {first.id, second.id} & visible_ids(store)


# --- key rotation -------------------------------------------------------------

def test_objects_signed_after_the_rotation_are_refused(store):
    store.ingest_sync([rotation(ANN, ANN2, T0 + 50).wire], now=T0 + 100)
    assert status(store, offer(ANN, "Before", T0 + 49)) == ("accepted", None)
    assert status(store, offer(ANN, "At the rotation", T0 + 50)) == ("accepted", None)
    assert status(store, offer(ANN, "After", T0 + 51)) == ("rejected", "key_rotated")
    assert status(store, offer(ANN2, "Successor", T0 + 51)) == ("accepted", None)


def test_a_rotation_arriving_late_hides_what_the_old_key_signed_after_it(store):
    before, after = offer(ANN, "Before", T0 + 10), offer(ANN, "After", T0 + 90)
    store.ingest_sync([before.wire, after.wire], now=T0 + 100)
    rotated = rotation(ANN, ANN2, T0 + 50)
    assert status(store, rotated) == ("accepted", None)
    assert visible_ids(store) == {before.id, rotated.id}
    assert store.read_sync(listing.get, after.id).hidden_by == rotated.id


def test_the_earliest_rotation_binds(store):
    late, early = rotation(ANN, ANN2, T0 + 80), rotation(ANN, identity("ann-3"), T0 + 40)
    store.ingest_sync([late.wire], now=T0 + 100)
    assert status(store, early) == ("accepted", None)
    assert status(store, offer(ANN, "Between", T0 + 60)) == ("rejected", "key_rotated")
    assert late.id not in visible_ids(store)  # signed after the binding rotation
    assert status(store, rotation(ANN, ANN2, T0 + 90)) == ("rejected", "key_rotated")


def test_a_rotation_to_oneself_is_invalid(store):
    assert status(store, rotation(ANN, ANN, T0)) == ("rejected", "invalid_body")


# --- replaceable types ----------------------------------------------------------

def test_only_the_current_profile_is_listed_and_older_ones_are_kept(store):
    old, new = profile(ANN, "Ann", T0), profile(ANN, "Ann B.", T0 + 10)
    store.ingest_sync([new.wire, old.wire], now=T0 + 100)  # arrival order does not matter
    assert visible_ids(store, type="profile") == {new.id}
    assert visible_ids(store, type="profile", include_superseded=True) == {old.id, new.id}
    assert store.read_sync(listing.get, old.id).wire == old.wire


def test_on_a_tie_the_lowest_id_is_current(store):
    one, other = profile(ANN, "Ann", T0), profile(ANN, "Annie", T0)
    store.ingest_sync([one.wire, other.wire], now=T0)
    assert visible_ids(store, type="profile") == {min(one.id, other.id)}


def test_retracting_the_current_profile_brings_back_the_previous_one(store):
    old, new = profile(ANN, "Ann", T0), profile(ANN, "Ann B.", T0 + 10)
    store.ingest_sync([old.wire, new.wire, retract(ANN, new.id, T0 + 20).wire], now=T0 + 100)
    assert visible_ids(store, type="profile") == {old.id}


# --- order independence ----------------------------------------------------------

def _scenario():
    target, kept = offer(ANN, "Target", T0), offer(ANN, "Kept", T0 + 5)
    late = offer(ANN, "Late", T0 + 70)
    return [
        target, kept, late, retract(ANN, target.id, T0 + 30), retract(BOB, kept.id, T0 + 31),
        profile(ANN, "Ann", T0), profile(ANN, "Ann B.", T0 + 20), profile(BOB, "Bob", T0),
        rotation(ANN, ANN2, T0 + 60), offer(ANN2, "New key", T0 + 65), offer(BOB, "Bob's", T0 + 1),
    ]


SCENARIO = _scenario()


def answers_now(store):
    """What a fetch of each scenario object gives (GET /ki/v1/objects/{id}), then a re-delivery of each."""
    def fetch(stored):
        if stored is None or (stored.hidden and stored.rotated_by is None and stored.retracted_by is None):
            return 404
        return 410 if stored.hidden else 200
    fetched = [fetch(store.read_sync(listing.get, o.id)) for o in SCENARIO]
    again = store.ingest_sync([o.wire for o in SCENARIO], now=T0 + 100)
    return fetched, [(r.status, r.code) for r in again]


@settings(max_examples=40, deadline=None)
@given(st.permutations(SCENARIO), st.integers(1, len(SCENARIO)))
def test_what_is_visible_does_not_depend_on_arrival_order(order, batch_size):
    reference = Store()
    reference.ingest_sync([o.wire for o in SCENARIO], now=T0 + 100)
    shuffled = Store()
    for start in range(0, len(order), batch_size):
        shuffled.ingest_sync([o.wire for o in order[start:start + batch_size]], now=T0 + 100)
    try:
        assert visible_ids(shuffled) == visible_ids(reference)
        assert visible_ids(shuffled, type="profile") == visible_ids(reference, type="profile")
        assert answers_now(shuffled) == answers_now(reference)
    finally:
        reference.close()
        shuffled.close()


def test_a_rejected_object_voids_no_pending_retract(store):
    self_rotation = rotation(ANN, ANN, T0)  # invalid_body, but someone retracted its id in advance
    meddling = retract(BOB, self_rotation.id)
    store.ingest_sync([meddling.wire], now=T0 + 100)
    assert status(store, self_rotation) == ("rejected", "invalid_body")
    assert store.read_sync(listing.get, meddling.id).hidden_by is None
