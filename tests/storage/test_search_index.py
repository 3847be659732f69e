"""The search index as a derived table: which contracts take which listings, batch writes, FTS5 integrity."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import derived
from storage.search_index import SEARCH_INDEX
from storage.search_text import listing_lengths, listing_texts, tokens, unpack_lengths
from storage.store import Store
from tests.storage.storage_factory import T0, identity
from tests.storage.test_search import (
    ANN, BOB, CAT, DAY, NOW, contract, find, ids, offer, profile, project, put, retract, task,
)

DEE = identity("dee")


@pytest.mark.parametrize("contract_first", [False, True])
def test_a_contract_between_strangers_does_not_take_a_listing(store, contract_first):
    p = project(ANN, "Logo rework")
    t = task(ANN, p.id, "Logo sketch")
    stranger = contract(BOB, CAT, [p.id, t.id])  # Ann is not a party
    put(store, *([stranger, p, t] if contract_first else [p, t, stranger]))
    assert set(ids(store, q="logo")) == {p.id, t.id}


@pytest.mark.parametrize("contract_first", [False, True])
def test_the_listing_authors_contract_takes_projects_and_tasks_in_either_order(store, contract_first):
    p = project(ANN, "Logo rework")
    t = task(ANN, p.id, "Logo sketch")
    hers = contract(ANN, BOB, [p.id, t.id])
    if contract_first:
        put(store, hers)
        put(store, p, t)
    else:
        put(store, p, t)
        put(store, hers)
    assert ids(store, q="logo") == []
    assert set(ids(store, q="logo", open_only=False)) == {p.id, t.id}


@pytest.mark.parametrize("contract_first", [False, True])
def test_a_contract_that_only_names_the_author_does_not_take(store, contract_first):
    p = project(ANN, "Logo rework")
    forged = contract(BOB, ANN, [p.id])  # Ann is a named party, but Bob wrote it: she never agreed
    put(store, *([forged, p] if contract_first else [p, forged]))
    assert ids(store, q="logo") == [p.id]


@pytest.mark.parametrize("contract_first", [False, True])
def test_offers_stay_open_under_any_contract(store, contract_first):
    o = offer(ANN, "Logo design")
    sold = contract(ANN, BOB, [o.id])
    put(store, *([sold, o] if contract_first else [o, sold]))
    assert ids(store, q="logo") == [o.id]


def test_only_the_partys_listing_in_a_shared_scope_is_taken(store):
    mine = project(ANN, "Logo rework", coordinator=DEE)  # Dee coordinates, so Dee writes the tasks
    theirs = task(DEE, mine.id, "Logo refresh", T0 + 1)
    put(store, mine, theirs, contract(ANN, BOB, [mine.id, theirs.id]))
    assert ids(store, q="logo") == [theirs.id]


def test_retracting_one_of_two_contracts_keeps_the_listing_taken(store):
    p = project(ANN, "Logo rework")
    first, second = contract(ANN, BOB, [p.id]), contract(ANN, CAT, [p.id], T0 + 150)
    put(store, p, first, second)
    put(store, retract(ANN, first.id, T0 + 300))
    assert ids(store, q="logo") == []
    put(store, retract(ANN, second.id, T0 + 301))
    assert ids(store, q="logo") == [p.id]


def test_the_rule_survives_a_rebuild(store):
    p, o = project(ANN, "Logo rework"), offer(ANN, "Logo offer")
    t = task(ANN, p.id, "Logo sketch")
    put(store, contract(BOB, CAT, [t.id]), contract(ANN, BOB, [p.id]), contract(ANN, BOB, [o.id]), p, t, o)
    before = ids(store, q="logo")
    assert set(before) == {t.id, o.id}
    store.rebuild_sync(["search"])
    assert ids(store, q="logo") == before


def mixed_history():
    """Batches touching every write path: listings, profile versions, contracts, retracts, expiry."""
    p = project(BOB, "Logo rework", deadline=T0 + 3 * DAY)
    listings = [offer(ANN, f"Logo {word}", T0 + i, description=f"{word} work " * (1 + i % 5))
                for i, word in enumerate(["print", "web", "brand", "vector", "type", "motion"])]
    return [
        [p, *listings, profile(ANN, "Ann logo", T0), profile(CAT, "Cat", T0 + 3)],
        [profile(ANN, "Ann newer logo", T0 + 50), task(BOB, p.id, "Logo sketch", T0 + 2),
         contract(BOB, CAT, [p.id]), profile(ANN, "Ann older", T0 + 20)],
        [retract(ANN, listings[1].id), profile(CAT, "Cat logo", T0 + 60), offer(DEE, "Late logo", T0 - 5)],
    ]


def search_tables(store):
    def read(db):
        names = [row[0] for row in db.execute(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type != 'shadow' "
            "AND name LIKE 'search%' AND name != 'search_fts' ORDER BY name")]
        return {name: sorted(db.execute(f"SELECT * FROM [{name}]").fetchall(), key=repr) for name in names}
    return store.read_sync(read)


def test_batches_write_the_same_index_as_one_object_at_a_time(store):
    for batch in mixed_history():
        put(store, *batch)
    batched = search_tables(store)
    derived.register(dataclasses.replace(SEARCH_INDEX, apply_many=None))
    try:
        one_by_one = Store()
        for batch in mixed_history():
            put(one_by_one, *batch)
        assert search_tables(one_by_one) == batched
        assert [h.id for h in find(one_by_one, q="logo", open_only=False).results] == \
            ids(store, q="logo", open_only=False)
        one_by_one.close()
    finally:
        derived.register(SEARCH_INDEX)


def test_fts_index_matches_its_content_after_every_kind_of_write(file_store):
    for batch in mixed_history():
        put(file_store, *batch)
        # rank 1: also compare the index with the content view, so a wrong delete would show here
        file_store.write_sync(lambda db: db.execute(
            "INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))
    file_store.rebuild_sync(["search"])
    file_store.write_sync(lambda db: db.execute(
        "INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))


def test_a_batch_is_written_to_fts5_as_one_segment(store):
    put(store, *[offer(ANN, f"Logo {i}", T0 + (i * 7919) % 200) for i in range(200)])  # keys out of order
    segments = store.read_sync(lambda db: db.execute("SELECT count(DISTINCT segid) FROM search_fts_idx").fetchone()[0])
    assert segments == 1


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "description", "skills", "category", "name", "bio",
                                        "categories"]),
                       st.one_of(st.text(max_size=40), st.lists(st.text(max_size=10), max_size=4),
                                 st.integers(), st.booleans(), st.none())),
       st.sampled_from(["offer", "profile"]))
def test_listing_lengths_count_the_words_of_each_field(body, type_):
    expected = tuple(len(tokens(text)) for text in listing_texts(type_, body))
    assert unpack_lengths(listing_lengths(type_, body)) == expected


def test_the_rule_holds_for_the_clock_too(store):
    p = project(ANN, "Logo rework", deadline=T0 + 2 * DAY)
    put(store, p, contract(BOB, CAT, [p.id]))
    assert ids(store, q="logo", now=NOW) == [p.id]
    assert ids(store, q="logo", now=T0 + 2 * DAY) == []
