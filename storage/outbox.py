"""The outbox: a durable per-destination queue of objects still to deliver.

Entries are written in the same transaction as the object they carry
(`store_verified(..., forward_to=...)` or `enqueue`), so an acknowledged object
is never missing from the queue. Storage keeps the state; when to retry and
when an entry is poison is kinode's decision (`mark_failed` takes the next
attempt time, `quarantine` parks an entry so `due` skips it).

A destination is an opaque string to storage (kinode uses the peer's did).
Enqueuing the same object for the same destination twice keeps one entry.
"""

from dataclasses import dataclass
from typing import Iterable

from sqlite_utils import Database

from storage.errors import NotFound


@dataclass(frozen=True)
class OutboxEntry:
    entry_id: int
    destination: str
    object_id: str
    wire: bytes
    enqueued_at: int
    attempts: int
    next_attempt_at: int
    last_error: str | None
    quarantined_at: int | None


_ENTRY_COLUMNS = ("q.entry_id, q.destination, q.object_id, o.wire, q.enqueued_at, q.attempts, "
                  "q.next_attempt_at, q.last_error, q.quarantined_at")


def enqueue(db: Database, object_id: str, destinations: Iterable[str], now: int) -> None:
    """Queue a stored object for each destination, due at once."""
    enqueue_many(db, [object_id], destinations, now)


def enqueue_many(db: Database, object_ids: list[str], destinations: Iterable[str], now: int) -> None:
    db.conn.executemany(
        "INSERT OR IGNORE INTO outbox(destination, object_id, enqueued_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?)",
        [(destination, object_id, now, now) for destination in destinations for object_id in object_ids])


def expedite(db: Database, destination: str, object_ids: list[str], now: int) -> int:
    """Make these objects' waiting entries for `destination` due at `now` (not quarantined ones).

    For when the destination is known to be up again (it just answered), so
    entries need not sit out a backoff computed while it was down.
    """
    changed = 0
    for start in range(0, len(object_ids), 500):
        chunk = object_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        changed += db.execute(
            f"UPDATE outbox SET next_attempt_at = ? WHERE destination = ? AND quarantined_at IS NULL "
            f"AND next_attempt_at > ? AND object_id IN ({marks})", [now, destination, now, *chunk]).rowcount
    return changed


def due(db: Database, now: int, limit: int = 100) -> list[OutboxEntry]:
    """Entries whose next attempt is at or before `now`, oldest first; quarantined ones never."""
    rows = db.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM outbox q JOIN objects o ON o.id = q.object_id "
        "WHERE q.quarantined_at IS NULL AND q.next_attempt_at <= ? "
        "ORDER BY q.next_attempt_at, q.entry_id LIMIT ?", [now, limit]).fetchall()
    return [OutboxEntry(*row) for row in rows]


def mark_delivered(db: Database, entry_id: int) -> None:
    """The destination acknowledged the object: the entry leaves the queue."""
    _one_changed(db.execute("DELETE FROM outbox WHERE entry_id = ?", [entry_id]), entry_id)


def mark_failed(db: Database, entry_id: int, next_attempt_at: int, error: str) -> None:
    _one_changed(db.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE entry_id = ?",
        [next_attempt_at, error, entry_id]), entry_id)


def quarantine(db: Database, entry_id: int, now: int, error: str) -> None:
    """Park a poison entry: kept for inspection, never due until `release`d."""
    _one_changed(db.execute(
        "UPDATE outbox SET quarantined_at = ?, last_error = ? WHERE entry_id = ?",
        [now, error, entry_id]), entry_id)


def release(db: Database, entry_id: int, now: int) -> None:
    """Put a quarantined entry back in the queue, due at once."""
    _one_changed(db.execute(
        "UPDATE outbox SET quarantined_at = NULL, next_attempt_at = ? WHERE entry_id = ?",
        [now, entry_id]), entry_id)


def quarantined(db: Database, limit: int = 100) -> list[OutboxEntry]:
    rows = db.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM outbox q JOIN objects o ON o.id = q.object_id "
        "WHERE q.quarantined_at IS NOT NULL ORDER BY q.entry_id LIMIT ?", [limit]).fetchall()
    return [OutboxEntry(*row) for row in rows]


def depth(db: Database) -> dict[str, int]:
    """Entries waiting per destination (quarantined ones not counted)."""
    return dict(db.execute(
        "SELECT destination, count(*) FROM outbox WHERE quarantined_at IS NULL GROUP BY destination"
    ).fetchall())


def _one_changed(cursor, entry_id: int) -> None:
    if cursor.rowcount != 1:
        raise NotFound(f"no outbox entry {entry_id}")
