"""Staged FTS5 writes: one FTS5 write per group commit, the same index as one commit per job."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import derived
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.store import Store
from tests.storage.storage_factory import T0
from tests.storage.test_search import ANN, BOB, NOW, ids, offer, profile, put, retract
from tests.storage.test_search_index import mixed_history, search_tables


def ingest_job(*objs):
    """A writer job storing `objs` as one ingest batch, as the inbox does for one POST."""
    checked = validate_batch([o.as_dict() for o in objs], NOW)

    def job(db):
        results = store_verified(db, checked, NOW, ())
        assert [r.status for r in results] == ["accepted"] * len(objs), results
        return results
    return job


def in_one_group(store, jobs):
    """Submit `jobs` while the writer is busy, so they commit together; their futures, in order."""
    started, release = threading.Event(), threading.Event()
    blocker = store.submit(lambda db: (started.set(), release.wait()))
    started.wait()
    futures = [store.submit(job) for job in jobs]
    release.set()
    blocker.result()
    for future in futures:
        future.exception()  # wait for each, failed or not
    return futures


def staged(db):
    return db.execute("SELECT count(*) FROM search_stage").fetchone()[0]


def segments(store):
    return store.read_sync(lambda db: db.execute("SELECT count(DISTINCT segid) FROM search_fts_idx").fetchone()[0])


def check_fts_integrity(store):
    # rank 1: also compare the index with the content view, so a wrong or missing write shows
    store.write_sync(lambda db: db.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))


def test_single_object_jobs_in_one_group_commit_make_one_fts5_segment(file_store):
    offers = [offer(ANN if i % 2 else BOB, f"Logo {i}", T0 + (i * 7919) % 40) for i in range(40)]  # keys out of order
    commits, jobs = file_store._writer.commits, file_store._writer.jobs
    futures = in_one_group(file_store, [ingest_job(o) for o in offers])
    assert all(f.exception() is None for f in futures)
    assert (file_store._writer.commits - commits, file_store._writer.jobs - jobs) == (2, 41)  # blocker, then the 40
    assert segments(file_store) == 1
    assert sorted(ids(file_store, q="logo", limit=100)) == sorted(o.id for o in offers)
    assert file_store.read_sync(staged) == 0
    check_fts_integrity(file_store)


def test_a_failing_job_takes_its_staged_writes_along_and_the_others_are_found(file_store):
    # Listings are indexed behind the commit; what ingest jobs stage are the deletes of hides.
    alpha, bravo = offer(ANN, "Alpha logo"), offer(BOB, "Bravo logo", T0 + 1)
    charlie = offer(ANN, "Charlie logo", T0 + 2)
    put(file_store, alpha, bravo)
    assert sorted(ids(file_store, q="logo")) == sorted([alpha.id, bravo.id])
    seen = {}

    def failing(db):
        ingest_job(retract(BOB, bravo.id))(db)
        seen["failing"] = staged(db)
        raise RuntimeError("this job fails after staging its delete")

    def after(db):
        seen["after"] = staged(db)  # what the failing job staged went with its ROLLBACK TO
        return ingest_job(charlie)(db)

    first, bad, last = in_one_group(file_store, [ingest_job(retract(ANN, alpha.id)), failing, after])
    assert first.exception() is None and last.exception() is None
    with pytest.raises(RuntimeError):
        bad.result()
    assert seen == {"failing": 2, "after": 1}  # alpha's delete, then bravo's too; then alpha's alone
    assert sorted(ids(file_store, q="logo")) == sorted([bravo.id, charlie.id])
    assert ids(file_store, q="alpha") == []
    assert file_store.read_sync(staged) == 0
    check_fts_integrity(file_store)


def test_a_failing_flush_fails_the_whole_group(store):
    listing, armed = offer(ANN, "Logo"), threading.Event()

    def broken(db):
        if armed.is_set():
            armed.clear()
            raise RuntimeError("flush failed")

    derived.register(derived.Derived("broken_flush", lambda db: None, lambda db, obj, hidden: None,
                                     lambda db, object_id: None, lambda db: None, flush=broken))
    try:
        futures = in_one_group(store, [ingest_job(listing), lambda db: db.execute("CREATE TABLE kept (x)"),
                                       lambda db: armed.set()])
    finally:
        derived.unregister("broken_flush")
    assert all(isinstance(f.exception(), RuntimeError) for f in futures)
    assert ids(store, q="logo") == [] and "kept" not in store.read_sync(lambda db: db.table_names())
    put(store, listing)
    assert ids(store, q="logo") == [listing.id]


def one_job_per_object(history):
    return [[obj] for batch in history for obj in batch]


def reference_tables(history):
    """The search tables after storing `history` one commit per batch."""
    reference = Store()
    try:
        for batch in history:
            put(reference, *batch)
        return search_tables(reference), ids(reference, q="logo", open_only=False)
    finally:
        reference.close()


def test_one_group_of_single_object_jobs_builds_the_index_of_one_commit_each(file_store):
    # In one transaction: a listing added then retracted (the FTS5 insert and delete cancel out),
    # a profile replaced twice, a contract taking listings indexed in earlier jobs.
    jobs = one_job_per_object(mixed_history())
    futures = in_one_group(file_store, [ingest_job(*objs) for objs in jobs])
    assert all(f.exception() is None for f in futures)
    tables, found = reference_tables(mixed_history())
    assert search_tables(file_store) == tables
    assert ids(file_store, q="logo", open_only=False) == found
    check_fts_integrity(file_store)
    file_store.rebuild_sync(["search"])
    assert search_tables(file_store) == tables
    check_fts_integrity(file_store)


def test_a_group_can_delete_what_an_earlier_commit_indexed(store):
    listing, old, newer = offer(ANN, "Logo print"), profile(BOB, "Bob logo", T0), profile(BOB, "Bob logo 2", T0 + 5)
    later = offer(ANN, "Logo web", T0 + 3)
    put(store, listing, old)
    futures = in_one_group(store, [ingest_job(retract(ANN, listing.id)), ingest_job(newer), ingest_job(later)])
    assert all(f.exception() is None for f in futures)
    assert set(ids(store, q="logo")) == {newer.id, later.id}
    check_fts_integrity(store)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=20), st.sets(st.integers(0, 14)))
def test_any_grouping_with_failing_jobs_builds_the_index_of_the_jobs_that_succeeded(sizes, failing):
    jobs = one_job_per_object(mixed_history())
    failing = {i for i in failing if i < len(jobs)}
    store = Store()
    try:
        start = 0
        for size in sizes + [len(jobs)]:
            group = [(i, objs) for i, objs in enumerate(jobs[start:start + size], start)]
            in_one_group(store, [ingest_job(*objs) if i not in failing else failing_job(objs) for i, objs in group])
            start += size
            if start >= len(jobs):
                break
        assert store.read_sync(staged) == 0
        tables, found = reference_tables([objs for i, objs in enumerate(jobs) if i not in failing])
        assert search_tables(store) == tables
        assert ids(store, q="logo", open_only=False) == found
        check_fts_integrity(store)
    finally:
        store.close()


def failing_job(objs):
    def job(db):
        store_verified(db, validate_batch([o.as_dict() for o in objs], NOW), NOW, ())
        raise RuntimeError("fails after storing")
    return job


def test_rebuild_leaves_nothing_staged_within_its_own_job(store, monkeypatch):
    for batch in mixed_history():
        put(store, *batch)
    before = search_tables(store)
    monkeypatch.setattr(derived, "_REPLAY_CHUNK", 3)  # several chunks, each flushed as it goes
    assert store.write_sync(lambda db: (derived.rebuild(db, ["search"]), staged(db))[1]) == 0
    assert search_tables(store) == before
    check_fts_integrity(store)
