"""Node-local hub state that objects alone cannot give (spec sections 14.3 and 14.5).

- `hub_verifications`: which hub announcements' URLs this node proved by a
  challenge (the DID answering at the URL is the announcement's author),
  with health (last seen, objects held, failures).
- `receipts`: the inclusion receipts hubs gave this node for its objects.

These are observations, not derived from objects, so they are not derived
tables (a rebuild must not drop them); each function creates its table if
missing, so no schema migration is shared with other parts.
"""

import json
from dataclasses import dataclass

from sqlite_utils import Database

_TABLES = """
CREATE TABLE IF NOT EXISTS hub_verifications (
    did TEXT NOT NULL,
    url TEXT NOT NULL,
    announcement TEXT NOT NULL,     -- id of the announcement whose URL was checked
    verified_at INTEGER,            -- last successful challenge, NULL if never
    last_checked INTEGER NOT NULL,
    objects_held INTEGER,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (did, url)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receipts (
    object_id TEXT NOT NULL,
    hub TEXT NOT NULL,
    destination TEXT NOT NULL,
    at INTEGER NOT NULL,
    receipt TEXT NOT NULL,          -- the receipt as the hub signed it, JSON
    PRIMARY KEY (object_id, hub)
) WITHOUT ROWID;
"""


def ensure(db: Database) -> None:
    """Create the tables if missing (on the writer: readers are query-only)."""
    for statement in _TABLES.split(";"):
        if statement.strip():
            db.execute(statement)


def _exists(db: Database, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone() is not None


@dataclass(frozen=True)
class Verification:
    did: str
    url: str
    announcement: str
    verified_at: int | None
    last_checked: int
    objects_held: int | None
    failures: int
    last_error: str | None


def record_check(db: Database, did: str, url: str, announcement: str, now: int, *, ok: bool,
                 objects_held: int | None = None, error: str | None = None) -> None:
    """Record one challenge of `url` for `did`: success sets verified_at; a failure keeps the last
    success (a hub that is down a while is still the hub that answered there) and counts failures."""
    ensure(db)
    db.execute(
        "INSERT INTO hub_verifications(did, url, announcement, verified_at, last_checked, objects_held, failures, "
        "last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(did, url) DO UPDATE SET "
        "announcement = excluded.announcement, verified_at = coalesce(excluded.verified_at, verified_at), "
        "last_checked = excluded.last_checked, objects_held = coalesce(excluded.objects_held, objects_held), "
        "failures = CASE WHEN excluded.failures = 0 THEN 0 ELSE failures + 1 END, last_error = excluded.last_error",
        [did, url, announcement, now if ok else None, now, objects_held, 0 if ok else 1, None if ok else error])


def verifications(db: Database) -> list[Verification]:
    if not _exists(db, "hub_verifications"):
        return []
    rows = db.execute("SELECT did, url, announcement, verified_at, last_checked, objects_held, failures, last_error "
                      "FROM hub_verifications ORDER BY did, url").fetchall()
    return [Verification(*row) for row in rows]


def keep_receipt(db: Database, receipt: dict, destination: str) -> None:
    """Store a receipt already verified by the caller (protocol.receipts.verify_receipt). The whole v2 receipt is kept: it
    proves its object without the rest of the batch (spec 14.5)."""
    ensure(db)
    db.execute("INSERT OR REPLACE INTO receipts(object_id, hub, destination, at, receipt) VALUES (?, ?, ?, ?, ?)",
               [receipt["object"], receipt["hub"], destination, receipt["at"], json.dumps(receipt, sort_keys=True)])


def receipts_for(db: Database, object_id: str | None = None) -> list[dict]:
    if not _exists(db, "receipts"):
        return []
    sql = "SELECT receipt, destination FROM receipts"
    rows = db.execute(sql + (" WHERE object_id = ?" if object_id else "") + " ORDER BY at, hub",
                      [object_id] if object_id else []).fetchall()
    return [{"receipt": json.loads(r), "destination": d} for r, d in rows]
