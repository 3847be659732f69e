"""The SQLite-backed sync item set answers exactly as the in-memory one."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.envelope import sign
from protocol.sync import Initiator, SortedItems, respond
from storage import listing
from storage.sync_items import StoredItems
from storage_factory import T0, identity, offer

ANN = identity("ann")
GLOBAL = ("profile", "retract")
SALT = bytes(range(8))


def _stored(store, n: int, category: str = "web-design") -> list:
    objs = [offer(ANN, f"Offer {i}", T0 + (i % 7), category=category) for i in range(n)]
    store.ingest_sync([o.wire for o in objs], now=T0 + 10)
    return objs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pick=st.integers(0, 10_000), depth=st.integers(0, 3), extra=st.text("0123456789abcdef", max_size=2))
def test_counts_ids_and_children_agree_with_the_in_memory_set(store, pick, depth, extra):
    if not store.read_sync(listing.count):
        _stored(store, 60)
        _stored(store, 5, category="copywriting")  # outside the reconciled categories
    every = sorted(o.id for o in store.read_sync(listing.list_objects, 0, limit=1000) if o.category == "web-design")
    memory = SortedItems(every)
    # Prefixes of held ids (non-empty buckets) and arbitrary ones (mostly empty).
    for prefix in ("", every[pick % len(every)][:depth], extra):
        def ask(db, prefix=prefix):
            items = StoredItems(db, ["web-design"], GLOBAL)
            return items.count(prefix), items.ids(prefix), items.children(prefix)
        assert store.read_sync(ask) == (memory.count(prefix), memory.ids(prefix), memory.children(prefix))


def test_a_bucket_is_a_range_of_a_covering_id_index(store):
    _stored(store, 3)
    plan = store.read_sync(lambda db: db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM objects WHERE " + StoredItems(db, ["web-design"], GLOBAL)._where,
        ["ab", "abg", "web-design", *GLOBAL]).fetchall())
    assert [row[-1] for row in plan] == ["SEARCH objects USING COVERING INDEX objects_by_visible_id (id>? AND id<?)"]


def test_a_responder_backed_by_sqlite_reconciles_exactly_and_leaves_hidden_objects_out(store):
    objs = _stored(store, 120)
    withdrawn = sign(ANN, "retract", {"target": objs[119].id}, T0 + 20)
    store.ingest_sync([withdrawn.wire], now=T0 + 30)
    theirs = SortedItems(o.id for o in objs[:100])  # the peer lacks 20 (one now retracted)
    initiator = Initiator(theirs, ["web-design"], salt=SALT)
    message = initiator.start()
    while message is not None:
        reply = store.read_sync(lambda db: respond(StoredItems(db, ["web-design"], GLOBAL), message))
        message = initiator.receive(reply)
    assert initiator.need == {o.id for o in objs[100:119]} | {withdrawn.id}
    assert initiator.have == set()
