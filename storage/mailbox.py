"""A hub's store-and-forward mailbox: sealed `message`s held for their recipients.

A hub cannot read a message, and a message concerns only its recipients, so
it is not filed in `objects` (not searched, not synced, not in the log): it
is held once per recipient DID until that recipient acknowledges it or it
expires. Bounded per recipient, so no sender can fill a hub for one DID.
"""

from dataclasses import dataclass

from sqlite_utils import Database

from protocol.envelope import SignedObject
from storage.ingest import IngestResult

MAX_PER_RECIPIENT = 1000


@dataclass(frozen=True)
class Held:
    object_id: str
    deposited_at: int
    expires_at: int
    wire: bytes


def deposit(db: Database, message: SignedObject, now: int, ttl: int) -> IngestResult:
    """Hold `message` for each recipient it names; `duplicate` if every one already holds it.

    A recipient's oldest held message makes room when it has MAX_PER_RECIPIENT.
    """
    added = 0
    for recipient in _recipients(message):
        cursor = db.execute(
            "INSERT OR IGNORE INTO mailbox(recipient, object_id, deposited_at, expires_at, wire) "
            "VALUES (?, ?, ?, ?, ?)", [recipient, message.id, now, now + ttl, message.wire])
        added += cursor.rowcount
        if cursor.rowcount:
            db.execute(
                "DELETE FROM mailbox WHERE recipient = ? AND object_id IN (SELECT object_id FROM mailbox "
                "WHERE recipient = ? ORDER BY deposited_at DESC, object_id LIMIT -1 OFFSET ?)",
                [recipient, recipient, MAX_PER_RECIPIENT])
    return IngestResult(message.id, "accepted" if added else "duplicate")


def held_for(db: Database, recipient: str, now: int, limit: int = 100) -> list[Held]:
    """The unexpired messages held for `recipient`, oldest first."""
    rows = db.execute(
        "SELECT object_id, deposited_at, expires_at, wire FROM mailbox WHERE recipient = ? AND expires_at > ? "
        "ORDER BY deposited_at, object_id LIMIT ?", [recipient, now, limit]).fetchall()
    return [Held(r[0], r[1], r[2], bytes(r[3])) for r in rows]


def acknowledge(db: Database, recipient: str, object_ids: list[str]) -> int:
    """The recipient has the messages: drop them from its mailbox; how many were dropped."""
    return sum(db.execute("DELETE FROM mailbox WHERE recipient = ? AND object_id = ?",
                          [recipient, object_id]).rowcount for object_id in dict.fromkeys(object_ids))


def expire(db: Database, now: int) -> int:
    return db.execute("DELETE FROM mailbox WHERE expires_at <= ?", [now]).rowcount


def count(db: Database, recipient: str | None = None) -> int:
    if recipient is None:
        return db.execute("SELECT count(*) FROM mailbox").fetchone()[0]
    return db.execute("SELECT count(*) FROM mailbox WHERE recipient = ?", [recipient]).fetchone()[0]


def _recipients(message: SignedObject) -> list[str]:
    return list(dict.fromkeys(r["to"] for r in message.body.get("recipients", ())
                              if isinstance(r, dict) and isinstance(r.get("to"), str)))
