"""The search index behind the commit: whatever the arrival order and wherever the catch-ups fall,
it ends as a rebuild does; the mark is durable and moves only with the index."""

import dataclasses
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from storage import deferred, derived, schema
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.search import SearchQuery, search
from storage.search_index import SEARCH_INDEX
from storage.store import Store
from tests.storage.storage_factory import T0, identity, rotation
from tests.storage.test_search import ANN, BOB, CAT, NOW, contract, offer, profile, project, put, retract
from tests.storage.test_search_index import mixed_history

CRASH_CHILD = Path(__file__).parent / "deferred_crash_child.py"


def history():
    """Every kind of write the index reacts to, hides included, as one list of objects."""
    objs = [obj for batch in mixed_history() for obj in batch]
    p = next(o for o in objs if o.type == "project")
    taken = contract(BOB, CAT, [p.id], at=T0 + 150)
    second = project(BOB, "Logo second project", T0 + 7)
    retaken = contract(BOB, CAT, [second.id], at=T0 + 160)
    return objs + [
        second, taken, retaken, retract(BOB, retaken.id, T0 + 170),  # a contract retracted by its author reopens
        rotation(CAT, identity("cat-2"), T0 + 55),  # hides Cat's later profile: the older one comes back
        offer(CAT, "Cat logo after rotation", T0 + 70),
        profile(BOB, "Bob logo", T0 + 1), retract(BOB, second.id, T0 + 180),
    ]


def fresh_db():
    db = schema.connect(None)
    schema.migrate(db)
    with db.conn:
        derived.ensure(db)
    return db


def ingest(db, objs):
    """One ingest transaction, as the writer runs it (the search index is not written)."""
    db.conn.execute("BEGIN IMMEDIATE")
    store_verified(db, validate_batch([o.as_dict() for o in objs], NOW), NOW, ())
    derived.flush(db)
    db.conn.execute("COMMIT")


def catch_up(db, limit=-1):
    db.conn.execute("BEGIN IMMEDIATE")
    freshness, more = deferred.catch_up(db, limit)
    db.conn.execute("COMMIT")
    return freshness, more


def tables(db):
    names = [row[0] for row in db.execute(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type != 'shadow' "
        "AND name LIKE 'search%' AND name != 'search_fts' ORDER BY name")]
    return {name: sorted(db.execute(f"SELECT * FROM [{name}]").fetchall(), key=repr) for name in names}


def found(db, **fields):
    return sorted(hit.id for hit in search(db, SearchQuery(**{"limit": 100, **fields}), NOW).results)


def check_fts(db):
    with db.conn:
        db.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")


def reference():
    db = fresh_db()
    ingest(db, history())
    catch_up(db)
    return {q: found(db, q=q, open_only=False) for q in ("logo", "cat", "ann")} | {"open": found(db, q="logo")}


REFERENCE = reference()


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.lists(st.integers(1, 6), min_size=1, max_size=30),
       st.lists(st.one_of(st.none(), st.integers(1, 8)), min_size=1, max_size=30))
def test_any_order_and_any_catch_up_points_end_as_a_rebuild(rng: random.Random, sizes, limits):
    objs = history()
    rng.shuffle(objs)
    db = fresh_db()
    start = 0
    for size, limit in zip(sizes * len(objs), limits * len(objs)):
        ingest(db, objs[start:start + size])
        start += size
        if limit is not None:  # a catch-up of `limit` objects here, racing the hides that come next
            catch_up(db, limit)
        if start >= len(objs):
            break
    else:
        ingest(db, objs[start:])
    freshness, more = catch_up(db)
    assert not more and freshness.indexed_through == freshness.log_seq
    check_fts(db)
    incremental = tables(db)
    assert {q: found(db, q=q, open_only=False) for q in ("logo", "cat", "ann")} | {"open": found(db, q="logo")} \
        == REFERENCE
    with db.conn:
        derived.rebuild(db, ["search"])
    assert tables(db) == incremental
    db.conn.close()


