"""Schema versions: an old file upgrades on open; a newer one is refused."""

import shutil
import sqlite3
from pathlib import Path

import pytest

from storage import listing, outbox, peers, schema
from storage.errors import SchemaTooNew
from storage.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1.sqlite"


def test_a_version_1_database_upgrades_and_keeps_every_object(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        rows = conn.execute("SELECT id, wire, hidden_by FROM objects ORDER BY seq").fetchall()

    store = Store(path)
    try:
        assert store.read_sync(schema.schema_version) == schema.SCHEMA_VERSION
        for object_id, wire, hidden_by in rows:
            stored = store.read_sync(listing.get, object_id)
            assert (stored.wire, stored.hidden_by) == (wire, hidden_by)
        listed = {o.id for o in store.read_sync(listing.list_objects, 0, limit=1000)}
        assert listed == {row[0] for row in rows if row[2] is None} - superseded_profiles(store)
        # the tables later versions added work on the upgraded file
        store.write_sync(outbox.enqueue, rows[0][0], ["did:key:hub"], 0)
        assert store.read_sync(outbox.depth) == {"did:key:hub": 1}
        store.write_sync(peers.upsert_peer, "did:key:hub", "https://hub.example", [], ["hub"], 0)
        assert store.read_sync(lambda db: db.execute("PRAGMA integrity_check").fetchone()[0]) == "ok"
    finally:
        store.close()


def superseded_profiles(store):
    every = store.read_sync(listing.list_objects, 0, type="profile", include_superseded=True)
    current = store.read_sync(listing.list_objects, 0, type="profile")
    assert len(current) < len(every), "the fixture holds an old and a new profile"
    return {o.id for o in every} - {o.id for o in current}


def test_every_intermediate_version_upgrades(tmp_path):
    for start in range(1, schema.SCHEMA_VERSION + 1):
        db = schema.connect(tmp_path / f"v{start}.db")
        assert schema.migrate(db, target=start) == start
        assert schema.migrate(db) == schema.SCHEMA_VERSION
        db.conn.close()


def test_a_database_from_a_newer_kinode_is_refused(tmp_path):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew):
        Store(path)


def test_the_fixture_was_made_by_version_1():
    # read-only: a missing fixture must fail here, not be created empty
    with sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "objects" in tables and "outbox" not in tables and "peers" not in tables
