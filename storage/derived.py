"""Derived tables: state computed from the objects alone, so it can be rebuilt.

A derived table registers a `Derived` once, at import. The store calls its
hooks inside the ingest transaction, with the `sqlite_utils.Database` of the
writer connection as the first argument:

- `create(db)`: create the table(s) and indexes; must be idempotent
  (`CREATE ... IF NOT EXISTS`).
- `apply(db, obj, hidden)`: one object was stored (`obj` is a
  `protocol.envelope.SignedObject`). Called after the object's row is in
  `objects`, so `SELECT seq FROM objects WHERE id = ?` finds it. During ingest
  `hidden` is always False; during a rebuild it is True for objects that were
  retracted or signed by a rotated-out key, and `apply(db, obj, True)` must
  leave the table exactly as `apply(db, obj, False)` followed by
  `hide(db, obj.id)` would.
- `apply_many(db, objs)` (optional): several objects were stored, in this
  order. Must leave the table exactly as `apply(db, obj, False)` for each in
  turn would; it exists so a table can look up and insert a whole batch with
  a few statements. Ingest calls it once per run of plain objects, rebuild
  once per run of visible ones; tables without it get `apply` per object.
- `hide(db, object_id)`: a stored object became hidden (retracted, or its key
  was rotated out). Called after `objects.hidden_by` is set.
- `flush(db)` (optional): the transaction is about to commit. The writer
  calls it once per group commit, after every job, outside their savepoints
  (`flush` below); rebuild calls it after each chunk it replays. A table
  that is cheaper to write once per transaction than once per job (FTS5:
  `storage.search_stage`) stages its writes in an ordinary table during the
  jobs, so that a job rolled back to its savepoint takes them along, and
  moves them here. Readers never see a staged state: flush runs in the same
  transaction. An error from flush fails every job of the group.
- `drop(db)`: remove the table(s) (`DROP ... IF EXISTS`).
- `version`: bump it when the table's shape or meaning changes; on the next
  open the table is dropped and rebuilt from the objects.
- `deferred`: ingest does not call `apply`/`apply_many` (it still calls
  `hide`); the writer indexes the table behind the commit from its durable
  mark in `derived_marks` (`storage.deferred`). A rebuild sets the mark to
  the log's end.

Hooks must not commit, roll back or call sqlite-utils write helpers that
open transactions of their own outside a savepoint (sqlite-utils nests
correctly; `conn.commit()` would not). Hooks run in registration order; the
core registers `current_versions` first.
"""

import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import orjson
from sqlite_utils import Database

from protocol.envelope import SignedObject, built
from storage.errors import UnknownDerived

_REPLAY_CHUNK = 2_000
_IN_CHUNK = 500
log = logging.getLogger("kinode.storage.derived")
ONE_BY_ONE = 500  # after a pass that raised: objects replayed singly before the batched pass is tried again
_REBUILD_CHUNK = 50_000  # objects a rebuild replays between two guarded passes
_RECENT_LIMIT = 8_192  # parsed objects kept for the catch-up: a few catch-up intervals of a busy hub


@dataclass(frozen=True)
class Derived:
    name: str
    create: Callable[[Database], None]
    apply: Callable[[Database, SignedObject, bool], None]
    hide: Callable[[Database, str], None]
    drop: Callable[[Database], None]
    version: int = 1
    apply_many: Callable[[Database, Sequence[SignedObject]], None] | None = None
    flush: Callable[[Database], None] | None = None
    deferred: bool = False

    def apply_visible(self, db: Database, objs: Sequence[SignedObject]) -> None:
        """Apply objects stored visible (hidden=False), in order: one call if the table batches."""
        if self.apply_many is not None:
            self.apply_many(db, objs)
        else:
            for obj in objs:
                self.apply(db, obj, False)


_registry: dict[str, Derived] = {}


def register(derived: Derived) -> Derived:
    """Add (or replace, by name) a derived table; returns it for use as a decorator target."""
    _registry[derived.name] = derived
    return derived