def test_the_mark_moves_only_with_the_index_and_a_chunked_catch_up_reaches_the_end():
    db = fresh_db()
    listings = [offer(ANN, f"Logo {i}", T0 + i) for i in range(7)]
    ingest(db, listings)
    assert deferred.freshness(db) == deferred.Freshness(0, 7)
    assert found(db, q="logo") == []  # committed, not indexed yet
    assert catch_up(db, 3) == (deferred.Freshness(3, 7), True)
    assert len(found(db, q="logo")) == 3
    assert catch_up(db, 3) == (deferred.Freshness(6, 7), True)
    assert catch_up(db, 3) == (deferred.Freshness(7, 7), False)
    assert found(db, q="logo") == sorted(o.id for o in listings)
    assert catch_up(db, 3) == (deferred.Freshness(7, 7), False)


def test_a_hide_of_an_object_not_indexed_yet_is_applied_when_the_index_gets_there():
    db = fresh_db()
    listing, other = offer(ANN, "Logo print"), offer(BOB, "Logo web", T0 + 1)
    ingest(db, [listing, other])
    ingest(db, [retract(ANN, listing.id)])  # hides a listing the index does not hold yet
    catch_up(db)
    assert found(db, q="logo") == [other.id]
    check_fts(db)


def test_reads_see_their_own_writes_and_say_how_fresh_they_are(tmp_path):
    store = Store(tmp_path / "node.db", catch_up_every=3600)  # only a waiting reader makes it catch up
    try:
        put(store, offer(ANN, "Logo print"))
        page, freshness = store.read_indexed_sync(search, SearchQuery(q="logo"), NOW)
        assert len(page.results) == 1 and freshness.indexed_through == freshness.log_seq == 1
        put(store, offer(BOB, "Logo web", T0 + 1))
        assert store.read_sync(deferred.freshness).indexed_through == 2  # read_sync waits for its index too
        assert store._writer.catch_ups >= 2
    finally:
        store.close()


def test_a_clean_close_leaves_the_index_complete(tmp_path):
    store = Store(tmp_path / "node.db", catch_up_every=3600)
    store.ingest_sync([offer(ANN, f"Logo {i}", T0 + i).as_dict() for i in range(5)], NOW)
    store.close()
    db = schema.connect(tmp_path / "node.db")
    assert deferred.freshness(db) == deferred.Freshness(5, 5)
    db.conn.close()


