"""Derived tables: rebuilt from the objects alone, with identical results."""

import pytest

from storage import derived, listing
from storage.derived import Derived
from storage.errors import UnknownDerived
from storage.store import Store
from storage_factory import T0, identity, offer, profile, retract, rotation

ANN, BOB = identity("ann"), identity("bob")


def history():
    """A history that exercises every hook: supersession, retraction, rotation, pending retracts."""
    first, second = profile(ANN, "Ann", T0), profile(ANN, "Ann B.", T0 + 10)
    logo = offer(ANN, "Logo", T0 + 1)
    return [
        [first.wire, second.wire, logo.wire, profile(BOB, "Bob", T0).wire],
        [retract(ANN, second.id, T0 + 20).wire, retract(ANN, offer(ANN, "Never", T0).id, T0 + 21).wire],
        [offer(BOB, "Brand book", T0 + 30).wire, profile(BOB, "Bob 2", T0 + 90).wire],
        [rotation(BOB, identity("bob-2"), T0 + 60).wire, offer(ANN, "Never", T0).wire],
    ]


def derived_state(store):
    def read(db):
        state = {}
        for d in derived.registered():
            # FTS5 shadow tables hold segment layouts that legitimately differ; their content does not
            tables = [row[0] for row in db.execute(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type != 'shadow' "
                "AND (name = ? OR name LIKE ? || '%') ORDER BY name", [d.name, d.name])]
            state[d.name] = {t: sorted(db.execute(f"SELECT * FROM [{t}]").fetchall(), key=repr) for t in tables}
        return state
    return store.read_sync(read)


def test_rebuild_gives_identical_derived_tables(file_store):
    for batch in history():
        file_store.ingest_sync(batch, now=T0 + 100)
    incremental = derived_state(file_store)
    assert incremental["current_versions"]["current_versions"], "the history must populate the table"
    file_store.rebuild_sync()
    assert derived_state(file_store) == incremental


def test_rebuild_of_one_table_and_of_an_unknown_one(store):
    store.ingest_sync(history()[0], now=T0 + 100)
    before = derived_state(store)
    store.rebuild_sync(["current_versions"])
    assert derived_state(store) == before
    with pytest.raises(UnknownDerived):
        store.rebuild_sync(["no_such_table"])


def counting(version):
    def create(db):
        db.execute("CREATE TABLE IF NOT EXISTS type_counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL)")

    def apply(db, obj, hidden):
        if not hidden:
            db.execute("INSERT INTO type_counts VALUES (?, 1) ON CONFLICT(type) DO UPDATE SET n = n + 1",
                       [obj.type])

    def hide(db, object_id):
        db.execute("UPDATE type_counts SET n = n - 1 WHERE type = (SELECT type FROM objects WHERE id = ?)",
                   [object_id])

    return Derived("type_counts", create, apply, hide,
                   lambda db: db.execute("DROP TABLE IF EXISTS type_counts"), version)


def test_a_new_derived_table_is_built_from_existing_objects_on_open(tmp_path):
    path = tmp_path / "node.db"
    first = Store(path)
    for batch in history():
        first.ingest_sync(batch, now=T0 + 100)
    first.close()
    derived.register(counting(1))
    try:
        reopened = Store(path)
        counts = dict(reopened.read_sync(lambda db: db.execute("SELECT type, n FROM type_counts").fetchall()))
        visible = reopened.read_sync(listing.list_objects, 0, include_superseded=True)
        expected = {}
        for o in visible:
            expected[o.type] = expected.get(o.type, 0) + 1
        assert counts == expected
        reopened.close()
    finally:
        derived.unregister("type_counts")


def test_a_version_bump_rebuilds_the_table(tmp_path):
    path = tmp_path / "node.db"
    derived.register(counting(1))
    try:
        store = Store(path)
        store.ingest_sync(history()[0], now=T0 + 100)
        store.write_sync(lambda db: db.execute("UPDATE type_counts SET n = 999"))  # corrupt it
        store.close()
        derived.register(counting(2))
        store = Store(path)
        expected = {}
        for o in store.read_sync(listing.list_objects, 0, include_superseded=True):
            expected[o.type] = expected.get(o.type, 0) + 1
        assert dict(store.read_sync(lambda db: db.execute("SELECT type, n FROM type_counts").fetchall())) == expected
        store.close()
    finally:
        derived.unregister("type_counts")
