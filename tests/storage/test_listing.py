"""The log after a cursor, filtered; the most recent objects."""

from protocol.envelope import sign
from storage import listing
from storage_factory import T0, identity, offer, profile

ANN, BOB = identity("ann"), identity("bob")


def fill(store):
    objs = [offer(ANN, "Logo", T0 + 3), offer(BOB, "Brand book", T0 + 1, category="branding"),
            profile(ANN, "Ann", T0), offer(ANN, "Icons", T0 + 2, category="branding"), profile(BOB, "Bob", T0)]
    store.ingest_sync([o.wire for o in objs], now=T0 + 10)
    return objs


def test_paging_through_the_log_by_cursor_sees_everything_once(store):
    objs = fill(store)
    seen, cursor = [], 0
    while page := store.read_sync(listing.list_objects, cursor, limit=2):
        seen += [o.id for o in page]
        cursor = page[-1].seq
    assert seen == [o.id for o in objs]
    assert cursor == store.read_sync(listing.last_seq)


def test_filters_by_type_category_and_author(store):
    objs = fill(store)

    def ids(**filters):
        return [o.id for o in store.read_sync(listing.list_objects, 0, **filters)]

    assert ids(type="profile") == [o.id for o in objs if o.type == "profile"]
    assert ids(category="branding") == [o.id for o in objs if o.category == "branding"]
    assert ids(author=ANN.did, type="offer") == [o.id for o in objs if o.author == ANN.did and o.type == "offer"]
    assert ids(category="nothing-here") == []


def test_recent_is_newest_first_and_pages_back(store):
    objs = fill(store)
    newest = sorted((o for o in objs if o.type == "offer"), key=lambda o: -o.created_at)
    page = store.read_sync(listing.recent, type="offer", limit=2)
    assert [o.id for o in page] == [o.id for o in newest[:2]]
    older = store.read_sync(listing.recent, type="offer", before=page[-1].created_at)
    assert [o.id for o in older] == [o.id for o in newest[2:]]


def test_limits_are_clamped(store):
    fill(store)
    assert len(store.read_sync(listing.list_objects, 0, limit=0)) == 1
    assert len(store.read_sync(listing.list_objects, 0, limit=10**9)) == 5


def test_held_ids_names_stored_objects_and_optionally_awaited_retract_targets(store):
    kept = offer(ANN, "Kept", T0)
    awaited = "ab" * 32  # a retract arrives before its target
    store.ingest_sync([kept.wire, sign(ANN, "retract", {"target": awaited}, T0).wire], now=T0)
    unknown = "cd" * 32
    assert store.read_sync(listing.held_ids, [kept.id, awaited, unknown]) == {kept.id}
    assert store.read_sync(listing.held_ids, [kept.id, awaited, unknown], retracted_too=True) == {kept.id, awaited}