def test_sigkill_between_commit_and_index_loses_no_index_entry(tmp_path):
    path, count = tmp_path / "crash.db", 40
    for run in range(3):
        child = subprocess.Popen([sys.executable, str(CRASH_CHILD), str(path), str(run), str(count)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = child.stdout.readline()
            assert line.startswith(b"committed "), child.stderr.read().decode()
            log_seq = int(line.split()[1])
            child.send_signal(signal.SIGKILL)
            child.wait()
        finally:
            child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout, child.stderr):
                pipe.close()
        with sqlite3.connect(path) as conn:  # the kill came between the commit and the index
            assert conn.execute("SELECT max(seq) FROM objects").fetchone()[0] == log_seq == count * (run + 1)
            assert conn.execute("SELECT through FROM derived_marks WHERE name = 'search'").fetchone()[0] \
                == log_seq - count // 2
        conn.close()
        store = Store(path)  # catches up from the mark on open
        try:
            page, freshness = store.read_indexed_sync(search, SearchQuery(q="crashlogo", limit=100), NOW)
            assert freshness == deferred.Freshness(log_seq, log_seq)
            assert len(page.results) == min(100, count * (run + 1))
            assert store.read_sync(lambda db: db.execute("SELECT value FROM search_stats").fetchone()[0]) == log_seq
        finally:
            store.close()


def test_a_version_bump_rebuilds_and_sets_the_mark_and_an_unmarked_current_index_counts_as_complete(tmp_path):
    path = tmp_path / "node.db"
    store = Store(path)
    store.ingest_sync([offer(ANN, f"Logo {i}", T0 + i).as_dict() for i in range(4)], NOW)
    store.close()
    with sqlite3.connect(path) as conn:  # as a file written before the index was deferred: complete, unmarked
        conn.execute("DELETE FROM derived_marks")
    conn.close()
    store = Store(path, catch_up_every=3600)  # no catch-up unless a reader waits: what ensure set is what shows
    try:
        assert store._read_now(deferred.freshness) == deferred.Freshness(4, 4)
        assert len(store._read_now(search, SearchQuery(q="logo"), NOW).results) == 4
    finally:
        store.close()
    derived.register(dataclasses.replace(SEARCH_INDEX, version=SEARCH_INDEX.version + 1))
    try:
        store = Store(path, catch_up_every=3600)  # the rebuild at open sets the mark: nothing to catch up
        try:
            assert store._read_now(deferred.freshness) == deferred.Freshness(4, 4)
            assert len(store._read_now(search, SearchQuery(q="logo"), NOW).results) == 4
        finally:
            store.close()
    finally:
        derived.register(SEARCH_INDEX)


def test_an_object_the_index_cannot_take_is_skipped_and_logged_not_a_stop_for_the_rest(monkeypatch, caplog):
    db = fresh_db()
    good = [offer(ANN, f"Logo {i}", T0 + i) for i in range(4)]
    poison = offer(BOB, "Logo poison", T0 + 9)
    ingest(db, good[:2] + [poison] + good[2:])
    real = SEARCH_INDEX.apply_many

    def failing(db, objs):  # an indexing bug that only this one object meets
        if any(o.id == poison.id for o in objs):
            raise ValueError("cannot index this one")
        real(db, objs)

    monkeypatch.setitem(derived._registry, SEARCH_INDEX.name, dataclasses.replace(SEARCH_INDEX, apply_many=failing))
    caplog.set_level("ERROR", logger="kinode.storage.derived")
    reached, more = catch_up(db)
    while more:
        reached, more = catch_up(db)
    assert reached == deferred.Freshness(5, 5)  # the mark went past it: later objects are not held back
    assert found(db, q="logo") == sorted(o.id for o in good)
    assert poison.id in caplog.text
    check_fts(db)


def test_a_rebuild_leaves_out_an_object_a_table_cannot_take_instead_of_failing(monkeypatch, caplog):
    """`kinode reindex` and the rebuild on upgrade replay every object: one a table's code cannot index
    is skipped and logged, as the catch-up does, so the index can always be rebuilt."""
    db = fresh_db()
    good = [offer(ANN, f"Logo {i}", T0 + i) for i in range(4)]
    poison = offer(BOB, "Logo poison", T0 + 9)
    ingest(db, good[:2] + [poison] + good[2:])
    real = SEARCH_INDEX.apply_many

    def failing(db, objs):
        if any(o.id == poison.id for o in objs):
            raise ValueError("cannot index this one")
        real(db, objs)

    monkeypatch.setitem(derived._registry, SEARCH_INDEX.name, dataclasses.replace(SEARCH_INDEX, apply_many=failing))
    caplog.set_level("ERROR", logger="kinode.storage.derived")
    db.conn.execute("BEGIN")
    derived.rebuild(db, [SEARCH_INDEX.name])
    db.conn.execute("COMMIT")
    assert deferred.freshness(db) == deferred.Freshness(5, 5)
    assert found(db, q="logo") == sorted(o.id for o in good)
    assert poison.id in caplog.text
    check_fts(db)


def test_a_database_error_during_the_catch_up_is_raised_and_skips_nothing(monkeypatch):
    db = fresh_db()
    ingest(db, [offer(ANN, "Logo print")])

    def locked(db, objs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setitem(derived._registry, SEARCH_INDEX.name, dataclasses.replace(SEARCH_INDEX, apply_many=locked))
    try:
        catch_up(db)
    except sqlite3.OperationalError:
        db.conn.execute("ROLLBACK")
    else:
        raise AssertionError("a lock error was swallowed")
    assert deferred.freshness(db) == deferred.Freshness(0, 1)  # retried later, from the same mark
