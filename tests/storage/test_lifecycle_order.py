"""Lifecycle ingest does not depend on arrival order (spec 6.4, 13.1): state, re-deliveries and fetches.

Any subset of the lifecycle world, delivered in any order and cut into any
batches, ends in the same visible objects (with their categories), the same
pending set, the same lifecycle tables, and the same answers to a second
delivery of every object and to a fetch of every id, as the same subset
delivered in one batch in (created_at, id) order.
"""

from hypothesis import given, settings, strategies as st

from storage import lifecycle, listing
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.store import Store
from tests.storage.lifecycle_world import NOW, WORLD
from tests.storage.test_rules_at_rest import SCENARIO

OBJECTS = sorted(list(WORLD.values()) + SCENARIO, key=lambda o: (o.created_at, o.id))


def deliver(store, objs) -> list[tuple[str, str | None]]:
    results = store.write_sync(store_verified, validate_batch([o.wire for o in objs], NOW), NOW)
    return [(r.status, r.code) for r in results]


def fetch(stored: listing.StoredObject | None) -> tuple[int, str | None]:
    """What GET /ki/v1/objects/{id} answers (kinode.federation.handlers.get_object)."""
    if stored is None:
        return 404, "not_found"
    if stored.rotated_by is not None:
        return 410, "key_rotated"
    if stored.retracted_by is not None:
        return 410, "retracted"
    if stored.hidden:
        return 404, "not_found"
    return 200, None


def observed(store, objs) -> dict:
    def read(db):
        visible = db.execute("SELECT id, category FROM objects WHERE hidden_by IS NULL ORDER BY id").fetchall()
        return {
            "visible": visible,
            "pending": db.execute("SELECT id FROM pending ORDER BY id").fetchall(),
            "index": [row for row in lifecycle.index_rows(db) if not row[5]],
            "parties": db.execute("SELECT p.* FROM contract_parties p JOIN objects o ON o.id = p.contract_id "
                                  "WHERE o.hidden_by IS NULL ORDER BY 1, 2").fetchall(),
            "fetch": [fetch(listing.get(db, o.id)) for o in objs],
            "roots": {o.id: lifecycle.root_of(db, o.id) for o in objs},
        }
    seen = store.read_sync(read)
    seen["again"] = deliver(store, objs)  # after the reads: a re-delivery must not change them either
    return seen


@st.composite
def deliveries(draw):
    """(the chosen subset in (created_at, id) order, its batches, re-deliveries), as indexes into OBJECTS."""
    chosen = sorted(draw(st.sets(st.integers(0, len(OBJECTS) - 1), min_size=1)))
    order = draw(st.permutations(chosen))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=6)))
    batches, start = [], 0
    for cut in cuts + [len(order)]:
        if cut > start:
            batches.append(order[start:cut])
            start = cut
    repeats = draw(st.lists(st.sampled_from(chosen), max_size=4))  # re-deliveries mid-way
    return chosen, batches, repeats


@settings(max_examples=120, deadline=None)
@given(deliveries())
def test_any_order_and_batching_ends_in_the_same_state_and_answers(delivery):
    chosen, batches, repeats = ([OBJECTS[i] for i in part] for part in (delivery[0], (), delivery[2]))
    batches = [[OBJECTS[i] for i in batch] for batch in delivery[1]]
    reference, shuffled = Store(), Store()
    try:
        deliver(reference, chosen)
        for i, batch in enumerate(batches):
            deliver(shuffled, batch)
            if i == 0 and repeats:
                deliver(shuffled, repeats)
        assert observed(shuffled, chosen) == observed(reference, chosen)
    finally:
        reference.close()
        shuffled.close()


def test_the_whole_world_in_reverse_one_by_one_equals_one_batch():
    reference, shuffled = Store(), Store()
    try:
        deliver(reference, OBJECTS)
        for obj in reversed(OBJECTS):
            deliver(shuffled, [obj])
        assert observed(shuffled, OBJECTS) == observed(reference, OBJECTS)
    finally:
        reference.close()
        shuffled.close()
