"""The writer thread: group commit, isolated failures, locks never reach callers."""

import sqlite3
import threading

import pytest

from storage import listing
from storage.errors import StoreClosed
from storage_factory import T0, identity, offer

ANN = identity("ann")


def test_writes_queued_during_a_transaction_commit_together(store):
    started, release = threading.Event(), threading.Event()

    def blocker(db):
        started.set()
        release.wait()

    commits_before = store._writer.commits
    first = store.submit(blocker)
    started.wait()
    queued = [store.submit(lambda db, i=i: db.execute("SELECT ?", [i]).fetchone()[0]) for i in range(10)]
    release.set()
    assert first.result() is None
    assert [f.result() for f in queued] == list(range(10))
    assert store._writer.commits - commits_before == 2


def test_a_failing_job_rolls_back_alone(store):
    started, release = threading.Event(), threading.Event()
    store.submit(lambda db: (started.set(), release.wait()))
    started.wait()
    good = store.submit(lambda db: db.execute("CREATE TABLE kept (x)"))
    bad = store.submit(lambda db: (db.execute("CREATE TABLE dropped (x)"), 1 / 0))
    release.set()
    good.result()
    with pytest.raises(ZeroDivisionError):
        bad.result()
    names = store.read_sync(lambda db: db.table_names())
    assert "kept" in names and "dropped" not in names


def test_a_lock_held_by_another_process_is_waited_out(file_store, monkeypatch):
    writer_conn = file_store._writer.db.conn
    writer_conn.execute("PRAGMA busy_timeout = 1")  # give up on the lock at once, so the retry path runs
    retried = threading.Event()
    begins = []

    def trace(statement):
        if statement.startswith("BEGIN IMMEDIATE"):
            begins.append(statement)
            if len(begins) >= 2:
                retried.set()

    writer_conn.set_trace_callback(trace)
    other = sqlite3.connect(file_store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    future = file_store.submit(lambda db: db.execute("CREATE TABLE after_the_lock (x)"))
    assert retried.wait(10), "the writer should be retrying"
    other.execute("COMMIT")
    other.close()
    future.result(timeout=10)  # no "database is locked" reached us
    writer_conn.set_trace_callback(None)


def test_readers_see_committed_data_while_the_writer_works(file_store):
    started, release = threading.Event(), threading.Event()
    file_store.ingest_sync([offer(ANN, "Committed", T0).wire], now=T0)
    blocked = file_store.submit(lambda db: (db.execute("DELETE FROM objects"), started.set(), release.wait()))
    started.wait()
    assert file_store.read_sync(listing.count) == 1  # WAL: the open write transaction does not block reads
    release.set()
    blocked.result()
    assert file_store.read_sync(listing.count) == 0


def test_writes_after_close_are_refused(tmp_path):
    from storage.store import Store
    store = Store(tmp_path / "node.db")
    store.close()
    with pytest.raises(StoreClosed):
        store.ingest_sync([offer(ANN, "Late", T0).wire], now=T0)


def test_durability_settings(file_store):
    db = file_store._writer.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
