"""The SQLite-backed sync item set answers exactly as the in-memory one."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.envelope import sign
from protocol.sync import MAX_BOUND, MIN_BOUND, Bound, Initiator, SortedItems, respond
from storage import listing
from storage.sync_items import StoredItems
from storage_factory import T0, identity, offer

ANN = identity("ann")
GLOBAL = ("profile", "retract")


def _stored(store, n: int, category: str = "web-design") -> list:
    objs = [offer(ANN, f"Offer {i}", T0 + (i % 7), category=category) for i in range(n)]
    store.ingest_sync([o.wire for o in objs], now=T0 + 10)
    return objs


def _bounds(draw_ids: list[tuple[int, str]], picks: list[int], cut: int) -> Bound:
    if not draw_ids:
        return MIN_BOUND
    created_at, object_id = draw_ids[picks[0] % len(draw_ids)]
    return Bound(created_at, object_id[:cut])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 10_000), min_size=2, max_size=2), cuts=st.tuples(st.integers(0, 32), st.integers(0, 32)),
       limit=st.one_of(st.none(), st.integers(0, 5)), offset=st.integers(0, 3))
def test_counts_fingerprints_and_items_agree_with_the_in_memory_set(store, picks, cuts, limit, offset):
    if not store.read_sync(listing.count):
        _stored(store, 40)
        _stored(store, 5, category="copywriting")  # outside the reconciled categories
    every = sorted((o.created_at, o.id) for o in store.read_sync(listing.list_objects, 0, limit=1000)
                   if o.category == "web-design")
    memory = SortedItems(every)
    a = _bounds(every, picks[:1], 2 * cuts[0])
    b = _bounds(every, picks[1:], 2 * cuts[1])
    lower, upper = (a, b) if a.key <= b.key else (b, a)
    for lo, hi in ((lower, upper), (MIN_BOUND, MAX_BOUND), (MIN_BOUND, upper), (lower, MAX_BOUND)):
        def ask(db, lo=lo, hi=hi):
            items = StoredItems(db, ["web-design"], GLOBAL)
            return items.count(lo, hi), items.fingerprint(lo, hi), items.items(lo, hi, limit, offset)
        assert store.read_sync(ask) == (memory.count(lo, hi), memory.fingerprint(lo, hi),
                                        memory.items(lo, hi, limit, offset))


def test_a_responder_backed_by_sqlite_reconciles_exactly_and_leaves_hidden_objects_out(store):
    objs = _stored(store, 120)
    withdrawn = sign(ANN, "retract", {"target": objs[119].id}, T0 + 20)
    store.ingest_sync([withdrawn.wire], now=T0 + 30)
    theirs = SortedItems((o.created_at, o.id) for o in objs[:100])  # the peer lacks 20 (one now retracted)
    initiator = Initiator(theirs, ["web-design"])
    message = initiator.start()
    while message is not None:
        reply = store.read_sync(lambda db: respond(StoredItems(db, ["web-design"], GLOBAL), message))
        message = initiator.receive(reply)
    assert initiator.need == {o.id for o in objs[100:119]} | {withdrawn.id}
    assert initiator.have == set()