def unregister(name: str) -> None:
    _registry.pop(name, None)


def registered() -> tuple[Derived, ...]:
    return tuple(_registry.values())


def flush(db: Database) -> None:
    """Run every registered table's `flush`: the writer's last step before COMMIT."""
    _flush(_registry.values(), db)


def _flush(tables: Iterable[Derived], db: Database) -> None:
    for d in tables:
        if d.flush is not None:
            d.flush(db)


# Objects ingest just stored, already parsed, by id: the deferred tables' catch-up (replay) takes them
# from here instead of parsing their wire again. An id names one object whatever the store, so one
# bounded table serves every store of the process; whatever is not here is parsed from the wire.
_recent: "OrderedDict[str, SignedObject]" = OrderedDict()
_recent_lock = threading.Lock()


def remember(objs: Sequence[SignedObject]) -> None:
    """Keep these just-stored objects for the catch-up (only while a deferred table is registered)."""
    with _recent_lock:
        for obj in objs:
            _recent[obj.id] = obj
        while len(_recent) > _RECENT_LIMIT:
            _recent.popitem(last=False)


def _recall(object_id: str, wire: bytes) -> SignedObject:
    with _recent_lock:
        obj = _recent.pop(object_id, None)
    return obj if obj is not None else signed_from_wire(wire)


def signed_from_wire(wire: bytes) -> SignedObject:
    """Rebuild a SignedObject from stored bytes (verified when it arrived; not re-verified)."""
    try:
        value = orjson.loads(wire)  # the stored bytes are canonical JSON: the same value as json.loads, faster
    except orjson.JSONDecodeError:
        value = json.loads(wire)
    return built(value, bytes(wire))


