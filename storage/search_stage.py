"""Staged FTS5 writes: the search index writes FTS5 once per transaction, not once per job.

FTS5 (SQLite 3.40) writes its pending terms to disk as a new segment at
every savepoint and savepoint release, whenever a rowid goes down, and when
the same rowid comes twice with an insert first. The writer runs each job of
a group commit under its own savepoint, so an index that wrote `search_fts`
inside its jobs made a segment, and merge work, per job: one per object when
32 clients POST one object each.

So jobs never write `search_fts`. `stage` records what FTS5 must do in
`search_stage`, an ordinary table: a job rolled back to its savepoint takes
its staged rows with it. `flush` (the index's `Derived.flush`, which the
writer calls right before every COMMIT and rebuild after each chunk) writes
the net change to FTS5 in ascending key order with plain VALUES, and empties
the stage: one segment per transaction.

A staged insert records only the key; its text is read from
`search_content` at flush time. A staged delete records the text FTS5
indexed, because the index is external-content (the 'delete' command must
be given the old values) and the listing row is gone by then. Per key the
staged operations alternate, since only a free key is inserted and only an
indexed one deleted, so the net change is the first if it is a delete and
the last if it is an insert; an insert and its delete in one transaction
cancel out.

Nothing reads `search_fts` inside a write transaction: searches run on
reader connections, or (in-memory store) between the writer's transactions.
"""

import itertools
from typing import Sequence

from sqlite_utils import Database

from storage.derived import select_in

_FTS_COLUMNS = "title, body, skills, cats, tags"


def create(db: Database) -> None:
    db.execute(f"""CREATE TABLE IF NOT EXISTS search_stage (
        n INTEGER PRIMARY KEY,            -- staging order
        key INTEGER NOT NULL,             -- search_listing.key, the FTS5 rowid
        op TEXT NOT NULL CHECK (op IN ('insert', 'delete')),
        {_FTS_COLUMNS})                   -- a delete's indexed text; NULL for an insert""")


def drop(db: Database) -> None:
    db.execute("DROP TABLE IF EXISTS search_stage")


def stage(conn, removed: Sequence[tuple], added: Sequence[int]) -> None:
    """Stage FTS5 deletes, `removed` rows of (key, title, body, skills, cats, tags), then inserts of `added` keys."""
    conn.executemany(f"INSERT INTO search_stage(op, key, {_FTS_COLUMNS}) VALUES ('delete', ?, ?, ?, ?, ?, ?)",
                     removed)
    conn.executemany("INSERT INTO search_stage(op, key) VALUES ('insert', ?)", [(key,) for key in added])


def flush(db: Database) -> None:
    """Write the staged net change to `search_fts` in key order, then empty the stage."""
    conn = db.conn
    staged = conn.execute(f"SELECT key, op, {_FTS_COLUMNS} FROM search_stage ORDER BY key, n").fetchall()
    if not staged:
        return
    net = []  # (key, a delete's old text or None for an insert): ascending keys, a key's delete first
    for key, group in itertools.groupby(staged, key=lambda row: row[0]):
        ops = list(group)
        if ops[0][1] == "delete":
            net.append((key, ops[0][2:]))
        if ops[-1][1] == "insert":
            net.append((key, None))
    texts = {row[0]: row[1:] for row in select_in(
        conn, f"SELECT key, {_FTS_COLUMNS} FROM search_content WHERE key IN ({{}})",
        [key for key, old in net if old is None])}
    conn.executemany(f"INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [("delete", key, *old) if old is not None else (None, key, *texts[key]) for key, old in net])
    conn.execute("DELETE FROM search_stage")

