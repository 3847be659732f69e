"""Opening a database: connection settings and ordered schema migrations.

The schema version lives in `PRAGMA user_version`. `MIGRATIONS[n]` upgrades
version n to n+1; a migration never changes once released, so a file made by
any older kinode upgrades step by step. Derived tables (search index,
current versions, ...) are not migrated: `storage.derived` rebuilds them from
the objects whenever their own version changes.
"""

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from storage.errors import SchemaTooNew

BUSY_TIMEOUT_MS = 10_000
WRITER_CACHE_KIB = 16_384   # SQLite page cache, not Python memory: RSS stays bounded at any size
READER_CACHE_KIB = 8_192

_V1_OBJECTS = """
CREATE TABLE objects (
    seq INTEGER PRIMARY KEY,          -- local order: the ?after= cursor
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    category TEXT,
    received_at INTEGER NOT NULL,
    hidden_by TEXT,                   -- id of the retract or key_rotation that hides it
    wire BLOB NOT NULL                -- the canonical bytes, served back unchanged
);
CREATE INDEX objects_by_type ON objects(type, seq);
CREATE INDEX objects_by_author ON objects(author, seq);
CREATE INDEX objects_by_category ON objects(category, seq) WHERE category IS NOT NULL;
CREATE INDEX objects_by_created ON objects(created_at);
-- every retract ever accepted, applied or still waiting for its target
CREATE TABLE retractions (
    target TEXT NOT NULL,
    author TEXT NOT NULL,
    retract_id TEXT NOT NULL,
    PRIMARY KEY (target, author)
) WITHOUT ROWID;
-- the earliest rotation of each rotated-out key
CREATE TABLE key_rotations (
    author TEXT PRIMARY KEY,
    rotated_at INTEGER NOT NULL,
    rotation_id TEXT NOT NULL,
    successor TEXT
) WITHOUT ROWID;
CREATE TABLE derived_tables (name TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
"""

_V2_OUTBOX = """
CREATE TABLE outbox (
    entry_id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    object_id TEXT NOT NULL,
    enqueued_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    quarantined_at INTEGER,
    UNIQUE (destination, object_id)
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE quarantined_at IS NULL;
"""

_V3_PEERS = """
CREATE TABLE peers (
    did TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    categories TEXT NOT NULL DEFAULT '[]',   -- JSON array of slugs
    roles TEXT NOT NULL DEFAULT '[]',        -- JSON array: "node", "hub"
    added_at INTEGER NOT NULL,
    last_seen INTEGER,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
"""

_V4_SYNC_ORDER = """
-- set reconciliation walks objects in (created_at, id) order (storage.sync_items)
CREATE INDEX objects_by_created_id ON objects(created_at, id) WHERE hidden_by IS NULL;
"""

_V5_ROUTING = """
-- what each published object was routed to, and what became of it (kinode status: delivered N of M)
CREATE TABLE deliveries (
    object_id TEXT NOT NULL,
    destination TEXT NOT NULL,          -- an inbox base URL, or "@unreachable:DID" when no URL is known
    name TEXT NOT NULL,                 -- who it is, for people: "hub web-design", "node of did:key:... (supplier)"
    state TEXT NOT NULL,                -- queued | delivered | pending | rejected | unreachable
    code TEXT,
    detail TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (object_id, destination)
) WITHOUT ROWID;
-- a hub's store-and-forward mailbox: sealed messages held for each recipient until acknowledged or expired
CREATE TABLE mailbox (
    recipient TEXT NOT NULL,
    object_id TEXT NOT NULL,
    deposited_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    wire BLOB NOT NULL,
    PRIMARY KEY (recipient, object_id)
) WITHOUT ROWID;
CREATE INDEX mailbox_by_expiry ON mailbox(expires_at);
"""

_V6_PENDING = """
-- lifecycle objects whose references are not all held yet (storage.pending; bounded in count and age)
CREATE TABLE pending (
    seq INTEGER PRIMARY KEY,            -- arrival order: the oldest is evicted first
    id TEXT NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,
    forward TEXT NOT NULL DEFAULT '[]', -- JSON array: the outbox destinations it was stored with
    wire BLOB NOT NULL
);
CREATE INDEX pending_by_received ON pending(received_at);
-- which held-to-be id each pending object waits for
CREATE TABLE pending_needs (
    needed TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (needed, id)
) WITHOUT ROWID;
CREATE INDEX pending_needs_by_id ON pending_needs(id);
-- what became of pending objects judged later and refused (for status; bounded like pending)
CREATE TABLE pending_refusals (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    refused_at INTEGER NOT NULL
);
"""

_V7_SYNC_BUCKETS = """
-- sync version 2 reads buckets of ids (id-prefix ranges, storage.sync_items), no longer (created_at, id)
-- ranges: the old index goes, and this one covers every column the bucket query reads, so a sync
-- never visits the table (hidden_by is listed only to make it covering; it is NULL in every entry)
DROP INDEX objects_by_created_id;
CREATE INDEX objects_by_visible_id ON objects(id, category, type, hidden_by) WHERE hidden_by IS NULL;
"""

MIGRATIONS: tuple[str, ...] = (_V1_OBJECTS, _V2_OUTBOX, _V3_PEERS, _V4_SYNC_ORDER, _V5_ROUTING, _V6_PENDING,
                               _V7_SYNC_BUCKETS)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: str | Path | None, *, cache_kib: int = WRITER_CACHE_KIB,
            synchronous: str = "FULL") -> Database:
    """A connection with kinode's settings; `None` means a private in-memory database.

    Transactions are explicit (isolation_level=None): the writer issues
    BEGIN IMMEDIATE / COMMIT itself, and sqlite-utils nests its own under
    savepoints.
    """
    target = ":memory:" if path is None else str(path)
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path is not None:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute(f"PRAGMA cache_size = -{cache_kib}")
    conn.execute("PRAGMA temp_store = MEMORY")
    return Database(conn, execute_plugins=False)


def schema_version(db: Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: Database, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema up to `target`, one committed step per migration.

    Each step re-reads the version under BEGIN IMMEDIATE, so two processes
    opening the same old file cannot both apply a step.
    """
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(f"database schema is version {current}; this kinode knows up to {SCHEMA_VERSION}")
    while current < target:
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(db)
            if current < target:
                for statement in _statements(MIGRATIONS[current]):
                    conn.execute(statement)
                current += 1
                conn.execute(f"PRAGMA user_version = {current}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return current


def _statements(script: str) -> list[str]:
    """Split a migration into statements (conn.executescript would commit mid-way)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]