def select_in(conn, sql: str, values: Sequence) -> list[tuple]:
    """Rows of `sql`, whose one `{}` is an IN list, for every value, in chunks of bound parameters."""
    rows: list[tuple] = []
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start:start + _IN_CHUNK]
        rows.extend(conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
    return rows


def last_seq(db: Database) -> int:
    """The log's newest seq (0 for an empty store), in the caller's snapshot: the cursor of
    GET /ki/v1/objects?after= and the end the deferred tables catch up to."""
    return db.execute("SELECT coalesce(max(seq), 0) FROM objects").fetchone()[0]


def ensure(db: Database) -> list[str]:
    """Create missing derived tables and rebuild those whose version changed.

    Runs inside the caller's transaction. Returns the names it rebuilt.
    """
    create_marks(db)
    known = dict(db.execute("SELECT name, version FROM derived_tables").fetchall())
    stale = [d for d in _registry.values() if known.get(d.name) != d.version]
    if stale:
        _rebuild(db, stale)
    # A deferred table that is current but has no mark was written by ingest itself (before tables
    # could be deferred): it is complete through the log's end.
    marked = {name for (name,) in db.execute("SELECT name FROM derived_marks")}
    set_marks(db, [d.name for d in _registry.values() if d.deferred and d not in stale and d.name not in marked],
              last_seq(db))
    return [d.name for d in stale]


def rebuild(db: Database, names: Iterable[str] | None = None) -> None:
    """Drop and recompute derived tables (all, or those named) from the objects.

    Runs inside the caller's transaction: readers see the old tables or the
    new ones, never a half-built index.
    """
    if names is None:
        chosen = list(_registry.values())
    else:
        unknown = sorted(set(names) - _registry.keys())
        if unknown:
            raise UnknownDerived(f"no derived table named {', '.join(unknown)} is registered")
        chosen = [d for d in _registry.values() if d.name in set(names)]
    _rebuild(db, chosen)


def _rebuild(db: Database, chosen: list[Derived]) -> None:
    for d in chosen:
        d.drop(db)
        d.create(db)
    through = mark = 0
    while True:  # guarded: an object a table cannot index is left out and logged, not a failed rebuild
        through, _ = replay_guarded(db, chosen, mark, _REBUILD_CHUNK)
        if through == mark:
            break
        mark = through
    db.conn.executemany(
        "INSERT INTO derived_tables(name, version) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET version = excluded.version",
        [(d.name, d.version) for d in chosen])
    set_marks(db, [d.name for d in chosen if d.deferred], through)  # the loop ends at the log's end


def replay(db: Database, chosen: Sequence[Derived], after: int = 0, limit: int = -1) -> int:
    """Apply the objects after seq `after` (at most `limit`, -1: all) to `chosen`, in seq order, with
    their hidden flags as they are now, as a rebuild does; returns the last seq replayed (`after` if none)."""
    # Streaming: a hub's millions of objects never sit in memory.
    cursor = db.conn.execute("SELECT seq, id, wire, hidden_by IS NOT NULL FROM objects WHERE seq > ? "
                             "ORDER BY seq LIMIT ?", [after, limit])
    last = after
    while rows := cursor.fetchmany(_REPLAY_CHUNK):
        visible: list[SignedObject] = []  # a run of visible objects goes to the tables as one batch
        for seq, object_id, wire, hidden in rows:
            obj = _recall(object_id, wire)
            if not hidden:
                visible.append(obj)
                continue
            _replay(db, chosen, visible)
            visible = []
            for d in chosen:
                d.apply(db, obj, True)
        _replay(db, chosen, visible)
        _flush(chosen, db)  # staged writes go out a chunk at a time: memory stays bounded
        last = rows[-1][0]
    return last


def replay_guarded(db: Database, group: Sequence[Derived], mark: int, limit: int) -> tuple[int, bool]:
    """`replay` from `mark`; if it raises, the next objects one at a time instead, each that raises
    skipped and logged: an object a table cannot index (a bug in that table) must not hold the index
    behind it still forever. Errors of the database itself (locks, I/O, a full disk) are raised: they
    are no object's fault. Returns (the last seq replayed or skipped, whether the whole range was asked)."""
    conn = db.conn
    conn.execute("SAVEPOINT catch_up")
    try:
        last = replay(db, group, mark, limit)
    except sqlite3.OperationalError:
        raise
    except Exception:  # noqa: BLE001 - one bad object; which one is found below
        conn.execute("ROLLBACK TO catch_up")
        conn.execute("RELEASE catch_up")
        return _one_by_one(db, group, mark, ONE_BY_ONE if limit < 0 else min(limit, ONE_BY_ONE)), False
    conn.execute("RELEASE catch_up")
    return last, True


def _one_by_one(db: Database, group: Sequence[Derived], mark: int, count: int) -> int:
    conn = db.conn
    for _ in range(count):
        conn.execute("SAVEPOINT one")
        try:
            last = replay(db, group, mark, 1)
        except sqlite3.OperationalError:
            raise
        except Exception:  # noqa: BLE001 - logged with its object, then left out of the index
            conn.execute("ROLLBACK TO one")
            last, object_id = conn.execute("SELECT seq, id FROM objects WHERE seq > ? ORDER BY seq LIMIT 1",
                                           [mark]).fetchone()
            log.exception("%s cannot index object %s (seq %d); it goes on without it",
                          ", ".join(d.name for d in group), object_id, last)
        conn.execute("RELEASE one")
        if last == mark:  # nothing left after the mark
            break
        mark = last
    return mark


def _replay(db: Database, chosen: Sequence[Derived], objs: list[SignedObject]) -> None:
    if objs:
        for d in chosen:
            d.apply_visible(db, objs)


def create_marks(db: Database) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS derived_marks (  -- deferred tables: complete through this objects.seq\n"
               "  name TEXT PRIMARY KEY, through INTEGER NOT NULL) WITHOUT ROWID")


def set_marks(db: Database, names: Sequence[str], through: int) -> None:
    if names:  # derived_marks exists: `ensure` made it when the store opened
        db.conn.executemany("INSERT INTO derived_marks(name, through) VALUES (?, ?) "
                            "ON CONFLICT(name) DO UPDATE SET through = excluded.through",
                            [(name, through) for name in names])
